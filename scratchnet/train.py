"""The training loop: ``fit``, ``evaluate``, ``predict`` and checkpoints.

Everything in the rest of the library (tensors, layers, losses, optimizers) is a piece; this module
puts the pieces together the way every deep-learning framework does. Read ``fit`` as a lesson:

**Batches and epochs.** The training set is cut into mini-batches of ``batch_size`` samples. For
each batch we run the model (the *forward* pass), measure the loss, compute its gradient with
respect to every weight (``loss.backward()``, the *backward* pass) and let the optimizer move the
weights a small step against it (``optimizer.step()``). One pass over the whole training set, batch
after batch, is an **epoch**; training runs for several epochs. A batch is a compromise: the
gradient of one sample is very noisy, the gradient of the whole data set is exact but costs a full
pass for a single step; a few dozen samples give a usable direction at a small cost, and the GPU
processes them in parallel.

**Shuffling.** At the start of every epoch the samples are put in a new random order. Without it the
batches would be the same every epoch, in the same order, and a data set sorted by label (all the
0s, then all the 1s, ...) would pull the weights towards one class after another. The order is drawn
from scratchnet's seeded host generator (``backend.host_rng()``), so ``manual_seed(n)`` makes a run
reproducible.

**Validation.** After each epoch the model is measured on data it never trains on
(``validation_data``): that is the honest estimate of how it does on new data, and the way to see
over-fitting (training loss still falling, validation loss rising). Validation runs in ``eval()``
mode, where dropout is switched off (we want the model's real answer, not a randomly thinned one),
and under ``no_grad()``, which skips recording the graph: no gradient is needed, so the memory and
time that the graph costs are saved.

**Keeping the best weights.** The weights after the last epoch are not always the best ones: once the
model starts to over-fit, the validation loss goes up again. Like Keras' ``ModelCheckpoint(
save_best_only=True)``, ``fit`` copies the weights of the epoch with the lowest validation loss and
puts them back at the end (``keep_best``). **Early stopping** goes one step further and ends training
when the validation loss has not improved for ``early_stopping`` epochs in a row.

**Checkpoints.** A long run can be interrupted (a crash, a time limit, Ctrl-C). With
``checkpoint="run.npz"`` everything needed to carry on is written after every epoch: the weights, the
optimizer's state (Adam's moment estimates), the history, the best weights and the state of the
random generators. ``fit(..., resume=True)`` reads it and continues from the next epoch; the result is
the same, bit for bit, as a run that was never interrupted (see the CuPy caveat in ``fit``).

**Speed.** Reading a number from a GPU (``float(loss)``) makes the CPU wait until the GPU has
finished all the work queued so far. The loop therefore adds the batch losses up *on the device* and
reads the sum once per epoch (and, when a progress bar is shown, about every ten batches).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time

from . import backend
from .checks import is_integer, is_real
from .files import UNREADABLE_NPZ, atomic_write, load_npz
from .tensor import Tensor, no_grad

try:  # the progress bar is optional: without tqdm, fit prints one line per epoch
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

__all__ = [
    "CHECKPOINT_VERSION", "History", "NonFiniteLossError", "evaluate", "fit", "load_checkpoint",
    "predict", "save_checkpoint",
]

CHECKPOINT_VERSION = 1
_VERSION_KEY = "scratchnet_checkpoint"
_RESERVED_GROUPS = ("model", "optim")
_POSTFIX_EVERY = 10  # batches between two progress-bar loss updates (each one waits for the device)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite: the weights have diverged.

    Attributes: ``epoch`` (1-based number of the epoch where it happened) and ``history`` (the
    ``History`` of the epochs completed before it). A checkpoint, if one was being written, still
    holds the last good epoch.
    """

    def __init__(self, message, epoch=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class History:
    """What ``fit`` returns: the record of a training run, in the shape Keras users know.

    - ``history``: dict of lists, one value per epoch: ``"loss"`` (mean training loss), and with
      validation data ``"val_loss"`` and ``"val_<name>"`` for every metric.
    - ``epochs``: one dict per epoch: ``{"epoch": 1-based number, "loss": ..., "val_loss": ...,
      "val_<name>": ..., "seconds": ...}``.
    - ``best_epoch`` / ``best_val_loss``: the (1-based) epoch with the lowest validation loss and that
      loss (``None`` without validation data). With ``min_delta > 0``, a later epoch counts as better
      only when it is lower by more than ``min_delta`` (as in Keras' ``EarlyStopping``).
    - ``stopped_early``: True when early stopping ended the run.
    - ``seconds``: wall-clock time of the ``fit`` call (a resumed run counts only its own epochs;
      ``sum(e["seconds"] for e in epochs)`` counts all of them).
    """

    def __init__(self):
        self.history = {}
        self.epochs = []
        self.best_epoch = None
        self.best_val_loss = None
        self.stopped_early = False
        self.seconds = 0.0

    def _append(self, record):
        self.epochs.append(dict(record))
        for key, value in record.items():
            if key not in ("epoch", "seconds"):
                self.history.setdefault(key, []).append(value)

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        last = self.epochs[-1] if self.epochs else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k not in ("epoch", "seconds"))
        return (f"History(epochs={len(self.epochs)}, {shown or 'empty'}, best_epoch={self.best_epoch}, "
                f"stopped_early={self.stopped_early})")


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------


