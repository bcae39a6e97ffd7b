"""The Q2A autoencoder trained in plain NumPy, every gradient written out by hand: the yardstick of
``benchmarks/train_speed.py``.

The issue that set scratchnet's speed targets timed "a hand-written NumPy loop with no autograd" on
the latent-16 autoencoder (0.77 s per epoch on 2 cores) and asked scratchnet to keep that speed with
autograd, layers and optimizers in between. This is such a loop, so the benchmark can time it next
to scratchnet, on the same machine, the same day:

- ``scratchnet / plain NumPy`` is what the engine, the layers and the optimizer objects cost on top
  of the arithmetic;
- the plain loop's own epoch time, against the issue's 0.77 s, says how fast this machine is today
  compared with the one the targets were set on.

It does the same arithmetic as scratchnet, in the same order (``tests/test_benchmarks.py`` checks
that on the NumPy backend both give bit for bit the same losses and weights after 65 steps): for
every layer z = h W + b, ReLU as a multiply by the mask (z > 0), the sigmoid as 1 / (1 + exp(-z)),
the L1 loss mean |out - x|, and Adam as ``optim.Adam`` writes it (the paper's m, v, m_hat, v_hat, with
``optim.flush_denormals_to_zero`` every ``Adam.FLUSH_EVERY`` steps).
The backward pass is the chain rule, layer by layer, from the loss down:

    d out    = sign(out - x) / n                     (L1)
    d z_last = d out * s (1 - s)                     (sigmoid, s = out)
    d W_i    = h_i^T d z_i,   d b_i = sum over the batch of d z_i
    d h_i    = d z_i W_i^T,   d z_(i-1) = d h_i * (z_(i-1) > 0)     (ReLU)

Arrays are allocated once per batch size and reused, as a careful hand-written loop would: a fresh
array of 256 x 784 float32 (800 KB) every step is memory the system maps and clears each time.
"""

from __future__ import annotations

import numpy as np

from scratchnet import optim


class PlainAutoencoder:
    """Dense layers ``weights[i]`` (in, out) and ``biases[i]`` (out,), ReLU between them, a sigmoid on
    the output; trained with the L1 loss and Adam(lr, betas, eps). The arrays are float32 copies."""

    def __init__(self, weights, biases, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.weights = [np.array(w, dtype=np.float32) for w in weights]
        self.biases = [np.array(b, dtype=np.float32) for b in biases]
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        params = self.parameters()
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.weight_grads = [np.empty_like(w) for w in self.weights]
        self._buffers = {}  # batch size -> (activations, masks, gradients, two output-sized scratch arrays)

    @classmethod
    def from_scratchnet(cls, model, **adam):
        """The same weights as a ``q2a_autoencoders.Autoencoder`` (ReLU latent)."""
        dense = [layer for part in (model.encoder, model.decoder) for layer in part if hasattr(layer, "weight")]
        return cls([d.weight.numpy() for d in dense], [d.bias.numpy() for d in dense], **adam)

    def parameters(self):
        """weight 0, bias 0, weight 1, ...: the order of ``model.parameters()`` in scratchnet."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def _arrays(self, n):
        if n not in self._buffers:
            widths = [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]
            self._buffers[n] = ([np.empty((n, w), np.float32) for w in widths],
                                [np.empty((n, w), bool) for w in widths],
                                [np.empty((n, w), np.float32) for w in widths],
                                [np.empty((n, widths[-1]), np.float32) for _ in range(2)])
        return self._buffers[n]

    def forward(self, x):
        """x (n, 784) -> output (n, 784); the activations and masks stay in this batch size's arrays
        for ``train_step``'s backward pass (the next forward overwrites them)."""
        h, masks, _, _ = self._arrays(len(x))
        h[0] = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = np.matmul(h[i], w, out=h[i + 1])
            z += b
            if i < last:
                np.greater(z, 0, out=masks[i + 1])
                z *= masks[i + 1]
            else:  # sigmoid(z) = 1 / (1 + exp(-z)); exp(-z) = inf (so the sigmoid is 0) is expected
                np.negative(z, out=z)
                with np.errstate(over="ignore"):
                    np.exp(z, out=z)
                z += np.float32(1.0)
                np.divide(np.float32(1.0), z, out=z)
        return h[-1]

    def train_step(self, x):
        """One step on the batch x (n, 784): forward, L1 loss, backward, Adam. Returns the loss (float32)."""
        out = self.forward(x)
        h, masks, grads, (scratch, sigmoid_slope) = self._arrays(len(x))
        n = np.float32(out.size)
        diff = np.subtract(out, x, out=grads[-1])
        loss = np.abs(diff, out=scratch).sum() / n
        # d loss / d out. Not in place: np.sign(a, out=a) takes 13x longer (NumPy 2.4, float32)
        g = np.sign(diff, out=scratch)
        g *= np.float32(1.0) / n
        np.subtract(np.float32(1.0), out, out=sigmoid_slope)  # d out / d z = s (1 - s)
        sigmoid_slope *= out
        g *= sigmoid_slope
        bias_grads = [None] * len(self.weights)
        for i in range(len(self.weights) - 1, -1, -1):  # g = d loss / d z_i
            bias_grads[i] = g.sum(axis=0)
            np.matmul(h[i].T, g, out=self.weight_grads[i])
            if i > 0:
                g = np.matmul(g, self.weights[i].T, out=grads[i])
                g *= masks[i]
        self._adam([p for pair in zip(self.weight_grads, bias_grads) for p in pair])
        return loss

    def _adam(self, grads):
        """Adam's step, the same operations in the same order as ``optim.Adam.step``."""
        b1, b2 = self.betas
        self.t += 1
        for p, g, m, v in zip(self.parameters(), grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            if self.t % optim.Adam.FLUSH_EVERY == 0:
                optim.flush_denormals_to_zero(m, v)

    def train_epoch(self, x, order, batch_size):
        """One pass over x in the given order; returns the mean training loss."""
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb = x[order[start : start + batch_size]]
            total += float(self.train_step(xb)) * len(xb)
        return total / len(x)

    def validation_loss(self, x, batch_size):
        """Mean L1 over x, forward passes only."""
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            out = self.forward(xb)
            scratch = self._arrays(len(xb))[3][0]
            np.subtract(out, xb, out=scratch)
            total += float(np.abs(scratch, out=scratch).sum() / np.float32(out.size)) * len(xb)
        return total / len(x)
