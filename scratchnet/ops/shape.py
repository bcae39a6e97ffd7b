"""Ops that move values around without changing them: reshape, transpose, indexing."""

from .. import backend
from ..tensor import Function


class Reshape(Function):
    """a.reshape(shape). Its gradient is the output gradient reshaped back."""

    def __init__(self, shape):
        self.new_shape = shape

    def forward(self, a):
        self.shape = a.shape
        try:
            return a.reshape(self.new_shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                             f"to {self.new_shape}") from None

    def backward(self, grad):
        return grad.reshape(self.shape)


class Transpose(Function):
    """a.transpose(axes) (reversed axes when None). Its gradient is transposed back by the inverse."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        self.inverse = None if self.axes is None else tuple(backend.np.argsort([ax % a.ndim for ax in self.axes]))
        return a.transpose(self.axes)

    def backward(self, grad):
        return grad.transpose(self.inverse)


def _has_integer_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        dtype = getattr(part, "dtype", None)
        if isinstance(part, list) or (dtype is not None and dtype.kind in "iu"):
            return True
    return False


class GetItem(Function):
    """a[index] with any NumPy index: ints, slices, boolean masks, integer arrays.

    The gradient scatters back to where the values came from. With integer arrays an element may be
    picked twice, so its gradients must add up: ``bincount`` over flat positions does that, on NumPy
    and CuPy alike (``grad_a[index] += grad`` would keep only one of the repeats).
    """

    def __init__(self, index):
        if hasattr(index, "data") and hasattr(index, "grad"):  # a Tensor used as an index
            index = index.data
        self.index = index

    def forward(self, a):
        self.shape, self.dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as error:
            raise IndexError(f"index {self.index!r} does not fit a tensor of shape {a.shape}: {error}") from None

    def backward(self, grad):
        xp = backend.xp
        if _has_integer_array(self.index):
            size = 1
            for n in self.shape:
                size *= n
            positions = xp.arange(size).reshape(self.shape)[self.index]
            summed = xp.bincount(positions.ravel(), weights=grad.ravel(), minlength=size)
            return summed.astype(self.dtype).reshape(self.shape)
        grad_a = xp.zeros(self.shape, dtype=grad.dtype)
        grad_a[self.index] = grad
        return grad_a
