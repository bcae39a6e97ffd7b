"""Every op against numerical gradients (Hypothesis over shapes and values), plus values and ties.

Each property test builds float64 inputs, runs ``check_gradients`` (gradcheck, gradient shape and
dtype, inputs not mutated) and, where there is a plain NumPy formula, compares the forward values.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    arrays,
    away_from,
    away_from_zero,
    axes_for,
    broadcast_shapes,
    check_gradients,
    distinct_arrays,
    floats,
    grid_pair,
    host,
    leaf,
    positive,
    shapes,
)

import scratchnet.functional as F
from scratchnet import Tensor, backend, ops


def pair_of_broadcastable_arrays(b_elements=None):
    return broadcast_shapes().flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1], elements=b_elements)))


# ----- elementwise arithmetic -------------------------------------------------------------------

@given(pair_of_broadcastable_arrays())
def test_add(pair):
    a, b = pair
    check_gradients(lambda x, y: x + y, a, b)
    np.testing.assert_array_equal((Tensor(a) + Tensor(b)).numpy(), a + b)


@given(pair_of_broadcastable_arrays())
def test_sub(pair):
    a, b = pair
    check_gradients(lambda x, y: x - y, a, b)
    np.testing.assert_array_equal((Tensor(a) - Tensor(b)).numpy(), a - b)


@given(pair_of_broadcastable_arrays())
def test_mul(pair):
    a, b = pair
    check_gradients(lambda x, y: x * y, a, b)
    np.testing.assert_array_equal((Tensor(a) * Tensor(b)).numpy(), a * b)


@given(pair_of_broadcastable_arrays(b_elements=away_from_zero(0.5, 3.0)))
def test_div(pair):
    a, b = pair
    check_gradients(lambda x, y: x / y, a, b)
    np.testing.assert_allclose((Tensor(a) / Tensor(b)).numpy(), a / b)


@given(arrays(shapes()), st.sampled_from([2.0, 1.5, -1.0]), floats(-3, 3))
def test_scalar_operands_on_either_side(a, c, s):
    check_gradients(lambda x: c * x + s - x / c, a)
    check_gradients(lambda x: s - x, a)


@given(arrays(shapes()))
def test_neg(a):
    check_gradients(lambda x: -x, a)
    np.testing.assert_array_equal((-Tensor(a)).numpy(), -a)


@given(st.data(), st.sampled_from([2, 3, 0, 1, 2.0, 0.5, -1, -2.5, 1.5]))
def test_pow_scalar(data, p):
    integral = float(p).is_integer() and p >= 0
    elements = floats(-2, 2) if integral else positive(0.2, 3.0)
    a = data.draw(arrays(shapes(), elements=elements))
    check_gradients(lambda x: x ** p, a)
    np.testing.assert_allclose((Tensor(a) ** p).numpy(), a ** p)


@given(arrays(shapes()))
def test_exp(a):
    check_gradients(lambda x: x.exp(), a)
    np.testing.assert_allclose(F.exp(Tensor(a)).numpy(), np.exp(a))


@given(arrays(shapes(), elements=positive(0.1, 5.0)))
def test_log(a):
    check_gradients(lambda x: x.log(), a)
    np.testing.assert_allclose(F.log(Tensor(a)).numpy(), np.log(a))


@given(arrays(shapes(), elements=away_from_zero()))
def test_abs(a):
    check_gradients(lambda x: x.abs(), a)
    np.testing.assert_array_equal(F.abs(Tensor(a)).numpy(), np.abs(a))


def test_abs_gradient_at_zero_is_zero():
    x = leaf(np.array([-1.0, 0.0, 2.0]))
    x.abs().sum().backward()
    np.testing.assert_array_equal(host(x.grad), [-1.0, 0.0, 1.0])


@given(broadcast_shapes().flatmap(lambda s: grid_pair(s[0], s[1])))
def test_minimum(pair):
    a, b = pair
    check_gradients(F.minimum, a, b)
    np.testing.assert_array_equal(F.minimum(Tensor(a), Tensor(b)).numpy(), np.minimum(a, b))


def test_minimum_ties_go_to_the_first_input():
    a, b = leaf(np.array([1.0, 2.0])), leaf(np.array([1.0, 3.0]))
    F.minimum(a, b).sum().backward()
    assert host(a.grad)[0] == 1.0 and host(b.grad)[0] == 0.0


@given(broadcast_shapes(num_shapes=3).flatmap(
    lambda s: st.tuples(hnp.arrays(bool, s[0]), arrays(s[1]), arrays(s[2]))), st.booleans())
def test_where(triple, condition_as_tensor):
    condition, a, b = triple
    cond = Tensor(condition, dtype=bool) if condition_as_tensor else condition
    check_gradients(lambda x, y: F.where(cond, x, y), a, b, constants=())
    np.testing.assert_array_equal(F.where(cond, Tensor(a), Tensor(b)).numpy(), np.where(condition, a, b))


@given(arrays(shapes()), st.sampled_from([(-1.0, 1.5), (None, 0.5), (-0.5, None), (0.0, 0.0)]))
def test_clip(a, bounds):
    low, high = bounds
    a = away_from(a, [p for p in bounds if p is not None])
    check_gradients(lambda x: x.clip(low, high), a)
    np.testing.assert_array_equal(F.clip(Tensor(a), low, high).numpy(), np.clip(a, low, high))


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one"):
        Tensor([1.0]).clip()


# ----- activations ------------------------------------------------------------------------------

@given(arrays(shapes(), elements=away_from_zero()))
def test_relu(a):
    check_gradients(F.relu, a)
    np.testing.assert_array_equal(F.relu(Tensor(a)).numpy(), np.maximum(a, 0))


@given(arrays(shapes(), elements=floats(-5, 5)))
def test_sigmoid(a):
    check_gradients(F.sigmoid, a)
    np.testing.assert_allclose(F.sigmoid(Tensor(a)).numpy(), 1 / (1 + np.exp(-a)), rtol=1e-12)


@pytest.mark.parametrize("dtype, overflows_below", [(np.float32, -88.8), (np.float64, -709.8)])
def test_sigmoid_tails_are_accurate_and_quiet(dtype, overflows_below):
    """Far from 0 the sigmoid keeps its relative accuracy (the (1 + tanh(x/2)) / 2 form is 0 for
    float32 x <= -20, and wrong well before), saturates at exactly 0 and 1, and its exp(-x) overflow
    warns nobody."""
    x = np.array([overflows_below * 2, overflows_below, -80, -30, -17.5, -1, 0, 1, 17.5, 30, 1000], dtype=dtype)
    with np.errstate(over="ignore"):
        exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))  # the reference, rounded once at the end
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = F.sigmoid(Tensor(x)).numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, exact.astype(dtype), rtol=8 * np.finfo(dtype).eps,
                               atol=np.finfo(dtype).smallest_normal)
    assert got[0] == 0 and got[-1] == 1
    assert (got[2:5] > 0).all()  # -80, -30, -17.5: small, but not rounded to 0


@given(arrays(shapes(), elements=floats(-4, 4)))
def test_tanh(a):
    check_gradients(F.tanh, a)
    np.testing.assert_allclose(F.tanh(Tensor(a)).numpy(), np.tanh(a))


def _softmax_reference(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), st.integers(-len(s), len(s) - 1))))
def test_softmax(case):
    a, axis = case
    check_gradients(lambda x: F.softmax(x, axis), a)
    np.testing.assert_allclose(F.softmax(Tensor(a), axis).numpy(), _softmax_reference(a, axis), rtol=1e-12)


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), st.integers(-len(s), len(s) - 1))))
def test_log_softmax(case):
    a, axis = case
    check_gradients(lambda x: F.log_softmax(x, axis), a)
    np.testing.assert_allclose(F.log_softmax(Tensor(a), axis).numpy(), np.log(_softmax_reference(a, axis)),
                               rtol=1e-10, atol=1e-12)


def test_softmax_jacobian_is_full_not_diagonal():
    """The VJP must include the off-diagonal -y_i y_j terms (ML-From-Scratch #71)."""
    x = leaf(np.array([[0.1, 0.7, -0.4]]))
    g = np.array([[1.0, 0.0, 0.0]])
    F.softmax(x).backward(g)
    y = _softmax_reference(x.numpy(), -1)[0]
    jacobian = np.diag(y) - np.outer(y, y)
    np.testing.assert_allclose(host(x.grad)[0], g[0] @ jacobian, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.sigmoid, F.tanh])
