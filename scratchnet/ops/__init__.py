"""Every differentiable operation, one family per file, each a ``Function`` with forward and backward."""

from .activation import LogSoftmax, ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .dropout import Dropout
from .elementwise import Abs, Add, Clip, Div, Exp, Log, Mul, Neg, PowScalar, Sub, Where
from .loss import L1, BCEWithLogits, CrossEntropy
from .matmul import MatMul
from .pool import MaxPool2d
from .reduce import Max, Mean, Sum
from .shape import GetItem, Reshape, Transpose

__all__ = [
    "Abs", "Add", "BCEWithLogits", "Clip", "Conv2d", "CrossEntropy", "Div", "Dropout", "Exp", "GetItem",
    "L1", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool2d", "Mean", "Mul", "Neg", "PowScalar", "ReLU",
    "Reshape", "Sigmoid", "Sub", "Sum", "Tanh", "Transpose", "Where",
]