def _check_positive_int(function, name, value):
    if not is_integer(value) or value < 1:
        raise ValueError(f"{function}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _to_backend(data, function, name):
    """The whole data set on the backend, once. Float data through ``backend.as_array`` (keeps
    float32/float64, makes booleans float32); integers keep their dtype (cross-entropy needs integer
    labels, and uint8 images take a quarter of the memory of float32 ones)."""
    if isinstance(data, Tensor):
        data = data.data
    if not hasattr(data, "dtype") or not hasattr(data, "shape"):
        data = backend.np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{function}: {name} must have a sample axis first, got a scalar")
    if backend.np.dtype(data.dtype).kind in "iu":
        return backend.xp.asarray(data)
    return backend.as_array(data)


def _sample_count(function, name, data):
    """How many samples ``data`` holds (its first axis), or a clear error if it has no such axis."""
    shape = getattr(data, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise ValueError(f"{function}: {name} must have a sample axis first, got a scalar")
        return shape[0]
    try:
        return len(data)
    except TypeError:
        raise ValueError(f"{function}: {name} must be an array (or list) with the samples on the first axis, "
                         f"got {type(data).__name__}") from None


def _batch_slices(n, batch_size):
    """(start, stop) of every batch; the last one may be smaller (it is kept, as in Keras/PyTorch)."""
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def _run_eval(model, loss_fn, x, y, batch_size, input_transform, keep_outputs):
    """One pass over (x, y) in eval mode without a graph. Returns (mean loss or None, outputs or None).

    The loss is the mean over all samples: each batch's mean loss weighted by its size, summed on
    the device and read once at the end.
    """
    xp = backend.xp
    total = xp.zeros((), dtype=xp.float64)
    outputs = []
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            for start, stop in _batch_slices(len(x), batch_size):
                xb = x[start:stop]
                if input_transform is not None:
                    xb = input_transform(xb)
                out = model(Tensor(xb))
                if loss_fn is not None:
                    total += _scalar(loss_fn(out, y[start:stop]), "evaluate") * (stop - start)
                if keep_outputs:
                    outputs.append(out.data)
    finally:
        model.train(was_training)
    mean_loss = float(total) / len(x) if loss_fn is not None else None
    return mean_loss, (xp.concatenate(outputs) if keep_outputs else None)


def _scalar(loss, function):
    data = loss.data if isinstance(loss, Tensor) else loss
    if getattr(data, "size", 1) != 1:
        raise ValueError(f"{function}: loss_fn must return a single-number Tensor, got shape {data.shape}")
    return data.reshape(())


def _eval_args(function, model, x, batch_size, input_transform):
    batch_size = _check_positive_int(function, "batch_size", batch_size)
    if input_transform is not None and not callable(input_transform):
        raise ValueError(f"{function}: input_transform must be a function or None, got {input_transform!r}")
    x = _to_backend(x, function, "x")
    if len(x) == 0:
        raise ValueError(f"{function}: x is empty (0 samples)")
    return x, batch_size


# ---------------------------------------------------------------------------------------------------
# evaluate / predict
# ---------------------------------------------------------------------------------------------------


def evaluate(model, loss_fn, x, y, batch_size=256, *, input_transform=None):
    """The mean loss of ``model`` on (x, y): every sample counts once, whatever the batch size.

    Runs in ``eval()`` mode (no dropout) and under ``no_grad()`` (no graph), then puts the model back
    in the mode it was in. ``input_transform`` is applied to each batch of x, as in ``fit``.
    """
    x, batch_size = _eval_args("evaluate", model, x, batch_size, input_transform)
    y = _to_backend(y, "evaluate", "y")
    if len(x) != len(y):
        raise ValueError(f"evaluate: x and y must have the same number of samples, got {len(x)} and {len(y)}")
    loss, _ = _run_eval(model, loss_fn, x, y, batch_size, input_transform, keep_outputs=False)
    return loss


def predict(model, x, batch_size=256, *, input_transform=None):
    """The model's outputs for every sample of x, as one host NumPy array (``backend.to_numpy``).

    Runs in ``eval()`` mode under ``no_grad()`` and restores the previous mode, like ``evaluate``.
    """
    x, batch_size = _eval_args("predict", model, x, batch_size, input_transform)
    _, outputs = _run_eval(model, None, x, None, batch_size, input_transform, keep_outputs=True)
    return backend.to_numpy(outputs)


# ---------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------


def save_checkpoint(path, model, optimizer=None, **extra):
    """Write ``model`` (and ``optimizer``) state plus ``extra`` values to ``path`` as a ``.npz`` file.

    Keys in the file: ``model/<dotted parameter name>``, ``optim/<key>``, ``scratchnet_checkpoint``
    (the format version), and for each extra value: ``<name>`` (a number, string or array) or, for a
    dict, ``<name>/<key>`` per item. The file is written exactly at ``path`` (no ``.npz`` is added).

    The write is atomic (``scratchnet.files.atomic_write``): a crash or an error halfway through leaves
    the previous checkpoint untouched and no temporary file behind.
    """
    np = backend.np
    arrays = {_VERSION_KEY: np.asarray(CHECKPOINT_VERSION)}
    for name, value in model.state_dict().items():
        arrays[f"model/{name}"] = value
    if optimizer is not None:
        for key, value in optimizer.state_dict().items():
            arrays[f"optim/{key}"] = backend.to_numpy(value)
    for name, value in extra.items():
        if name in _RESERVED_GROUPS or name == _VERSION_KEY:
            raise ValueError(f"save_checkpoint: extra key {name!r} is reserved; reserved keys are "
                             f"{', '.join(_RESERVED_GROUPS + (_VERSION_KEY,))}")
        items = {f"{name}/{key}": v for key, v in value.items()} if isinstance(value, dict) else {name: value}
        for key, v in items.items():
            host = isinstance(v, str | bool | int | float | list | tuple | np.ndarray | np.generic) or v is None
            array = np.asarray(v) if host else backend.to_numpy(v)  # to_numpy: device arrays, Tensors
            if array.dtype == object:
                raise ValueError(f"save_checkpoint: {key} cannot be stored without pickle (an object array); "
                                 f"pass numbers, strings or numeric arrays")
            arrays[key] = array

    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def load_checkpoint(path):
    """Read a file written by ``save_checkpoint`` (with ``allow_pickle=False``: loading runs no code).

    Returns a dict: ``"model"`` -> {parameter name: array} (for ``model.load_state_dict``),
    ``"optim"`` -> optimizer state (for ``optimizer.load_state_dict``; absent if none was saved),
    ``"version"``, and each extra value under its name (dicts again as dicts). Single numbers and
    strings come back as Python ``int``/``float``/``str``.

    Raises ``ValueError`` naming the file if it is not a scratchnet checkpoint or has another version.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint file at {path!r}")
    not_ours = f"load_checkpoint: {path!r} is not a scratchnet checkpoint"
    try:
        loaded = load_npz(path)
    except UNREADABLE_NPZ as error:
        raise ValueError(f"{not_ours} (cannot read it as .npz: {error})") from error
    try:
        with loaded:
            stored = {key: loaded[key] for key in loaded.files}
    except UNREADABLE_NPZ as error:  # a damaged member, or an object array (which would need pickle)
        raise ValueError(f"{not_ours} (cannot read its arrays: {error})") from error
    if _VERSION_KEY not in stored:
        raise ValueError(f"{not_ours} (it has no {_VERSION_KEY!r} key)")
    try:
        version = int(stored.pop(_VERSION_KEY))
    except (TypeError, ValueError):
        raise ValueError(f"{not_ours} (its {_VERSION_KEY!r} is not a version number)") from None
    if version != CHECKPOINT_VERSION:
        raise ValueError(f"load_checkpoint: {path!r} has checkpoint format version {version}, this "
                         f"scratchnet reads version {CHECKPOINT_VERSION}")
    result = {"version": version}
    for key, array in stored.items():
        value = array.item() if array.ndim == 0 and key.split("/")[0] not in ("model", "best") else array
        if "/" in key:
            group, name = key.split("/", 1)
            result.setdefault(group, {})[name] = value
        else:
            result[key] = value
    result.setdefault("model", {})
    return result


# ---------------------------------------------------------------------------------------------------
# Random-generator state (what makes a resumed run identical to an uninterrupted one)
# ---------------------------------------------------------------------------------------------------


def _rng_state():
    """The host (shuffling) and, on NumPy, the device (dropout) generator states as JSON strings.

    A NumPy generator's state is a small dict with 128-bit integers, which JSON keeps exactly.
    CuPy's generator offers no way to read its state, so on CuPy the dropout masks after a resume
    differ from those of an uninterrupted run (the shuffling order still matches).
    """
    state = {"host": json.dumps(backend.host_rng().bit_generator.state)}
    if backend.name == "numpy":
        state["device"] = json.dumps(backend.device_rng().bit_generator.state)
    return state


def _set_rng_state(state):
    if "device" in state and backend.name == "numpy":
        backend.device_rng().bit_generator.state = json.loads(state["device"])
    backend.host_rng().bit_generator.state = json.loads(state["host"])


# ---------------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------------


def _check_fit_args(epochs, batch_size, x, y, validation_data, metrics, early_stopping, checkpoint,
                    resume, input_transform, min_delta, eval_batch_size, on_epoch_end=None):
    epochs = _check_positive_int("fit", "epochs", epochs)
    batch_size = _check_positive_int("fit", "batch_size", batch_size)
    eval_batch_size = _check_positive_int("fit", "eval_batch_size", eval_batch_size)
    n_x, n_y = _sample_count("fit", "x", x), _sample_count("fit", "y", y)
    if n_x != n_y:
        raise ValueError(f"fit: x and y must have the same number of samples, got len(x)={n_x} and len(y)={n_y}")
    if n_x == 0:
        raise ValueError("fit: the training set is empty (x has 0 samples)")
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val) or None, got "
                             f"{type(validation_data).__name__}")
        n_x_val = _sample_count("fit", "x_val (validation_data[0])", validation_data[0])
        n_y_val = _sample_count("fit", "y_val (validation_data[1])", validation_data[1])
        if n_x_val != n_y_val or n_x_val == 0:
            raise ValueError("fit: validation_data (x_val, y_val) must hold the same, non-zero number of "
                             f"samples, got {n_x_val} and {n_y_val}")
    if metrics is not None:
        if not isinstance(metrics, dict) or not all(isinstance(k, str) and callable(f) for k, f in metrics.items()):
            raise ValueError("fit: metrics must be a dict {name: fn(prediction, target) -> float} or None, "
                             f"got {metrics!r}")
        if validation_data is None:
            raise ValueError("fit: metrics are computed on validation data; pass validation_data=(x_val, y_val)")
    if early_stopping is not None:
        early_stopping = _check_positive_int("fit", "early_stopping (patience in epochs, or None)", early_stopping)
        if validation_data is None:
            raise ValueError("fit: early_stopping watches val_loss; pass validation_data=(x_val, y_val)")
    if resume and checkpoint is None:
        raise ValueError("fit: resume=True needs checkpoint=<path of the .npz to resume from>")
    if checkpoint is not None:
        _check_checkpoint_path(checkpoint)
    if input_transform is not None and not callable(input_transform):
        raise ValueError(f"fit: input_transform must be a function or None, got {input_transform!r}")
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise ValueError(f"fit: on_epoch_end must be a function of the epoch's record, or None; got {on_epoch_end!r}")
    if not (is_real(min_delta) and 0 <= min_delta < math.inf):
        raise ValueError(f"fit: min_delta must be a number >= 0, got {min_delta!r}")
    return epochs, batch_size, early_stopping, eval_batch_size


def _check_checkpoint_path(checkpoint):
    """Refuse, before any training, a checkpoint path that fit could not write after the first epoch."""
    path = os.path.abspath(os.fspath(checkpoint))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ValueError(f"fit: the folder for checkpoint={os.fspath(checkpoint)!r} does not exist; create it "
                         f"first (the checkpoint file itself is created by fit)")
    if os.path.isdir(path):
        raise ValueError(f"fit: checkpoint={os.fspath(checkpoint)!r} is a folder; pass the path of a file in it, "
                         f"e.g. {os.path.join(os.fspath(checkpoint), 'checkpoint.npz')!r}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"fit: cannot write the checkpoint in {folder!r} ({error.strerror or error}); "
                         f"choose a folder you can write to") from None


def fit(model, loss_fn, optimizer, x, y, *, epochs, batch_size=32, validation_data=None, shuffle=True,
        metrics=None, keep_best=True, early_stopping=None, checkpoint=None, resume=False, progress=True,
        desc="train", input_transform=None, eval_batch_size=256, min_delta=0.0, on_epoch_end=None):
    """Train ``model`` on (x, y) for ``epochs`` epochs; return a ``History``.

    Each epoch: (1) draw a new order of the samples (``shuffle``); (2) for each mini-batch of
    ``batch_size`` samples (the last one may be smaller) run ``loss = loss_fn(model(xb), yb)``, then
    ``optimizer.zero_grad(); loss.backward(); optimizer.step()`` with the model in ``train()`` mode;
    (3) with ``validation_data=(x_val, y_val)``, measure ``val_loss`` and the ``metrics`` in
    ``eval()`` mode without a graph; (4) remember the best weights, write the ``checkpoint``, and
    decide whether to stop early.

    Arguments beyond the obvious ones:

    - ``x``, ``y``: NumPy or backend arrays with the samples on the first axis; they are moved to the
      backend once. Integer arrays (class labels, uint8 images) stay integers there (a batch of x is
      made float32 when it is wrapped in a Tensor); float arrays keep their dtype (pass float32: float64
      data trains in float64, more slowly); anything else becomes float32.
    - ``metrics``: ``{"name": fn(prediction, target) -> float}``, called once per epoch on the
      validation predictions and targets as host NumPy arrays; recorded as ``"val_<name>"``.
      Needs ``validation_data``.
    - ``keep_best``: at the end, put back the weights of ``history.best_epoch``, the epoch with the
      lowest ``val_loss`` (improvements of ``min_delta`` or less do not count, as in Keras'
      ``EarlyStopping(restore_best_weights=True)``).
      It only applies when ``validation_data`` is given (without it there is nothing to choose by,
      and it is silently ignored).
    - ``early_stopping``: stop when ``val_loss`` has not improved (by more than ``min_delta``) for this
      many epochs; needs ``validation_data``.
    - ``checkpoint``: path of a ``.npz`` file written atomically after every epoch (weights, optimizer
      state, epoch number, history, best weights, random-generator states). It holds the weights of
      the last epoch, to resume from; the best weights are in it under ``best/``.
    - ``resume``: if True and ``checkpoint`` exists, load it and go on from the epoch after it. The
      model and optimizer must be built the same way as in the interrupted run. On NumPy the resumed
      run reproduces the uninterrupted one bit for bit; on CuPy the dropout generator's state cannot
      be saved, so dropout masks (only) differ after the resume.
    - ``progress``: a tqdm bar per epoch (or, without tqdm, one printed line per epoch); False: silent.
    - ``input_transform``: a function applied to every batch of x (e.g. a reshape), also for validation.
    - ``eval_batch_size``: batch size of the validation pass.
    - ``on_epoch_end``: a function called with each epoch's record (the dict added to
      ``history.epochs``) once the epoch is recorded and checkpointed: to show progress elsewhere,
      e.g. from a worker process (``coursework.parallel``).

    Raises ``NonFiniteLossError`` when the training loss (checked at the end of each epoch and at
    every progress-bar update) or the weights become NaN or infinite; the checkpoint then still holds
    the last good epoch. The model is left in the train/eval mode it had before the call.
    """
    epochs, batch_size, early_stopping, eval_batch_size = _check_fit_args(
        epochs, batch_size, x, y, validation_data, metrics, early_stopping, checkpoint, resume,
        input_transform, min_delta, eval_batch_size, on_epoch_end)
    xp = backend.xp
    started = time.perf_counter()
    was_training = model.training

    same_target = y is x  # an autoencoder: one copy on the device, one gather per batch
    x = _to_backend(x, "fit", "x")
    y = x if same_target else _to_backend(y, "fit", "y")
    if validation_data is not None:
        x_val = _to_backend(validation_data[0], "fit", "x_val")
        y_val = x_val if validation_data[1] is validation_data[0] else _to_backend(validation_data[1], "fit", "y_val")
        y_val_host = backend.to_numpy(y_val) if metrics else None
    keep_best = keep_best and validation_data is not None
    metrics = metrics or {}
    backend.device_rng()  # make the dropout generator now, so its creation never shifts the shuffling
    history = History()
    best_weights = None
    start_epoch = 0

    if resume and os.path.exists(checkpoint):
        start_epoch, best_weights = _resume(checkpoint, model, optimizer, history)
        best_weights = best_weights if keep_best else None

    n = len(x)
    batches = _batch_slices(n, batch_size)
    bar = None
    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            if early_stopping is not None and epoch - 1 - (history.best_epoch or 0) >= early_stopping:
                history.stopped_early = True  # a resumed run that had already stopped
                break
            epoch_started = time.perf_counter()
            model.train()
            order = xp.asarray(backend.host_rng().permutation(n)) if shuffle else None
            bar = _make_bar(progress, len(batches), f"{desc} {epoch}/{epochs}")
            total = xp.zeros((), dtype=xp.float64)  # sum of (batch mean loss * batch size), on the device
            for i, (start, stop) in enumerate(batches):
                if order is None:
                    xb, yb = x[start:stop], y[start:stop]
                else:
                    index = order[start:stop]
                    xb = x[index]
                    yb = xb if same_target else y[index]
                if input_transform is not None:
                    xb = input_transform(xb)
                loss = loss_fn(model(Tensor(xb)), yb)
                batch_loss = _scalar(loss, "fit")
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += batch_loss * (stop - start)
                if bar is not None and ((i + 1) % _POSTFIX_EVERY == 0 or i + 1 == len(batches)):
                    running = float(total) / stop  # mean loss of the samples seen so far this epoch
                    if not math.isfinite(running):
                        raise _non_finite(epoch, running, checkpoint, history)
                    bar.set_postfix(loss=f"{running:.4f}", refresh=False)
                    bar.update(i + 1 - bar.n)

            record = {"epoch": epoch, "loss": float(total) / n}
            if not math.isfinite(record["loss"]):
                raise _non_finite(epoch, record["loss"], checkpoint, history)
            diverged = [name for name, p in model.named_parameters() if not bool(xp.isfinite(p.data).all())]
            if diverged:
                raise _non_finite(epoch, None, checkpoint, history, diverged)

            if validation_data is not None:
                record["val_loss"], outputs = _run_eval(model, loss_fn, x_val, y_val, eval_batch_size,
                                                        input_transform, keep_outputs=bool(metrics))
                if metrics:
                    predictions = backend.to_numpy(outputs)
                    for name, fn in metrics.items():
                        record[f"val_{name}"] = float(fn(predictions, y_val_host))
                best = history.best_val_loss
                if math.isfinite(record["val_loss"]) and (best is None or record["val_loss"] < best - min_delta):
                    history.best_epoch, history.best_val_loss = epoch, record["val_loss"]
                    if keep_best:
                        best_weights = model.state_dict()
            record["seconds"] = time.perf_counter() - epoch_started
            history._append(record)

            history.stopped_early = (early_stopping is not None
                                     and epoch - (history.best_epoch or 0) >= early_stopping)
            if checkpoint is not None:
                _save_fit_checkpoint(checkpoint, model, optimizer, history, best_weights)
            _report(bar, progress, desc, epoch, epochs, record)
            if on_epoch_end is not None:
                on_epoch_end(dict(record))
            if history.stopped_early:
                break
    finally:
        _close(bar)  # also when an error (or Ctrl-C) ends training in the middle of an epoch
        model.train(was_training)

    if keep_best and best_weights is not None:
        model.load_state_dict(best_weights)
    history.seconds = time.perf_counter() - started
    return history


def _non_finite(epoch, value, checkpoint, history, parameters=None):
    what = (f"the training loss is {value}" if parameters is None
            else f"parameters {', '.join(parameters)} hold NaN or infinite values")
    kept = (f"; the checkpoint {os.fspath(checkpoint)!r} still holds the last good epoch ({len(history.epochs)})"
            if checkpoint is not None and history.epochs else "")
    return NonFiniteLossError(
        f"epoch {epoch}: {what}, so training diverged; lower the learning rate (or check the data "
        f"and the loss function for invalid values){kept}", epoch=epoch, history=history)


def _save_fit_checkpoint(path, model, optimizer, history, best_weights):
    np = backend.np
    extra = {
        "epoch": len(history.epochs),
        "history": {key: np.asarray(values, dtype=np.float64) for key, values in history.history.items()},
        "history_epochs": json.dumps(history.epochs),
        "best_epoch": history.best_epoch if history.best_epoch is not None else 0,
        "best_val_loss": history.best_val_loss if history.best_val_loss is not None else math.nan,
        "stopped_early": history.stopped_early,
        "rng": _rng_state(),
    }
    if best_weights is not None:
        extra["best"] = best_weights
    save_checkpoint(path, model, optimizer, **extra)


_FIT_CHECKPOINT_KEYS = ("epoch", "history_epochs", "best_epoch", "best_val_loss", "stopped_early", "rng")


def _resume(path, model, optimizer, history):
    """Load a checkpoint written by ``fit`` into model, optimizer, history; return (epoch, best weights)."""
    state = load_checkpoint(path)
    missing = [key for key in _FIT_CHECKPOINT_KEYS if key not in state]
    if missing:
        raise ValueError(f"fit: {os.fspath(path)!r} is a scratchnet checkpoint but not one written by fit: it "
                         f"lacks {', '.join(missing)} (no complete training state to resume from)")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optim"])
    except (KeyError, ValueError) as error:
        raise ValueError(f"fit: cannot resume from {os.fspath(path)!r}: the model or optimizer differs from "
                         f"the one that wrote it ({error})") from error
    for record in json.loads(state["history_epochs"]):
        history._append(record)
    if state["best_epoch"]:
        history.best_epoch, history.best_val_loss = int(state["best_epoch"]), float(state["best_val_loss"])
    history.stopped_early = bool(state["stopped_early"])
    _set_rng_state(state["rng"])
    return int(state["epoch"]), state.get("best")


def _make_bar(progress, total, description):
    if not progress or _tqdm is None:
        return None
    return _tqdm(total=total, desc=description, unit="batch", leave=True, dynamic_ncols=True)


def _close(bar):
    if bar is not None:
        bar.close()


def epoch_values(record):
    """An epoch record's losses and metrics as ``{name: "0.1234"}``, what a progress bar shows (the
    epoch's number and seconds left out)."""
    return {k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds")}


def _report(bar, progress, desc, epoch, epochs, record):
    """End-of-epoch summary: on the tqdm bar, or as one printed line when tqdm is not installed."""
    shown = epoch_values(record)
    if bar is not None:
        bar.set_postfix(shown, refresh=True)
        bar.close()
    elif progress:
        values = " - ".join(f"{k}: {v}" for k, v in shown.items())
        print(f"{desc} epoch {epoch}/{epochs} - {values} - {record['seconds']:.1f}s", flush=True)
