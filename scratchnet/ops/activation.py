"""Activation functions, each written in its numerically stable form."""

from .. import backend
from ..tensor import Function
from .memory import empty_like
from .reduce import normalize_axis


def relu_into(x, out):
    """out <- max(x, 0), computed as x * (x > 0); ``out`` may be ``x`` itself (in place).

    Returns the boolean mask (x > 0), which is also the derivative. Arrays keep x's memory order
    and are reused from step to step when large (see ops/memory.py).
    """
    xp = backend.xp
    positive = xp.greater(x, 0, out=empty_like(x, dtype=bool))
    xp.multiply(x, positive, out=out)
    return positive


def relu_backward(grad, positive):
    """grad * (x > 0): the gradient through a ReLU, from its saved mask."""
    return backend.xp.multiply(grad, positive, out=empty_like(grad))


def sigmoid_into(x, out):
    """out <- 1 / (1 + exp(-x)); ``out`` may be ``x`` itself (in place). Returns ``out``.

    Computed as written. Where x < -88.7 (float32; -709.8 in float64), exp(-x) overflows to inf
    and 1 / inf = 0, the correctly rounded limit, so the overflow is expected and not reported.
    Where x > 16.6 (36.7 in float64), 1 + exp(-x) rounds to 1. Everywhere else the result is
    accurate to a few units in the last place, in the far negative tail too. The form
    (1 + tanh(x/2)) / 2 is not: 1 + tanh cancels, so in float32 its result moves in steps of 3e-8
    and is 0 from x = -20 on (docs/layers.md shows it); and its tanh is the slower function
    (benchmarks/step_costs.py, table 1).
    """
    xp = backend.xp
    xp.negative(x, out=out)
    with backend.silent_overflow():
        xp.exp(out, out=out)
    out += 1
    return xp.divide(1, out, out=out)  # NumPy's reciprocal ufunc is slower than this divide


def sigmoid_backward(grad, s):
    """grad * s (1 - s): the gradient through a sigmoid, from its output s alone (in one array)."""
    grad_x = backend.xp.subtract(1, s, out=empty_like(s))
    grad_x *= s
    grad_x *= grad
    return grad_x


class ReLU(Function):
    """max(x, 0).  d/dx = 1 where x > 0, else 0: both passes multiply by the saved mask (x > 0)."""

    def forward(self, x):
        out = empty_like(x)
        self.positive = relu_into(x, out)
        return out

    def backward(self, grad):
        return relu_backward(grad, self.positive)


class Sigmoid(Function):
    """1 / (1 + exp(-x)) (``sigmoid_into`` says why an overflow of exp(-x) is harmless there).

    d/dx = s (1 - s), from the output s alone.
    """

    def forward(self, x):
        self.out = sigmoid_into(x, empty_like(x))
        return self.out

    def backward(self, grad):
        return sigmoid_backward(grad, self.out)


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


def log_softmax_array(x, axis):
    """log softmax(x) along ``axis`` on an array: (x - max) - log(sum exp(x - max)), never overflowing."""
    xp = backend.xp
    z = _shifted(x, axis)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``.

    The Jacobian is diag(y) - y y^T, so the vector-Jacobian product is y * (g - sum(g * y)):
    the full Jacobian, not only its diagonal.
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        normalize_axis(self.axis, x.ndim)  # a clear error for an axis x does not have
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
        normalize_axis(self.axis, x.ndim)  # a clear error for an axis x does not have
        self.out = log_softmax_array(x, self.axis)
        return self.out

    def backward(self, grad):
        softmax = backend.xp.exp(self.out)
        return grad - softmax * grad.sum(axis=self.axis, keepdims=True)
