"""coursework.parallel: jobs in worker processes, results in order, progress, failures."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from coursework import parallel
from coursework.models import Autoencoder

from scratchnet import backend, losses, optim
from scratchnet.train import fit

# ----- jobs (module level, so that worker processes can import them) -------------------------------


def train_tiny_autoencoder(seed, epochs, on_epoch_end=None):
    """Trains a latent-2 autoencoder on seeded random data; returns (losses, final weights, BLAS threads)."""
    backend.manual_seed(seed)
    x = np.random.default_rng(seed).random((64, 784), dtype=np.float32)
    model = Autoencoder(2)
    history = fit(model, losses.L1Loss(), optim.Adam(model.parameters()), x, x, epochs=epochs, batch_size=32,
                  progress=False, callbacks=None if on_epoch_end is None else [on_epoch_end])
    return history.history["loss"], [p.numpy() for p in model.parameters()], os.environ.get("OPENBLAS_NUM_THREADS")


def fail_or_sleep(seconds, on_epoch_end=None):
    if seconds < 0:
        raise ValueError("this job fails on purpose")
    time.sleep(seconds)
    return seconds


def die(on_epoch_end=None):
    os._exit(3)  # as if the system had killed the process


def report_epochs(n, on_epoch_end=None):
    for epoch in range(1, n + 1):
        on_epoch_end({"epoch": epoch, "loss": 1.0 / epoch, "seconds": 0.0})
    return n


def report_a_bad_record_first(n, on_epoch_end=None):
    on_epoch_end({"epoch": 0, "loss": "not a number", "seconds": 0.0})  # cannot be shown as 0.1234
    return report_epochs(n, on_epoch_end)


# ----- tests -----------------------------------------------------------------------------------------


def test_workers_return_what_this_process_computes_in_the_jobs_order():
    jobs = [(seed, 2) for seed in (3, 1, 2)]
    environment_before = {name: os.environ.get(name) for name in parallel.THREAD_VARIABLES}
    here = parallel.run_jobs(train_tiny_autoencoder, jobs, workers=1, progress=False)
    there = parallel.run_jobs(train_tiny_autoencoder, jobs, workers=3, progress=False)
    for (losses_here, weights_here, _), (losses_there, weights_there, threads) in zip(here, there):
        # one-thread products may round differently from this process's in the last bit
        np.testing.assert_allclose(losses_there, losses_here, rtol=1e-5)
        for a, b in zip(weights_here, weights_there):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
        assert threads == str(max(1, (os.cpu_count() or 1) // 3))  # set for the workers' BLAS
    assert here[0][0] != here[1][0]  # different seeds, different runs: the order is really kept
    assert {name: os.environ.get(name) for name in parallel.THREAD_VARIABLES} == environment_before  # restored


def test_a_failing_job_stops_the_others_and_raises_here():
    started = time.perf_counter()
    with pytest.raises(ValueError, match="fails on purpose"):
        parallel.run_jobs(fail_or_sleep, [(60,), (-1,)], workers=2, progress=False)
    assert time.perf_counter() - started < 30  # the 60-second job was stopped, not waited for


def test_a_worker_that_dies_is_an_error_not_a_hang():
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"worker process ended in the middle of a job \(exit code 3"):
        parallel.run_jobs(die, [(), ()], workers=2, progress=False)
    assert time.perf_counter() - started < 30


def test_progress_reaches_this_process(capsys, monkeypatch):
    monkeypatch.setattr(parallel, "_tqdm", None)  # the printed-lines fallback, easy to read back
    assert parallel.run_jobs(report_epochs, [(10,), (20,)], workers=2, labels=["a", "b"], epochs=[10, 20]) == [10, 20]
    lines = capsys.readouterr().err.splitlines()
    assert "a epoch 10/10 - loss: 0.1000" in lines
    assert "b epoch 20/20 - loss: 0.0500" in lines
    assert len([line for line in lines if line.startswith("b epoch")]) == 10  # every 10% of 20 epochs


def test_a_record_that_cannot_be_shown_does_not_stop_the_progress(capsys, monkeypatch):
    monkeypatch.setattr(parallel, "_tqdm", None)
    assert parallel.run_jobs(report_a_bad_record_first, [(10,), (10,)], workers=2, labels=["a", "b"],
                             epochs=[11, 11]) == [10, 10]
    err = capsys.readouterr().err
    assert "progress: cannot show" in err and "not a number" in err
    assert "a epoch 11/11 - loss: 0.1000" in err.splitlines()  # the later records were all shown


def test_labels_and_epochs_must_match_the_jobs():
    with pytest.raises(ValueError, match=r"one entry per job \(2\), got 1 labels and 2 epoch counts"):
        parallel.run_jobs(report_epochs, [(1,), (1,)], workers=2, labels=["a"], epochs=[1, 1])


def test_worker_counts():
    assert parallel.default_workers(3) == (3 if backend.name == "numpy" and (os.cpu_count() or 1) >= 2 else 1)
    assert parallel.check_workers(8, 3) == 3  # never more processes than jobs
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            parallel.check_workers(bad, 3)


def test_fit_calls_a_function_callback_with_each_record():
    """What a job passes on as its ``on_epoch_end``: a plain function in fit's callbacks."""
    seen = []
    train_tiny_autoencoder(0, 3, on_epoch_end=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2, 3] and all("loss" in r and "seconds" in r for r in seen)
    with pytest.raises(ValueError, match="callbacks must be a list of Callback objects or functions"):
        train_tiny_autoencoder(0, 1, on_epoch_end="print")
