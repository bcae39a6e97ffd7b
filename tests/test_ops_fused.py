"""The speed-minded code paths: the L1 op, max pooling's ties, the memory order a conv net keeps
(ops/conv.py: batch axis last) through conv, pool, dropout and ReLU, and float32 staying float32
through a whole training step. Gradients in float64 with ``scratchnet.gradcheck``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, check_gradients, grid_pair, host, leaf, shapes

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import Tensor, backend, losses, optim
from scratchnet.ops.loss import L1

CHANNEL_MAJOR = (1, 2, 3, 0)  # an NCHW tensor stored as (C, H, W, N), as conv2d returns it


def axis_order(a):
    """The axes of ``a`` from the largest stride to the smallest: (1, 2, 3, 0) for NCHW stored as (C, H, W, N)."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -abs(a.strides[axis])))


def stored_as(x, order):
    """The backend array of x's values with memory laid out in ``order`` (see ``axis_order``)."""
    inverse = tuple(np.argsort(order))
    return backend.as_array(np.ascontiguousarray(np.asarray(x).transpose(order))).transpose(inverse)


# ----- L1: mean |p - y| as one op -----------------------------------------------------------------

@given(shapes().flatmap(lambda s: grid_pair(s, s)))
def test_l1_op_gradient_and_value(pair):
    p, y = pair  # never within 0.1 of each other: away from the kink of |p - y|
    target = backend.as_array(y)
    check_gradients(lambda t: L1.apply(t, target), p, constants=(target,))
    assert L1.apply(Tensor(p), target).item() == pytest.approx(np.mean(np.abs(p - y)), rel=1e-12)


def test_l1_op_gradient_is_zero_where_prediction_equals_target():
    p = leaf(np.array([[1.0, 2.0], [3.0, 4.0]]))
    L1.apply(p, backend.as_array(np.array([[1.0, 0.0], [5.0, 4.0]]))).backward()
    np.testing.assert_array_equal(host(p.grad), [[0.0, 0.25], [-0.25, 0.0]])


def test_l1_loss_stays_float32():
    p = Tensor(np.random.default_rng(0).random((4, 5), dtype=np.float32), requires_grad=True)
    loss = losses.L1Loss()(p, np.zeros((4, 5), dtype=np.float32))
    assert loss.dtype == np.float32
    loss.backward()
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(host(p.grad), np.full((4, 5), 1 / 20, dtype=np.float32))


# ----- max pooling: ties, layouts --------------------------------------------------------

