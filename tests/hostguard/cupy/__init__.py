"""hostguard: a NumPy-backed stand-in for the ``cupy`` module. NOT CuPy, and not a GPU test.

It lets CI run scratchnet's CuPy code path on a machine without a GPU and catch *host-conversion
bugs*: code that silently turns a device array into a NumPy array (``np.asarray(x)``, ``float(x)`` on
a non-scalar, handing ``x`` to scikit-learn or matplotlib), mixes host and device arrays, or uses
NumPy-only features such as ``np.add.at``. Real CuPy raises ``TypeError`` on all of these; NumPy
accepts them, so the plain test suite cannot see them. See ``_core.py`` for the exact rules.

Use it by putting ``tests/hostguard`` first on the import path::

    PYTHONPATH=tests/hostguard SCRATCHNET_BACKEND=cupy python -m pytest tests -m "not gpu"

The namespace below mirrors what scratchnet uses from CuPy. Anything else raises ``AttributeError``
naming this file, so a new use is noticed: add it here (after checking that real CuPy has it).
"""

from __future__ import annotations

import builtins

import numpy

from . import cuda, random  # noqa: F401  (cupy.cuda, cupy.random)
from ._core import HINT, ndarray, unwrap_all, wrap

__version__ = "0.0.0+hostguard"
HOSTGUARD = True  #: lets code and tests tell the stand-in from real CuPy

# ----- dtypes and constants: CuPy re-exports NumPy's ----------------------------------------------
bool_ = numpy.bool_
int8, int16, int32, int64 = numpy.int8, numpy.int16, numpy.int32, numpy.int64
uint8, uint16, uint32, uint64 = numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64
float16, float32, float64 = numpy.float16, numpy.float32, numpy.float64
complex64, complex128 = numpy.complex64, numpy.complex128
dtype, finfo, iinfo, issubdtype, can_cast = numpy.dtype, numpy.finfo, numpy.iinfo, numpy.issubdtype, numpy.can_cast
newaxis, inf, nan, pi, e = None, numpy.inf, numpy.nan, numpy.pi, numpy.e


# ----- moving data: the explicit ways on and off the device -----------------------------------------
def _host_data(obj):
    """Host data for a creation function: device arrays (also inside lists) unwrapped."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, list | tuple):
        return [_host_data(o) for o in obj]
    return obj


def _checked(result):
    if result.dtype == object:
        raise ValueError("Unsupported dtype object (hostguard: CuPy arrays hold numbers only; "
                         "was a Tensor or a mixed list passed?)")
    return wrap(result)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    """Copy ``obj`` (host data, a list, or a device array) to the device."""
    return _checked(numpy.array(_host_data(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asarray(a, dtype=None, order=None):
    """``a`` on the device; a device array of the right dtype is returned as is."""
    if isinstance(a, ndarray) and (dtype is None or numpy.dtype(dtype) == a.dtype):
        return a
    return _checked(numpy.array(_host_data(a), dtype=dtype, order=order, copy=True))


asanyarray = asarray


def ascontiguousarray(a, dtype=None):
    return _checked(numpy.ascontiguousarray(_host_data(a), dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None):
    """A host NumPy copy of a device array (host arrays and scalars pass through, as in CuPy)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    import sys

    return sys.modules[__name__] if builtins.any(isinstance(a, ndarray) for a in args) else numpy


# ----- creation ---------------------------------------------------------------------------------
def _creator(name):
    function = getattr(numpy, name)

    def create(*args, **kwargs):
        args, kwargs = unwrap_all(args, kwargs, f"cupy.{name}()")
        return wrap(function(*args, **kwargs))
    create.__name__ = name
    return create


def _like(name):
    function = getattr(numpy, name)

    def create(a, *args, **kwargs):
        if not isinstance(a, ndarray | numpy.ndarray):
            a = numpy.asarray(_host_data(a))
        return wrap(function(a._a if isinstance(a, ndarray) else a, *args, **kwargs))
    create.__name__ = name
    return create


for _name in ("zeros", "ones", "empty", "full", "arange", "linspace", "eye", "identity"):
    globals()[_name] = _creator(_name)
for _name in ("zeros_like", "ones_like", "empty_like", "full_like"):
    globals()[_name] = _like(_name)


