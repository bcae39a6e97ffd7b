"""The stand-in's array class, ``ndarray``, and the wrapping rules every function of the stand-in shares.

An ``ndarray`` holds a NumPy array (``_a``) and is deliberately *not* a ``numpy.ndarray`` subclass:
NumPy converts subclasses silently (``np.asarray`` never calls ``__array__`` on one), which is exactly
the bug this stand-in must catch. As in CuPy:

- ``np.asarray(x)``, ``np.array(x)``, ``np.testing.*``, scikit-learn, matplotlib: ``TypeError``
  (``__array__`` refuses; ``x.get()`` / ``cupy.asnumpy(x)`` are the explicit ways out);
- ``float(x)``, ``int(x)``: only for 0-d arrays (CuPy defers to NumPy, and NumPy 2 refuses the rest);
  ``bool(x)``: size 1 only (``ValueError`` otherwise, as NumPy);
- mixing with a ``numpy.ndarray`` in arithmetic, ufuncs or functions: ``TypeError``;
- NumPy ufuncs on device arrays (``np.exp(x)``, ``np.float32(2) * x``) run and return device arrays;
  ufunc methods other than calls (``np.add.at``, ``np.add.reduce``) raise;
- reductions and integer indexing give 0-d device arrays, never host scalars.

One deliberate difference: CuPy dispatches ``numpy.<function>(device array)`` (``np.mean``,
``np.concatenate``) to its own functions via ``__array_function__``; the stand-in raises ``TypeError``
instead, because such code looks host-side but returns device arrays (a later ``json.dump`` or plot
then fails far from the cause). Use ``backend.xp.<function>``, or ``backend.to_numpy`` first.
"""

from __future__ import annotations

import numpy

HINT = (" [hostguard: scratchnet's NumPy stand-in for CuPy; move device arrays to the host only with "
        "backend.to_numpy(x) (x.get() / cupy.asnumpy(x)), and to the device with backend.as_array / xp.asarray]")

_CUPY_ARRAY_MESSAGE = ("Implicit conversion to a NumPy array is not allowed. "
                       "Please use `.get()` to construct a NumPy array explicitly.")

_SCALAR_TYPES = (bool, int, float, complex, numpy.generic)


def _unsupported(value, where):
    return TypeError(f"Unsupported type {type(value)} in {where}: a numpy.ndarray cannot be mixed with "
                     f"device arrays (CuPy raises here too)" + HINT)


def is_scalar(x):
    return isinstance(x, _SCALAR_TYPES)


def wrap(result):
    """NumPy results -> device arrays (NumPy scalars become 0-d arrays, as CuPy returns them)."""
    if isinstance(result, numpy.ndarray):
        out = ndarray.__new__(ndarray)
        out._a = result
        return out
    if isinstance(result, numpy.generic):
        return wrap(numpy.asarray(result))
    if isinstance(result, tuple):
        return tuple(wrap(r) for r in result)
    if isinstance(result, list):
        return [wrap(r) for r in result]
    return result


def unwrap(value, where):
    """An argument of a stand-in function: device arrays unwrapped, host arrays refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, numpy.ndarray):
        raise _unsupported(value, where)
    if isinstance(value, list | tuple):
        return type(value)(unwrap(v, where) for v in value)
    return value


def unwrap_all(args, kwargs, where):
    return [unwrap(a, where) for a in args], {k: unwrap(v, where) for k, v in kwargs.items()}


def operand(value, where):
    """The other operand of an operator: a device array or scalar; NotImplemented defers to it."""
    if isinstance(value, ndarray):
        return value._a
    if is_scalar(value):
        return value
    if isinstance(value, numpy.ndarray):
        raise _unsupported(value, where)
    return NotImplemented


def _index(index):
    """An index for ``x[index]``: CuPy accepts ints, slices, None, Ellipsis and integer/boolean
    arrays, including lists and NumPy arrays (copied to the device)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, ndarray):
        return index._a
    if index is None or index is Ellipsis or isinstance(index, slice | int | numpy.integer | numpy.bool_
                                                             | numpy.ndarray):
        return index
    if isinstance(index, list):
        return numpy.asarray(unwrap(index, "an index"))
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
                     f"boolean arrays are valid indices (got {type(index).__name__})")


