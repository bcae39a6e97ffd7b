"""Tests for scratchnet.train: fit / evaluate / predict / checkpoints, on tiny models and data."""

import math
import pathlib

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import backend, nn, train
from scratchnet.losses import CrossEntropyLoss, MSELoss
from scratchnet.optim import SGD, Adam
from scratchnet.train import History, NonFiniteLossError, evaluate, fit, load_checkpoint, predict, save_checkpoint

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


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def temp_files(directory):
    return [p.name for p in pathlib.Path(directory).iterdir() if p.name.endswith(".tmp")]


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
    assert history.seconds > 0
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
    assert_same_weights(same_weights, copy_weights)
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
                  validation_data=(x_val, y_val), metrics={"mae": mae}, keep_best=False, progress=False)
    assert set(history.history) == {"loss", "val_loss", "val_mae"}
    assert all(len(values) == 3 for values in history.history.values())
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3]
    assert all(set(e) == {"epoch", "loss", "val_loss", "val_mae", "seconds"} for e in history.epochs)
    # the last epoch's validation numbers are those of the final model (keep_best=False)
    assert history.history["val_mae"][-1] == pytest.approx(mae(predict(model, x_val), y_val), rel=1e-6)
    assert history.history["val_loss"][-1] == pytest.approx(evaluate(model, MSELoss(), x_val, y_val), rel=1e-6)
    assert history.best_val_loss == min(history.history["val_loss"])


def test_last_partial_batch_is_kept_and_shuffle_is_seeded():
    x, y = regression_data(10)
    model = make_model()
    optimizer = SGD(model.parameters(), lr=0.01)
    steps = []
    original_step = optimizer.step
    optimizer.step = lambda: (steps.append(1), original_step())
    fit(model, MSELoss(), optimizer, x, y, epochs=2, batch_size=4, progress=False)
    assert len(steps) == 6  # 4 + 4 + 2 per epoch

    runs = []
    for _ in range(2):
        model = make_model()
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.05), x, y, epochs=2, batch_size=3, progress=False)
        runs.append(weights(model))
    assert_same_weights(*runs)  # same seed -> same shuffling -> same weights


def test_integer_labels_keep_their_dtype_and_input_transform():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2, 2)).astype(np.float32)
    labels = (x.reshape(60, 4).sum(axis=1) > 0).astype(np.int64)  # CrossEntropyLoss needs integers
    sn.manual_seed(0)
    model = nn.Sequential(nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 2))
    seen_shapes = []

    def flatten(batch):
        seen_shapes.append(batch.shape[1:])
        return batch.reshape(batch.shape[0], -1)

    history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.05), x, labels, epochs=10,
                  batch_size=16, validation_data=(x, labels), input_transform=flatten, progress=False,
                  metrics={"acc": lambda p, t: float((p.argmax(axis=1) == t).mean())})
    assert set(seen_shapes) == {(2, 2)}
    assert history.history["val_acc"][-1] > 0.8
    assert predict(model, x, input_transform=flatten).shape == (60, 2)


def test_progress_bar_and_plain_fallback(capsys, monkeypatch):
    x, y = regression_data(40)
    model = make_model()
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # progress=False is silent

    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, desc="demo")
    if train._tqdm is not None:
        assert "demo 2/2" in capsys.readouterr().err

    monkeypatch.setattr(train, "_tqdm", None)  # as if tqdm were not installed
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, batch_size=4, desc="demo",
        validation_data=(x, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("demo epoch 2/2") and "val_loss" in lines[1]


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
# keep_best and early stopping
# ---------------------------------------------------------------------------------------------------


def worsening_problem():
    """Validation targets are the negated training targets: the better the model fits the training
    set, the worse its validation loss, so the best epoch is an early one."""
    x, y = regression_data(64)
    return x, y, (x, -y)


def test_keep_best_restores_the_weights_of_the_best_epoch():
    x, y, (x_val, y_val) = worsening_problem()
    runs = {}
    for keep_best in (True, False):
        model = make_model()
        history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=6, batch_size=16,
                      validation_data=(x_val, y_val), keep_best=keep_best, progress=False)
        runs[keep_best] = (model, history)
    model, history = runs[True]
    val = history.history["val_loss"]
    assert val[-1] > min(val)  # the validation loss did get worse
    assert history.best_epoch == int(np.argmin(val)) + 1 < 6
    assert history.best_val_loss == min(val)
    assert evaluate(model, MSELoss(), x_val, y_val) == pytest.approx(min(val), rel=1e-6)
    last_model, last_history = runs[False]
    assert last_history.history["val_loss"] == val  # same run otherwise
    assert evaluate(last_model, MSELoss(), x_val, y_val) == pytest.approx(val[-1], rel=1e-6)


