"""``cupy.random`` in the hostguard stand-in: ``default_rng`` and a ``Generator`` whose draws are
device arrays (0-d when ``size`` is None, as CuPy's). The stream is NumPy's, so a seeded run draws the
same numbers as on the NumPy backend (real CuPy's streams differ from NumPy's)."""

from __future__ import annotations

import numpy

from ._core import HINT, wrap


class Generator:
    def __init__(self, numpy_generator):
        self._g = numpy_generator

    def random(self, size=None, dtype=numpy.float64, out=None):
        result = wrap(self._g.random(size, dtype=dtype))
        if out is not None:
            out[...] = result
            return out
        return result

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        result = wrap(self._g.standard_normal(size, dtype=dtype))
        if out is not None:
            out[...] = result
            return out
        return result

    def uniform(self, low=0.0, high=1.0, size=None, dtype=numpy.float64):
        return wrap(numpy.asarray(self._g.uniform(low, high, size)).astype(dtype, copy=False))

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        return wrap(numpy.asarray(self._g.integers(int(low), None if high is None else int(high), size,
                                                   dtype=dtype, endpoint=endpoint)))

    def __getattr__(self, name):
        raise AttributeError(f"hostguard's cupy.random.Generator has no {name!r}: if scratchnet now needs it, "
                             "check that real cupy.random.Generator has it and add it to "
                             "tests/hostguard/cupy/random.py" + HINT)


def default_rng(seed=None):
    if not (seed is None or isinstance(seed, int | numpy.integer)):
        raise TypeError(f"hostguard default_rng takes an integer seed, got {type(seed).__name__}")
    return Generator(numpy.random.default_rng(seed))


def __getattr__(name):
    raise AttributeError(f"module 'cupy.random' (hostguard stand-in) has no attribute {name!r}: add it to "
                         "tests/hostguard/cupy/random.py if real CuPy has it" + HINT)
