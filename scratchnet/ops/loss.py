"""Losses fused with their final activation, because the fused form is the numerically stable one.

Both return the mean over the batch; the target is a constant (it gets no gradient).
"""

from .. import backend
from ..tensor import Function


class BCEWithLogits(Function):
    """Binary cross-entropy on logits z against targets y in [0, 1], mean over elements.

    loss = mean( max(z, 0) - z y + log(1 + exp(-|z|)) )   (never exponentiates a large number)
    d/dz = (sigmoid(z) - y) / n
    """

    def forward(self, z, y):
        xp = backend.xp
        self.z, self.y = z, y
        out = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        return out.mean()

    def backward(self, grad):
        xp = backend.xp
        s = xp.tanh(self.z * self.z.dtype.type(0.5)) * 0.5 + 0.5
        return grad * (s - self.y) / self.z.size, None


class CrossEntropy(Function):
    """Softmax cross-entropy on logits z (N, C) and integer labels (N,), mean over the batch.

    loss_i = logsumexp(z_i) - z_i[label_i]
    d/dz   = (softmax(z) - onehot(labels)) / N
    """

    def __init__(self, labels):
        self.labels = labels

    def forward(self, z):
        xp = backend.xp
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        self.log_probs = log_probs
        rows = xp.arange(z.shape[0])
        return -log_probs[rows, self.labels].mean()

    def backward(self, grad):
        xp = backend.xp
        n, classes = self.log_probs.shape
        probs = xp.exp(self.log_probs)
        onehot = xp.arange(classes)[None, :] == self.labels[:, None]
        return grad * (probs - onehot) / n
