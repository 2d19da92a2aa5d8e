"""Choice of the torch device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits

# cuBLAS needs this before its first use for deterministic algorithms to be allowed on CUDA.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def resolve_device(preference: str = "auto") -> torch.device:
    """The torch device: CUDA when available for `auto`, else the one named (`cpu`, `cuda`, `cuda:1`)."""
    pref = (preference or "auto").lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
    if not (pref == "cpu" or pref.startswith("cuda")):
        raise ValueError(f"unknown device preference {preference!r}; use 'auto', 'cpu' or 'cuda'")
    return torch.device(pref)


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch and the native pools (BLAS, OpenMP) limited to `n` CPU threads.

    None leaves the settings alone. The networks and matrices are small: on a busy machine extra threads
    mostly spin-wait (measured 10-40x slower with 2 threads than with 1 on a loaded 2-core machine).
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
