"""Tests for scratchnet.train (fit / evaluate / predict) and scratchnet.callbacks, on tiny models and data."""

import math
import os
import pathlib

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import backend, callbacks, nn, train
from scratchnet.callbacks import Callback, EarlyStopping, ModelCheckpoint, load_checkpoint, save_checkpoint
from scratchnet.losses import CrossEntropyLoss, MSELoss
from scratchnet.optim import SGD, Adam
from scratchnet.train import History, NonFiniteLossError, evaluate, fit, predict

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def make_model(dropout=0.0, seed=0):
    sn.manual_seed(seed)
    layers = [nn.Dense(4, 8), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Dense(8, 1))


def regression_data(n=96, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    w = np.array([[1.0], [-2.0], [0.5], [1.5]], dtype=np.float32)
    y = (x @ w + 0.3).astype(np.float32)
    return x, y


def weights(model):
    return {name: value.copy() for name, value in model.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def temp_files(directory):
    return [p.name for p in pathlib.Path(directory).iterdir() if p.name.endswith(".tmp")]


def worsening_problem():
    """Validation targets are the negated training targets: the better the model fits the training
    set, the worse its validation loss, so the best epoch is an early one."""
    x, y = regression_data(64)
    return x, y, (x, -y)


# ---------------------------------------------------------------------------------------------------
# Learning, history, metrics
# ---------------------------------------------------------------------------------------------------


def test_loss_decreases_on_a_learnable_problem():
    x, y = regression_data()
    model = make_model()
    history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=15, batch_size=16,
                  progress=False)
    assert isinstance(history, History)
    losses = history.history["loss"]
    assert len(losses) == 15 and len(history) == 15
    assert losses[-1] < 0.25 * losses[0]
    assert all(math.isfinite(v) for v in losses)
    assert history.seconds == pytest.approx(sum(e["seconds"] for e in history.epochs)) and history.seconds > 0
    assert history.best_epoch is None and history.best_val_loss is None  # no validation data


def test_autoencoder_target_is_the_input_without_a_second_copy():
    """fit(model, loss, opt, x, x): y is x, so one gather serves both; the result is the same as with a copy."""
    x = np.random.default_rng(2).random((40, 4), dtype=np.float32)

    def run(target, val_target):
        sn.manual_seed(0)
        model = nn.Sequential(nn.Dense(4, 3), nn.ReLU(), nn.Dense(3, 4))
        history = fit(model, MSELoss(), Adam(model.parameters(), lr=1e-2), x, target, epochs=3,
                      batch_size=16, validation_data=(x, val_target), progress=False)
        return weights(model), history.history

    same_weights, same_history = run(x, x)
    copy_weights, copy_history = run(x.copy(), x.copy())
    assert_same_state(same_weights, copy_weights)
    assert same_history == copy_history


def test_history_keys_metrics_and_epoch_records():
    x, y = regression_data(96)
    x_val, y_val = regression_data(40, seed=2)
    model = make_model()

    def mae(prediction, target):
        assert isinstance(prediction, np.ndarray) and isinstance(target, np.ndarray)
        assert prediction.shape == target.shape == (40, 1)
        return float(np.abs(prediction - target).mean())

    history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=32,
                  validation_data=(x_val, y_val), metrics={"mae": mae}, progress=False)
    assert set(history.history) == {"loss", "val_loss", "val_mae"}
    assert all(len(values) == 3 for values in history.history.values())
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3]
    assert all(set(e) == {"epoch", "loss", "val_loss", "val_mae", "seconds"} for e in history.epochs)
    # without callbacks the model ends with the last epoch's weights: its validation numbers are the last ones
    assert history.history["val_mae"][-1] == pytest.approx(mae(predict(model, x_val), y_val), rel=1e-6)
    assert history.history["val_loss"][-1] == pytest.approx(evaluate(model, MSELoss(), x_val, y_val), rel=1e-6)
    assert history.best_val_loss == min(history.history["val_loss"])
    assert history.best_epoch == int(np.argmin(history.history["val_loss"])) + 1


