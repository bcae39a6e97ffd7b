"""Inverted dropout: in training, zero each element with probability p and scale the survivors by
1 / (1 - p), so the expected output equals the input and evaluation needs no rescaling.

y = x * mask,  mask = (u >= p) / (1 - p)  with u ~ U[0, 1) from the seeded device generator.
d/dx = mask.
"""

from .. import backend
from ..tensor import Function
from .memory import axis_order, empty_like, random


class Dropout(Function):
    def __init__(self, p=0.5):
        self.p = p

    def forward(self, x):
        xp = backend.xp
        # u is drawn in x's memory order (e.g. a conv net's (C, H, W, N), see ops/memory.py), so the
        # products below run over contiguous memory; for a C-ordered x that is the plain C order
        u = random(x.shape, xp.float32, axis_order(x))
        keep = xp.greater_equal(u, self.p, out=empty_like(u, dtype=bool))
        scale = x.dtype.type(1.0 / (1.0 - self.p))
        self.mask = xp.multiply(keep, scale, out=u if u.dtype == x.dtype else None)
        return xp.multiply(x, self.mask, out=empty_like(x))

    def backward(self, grad):
        return backend.xp.multiply(grad, self.mask, out=empty_like(grad))
