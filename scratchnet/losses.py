"""Loss functions, called as ``loss(prediction, target)`` and averaged over every element (or, for
cross-entropy, over the batch). The target may be a Tensor, an array or a list; it gets no gradient."""

import math

from . import backend
from . import functional as F
from .checks import check_within_0_1
from .ops.loss import L1
from .tensor import Tensor


class Loss:
    """``loss(prediction, target)`` checks that the prediction is a Tensor, then calls ``forward``."""

    name = property(lambda self: type(self).__name__)

    def __call__(self, prediction, target):
        if not isinstance(prediction, Tensor):
            raise TypeError(f"{self.name}: prediction must be a Tensor (the model's output), "
                            f"got {type(prediction).__name__}")
        return self.forward(prediction, target)

    def target(self, target, prediction):
        """The target as a Tensor of the prediction's dtype, and of its shape (never broadcast)."""
        target = Tensor(target, dtype=prediction.dtype)
        if target.shape != prediction.shape:
            raise ValueError(f"{self.name}: prediction has shape {prediction.shape} but target has shape "
                             f"{target.shape}; they must match")
        return target

    def __repr__(self): return f"{self.name}()"


class L1Loss(Loss):
    """mean |prediction - target|  (Keras' 'mae')."""
    def forward(self, prediction, target): return L1.apply(prediction, self.target(target, prediction))


class MSELoss(Loss):
    """mean (prediction - target)^2."""
    def forward(self, prediction, target):
        diff = prediction - self.target(target, prediction)
        return (diff * diff).mean()


class BCELoss(Loss):
    """mean( -y log p - (1 - y) log(1 - p) ) for probabilities p and targets y in [0, 1] (logits belong to
    ``BCEWithLogitsLoss``). As in PyTorch, log is floored at -100 (float32: at -87.3, the log of its
    smallest normal number, so 1/p stays finite) for p = 0 or 1."""
    def forward(self, prediction, target):
        check_within_0_1(self.name, "predictions", prediction.data, "; BCELoss takes probabilities "
                         "(a sigmoid's output), BCEWithLogitsLoss takes logits")
        y = self.target(target, prediction)
        check_within_0_1(self.name, "targets", y.data)
        floor = max(math.exp(-100), float(backend.np.finfo(prediction.dtype).tiny))
        log_p, log_1_minus_p = prediction.clip(floor, None).log(), (1.0 - prediction).clip(floor, None).log()
        return -(y * log_p + (1.0 - y) * log_1_minus_p).mean()


class BCEWithLogitsLoss(Loss):
    """BCELoss of sigmoid(z) for logits z, computed stably for any z (ops/loss.py); targets in [0, 1]."""
    def forward(self, logits, target):
        y = self.target(target, logits)
        check_within_0_1(self.name, "targets", y.data)
        return F.binary_cross_entropy_with_logits(logits, y)


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy: logits (N, C) against integer class labels (N,) in [0, C)."""
    def forward(self, logits, labels): return F.cross_entropy(logits, labels)
