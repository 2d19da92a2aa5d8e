"""The numeric kernels pinned on x86-64 CPUs with AVX2 (customer_ml.pin_cpu_kernels), so that the same data,
vars and seed give the same segments on an AVX2 and an AVX-512 machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from customer_ml import CPU_KERNEL_PINS, pin_cpu_kernels


@pytest.fixture
def cpuinfo(tmp_path: Path):
    def write(flags: str) -> str:
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
        return str(path)

    return write


@pytest.fixture
def clean_env(monkeypatch):
    for name in [*CPU_KERNEL_PINS, "SEGMENTATION_CPU_KERNELS"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_an_avx2_x86_cpu_gets_the_avx2_kernels_and_the_user_s_settings_win(cpuinfo, clean_env) -> None:
    import os

    clean_env.setenv("MKL_CBWR", "COMPATIBLE")  # set by the user: kept
    pins = pin_cpu_kernels(cpuinfo("fpu sse2 avx avx2 fma avx512f avx512_fp16"), machine="x86_64")
    assert pins == CPU_KERNEL_PINS
    assert os.environ["MKL_CBWR"] == "COMPATIBLE"
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"


@pytest.mark.parametrize(
    ("flags", "machine", "native"),
    [
        ("fpu sse2 avx", "x86_64", False),  # no AVX2: the libraries choose
        ("fpu avx2", "x86_64", False),  # AVX2 without FMA (no such Haswell kernels)
        ("fp asimd sve", "aarch64", False),  # not x86
        ("fpu avx2 fma", "x86_64", True),  # SEGMENTATION_CPU_KERNELS=native
    ],
)
def test_no_pins_where_they_do_not_apply(cpuinfo, clean_env, flags, machine, native) -> None:
    import os

    if native:
        clean_env.setenv("SEGMENTATION_CPU_KERNELS", "native")
    assert pin_cpu_kernels(cpuinfo(flags), machine=machine) == {}
    assert not any(name in os.environ for name in CPU_KERNEL_PINS)


def test_no_cpuinfo_no_pins(tmp_path, clean_env) -> None:
    assert pin_cpu_kernels(str(tmp_path / "missing"), machine="x86_64") == {}


def test_importing_the_package_first_runs_torch_and_openblas_on_the_avx2_kernels(clean_env) -> None:
    """As a dbt build does (the package's plugin is imported before numpy and torch): on an x86-64 CPU with
    AVX2, torch dispatches to its AVX2 kernels and numpy's OpenBLAS runs its Haswell ones, whatever more the
    CPU offers."""
    code = (
        "import customer_ml, torch, numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "print(bool(customer_ml.pin_cpu_kernels()))\n"
        "print(torch.backends.cpu.get_cpu_capability())\n"
        "blas = [i for i in threadpool_info() if i.get('internal_api') == 'openblas']\n"
        "print(sorted({i.get('architecture') for i in blas}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    if out[0] != "True":
        pytest.skip("not an x86-64 CPU with AVX2 and FMA: nothing is pinned here")
    assert out[1] == "AVX2"
    assert out[2] in ("['Haswell']", "[]")  # [] where numpy's BLAS is not OpenBLAS
