"""The backend interface: what kernels may use beyond the array API namespace `xp`."""
class BackendError(ValueError):
    """A backend was asked for that cannot be had here (unknown name, missing package, no GPU)."""


class Backend:
    name = "abstract"
    xp = None

    # host <-> device; the only two places data crosses
    def asarray(self, host, dtype=None):          # numpy array -> backend array
        raise NotImplementedError

    def to_host(self, arr):                        # backend array -> numpy array
        raise NotImplementedError

    def synchronize(self):
        pass

    def scatter_add(self, idx, vals, size):
        """Sum vals into bins: [M] int, [M] -> [size]; out[k] = sum_{i: idx[i] = k} vals[i]."""
        raise NotImplementedError

    def device(self):
        """A one-line description of where arrays live."""
        raise NotImplementedError

    def dtype(self, name):
        if name not in ("float32", "float64"):
            raise BackendError(f"unknown dtype {name!r}: choose float32 or float64")
        return getattr(self.xp, name)

    def __repr__(self):
        return f"<backend {self.name}: {self.device()}>"


def bincount_scatter_add(xp, idx, vals, size):
    """scatter_add as a weighted bincount (NumPy and CuPy share this; bincount sums in float64)."""
    return xp.bincount(idx, weights=vals, minlength=size).astype(vals.dtype, copy=False)
