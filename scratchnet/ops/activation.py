"""Activation functions, each written in its numerically stable form."""

from .. import backend
from ..tensor import Function


class ReLU(Function):
    """max(x, 0).  d/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        self.positive = x > 0
        return x * self.positive

    def backward(self, grad):
        return grad * self.positive


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2, which never overflows.

    d/dx = s (1 - s), from the output s alone.
    """

    def forward(self, x):
        s = backend.xp.tanh(x * x.dtype.type(0.5))
        s *= 0.5
        s += 0.5
        self.out = s
        return s

    def backward(self, grad):
        s = self.out
        return grad * s * (1 - s)


class Tanh(Function):
    """tanh(x).  d/dx = 1 - tanh(x)^2."""

    def forward(self, x):
        self.out = backend.xp.tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


def _shifted(x, axis):
    """x - max(x): the same softmax, and exp never overflows."""
    return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``.

    The Jacobian is diag(y) - y y^T, so the vector-Jacobian product is y * (g - sum(g * y)):
    the full Jacobian, not only its diagonal.
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        e = backend.xp.exp(_shifted(x, self.axis))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.out = e
        return e

    def backward(self, grad):
        y = self.out
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """log softmax(x) = (x - max) - log(sum exp(x - max)).  VJP: g - softmax(x) * sum(g)."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = backend.xp
        z = _shifted(x, self.axis)
        out = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.out = out
        return out

    def backward(self, grad):
        softmax = backend.xp.exp(self.out)
        return grad - softmax * grad.sum(axis=self.axis, keepdims=True)
