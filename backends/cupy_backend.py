"""CuPy on an NVIDIA GPU. CuPy is imported here, lazily, and nowhere else in the project."""
from backends.base import Backend, BackendError, bincount_scatter_add

FIX = "install it with `pip install -e .[cupy]` on a machine with an NVIDIA GPU, or use --backend numpy"


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self):
        try:
            import cupy
        except ImportError as e:
            raise BackendError(f"backend 'cupy' needs the CuPy package ({e}): {FIX}") from None
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise BackendError(f"backend 'cupy' found no usable GPU ({type(e).__name__}: {e}): {FIX}") from None
        if n < 1:
            raise BackendError(f"backend 'cupy' found no GPU: {FIX}")
        self.cupy = cupy
        self.xp = cupy

    def asarray(self, host, dtype=None):
        return self.cupy.asarray(host, dtype=dtype)

    def to_host(self, arr):
        return self.cupy.asnumpy(arr)

    def synchronize(self):
        self.cupy.cuda.Device().synchronize()

    def scatter_add(self, idx, vals, size):
        return bincount_scatter_add(self.cupy, idx, vals, size)

    def device(self):
        dev = self.cupy.cuda.Device()
        props = self.cupy.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return f"gpu {dev.id}: {name} (cupy {self.cupy.__version__})"
