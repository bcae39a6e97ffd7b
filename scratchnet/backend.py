"""The one module that chooses the array library: NumPy on the CPU or CuPy on an NVIDIA GPU.

Every other module reaches arrays through here:

- ``backend.xp``: the array module in use (``numpy`` or ``cupy``), for all array math.
- ``backend.name``: ``"numpy"`` or ``"cupy"``.
- ``backend.to_numpy(a)``: the one way an array leaves the device (metrics, plots, files, scikit-learn).
- ``backend.np``: NumPy itself, for host-side work only (reading files, metrics on host arrays).
- ``backend.silent_overflow()``: a context where an overflow to inf is expected (a sigmoid's exp(-x)).
- ``backend.manual_seed(n)`` / ``host_rng()`` / ``device_rng()``: the seeded random streams.
- ``backend.use("numpy" | "cupy")``: switch in code (tests do this).

On Linux with glibc, importing this module also tells malloc to keep freed memory (``_keep_freed_memory``).

The environment variable ``SCRATCHNET_BACKEND`` is read once, at import. Modules must look up
``backend.xp`` when they run (never ``from scratchnet.backend import xp``) so that ``use`` takes effect.
"""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

VALID_BACKENDS = ("numpy", "cupy")
GPU_INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install cupy-cuda12x (CUDA 12) or cupy-cuda13x (CUDA 13), "
    "or from the checkout: pip install -e '.[gpu]' or -e '.[gpu-cuda13]'"
)


class BackendError(RuntimeError):
    """The requested array backend is unknown or cannot be used on this machine."""


xp = np
name = "numpy"
_host_rng = np.random.default_rng(0)
_device_rng = None  # made lazily, on the active backend


def _load_cupy():
    try:
        import cupy  # noqa: PLC0415  (only when the GPU is asked for)

        cupy.cuda.runtime.getDeviceCount()
        cupy.zeros(1).sum()  # fails here, not mid-training, when no GPU is usable
    except Exception as error:  # ImportError, CUDARuntimeError, ...
        raise BackendError(
            f"SCRATCHNET_BACKEND=cupy, but CuPy cannot use a GPU here "
            f"({type(error).__name__}: {error}); {GPU_INSTALL_HINT}, or use SCRATCHNET_BACKEND=numpy"
        ) from error
    return cupy


def use(backend_name: str):
    """Switch the array backend to ``"numpy"`` or ``"cupy"``; returns the array module.

    Tensors made before the switch keep their old arrays: switch before building a model.
    """
    global xp, name, _device_rng
    if backend_name not in VALID_BACKENDS:
        raise BackendError(
            f"unknown backend {backend_name!r}: SCRATCHNET_BACKEND must be one of "
            + ", ".join(VALID_BACKENDS)
        )
    xp = np if backend_name == "numpy" else _load_cupy()
    name = backend_name
    _device_rng = None
    return xp


def to_numpy(array):
    """Return ``array`` as a NumPy array on the host (a no-op for NumPy arrays and scalars)."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "data") and hasattr(array, "grad"):  # a Tensor
        array = array.data
    if isinstance(array, np.ndarray | np.generic | int | float | bool | list | tuple):
        return np.asarray(array)
    return xp.asnumpy(array)


def silent_overflow():
    """A context in which an overflow to inf is not reported, for code where inf is the right
    intermediate (exp(-x) in a sigmoid). NumPy warns about it by default; CuPy never reports it."""
    return np.errstate(over="ignore")


def as_array(data, dtype=None):
    """``data`` as a backend array. Floating arrays keep their dtype; anything else becomes float32."""
    if dtype is None:
        dtype = getattr(data, "dtype", None)
        if dtype is None or np.dtype(dtype).kind != "f":
            dtype = np.float32
    if isinstance(data, np.ndarray) and xp is not np:
        return xp.asarray(data.astype(dtype, copy=False))
    return xp.asarray(data, dtype=dtype)


def manual_seed(seed: int) -> None:
    """Seed every random stream scratchnet uses (initialisation, dropout masks, shuffling)."""
    global _host_rng, _device_rng
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _host_rng = np.random.default_rng(int(seed))
    _device_rng = xp.random.default_rng(int(seed) + 1)


def host_rng():
    """The seeded NumPy generator for host-side randomness: weight initialisation, shuffling.

    Drawing initial weights on the host makes a model start identically on NumPy and CuPy.
    """
    return _host_rng


def device_rng():
    """The seeded generator on the active backend, for randomness made on the device (dropout masks)."""
    global _device_rng
    if _device_rng is None:
        _device_rng = xp.random.default_rng(int(_host_rng.integers(2**31)))
    return _device_rng


def _keep_freed_memory():
    """Make glibc's malloc reuse freed memory instead of returning it to the kernel (big arrays are
    otherwise mmap-ed and unmapped each time), so the arrays of each training step cost no fresh page
    faults. M_MMAP_THRESHOLD (-3): 1 GiB; M_TRIM_THRESHOLD (-1): never trim. Skipped off glibc."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # macOS, Windows, musl: their allocators are left alone
        return
    mallopt(-3, 2**30)
    mallopt(-1, -1)


_keep_freed_memory()


def _report_backend_error(exc_type, exc, tb, _previous=sys.excepthook):
    """Show a BackendError that nobody caught as one line instead of a traceback."""
    if issubclass(exc_type, BackendError):
        cause = f" (caused by {type(exc.__cause__).__name__})" if exc.__cause__ else ""
        print(f"scratchnet: {exc}{cause}", file=sys.stderr)
    else:
        _previous(exc_type, exc, tb)


_requested = os.environ.get("SCRATCHNET_BACKEND", "numpy").strip().lower() or "numpy"
if _requested != "numpy":
    try:
        use(_requested)
    except BackendError:
        sys.excepthook = _report_backend_error
        raise
