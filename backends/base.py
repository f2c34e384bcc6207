"""The backend interface: what kernels may use beyond the array API namespace `xp`."""
import numpy as np


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

    def scatter_add(self, idx, vals, n_bins):
        """Per row, sum vals into bins: [B, H] int, [B, H] -> [B, n_bins]; out[b, k] = sum_{h: idx[b,h]=k} vals[b,h]."""
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


def bincount_scatter_add(xp, idx, vals, n_bins):
    """scatter_add through one flat weighted bincount (NumPy and CuPy share this)."""
    B = idx.shape[0]
    flat = (idx + n_bins * xp.arange(B, dtype=idx.dtype)[:, None]).ravel()
    out = xp.bincount(flat, weights=vals.ravel(), minlength=B * n_bins)
    return out.reshape(B, n_bins).astype(vals.dtype, copy=False)


def host_array(x):
    return np.asarray(x)