def test_last_partial_batch_is_kept_and_shuffle_is_seeded():
    x, y = regression_data(10)
    model = make_model()
    optimizer = SGD(model.parameters(), lr=0.01)
    batch_sizes = []
    fit(model, lambda p, t: (batch_sizes.append(len(t)), MSELoss()(p, t))[1], optimizer, x, y, epochs=2,
        batch_size=4, progress=False)
    assert batch_sizes == [4, 4, 2, 4, 4, 2]

    runs = []
    for _ in range(2):
        model = make_model()
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.05), x, y, epochs=2, batch_size=3, progress=False)
        runs.append(weights(model))
    assert_same_state(*runs)  # same seed -> same shuffling -> same weights


def test_integer_labels_and_images_keep_their_dtype():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(60, 4), dtype=np.uint8)  # as images are stored: uint8
    labels = (x[:, 0] > x[:, 1]).astype(np.int64)  # CrossEntropyLoss needs integers
    sn.manual_seed(0)
    model = nn.Sequential(nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 2))
    seen = []
    history = fit(model, lambda p, t: (seen.append(t.dtype), CrossEntropyLoss()(p, t))[1],
                  Adam(model.parameters(), lr=0.05), x, labels, epochs=20, batch_size=16,
                  validation_data=(x, labels), progress=False,
                  metrics={"acc": lambda p, t: float((p.argmax(axis=1) == t).mean())})
    assert set(seen) == {np.dtype(np.int64)}
    assert history.history["val_acc"][-1] > 0.8
    assert predict(model, x).shape == (60, 2)


def test_progress_bar_and_plain_fallback(capsys, monkeypatch):
    x, y = regression_data(40)
    model = make_model()
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # progress=False is silent

    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, progress="demo")
    if train.tqdm is not None:
        assert "demo 2/2" in capsys.readouterr().err

    monkeypatch.setattr(train, "tqdm", None)  # as if tqdm were not installed
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, progress="demo",
        validation_data=(x, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("demo 2/2") and "val_loss" in lines[1]


def test_a_plain_function_gets_each_epoch_record():
    x, y = regression_data(32)
    model = make_model()
    seen = []
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=16,
                  progress=False, callbacks=[seen.append])
    assert seen == history.epochs
    assert train.epoch_values(seen[0]) == {"loss": f"{seen[0]['loss']:.4f}"}


# ---------------------------------------------------------------------------------------------------
# evaluate / predict
# ---------------------------------------------------------------------------------------------------


def test_evaluate_and_predict_shapes_weighting_and_mode_restore():
    x, y = regression_data(10)
    model = make_model(dropout=0.5)
    out = predict(model, x, batch_size=3)
    assert isinstance(out, np.ndarray) and out.shape == (10, 1)
    assert np.array_equal(out, predict(model, x, batch_size=3))  # eval mode: dropout is off
    assert model.training  # restored
    model.eval()
    evaluate(model, MSELoss(), x, y)
    predict(model, x)
    assert not model.training  # restored to eval
    # every sample counts once: uneven batches give the same mean as one batch
    full = evaluate(model, MSELoss(), x, y, batch_size=256)
    assert evaluate(model, MSELoss(), x, y, batch_size=3) == pytest.approx(full, rel=1e-6)
    assert full == pytest.approx(float(((out - y) ** 2).mean()), rel=1e-6)
    assert sn.is_grad_enabled()


def test_fit_restores_the_previous_mode():
    x, y = regression_data(20)
    model = make_model(dropout=0.2)
    model.eval()
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=1, validation_data=(x, y),
        progress=False)
    assert not model.training


# ---------------------------------------------------------------------------------------------------
# EarlyStopping: best weights and stopping
# ---------------------------------------------------------------------------------------------------


