"""How many BLAS threads the NumPy kernels may use while a model runs.

The interpreter's ``num_threads`` means what it means in LiteRT: the threads available to CPU
kernels, one by default. NumPy's OpenBLAS would otherwise start a thread per core for every
matmul, which costs more than it gains on the small matrices of a batch-1 mobile model and is
ruinous on a busy machine (BENCHMARKS.md measures both).
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache


@lru_cache(maxsize=None)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(num_threads: int | None):
    """A context limiting BLAS to ``num_threads`` (None: 1; -1: leave BLAS's own default)."""
    if num_threads is not None and num_threads < 0:
        return nullcontext()
    return _controller().limit(limits=max(1, num_threads or 1), user_api="blas")
