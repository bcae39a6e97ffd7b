"""Callbacks, as Keras users know them: what ``fit`` does after each epoch besides training.

``fit`` calls them in the order given, a ``ModelCheckpoint`` last so that it saves what the others
have just updated (``EarlyStopping``'s best weights, say).
"""

import json
import math
import os
import sys

from . import backend
from .checks import is_integer, is_real
from .files import UNREADABLE_NPZ, atomic_write, load_npz, remove_leftovers

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "load_checkpoint", "save_checkpoint"]

_HEADER, _ARRAY = "scratchnet_checkpoint", "__ndarray__"
CHECKPOINT_VERSION = 3


class Callback:
    """A hook into ``fit``; override what you need. ``run`` holds ``model``, ``optimizer``, ``history``,
    ``epochs``, ``batch_size``, ``validation`` (a bool) and ``callbacks``; set ``run.history.stopped_early``
    to stop. ``state_dict``/``load_state_dict`` carry the callback's state through a ``ModelCheckpoint``."""

    def on_train_begin(self, run):
        pass

    def on_epoch_end(self, run, record):
        pass

    def on_train_end(self, run):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class EarlyStopping(Callback):
    """Stop once ``val_loss`` has not gone below ``best - min_delta`` for ``patience`` epochs in a row
    (``None``: never stop). ``restore_best_weights``: end with the weights of the best epoch."""

    def __init__(self, patience=None, min_delta=0.0, restore_best_weights=False):
        if patience is not None and not (is_integer(patience) and patience >= 1):
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1 or None, got {patience!r}")
        if not (is_real(min_delta) and 0 <= min_delta < math.inf):
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        self.patience, self.min_delta, self.restore_best_weights = patience, float(min_delta), restore_best_weights

    def on_train_begin(self, run):
        if not run.validation:
            raise ValueError("EarlyStopping watches val_loss: pass validation_data=(x_val, y_val) to fit")
        self.best, self.wait, self.best_weights = math.inf, 0, None

    def on_epoch_end(self, run, record):
        if record["val_loss"] < self.best - self.min_delta:
            self.best, self.wait = record["val_loss"], 0
            self.best_weights = run.model.state_dict() if self.restore_best_weights else None
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                run.history.stopped_early = True

    def on_train_end(self, run):
        if self.best_weights is not None:
            run.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "weights": self.best_weights or {}}

    def load_state_dict(self, state):
        self.best, self.wait, self.best_weights = state["best"], state["wait"], state.get("weights") or None