class MemoryPointer:
    """What ``ndarray.data`` is on CuPy: a device pointer, not an array."""

    def __init__(self, array):
        self.ptr = array.__array_interface__["data"][0]
        self.device = Device(0)

    def __repr__(self):
        return f"<hostguard MemoryPointer 0x{self.ptr:x}>"


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise ValueError(f"hostguard has one pretend device, 0 (got {device})")

    def synchronize(self):
        pass

    def use(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @property
    def compute_capability(self):
        return "00"

    def __repr__(self):
        return f"<CUDA Device {self.id} (hostguard: not a GPU)>"


def _method(name, returns_array=True):
    def method(self, *args, **kwargs):
        out = kwargs.get("out")
        args, kwargs = unwrap_all(args, kwargs, f"ndarray.{name}()")
        result = getattr(self._a, name)(*args, **kwargs)
        if out is not None:
            return out
        return wrap(result) if returns_array else result
    method.__name__ = name
    return method


def _binary(ufunc, name):
    def forward(self, other):
        o = operand(other, f"'{name}'")
        if o is NotImplemented:
            return NotImplemented
        return wrap(ufunc(self._a, o))

    def reflected(self, other):
        o = operand(other, f"'{name}'")
        if o is NotImplemented:
            return NotImplemented
        return wrap(ufunc(o, self._a))

    def inplace(self, other):
        o = operand(other, f"'{name}='")
        if o is NotImplemented:
            raise TypeError(f"Unsupported type {type(other)} for in-place '{name}=' on a device array" + HINT)
        ufunc(self._a, o, out=self._a)
        return self

    return forward, reflected, inplace


class ndarray:
    """A pretend device array: NumPy storage, CuPy's rules about leaving the device."""

    __slots__ = ("__weakref__", "_a")
    __array_priority__ = 100  # CuPy's: a Tensor (1000) still gets ``ndarray * Tensor``

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("hostguard ndarray(): memptr and strides are not supported")
        self._a = numpy.empty(shape, dtype=dtype, order=order)

    # ----- leaving the device: only explicitly ---------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_CUPY_ARRAY_MESSAGE + HINT)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"numpy.{func.__name__}() was called with a device array. CuPy would run "
                        f"cupy.{func.__name__} and return a *device* array where this code expects a host "
                        f"one; call backend.xp.{func.__name__} for device work, or backend.to_numpy() first "
                        "for host work" + HINT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise TypeError(f"numpy.{ufunc.__name__}.{method}() on a device array: CuPy has no ufunc.{method} "
                            "for this (ufunc.at in particular: use bincount or a strided-slice +=)" + HINT)
        from . import _UFUNCS

        if ufunc.__name__ not in _UFUNCS:
            return NotImplemented
        out = kwargs.get("out")
        for x in inputs + (tuple(out) if out is not None else ()):
            if isinstance(x, numpy.ndarray):
                raise _unsupported(x, f"numpy.{ufunc.__name__}")
            if not isinstance(x, ndarray) and not is_scalar(x):
                return NotImplemented
        if out is not None:
            kwargs["out"] = tuple(o._a for o in out)
        result = ufunc(*[x._a if isinstance(x, ndarray) else x for x in inputs], **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return wrap(result)

    def get(self, stream=None, order="C", out=None):
        """A host copy (NumPy array): the explicit way out, as in CuPy."""
        if out is not None:
            if out.shape != self.shape or out.dtype != self.dtype:
                raise ValueError("get(out=...): shape and dtype must match")
            out[...] = self._a
            return out
        return numpy.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, numpy.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if arr.dtype != self.dtype or arr.shape != self.shape:
            raise ValueError("set(): shape and dtype must match")
        self._a[...] = arr

    def item(self):
        if self._a.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def tobytes(self, order="C"):
        return self._a.tobytes(order)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        from . import array

        return array, (self._a.copy(),)

    # ----- what it is ----------------------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def strides(self):
        return self._a.strides

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def flags(self):
        return self._a.flags

    @property
    def T(self):
        return wrap(self._a.T)

    @property
    def real(self):
        return wrap(self._a.real)

    @property
    def imag(self):
        return wrap(self._a.imag)

    @property
    def data(self):
        """A device pointer, as CuPy's ``.data``: not an array (``Tensor.data`` is one)."""
        return MemoryPointer(self._a)

    @property
    def device(self):
        return Device(0)

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    # ----- indexing -------------------------------------------------------------------------------
    def __getitem__(self, index):
        return wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        if isinstance(value, ndarray):
            value = value._a
        elif isinstance(value, numpy.ndarray):
            # CuPy copies a host array in only for ``x[:] = host`` with the same shape and dtype
            if not (type(index) is slice and index == slice(None)
                    and value.shape == self.shape and value.dtype == self.dtype):
                raise _unsupported(value, "x[...] = value")
        elif isinstance(value, list | tuple):
            value = numpy.asarray(unwrap(value, "x[...] = value"))
        elif not is_scalar(value):
            raise TypeError(f"Unsupported type {type(value)} assigned into a device array" + HINT)
        self._a[_index(index)] = value

    def scatter_add(self, slices, value):
        """CuPy's own ``x[slices] += value`` that adds repeated indices up (cupyx.scatter_add)."""
        numpy.add.at(self._a, _index(slices), value._a if isinstance(value, ndarray) else value)

    # ----- methods --------------------------------------------------------------------------------
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if not copy and numpy.dtype(dtype) == self._a.dtype:
            return self
        return wrap(self._a.astype(dtype, order=order, copy=True))

    def copy(self, order="C"):
        return wrap(self._a.copy(order=order))

    def reshape(self, *shape, order="C"):
        return wrap(self._a.reshape(*shape, order=order))

    def transpose(self, *axes):
        return wrap(self._a.transpose(*axes))

    def fill(self, value):
        if isinstance(value, ndarray):
            value = value._a
        elif not is_scalar(value):
            raise _unsupported(value, "ndarray.fill()")
        self._a.fill(value)

    def sort(self, axis=-1):
        self._a.sort(axis=axis)

    def view(self, dtype=None):
        return wrap(self._a.view() if dtype is None else self._a.view(dtype))

    for _name in ("all", "any", "argmax", "argmin", "argsort", "clip", "conj", "cumprod", "cumsum",
                  "diagonal", "dot", "flatten", "max", "mean", "min", "nonzero", "prod", "ravel",
                  "repeat", "round", "squeeze", "std", "sum", "swapaxes", "take", "trace", "var"):
        locals()[_name] = _method(_name)
    del _name

    # ----- operators ------------------------------------------------------------------------------
    __add__, __radd__, __iadd__ = _binary(numpy.add, "+")
    __sub__, __rsub__, __isub__ = _binary(numpy.subtract, "-")
    __mul__, __rmul__, __imul__ = _binary(numpy.multiply, "*")
    __truediv__, __rtruediv__, __itruediv__ = _binary(numpy.true_divide, "/")
    __floordiv__, __rfloordiv__, __ifloordiv__ = _binary(numpy.floor_divide, "//")
    __mod__, __rmod__, __imod__ = _binary(numpy.remainder, "%")
    __pow__, __rpow__, __ipow__ = _binary(numpy.power, "**")
    __matmul__, __rmatmul__, __imatmul__ = _binary(numpy.matmul, "@")
    __and__, __rand__, __iand__ = _binary(numpy.bitwise_and, "&")
    __or__, __ror__, __ior__ = _binary(numpy.bitwise_or, "|")
    __xor__, __rxor__, __ixor__ = _binary(numpy.bitwise_xor, "^")
    __lshift__, __rlshift__, __ilshift__ = _binary(numpy.left_shift, "<<")
    __rshift__, __rrshift__, __irshift__ = _binary(numpy.right_shift, ">>")
    __eq__ = _binary(numpy.equal, "==")[0]
    __ne__ = _binary(numpy.not_equal, "!=")[0]
    __lt__ = _binary(numpy.less, "<")[0]
    __le__ = _binary(numpy.less_equal, "<=")[0]
    __gt__ = _binary(numpy.greater, ">")[0]
    __ge__ = _binary(numpy.greater_equal, ">=")[0]
    __hash__ = None

    def __neg__(self):
        return wrap(-self._a)

    def __pos__(self):
        return self

    def __abs__(self):
        return wrap(numpy.abs(self._a))

    def __invert__(self):
        return wrap(~self._a)
