"""customer_ml: the machine-learning package behind the dbt project's Python models.

One subpackage per concern; the thin models in python_models/ call one function each:

- features: catalog-driven preprocessing of the SQL feature tables (the only feature logic in Python).
- nn: the adversarially trained autoencoder and the choice of torch device, shared by segmentation and
  fraud.
- segmentation: the segmentation estimator (representation, number of segments, clustering), its
  evaluation, and the plain-language segment profiles.
- value: buy-till-you-die models, churn and lifetime-value models, and their train/apply routines.
- fraud: the fraud scorer (anomaly, rules, supervised model, calibration, reasons).
- recommendation: the learned blend of the SQL recommender's candidate sources.
- registry: model versions kept in the warehouse and the one retrain decision for every model kind.
- reporting: the self-contained HTML report of a built warehouse.
- warehouse: Arrow I/O with DuckDB relations, progress lines in the dbt log, the serving file.

The demo data generator is a development tool outside this package (tools/demo_data).
"""

import os as _os
import platform as _platform

__version__ = "0.2.0"

CPU_KERNEL_PINS = {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"}
"""The numeric kernels torch (MKL and its own vectorised code) and numpy/scipy (OpenBLAS) run on an x86-64
CPU with AVX2: the AVX2 ones, also where the CPU has AVX-512. Left to choose, each library picks its
kernels by the CPU's instruction set, and floats summed in another order moved the segmentation of the
same data, vars and seed between machines: the demo's 5,000 customers gave 9 segments on the scaled
features (ARI 0.438) on an AVX-512 machine and 12 on the joint representation (ARI 0.377) with these
pins, the figures the README quotes from earlier machines (docs/measurements.md, eleventh session).
No slower on the one-thread fits measured. With these kernels a product's last rows summed in another
order, so the autoencoder's outputs depended on the batch until it applied its network to fixed blocks
(customer_ml.nn.autoencoder.BLOCK_ROWS). Environment variables the user set win (setdefault);
SEGMENTATION_CPU_KERNELS=native skips the pins (the CPU's own kernels: the same from run to run on that
machine, not across machines)."""


def pin_cpu_kernels(cpuinfo: str = "/proc/cpuinfo", machine: str | None = None) -> dict[str, str]:
    """Set CPU_KERNEL_PINS in the environment (without overriding what is set) when this is an x86-64 CPU
    with AVX2 and FMA, the kernels pinned; return the pins that apply. It must run before numpy and torch
    load their libraries (OpenBLAS reads its core type when numpy is imported, MKL and torch's dispatch
    at their first call), so the package does it on import: in a dbt build only duckdb is loaded by then
    (dbt-duckdb imports this package's plugin when it opens the first connection)."""
    if _os.environ.get("SEGMENTATION_CPU_KERNELS", "").lower() == "native":
        return {}
    if (machine or _platform.machine()).lower() not in ("x86_64", "amd64"):
        return {}
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            flags = next((line.split(":", 1)[-1].split() for line in lines if line.startswith("flags")), [])
    except OSError:  # not Linux, or no /proc: the libraries choose
        return {}
    if "avx2" not in flags or "fma" not in flags:
        return {}
    for name, value in CPU_KERNEL_PINS.items():
        _os.environ.setdefault(name, value)
    return dict(CPU_KERNEL_PINS)


pin_cpu_kernels()
