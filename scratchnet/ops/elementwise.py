"""Elementwise arithmetic. Inputs may broadcast: each backward returns gradients in the output's
shape and the engine (``tensor.unbroadcast``) sums them back to each input's shape."""

from .. import backend
from ..checks import is_real
from ..tensor import Function


class Add(Function):
    """a + b.  d/da = 1, d/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """a - b.  d/da = 1, d/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    """a * b.  d/da = b, d/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.a


class Div(Function):
    """a / b.  d/da = 1/b, d/db = -a/b^2 = -out/b."""

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        grad_a = grad / self.b
        return grad_a, -grad_a * self.out


class Neg(Function):
    """-a.  d/da = -1."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


class PowScalar(Function):
    """a ** p for a Python number p.  d/da = p * a^(p-1)."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, a):
        self.a = a
        return a**self.exponent

    def backward(self, grad):
        p = self.exponent
        if p == 0:  # a**0 is constant; p * a**(p-1) would be 0 * inf = nan at a = 0
            return grad * 0
        return grad * (p * self.a ** (p - 1))


class Exp(Function):
    """exp(a).  d/da = exp(a), the output itself."""

    def forward(self, a):
        self.out = backend.xp.exp(a)
        return self.out

    def backward(self, grad):
        return grad * self.out


class Log(Function):
    """log(a) for a > 0.  d/da = 1/a."""

    def forward(self, a):
        self.a = a
        return backend.xp.log(a)

    def backward(self, grad):
        return grad / self.a


class Abs(Function):
    """|a|.  d/da = sign(a) (0 at a = 0, the subgradient PyTorch uses too)."""

    def forward(self, a):
        self.a = a
        return backend.xp.abs(a)

    def backward(self, grad):
        return grad * backend.xp.sign(self.a)


class Maximum(Function):
    """max(a, b) elementwise. The gradient goes to the larger input; on a tie, to ``a``."""

    def forward(self, a, b):
        self.a_wins = a >= b
        return backend.xp.maximum(a, b)

    def backward(self, grad):
        xp = backend.xp
        return xp.where(self.a_wins, grad, 0), xp.where(self.a_wins, 0, grad)


class Minimum(Function):
    """min(a, b) elementwise. The gradient goes to the smaller input; on a tie, to ``a``."""

    def forward(self, a, b):
        self.a_wins = a <= b
        return backend.xp.minimum(a, b)

    def backward(self, grad):
        xp = backend.xp
        return xp.where(self.a_wins, grad, 0), xp.where(self.a_wins, 0, grad)


class Where(Function):
    """where(condition, a, b): ``a`` where the (constant, boolean) condition holds, else ``b``."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return backend.xp.where(self.condition, a, b)

    def backward(self, grad):
        xp = backend.xp
        return xp.where(self.condition, grad, 0), xp.where(self.condition, 0, grad)


class Clip(Function):
    """clip(a, low, high). d/da = 1 inside [low, high], 0 outside (either bound may be None)."""

    def __init__(self, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip needs at least one of low and high")
        if is_real(low) and is_real(high) and low > high:
            raise ValueError(f"clip needs low <= high, got low={low!r} and high={high!r}")
        self.low, self.high = low, high

    def forward(self, a):
        xp = backend.xp
        inside = xp.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        self.inside = inside
        return xp.clip(a, self.low, self.high)

    def backward(self, grad):
        return grad * self.inside