def test_restore_best_weights_puts_back_the_best_epoch():
    x, y, (x_val, y_val) = worsening_problem()
    runs = {}
    for restore in (True, False):
        model = make_model()
        history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=6, batch_size=16,
                      validation_data=(x_val, y_val), progress=False,
                      callbacks=[EarlyStopping(restore_best_weights=restore)])
        runs[restore] = (model, history)
    model, history = runs[True]
    val = history.history["val_loss"]
    assert val[-1] > min(val) and len(val) == 6  # the validation loss got worse; patience=None never stops
    assert history.best_epoch == int(np.argmin(val)) + 1 < 6 and not history.stopped_early
    assert evaluate(model, MSELoss(), x_val, y_val) == pytest.approx(min(val), rel=1e-6)
    last_model, last_history = runs[False]
    assert last_history.history["val_loss"] == val  # same run otherwise
    assert evaluate(last_model, MSELoss(), x_val, y_val) == pytest.approx(val[-1], rel=1e-6)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    x, y, val = worsening_problem()
    model = make_model()
    history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=50, batch_size=16,
                  validation_data=val, progress=False, callbacks=[EarlyStopping(2, restore_best_weights=True)])
    assert history.stopped_early
    assert len(history) == history.best_epoch + 2
    assert evaluate(model, MSELoss(), *val) == pytest.approx(history.best_val_loss, rel=1e-6)


def test_min_delta_counts_only_larger_improvements():
    x, y = regression_data(32)
    runs = []
    for min_delta in (0.0, np.float32(1e9)):
        model = make_model()
        runs.append(fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=10, batch_size=16,
                        validation_data=(x, y), progress=False, callbacks=[EarlyStopping(3, min_delta)]))
    assert not runs[0].stopped_early and len(runs[0]) == 10  # a learnable problem keeps improving
    assert runs[1].stopped_early and len(runs[1]) == 4  # only the first epoch beats inf - 1e9


# ---------------------------------------------------------------------------------------------------
# ModelCheckpoint: resume bit for bit, what it writes, what it refuses
# ---------------------------------------------------------------------------------------------------


def checkpointed_run(path, epochs, resume=False, seed=0, dropout=0.5, lr=0.01, batch_size=16, patience=None):
    x, y = regression_data(80)
    x_val, y_val = regression_data(24, seed=5)
    model = make_model(dropout=dropout, seed=seed)
    optimizer = Adam(model.parameters(), lr=lr)
    history = fit(model, MSELoss(), optimizer, x, y, epochs=epochs, batch_size=batch_size,
                  validation_data=(x_val, y_val), progress=False,
                  metrics={"mae": lambda p, t: float(np.abs(p - t).mean())},
                  callbacks=[ModelCheckpoint(path, resume=resume), EarlyStopping(patience, restore_best_weights=True)])
    return model, optimizer, history


CUPY_DROPOUT_CAVEAT = "on CuPy the dropout generator's state cannot be read (documented in scratchnet.callbacks)"


@pytest.mark.parametrize("dropout", [0.5, 0.0])
def test_resume_reproduces_an_uninterrupted_run_bit_for_bit(tmp_path, dropout):
    if dropout and backend.name != "numpy":
        pytest.skip(CUPY_DROPOUT_CAVEAT)
    straight, straight_opt, straight_history = checkpointed_run(tmp_path / "straight.npz", 4, dropout=dropout)

    checkpointed_run(tmp_path / "cut.npz", 2, dropout=dropout)  # "interrupted" after epoch 2
    assert len(load_checkpoint(tmp_path / "cut.npz")["history"]["epochs"]) == 2
    # as in a new process: another seed (so nothing matches by luck), a fresh model and optimizer
    resumed, resumed_opt, resumed_history = checkpointed_run(tmp_path / "cut.npz", 4, resume=True, seed=123,
                                                             dropout=dropout)
    assert_same_state(weights(straight), weights(resumed))
    assert_same_state(straight_opt.state_dict(), resumed_opt.state_dict())
    assert resumed_history.history == straight_history.history
    assert resumed_history.best_epoch == straight_history.best_epoch
    assert [e["epoch"] for e in resumed_history.epochs] == [1, 2, 3, 4]

    saved, reference = load_checkpoint(tmp_path / "cut.npz"), load_checkpoint(tmp_path / "straight.npz")
    assert_same_state(saved["model"], reference["model"])
    assert_same_state(saved["callbacks"]["0"]["weights"], reference["callbacks"]["0"]["weights"])
    assert ("device" in saved["rng"]) == (backend.name == "numpy")