def test_keep_best_without_validation_data_is_ignored():
    x, y = regression_data(32)
    model = make_model()
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), x, y, epochs=2, keep_best=True,
                  progress=False)
    assert history.best_epoch is None and len(history) == 2


def test_early_stopping(tmp_path):
    x, y, val = worsening_problem()
    model = make_model()
    history = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=50, batch_size=16,
                  validation_data=val, early_stopping=2, progress=False, checkpoint=tmp_path / "c.npz")
    assert history.stopped_early
    assert len(history) == history.best_epoch + 2
    assert evaluate(model, MSELoss(), *val) == pytest.approx(history.best_val_loss, rel=1e-6)
    assert load_checkpoint(tmp_path / "c.npz")["stopped_early"] is True
    # resuming a run that stopped early trains no further
    model = make_model(seed=4)
    again = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), x, y, epochs=50, batch_size=16,
                validation_data=val, early_stopping=2, progress=False, checkpoint=tmp_path / "c.npz",
                resume=True)
    assert again.stopped_early and again.history == history.history
    assert evaluate(model, MSELoss(), *val) == pytest.approx(history.best_val_loss, rel=1e-6)


# ---------------------------------------------------------------------------------------------------
# Checkpoints and resuming
# ---------------------------------------------------------------------------------------------------


def dropout_run(tmp_path, name, epochs, resume=False, seed=0, dropout=0.5):
    x, y = regression_data(80)
    x_val, y_val = regression_data(24, seed=5)
    model = make_model(dropout=dropout, seed=seed)
    optimizer = Adam(model.parameters(), lr=0.01)
    history = fit(model, MSELoss(), optimizer, x, y, epochs=epochs, batch_size=16,
                  validation_data=(x_val, y_val), checkpoint=tmp_path / name, resume=resume,
                  progress=False, metrics={"mae": lambda p, t: float(np.abs(p - t).mean())})
    return model, optimizer, history


CUPY_DROPOUT_CAVEAT = "on CuPy the dropout generator's state cannot be saved (documented in fit)"


@pytest.mark.parametrize("dropout", [0.5, 0.0])
def test_resume_reproduces_an_uninterrupted_run_bit_for_bit(tmp_path, dropout):
    if dropout and backend.name != "numpy":
        pytest.skip(CUPY_DROPOUT_CAVEAT)
    straight, straight_opt, straight_history = dropout_run(tmp_path, "straight.npz", epochs=4, dropout=dropout)

    dropout_run(tmp_path, "interrupted.npz", epochs=2, dropout=dropout)  # "interrupted" after epoch 2
    assert load_checkpoint(tmp_path / "interrupted.npz")["epoch"] == 2
    # as in a new process: another seed (so nothing matches by luck), a fresh model and optimizer
    resumed, resumed_opt, resumed_history = dropout_run(tmp_path, "interrupted.npz", epochs=4, resume=True,
                                                        seed=123, dropout=dropout)

    assert_same_weights(weights(straight), weights(resumed))
    assert resumed_opt.t == straight_opt.t
    for a, b in zip(straight_opt.m + straight_opt.v, resumed_opt.m + resumed_opt.v):
        assert np.array_equal(backend.to_numpy(a), backend.to_numpy(b))
    assert resumed_history.history == straight_history.history
    assert resumed_history.best_epoch == straight_history.best_epoch
    assert [e["epoch"] for e in resumed_history.epochs] == [1, 2, 3, 4]

    saved = load_checkpoint(tmp_path / "interrupted.npz")
    reference = load_checkpoint(tmp_path / "straight.npz")
    assert saved["epoch"] == reference["epoch"] == 4
    assert_same_weights(saved["model"], reference["model"])
    assert_same_weights(saved["best"], reference["best"])
    assert "host" in saved["rng"] and ("device" in saved["rng"]) == (backend.name == "numpy")


def test_resume_without_the_rng_state_would_differ(tmp_path, monkeypatch):
    """The dropout generator matters: restoring everything except it gives other weights."""
    if backend.name != "numpy":
        pytest.skip(CUPY_DROPOUT_CAVEAT)
    straight, _, _ = dropout_run(tmp_path, "straight.npz", epochs=3)
    dropout_run(tmp_path, "part.npz", epochs=2)
    original = train._set_rng_state
    monkeypatch.setattr(train, "_set_rng_state", lambda state: original({"host": state["host"]}))
    resumed, _, _ = dropout_run(tmp_path, "part.npz", epochs=3, resume=True, seed=123)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(straight).values(), weights(resumed).values()))


