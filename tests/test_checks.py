"""What counts as an integer or a number argument (scratchnet/checks.py), and that every API uses it:
NumPy scalars and 0-d arrays are accepted wherever Python numbers are, bools nowhere."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import functional as F
from scratchnet import nn, optim
from scratchnet.checks import check_integer, is_integer, is_real


def test_is_integer_and_is_real():
    for value in (3, np.int64(3), np.uint8(3), np.array(3)):
        assert is_integer(value) and is_real(value)
    for value in (0.5, np.float32(0.5), np.array(0.5)):
        assert is_real(value) and not is_integer(value)
    for value in (True, np.bool_(True), "3", None, [3], np.array([3]), np.array(True)):
        assert not is_integer(value) and not is_real(value)
    assert check_integer("f", "n", np.int64(4), 1) == 4 and type(check_integer("f", "n", np.int64(4), 1)) is int
    with pytest.raises(ValueError, match="f: n must be an integer >= 1, got 0"):
        check_integer("f", "n", 0, 1)


def test_numpy_scalars_and_0d_arrays_are_accepted_everywhere():
    x = sn.Tensor(np.ones((1, 1, 6, 6), dtype=np.float32))
    weight, bias = sn.Tensor(np.ones((2, 1, 3, 3), dtype=np.float32)), sn.Tensor(np.zeros(2, dtype=np.float32))
    assert F.conv2d(x, weight, bias, stride=np.int64(1), padding=np.int64(1)).shape == (1, 2, 6, 6)
    assert F.max_pool2d(x, np.int64(2)).shape == (1, 1, 3, 3)
    assert nn.MaxPool2D(np.int64(2), np.int64(2))(x).shape == (1, 1, 3, 3)
    assert nn.Conv2D(np.int64(1), np.int64(2), np.int64(3))(x).shape == (1, 2, 4, 4)
    assert nn.Dense(np.int64(6), np.int64(2))(sn.Tensor(np.ones((1, 6), dtype=np.float32))).shape == (1, 2)
    logits = sn.Tensor(np.ones((2, 3)))
    assert logits.softmax(axis=np.int64(1)).shape == (2, 3)
    assert logits.log_softmax(axis=np.int64(-1)).shape == (2, 3)
    assert logits.max(axis=np.int64(0)).shape == (3,)
    assert nn.Dropout(np.array(0.5)).p == 0.5
    assert F.dropout(logits, np.float32(0.5), training=False) is logits
    params = nn.Dense(2, 2).parameters()
    adam = optim.Adam(params, lr=np.float32(0.01), betas=np.array([0.9, 0.999]), eps=np.array(1e-8))
    assert adam.betas == (0.9, 0.999) and adam.eps == 1e-8
    assert optim.SGD(params, lr=0.1, momentum=np.array(0.9)).momentum == pytest.approx(0.9)


@pytest.mark.parametrize("call, message", [
    (lambda: sn.Tensor(np.ones(3)).clip(np.float32(2), np.float32(1)), "clip needs low <= high"),
    (lambda: sn.Tensor(np.ones((2, 3))).softmax(axis=1.5), "axis must be an integer, a tuple of integers or None"),
    (lambda: sn.Tensor(np.ones((2, 3))).sum(axis=(0, "1")), "an axis must be an integer, got '1'"),
    (lambda: nn.Dropout(np.array([0.5])), "Dropout: p must be a number in"),
])
def test_what_is_still_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