class ModelCheckpoint(Callback):
    """Write the whole training state to ``path`` after every epoch, atomically; any file there that is
    not a checkpoint is refused. ``resume=True``: carry on after the checkpoint's last epoch, bit for bit
    (on CuPy, dropout masks differ: its generator's state cannot be read), up to the ``epochs`` given;
    the checkpoint's optimizer settings (``lr``) win, as in PyTorch, and each setting that differs is
    said in one line on stderr. Killed writes' ``.tmp`` leftovers are removed."""

    def __init__(self, path, resume=False):
        if not isinstance(path, str | os.PathLike) or not isinstance(resume, bool):
            raise ValueError(f"ModelCheckpoint: path must be a file path and resume a bool, got {path!r}, {resume!r}")
        self.path, self.resume = os.fspath(path), resume

    def on_train_begin(self, run):
        if os.path.isdir(self.path):
            raise ValueError(f"ModelCheckpoint: {self.path!r} is a folder; pass the path of a file in it")
        folder = os.path.dirname(os.path.abspath(self.path))
        try:  # now, not after the first epoch's training
            os.makedirs(folder, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise PermissionError("not writable")
        except OSError as error:
            raise ValueError(f"ModelCheckpoint: cannot write {self.path!r}: {folder!r}: {error.strerror or error}") from None
        remove_leftovers(self.path)
        if os.path.exists(self.path):
            try:
                state = load_checkpoint(self.path)
            except ValueError as error:
                raise ValueError(f"ModelCheckpoint: refusing to overwrite {self.path!r}: {error}") from None
            if self.resume:
                _restore(run, state, self.path)

    def on_epoch_end(self, run, record):
        save_checkpoint(self.path, {
            "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(), "rng": _rng_state(),
            "history": {"epochs": run.history.epochs, "stopped_early": run.history.stopped_early},
            "settings": {"epochs": run.epochs, "batch_size": run.batch_size},
            "callbacks": {str(i): c.state_dict() for i, c in enumerate(run.callbacks) if isinstance(c, Callback)}})


def _restore(run, state, path):
    """Load a checkpoint's training state into ``run``; say in one line each setting it replaces."""
    given = run.optimizer.state_dict()
    try:
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        for i, callback in enumerate(run.callbacks):
            if isinstance(callback, Callback) and str(i) in state["callbacks"]:
                callback.load_state_dict(state["callbacks"][str(i)])
        records, stopped, settings = state["history"]["epochs"], state["history"]["stopped_early"], state["settings"]
        _set_rng_state(state["rng"])
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"ModelCheckpoint: cannot resume from {path!r}: the model, optimizer or callbacks "
                         f"differ from those that wrote it ({type(error).__name__}: {error})") from None
    run.history.epochs.extend(records)
    run.history.stopped_early = stopped
    notes = [f"{k} {v} from the checkpoint replaces {given[k]} given" for k, v in run.optimizer.state_dict().items()
             if isinstance(v, float) and v != given.get(k)]
    if stopped or len(records) >= run.epochs:
        why = "its run stopped early" if stopped else "nothing to do"
        notes.append(f"resuming at epoch {len(records)} of {run.epochs}: {why}")
    elif settings["epochs"] != run.epochs:
        notes.append(f"training goes on to epoch {run.epochs} (the checkpoint's run was set to {settings['epochs']})")
    if settings["batch_size"] != run.batch_size:
        notes.append(f"batch_size {run.batch_size} given replaces the checkpoint's {settings['batch_size']}")
    for note in notes:
        print(f"ModelCheckpoint {path}: {note}", file=sys.stderr, flush=True)


def _rng_state():
    """The shuffling generator's state, and on NumPy the dropout generator's (CuPy's cannot be read)."""
    devices = {"device": backend.device_rng()} if backend.name == "numpy" else {}
    return {name: rng.bit_generator.state for name, rng in ({"host": backend.host_rng()} | devices).items()}


def _set_rng_state(state):
    backend.host_rng().bit_generator.state = state["host"]
    if "device" in state and backend.name == "numpy":
        backend.device_rng().bit_generator.state = state["device"]


def save_checkpoint(path, state):
    """Write a nested dict to ``path`` as an ``.npz``, atomically: each array as a member ``0``, ``1``, ...,
    the rest as JSON in the member ``scratchnet_checkpoint``, where an array reads ``{"__ndarray__": member}``."""
    arrays = {}

    def encode(value):  # what JSON cannot hold: arrays, and NumPy's scalars
        if not isinstance(value, backend.np.ndarray | backend.xp.ndarray):
            return value.item()
        arrays[str(len(arrays))] = backend.to_numpy(value)
        return {_ARRAY: str(len(arrays) - 1)}

    header = json.dumps({"version": CHECKPOINT_VERSION, "state": state}, default=encode)
    with atomic_write(path) as handle:
        backend.np.savez(handle, **arrays, **{_HEADER: backend.np.asarray(header)})
    remove_leftovers(path)


def load_checkpoint(path):
    """Read what ``save_checkpoint`` wrote, as the same nested dict (no pickle: loading runs no code)."""
    try:
        with load_npz(path) as stored:
            header = json.loads(str(stored[_HEADER]), object_hook=lambda d: stored[d[_ARRAY]] if _ARRAY in d else d)
            if (version := header["version"]) != CHECKPOINT_VERSION:
                raise ValueError(f"it is version {version}; this scratchnet reads version {CHECKPOINT_VERSION}")
            return header["state"]
    except (*UNREADABLE_NPZ, TypeError) as error:
        raise ValueError(f"{os.fspath(path)!r} is not a scratchnet checkpoint ({error})") from None
