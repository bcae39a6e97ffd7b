"""The layers: each holds its parameters and calls the functional op (``scratchnet.functional``)."""

from .. import backend
from .. import functional as F
from ..checks import check_integer, check_real
from . import init
from .module import Module, Parameter


class Dense(Module):
    """Fully connected: y = x W + b, x (N, in) -> y (N, out); W (in, out) Glorot-uniform, b zeros.
    ``Dense(784, 256, activation="relu")`` (or ``"sigmoid"``) is ``Dense(784, 256)`` then ``ReLU()``."""
    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str | None = None):
        super().__init__()
        self.in_features = check_integer("Dense", "in_features", in_features, 1)
        self.out_features = check_integer("Dense", "out_features", out_features, 1)
        if activation not in (None, "relu", "sigmoid"):
            raise ValueError(f"Dense: activation must be None, 'relu' or 'sigmoid', got {activation!r}")
        self.activation = activation
        self.weight = Parameter(init.glorot_uniform((in_features, out_features), in_features, out_features))
        self.bias = Parameter(backend.xp.zeros(out_features, dtype="float32")) if bias else None

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        return y if self.activation is None else getattr(F, self.activation)(y)

    def extra_repr(self):
        activation = "" if self.activation is None else f", activation={self.activation!r}"
        return f"{self.in_features}, {self.out_features}{activation}"


class Conv2D(Module):
    """2-D convolution, NCHW: x (N, in, H, W) -> (N, out, Ho, Wo). weight (out, in, k, k) Glorot-uniform
    with fan_in = in*k*k and fan_out = out*k*k (as Keras); bias (out,) zeros."""
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.in_channels = check_integer("Conv2D", "in_channels", in_channels, 1)
        self.out_channels = check_integer("Conv2D", "out_channels", out_channels, 1)
        self.kernel_size = k = check_integer("Conv2D", "kernel_size", kernel_size, 1)
        self.stride = check_integer("Conv2D", "stride", stride, 1)
        self.padding = check_integer("Conv2D", "padding", padding, 0)
        shape = (self.out_channels, self.in_channels, k, k)
        self.weight = Parameter(init.glorot_uniform(shape, self.in_channels * k * k, self.out_channels * k * k))
        self.bias = Parameter(backend.xp.zeros(self.out_channels, dtype="float32"))

    def forward(self, x): return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self): return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                                  f"stride={self.stride}, padding={self.padding}")


class MaxPool2D(Module):
    """Max pooling, NCHW: (N, C, H, W) -> (N, C, (H-k)//s+1, (W-k)//s+1); stride defaults to k."""
    def __init__(self, kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        self.kernel_size = check_integer("MaxPool2D", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else check_integer("MaxPool2D", "stride", stride, 1)

    def forward(self, x): return F.max_pool2d(x, self.kernel_size, self.stride)
    def extra_repr(self): return f"kernel_size={self.kernel_size}, stride={self.stride}"


class Dropout(Module):
    """Inverted dropout with drop probability p in training mode; the identity in eval mode."""
    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_real("Dropout", "p", p, "a number in [0, 1)", lambda p: 0 <= p < 1)

    def forward(self, x): return F.dropout(x, self.p, self.training)
    def extra_repr(self): return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""
    def forward(self, x):
        if x.ndim < 2:
            raise ValueError(f"Flatten() got input of shape {x.shape}, expected (batch, ...) with at least 2 dimensions")
        return x.reshape(x.shape[0], -1)


class ReLU(Module):
    """max(x, 0), elementwise."""
    def forward(self, x): return F.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""
    def forward(self, x): return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""
    def forward(self, x): return F.tanh(x)


class Softmax(Module):
    """Softmax along ``axis`` (default the last)."""
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x): return F.softmax(x, self.axis)
    def extra_repr(self): return f"axis={self.axis}"
