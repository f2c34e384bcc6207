"""array-api-strict on the CPU: a test-only backend that accepts nothing outside the array API standard.

Running the whole forward and backward through it proves the kernels are portable, which is what keeps
the CuPy path honest where no GPU is at hand. Its scatter-add is written in portable operations
(a one-hot comparison), slow but exact.
"""
import numpy as np

from backends.base import Backend, BackendError


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
        hit = xp.astype(idx[:, None] == bins[None, :], vals.dtype)              # [M, size]
        return xp.sum(hit * vals[:, None], axis=0)

    def device(self):
        return "cpu (array-api-strict %s)" % self.xp.__version__
