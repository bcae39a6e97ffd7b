"""Real-CuPy checks: they need CuPy and an NVIDIA GPU and are skipped everywhere else.

The hostguard stand-in (tests/hostguard/cupy) is not CuPy: with it on the path these tests skip too.
``benchmarks/gpu_check.py`` (``make gpu-check``) runs them together with the rest of the suite on a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import Tensor, backend, losses, nn, optim
from scratchnet import functional as F

pytestmark = pytest.mark.gpu

SKIP_REASON = "needs CuPy and an NVIDIA GPU"


def _real_cupy():
    """The real ``cupy`` module when it can use a GPU, else None."""
    try:
        import cupy
    except Exception:  # noqa: BLE001  (ImportError, or a broken CUDA install)
        return None
    if getattr(cupy, "HOSTGUARD", False):
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        cupy.zeros(1).sum()
    except Exception:  # noqa: BLE001  (no driver, no device)
        return None
    return cupy


@pytest.fixture
def cupy_backend():
    cupy = _real_cupy()
    if cupy is None:
        pytest.skip(SKIP_REASON)
    before = backend.name
    backend.use("cupy")
    yield cupy
    backend.use(before)


def _on(name, build, seed=0):
    """Run ``build()`` on backend ``name`` after seeding; the result is brought to the host."""
    backend.use(name)
    sn.manual_seed(seed)
    return build()


def test_conv2d_gradcheck_in_float64_on_the_gpu(cupy_backend):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    assert isinstance(x.data, cupy_backend.ndarray) and x.dtype == np.float64
    assert sn.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x, w, b])
    assert sn.gradcheck(lambda x, w, b: F.conv2d(x, w, b), [x, w, b])


def test_max_pool_and_bce_gradcheck_on_the_gpu(cupy_backend):
    x = Tensor(np.random.default_rng(1).permutation(36).reshape(1, 1, 6, 6) / 7.0, requires_grad=True)
    assert sn.gradcheck(lambda t: F.max_pool2d(t, 2), x)
    assert sn.gradcheck(lambda t: F.max_pool2d(t, 3, stride=1), x)
    target = Tensor(np.random.default_rng(2).random((1, 1, 6, 6)), dtype=np.float64)
    assert sn.gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, target), x)


def test_dis_net_forward_matches_numpy(cupy_backend):
    images = np.random.default_rng(3).random((8, 1, 28, 28), dtype=np.float32)

    def forward():
        from coursework.models import dis_net

        model = dis_net(dropout=False)
        with sn.no_grad():
            return backend.to_numpy(model(Tensor(images)).data)

    want, got = _on("numpy", forward), _on("cupy", forward)
    assert type(got) is np.ndarray and got.shape == (8, 1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_autoencoder_training_steps_match_numpy(cupy_backend):
    from q2a_autoencoders import Autoencoder

    x = np.random.default_rng(4).random((64, 784), dtype=np.float32)

    def train():
        model = Autoencoder(16)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = losses.L1Loss()
        values, first_grads = [], None
        for _ in range(3):
            loss = loss_fn(model(Tensor(x)), x)
            optimizer.zero_grad()
            loss.backward()
            if first_grads is None:
                first_grads = [backend.to_numpy(p.grad) for p in model.parameters()]
            optimizer.step()
            values.append(loss.item())
        return values, first_grads

    # Adam's first steps move each weight by about lr * sign(gradient): a gradient within rounding of 0
    # may flip sign between cuBLAS and NumPy's BLAS, so weights are compared through the losses only
    (want, want_grads), (got, got_grads) = _on("numpy", train), _on("cupy", train)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    for g_cp, g_np in zip(got_grads, want_grads):
        np.testing.assert_allclose(g_cp, g_np, rtol=1e-3, atol=1e-4 * float(np.abs(g_np).max()) + 1e-12)


def test_dropout_masks_are_drawn_on_the_device(cupy_backend):
    sn.manual_seed(0)
    x = Tensor(np.ones((64, 64), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, 0.25, training=True)
    assert isinstance(y.data, cupy_backend.ndarray)
    y.sum().backward()
    kept = backend.to_numpy(y.data) != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(backend.to_numpy(x.grad), kept / 0.75, rtol=1e-6)
    sn.manual_seed(0)
    again = F.dropout(Tensor(np.ones((64, 64), dtype=np.float32)), 0.25, training=True)
    np.testing.assert_array_equal(backend.to_numpy(again.data) != 0, kept)  # seeded: the same mask


def test_the_host_conversion_rules_hold_on_real_cupy(cupy_backend):
    """What the hostguard stand-in imitates, checked against the real thing."""
    a = cupy_backend.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError):
        np.asarray(a)
    with pytest.raises(TypeError):
        float(a)
    with pytest.raises(TypeError):
        a + np.ones(3)
    assert isinstance(a.sum(), cupy_backend.ndarray) and float(a.sum()) == 15.0
    assert type(backend.to_numpy(a)) is np.ndarray
    model = nn.Dense(3, 2)
    assert isinstance(model.weight.data, cupy_backend.ndarray)
    assert all(type(v) is np.ndarray for v in model.state_dict().values())
