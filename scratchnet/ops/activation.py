"""Activation functions, each written as its formula, with the derivative beside it."""

from .. import backend
from ..checks import normalize_axis
from ..tensor import Function


def sigmoid(x):
    """1 / (1 + exp(-x)) on an array. For x far below 0, exp(-x) overflows to inf and 1 / inf = 0,
    the right limit, so the overflow is expected and silenced."""
    with backend.silent_overflow():
        return 1 / (1 + backend.xp.exp(-x))


def log_softmax(x, axes):
    """log softmax(x) on an array = (x - max) - log(sum exp(x - max)); subtracting the max changes
    nothing but keeps exp from overflowing."""
    z = x - x.max(axis=axes, keepdims=True)
    return z - backend.xp.log(backend.xp.exp(z).sum(axis=axes, keepdims=True))


class ReLU(Function):
    """max(x, 0) = x * (x > 0).  d/dx = (x > 0), the mask saved by the forward."""
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad): return grad * self.mask


class Sigmoid(Function):
    """s = 1 / (1 + exp(-x)).  d/dx = s (1 - s), from the output alone."""
    def forward(self, x):
        self.s = sigmoid(x)
        return self.s

    def backward(self, grad): return grad * (self.s * (1 - self.s))


class Tanh(Function):
    """t = tanh(x).  d/dx = 1 - t^2."""
    def forward(self, x):
        self.t = backend.xp.tanh(x)
        return self.t

    def backward(self, grad): return grad * (1 - self.t * self.t)


class LogSoftmax(Function):
    """log softmax(x) = x - log(sum exp(x)) along ``axis``.  Gradient: g - softmax(x) * sum(g).
    softmax(x) = exp(log softmax(x)) (``Tensor.softmax``): through both backwards, the full Jacobian."""
    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim)
        self.out = log_softmax(x, self.axes)
        return self.out

    def backward(self, grad): return grad - backend.xp.exp(self.out) * grad.sum(axis=self.axes, keepdims=True)
