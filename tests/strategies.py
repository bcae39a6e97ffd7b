"""Shared Hypothesis strategies (after minitorch's ``tensor_strategies``) and the gradient-check helper.

Shapes are small (1-4 dims of size 1-3), values bounded and finite, float64 throughout (gradient
checks need it), and C- or Fortran-ordered so non-contiguous layouts get exercised too. The
strategies that feed ops with kinks keep the values away from them:

- ``away_from_zero``: |x| >= 0.1, for ReLU and abs;
- ``distinct_arrays``: a shuffled linspace (no ties), for max, max pooling;
- ``probabilities``: inside [1e-3, 1 - 1e-3], for BCE;
- ``grid_pair``: two arrays that never come within 0.1 of each other, for maximum/minimum;
- ``away_from``: nudged off given points (clip bounds).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchnet as sn

MAX_DIMS, MAX_SIDE = 4, 3


def shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE):
    """Small array shapes: 1-4 dimensions of size 1-3 by default (batch size 1 included)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def broadcast_shapes(num_shapes=2, min_dims=0, max_dims=3):
    """``num_shapes`` mutually broadcastable shapes, e.g. (3, 1) and (4,) -> input_shapes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                             min_side=1, max_side=MAX_SIDE).map(lambda s: s.input_shapes)


@st.composite
def arrays(draw, shape, elements=None):
    """A float64 array of ``shape``; C- or Fortran-ordered (the latter is non-contiguous in C terms)."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    values = draw(hnp.arrays(np.float64, shape, elements=elements if elements is not None else floats()))
    return np.asfortranarray(values) if draw(st.booleans()) else values


def away_from_zero(min_abs=0.1, max_abs=3.0):
    """Floats with min_abs <= |x| <= max_abs: away from the kink of ReLU and abs."""
    return st.tuples(st.sampled_from([-1.0, 1.0]), floats(min_abs, max_abs)).map(lambda t: t[0] * t[1])


def probabilities(low=1e-3, high=1 - 1e-3):
    return floats(low, high)


def positive(low=0.1, high=3.0):
    return floats(low, high)


@st.composite
def distinct_arrays(draw, shape):
    """A shuffled linspace of ``shape``: every value distinct (gaps >= 0.1), so a max never ties."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    n = int(np.prod(shape, dtype=np.int64))
    order = draw(st.permutations(range(n)))
    scale = draw(st.sampled_from([1.0, -1.0, 0.5]))
    values = (np.asarray(order, dtype=np.float64) - n / 2) * (0.2 * scale) + draw(floats(-1, 1))
    return values.reshape(shape)


@st.composite
def grid_pair(draw, shape_a, shape_b):
    """Two arrays whose values are never within 0.1 of each other (integers vs half-integers, with
    jitter < 0.2), so elementwise maximum/minimum never ties, even after broadcasting."""
    def grid(shape, offset):
        whole = draw(hnp.arrays(np.float64, shape, elements=st.integers(-3, 3).map(float)))
        jitter = draw(hnp.arrays(np.float64, shape, elements=floats(-0.2, 0.2)))
        return whole + jitter + offset
    return grid(shape_a, 0.0), grid(shape_b, 0.5)


def away_from(values, points, margin=0.05):
    """``values`` with anything within ``margin`` of one of ``points`` pushed 2*margin past it."""
    values = np.array(values, dtype=np.float64)
    for p in points:
        near = np.abs(values - p) < margin
        values[near] = p + 2 * margin * np.where(values[near] >= p, 1.0, -1.0)
    return values


def axes_for(ndim, allow_tuple=True):
    """An axis argument for a reduction over ``ndim`` dims: None, an int (maybe negative) or a tuple."""
    options = [st.none(), st.integers(-ndim, ndim - 1)]
    if allow_tuple and ndim:
        options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    return st.one_of(*options)


# ----- tensors and the gradient check -------------------------------------------------------------

def host(array):
    """A backend array (a gradient, a comparison) as a NumPy array, so NumPy's asserts can read it:
    the suite also runs on the CuPy code path (``make test-hostguard``), where that is never implicit."""
    return sn.to_numpy(array)


def leaf(array):
    """A float64 Tensor that requires grad, on the array given (its layout kept)."""
    return sn.Tensor(array, requires_grad=True, dtype=np.float64)


def check_gradients(fn, *arrays, constants=(), **gradcheck_kwargs):
    """Gradcheck ``fn(*tensors)`` at ``arrays`` and assert more than values.

    Each array becomes a float64 leaf that requires grad. Asserts that the check passes (gradcheck
    itself checks that every gradient has its input's shape and dtype), and that neither the arrays
    nor ``constants`` (the targets, labels or masks ``fn`` closes over) were modified by forward,
    backward or the check. Returns the leaves.
    """
    leaves = [leaf(a) for a in arrays]
    before = [np.array(a, copy=True) for a in arrays]
    constants_before = [np.array(sn.to_numpy(c), copy=True) for c in constants]
    assert sn.gradcheck(fn, leaves, **gradcheck_kwargs)
    for t, original in zip(leaves, before):
        np.testing.assert_array_equal(t.numpy(), original)
    for c, original in zip(constants, constants_before):
        np.testing.assert_array_equal(sn.to_numpy(c), original)
    return leaves
