"""The training loop: ``fit``, ``evaluate`` and ``predict``, as Keras users know them.

Each epoch shuffles the samples (with the seeded ``backend.host_rng()``) and, for each mini-batch, runs
forward, loss, ``zero_grad``, ``backward``, ``step``; then measures ``validation_data`` in ``eval()`` mode
without a graph, and calls the callbacks (``scratchnet.callbacks``): best weights, early stop, checkpoint.
"""

import math
import time
from types import SimpleNamespace

from . import backend
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .checks import check_integer
from .nn import Module
from .tensor import Tensor, no_grad

try:  # the progress bar is optional: without tqdm, fit prints one line per epoch
    from tqdm.auto import tqdm
except ImportError:  # pragma: no cover - depends on the environment
    tqdm = None

__all__ = ["EarlyStopping", "History", "ModelCheckpoint", "NonFiniteLossError", "epoch_values", "evaluate", "fit",
           "predict"]

EVAL_BATCH_SIZE = 256  # validation, evaluate and predict keep no graph: larger batches are fine


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite: the weights have diverged."""


class History:
    """What ``fit`` returns. ``epochs``: one record per epoch, ``{"epoch", "loss", "val_loss",
    "val_<metric>", "seconds"}``; ``history``: Keras' dict of lists (without epoch and seconds);
    ``best_epoch``/``best_val_loss``: the epoch with the lowest ``val_loss``; ``stopped_early``."""

    def __init__(self):
        self.epochs, self.stopped_early = [], False

    def __len__(self):
        return len(self.epochs)

    @property
    def history(self):
        keys = [key for key in (self.epochs[0] if self.epochs else ()) if key not in ("epoch", "seconds")]
        return {key: [record[key] for record in self.epochs] for key in keys}

    @property
    def best_epoch(self):
        losses = [(r["val_loss"], r["epoch"]) for r in self.epochs if math.isfinite(r.get("val_loss", math.nan))]
        return min(losses)[1] if losses else None

    @property
    def best_val_loss(self):
        return None if self.best_epoch is None else self.epochs[self.best_epoch - 1]["val_loss"]

    @property
    def seconds(self):
        return sum(r["seconds"] for r in self.epochs)


def fit(model, loss_fn, optimizer, x, y, *, epochs, batch_size=32, validation_data=None, metrics=None,
        callbacks=None, progress=True):
    """Train ``model`` on (x, y) for ``epochs`` epochs of shuffled mini-batches; return a ``History``.

    ``x``, ``y``: arrays with the samples on the first axis. ``validation_data=(x_val, y_val)`` adds
    ``val_loss``, and ``val_<name>`` for each entry of ``metrics={name: fn(prediction, target)}``
    (host arrays in, a float out). ``callbacks``: ``Callback`` objects or functions of the epoch's
    record. ``progress``: a tqdm bar per epoch (a string labels it), or False for silence.
    """
    x, y, val, callbacks = _check_fit_args(model, loss_fn, optimizer, x, y, epochs, batch_size,
                                           validation_data, metrics, [] if callbacks is None else callbacks)
    backend.device_rng()  # the dropout generator exists before the first shuffle: resume sees the same draws
    # what callbacks see of this call (Keras gives its callbacks model and params)
    run = SimpleNamespace(model=model, optimizer=optimizer, history=History(), epochs=epochs, batch_size=batch_size,
                          validation=val is not None, callbacks=callbacks)
    was_training = model.training
    _call(run, "on_train_begin")
    try:
        while len(run.history) < epochs and not run.history.stopped_early:
            started, epoch = time.perf_counter(), len(run.history) + 1
            model.train()
            order = backend.xp.asarray(backend.host_rng().permutation(len(x)))
            total = backend.xp.zeros((), dtype=backend.xp.float64)  # summed on the device: one wait per epoch
            label = progress and f"{progress if isinstance(progress, str) else 'epoch'} {epoch}/{epochs}"
            batches = _bar(range(0, len(x), batch_size), label)
            for start in batches:
                index = order[start:start + batch_size]
                xb = x[index]
                loss = loss_fn(model(Tensor(xb)), xb if y is x else y[index])
                total += _number(loss, "fit") * len(index)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            record = {"epoch": epoch, "loss": float(total) / len(x)}
            if not math.isfinite(record["loss"]):
                raise NonFiniteLossError(f"fit: epoch {epoch}: the training loss is {record['loss']}: training "
                                         f"diverged; lower the learning rate or check the data")
            if val is not None:
                record["val_loss"], outputs = _run_eval(model, loss_fn, *val, EVAL_BATCH_SIZE, bool(metrics))
                for name, metric in (metrics or {}).items():
                    record[f"val_{name}"] = float(metric(backend.to_numpy(outputs), backend.to_numpy(val[1])))
            record["seconds"] = time.perf_counter() - started
            run.history.epochs.append(record)
            _call(run, "on_epoch_end", record)
            _show(batches, label, record)
    finally:
        model.train(was_training)
    _call(run, "on_train_end")
    return run.history


def _call(run, hook, *args):
    for callback in run.callbacks:
        if isinstance(callback, Callback):
            getattr(callback, hook)(run, *args)
        elif hook == "on_epoch_end":
            callback(dict(*args))


def _check_fit_args(model, loss_fn, optimizer, x, y, epochs, batch_size, validation_data, metrics, callbacks):
    """Refuse bad arguments before any training; return (x, y, (x_val, y_val) or None, callbacks)."""
    if not isinstance(model, Module):
        raise ValueError(f"fit: model must be a scratchnet Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"fit: loss_fn must be callable as loss_fn(prediction, target), e.g. losses.MSELoss(); "
                         f"got {loss_fn!r}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise ValueError(f"fit: optimizer must be an optimizer such as optim.Adam(model.parameters()), "
                         f"got {optimizer!r}")
    check_integer("fit", "epochs", epochs, 1)
    check_integer("fit", "batch_size", batch_size, 1)
    if metrics is not None and not (isinstance(metrics, dict) and all(map(callable, metrics.values()))):
        raise ValueError(f"fit: metrics must be a dict {{name: fn(prediction, target)}} or None, got {metrics!r}")
    if metrics and validation_data is None:
        raise ValueError("fit: metrics are measured on validation data; pass validation_data=(x_val, y_val)")
    if not (isinstance(callbacks, list | tuple) and all(isinstance(c, Callback) or callable(c) for c in callbacks)):
        raise ValueError(f"fit: callbacks must be a list of Callback objects or functions of an epoch's record, "
                         f"got {callbacks!r}")
    callbacks = sorted(callbacks, key=lambda c: isinstance(c, ModelCheckpoint))  # the checkpoint saves the rest
    x, y = _pair("fit", x, y, "x", "y")
    if validation_data is not None and not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
        raise ValueError(f"fit: validation_data must be a pair (x_val, y_val), got {type(validation_data).__name__}")
    val = None if validation_data is None else _pair("fit", *validation_data, "x_val", "y_val", like=(x, y))
    return x, y, val, callbacks


def _pair(where, x, y, x_name, y_name, like=None):
    """(x, y) on the backend, with the same non-zero number of samples (y stays x when it is x), each
    sample shaped as those of the pair ``like`` when given."""
    same, x = y is x, _to_backend(where, x, x_name)
    y = x if same else _to_backend(where, y, y_name)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{where}: {x_name} and {y_name} must hold the same, non-zero number of samples, "
                         f"got {len(x)} and {len(y)}")
    for name, given, train in zip("xy", (x, y), like or ()):
        if given.shape[1:] != train.shape[1:]:
            raise ValueError(f"{where}: validation_data's {name} has samples of shape {given.shape[1:]}, "
                             f"the training {name} {train.shape[1:]}: they must match")
    return x, y


def _to_backend(where, data, name):
    """The whole data set on the backend, once: integers (labels, uint8 images) and floats keep their dtype."""
    data = data.data if isinstance(data, Tensor) else data
    data = data if hasattr(data, "dtype") else backend.np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{where}: {name} must have a sample axis first, got a single number")
    return backend.xp.asarray(data) if data.dtype.kind in "iu" else backend.as_array(data)


def _number(loss, where):
    data = loss.data if isinstance(loss, Tensor) else loss
    if getattr(data, "size", 1) != 1:
        raise ValueError(f"{where}: loss_fn must return a single-number Tensor, got shape {data.shape}")
    return data.reshape(())


def epoch_values(record):
    """An epoch record's losses and metrics as ``{name: "0.1234"}`` (no epoch number, no seconds)."""
    return {k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds")}


def _bar(batches, label):
    return batches if not label or tqdm is None else tqdm(batches, desc=label, unit="batch", dynamic_ncols=True)


def _show(batches, label, record):
    """The epoch's summary: on its tqdm bar, or as one printed line without tqdm."""
    if hasattr(batches, "set_postfix"):
        batches.set_postfix(epoch_values(record))
        batches.close()
    elif label:
        values = " - ".join(f"{k}: {v}" for k, v in epoch_values(record).items())
        print(f"{label} - {values} - {record['seconds']:.1f}s", flush=True)


def _run_eval(model, loss_fn, x, y, batch_size, keep_outputs):
    """One pass in ``eval()`` mode without a graph: (mean loss over the samples or None, outputs or None)."""
    total, outputs, was_training = backend.xp.zeros((), dtype=backend.xp.float64), [], model.training
    try:
        model.eval()
        with no_grad():
            for start in range(0, len(x), batch_size):
                out = model(Tensor(x[start:start + batch_size]))
                if loss_fn is not None:
                    total += _number(loss_fn(out, y[start:start + batch_size]), "evaluate") * len(out.data)
                if keep_outputs:
                    outputs.append(out.data)
    finally:
        model.train(was_training)
    loss = float(total) / len(x) if loss_fn is not None else None
    return loss, backend.xp.concatenate(outputs) if keep_outputs else None


def evaluate(model, loss_fn, x, y, batch_size=EVAL_BATCH_SIZE):
    """The mean loss of ``model`` on (x, y), every sample counted once, in ``eval()`` mode without a graph."""
    batch_size = check_integer("evaluate", "batch_size", batch_size, 1)
    x, y = _pair("evaluate", x, y, "x", "y")
    return _run_eval(model, loss_fn, x, y, batch_size, keep_outputs=False)[0]


def predict(model, x, batch_size=EVAL_BATCH_SIZE):
    """The model's outputs for every sample of x as one host NumPy array, in ``eval()`` mode."""
    batch_size = check_integer("predict", "batch_size", batch_size, 1)
    x = _to_backend("predict", x, "x")
    if len(x) == 0:
        raise ValueError("predict: x is empty (0 samples)")
    return backend.to_numpy(_run_eval(model, None, x, None, batch_size, keep_outputs=True)[1])
