"""Inverted dropout: in training, zero each element with probability p and scale the survivors by
1 / (1 - p), so the expected output equals the input and evaluation needs no rescaling.

y = x * mask,  mask = (u >= p) / (1 - p)  with u ~ U[0, 1) from the seeded device generator.
d/dx = mask.
"""

from .. import backend
from ..tensor import Function


class Dropout(Function):
    def __init__(self, p=0.5):
        self.p = p

    def forward(self, x):
        keep = backend.device_rng().random(x.shape, dtype=backend.xp.float32) >= self.p
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad):
        return grad * self.mask
