"""The hostguard stand-in for CuPy (tests/hostguard/cupy): it must refuse what CuPy refuses.

The hostguard lane runs the whole suite with ``PYTHONPATH=tests/hostguard SCRATCHNET_BACKEND=cupy``
so that every silent device-to-host conversion fails on a machine without a GPU. These tests check
the stand-in itself, and run in the normal lane too: the ``guard`` fixture puts the stand-in in
``sys.modules["cupy"]`` for one test (real CuPy, if installed, is put back afterwards) and switches
scratchnet's backend to it and back.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import backend, nn

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = ROOT / "tests" / "hostguard" / "cupy"


@contextlib.contextmanager
def stand_in_module():
    """The stand-in as ``cupy`` in ``sys.modules`` (the already imported one in the hostguard lane)."""
    current = sys.modules.get("cupy")
    if current is not None and getattr(current, "HOSTGUARD", False):
        yield current
        return
    saved = {name: module for name, module in sys.modules.items() if name == "cupy" or name.startswith("cupy.")}
    for name in saved:
        del sys.modules[name]
    try:
        spec = importlib.util.spec_from_file_location("cupy", STAND_IN / "__init__.py",
                                                      submodule_search_locations=[str(STAND_IN)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["cupy"] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        for name in [n for n in sys.modules if n == "cupy" or n.startswith("cupy.")]:
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture
def cp():
    """The stand-in module, without switching scratchnet's backend."""
    with stand_in_module() as module:
        yield module


@pytest.fixture
def guard(monkeypatch):
    """scratchnet switched to the stand-in for one test; its backend state is put back afterwards."""
    for attribute in ("xp", "name", "_device_rng", "_host_rng"):
        monkeypatch.setattr(backend, attribute, getattr(backend, attribute))
    with stand_in_module() as module:
        assert backend.use("cupy") is module
        yield module


# ----- the conversions CuPy refuses -----------------------------------------------------------------

@pytest.mark.parametrize("convert", [np.asarray, np.array, np.asanyarray, np.ascontiguousarray,
                                     lambda a: np.testing.assert_allclose(a, 0.0), lambda a: np.float32(a)],
                         ids=["asarray", "array", "asanyarray", "ascontiguousarray", "testing", "float32"])
def test_implicit_conversion_to_numpy_raises(cp, convert):
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        convert(cp.zeros((2, 3)))


def test_python_scalars_only_from_0d_arrays(cp):
    a = cp.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError):
        float(a)
    with pytest.raises(TypeError):
        float(a[0, :1])  # size 1 but 1-D: NumPy 2 refuses it, and so does CuPy (it defers to NumPy)
    total = a.sum()
    assert isinstance(total, cp.ndarray) and total.shape == ()  # a 0-d device array, not a host scalar
    assert float(total) == 15.0 and int(a[1, 2]) == 5 and a[0, 1].item() == 1.0
    assert f"{total:.1f}" == "15.0"
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    assert bool(a[1, 1] > 3)


def test_no_add_at(cp):
    with pytest.raises(AttributeError, match="at"):
        cp.add.at  # noqa: B018
    with pytest.raises(TypeError):
        np.add.at(cp.zeros(3), [0, 0], 1.0)
    with pytest.raises(TypeError):
        np.add.reduce(cp.ones(3))


def test_host_and_device_arrays_do_not_mix(cp):
    a, host = cp.ones(3), np.ones(3)
    for mix in (lambda: a + host, lambda: host + a, lambda: a * host, lambda: cp.where(host > 0, a, 0),
                lambda: cp.maximum(a, host), lambda: np.exp(host, out=a), lambda: a.__iadd__(host)):
        with pytest.raises(TypeError, match="Unsupported type"):
            mix()
    with pytest.raises(TypeError, match="Unsupported type"):
        a[1:] = host[1:]
    a[:] = host  # the one exception, as in CuPy: whole-array assignment, same shape and dtype


def test_numpy_functions_on_device_arrays_raise(cp):
    with pytest.raises(TypeError, match=r"numpy\.mean\(\) was called with a device array"):
        np.mean(cp.ones(3))
    with pytest.raises(TypeError, match="device array"):
        np.concatenate([cp.ones(3), cp.ones(2)])


def test_numpy_ufuncs_and_scalars_stay_on_the_device(cp):
    a = cp.arange(3.0)
    for result in (np.exp(a), np.float32(2.0) * a, 2.0 * a, a ** 2, -a, a @ a, cp.exp(a), a.max()):
        assert isinstance(result, cp.ndarray)
    out = cp.zeros(3)
    assert cp.maximum(a, 1.0, out=out) is out and out.tolist() == [1.0, 1.0, 2.0]