def pool_reference(x, k, s):
    """Direct loops: the pooled values and the gradient of their sum weighted by g, ties to the first
    maximum in row-major order within each window."""
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    rng = np.random.default_rng(1)
    g = rng.standard_normal((n, c, ho, wo))
    out, grad = np.empty((n, c, ho, wo)), np.zeros_like(x, dtype=np.float64)
    for a in range(n):
        for b in range(c):
            for i in range(ho):
                for j in range(wo):
                    window = x[a, b, i * s : i * s + k, j * s : j * s + k]
                    first = np.argmax(window)  # argmax: the first maximum in row-major order
                    out[a, b, i, j] = window.flat[first]
                    grad[a, b, i * s + first // k, j * s + first % k] += g[a, b, i, j]
    return out, g, grad


@pytest.mark.parametrize("k, s, hw", [(2, 2, (6, 6)), (2, 2, (7, 5)), (3, 3, (7, 8)), (2, 3, (8, 7)),
                                      (3, 1, (5, 6)), (2, 1, (4, 5)), (1, 1, (3, 2)), (3, 2, (7, 7))])
@pytest.mark.parametrize("order", [(0, 1, 2, 3), CHANNEL_MAJOR])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_matches_direct_loops_with_many_ties(k, s, hw, order, dtype):
    x = np.random.default_rng(0).integers(0, 3, size=(3, 2, *hw)).astype(dtype)  # values 0, 1, 2: ties
    expected, g, expected_grad = pool_reference(x, k, s)
    t = Tensor(stored_as(x, order), requires_grad=True)
    out = F.max_pool2d(t, k, s)
    assert out.dtype == dtype and axis_order(out.data) == axis_order(t.data)
    np.testing.assert_array_equal(out.numpy(), expected)
    out.backward(backend.as_array(g.astype(dtype)))
    assert t.grad.dtype == dtype and axis_order(t.grad) == axis_order(t.data)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12  # overlapping windows add up in float32
    np.testing.assert_allclose(host(t.grad), expected_grad, rtol=tolerance, atol=tolerance)


@given(st.sampled_from([(2, 2), (3, 3), (2, 3), (3, 1)]), st.integers(3, 6), st.integers(3, 6), st.booleans())
def test_max_pool_gradcheck_any_layout(ks, h, w, channel_major):
    k, s = ks
    x = np.random.default_rng(h * 7 + w).permutation(2 * 2 * h * w).reshape(2, 2, h, w) * 0.1  # no ties
    if channel_major:
        x = backend.to_numpy(stored_as(x, CHANNEL_MAJOR))
    check_gradients(lambda t: F.max_pool2d(t, k, s), x)


# ----- convolution in (C, H, W, N) memory order -----------------------------------------------------

def conv_reference(x, w, b, stride, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    f, _, k, _ = w.shape
    ho, wo = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    out = np.empty((x.shape[0], f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@pytest.mark.parametrize("c, f", [(3, 2), (1, 4)])
@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
@pytest.mark.parametrize("order", [(0, 1, 2, 3), CHANNEL_MAJOR])
def test_conv2d_any_input_layout(c, f, stride, padding, order):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, c, 5, 6)), rng.standard_normal((f, c, 3, 3)), rng.standard_normal(f)
    xs = backend.to_numpy(stored_as(x, order))
    out = F.conv2d(Tensor(stored_as(x, order)), Tensor(w), Tensor(b), stride=stride, padding=padding)
    assert axis_order(out.data) == CHANNEL_MAJOR  # a view of the (F, Ho*Wo*N) product: no copy
    np.testing.assert_allclose(out.numpy(), conv_reference(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)
    check_gradients(lambda *t: F.conv2d(*t, stride=stride, padding=padding), xs, w, b)


def test_a_conv_net_keeps_channel_major_order_and_float32_through_a_training_step():
    from coursework.models import dis_net

    sn.manual_seed(0)
    model = dis_net()
    x = Tensor(np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32))
    h = x
    for layer in list(model)[:-6]:  # the convolutional part, up to the last pooling (1x1 after it)
        h = layer(h)
        assert h.dtype == np.float32 and h.data.transpose(CHANNEL_MAJOR).flags.c_contiguous, type(layer).__name__
    loss = losses.BCEWithLogitsLoss()(model(x), np.ones((4, 1), dtype=np.float32))
    assert loss.dtype == np.float32
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad.dtype == np.float32, name
        assert p.grad.shape == p.shape, name


def test_the_autoencoder_stays_float32_through_a_training_step():
    from coursework.models import Autoencoder

    sn.manual_seed(0)
    model = Autoencoder(2)
    opt = optim.Adam(model.parameters())
    x = np.random.default_rng(0).random((8, 784), dtype=np.float32)
    out = model(Tensor(x))
    loss = losses.L1Loss()(out, x)
    assert out.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    opt.step()
    for name, p in model.named_parameters():
        assert p.grad.dtype == np.float32 and p.dtype == np.float32, name


# ----- dropout and ReLU keep the memory order --------------------------------------------------------

def test_dropout_mask_follows_the_input_memory_order():
    sn.manual_seed(0)
    x = Tensor(stored_as(np.ones((8, 3, 4, 5), dtype=np.float32), CHANNEL_MAJOR), requires_grad=True)
    y = F.dropout(x, 0.25)
    assert y.dtype == np.float32 and axis_order(y.data) == CHANNEL_MAJOR
    values = set(np.unique(y.numpy()).tolist())
    assert values <= {0.0, np.float32(1 / 0.75)} and len(values) == 2
    y.backward(backend.xp.ones_like(y.data))
    np.testing.assert_array_equal(host(x.grad), y.numpy())  # d/dx = mask, and x is all ones


def test_relu_follows_the_input_memory_order():
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 6))
    t = Tensor(stored_as(x, CHANNEL_MAJOR), requires_grad=True)
    y = F.relu(t)
    assert axis_order(y.data) == CHANNEL_MAJOR
    np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))
    y.backward(backend.xp.ones_like(y.data))
    assert axis_order(t.grad) == CHANNEL_MAJOR
    np.testing.assert_array_equal(host(t.grad), (x > 0).astype(np.float64))


@given(arrays(shapes(min_dims=2, max_dims=2)))
def test_sigmoid_gradient_and_float32(x):
    check_gradients(F.sigmoid, x)
    t = Tensor(x.astype(np.float32), requires_grad=True)
    F.sigmoid(t).sum().backward()
    assert t.grad.dtype == np.float32
