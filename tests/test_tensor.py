"""The autograd engine: Tensor construction and dtypes, backward, accumulation, broadcasting, no_grad."""

import gc
import sys

import numpy as np
import pytest
from hypothesis import given
from strategies import arrays, broadcast_shapes, check_gradients, host

import scratchnet as sn
from scratchnet import Tensor, backend, no_grad
from scratchnet.tensor import unbroadcast

# ----- construction and dtypes -------------------------------------------------------------------

@pytest.mark.parametrize("data", [[1, 2, 3], [1.0, 2.0], 3, 2.5, True, np.arange(4), np.arange(4, dtype=np.uint8)])
def test_default_dtype_is_float32(data):
    assert Tensor(data).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_floating_arrays_keep_their_dtype(dtype):
    assert Tensor(np.ones(3, dtype=dtype)).dtype == dtype


def test_explicit_dtype():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_float64_stays_float64_through_ops():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = (x * 2 + 1).exp().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize("op", [
    lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: x + 1, lambda x: 1 - x, lambda x: x / 3.0,
    lambda x: 3.0 / x, lambda x: x ** 2, lambda x: x ** 0.5, lambda x: -x, lambda x: x * np.float64(2.0),
    lambda x: np.float64(2.0) * x,
])
def test_scalar_ops_keep_float32(op):
    x = Tensor([1.0, 2.0, 4.0], requires_grad=True)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("op", [
    lambda a, t: a * t, lambda a, t: a + t, lambda a, t: a - t, lambda a, t: a / t, lambda a, t: a @ t,
])
def test_ndarray_on_the_left_returns_a_tensor(op):
    a = np.arange(1.0, 5.0).reshape(2, 2)
    t = Tensor(np.full((2, 2), 2.0), requires_grad=True)
    out = op(a, t)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.numpy(), op(a, np.full((2, 2), 2.0)))
    out.sum().backward()
    assert t.grad.shape == (2, 2)


def test_tensor_of_tensor_shares_data():
    x = Tensor([1.0, 2.0])
    assert Tensor(x).data is x.data


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        Tensor(np.arange(3), requires_grad=True, dtype=np.int64)


def test_properties_and_numpy():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    out = x.numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3))
    assert Tensor(3.5).item() == 3.5
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))


def test_detach_shares_memory_and_cuts_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d._ctx is None
    assert d.data is y.data
    z = (d * x).sum()
    z.backward()
    np.testing.assert_allclose(host(x.grad), [3.0, 6.0])  # d is a constant: no path back through y


def test_comparisons_give_boolean_arrays():
    x = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(host(x > 1.5), [False, True, True])
    np.testing.assert_array_equal(host(x <= Tensor([1.0, 1.0, 5.0])), [True, False, True])


def test_pow_rejects_a_tensor_exponent():
    with pytest.raises(TypeError, match="exponent"):
        Tensor([1.0]) ** Tensor([2.0])


# ----- backward --------------------------------------------------------------------------------

def test_backward_of_a_simple_expression():
    a = Tensor([2.0, 3.0], requires_grad=True)
    b = Tensor([4.0, 5.0], requires_grad=True)
    ((a * b + a) / b).sum().backward()  # a + a/b
    np.testing.assert_allclose(host(a.grad), 1 + 1 / np.array([4.0, 5.0]), rtol=1e-6)
    np.testing.assert_allclose(host(b.grad), -np.array([2.0, 3.0]) / np.array([16.0, 25.0]), rtol=1e-6)


def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(host(x.grad), [3 + 2, 3 + 4])


def test_tensor_used_twice_gets_summed_gradients():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(host(x.grad), [2.0, -4.0, 6.0])


def test_leaf_gradient_can_be_changed_in_place():
    """sum's backward broadcasts a view of one number; the leaf's .grad must still be an array the
    user may scale in place (gradient clipping does p.grad *= c)."""
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.sum().backward()
    x.grad *= 0.5
    np.testing.assert_allclose(host(x.grad), [0.5, 0.5, 0.5])
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    w.mean().backward()
    w.grad *= 6
    np.testing.assert_allclose(host(w.grad), np.ones((2, 3)))


def _shares_memory(x, y):
    """Whether two backend arrays share memory (on NumPy; the CuPy stand-in is checked in place below)."""
    return backend.name == "numpy" and np.shares_memory(x, y)


def test_leaves_never_share_a_gradient_array():
    """Add's backward passes the same array to both inputs; scaling one leaf's .grad in place must
    not change the other's."""
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * 2).sum().backward()
    assert not _shares_memory(a.grad, b.grad)
    a.grad *= 10
    np.testing.assert_allclose(host(a.grad), [20.0, 20.0])
    np.testing.assert_allclose(host(b.grad), [2.0, 2.0])


needs_base = pytest.mark.skipif(not hasattr(backend.xp.empty(1), "base"),
                                reason="the CuPy stand-in has no .base (NumPy and real CuPy have it)")