def test_activations_stable_for_large_inputs(fn, dtype):
    x = Tensor(np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -999.0]], dtype=dtype), requires_grad=True)
    out = fn(x)
    assert out.dtype == dtype
    assert np.isfinite(out.numpy()).all()
    out.backward(np.ones(out.shape, dtype=dtype))
    assert np.isfinite(host(x.grad)).all()


def test_softmax_of_large_inputs_is_right():
    out = F.softmax(Tensor(np.array([1000.0, 1000.0, 0.0]))).numpy()
    np.testing.assert_allclose(out, [0.5, 0.5, 0.0], atol=1e-12)
    log_out = F.log_softmax(Tensor(np.array([1000.0, 0.0]))).numpy()
    np.testing.assert_allclose(log_out, [0.0, -1000.0])


# ----- matrix products --------------------------------------------------------------------------

MATMUL_CASES = {
    "2d@2d": lambda n, k, m, b: ((n, k), (k, m)),
    "1d@2d": lambda n, k, m, b: ((k,), (k, m)),
    "2d@1d": lambda n, k, m, b: ((n, k), (k,)),
    "1d@1d": lambda n, k, m, b: ((k,), (k,)),
    "batched@2d": lambda n, k, m, b: ((b, n, k), (k, m)),
    "2d@batched": lambda n, k, m, b: ((n, k), (b, k, m)),
    "batched@batched": lambda n, k, m, b: ((b, n, k), (b, k, m)),
    "broadcast batch": lambda n, k, m, b: ((1, n, k), (b, 1, k, m)),
    "1d@batched": lambda n, k, m, b: ((k,), (b, k, m)),
    "batched@1d": lambda n, k, m, b: ((b, n, k), (k,)),
}


