"""Losses: values against NumPy formulas, gradients against numerical ones, targets as Tensor or array,
stability at the edges, and clear errors for bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, check_gradients, floats, host, leaf, probabilities, shapes

import scratchnet as sn
from scratchnet import Tensor, losses
from scratchnet import functional as F


def as_target(y, kind):
    """The same target as a NumPy array, a Tensor, or a (nested) list."""
    return {"array": y, "tensor": Tensor(y), "list": y.tolist()}[kind]


TARGET_KINDS = st.sampled_from(["array", "tensor", "list"])


def prediction_and_target(prediction_elements=None, target_elements=None):
    return shapes(max_dims=3).flatmap(lambda s: st.tuples(arrays(s, elements=prediction_elements),
                                                          arrays(s, elements=target_elements)))


@given(prediction_and_target(), TARGET_KINDS)
def test_l1_loss(case, kind):
    p, y = case
    y = np.where(np.abs(p - y) < 0.1, y + 0.25, y)  # away from the kink of |p - y|
    target = as_target(y, kind)
    check_gradients(lambda t: losses.L1Loss()(t, target), p)
    np.testing.assert_allclose(losses.L1Loss()(Tensor(p), target).item(), np.mean(np.abs(p - y)), rtol=1e-12)


@given(prediction_and_target(), TARGET_KINDS)
def test_mse_loss(case, kind):
    p, y = case
    target = as_target(y, kind)
    check_gradients(lambda t: losses.MSELoss()(t, target), p)
    np.testing.assert_allclose(losses.MSELoss()(Tensor(p), target).item(), np.mean((p - y) ** 2),
                               rtol=1e-12, atol=1e-15)


@given(prediction_and_target(probabilities(), floats(0, 1)), TARGET_KINDS)
def test_bce_loss(case, kind):
    p, y = case
    target = as_target(y, kind)
    check_gradients(lambda t: losses.BCELoss()(t, target), p)
    expected = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(losses.BCELoss()(Tensor(p), target).item(), expected, rtol=1e-12)


@given(prediction_and_target(floats(-8, 8), floats(0, 1)), TARGET_KINDS)
def test_bce_with_logits_loss(case, kind):
    z, y = case
    target = as_target(y, kind)
    check_gradients(lambda t: losses.BCEWithLogitsLoss()(t, target), z)
    p = 1 / (1 + np.exp(-z))
    expected = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(losses.BCEWithLogitsLoss()(Tensor(z), target).item(), expected, rtol=1e-9)
    # the same loss as BCELoss on the probabilities, where neither needs clipping
    np.testing.assert_allclose(losses.BCEWithLogitsLoss()(Tensor(z), target).item(),
                               losses.BCELoss()(Tensor(p), target).item(), rtol=1e-7)


@st.composite
def logits_and_labels(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return draw(arrays((n, c), elements=floats(-5, 5))), labels


@given(logits_and_labels(), st.sampled_from(["array", "tensor", "list", "uint8"]))
def test_cross_entropy_loss(case, kind):
    z, labels = case
    target = {"array": labels, "tensor": Tensor(labels, dtype=np.int64), "list": labels.tolist(),
              "uint8": labels.astype(np.uint8)}[kind]
    check_gradients(lambda t: losses.CrossEntropyLoss()(t, target), z, constants=(labels,))
    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_probs[np.arange(len(labels)), labels].mean()
    np.testing.assert_allclose(losses.CrossEntropyLoss()(Tensor(z), target).item(), expected, rtol=1e-10)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    z = leaf(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    losses.CrossEntropyLoss()(z, np.array([2, 0])).backward()
    e = np.exp(z.numpy())
    softmax = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(host(z.grad), (softmax - np.eye(3)[[2, 0]]) / 2, rtol=1e-12)


# ----- dtypes and the target ---------------------------------------------------------------------

@pytest.mark.parametrize("loss", [losses.L1Loss(), losses.MSELoss(), losses.BCELoss(), losses.BCEWithLogitsLoss()])
def test_float32_prediction_gives_float32_loss(loss):
    p = Tensor(np.full((2, 3), 0.3, dtype=np.float32), requires_grad=True)
    out = loss(p, np.ones((2, 3)))  # a float64 target is cast to the prediction's dtype
    assert out.dtype == np.float32 and out.shape == ()
    out.backward()
    assert p.grad.dtype == np.float32 and p.grad.shape == (2, 3)


@pytest.mark.parametrize("loss", [losses.L1Loss(), losses.MSELoss(), losses.BCELoss(), losses.BCEWithLogitsLoss()])
def test_target_gets_no_gradient(loss):
    p = Tensor(np.full((2, 2), 0.3), requires_grad=True)
    y = Tensor(np.full((2, 2), 0.6), requires_grad=True)
    loss(p, y).backward()
    assert y.grad is None and p.grad is not None


@pytest.mark.parametrize("dtype, log_floor", [(np.float64, -100.0), (np.float32, np.log(np.finfo(np.float32).tiny))])
def test_bce_never_takes_log_zero(dtype, log_floor):
    """Predictions exactly 0 or 1: the log is floored (at -100, PyTorch's clamp, in float64)."""
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype), requires_grad=True)
    with np.errstate(all="raise"):  # no log(0), no 1/0, no 0 * inf anywhere
        loss = losses.BCELoss()(p, np.array([0.0, 1.0, 1.0, 0.0]))
        loss.backward()
    np.testing.assert_allclose(loss.item(), -log_floor / 2, rtol=1e-6)  # (0 + 0 + 2 * -floor) / 4
    assert np.isfinite(host(p.grad)).all()


