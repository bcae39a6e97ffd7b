"""Reductions: sum, mean and max over some axes (or all). Each backward puts the reduced axes back
(as size 1) and broadcasts the gradient to the input's shape."""

import math

from .. import backend
from ..checks import is_integer, normalize_axis
from ..tensor import Function


class Sum(Function):
    """sum(a, axes).  d/da = 1 for every element: the output's gradient, broadcast back."""
    axis, keepdims = None, False

    def forward(self, a):
        self.shape, self.axes = a.shape, normalize_axis(self.axis, a.ndim)
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = grad if self.keepdims else backend.xp.expand_dims(grad, self.axes)  # reduced axes back, size 1
        return backend.xp.broadcast_to(grad, self.shape)


class Mean(Sum):
    """mean(a, axes) = sum(a, axes) / n, n the number of elements reduced.  d/da = 1/n."""
    def forward(self, a):
        total = super().forward(a)
        self.n = a.dtype.type(math.prod(a.shape[i] for i in self.axes))
        return total / self.n

    def backward(self, grad): return super().backward(grad / self.n)


class Max(Function):
    """max(a, axis) over one axis or all.  d/da = 1 at the maximum, 0 elsewhere; when several tie,
    the first in row-major order (``argmax``'s pick) takes the whole gradient."""
    def __init__(self, axis=None, keepdims=False):
        if axis is not None and not is_integer(axis):
            raise ValueError(f"max reduces over one axis or all (axis=None), got axis={axis!r}")
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = backend.xp
        self.shape, everything = a.shape, self.axis is None or a.ndim == 0
        flat = a.reshape(-1) if everything else a  # one axis of all the elements, or ``a`` itself
        self.ax = 0 if everything else normalize_axis(self.axis, a.ndim)[0]
        self.flat_shape = flat.shape
        self.winner = xp.expand_dims(flat.argmax(axis=self.ax), self.ax)
        out = xp.take_along_axis(flat, self.winner, axis=self.ax)
        if everything:
            return out.reshape((1,) * a.ndim if self.keepdims else ())
        return out if self.keepdims else out.squeeze(self.ax)

    def backward(self, grad):
        shape = [-1 if i == self.ax else 1 for i in range(len(self.flat_shape))]
        one_hot = backend.xp.arange(self.flat_shape[self.ax]).reshape(shape) == self.winner
        return (one_hot * grad.reshape(self.winner.shape)).reshape(self.shape)
