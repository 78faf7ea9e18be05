"""One BLAS thread by default: the RNN's matrices are small, and on a 2-core machine a
second BLAS thread mostly spins and contends (benchmarks/engine.py measures both ways).

Users who set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS keep their choice.
"""

from __future__ import annotations

import os

_USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def limit_blas_threads(threads: int = 1) -> bool:
    """Limit BLAS to ``threads`` threads unless the user chose a number; True if applied."""
    if any(os.environ.get(name) for name in _USER_VARIABLES):
        return False
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    return True