@st.composite
def matmul_operands(draw):
    dims = [draw(st.integers(1, 3)) for _ in range(4)]
    shape_a, shape_b = MATMUL_CASES[draw(st.sampled_from(sorted(MATMUL_CASES)))](*dims)
    return draw(arrays(shape_a)), draw(arrays(shape_b))


@given(matmul_operands())
def test_matmul(operands):
    a, b = operands
    check_gradients(lambda x, y: x @ y, a, b)
    out = F.matmul(Tensor(a), Tensor(b))
    assert out.shape == (a @ b).shape
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", sorted(MATMUL_CASES))
def test_matmul_every_case(case):
    rng = np.random.default_rng(0)
    shape_a, shape_b = MATMUL_CASES[case](2, 3, 2, 2)
    check_gradients(lambda x, y: x @ y, rng.standard_normal(shape_a), rng.standard_normal(shape_b))


def test_matmul_with_one_constant_operand():
    a = leaf(np.ones((2, 3)))
    (a @ np.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(host(a.grad), np.tile(np.arange(3.0), (2, 1)))


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_linear(n, fan_in, fan_out, data):
    x, w, b = data.draw(arrays((n, fan_in))), data.draw(arrays((fan_in, fan_out))), data.draw(arrays((fan_out,)))
    check_gradients(F.linear, x, w, b)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w), Tensor(b)).numpy(), x @ w + b, rtol=1e-12, atol=1e-12)


def test_linear_without_a_bias():
    x, w = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    check_gradients(lambda x, w: F.linear(x, w, None), x, w)
    np.testing.assert_array_equal(F.linear(Tensor(x), Tensor(w)).numpy(), x @ w)


def test_linear_skips_gradients_nobody_needs():
    x = Tensor(np.ones((2, 3)))  # the first layer's input: no gradient wanted
    w, b = leaf(np.ones((3, 2))), leaf(np.zeros(2))
    F.linear(x, w, b).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(host(w.grad), np.full((3, 2), 2.0))
    np.testing.assert_array_equal(host(b.grad), [2.0, 2.0])


# ----- reductions -------------------------------------------------------------------------------

