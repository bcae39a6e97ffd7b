"""The functional API: thin functions over the ops in ``scratchnet/ops`` (like ``torch.nn.functional``)."""

from . import backend, ops
from .checks import is_real
from .tensor import Tensor


def relu(x):
    return ops.ReLU.apply(x)


def sigmoid(x):
    return ops.Sigmoid.apply(x)


def tanh(x):
    return ops.Tanh.apply(x)


def softmax(x, axis=-1):
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.LogSoftmax.apply(x, axis=axis)


def exp(x):
    return ops.Exp.apply(x)


def log(x):
    return ops.Log.apply(x)


def abs(x):  # noqa: A001  (mirrors numpy.abs)
    return ops.Abs.apply(x)


def clip(x, low=None, high=None):
    return ops.Clip.apply(x, low=low, high=high)


def maximum(a, b):
    return ops.Maximum.apply(a, b)


def minimum(a, b):
    return ops.Minimum.apply(a, b)


def where(condition, a, b):
    """``a`` where ``condition`` (a boolean array or Tensor, no gradient) holds, else ``b``."""
    condition = backend.xp.asarray(condition.data if isinstance(condition, Tensor) else condition)  # host -> device
    return ops.Where.apply(a, b, condition=condition)


def matmul(a, b):
    return ops.MatMul.apply(a, b)


LINEAR_ACTIVATIONS = ops.Linear.ACTIVATIONS  #: what ``linear`` and ``nn.Dense`` accept as ``activation``


def linear(x, weight, bias, activation=None):
    """act(x (N, in) @ weight (in, out) + bias (out,)) -> (N, out), as one fused op; ``activation``
    None, ``"relu"`` or ``"sigmoid"``. See ops/matmul.py."""
    x_shape, w_shape, b_shape = _shape(x), _shape(weight), _shape(bias)
    if len(w_shape) != 2 or len(x_shape) != 2 or x_shape[1] != w_shape[0] or b_shape != w_shape[1:]:
        raise ValueError(f"linear expects x (N, in), weight (in, out) and bias (out,), got x {x_shape}, "
                         f"weight {w_shape} and bias {b_shape}")
    return ops.Linear.apply(x, weight, bias, activation=activation)


def _shape(x):
    return x.shape if hasattr(x, "shape") else backend.np.shape(x)  # a Tensor or array, or a list


def conv2d(x, weight, bias, stride=1, padding=0):
    """x (N, C, H, W), weight (F, C, kh, kw), bias (F,) -> (N, F, Ho, Wo); stride >= 1, padding >= 0.
    See ops/conv.py."""
    return ops.Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def max_pool2d(x, kernel_size=2, stride=None):
    """x (N, C, H, W) -> (N, C, Ho, Wo), max over kernel_size windows. See ops/pool.py."""
    return ops.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride)


def dropout(x, p=0.5, training=True):
    """Inverted dropout; the identity when not training or when p == 0."""
    if not (is_real(p) and 0.0 <= p < 1.0):
        raise ValueError(f"dropout probability must be a number in [0, 1), got {p!r}")
    if not training or p == 0.0:
        return x
    return ops.Dropout.apply(x, p=p)


def flatten(x, start_dim=1):
    return x.flatten(start_dim)


def binary_cross_entropy_with_logits(logits, target):
    return ops.BCEWithLogits.apply(logits, target)


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy of logits (N, C) against integer class labels (N,) in [0, C).

    The labels are checked first: unchecked, a label of -1 would silently pick the last class.
    """
    return _cross_entropy(logits, labels, "cross_entropy")


def _cross_entropy(logits, labels, caller):
    """``cross_entropy``, its errors naming ``caller`` (``losses.CrossEntropyLoss`` passes its name)."""
    labels = labels.data if isinstance(labels, Tensor) else backend.xp.asarray(labels)  # host -> device
    if logits.ndim != 2:
        raise ValueError(f"{caller}: logits must be (batch, classes), got shape {logits.shape}")
    if labels.shape != (logits.shape[0],) or labels.dtype.kind not in "iu":
        hint = ("; make the labels an integer array, e.g. Tensor(labels, dtype=np.int64) or a NumPy int array"
                if labels.dtype.kind not in "iu" else "")
        raise ValueError(f"{caller}: labels must be integers of shape ({logits.shape[0]},), "
                         f"got {labels.dtype} of shape {labels.shape}{hint}")
    if labels.size:
        low, high = int(labels.min()), int(labels.max())  # one read each (a device sync on CuPy)
        if low < 0 or high >= logits.shape[1]:
            raise ValueError(f"{caller}: labels must lie in [0, {logits.shape[1]}), "
                             f"got values from {low} to {high}")
    return ops.CrossEntropy.apply(logits, labels=labels)
