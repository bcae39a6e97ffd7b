"""Losses fused with their final activation, because the fused form is the numerically stable one,
and the L1 loss fused into one op, because its three-op form (sub, abs, mean) makes six passes
over the batch where two suffice.

All return a mean; the target is a constant (it gets no gradient).
"""

from .. import backend
from ..tensor import Function
from .activation import log_softmax_array
from .memory import empty_like


class BCEWithLogits(Function):
    """Binary cross-entropy on logits z against targets y in [0, 1], mean over elements.

    z and y may broadcast against each other; n is the number of elements of the broadcast shape
    (the shape of the terms averaged), not of z alone:

    loss = mean( max(z, 0) - z y + log(1 + exp(-|z|)) )   (never exponentiates a large number)
    d/dz = (sigmoid(z) - y) / n   in the broadcast shape (the engine sums it back to z's shape)
    """

    def forward(self, z, y):
        xp = backend.xp
        self.z, self.y = z, y
        out = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        self.n = out.size
        return out.mean()

    def backward(self, grad):
        xp = backend.xp
        s = xp.tanh(self.z * self.z.dtype.type(0.5)) * 0.5 + 0.5
        return grad * (s - self.y) / self.n, None


class L1(Function):
    """Mean absolute error between predictions p and targets y (a constant), over all n elements.

    loss = mean |p - y|
    d/dp = sign(p - y) / n   (0 where p == y: the subgradient PyTorch uses too)
    """

    def forward(self, p, y):
        xp = backend.xp
        self.diff = xp.subtract(p, y, out=empty_like(p))
        return xp.abs(self.diff, out=empty_like(self.diff)).sum() / self.diff.dtype.type(self.diff.size)

    def backward(self, grad):
        xp = backend.xp
        grad_p = xp.sign(self.diff, out=empty_like(self.diff))
        grad_p *= grad / grad.dtype.type(self.diff.size)
        return grad_p, None


class CrossEntropy(Function):
    """Softmax cross-entropy on logits z (N, C) and integer labels (N,), mean over the batch.

    loss_i = logsumexp(z_i) - z_i[label_i]
    d/dz   = (softmax(z) - onehot(labels)) / N
    """

    def __init__(self, labels):
        self.labels = labels

    def forward(self, z):
        self.log_probs = log_softmax_array(z, axis=1)  # z_i - logsumexp(z_i), for every class
        rows = backend.xp.arange(z.shape[0])
        return -self.log_probs[rows, self.labels].mean()

    def backward(self, grad):
        xp = backend.xp
        n, classes = self.log_probs.shape
        probs = xp.exp(self.log_probs)
        onehot = xp.arange(classes)[None, :] == self.labels[:, None]
        return grad * (probs - onehot) / n
