"""2-D max pooling over kh x kw windows (NCHW), windows that do not fit at the edge dropped.

Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H - k) // s + 1.

Like im2col, the forward loops over the k*k offsets of a window: the strided slice for offset (i, j)
holds that position of every window, so the running maximum over k*k slices is the pooled output.
Each output remembers which offset won. Ties: the whole gradient goes to ONE element, the first
maximum in row-major order within the window (top-left first), as PyTorch does.
"""

from .. import backend
from ..tensor import Function


class MaxPool2d(Function):
    def __init__(self, kernel_size=2, stride=None):
        self.k = kernel_size
        self.s = kernel_size if stride is None else stride

    def _window(self, i, j, ho, wo):
        s = self.s
        return (slice(None), slice(None), slice(i, i + s * ho, s), slice(j, j + s * wo, s))

    def forward(self, x):
        xp = backend.xp
        k = self.k
        if x.ndim != 4:
            raise ValueError(f"max_pool2d expects input (N, C, H, W), got shape {x.shape}")
        n, c, h, w = x.shape
        ho, wo = (h - k) // self.s + 1, (w - k) // self.s + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"max_pool2d: a {k}x{k} window does not fit input {h}x{w}")
        self.x_shape, self.out_hw = x.shape, (ho, wo)
        out = x[self._window(0, 0, ho, wo)].copy()
        winner = xp.zeros(out.shape, dtype=xp.int8 if k * k < 128 else xp.int32)
        for offset in range(1, k * k):
            candidate = x[self._window(offset // k, offset % k, ho, wo)]
            better = candidate > out  # strict: an equal value later in the window does not win
            xp.copyto(out, candidate, where=better)
            winner[better] = offset
        self.winner = winner
        return out

    def backward(self, grad):
        xp = backend.xp
        k = self.k
        ho, wo = self.out_hw
        grad_x = xp.zeros(self.x_shape, dtype=grad.dtype)
        for offset in range(k * k):
            grad_x[self._window(offset // k, offset % k, ho, wo)] += grad * (self.winner == offset)
        return grad_x
