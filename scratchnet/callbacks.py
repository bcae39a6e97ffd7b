"""Callbacks: what ``fit`` does after each epoch besides training, in the shape Keras users know.

- ``EarlyStopping(patience, min_delta, restore_best_weights)`` stops when ``val_loss`` has not
  improved for ``patience`` epochs, and can end with the weights of the best epoch. With
  ``patience=None`` it never stops and only keeps the best weights (Keras' ``save_best_only``).
- ``ModelCheckpoint(path, resume=False)`` writes the whole training state after every epoch: the
  weights, the optimizer's state, the history, the other callbacks' state (best weights) and the
  random generators. With ``resume=True``, fit carries on from it, and the result is bit for bit
  that of an uninterrupted run (on CuPy the dropout generator's state cannot be read, so its masks
  differ).

``fit`` calls the hooks of each in the order given, with a ``ModelCheckpoint`` last, so that it saves
what the others have just updated. ``run`` is ``train.Run``: the model, optimizer, history, settings.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile

from . import backend
from .checks import is_integer, is_real
from .files import UNREADABLE_NPZ, atomic_write, load_npz, remove_leftovers

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "load_checkpoint", "save_checkpoint"]

_HEADER = "scratchnet_checkpoint"
CHECKPOINT_VERSION = 2


class Callback:
    """A hook into ``fit``; override what you need. ``state_dict``/``load_state_dict`` carry the
    callback's state through a ``ModelCheckpoint``. Set ``run.history.stopped_early = True`` to stop."""

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
    """Write the whole training state to ``path`` after every epoch, atomically (``files.atomic_write``).

    Without ``resume`` an earlier checkpoint at ``path`` is replaced, and any other file is refused.
    With ``resume=True`` an existing checkpoint is loaded and fit carries on after its last epoch, up
    to the ``epochs`` given. As in PyTorch's ``optimizer.load_state_dict``, the checkpoint's optimizer
    settings (``lr``) replace the new optimizer's; the ``batch_size`` given is used from then on. Each
    difference is said in one line on stderr. A save or a resume removes killed writes' leftovers.
    """

    def __init__(self, path, resume=False):
        if not isinstance(path, str | os.PathLike) or not isinstance(resume, bool):
            raise ValueError(f"ModelCheckpoint: path must be a file path and resume a bool, got {path!r}, {resume!r}")
        self.path, self.resume = os.fspath(path), resume

    def on_train_begin(self, run):
        _check_writable(self.path)
        remove_leftovers(self.path)
        if os.path.exists(self.path):
            try:
                state = load_checkpoint(self.path)
            except ValueError as error:
                raise ValueError(f"ModelCheckpoint: refusing to overwrite {self.path!r}: {error}") from None
            if self.resume:
                _restore(run, state, self.path)

    def on_epoch_end(self, run, record):
        state = {"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(), "rng": _rng_state(),
                 "history": {"epochs": run.history.epochs, "stopped_early": run.history.stopped_early},
                 "settings": {"epochs": run.epochs, "batch_size": run.batch_size},
                 "callbacks": {str(i): c.state_dict() for i, c in enumerate(run.callbacks) if isinstance(c, Callback)}}
        save_checkpoint(self.path, state)


def _check_writable(path):
    """Refuse, before any training, a checkpoint path that could not be written after the first epoch."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"ModelCheckpoint: {path!r} is a folder; pass the path of a file in it")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"ModelCheckpoint: cannot write in {folder!r} ({error.strerror or error}); "
                         f"choose an existing folder you can write to") from None


def _restore(run, state, path):
    """Load a checkpoint's training state into ``run``; say in one line each setting it replaces."""
    given = {k: v for k, v in run.optimizer.state_dict().items() if isinstance(v, float)}
    try:
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        for i, callback in enumerate(run.callbacks):
            if isinstance(callback, Callback) and str(i) in state.get("callbacks", {}):
                callback.load_state_dict(state["callbacks"][str(i)])
        records, stopped, settings = state["history"]["epochs"], state["history"]["stopped_early"], state["settings"]
        _set_rng_state(state["rng"])
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"ModelCheckpoint: cannot resume from {path!r}: the model, optimizer or callbacks "
                         f"differ from those that wrote it ({type(error).__name__}: {error})") from None
    for record in records:
        run.history.append(record)
    run.history.stopped_early = stopped
    notes = [f"{k} {v} from the checkpoint replaces {given[k]} given" for k, v in run.optimizer.state_dict().items()
             if k in given and v != given[k]]
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
    state = {"host": backend.host_rng().bit_generator.state}
    if backend.name == "numpy":
        state["device"] = backend.device_rng().bit_generator.state
    return state


def _set_rng_state(state):
    backend.host_rng().bit_generator.state = state["host"]
    if "device" in state and backend.name == "numpy":
        backend.device_rng().bit_generator.state = state["device"]


def save_checkpoint(path, state):
    """Write a nested dict to ``path`` as an ``.npz``: arrays as its members, everything else
    (numbers, strings, lists) as JSON in the member ``scratchnet_checkpoint``. Atomic."""
    arrays, values = {}, {}

    def split(tree, prefix):
        for key, value in tree.items():
            if isinstance(value, dict):
                split(value, f"{prefix}{key}/")
            elif isinstance(value, backend.np.ndarray | backend.xp.ndarray):
                arrays[f"{prefix}{key}"] = backend.to_numpy(value)
            else:
                values[f"{prefix}{key}"] = value

    split(state, "")
    header = json.dumps({"version": CHECKPOINT_VERSION, "values": values}, default=lambda v: v.item())
    with atomic_write(path) as handle:
        backend.np.savez(handle, **arrays, **{_HEADER: backend.np.asarray(header)})
    remove_leftovers(path)


def load_checkpoint(path):
    """Read what ``save_checkpoint`` wrote, as the same nested dict (loading runs no code: no pickle)."""
    try:
        with load_npz(path) as stored:
            header = json.loads(str(stored[_HEADER]))
            if header["version"] != CHECKPOINT_VERSION:
                raise ValueError(f"it is version {header['version']}; this scratchnet reads version {CHECKPOINT_VERSION}")
            flat = {key: stored[key] for key in stored.files if key != _HEADER} | header["values"]
    except (*UNREADABLE_NPZ, TypeError) as error:
        raise ValueError(f"{os.fspath(path)!r} is not a scratchnet checkpoint ({error})") from None
    tree = {}
    for key, value in flat.items():
        *groups, name = key.split("/")
        node = tree
        for group in groups:
            node = node.setdefault(group, {})
        node[name] = value
    return tree