@given(shapes().flatmap(lambda s: st.tuples(arrays(s), axes_for(len(s)), st.booleans())))
def test_sum(case):
    a, axis, keepdims = case
    check_gradients(lambda x: x.sum(axis=axis, keepdims=keepdims), a)
    np.testing.assert_allclose(Tensor(a).sum(axis=axis, keepdims=keepdims).numpy(),
                               a.sum(axis=axis, keepdims=keepdims), rtol=1e-12, atol=1e-12)


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), axes_for(len(s)), st.booleans())))
def test_mean(case):
    a, axis, keepdims = case
    check_gradients(lambda x: x.mean(axis=axis, keepdims=keepdims), a)
    np.testing.assert_allclose(Tensor(a).mean(axis=axis, keepdims=keepdims).numpy(),
                               a.mean(axis=axis, keepdims=keepdims), rtol=1e-12, atol=1e-12)


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        Tensor(np.ones((2, 3))).sum(axis=2)


@given(shapes().flatmap(lambda s: st.tuples(distinct_arrays(s), axes_for(len(s), allow_tuple=False),
                                            st.booleans())))
def test_max(case):
    a, axis, keepdims = case
    check_gradients(lambda x: x.max(axis=axis, keepdims=keepdims), a)
    np.testing.assert_array_equal(Tensor(a).max(axis=axis, keepdims=keepdims).numpy(),
                                  a.max(axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_max_ties_send_the_whole_gradient_to_the_first_maximum(axis):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = leaf(a)
    x.max(axis=axis).sum().backward()
    expected = np.zeros_like(a)
    if axis is None:
        expected[0, 1] = 1.0
    elif axis == 0:
        expected[1, 0] = expected[0, 1] = expected[0, 2] = 1.0
    else:
        expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_array_equal(host(x.grad), expected)
    assert host(x.grad).sum() == x.max(axis=axis).size  # exactly one element per reduction


def test_max_of_all_equal_values():
    x = leaf(np.full((2, 2), 5.0))
    x.max().backward()
    np.testing.assert_array_equal(host(x.grad), [[1.0, 0.0], [0.0, 0.0]])


def test_max_rejects_tuple_axes():
    with pytest.raises(ValueError, match="one axis"):
        Tensor(np.ones((2, 2))).max(axis=(0, 1))


# ----- shape ops ---------------------------------------------------------------------------------

@st.composite
def reshape_case(draw):
    a = draw(arrays(shapes()))
    n = a.size
    target = draw(st.sampled_from([(-1,), (1, -1), (n, 1), a.shape[::-1], (-1, *a.shape[1:]), ()]))
    assume(target != () or n == 1)
    return a, target


@given(reshape_case())
def test_reshape(case):
    a, target = case
    check_gradients(lambda x: x.reshape(target), a)
    check_gradients(lambda x: x.reshape(*target), a)
    np.testing.assert_array_equal(Tensor(a).reshape(target).numpy(), a.reshape(target))


def test_reshape_error_names_the_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\) to \(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), st.permutations(range(len(s))), st.booleans(),
                                            st.booleans())))
def test_transpose(case):
    a, perm, negative, default = case
    axes = None if default else tuple(ax - len(perm) if negative else ax for ax in perm)
    check_gradients(lambda x: x.transpose(axes) if axes is not None else x.T, a)
    np.testing.assert_array_equal(Tensor(a).transpose(axes).numpy(), a.transpose(axes))


def test_transpose_negative_axes_gradient():
    x = leaf(np.arange(6.0).reshape(2, 3))
    g = np.arange(6.0).reshape(3, 2)
    x.transpose(-1, 0).backward(g)
    np.testing.assert_array_equal(host(x.grad), g.T)


