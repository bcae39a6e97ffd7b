"""Losses fused with their final activation, because the fused form is the numerically stable one,
and L1. Each returns a mean; the target is a constant (it gets no gradient)."""

from .. import backend
from ..tensor import Function
from .activation import log_softmax, sigmoid


class BCEWithLogits(Function):
    """Binary cross-entropy of sigmoid(z) against targets y in [0, 1], over the n elements of z and y:
    loss = mean( max(z, 0) - z y + log(1 + exp(-|z|)) ) (never exponentiates a large number),
    d/dz = (sigmoid(z) - y) / n."""
    def forward(self, z, y):
        xp = backend.xp
        self.z, self.y = z, y
        terms = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        self.n = terms.size
        return terms.mean()

    def backward(self, grad): return grad * (sigmoid(self.z) - self.y) / self.n, None


class L1(Function):
    """Mean absolute error of predictions p against targets y, over all n elements.
    loss = mean |p - y|,   d/dp = sign(p - y) / n   (0 where p == y, as in PyTorch)."""
    def forward(self, p, y):
        self.diff = p - y
        return backend.xp.abs(self.diff).mean()

    def backward(self, grad): return grad * backend.xp.sign(self.diff) / self.diff.size, None


class CrossEntropy(Function):
    """Softmax cross-entropy of logits z (N, C) against integer labels (N,), mean over the batch.
    loss_i = log(sum_c exp(z_ic)) - z_i[label_i],   d/dz = (softmax(z) - onehot(labels)) / N."""
    def forward(self, z):
        self.log_probs = log_softmax(z, axes=1)
        return -self.log_probs[backend.xp.arange(z.shape[0]), self.labels].mean()

    def backward(self, grad):
        xp = backend.xp
        n, classes = self.log_probs.shape
        onehot = xp.arange(classes)[None, :] == self.labels[:, None]
        return grad * (xp.exp(self.log_probs) - onehot) / n
