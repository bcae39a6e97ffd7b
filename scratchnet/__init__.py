"""scratchnet: a small deep-learning library written from scratch on NumPy (and CuPy on a GPU).

Read it in this order: backend -> tensor (autograd) -> ops -> functional -> nn -> losses -> optim.
"""

from . import backend, functional, losses, nn, optim
from .backend import manual_seed, to_numpy
from .gradcheck import GradcheckError, gradcheck
from .tensor import Function, Tensor, is_grad_enabled, no_grad

__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Tensor", "backend", "functional", "gradcheck", "is_grad_enabled",
    "losses", "manual_seed", "nn", "no_grad", "optim", "to_numpy",
]
