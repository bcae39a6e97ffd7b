"""Layers and containers as PyTorch has them (``Module``, ``Sequential``), with Keras' ``summary()``."""

from . import init
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh
from .module import Module, Parameter, Sequential

__all__ = [
    "Conv2D", "Dense", "Dropout", "Flatten", "MaxPool2D", "Module", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "init",
]
