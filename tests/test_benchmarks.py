"""Smoke tests of the benchmarks: they run end to end on tiny data, so they cannot rot; and a check
that the plain NumPy yardstick of train_speed.py does the arithmetic scratchnet does.

Timings are not asserted (they depend on the machine and its load); the tables' shapes are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script, *args, timeout=120):
    """Run benchmarks/<script> with the checkout importable; returns (stdout, table rows as cell lists)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in done.stdout.splitlines() if line.startswith("| ")]
    return done.stdout, rows


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the benchmark times the NumPy backend against PyTorch's CPU build")
def test_train_speed_runs_on_tiny_data():
    stdout, (header, *rows) = run_benchmark("train_speed.py", "--tiny", "--only", "scratchnet")
    assert header[:3] == ["model", "batch", "scratchnet s/epoch"]
    assert [cells[0] for cells in rows] == ["ae2", "ae16", "ae256", "dis32", "dis256"]
    for cells in rows:
        assert float(cells[2]) > 0  # scratchnet s/epoch
        assert cells[3] == "-"  # --only scratchnet: no PyTorch column
        assert float(cells[7]) > 0  # peak memory, MiB
    assert "NumPy" in stdout and "BLAS" in stdout


@pytest.mark.parametrize("models, message", [("vgg", "unknown model"), (",", "--models ',' names no model")])
def test_train_speed_rejects_unknown_models_and_an_empty_list(models, message):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--models", models],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert done.returncode == 2 and len(errors) == 1 and message in errors[0], done.stderr


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="step_costs.py times NumPy's own passes and products")
def test_step_costs_prints_its_five_tables():
    stdout, rows = run_benchmark("step_costs.py", "--quick", timeout=300)
    titles = [line for line in stdout.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert len(titles) == 5, stdout
    adam_rows = [cells for cells in rows if cells[0].startswith("ae")][:3]
    assert [cells[0] for cells in adam_rows] == ["ae2", "ae16", "ae256"]
    for cells in adam_rows:
        assert all(float(cell) > 0 for cell in cells[3:])


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the plain loop is NumPy on the host")
def test_train_speed_times_the_plain_numpy_loop_on_the_autoencoders():
    _, (header, *rows) = run_benchmark("train_speed.py", "--tiny", "--only", "numpy")
    assert header[-2:] == ["plain NumPy s/epoch", "scratchnet / plain NumPy"]
    assert [cells[0] for cells in rows] == ["ae2", "ae16", "ae256"]  # no dis_net by hand
    assert all(float(cells[12]) > 0 for cells in rows)


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the plain loop is NumPy on the host")
def test_train_speed_drift_on_tiny_data_leaves_the_warm_up_out_of_its_medians():
    _, (header, *rows) = run_benchmark("train_speed.py", "--drift", "--tiny", "--only", "numpy", "--models", "ae2")
    assert header[3] == "epoch 5 s" and header[6] == "median(last 3) / median(2-4)"
    assert [cells[:2] for cells in rows] == [["ae2", "numpy"]]
    assert len(rows[0][-1].split()) == 5  # every epoch's time: the last 3 are epochs 3-5, not epoch 1


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the plain loop is NumPy arrays; optim.Adam on another backend holds its own")
def test_the_plain_numpy_yardsticks_adam_is_optim_adam(monkeypatch):
    """Its hand-written Adam takes the same steps as optim.Adam, bit for bit, through the flush of denormals."""
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.plain_numpy import PlainAutoencoder
    from scratchnet import optim
    from scratchnet.nn import Parameter

    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 4)).astype(np.float32)
    plain = PlainAutoencoder([start], [np.zeros(4, np.float32)], betas=(0.9, 0.95))
    weight = Parameter(start.copy())
    adam = optim.Adam([weight], betas=(0.9, 0.95))
    for step in range(optim.Adam.FLUSH_EVERY + 5):
        grad = rng.standard_normal((3, 4)).astype(np.float32) * (step < 10)  # then 0: m and v decay
        weight.grad = grad.copy()
        adam.step()
        plain._adam([grad, np.zeros(4, np.float32)])
    assert np.array_equal(plain.weights[0], weight.numpy())
    assert np.array_equal(plain.m[0], adam.m[0]) and np.array_equal(plain.v[0], adam.v[0])


def test_the_plain_numpy_yardstick_does_scratchnets_arithmetic(monkeypatch):
    """benchmarks/plain_numpy.py writes every gradient by hand; timing it against scratchnet is fair
    only if it does the same work, so both must reach the same weights, through partial batches and
    Adam's flush at step 64. On the NumPy backend they do the same arithmetic in the same order: every
    loss and weight is equal bit for bit. (CuPy's kernels round differently: there, within tolerances.)"""
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    from coursework.models import Autoencoder

    from benchmarks.plain_numpy import PlainAutoencoder
    from scratchnet import backend, losses, optim
    from scratchnet.tensor import Tensor
    from scratchnet.train import evaluate

    exact = backend.name == "numpy"
    rng = np.random.default_rng(1)
    x = (rng.random((300, 784), dtype=np.float32) * (rng.random((300, 784)) < 0.3)).astype(np.float32)
    for latent in (2, 256):
        backend.manual_seed(0)
        model = Autoencoder(latent)
        optimizer, loss_fn = optim.Adam(model.parameters(), lr=1e-3), losses.L1Loss()
        plain = PlainAutoencoder.from_scratchnet(model, lr=1e-3)
        for step in range(65):
            xb = x[rng.permutation(len(x))[: 64 if step % 3 else 17]]
            loss = loss_fn(model(Tensor(backend.as_array(xb))), backend.as_array(xb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            plain_loss = float(plain.train_step(xb))
            assert plain_loss == loss.item() if exact else plain_loss == pytest.approx(loss.item(), rel=1e-6)
        for ours, theirs in zip(model.parameters(), plain.parameters()):
            if exact:
                np.testing.assert_array_equal(theirs, ours.numpy())
            else:
                np.testing.assert_allclose(theirs, ours.numpy(), rtol=1e-5, atol=1e-7)
        # not bit for bit: evaluate weights each batch's float32 loss by its size in float32, the plain
        # loop in float64
        assert plain.validation_loss(x, 64) == pytest.approx(evaluate(model, loss_fn, x, x, batch_size=64), rel=1e-6)


@pytest.mark.parametrize("option, value", [("--rtol", "-1"), ("--rtol", "nan"), ("--timeout", "0"), ("--timeout", "-5")])
def test_gpu_check_refuses_a_tolerance_or_timeout_that_is_not_finite_and_positive(option, value):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), option, value],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert done.returncode == 2 and len(errors) == 1, done.stderr
    assert f"argument {option}: expected a finite number > 0" in errors[0]


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the worker's backend comes from SCRATCHNET_BACKEND; this runs it on NumPy")
def test_gpu_check_worker_trains_with_fit_on_tiny_data():
    stdout, _ = run_benchmark("gpu_check.py", "--worker", "ae2", "--epochs", "2", "--images", "64",
                              "--batch-size", "32")
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["backend"] == "numpy" and report["steps_per_epoch"] == 2
    assert len(report["losses"]) == len(report["seconds"]) == 2 and report["ops"]["estimate"] > 0
