"""The backend switch: SCRATCHNET_BACKEND at import, ``use`` in code, the one-line errors, to_numpy,
as_array, seeding; and, on a machine with CuPy and a GPU, the same results on both backends."""

import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import Tensor, backend
from scratchnet import functional as F

REPO = Path(__file__).resolve().parents[1]


def import_scratchnet(env_value, python_path=None):
    """``import scratchnet`` in a fresh interpreter with SCRATCHNET_BACKEND=env_value."""
    env = {k: v for k, v in os.environ.items() if k not in ("SCRATCHNET_BACKEND", "PYTHONPATH")}
    env["SCRATCHNET_BACKEND"] = env_value
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([python_path] if python_path else []))
    return subprocess.run([sys.executable, "-c", "import scratchnet"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def cupy_importable_without_hostguard():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('cupy') is not None)"
    return subprocess.run([sys.executable, "-c", probe], env=env, cwd="/", timeout=60, check=False).returncode != 0


def has_real_gpu():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return not getattr(cupy, "HOSTGUARD", False) and cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001  (no driver, no device: all mean "no GPU")
        return False


# ----- SCRATCHNET_BACKEND at import --------------------------------------------------------------

@pytest.mark.parametrize("value", ["foo", "torch", "gpu"])
def test_unknown_backend_fails_with_one_line(value):
    result = import_scratchnet(value)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "numpy" in lines[0] and "cupy" in lines[0] and repr(value) in lines[0]


def test_cupy_missing_fails_with_one_line_install_hint():
    if cupy_importable_without_hostguard():
        pytest.skip("CuPy is installed here: the missing-CuPy message cannot be seen")
    result = import_scratchnet("cupy")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "pip install cupy-cuda12x" in lines[0] and "-e '.[gpu]'" in lines[0]
    assert "scratchnet[" not in lines[0]  # "scratchnet" on PyPI is an unrelated project
    assert "SCRATCHNET_BACKEND=numpy" in lines[0]


@pytest.mark.parametrize("value", ["numpy", "NumPy", " numpy ", ""])
def test_numpy_backend_imports(value):
    result = import_scratchnet(value)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_cupy_stand_in_is_accepted_by_name():
    result = import_scratchnet("cupy", python_path=str(REPO / "tests" / "hostguard"))
    assert result.returncode == 0, result.stderr


# ----- use() in code -----------------------------------------------------------------------------

def test_use_numpy():
    assert backend.use("numpy") is np
    assert backend.xp is np and backend.name == "numpy"
    assert Tensor([1.0]).data.__class__ is np.ndarray


def test_use_unknown_lists_the_choices():
    before = backend.name
    with pytest.raises(backend.BackendError, match="must be one of numpy, cupy"):
        backend.use("jax")
    assert backend.name == before


def test_use_cupy_without_cupy_keeps_cupys_error_as_cause(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError, as when missing
    before, xp_before = backend.name, backend.xp
    with pytest.raises(backend.BackendError) as info:
        backend.use("cupy")
    assert isinstance(info.value.__cause__, ImportError)
    assert "pip install cupy-cuda12x" in str(info.value) and "scratchnet[" not in str(info.value)
    assert backend.name == before and backend.xp is xp_before  # nothing changed


def test_backend_error_is_a_runtime_error():
    assert issubclass(backend.BackendError, RuntimeError)


def test_modules_look_up_xp_at_call_time():
    """``use`` must take effect everywhere: no module may have copied ``xp`` at import."""
    from scratchnet.ops import elementwise

    assert not hasattr(elementwise, "xp")


# ----- to_numpy and as_array ---------------------------------------------------------------------

def test_to_numpy():
    a = np.arange(3.0)
    assert backend.to_numpy(a) is a
    np.testing.assert_array_equal(backend.to_numpy(Tensor(a)), a)
    assert isinstance(backend.to_numpy(Tensor(a)), np.ndarray)
    np.testing.assert_array_equal(backend.to_numpy([1, 2]), [1, 2])
    assert backend.to_numpy(2.5) == 2.5 and isinstance(backend.to_numpy(2.5), np.ndarray)
    assert sn.to_numpy is backend.to_numpy
    device = backend.as_array(a)
    assert isinstance(backend.to_numpy(device), np.ndarray)
    assert isinstance(Tensor(a).numpy(), np.ndarray)


def test_as_array_dtypes():
    assert backend.as_array([1, 2]).dtype == np.float32
    assert backend.as_array(np.arange(3)).dtype == np.float32
    assert backend.as_array(np.ones(2, dtype=np.float64)).dtype == np.float64
    assert backend.as_array(np.ones(2), dtype=np.float32).dtype == np.float32
    assert backend.as_array(np.arange(3), dtype=np.int64).dtype == np.int64


def test_manual_seed_and_generators():
    backend.manual_seed(3)
    a = backend.host_rng().random(4)
    b = backend.to_numpy(backend.device_rng().random(4))
    backend.manual_seed(3)
    np.testing.assert_array_equal(backend.host_rng().random(4), a)
    np.testing.assert_array_equal(backend.to_numpy(backend.device_rng().random(4)), b)


# ----- the GPU -----------------------------------------------------------------------------------

@pytest.mark.gpu
def test_cupy_matches_numpy_on_a_small_network():
    if not has_real_gpu():
        pytest.skip("needs CuPy and an NVIDIA GPU")
    from scratchnet import losses, nn

    def run(name):
        backend.use(name)
        backend.manual_seed(0)
        model = nn.Sequential(nn.Conv2D(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                              nn.Dense(2 * 3 * 3, 4))
        x = np.linspace(-1, 1, 2 * 36).reshape(2, 1, 6, 6)
        loss = losses.CrossEntropyLoss()(model(Tensor(x)), np.array([1, 3]))
        loss.backward()
        assert backend.xp.__name__ == name
        return loss.item(), [backend.to_numpy(p.grad) for p in model.parameters()]

    loss_np, grads_np = run("numpy")
    loss_cp, grads_cp = run("cupy")
    np.testing.assert_allclose(loss_cp, loss_np, rtol=1e-5)
    for g_cp, g_np in zip(grads_cp, grads_np):
        np.testing.assert_allclose(g_cp, g_np, rtol=1e-4, atol=1e-6)


@pytest.mark.gpu
def test_cupy_gradcheck():
    if not has_real_gpu():
        pytest.skip("needs CuPy and an NVIDIA GPU")
    backend.use("cupy")
    x = Tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    assert type(x.data).__module__.startswith("cupy")
    assert sn.gradcheck(lambda t: F.log_softmax(t * t).sum(axis=0), x)
    idx = np.array([0, 2, 0])
    assert sn.gradcheck(lambda t: t[idx].max(axis=1), x)


# ----- glibc's malloc keeps freed memory (backend._keep_freed_memory) --------------------------------

def test_malloc_is_told_to_keep_freed_memory(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append((option, value))
            return 1

    monkeypatch.setattr(backend.ctypes, "CDLL", lambda name: FakeLibc() if name == "libc.so.6" else None)
    backend._keep_freed_memory()
    assert calls == [(-3, 2**30), (-1, -1)]  # M_MMAP_THRESHOLD 1 GiB, M_TRIM_THRESHOLD never


@pytest.mark.parametrize("error", [OSError("no libc.so.6 here"), AttributeError("no mallopt in this libc")])
def test_without_glibc_malloc_is_left_alone(monkeypatch, error):
    def unavailable(name):
        raise error

    monkeypatch.setattr(backend.ctypes, "CDLL", unavailable)
    backend._keep_freed_memory()  # no exception: macOS, Windows and musl keep their allocators


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_training_steps_cost_no_fresh_page_faults():
    """Without mallopt, each step's large arrays come fresh from the kernel: thousands of faults."""
    resource = pytest.importorskip("resource")
    x = Tensor(np.random.default_rng(0).random((64, 16, 64, 64), dtype=np.float32), requires_grad=True)

    def step():
        (F.relu(x) * 2.0).sum().backward()  # 16 MB arrays, made and freed each step
        x.grad = None

    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    faults_per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults_per_step < 500  # 16 MB fresh would be about 4,000 faults of 4 KB
