"""Ops that move values without changing them: reshape, transpose, indexing. Each backward moves
the gradient back to where the values came from."""

import math

from .. import backend
from ..tensor import Function


class Reshape(Function):
    """a.reshape(new_shape).  The gradient is reshaped back to a's shape."""
    def forward(self, a):
        self.shape = a.shape
        try:
            return a.reshape(self.new_shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) to {self.new_shape}") from None

    def backward(self, grad): return grad.reshape(self.shape)


class Transpose(Function):
    """a.transpose(axes) (all axes reversed when None).  The gradient goes back by the inverse
    permutation, argsort(axes)."""
    def forward(self, a):
        axes = None if self.axes is None else [ax + a.ndim if ax < 0 else ax for ax in self.axes]
        if axes is not None and sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose of a tensor of shape {a.shape} needs a permutation of its axes "
                             f"0..{a.ndim - 1} (or none, to reverse them), got {self.axes}")
        self.inverse = None if axes is None else tuple(backend.np.argsort(axes))
        return a.transpose(self.axes)

    def backward(self, grad): return grad.transpose(self.inverse)


class GetItem(Function):
    """a[index] for any NumPy index.  Each output's gradient goes to the input element it came from;
    one picked twice (``a[[0, 0]]``) gets both, added up by ``bincount`` over the picked positions."""
    def forward(self, a):
        self.shape, self.dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as error:
            raise IndexError(f"index {self.index!r} does not fit a tensor of shape {a.shape}: {error}") from None

    def backward(self, grad):
        size = math.prod(self.shape)
        picked = backend.xp.arange(size).reshape(self.shape)[self.index]  # each output's flat source
        summed = backend.xp.bincount(picked.ravel(), weights=grad.ravel(), minlength=size)
        return summed.astype(self.dtype).reshape(self.shape)