@pytest.mark.parametrize("bad", [[-0.1, 0.5], [0.5, 1.5], [-3.0, 4.0], [np.nan, 0.5]], ids=["below", "above", "logits", "nan"])
def test_bce_refuses_predictions_outside_0_1_and_names_the_logits_loss(bad):
    """Clipped, logits would give a loss near 0 and a zero gradient: PyTorch refuses them too."""
    with pytest.raises(ValueError, match=r"BCELoss: predictions must be in \[0, 1\], got values from .*"
                                         r"BCELoss takes probabilities .*BCEWithLogitsLoss takes logits"):
        losses.BCELoss()(Tensor(np.array(bad), requires_grad=True), np.array([0.0, 1.0]))


@pytest.mark.parametrize("loss", [losses.BCELoss(), losses.BCEWithLogitsLoss()])
@pytest.mark.parametrize("target", [[0.0, 2.0], [-1.0, 1.0], [0.0, np.nan]], ids=["above", "below", "nan"])
def test_both_bce_losses_refuse_targets_outside_0_1(loss, target):
    with pytest.raises(ValueError, match=rf"{loss.name}: targets must be in \[0, 1\], got values from"):
        loss(Tensor(np.array([0.2, 0.7]), requires_grad=True), np.array(target))


def test_bce_accepts_the_ends_of_0_1():
    p = Tensor(np.array([0.0, 1.0, 0.25]), requires_grad=True)
    losses.BCELoss()(p, np.array([0.0, 1.0, 1.0])).backward()
    losses.BCEWithLogitsLoss()(p, np.array([0.0, 1.0, 0.5])).backward()


def test_bce_with_logits_is_stable_for_huge_logits():
    z = Tensor(np.array([500.0, -500.0, 500.0, -500.0]), requires_grad=True)
    loss = losses.BCEWithLogitsLoss()(z, np.array([1.0, 0.0, 0.0, 1.0]))
    np.testing.assert_allclose(loss.item(), 250.0)  # (0 + 0 + 500 + 500) / 4
    loss.backward()
    np.testing.assert_allclose(host(z.grad), [0.0, 0.0, 0.25, -0.25], atol=1e-200)  # sigmoid(-500) / 4 ~ 2e-218


def test_losses_are_exported_and_have_a_repr():
    assert repr(losses.MSELoss()) == "MSELoss()"
    assert sn.losses.CrossEntropyLoss is losses.CrossEntropyLoss


# ----- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [losses.L1Loss(), losses.MSELoss(), losses.BCELoss(), losses.BCEWithLogitsLoss()])
@pytest.mark.parametrize("target_shape", [(4, 1), (4,), (1, 4), (2, 2)])
def test_shape_mismatch_is_refused_not_broadcast(loss, target_shape):
    p = Tensor(np.full((4, 1), 0.5), requires_grad=True)
    if target_shape == (4, 1):
        loss(p, np.zeros(target_shape))  # the matching shape is fine
        return
    with pytest.raises(ValueError) as info:
        loss(p, np.zeros(target_shape))
    message = str(info.value)
    assert loss.name in message and "(4, 1)" in message and str(target_shape) in message


@pytest.mark.parametrize("loss", [losses.L1Loss(), losses.CrossEntropyLoss()])
def test_prediction_must_be_a_tensor(loss):
    with pytest.raises(TypeError, match="must be a Tensor"):
        loss(np.ones((2, 2)), np.array([0, 1]))


@pytest.mark.parametrize("labels, pattern", [
    (np.array([0, 3]), r"\[0, 3\), got values from 0 to 3"),
    (np.array([-1, 0]), r"\[0, 3\), got values from -1 to 0"),
    (np.array([0, 1, 2]), r"integers of shape \(2,\)"),
    (np.array([[0], [1]]), r"integers of shape \(2,\)"),
    (np.array([0.0, 1.0]), "got float64"),
    (Tensor([0, 1]), "got float32"),  # a Tensor made from labels without an integer dtype
])
@pytest.mark.parametrize("loss", [losses.CrossEntropyLoss(), F.cross_entropy], ids=["loss", "functional"])
def test_cross_entropy_bad_labels(labels, pattern, loss):
    with pytest.raises(ValueError, match=pattern) as info:
        loss(Tensor(np.zeros((2, 3)), requires_grad=True), labels)
    assert str(info.value).startswith("cross_entropy: ")


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0]), Tensor([0, 1]), [0.0, 1.0]])
def test_float_labels_error_says_they_must_be_integers(labels):
    with pytest.raises(ValueError, match=r"labels must be integers of shape \(2,\), got float\d+ of shape \(2,\) \(e\.g\. a NumPy int"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), labels)


@pytest.mark.parametrize("loss", [losses.CrossEntropyLoss(), F.cross_entropy], ids=["loss", "functional"])
def test_cross_entropy_needs_2d_logits(loss):
    with pytest.raises(ValueError, match=r"\(batch, classes\), got shape \(3,\)"):
        loss(Tensor(np.zeros(3)), np.array([0]))
