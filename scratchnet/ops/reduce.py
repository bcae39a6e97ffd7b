"""Reductions: sum, mean and max over an axis (or all axes)."""

from .. import backend
from ..checks import is_integer
from ..tensor import Function


def normalize_axis(axis, ndim):
    """``axis`` as a tuple of non-negative ints (None means every axis); a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = (axis,) if is_integer(axis) else tuple(axis)
    except TypeError:  # neither an integer nor a sequence of them, e.g. 1.5
        raise ValueError(f"axis must be an integer, a tuple of integers or None, got {axis!r}") from None
    for a in axes:
        if not is_integer(a):
            raise ValueError(f"an axis must be an integer, got {a!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array with {ndim} dimensions")
    return tuple(sorted(int(a) % max(ndim, 1) for a in axes))


def _expand_like(grad, axes, shape):
    """Put back the reduced axes (as size 1) so ``grad`` broadcasts against the input."""
    for a in axes:
        grad = backend.xp.expand_dims(grad, a)
    return backend.xp.broadcast_to(grad, shape)


class Sum(Function):
    """sum(a, axis). Every input element contributes once: d/da = 1, broadcast back."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape = a.shape
        self.axes = normalize_axis(self.axis, a.ndim)
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        if not self.keepdims:
            return _expand_like(grad, self.axes, self.shape)
        return backend.xp.broadcast_to(grad, self.shape)


class Mean(Sum):
    """mean(a, axis) = sum(a, axis) / n, where n is the number of elements reduced."""

    def forward(self, a):
        out = super().forward(a)
        self.count = 1
        for ax in self.axes:
            self.count *= a.shape[ax]
        return out / a.dtype.type(self.count)

    def backward(self, grad):
        return super().backward(grad / grad.dtype.type(self.count))


class Max(Function):
    """max(a, axis) over one axis or all. The gradient goes to one maximal element per reduction,
    the first in row-major order when several tie (as ``argmax`` picks it)."""

    def __init__(self, axis=None, keepdims=False):
        if axis is not None and not is_integer(axis):
            raise ValueError(f"max reduces over one axis or all (axis=None), got axis={axis!r}")
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = backend.xp
        self.shape = a.shape
        flat = a.reshape(-1) if self.axis is None else a
        axis = 0 if self.axis is None else normalize_axis(self.axis, a.ndim)[0]
        self.axis_ = axis  # non-negative (normalize_axis): backward compares it with axis positions
        self.flat_shape = flat.shape
        self.winner = xp.expand_dims(flat.argmax(axis=axis), axis)
        out = xp.take_along_axis(flat, self.winner, axis=axis)
        if self.axis is None:
            return out.reshape((1,) * a.ndim) if self.keepdims else out.reshape(())
        return out if self.keepdims else out.squeeze(axis)

    def backward(self, grad):
        xp = backend.xp
        positions = xp.arange(self.flat_shape[self.axis_]).reshape(
            [-1 if i == self.axis_ else 1 for i in range(len(self.flat_shape))]
        )
        grad = grad.reshape(self.winner.shape)
        return xp.where(positions == self.winner, grad, 0).reshape(self.shape).astype(grad.dtype, copy=False)