def test_resume_without_the_rng_state_would_differ(tmp_path, monkeypatch):
    """The dropout generator matters: restoring everything except it gives other weights."""
    if backend.name != "numpy":
        pytest.skip(CUPY_DROPOUT_CAVEAT)
    straight, _, _ = checkpointed_run(tmp_path / "straight.npz", 3)
    checkpointed_run(tmp_path / "part.npz", 2)
    original = callbacks._set_rng_state
    monkeypatch.setattr(callbacks, "_set_rng_state", lambda state: original({"host": state["host"]}))
    resumed, _, _ = checkpointed_run(tmp_path / "part.npz", 3, resume=True, seed=123)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(straight).values(), weights(resumed).values()))


def test_resume_of_a_run_that_stopped_early_trains_no_further(tmp_path, capsys):
    x, y, val = worsening_problem()
    path = tmp_path / "c.npz"

    def run(seed, resume):
        model = make_model(seed=seed)
        history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=50, batch_size=16,
                      validation_data=val, progress=False,
                      callbacks=[EarlyStopping(2, restore_best_weights=True), ModelCheckpoint(path, resume)])
        return model, history

    model, history = run(0, False)
    assert history.stopped_early and load_checkpoint(path)["history"]["stopped_early"] is True
    again_model, again = run(4, True)
    assert again.stopped_early and again.history == history.history
    assert_same_state(weights(model), weights(again_model))  # the best weights, restored from the checkpoint
    assert f"resuming at epoch {len(history)} of 50: its run stopped early" in capsys.readouterr().err


def test_resume_says_what_it_does_with_changed_settings(tmp_path, capsys):
    path = tmp_path / "c.npz"
    checkpointed_run(path, 3, lr=0.01)
    capsys.readouterr()
    _, optimizer, history = checkpointed_run(path, 2, resume=True, lr=0.001)
    notes = capsys.readouterr().err.strip().splitlines()
    assert notes == [f"ModelCheckpoint {path}: lr 0.01 from the checkpoint replaces 0.001 given",
                     f"ModelCheckpoint {path}: resuming at epoch 3 of 2: nothing to do"]
    assert optimizer.state_dict()["lr"] == 0.01 and len(history) == 3  # as PyTorch's load_state_dict does

    _, _, history = checkpointed_run(path, 4, resume=True, batch_size=8)
    notes = capsys.readouterr().err.strip().splitlines()
    assert notes == [f"ModelCheckpoint {path}: training goes on to epoch 4 (the checkpoint's run was set to 3)",
                     f"ModelCheckpoint {path}: batch_size 8 given replaces the checkpoint's 16"]
    assert len(history) == 4
    checkpointed_run(tmp_path / "other.npz", 2)
    checkpointed_run(tmp_path / "other.npz", 2, resume=True)
    other = tmp_path / "other.npz"
    assert capsys.readouterr().err == f"ModelCheckpoint {other}: resuming at epoch 2 of 2: nothing to do\n"


def test_resume_without_a_file_starts_fresh(tmp_path):
    _, _, history = checkpointed_run(tmp_path / "new.npz", 1, resume=True)
    assert len(history) == 1 and (tmp_path / "new.npz").exists()