def test_resume_when_already_finished_and_missing_checkpoint(tmp_path):
    model, _, history = dropout_run(tmp_path, "done.npz", epochs=2)
    again, _, again_history = dropout_run(tmp_path, "done.npz", epochs=2, resume=True, seed=9)
    assert again_history.history == history.history
    assert_same_weights(weights(model), weights(again))
    # resume=True with no file yet: a fresh start that writes the checkpoint
    _, _, fresh = dropout_run(tmp_path, "new.npz", epochs=1, resume=True)
    assert len(fresh) == 1 and (tmp_path / "new.npz").exists()


def test_checkpoint_contents_and_round_trip(tmp_path):
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01)
    x, y = regression_data(16)
    fit(model, MSELoss(), optimizer, x, y, epochs=1, progress=False)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, optimizer, epoch=3, note="hello", extra_arrays={"a": np.arange(3)})
    with np.load(path, allow_pickle=False) as raw:
        keys = set(raw.files)
    assert {"model/0.weight", "model/0.bias", "model/2.weight", "optim/lr", "optim/t", "optim/m_sum.0",
            "epoch", "note", "extra_arrays/a", "scratchnet_checkpoint"} <= keys
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and state["note"] == "hello" and state["version"] == train.CHECKPOINT_VERSION
    assert np.array_equal(state["extra_arrays"]["a"], np.arange(3))
    fresh = make_model(seed=7)
    fresh.load_state_dict(state["model"])
    assert_same_weights(weights(model), weights(fresh))
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(state["optim"])
    assert fresh_opt.lr == 0.01 and fresh_opt.t == optimizer.t
    assert temp_files(tmp_path) == []
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(path, model, optim={"x": 1})
    with pytest.raises(ValueError, match="note.*without pickle"):
        save_checkpoint(path, model, note=None)
    assert load_checkpoint(path)["note"] == "hello"  # the failed saves left the file alone


def test_atomic_write_keeps_the_old_checkpoint_when_saving_fails(tmp_path, monkeypatch):
    model = make_model()
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(backend.np, "savez", broken_savez)
    model.load_state_dict({k: v + 1 for k, v in model.state_dict().items()})
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]  # no temporary file left
    assert load_checkpoint(path)["epoch"] == 1


def test_load_checkpoint_rejects_other_files(tmp_path):
    not_npz = tmp_path / "notes.txt"
    not_npz.write_text("hello")
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(3))
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, scratchnet_checkpoint=np.asarray(1), obj=np.array([{"a": 1}], dtype=object))
    for path in (not_npz, plain, single, pickled):
        with pytest.raises(ValueError, match=f"{path.name}.*not a scratchnet checkpoint"):
            load_checkpoint(path)
    future = tmp_path / "future.npz"
    np.savez(future, scratchnet_checkpoint=np.asarray(99))
    with pytest.raises(ValueError, match="future.npz.*version 99"):
        load_checkpoint(future)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz")
    # fit refuses to resume from a checkpoint it did not write
    model = make_model()
    save_checkpoint(tmp_path / "bare.npz", model)
    x, y = regression_data(8)
    with pytest.raises(ValueError, match="bare.npz.*not one written by fit: it lacks epoch, history_epochs"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1,
            checkpoint=tmp_path / "bare.npz", resume=True, progress=False)
    # ... nor from one that has lost part of fit's state
    save_checkpoint(tmp_path / "partial.npz", model, history_epochs="[]", rng={"host": "{}"})
    with pytest.raises(ValueError, match="partial.npz.*lacks epoch, best_epoch, best_val_loss, stopped_early \\(no"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1,
            checkpoint=tmp_path / "partial.npz", resume=True, progress=False)
    odd_version = tmp_path / "odd_version.npz"
    np.savez(odd_version, scratchnet_checkpoint=np.asarray("x"))
    with pytest.raises(ValueError, match="odd_version.npz.*is not a version number"):
        load_checkpoint(odd_version)


