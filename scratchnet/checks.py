"""What counts as a number or an integer argument, once for the whole library.

Python numbers, NumPy scalars (``np.int64(2)``: what indexing an array gives) and 0-d arrays are
accepted; a bool is not (``True`` is an int to Python, but never a size or a rate anyone meant).
The checks raise one-line errors naming the caller and what it accepts.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

from . import backend


def is_integer(value) -> bool:
    """A Python or NumPy integer (or a 0-d integer array), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):  # NumPy registers its integer scalars as Integral
        return True
    return getattr(value, "ndim", None) == 0 and value.dtype.kind in "iu"


def is_real(value) -> bool:
    """A Python or NumPy real number (or a 0-d numeric array), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    return getattr(value, "ndim", None) == 0 and value.dtype.kind in "iuf"


def check_integer(where: str, name: str, value, low: int) -> int:
    """``value`` as an int, or a ValueError if it is not an integer >= ``low``."""
    if not is_integer(value) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_real(where: str, name: str, value, accepted: str, ok) -> float:
    """``value`` as a float, or a ValueError saying it must be ``accepted`` unless it is a real ``ok(value)``."""
    if not (is_real(value) and ok(value)):
        raise ValueError(f"{where}: {name} must be {accepted}, got {value!r}")
    return float(value)


def normalize_axis(axis, ndim: int) -> tuple:
    """``axis`` (an int, a tuple of ints or None for all) as a sorted tuple of axes in [0, ndim).
    A 0-d array accepts axis 0 and -1 and has no axes to reduce, as in PyTorch."""
    axes = tuple(range(ndim)) if axis is None else (axis,) if is_integer(axis) else axis
    if not isinstance(axes, tuple | list):
        raise ValueError(f"axis must be an integer, a tuple of integers or None, got {axis!r}")
    for a in axes:
        if not is_integer(a):
            raise ValueError(f"an axis must be an integer, got {a!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array with {ndim} dimensions")
    return tuple(sorted(int(a) % ndim for a in axes)) if ndim else ()


def check_within_0_1(where: str, what: str, data, hint: str = "") -> None:
    """A ValueError naming the range of ``data`` (an array) if an entry lies outside [0, 1] or is NaN."""
    if data.size and not (0 <= data.min() and data.max() <= 1):
        raise ValueError(f"{where}: {what} must be in [0, 1], got values from {float(data.min()):g} "
                         f"to {float(data.max()):g}{hint}")


def check_labels(where: str, logits_shape: tuple, labels) -> None:
    """Class labels (N,) for logits (N, C) must be integers in [0, C): unchecked, a label of -1 would
    silently pick the last class."""
    if len(logits_shape) != 2:
        raise ValueError(f"{where}: logits must be (batch, classes), got shape {logits_shape}")
    if labels.shape != logits_shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(f"{where}: labels must be integers of shape ({logits_shape[0]},), got {labels.dtype} "
                         f"of shape {labels.shape} (e.g. a NumPy int array)")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= logits_shape[1]):
        raise ValueError(f"{where}: labels must lie in [0, {logits_shape[1]}), "
                         f"got values from {int(labels.min())} to {int(labels.max())}")


def check_parameters(where: str, params) -> list:
    """``params`` as a list of distinct tensors that require grad, or an error saying what it got."""
    if hasattr(params, "parameters"):
        raise TypeError(f"{where} got a {type(params).__name__}, a model: pass model.parameters()")
    if hasattr(params, "requires_grad") or not hasattr(params, "__iter__"):
        raise TypeError(f"{where} takes a list of Tensors that require grad, got a {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{where} got an empty parameter list")
    ids = [id(p) for p in params]
    for i, p in enumerate(params):
        if getattr(p, "requires_grad", None) is not True:
            got = "a Tensor with requires_grad=False" if hasattr(p, "requires_grad") else f"a {type(p).__name__}"
            raise TypeError(f"{where}: parameter {i} is {got}; an optimizer takes Tensors that require grad")
        if ids.index(id(p)) < i:  # it would be updated twice per step
            raise ValueError(f"{where}: parameter {i} is parameter {ids.index(id(p))} again; list each once")
    return params


def read_state(where: str, state, expected: dict, optional=frozenset()) -> dict:
    """The entries of ``state`` (a dict as a ``state_dict()`` returns) as backend copies of the
    (shape, dtype) that ``expected`` gives each name, all checked before the caller changes anything.
    The names in ``optional`` may be absent."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{where} takes a dict of name -> array as state_dict() returns, got a {type(state).__name__}")
    missing, unexpected = sorted(expected.keys() - state.keys() - optional), sorted(state.keys() - expected.keys())
    if missing or unexpected:
        raise ValueError(f"{where}: missing {missing}, unexpected {unexpected[:5]}")
    values = {}
    for name, value in state.items():
        shape, dtype = expected[name]
        try:
            values[name] = backend.xp.array(value, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {name} cannot be read as {dtype} numbers: {error}") from None
        if values[name].shape != shape:
            raise ValueError(f"{where}: {name} has shape {values[name].shape}, expected {shape}")
    return values