def test_save_and_resume_remove_the_leftovers_of_killed_writes(tmp_path):
    path = tmp_path / "c.npz"
    leftovers = [tmp_path / ".c.npz.abc123.tmp", tmp_path / ".c.npz.x.tmp"]
    others = [tmp_path / ".other.npz.abc.tmp", tmp_path / "c.npz.tmp", tmp_path / "notes.txt"]
    for file in leftovers + others:
        file.write_bytes(b"half a checkpoint")
    save_checkpoint(path, {"a": 1})
    assert not any(file.exists() for file in leftovers) and all(file.exists() for file in others)
    checkpointed_run(path, 1)
    for file in leftovers:
        file.write_bytes(b"half a checkpoint")
    checkpointed_run(path, 2, resume=True)
    assert not any(file.exists() for file in leftovers) and all(file.exists() for file in others)


def test_a_file_that_is_not_a_checkpoint_is_never_overwritten(tmp_path):
    path = tmp_path / "results.npz"
    path.write_text("the user's own file")
    x, y = regression_data(8)
    model = make_model()
    before = weights(model)
    for resume in (False, True):
        with pytest.raises(ValueError, match="refusing to overwrite .*results.npz.*not a scratchnet checkpoint"):
            fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, progress=False,
                callbacks=[ModelCheckpoint(path, resume=resume)])
    assert path.read_text() == "the user's own file"
    assert_same_state(weights(model), before)  # refused before the first step
    # an earlier checkpoint, without resume: replaced, as Keras' ModelCheckpoint does
    checkpointed_run(tmp_path / "c.npz", 2)
    _, _, history = checkpointed_run(tmp_path / "c.npz", 1)
    assert len(history) == 1 and len(load_checkpoint(tmp_path / "c.npz")["history"]["epochs"]) == 1


def test_checkpoint_files_round_trip_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    state = {"model": {"0.weight": np.arange(6.0).reshape(2, 3)}, "note": "hello", "n": 3, "inf": math.inf,
             "nested": {"deeper": {"flag": True, "list": [1, 2.5]}}, "f32": np.float32(0.5)}
    save_checkpoint(path, state)
    with np.load(path, allow_pickle=False) as raw:
        assert set(raw.files) == {"0", "scratchnet_checkpoint"}  # the array, and JSON for the rest
    loaded = load_checkpoint(path)
    assert np.array_equal(loaded.pop("model")["0.weight"], state.pop("model")["0.weight"])
    assert loaded == state and temp_files(tmp_path) == []


def test_a_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"epoch": 1})

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(backend.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    assert load_checkpoint(path) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_load_checkpoint_rejects_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    np.save(tmp_path / "single.npy", np.ones(3))
    header = '{"version": 3, "state": {"o": {"__ndarray__": "obj"}}}'  # the pickled member is read
    np.savez(tmp_path / "pickled.npz", scratchnet_checkpoint=np.asarray(header),
             obj=np.array([{"a": 1}], dtype=object))
    np.savez(tmp_path / "garbled.npz", scratchnet_checkpoint=np.asarray("{not json"))
    np.savez(tmp_path / "list.npz", scratchnet_checkpoint=np.asarray("[2]"))
    for name in ("notes.txt", "plain.npz", "single.npy", "pickled.npz", "garbled.npz", "list.npz", "missing.npz"):
        with pytest.raises(ValueError, match=f"{name}.*not a scratchnet checkpoint"):
            load_checkpoint(tmp_path / name)
    np.savez(tmp_path / "future.npz", scratchnet_checkpoint=np.asarray('{"version": 99, "state": {}}'))
    with pytest.raises(ValueError, match="future.npz.*it is version 99; this scratchnet reads version 3"):
        load_checkpoint(tmp_path / "future.npz")


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "another model"])
def test_a_damaged_or_foreign_checkpoint_is_a_clear_error(tmp_path, damage):
    path = tmp_path / "c.npz"
    checkpointed_run(path, 1)
    data = bytearray(path.read_bytes())
    if damage == "truncated":  # a disk that filled up, a copy cut short
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "flipped byte":  # inside the first stored array: its CRC no longer matches
        data[len(data) // 4] ^= 0xFF
        path.write_bytes(bytes(data))
    x, y = regression_data(8)
    sn.manual_seed(0)
    model = make_model() if damage != "another model" else nn.Sequential(nn.Dense(4, 2), nn.Dense(2, 1))
    match = "differ from those that wrote it" if damage == "another model" else "not a scratchnet checkpoint"
    with pytest.raises(ValueError, match=f"c.npz.*{match}"):
        fit(model, MSELoss(), Adam(model.parameters()), x, y, epochs=2, progress=False,
            callbacks=[ModelCheckpoint(path, resume=True)])


def test_a_folder_as_checkpoint_path_is_refused_before_training_and_a_missing_folder_made(tmp_path):
    x, y = regression_data(8)
    model = make_model()
    before = weights(model)
    with pytest.raises(ValueError, match="is a folder; pass the path of a file in it"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, progress=False,
            callbacks=[ModelCheckpoint(tmp_path)])
    assert_same_state(weights(model), before)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, progress=False,
        callbacks=[ModelCheckpoint(tmp_path / "new" / "c.npz")])
    assert len(load_checkpoint(tmp_path / "new" / "c.npz")["history"]["epochs"]) == 1