# ----- ufuncs: callable, with reduce/accumulate/outer, and no ``at`` -------------------------------
class ufunc:
    """A CuPy-style ufunc over device arrays. It has no ``at`` method (NumPy's ``add.at``)."""

    def __init__(self, numpy_ufunc):
        self._u = numpy_ufunc
        self.__name__ = numpy_ufunc.__name__
        self.nin, self.nout = numpy_ufunc.nin, numpy_ufunc.nout

    def __call__(self, *args, out=None, dtype=None, casting="same_kind"):
        where = f"cupy.{self.__name__}()"
        args, _ = unwrap_all(args, {}, where)
        kwargs = {"dtype": dtype, "casting": casting}
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError(f"{where}: out must be a device array, got {type(out).__name__}" + HINT)
            self._u(*args, out=out._a, **kwargs)
            return out
        return wrap(self._u(*args, **kwargs))

    def _method(self, name, *args, **kwargs):
        out = kwargs.get("out")
        args, kwargs = unwrap_all(args, kwargs, f"cupy.{self.__name__}.{name}()")
        result = getattr(self._u, name)(*args, **kwargs)
        return out if out is not None else wrap(result)

    def reduce(self, *args, **kwargs):
        return self._method("reduce", *args, **kwargs)

    def accumulate(self, *args, **kwargs):
        return self._method("accumulate", *args, **kwargs)

    def outer(self, *args, **kwargs):
        return self._method("outer", *args, **kwargs)

    def __getattr__(self, name):
        if name == "at":
            raise AttributeError(
                f"cupy.{self.__name__}.at does not exist in hostguard (NumPy's unbuffered scatter, slow or "
                "missing on CuPy): add up repeated indices with bincount, or loop over strided slices" + HINT)
        raise AttributeError(f"hostguard ufunc {self.__name__!r} has no attribute {name!r}")

    def __repr__(self):
        return f"<ufunc '{self.__name__}' (hostguard)>"


_UFUNCS = {}
for _name in (
    "abs", "absolute", "add", "arctan", "ceil", "cos", "cosh", "divide", "equal", "exp", "expm1", "floor",
    "floor_divide", "fmax", "fmin", "greater", "greater_equal", "isfinite", "isinf", "isnan", "less",
    "less_equal", "log", "log10", "log1p", "log2", "logical_and", "logical_not", "logical_or", "logical_xor",
    "matmul", "maximum", "minimum", "multiply", "negative", "not_equal", "power", "reciprocal", "remainder",
    "rint", "sign", "sin", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "true_divide",
):
    _UFUNCS[getattr(numpy, _name).__name__] = globals()[_name] = ufunc(getattr(numpy, _name))


# ----- functions over device arrays (host arrays refused) -------------------------------------------
def _function(name, numpy_name=None):
    function = getattr(numpy, numpy_name or name)

    def run(*args, **kwargs):
        out = kwargs.get("out")
        args, kwargs = unwrap_all(args, kwargs, f"cupy.{name}()")
        result = function(*args, **kwargs)
        return out if out is not None else wrap(result)
    run.__name__ = name
    return run


for _name in (
    "all", "allclose", "any", "argmax", "argmin", "argsort", "argwhere", "array_equal", "array_split",
    "atleast_1d", "atleast_2d", "broadcast_arrays", "broadcast_to", "clip", "concatenate", "count_nonzero",
    "cumprod", "cumsum", "diag", "dot", "einsum", "expand_dims", "flatnonzero", "flip", "hstack", "isclose",
    "max", "mean", "median", "min", "moveaxis", "nonzero", "outer", "pad", "prod", "ravel", "repeat",
    "reshape", "roll", "round", "searchsorted", "sort", "split", "squeeze", "stack", "std", "sum",
    "swapaxes", "take", "take_along_axis", "tensordot", "tile", "transpose", "tril", "triu", "unique",
    "var", "vstack", "where",
):
    globals()[_name] = _function(_name)
amax, amin, around = _function("amax", "max"), _function("amin", "min"), _function("around", "round")


def bincount(x, weights=None, minlength=0):
    args, kwargs = unwrap_all((x,), {"weights": weights, "minlength": minlength}, "cupy.bincount()")
    return wrap(numpy.bincount(*args, **kwargs))


def copyto(dst, src, casting="same_kind", where=True):
    """Copy ``src`` into the device array ``dst`` in place (where ``where`` holds)."""
    if not isinstance(dst, ndarray):
        raise TypeError(f"cupy.copyto(): dst must be a device array, got {type(dst).__name__}" + HINT)
    (src, where), _ = unwrap_all((src, where), {}, "cupy.copyto()")
    numpy.copyto(dst._a, src, casting=casting, where=where)


def ndim(a):
    return a.ndim if isinstance(a, ndarray) else numpy.ndim(a)


def shape(a):
    return a.shape if isinstance(a, ndarray) else numpy.shape(a)


def result_type(*arrays_and_dtypes):
    return numpy.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def get_default_memory_pool():
    return _MemoryPool()


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


del _name


def __getattr__(name):
    raise AttributeError(
        f"module 'cupy' (the hostguard stand-in, tests/hostguard/cupy) has no attribute {name!r}. "
        f"If scratchnet now uses cupy.{name}, check that real CuPy has it and add it to "
        "tests/hostguard/cupy/__init__.py" + HINT)
