"""What counts as a number or an integer argument, once for the whole library.

Python numbers, NumPy scalars (``np.int64(2)``: what indexing an array gives) and 0-d arrays are
accepted; a bool is not (``True`` is an int to Python, but never a size or a rate anyone meant).
The checks raise one-line errors naming the caller and what it accepts.
"""

from __future__ import annotations

import numbers


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
