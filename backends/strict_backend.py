"""array-api-strict on the CPU: a test-only backend that accepts nothing outside the array API standard.

Running the whole forward and backward through it proves the kernels are portable, which is what keeps
the CuPy path honest where no GPU is at hand. Its scatter-add is written in portable operations
(a one-hot comparison, in chunks of at most CHUNK comparisons so memory stays bounded), slow but exact.
"""
import numpy as np

from backends.base import Backend, BackendError

CHUNK = 1 << 22   # [M, size] comparisons held at once


class StrictBackend(Backend):
    name = "strict"

    def __init__(self):
        try:
            import array_api_strict
        except ImportError as e:
            raise BackendError(f"backend 'strict' needs array-api-strict ({e}): pip install -e .[dev]") from None
        self.xp = array_api_strict

    def asarray(self, host, dtype=None):
        return self.xp.asarray(np.asarray(host), dtype=dtype)

    def to_host(self, arr):
        return np.asarray(arr)

    def scatter_add(self, idx, vals, size):
        xp = self.xp
        bins = xp.arange(size, dtype=idx.dtype)
        out = xp.zeros((size,), dtype=vals.dtype)
        M = idx.shape[0]
        step = max(1, CHUNK // max(size, 1))
        for lo in range(0, M, step):
            i, v = idx[lo:min(lo + step, M)], vals[lo:min(lo + step, M)]   # in-bounds stops (array API)
            hit = xp.astype(i[:, None] == bins[None, :], vals.dtype)            # [m, size]
            out = out + xp.sum(hit * v[:, None], axis=0)
        return out

    def device(self):
        return "cpu (array-api-strict %s)" % self.xp.__version__
