"""2-D max pooling over k x k windows with stride s (NCHW): x (N, C, H, W) -> y (N, C, Ho, Wo),
Ho = (H - k) // s + 1, Wo = (W - k) // s + 1. As in im2col, the strided slice x[..., i : i + s*Ho : s,
j : j + s*Wo : s] holds offset (i, j) of every window; y is the elementwise maximum of the k*k slices.
d/dx = 1 at each window's maximum, 0 elsewhere; a tie sends it all to the first in row-major order.
"""

from .. import backend
from ..checks import check_integer
from ..tensor import Function
from .conv import output_size


class MaxPool2d(Function):
    def __init__(self, kernel_size=2, stride=None):
        self.k = check_integer("max_pool2d", "kernel_size", kernel_size, 1)
        self.s = self.k if stride is None else check_integer("max_pool2d", "stride", stride, 1)

    def windows(self, x):
        """The k*k strided slices of ``x``, offset (i, j) of every window, in row-major order."""
        k, s = self.k, self.s
        ho, wo = output_size(x.shape[2], k, s), output_size(x.shape[3], k, s)
        return [x[:, :, i : i + s * ho : s, j : j + s * wo : s] for i in range(k) for j in range(k)]

    def forward(self, x):
        if x.ndim != 4 or min(x.shape[2:]) < self.k:
            raise ValueError(f"max_pool2d got input of shape {x.shape}, expected (N, C, H, W) with H >= {self.k} "
                             f"and W >= {self.k}, where a {self.k}x{self.k} window fits")
        self.x, windows = x, self.windows(x)
        self.y = windows[0]
        for window in windows[1:]:
            self.y = backend.xp.maximum(self.y, window)
        return self.y

    def backward(self, grad):
        grad_x = backend.xp.zeros_like(self.x)
        unsent = backend.xp.ones_like(self.y, dtype=bool)  # windows whose gradient is not sent yet
        for x_window, grad_window in zip(self.windows(self.x), self.windows(grad_x)):
            first_max = x_window == self.y
            first_max &= unsent
            unsent ^= first_max
            if self.s >= self.k:  # windows do not overlap: each pixel is in one, so write, not add
                backend.xp.multiply(grad, first_max, out=grad_window)
            else:
                grad_window += grad * first_max
        return grad_x
