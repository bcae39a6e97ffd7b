"""Loss functions, called as ``loss(prediction, target)`` and averaged over every element (or, for
cross-entropy, over the batch). The target may be a Tensor or an array; it gets no gradient."""

from __future__ import annotations

from . import functional as F
from .ops.loss import L1
from .tensor import Tensor


def _target(target, prediction, loss_name):
    data = target.data if isinstance(target, Tensor) else target
    target = Tensor(data, dtype=prediction.dtype)
    if target.shape != prediction.shape:
        raise ValueError(f"{loss_name}: prediction has shape {prediction.shape} but target has shape "
                         f"{target.shape}; they must match")
    return target


def _prediction(prediction, loss_name):
    if not isinstance(prediction, Tensor):
        raise TypeError(f"{loss_name}: prediction must be a Tensor (the model's output), got {type(prediction).__name__}")
    return prediction


class Loss:
    name = "Loss"

    def __call__(self, prediction, target):
        prediction = _prediction(prediction, self.name)
        return self.forward(prediction, target)

    def __repr__(self):
        return f"{type(self).__name__}()"


class L1Loss(Loss):
    """mean |prediction - target|  (the assignment's autoencoder loss, Keras' 'mae')."""

    name = "L1Loss"

    def forward(self, prediction, target):
        return L1.apply(prediction, _target(target, prediction, self.name))  # mean |p - y|, one fused op


class MSELoss(Loss):
    """mean (prediction - target)^2."""

    name = "MSELoss"

    def forward(self, prediction, target):
        diff = prediction - _target(target, prediction, self.name)
        return (diff * diff).mean()


class BCELoss(Loss):
    """Binary cross-entropy on probabilities p in [0, 1] against targets y in [0, 1]:

        mean( -y log p - (1 - y) log(1 - p) )

    p is clipped to [eps, 1 - eps] first, so log(0) is never taken (an exactly 0 or 1 prediction
    gives a large but finite loss). Prefer ``BCEWithLogitsLoss`` on logits: it needs no clipping.
    """

    name = "BCELoss"

    def __init__(self, eps: float = 1e-7):
        self.eps = eps

    def forward(self, prediction, target):
        y = _target(target, prediction, self.name)
        p = prediction.clip(self.eps, 1.0 - self.eps)
        return -(y * p.log() + (1.0 - y) * (1.0 - p).log()).mean()


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z (sigmoid folded in, stable for any z). See ops/loss.py."""

    name = "BCEWithLogitsLoss"

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, _target(target, logits, self.name))


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy: logits (N, C) against integer class labels (N,) in [0, C)."""

    name = "CrossEntropyLoss"

    def forward(self, logits, labels):
        return F._cross_entropy(logits, labels, self.name)  # F.cross_entropy, its errors naming this loss
