"""Elementwise arithmetic. Inputs may broadcast: each backward returns gradients in the output's
shape and the engine (``tensor.unbroadcast``) sums them back to each input's shape."""

from .. import backend
from ..checks import is_real
from ..tensor import Function


class Add(Function):
    """a + b.  d/da = 1, d/db = 1."""
    def forward(self, a, b): return a + b
    def backward(self, grad): return grad, grad


class Sub(Function):
    """a - b.  d/da = 1, d/db = -1."""
    def forward(self, a, b): return a - b
    def backward(self, grad): return grad, -grad


class Neg(Function):
    """-a.  d/da = -1."""
    def forward(self, a): return -a
    def backward(self, grad): return -grad


class Mul(Function):
    """a * b.  d/da = b, d/db = a."""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad): return grad * self.b, grad * self.a


class Div(Function):
    """a / b.  d/da = 1/b, d/db = -a/b^2."""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad): return grad / self.b, -grad * self.a / (self.b * self.b)


class PowScalar(Function):
    """a ** p for a Python number p.  d/da = p a^(p-1) (0 for p = 0: a^0 is a constant)."""
    def forward(self, a):
        self.a = a
        return a**self.p

    def backward(self, grad): return grad * (self.p * self.a ** (self.p - 1)) if self.p != 0 else grad * 0


class Exp(Function):
    """exp(a).  d/da = exp(a), the output itself."""
    def forward(self, a):
        self.out = backend.xp.exp(a)
        return self.out

    def backward(self, grad): return grad * self.out


class Log(Function):
    """log(a) for a > 0.  d/da = 1/a."""
    def forward(self, a):
        self.a = a
        return backend.xp.log(a)

    def backward(self, grad): return grad / self.a


class Abs(Function):
    """|a|.  d/da = sign(a) (0 at a = 0, as in PyTorch)."""
    def forward(self, a):
        self.a = a
        return backend.xp.abs(a)

    def backward(self, grad): return grad * backend.xp.sign(self.a)


class Where(Function):
    """where(condition, a, b) for a constant boolean array.  d/da = condition, d/db = not condition."""
    def forward(self, a, b): return backend.xp.where(self.condition, a, b)
    def backward(self, grad): return grad * self.condition, grad * ~self.condition


class Clip(Function):
    """clip(a, low, high) (either bound may be None).  d/da = 1 inside [low, high], 0 outside."""
    def __init__(self, low=None, high=None):
        if low is None and high is None or is_real(low) and is_real(high) and low > high:
            raise ValueError(f"clip needs low <= high, at least one of them a number, got low={low!r}, high={high!r}")
        self.low, self.high = low, high

    def forward(self, a):
        out = backend.xp.clip(a, self.low, self.high)
        self.inside = out == a
        return out

    def backward(self, grad): return grad * self.inside