@st.composite
def index_case(draw):
    a = draw(arrays(shapes()))
    kind = draw(st.sampled_from(["basic", "int", "mask", "int array", "int array 2-D", "mixed"]))
    if kind == "basic":  # slices, ints, ellipsis, newaxis, negative steps
        index = draw(hnp.basic_indices(a.shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int":
        index = draw(st.integers(-a.shape[0], a.shape[0] - 1))
    elif kind == "mask":
        index = draw(hnp.arrays(bool, a.shape))
    elif kind == "int array":  # repeats included: their gradients must add up
        index = np.array(draw(st.lists(st.integers(-a.shape[0], a.shape[0] - 1), min_size=1, max_size=5)))
    elif kind == "int array 2-D":
        index = draw(hnp.arrays(np.int64, (2, 2), elements=st.integers(0, a.shape[0] - 1)))
    else:  # a slice and an integer list together
        assume(a.ndim >= 2)
        index = (slice(None, None, -1), draw(st.lists(st.integers(0, a.shape[1] - 1), min_size=1, max_size=4)))
    return a, index


@given(index_case())
def test_getitem(case):
    a, index = case
    out = Tensor(a)[index]
    np.testing.assert_array_equal(out.numpy(), a[index])
    assume(out.size > 0)  # an empty selection has nothing to check
    check_gradients(lambda x: x[index], a)


def test_getitem_repeated_indices_add_up():
    x = leaf(np.arange(4.0))
    x[np.array([0, 2, 0, 0])].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(host(x.grad), [8.0, 0.0, 2.0, 0.0])


def test_getitem_with_a_list_and_a_tensor_index():
    x = leaf(np.arange(6.0).reshape(3, 2))
    x[[2, 2]].sum().backward()
    np.testing.assert_array_equal(host(x.grad), [[0, 0], [0, 0], [2, 2]])
    y = leaf(np.arange(3.0))
    y[Tensor(np.array([1, 1]), dtype=np.int64)].sum().backward()
    np.testing.assert_array_equal(host(y.grad), [0, 2, 0])


def test_getitem_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        Tensor(np.ones((2, 3)))[5]


# ----- convolution and pooling ------------------------------------------------------------------

@st.composite
def conv_case(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k, stride, padding = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1))
    h, w = draw(st.integers(max(1, k - 2 * padding), 5)), draw(st.integers(max(1, k - 2 * padding), 4))
    return (draw(arrays((n, c, h, w))), draw(arrays((f, c, k, k))), draw(arrays((f,)))), stride, padding


def conv_reference(x, w, b, stride, padding):
    """Direct loops, the definition of cross-correlation."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@given(conv_case())
def test_conv2d(case):
    (x, w, b), stride, padding = case
    check_gradients(lambda *t: F.conv2d(*t, stride=stride, padding=padding), x, w, b)
    out = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride=stride, padding=padding).numpy()
    np.testing.assert_allclose(out, conv_reference(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)


X4, W4, B1 = (np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), np.zeros(1))


@pytest.mark.parametrize("call, pattern", [
    (lambda: F.conv2d(Tensor(X4), Tensor(W4), Tensor(B1), stride=0), "conv2d: stride must be an integer >= 1, got 0"),
    (lambda: F.conv2d(Tensor(X4), Tensor(W4), Tensor(B1), stride=1.5), "conv2d: stride must be an integer >= 1"),
    (lambda: F.conv2d(Tensor(X4), Tensor(W4), Tensor(B1), padding=-1),
     "conv2d: padding must be an integer >= 0, got -1"),
    (lambda: F.conv2d(Tensor(X4), Tensor(W4), Tensor(np.zeros(3))),
     r"conv2d expects weight \(F, C, kh, kw\) and bias \(F,\) or None, got weight \(1, 1, 2, 2\), bias \(3,\)"),
    (lambda: F.conv2d(Tensor(X4), Tensor(np.ones((2, 2))), Tensor(B1)), r"weight \(F, C, kh, kw\) and bias \(F,\) or None, got weight \(2, 2\)"),
    (lambda: F.max_pool2d(Tensor(X4), 0), "max_pool2d: kernel_size must be an integer >= 1, got 0"),
    (lambda: F.max_pool2d(Tensor(X4), 2, 0), "max_pool2d: stride must be an integer >= 1, got 0"),
    (lambda: F.max_pool2d(Tensor(X4), True), "max_pool2d: kernel_size must be an integer >= 1, got True"),
    (lambda: F.linear(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 2))), Tensor(np.zeros(2))),
     r"linear got input of shape \(2, 3\), expected \(batch, 4\) for weight \(4, 2\)"),
    (lambda: F.linear(Tensor(np.ones(3)), Tensor(np.ones((3, 2))), Tensor(np.zeros(2))), r"got input of shape \(3,\)"),
    (lambda: F.linear(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2))), Tensor(np.zeros(3))), r"bias \(3,\)"),
    (lambda: F.linear(Tensor(np.ones((2, 3))), Tensor(np.ones(3)), Tensor(np.zeros(1))), r"weight \(3,\)"),
    (lambda: Tensor(np.ones((2, 3))).max(axis=5), "axis 5 is out of range for an array with 2 dimensions"),
    (lambda: Tensor(np.ones((2, 3))).max(axis=-3), "axis -3 is out of range"),
    (lambda: F.softmax(Tensor(np.ones((2, 3))), axis=5), "axis 5 is out of range for an array with 2 dimensions"),
    (lambda: F.log_softmax(Tensor(np.ones((2, 3))), axis=2), "axis 2 is out of range"),
    (lambda: Tensor(np.ones(3)).clip(1, -1), "clip needs low <= high, at least one of them a number, got low=1, high=-1"),
    (lambda: F.dropout(Tensor(np.ones(3)), "0.5"), r"dropout: p must be a number in \[0, 1\), got '0.5'"),
])
def test_bad_arguments_get_a_clear_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_linear_accepts_arrays_and_lists():
    out = F.linear(np.ones((2, 3)), Tensor(np.ones((3, 2))), [0.5, 0.5])
    np.testing.assert_allclose(out.numpy(), np.full((2, 2), 3.5))


def test_conv2d_shape_errors():
    w, b = Tensor(np.ones((2, 3, 3, 3))), Tensor(np.zeros(2))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        F.conv2d(Tensor(np.ones((1, 2, 5, 5))), w, b)
    with pytest.raises(ValueError, match="fits"):
        F.conv2d(Tensor(np.ones((1, 3, 2, 2))), w, b)


@st.composite
def pool_case(draw):
    k = draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))  # stride < k: overlapping windows
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(k, 5)), draw(st.integers(k, 5))
    return draw(distinct_arrays((n, c, h, w))), k, stride


def pool_reference(x, k, stride):
    stride = stride or k
    n, c, h, w = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k].max(axis=(2, 3))
    return out


@given(pool_case())
def test_max_pool2d(case):
    x, k, stride = case
    check_gradients(lambda t: F.max_pool2d(t, k, stride), x)
    np.testing.assert_array_equal(F.max_pool2d(Tensor(x), k, stride).numpy(), pool_reference(x, k, stride))


def test_max_pool2d_overlapping_windows_gradient_adds_up():
    x = leaf(np.array([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 2.0, 0.0]]]]))
    F.max_pool2d(x, 2, stride=1).sum().backward()  # the 9 wins all four windows
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(host(x.grad), expected)


def test_max_pool2d_ties_send_the_whole_gradient_to_the_first_in_row_major_order():
    window = np.array([[[[1.0, 5.0, 5.0, 0.0], [5.0, 5.0, 0.0, 0.0]]]])  # (1, 1, 2, 4): two 2x2 windows
    x = leaf(window)
    out = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(out.numpy(), [[[[5.0, 5.0]]]])
    out.backward(np.array([[[[1.0, 10.0]]]]))
    expected = np.zeros_like(window)
    expected[0, 0, 0, 1] = 1.0   # first window: 5 at (0, 1) beats the equal 5s at (1, 0) and (1, 1)
    expected[0, 0, 0, 2] = 10.0  # second window: the 5 at (0, 2) is its only maximum
    np.testing.assert_array_equal(host(x.grad), expected)


def test_max_pool2d_all_equal_window():
    x = leaf(np.zeros((1, 1, 3, 3)))
    F.max_pool2d(x, 3).backward(np.ones((1, 1, 1, 1)))
    assert host(x.grad)[0, 0, 0, 0] == 1.0 and host(x.grad).sum() == 1.0


def test_max_pool2d_shape_errors():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        F.max_pool2d(Tensor(np.ones((2, 4, 4))))
    with pytest.raises(ValueError, match="fits"):
        F.max_pool2d(Tensor(np.ones((1, 1, 1, 4))), 2)


# ----- dropout -----------------------------------------------------------------------------------

@given(arrays(shapes()), st.sampled_from([0.1, 0.5, 0.8]), st.integers(0, 2**16))
def test_dropout_gradient_is_its_mask(a, p, seed):
    def fn(x):
        backend.manual_seed(seed)  # the same mask on every call inside the check
        return F.dropout(x, p)

    (x,) = check_gradients(fn, a)
    mask = fn(Tensor(np.ones_like(a))).numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0 / (1.0 - p)}
    np.testing.assert_allclose(fn(Tensor(a)).numpy(), a * mask, rtol=1e-12)
    x.grad = None
    fn(x).sum().backward()
    np.testing.assert_array_equal(host(x.grad), mask)


def test_dropout_backward_with_ones_is_the_mask():
    backend.manual_seed(3)
    x = leaf(np.ones((50, 40)))
    y = F.dropout(x, 0.25)
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad), y.numpy())  # y = mask for x = 1
    kept = (host(x.grad) != 0).mean()
    assert 0.7 < kept < 0.8  # about 1 - p kept
    np.testing.assert_allclose(host(x.grad)[host(x.grad) != 0], 1 / 0.75)


def test_dropout_is_identity_when_not_training_or_p_zero():
    x = Tensor(np.ones((3, 3)), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_bad_probability(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        F.dropout(Tensor([1.0]), p)


def test_dropout_keeps_dtype():
    assert F.dropout(Tensor(np.ones(4, dtype=np.float32)), 0.5).dtype == np.float32
    assert F.dropout(Tensor(np.ones(4)), 0.5).dtype == np.float64


# ----- fused losses -----------------------------------------------------------------------------

def check_bce_with_logits(z, y):
    """Gradcheck the fused op at logits z against target y, and its value against sigmoid + log."""
    target = Tensor(y)
    check_gradients(lambda t: F.binary_cross_entropy_with_logits(t, target), z, constants=(target,))
    p = 1 / (1 + np.exp(-z))
    expected = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(Tensor(z), target).item(), expected, rtol=1e-9)


@given(shapes(max_dims=3).flatmap(lambda s: st.tuples(arrays(s, elements=floats(-6, 6)),
                                                      arrays(s, elements=floats(0, 1)))))
def test_bce_with_logits_op(case):
    check_bce_with_logits(*case)


@given(broadcast_shapes().flatmap(lambda s: st.tuples(arrays(s[0], elements=floats(-6, 6)),
                                                       arrays(s[1], elements=floats(0, 1)))))
def test_bce_with_logits_op_broadcasts_the_target(case):
    """The mean is over the broadcast shape, so the gradient divides by its size, not by z's."""
    check_bce_with_logits(*case)


def test_bce_with_logits_gradient_with_a_wider_target():
    z = leaf(np.array([[0.5], [-1.0]]))  # (2, 1) against a (2, 3) target: each logit is used 3 times
    y = Tensor(np.array([[0.0, 1.0, 0.5], [1.0, 1.0, 0.0]]))
    F.binary_cross_entropy_with_logits(z, y).backward()
    s = 1 / (1 + np.exp(-np.array([[0.5], [-1.0]])))
    np.testing.assert_allclose(host(z.grad), (s - y.numpy()).sum(axis=1, keepdims=True) / 6, rtol=1e-12)


@st.composite
def cross_entropy_case(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return draw(arrays((n, c), elements=floats(-5, 5))), labels


@given(cross_entropy_case())
def test_cross_entropy_op(case):
    z, labels = case
    check_gradients(lambda t: F.cross_entropy(t, labels), z, constants=(labels,))
    log_probs = np.log(_softmax_reference(z, 1))
    expected = -log_probs[np.arange(len(labels)), labels].mean()
    np.testing.assert_allclose(F.cross_entropy(Tensor(z), labels).item(), expected, rtol=1e-10)


def test_fused_losses_are_stable_for_huge_logits():
    z = Tensor(np.array([[1000.0, -1000.0]]), requires_grad=True)
    loss = F.cross_entropy(z, np.array([1]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(2000.0)
    loss.backward()
    np.testing.assert_allclose(host(z.grad), [[1.0, -1.0]])
    zb = Tensor(np.array([1000.0, -1000.0]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(zb, Tensor(np.array([0.0, 1.0])))
    assert loss.item() == pytest.approx(1000.0)
    loss.backward()
    np.testing.assert_allclose(host(zb.grad), [0.5, -0.5])


def test_every_op_is_tested_here():
    """A new op in scratchnet/ops must get a gradient test: this list has to be extended with it.
    (L1 is tested with the other fused ops in test_ops_fused.py.)"""
    tested = {"Abs", "Add", "BCEWithLogits", "Clip", "Conv2d", "CrossEntropy", "Div", "Dropout", "Exp", "GetItem",
              "L1", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool2d", "Mean", "Mul",
              "Neg", "PowScalar", "ReLU", "Reshape", "Sigmoid", "Sub", "Sum", "Tanh", "Transpose",
              "Where"}
    assert set(ops.__all__) == tested


# ----- the cases a new user tried (issue 15), each against PyTorch's behaviour ------------------------

def brute_force_index_gradient(a, index, g):
    """d(sum(g * a[index]))/da by its definition: for each output element, find the one input element
    it was copied from (by indexing a one-hot array of that element) and add its g there."""
    grad = np.zeros_like(a)
    for position in np.ndindex(*a.shape):
        one_hot = np.zeros_like(a)
        one_hot[position] = 1
        grad[position] = (one_hot[index] * g).sum()
    return grad


@pytest.mark.parametrize("index", [
    1, -1, (0, 1), slice(None, None, -1), (slice(None), 1), [0, 0, 2], ((0, 0), slice(None)), (0, 0),
    ([1, 1], [0, 0]), ((2, 0, 2), (1, 1, 1)), np.array([[0, 1], [1, 1]]), np.array([True, False, True]),
    (Ellipsis, [1, 1]), (slice(0, 2), (1, 1, 0)),
], ids=repr)
def test_getitem_gradient_is_the_brute_force_one(index):
    a = np.arange(6.0).reshape(3, 2)
    x = leaf(a)
    out = x[index]
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_allclose(host(x.grad), brute_force_index_gradient(a, index, g), rtol=0, atol=1e-12)


def test_a_repeated_index_written_as_a_tuple_counts_twice():
    x = leaf(np.ones((3, 2)))
    x[(0, 0), :].sum().backward()  # PyTorch: row 0 gets 2
    np.testing.assert_array_equal(host(x.grad), [[2, 2], [0, 0], [0, 0]])


def test_a_0d_tensor_takes_axis_0_and_minus_1():
    x = leaf(np.array(1.5))
    for out, value in ((x.sum(0), 1.5), (x.sum(-1), 1.5), (x.mean(0), 1.5), (x.max(0), 1.5),
                       (x.softmax(), 1.0), (x.log_softmax(), 0.0), (F.softmax(x, 0), 1.0)):
        assert out.shape == () and host(out.data) == value
    check_gradients(lambda t: t.sum(0) * 2 + t.log_softmax() + t.max(-1), np.array(0.3))
    with pytest.raises(ValueError, match="axis 1 is out of range for an array with 0 dimensions"):
        x.sum(1)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul cannot multiply shapes \(2, 3\) and \(4, 5\): .*last axis"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"shapes \(\) and \(3,\)"):
        Tensor(np.array(1.0)) @ Tensor(np.ones(3))


@pytest.mark.parametrize("axes", [(0,), (0, 0), (0, 2), (1, 5), (0, 1, 2)])
def test_transpose_error_names_the_axes(axes):
    with pytest.raises(ValueError, match=r"transpose of a tensor of shape \(2, 3\) needs a permutation of its "
                                         r"axes 0\.\.1 .*got " + re.escape(str(axes))):
        Tensor(np.ones((2, 3))).transpose(*axes)


def test_conv2d_bias_is_optional():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    check_gradients(lambda x, w: F.conv2d(x, w, None, padding=1), x, w)
    with_zero_bias = F.conv2d(Tensor(x), Tensor(w), Tensor(np.zeros(4)), padding=1)
    np.testing.assert_allclose(F.conv2d(Tensor(x), Tensor(w), padding=1).numpy(), with_zero_bias.numpy(), atol=1e-12)
