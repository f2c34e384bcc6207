"""NumPy on the CPU."""
import ctypes
import os
import sys

import numpy as np

from backends.base import Backend, bincount_scatter_add


_TUNED = False


def tune_malloc():
    """Keep freed memory in the process instead of returning it to the OS after every step (glibc only).

    A step allocates and frees a few arrays of about 1 MB; by default glibc hands such blocks back to the
    OS and takes them again, page-faulting every page on each touch, which doubles the time of a step
    (measured: benchmarks/README.md). Raising the trim and mmap thresholds keeps them mapped. Set
    ICR_NP_NO_MALLOPT=1 to leave the allocator alone.
    """
    global _TUNED
    if _TUNED or not sys.platform.startswith("linux") or os.environ.get("ICR_NP_NO_MALLOPT"):
        return
    _TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024)
        libc.mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024)
    except (OSError, AttributeError):   # not glibc: nothing to tune
        pass


class NumpyBackend(Backend):
    name = "numpy"
    xp = np

    def __init__(self):
        tune_malloc()

    def asarray(self, host, dtype=None):
        return np.asarray(host, dtype=dtype)

    def to_host(self, arr):
        return np.asarray(arr)

    def scatter_add(self, idx, vals, size):
        return bincount_scatter_add(np, idx, vals, size)

    def device(self):
        return "cpu (numpy %s)" % np.__version__
