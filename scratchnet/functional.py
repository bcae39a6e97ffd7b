"""The functional API: thin functions over the ops in ``scratchnet/ops`` (like ``torch.nn.functional``)."""

from . import backend, ops
from .checks import check_labels, check_real
from .tensor import Tensor


def relu(x): return ops.ReLU.apply(x)
def sigmoid(x): return ops.Sigmoid.apply(x)
def tanh(x): return ops.Tanh.apply(x)
def softmax(x, axis=-1): return log_softmax(x, axis).exp()  # exp(x - log sum exp(x))
def log_softmax(x, axis=-1): return ops.LogSoftmax.apply(x, axis=axis)
def exp(x): return ops.Exp.apply(x)
def log(x): return ops.Log.apply(x)
def abs(x): return ops.Abs.apply(x)  # noqa: A001  (mirrors numpy.abs)
def clip(x, low=None, high=None): return ops.Clip.apply(x, low=low, high=high)
def matmul(a, b): return ops.MatMul.apply(a, b)


def where(condition, a, b):
    """``a`` where ``condition`` (a boolean array or Tensor, no gradient) holds, else ``b``."""
    return ops.Where.apply(a, b, condition=_data(condition).astype(bool, copy=False))  # host -> device


def minimum(a, b): return where(_data(a) <= _data(b), a, b)  # on a tie the gradient goes to a
def _data(x): return x.data if isinstance(x, Tensor) else backend.xp.asarray(x)


def linear(x, weight, bias=None):
    """x (N, in) @ weight (in, out) + bias (out,) -> (N, out); ``bias`` may be None."""
    x_shape, w_shape, b_shape = (t.shape if hasattr(t, "shape") else backend.np.shape(t) for t in (x, weight, bias))
    if len(w_shape) != 2 or bias is not None and b_shape != w_shape[1:]:
        raise ValueError(f"linear expects weight (in, out) and bias (out,) or None, got weight {w_shape} and bias "
                         f"{None if bias is None else b_shape}")
    if len(x_shape) != 2 or x_shape[1] != w_shape[0]:
        raise ValueError(f"linear got input of shape {x_shape}, expected (batch, {w_shape[0]}) for weight {w_shape}")
    return x @ weight if bias is None else x @ weight + bias


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """x (N, C, H, W), weight (F, C, kh, kw), bias (F,) or None -> (N, F, Ho, Wo). See ops/conv.py."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ops.Conv2d.apply(*inputs, stride=stride, padding=padding)


def max_pool2d(x, kernel_size=2, stride=None):
    """x (N, C, H, W) -> (N, C, Ho, Wo), the max of each kernel_size window. See ops/pool.py."""
    return ops.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride)


def dropout(x, p=0.5, training=True):
    """Inverted dropout (see ops/dropout.py); the identity when not training or when p == 0."""
    p = check_real("dropout", "p", p, "a number in [0, 1)", lambda p: 0 <= p < 1)
    return ops.Dropout.apply(x, p=p) if training and p > 0 else x


def binary_cross_entropy_with_logits(logits, target): return ops.BCEWithLogits.apply(logits, target)


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy of logits (N, C) against integer class labels (N,) in [0, C)."""
    labels = _data(labels)  # host -> device
    check_labels("cross_entropy", logits.shape, labels)
    return ops.CrossEntropy.apply(logits, labels=labels)