def test_views_write_through_and_copies_do_not(cp):
    a = cp.zeros((2, 4))
    a[:, 1::2] += 1.0
    a.reshape(-1)[0] = 5.0
    view = a.T
    view[3, 1] = 7.0
    assert a.tolist() == [[5.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 7.0]]


def test_indexing_accepts_what_cupy_accepts(cp):
    a = cp.arange(6.0).reshape(2, 3)
    assert a[np.array([1, 0])].shape == (2, 3)      # host index arrays are copied to the device
    assert a[[0, 0, 1], [2, 2, 0]].tolist() == [2.0, 2.0, 3.0]
    assert a[a > 2].tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(IndexError):
        a[sn.Tensor([0.0])]


def test_explicit_ways_out_and_in(guard):
    cp = guard
    a = cp.asarray(np.arange(4, dtype=np.float32))
    assert isinstance(a, cp.ndarray) and a.dtype == np.float32
    for host in (cp.asnumpy(a), a.get(), backend.to_numpy(a)):
        assert type(host) is np.ndarray
        np.testing.assert_array_equal(host, [0, 1, 2, 3])
    assert cp.asarray(a) is a and a.astype(np.float32, copy=False) is a
    with pytest.raises(ValueError, match="Unsupported dtype object"):
        cp.asarray(sn.Tensor([1.0]))


def test_unknown_names_raise_a_clear_attribute_error(cp):
    with pytest.raises(AttributeError, match=r"hostguard.*tests/hostguard/cupy/__init__\.py"):
        cp.fft  # noqa: B018
    with pytest.raises(AttributeError, match="hostguard"):
        cp.random.default_rng(0).permutation  # noqa: B018


def test_scikit_learn_and_matplotlib_refuse_device_arrays(cp):
    pytest.importorskip("sklearn")
    from sklearn.cluster import KMeans

    data = cp.asarray(np.random.default_rng(0).standard_normal((10, 2)))
    with pytest.raises(TypeError, match="Implicit conversion"):
        KMeans(2, n_init=1).fit(data)
    plt = pytest.importorskip("matplotlib.pyplot")
    figure, axes = plt.subplots()
    try:
        with pytest.raises(TypeError, match="Implicit conversion"):
            axes.imshow(data)
            figure.canvas.draw()
    finally:
        plt.close(figure)


# ----- the stand-in covers what scratchnet uses ------------------------------------------------------

def test_every_xp_name_used_in_scratchnet_exists_in_the_stand_in(cp):
    sources = [*ROOT.glob("scratchnet/**/*.py"), *ROOT.glob("examples/**/*.py")]
    used = set()
    for path in sources:
        used.update(re.findall(r"\bxp\.([A-Za-z_][A-Za-z0-9_]*)", path.read_text()))
    missing = sorted(name for name in used if not hasattr(cp, name))
    assert not missing, f"add these to tests/hostguard/cupy/__init__.py (if real CuPy has them): {missing}"


# ----- scratchnet on the stand-in ------------------------------------------------------------------

def _tiny_step(seed):
    """One Adam step of a conv + pool + dropout + dense model; returns (loss before, loss after, weights)."""
    sn.manual_seed(seed)
    model = nn.Sequential(nn.Conv2D(1, 3, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Dropout(0.25), nn.Flatten(),
                          nn.Dense(12, 4), nn.Tanh(), nn.Dense(4, 1))
    rng = np.random.default_rng(seed)
    x = sn.Tensor(rng.random((5, 1, 6, 6)))
    y = (rng.random((5, 1)) > 0.5).astype(np.float32)
    optimizer = sn.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = sn.losses.BCEWithLogitsLoss()
    losses = []
    for _ in range(2):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model.state_dict()


def test_a_training_step_matches_numpy_from_the_same_seed(monkeypatch):
    for attribute in ("xp", "name", "_device_rng", "_host_rng"):
        monkeypatch.setattr(backend, attribute, getattr(backend, attribute))
    backend.use("numpy")
    want_losses, want_weights = _tiny_step(3)
    with stand_in_module() as cp:
        backend.use("cupy")
        assert backend.xp is cp
        got_losses, got_weights = _tiny_step(3)
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-6)
    for name, value in want_weights.items():
        assert type(got_weights[name]) is np.ndarray  # state_dict is on the host
        np.testing.assert_allclose(got_weights[name], value, rtol=1e-5, atol=1e-7)


def test_tensors_on_the_stand_in(guard):
    t = sn.Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    assert isinstance(t.data, guard.ndarray)
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.get(), [[2.0, -4.0], [6.0, 8.0]])
    assert type(t.numpy()) is np.ndarray and "Tensor(array(" in repr(t)
    assert sn.gradcheck(lambda a: (a.relu() * a).sum(), [sn.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)])
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(t.data)