def refused_before_training(path):
    x, y = regression_data(8)
    model = make_model()
    before = weights(model)
    with pytest.raises(ValueError, match=f"cannot write '{path}'"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, progress=False,
            callbacks=[ModelCheckpoint(path)])
    assert_same_state(weights(model), before)  # no training step was taken


def test_a_checkpoint_folder_that_cannot_be_made_is_refused_before_training(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, where the checkpoint's folder would go")
    refused_before_training(tmp_path / "notes.txt" / "c.npz")
    assert (tmp_path / "notes.txt").read_text().startswith("a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_checkpoint_folder_is_refused_before_training(tmp_path):
    (tmp_path / "locked").mkdir(mode=0o500)
    try:
        refused_before_training(tmp_path / "locked" / "c.npz")
    finally:
        (tmp_path / "locked").chmod(0o700)


# ---------------------------------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------------------------------


class NaNAfter:
    """MSE that turns NaN after a given number of calls (a stand-in for a too-large learning rate)."""

    def __init__(self, calls):
        self.calls, self.loss = calls, MSELoss()

    def __call__(self, prediction, target):
        self.calls -= 1
        loss = self.loss(prediction, target)
        return loss * float("nan") if self.calls < 0 else loss


@pytest.mark.parametrize("progress", [False, True])
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, progress):
    x, y = regression_data(64)
    model = make_model()
    path = tmp_path / "c.npz"
    # 4 batches per epoch, no validation: the 9th batch (epoch 3) is the first NaN
    with pytest.raises(NonFiniteLossError, match="epoch 3.*lower the learning rate"):
        fit(model, NaNAfter(8), Adam(model.parameters(), lr=0.01), x, y, epochs=5, batch_size=16,
            progress=progress, callbacks=[ModelCheckpoint(path)])
    state = load_checkpoint(path)
    assert len(state["history"]["epochs"]) == 2
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert temp_files(tmp_path) == []


# ---------------------------------------------------------------------------------------------------
# Bad arguments: refused at the call, before any training, naming what is accepted
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"loss_fn": "mse"}, r"loss_fn must be callable as loss_fn\(prediction, target\).*got 'mse'"),
    ({"optimizer": None}, r"optimizer must be an optimizer such as optim.Adam\(model.parameters\(\)\), got None"),
    ({"model": "net"}, "model must be a scratchnet Module, got str"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"epochs": -2}, "epochs must be an integer >= 1"),
    ({"epochs": 1.5}, "epochs must be an integer >= 1"),
    ({"epochs": True}, "epochs must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"batch_size": "32"}, "batch_size must be an integer >= 1"),
    ({"y": np.zeros((5, 1), np.float32)}, "x and y must hold the same, non-zero number of samples, got 8 and 5"),
    ({"x": np.zeros((0, 4)), "y": np.zeros((0, 1))}, "same, non-zero number of samples, got 0 and 0"),
    ({"metrics": {"m": lambda p, t: 0.0}}, "metrics.*validation_data"),
    ({"metrics": ["mae"], "validation_data": "val"}, "metrics must be a dict"),
    ({"validation_data": (np.zeros((3, 4)),)}, "validation_data must be a pair"),
    ({"validation_data": (np.zeros((3, 5)), np.zeros((3, 1)))},
     r"validation_data's x has samples of shape \(5,\), the training x \(4,\)"),
    ({"validation_data": (np.zeros((3, 4)), np.zeros((3, 2)))},
     r"validation_data's y has samples of shape \(2,\), the training y \(1,\)"),
    ({"validation_data": (np.zeros((3, 4)), np.zeros((2, 1)))}, "x_val and y_val must hold the same"),
    ({"validation_data": (np.zeros((3, 4)), None)}, "y_val must have a sample axis first"),
    ({"x": np.float32(1.5)}, "x must have a sample axis first"),
    ({"callbacks": EarlyStopping()}, "callbacks must be a list of Callback objects"),
    ({"callbacks": ["best"]}, "callbacks must be a list of Callback objects"),
    ({"callbacks": [EarlyStopping(1)]}, r"EarlyStopping watches val_loss: pass validation_data"),
])
def test_bad_arguments(kwargs, match):
    x, y = regression_data(8)
    model = make_model()
    before = weights(model)
    arguments = {"model": model, "loss_fn": MSELoss(), "optimizer": SGD(model.parameters(), lr=0.1),
                 "x": x, "y": y, "epochs": 1, "progress": False}
    arguments.update(kwargs)
    if arguments.get("validation_data") == "val":
        arguments["validation_data"] = (x, y)
    with pytest.raises(ValueError, match=match):
        fit(**arguments)
    assert_same_state(weights(model), before)