@needs_base
@pytest.mark.parametrize("combine", [
    lambda a, b: a.reshape(6) + b.reshape(6),  # two reshaped views of one gradient array
    lambda a, b: a.T + b,  # a transposed view and the array itself
    lambda a, b: (a.reshape(6) + b.reshape(6)).reshape(2, 3),
], ids=["reshape", "transpose", "reshape-twice"])
def test_leaves_never_share_a_gradient_through_views(combine):
    a = Tensor(np.zeros((2, 3)), requires_grad=True)
    b = Tensor(np.zeros((3, 2)), requires_grad=True)
    out = combine(a, b)
    out.backward(np.arange(6.0).reshape(out.shape))
    assert not _shares_memory(a.grad, b.grad)
    expected_b = host(b.grad).copy()
    a.grad *= 0
    np.testing.assert_array_equal(host(b.grad), expected_b)


@needs_base
@pytest.mark.parametrize("through", [lambda t: t, lambda t: t.reshape(3, 2), lambda t: t + 0.0],
                         ids=["leaf", "reshape", "add"])
def test_a_leaf_gradient_never_aliases_the_grad_passed_to_backward(through):
    x = Tensor(np.zeros(6), requires_grad=True)
    out = through(x)
    u = backend.as_array(np.ones(out.shape), out.dtype)
    out.backward(u)
    assert not _shares_memory(x.grad, u)
    u *= 5  # the caller reuses its array
    np.testing.assert_array_equal(host(x.grad), np.ones(6))


def test_diamond_graph():
    x = Tensor([1.5], requires_grad=True)
    y = x * 2
    z = y * y + y.exp()  # dz/dx = (2y + e^y) * 2
    z.backward()
    np.testing.assert_allclose(host(x.grad), [(2 * 3.0 + np.exp(3.0)) * 2], rtol=1e-6)


def test_leaves_without_requires_grad_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(host(x.grad), [3.0, 4.0])


def test_intermediate_tensors_keep_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None


@pytest.mark.parametrize("shape_a, shape_b", [((3, 1), (4,)), ((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((), (2, 2)),
                                              ((1,), (3, 1)), ((1, 1), (2, 3))])
def test_broadcasting_is_undone(shape_a, shape_b):
    a = Tensor(np.ones(shape_a), requires_grad=True)
    b = Tensor(np.ones(shape_b), requires_grad=True)
    out = a + b
    out.backward(np.ones(out.shape))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    out_size = np.prod(out.shape)
    np.testing.assert_allclose(host(a.grad), np.full(shape_a, out_size / max(np.prod(shape_a), 1)))
    np.testing.assert_allclose(host(b.grad), np.full(shape_b, out_size / max(np.prod(shape_b), 1)))


@given(broadcast_shapes().flatmap(lambda shapes: arrays(shapes[0]).flatmap(
    lambda a: arrays(shapes[1]).map(lambda b: (a, b)))))
def test_broadcast_add_mul_gradcheck(pair):
    a, b = pair
    check_gradients(lambda x, y: x * y + x, a, b)


def test_unbroadcast_sums_leading_and_stretched_axes():
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 1)), grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(grad, (4,)), grad.sum(axis=(0, 1)))
    np.testing.assert_array_equal(unbroadcast(grad, ()), grad.sum())
    assert unbroadcast(grad, (2, 3, 4)) is grad


def test_unbroadcast_refuses_a_shape_it_cannot_reach():
    with pytest.raises(ValueError, match="does not broadcast"):
        unbroadcast(np.ones((3, 2)), (2, 3))
    with pytest.raises(ValueError, match="does not broadcast"):
        unbroadcast(np.ones((3,)), (2, 3))


def test_backward_on_non_scalar_without_grad_errors_clearly():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2, 3\)"):
        (x * 2).backward()


def test_backward_with_an_explicit_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    g = np.arange(6.0).reshape(2, 3)
    (x * 2).backward(g)
    np.testing.assert_allclose(host(x.grad), 2 * g)
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_single_element_non_0d_tensor():
    x = Tensor([[2.0]], requires_grad=True)
    (x * x).backward()
    np.testing.assert_allclose(host(x.grad), [[4.0]])


def test_backward_without_a_graph_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_deep_chain_does_not_hit_the_recursion_limit():
    depth = 10_000
    assert depth > sys.getrecursionlimit()
    x = Tensor([1.0], requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(depth):
        y = y + 1.0
    y.backward()
    np.testing.assert_allclose(host(x.grad), [1.0])
    np.testing.assert_allclose(y.numpy(), [1.0 + depth])
    del y
    gc.collect()  # freeing the chain must not recurse either


def test_deep_chain_of_products():
    x = Tensor([2.0], requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_allclose(host(x.grad), [1.0])


# ----- no_grad ---------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = x * 2
        assert not sn.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert sn.is_grad_enabled()
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_nests_and_restores():
    assert sn.is_grad_enabled()
    with no_grad():
        with no_grad():
            assert not sn.is_grad_enabled()
        assert not sn.is_grad_enabled()  # the inner block restores the outer (disabled) state
    assert sn.is_grad_enabled()


def test_no_grad_restores_after_an_exception():
    with pytest.raises(KeyError), no_grad():
        raise KeyError("boom")
    assert sn.is_grad_enabled()


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(x):
        return x * 2

    x = Tensor([1.0], requires_grad=True)
    assert not evaluate(x).requires_grad
    assert (x * 2).requires_grad


def test_ops_on_constants_do_not_require_grad():
    x = Tensor([1.0, 2.0])
    assert not (x * 2).requires_grad
