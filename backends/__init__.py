"""Array backends: the array namespace `xp` plus the few operations that are not portable.

The backend is a value passed to the engine, never an import trick. Kernels are written once against
`backend.xp` (the array API); what the array API lacks (host/device transfer, synchronisation, a
batched scatter-add, a device description) lives on the backend object.

    get_backend("numpy")   NumPy on the CPU (the default)
    get_backend("cupy")    CuPy on an NVIDIA GPU (optional extra: pip install -e .[cupy])
    get_backend("strict")  array-api-strict on the CPU, for tests only: it refuses anything outside the
                           array API standard, which keeps the CuPy path honest on machines without a GPU.
"""
from backends.base import Backend, BackendError

NAMES = ("numpy", "cupy", "strict")


def get_backend(name="numpy"):
    """Return the backend called `name` (or `name` itself if it already is a Backend)."""
    if isinstance(name, Backend):
        return name
    if name == "numpy":
        from backends.numpy_backend import NumpyBackend
        return NumpyBackend()
    if name == "cupy":
        from backends.cupy_backend import CupyBackend
        return CupyBackend()
    if name == "strict":
        from backends.strict_backend import StrictBackend
        return StrictBackend()
    raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(NAMES)}")


__all__ = ["Backend", "BackendError", "get_backend", "NAMES"]