@pytest.mark.parametrize("edit", ["weights as text", "no optimizer state"])
def test_resume_from_a_foreign_checkpoint_is_a_clear_error(tmp_path, edit):
    x, y = regression_data(8)
    model = make_model()
    path = tmp_path / "ckpt.npz"
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, checkpoint=path, progress=False)
    with np.load(path) as stored:
        arrays = dict(stored)
    if edit == "weights as text":
        arrays["model/0.weight"] = np.full(arrays["model/0.weight"].shape, "w")
    else:
        arrays = {key: value for key, value in arrays.items() if not key.startswith("optim/")}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="cannot resume from .*ckpt.npz.*differs from the one that wrote it"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=2, checkpoint=path, resume=True,
            progress=False)


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    model = make_model()
    path = tmp_path / "ckpt.npz"
    x, y = regression_data(8)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, checkpoint=path, progress=False)
    data = bytearray(path.read_bytes())
    if damage == "truncated":  # a disk that filled up, a copy cut short
        data = data[: len(data) // 2]
    else:  # inside the first stored array: its CRC no longer matches
        data[len(data) // 4] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="ckpt.npz.*not a scratchnet checkpoint.*cannot read"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="ckpt.npz.*not a scratchnet checkpoint"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=2, checkpoint=path, resume=True,
            progress=False)


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
    path = tmp_path / "ckpt.npz"
    # 4 batches per epoch, no validation: the 9th batch (epoch 3) is the first NaN
    with pytest.raises(NonFiniteLossError, match="epoch 3.*lower the learning rate") as info:
        fit(model, NaNAfter(8), Adam(model.parameters(), lr=0.01), x, y, epochs=5, batch_size=16,
            checkpoint=path, progress=progress)
    assert info.value.epoch == 3 and len(info.value.history) == 2
    state = load_checkpoint(path)
    assert state["epoch"] == 2
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert temp_files(tmp_path) == []


def test_nan_weights_with_a_finite_loss_are_caught(tmp_path):
    x, y = regression_data(32)
    model = make_model()

    class Exploding(SGD):
        def step(self):
            super().step()
            self.steps = getattr(self, "steps", 0) + 1
            if self.steps == 4:  # the last step of epoch 2 (2 batches per epoch)
                self.params[0].data[...] = float("inf")

    path = tmp_path / "ckpt.npz"
    with pytest.raises(NonFiniteLossError, match=r"epoch 2.*0\.weight"):
        fit(model, MSELoss(), Exploding(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=16,
            checkpoint=path, progress=False)
    assert load_checkpoint(path)["epoch"] == 1


# ---------------------------------------------------------------------------------------------------
# Bad arguments
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": -2}, "epochs must be a positive integer"),
    ({"epochs": 1.5}, "epochs must be a positive integer"),
    ({"epochs": True}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"y": np.zeros((5, 1), np.float32)}, r"same number of samples.*len\(x\)=8.*len\(y\)=5"),
    ({"early_stopping": 2}, "early_stopping.*validation_data"),
    ({"early_stopping": 0, "validation_data": "val"}, "early_stopping.*positive integer"),
    ({"metrics": {"m": lambda p, t: 0.0}}, "metrics.*validation_data"),
    ({"metrics": ["mae"], "validation_data": "val"}, "metrics must be a dict"),
    ({"validation_data": (np.zeros((3, 4)),)}, "validation_data must be a pair"),
    ({"resume": True}, "resume=True needs checkpoint"),
    ({"input_transform": 3}, "input_transform must be a function"),
    ({"checkpoint": "no/such/folder/ckpt.npz"}, "folder for checkpoint.*does not exist"),
    ({"checkpoint": "."}, r"checkpoint='\.' is a folder; pass the path of a file in it"),
    ({"x": 1.5}, "x must be an array .* with the samples on the first axis, got float"),
    ({"x": np.float32(1.5)}, "x must have a sample axis first, got a scalar"),
    ({"y": None}, "y must be an array .* with the samples on the first axis, got NoneType"),
    ({"validation_data": (np.zeros((3, 4)), None)}, r"y_val \(validation_data\[1\]\) must be an array"),
    ({"min_delta": True}, "min_delta must be a number >= 0, got True"),
    ({"min_delta": float("nan")}, "min_delta must be a number >= 0, got nan"),
    ({"min_delta": -0.1}, "min_delta must be a number >= 0"),
])
def test_bad_arguments(kwargs, match):
    x, y = regression_data(8)
    model = make_model()
    arguments = {"x": x, "y": y, "epochs": 1, "progress": False}
    arguments.update(kwargs)
    if arguments.get("validation_data") == "val":
        arguments["validation_data"] = (x, y)
    with pytest.raises(ValueError, match=match):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), **arguments)


def test_min_delta_takes_any_real_number():
    x, y = regression_data(8)
    model = make_model()
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, validation_data=(x, y),
                  min_delta=np.float32(0.1), progress=False)
    assert len(history) == 1


def test_an_unwritable_checkpoint_folder_is_refused_before_training(tmp_path, monkeypatch):
    def no_permission(**_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train.tempfile, "TemporaryFile", no_permission)
    x, y = regression_data(8)
    model = make_model()
    before = weights(model)
    with pytest.raises(ValueError, match="cannot write the checkpoint in .*Permission denied"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), x, y, epochs=1, checkpoint=tmp_path / "c.npz",
            progress=False)
    assert_same_weights(weights(model), before)  # refused before the first step


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
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate(model, MSELoss(), x, y, batch_size=0)
    with pytest.raises(ValueError, match="same number of samples"):
        evaluate(model, MSELoss(), x, y[:3])
    with pytest.raises(ValueError, match="empty"):
        predict(model, x[:0])


def test_module_does_not_import_numpy_directly():
    source = pathlib.Path(train.__file__).read_text()
    assert "import numpy" not in source
