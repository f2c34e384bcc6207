"""NumPy on the CPU."""
import numpy as np

from backends.base import Backend, bincount_scatter_add


class NumpyBackend(Backend):
    name = "numpy"
    xp = np

    def asarray(self, host, dtype=None):
        return np.asarray(host, dtype=dtype)

    def to_host(self, arr):
        return np.asarray(arr)

    def scatter_add(self, idx, vals, size):
        return bincount_scatter_add(np, idx, vals, size)

    def device(self):
        return "cpu (numpy %s)" % np.__version__
