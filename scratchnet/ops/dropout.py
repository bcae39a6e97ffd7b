"""Inverted dropout: y = x * mask, mask = [u >= p] / (1 - p), u ~ U[0, 1) from the seeded device
generator; d/dx = mask. The expected output equals the input, so evaluation needs no rescaling."""

from .. import backend
from ..tensor import Function


class Dropout(Function):
    def forward(self, x):
        # u is drawn in x's memory order (ops/conv.py keeps a conv net's batch axis last), so that
        # x * mask runs over both arrays in step; any order gives the same distribution
        order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])  # outermost axis first
        u = backend.device_rng().random([x.shape[a] for a in order], dtype=backend.xp.float32)
        u = u.transpose(tuple(int(a) for a in backend.np.argsort(order)))
        self.mask = (u >= self.p) * x.dtype.type(1 / (1 - self.p))
        return x * self.mask

    def backward(self, grad): return grad * self.mask
