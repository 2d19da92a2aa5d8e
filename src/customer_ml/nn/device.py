"""Choice of the torch device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

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


# The BLAS thread count the whole process was fixed at (pin_blas_threads), or None.
_PINNED_BLAS_THREADS: int | None = None


def pin_blas_threads(n: int = 1) -> None:
    """Fix the BLAS pools (numpy's and scipy's OpenBLAS) at `n` threads for the rest of the process.

    A BLAS thread count is process-wide, unlike OpenMP's and torch's, which each thread sets for itself.
    dbt runs two Python models at once in one process: when each set and restored the BLAS limit around
    its own work, a model running beside them saw the limit change under it, and a multi-threaded matrix
    product sums a row at a split's edge in another order, so the recommender's blend weights differed
    in their 14th digit from one build to the next. Fixed once, before the models run
    (customer_ml.warehouse.dbt_plugin), the limit no longer changes: blas_threads(n) for the pinned n
    leaves it alone.
    """
    global _PINNED_BLAS_THREADS
    threadpool_limits(limits=n, user_api="blas")  # not a context: stays in force
    _PINNED_BLAS_THREADS = n


def blas_threads(n: int | None) -> AbstractContextManager[object]:
    """A context in which BLAS runs on `n` threads: nothing to do when the process is pinned at `n`
    (pin_blas_threads) or `n` is None; else a process-wide limit, set and restored around the block."""
    if n is None or n == _PINNED_BLAS_THREADS:
        return nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch and the native pools (BLAS, OpenMP) limited to `n` CPU threads.

    None leaves the settings alone. The networks and matrices are small: on a busy machine extra threads
    mostly spin-wait (measured 10-40x slower with 2 threads than with 1 on a loaded 2-core machine).
    Torch's and OpenMP's counts belong to the calling thread; BLAS's is process-wide (blas_threads).
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="openmp"), blas_threads(n):
            yield
    finally:
        torch.set_num_threads(before)