@pytest.mark.parametrize("make, match", [
    (lambda: EarlyStopping(0), "patience must be an integer >= 1 or None, got 0"),
    (lambda: EarlyStopping(2.5), "patience must be an integer >= 1 or None"),
    (lambda: EarlyStopping(2, min_delta=-0.1), "min_delta must be a number >= 0, got -0.1"),
    (lambda: EarlyStopping(2, min_delta=float("nan")), "min_delta must be a number >= 0, got nan"),
    (lambda: ModelCheckpoint(None), "path must be a file path and resume a bool"),
    (lambda: ModelCheckpoint("c.npz", resume="yes"), "path must be a file path and resume a bool"),
])
def test_bad_callback_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_loss_that_is_not_one_number_is_fits_own_error():
    x, y = regression_data(8)
    model = make_model()

    def per_sample_loss(prediction, target):
        return (prediction - target).abs()  # (batch, 1): the mean was forgotten

    with pytest.raises(ValueError, match="fit: loss_fn must return a single-number Tensor, got shape"):
        fit(model, per_sample_loss, SGD(model.parameters(), lr=0.1), x, y, epochs=1, progress=False)


def test_bad_arguments_for_evaluate_and_predict():
    x, y = regression_data(8)
    model = make_model()
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        evaluate(model, MSELoss(), x, y, batch_size=0)
    with pytest.raises(ValueError, match="same, non-zero number of samples"):
        evaluate(model, MSELoss(), x, y[:3])
    with pytest.raises(ValueError, match="empty"):
        predict(model, x[:0])


def test_a_custom_callback_sees_the_run_and_can_stop_it():
    class StopAtTwo(Callback):
        def on_epoch_end(self, run, record):
            run.history.stopped_early = record["epoch"] == 2

    x, y = regression_data(8)
    model = make_model()
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=5, progress=False,
                  callbacks=[StopAtTwo()])
    assert len(history) == 2 and history.stopped_early


def test_modules_do_not_import_numpy_directly():
    for module in (train, callbacks):
        assert "import numpy" not in pathlib.Path(module.__file__).read_text()
