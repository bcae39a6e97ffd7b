"""Command-line pieces every example shares: option types that check a value's range before any work
starts, the common options, timing steps, and saving figures (the output folder: ``run_folder``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .report import writing


def _number(text, kind, accept, requirement):
    """Parse ``text`` as ``kind`` and check ``accept(value)``; else a one-line argparse error."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    return _number(text, int, lambda v: v >= 1, ">= 1")


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    return _number(text, int, lambda v: v >= 0, ">= 0")


#: the largest seed every consumer takes: scikit-learn's ``random_state`` stops at 2**32 - 1
MAX_SEED = 2**32 - 1


def seed_int(text):
    """argparse type: a random seed, an integer from 0 to ``MAX_SEED`` (NumPy's ``default_rng``,
    ``backend.manual_seed`` and scikit-learn's ``random_state`` all take it)."""
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_SEED} (2**32 - 1), got {text}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    return _number(text, float, lambda v: 0 < v < float("inf"), "a finite number > 0")


def non_negative_float(text):
    """argparse type: a finite number >= 0."""
    return _number(text, float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")


def int_from(low, high, what=""):
    """argparse type: an integer from ``low`` to ``high``; ``what`` says where ``high`` comes from."""
    def parse(text):
        return _number(text, int, lambda v: low <= v <= high, f"from {low:,} to {high:,}{what}")
    return parse


def float_in(low, high, what="", low_included=False):
    """argparse type: a number in (low, high] (or [low, high] with ``low_included``)."""
    above = (lambda v: v >= low) if low_included else (lambda v: v > low)
    interval = f"{'[' if low_included else '('}{low:g}, {high:g}]"
    return lambda text: _number(text, float, lambda v: above(v) and v <= high, f"in {interval}{what}")


#: the most epochs an option accepts (the full runs use at most 200)
MAX_EPOCHS = 10_000
#: argparse type of an epoch count
epochs_int = int_from(1, MAX_EPOCHS)
#: argparse type of a learning rate: more than 1 makes every optimizer here diverge
learning_rate = float_in(0, 1)


def unit_interval(text):
    """argparse type: a number in [0, 1) (an Adam beta, a momentum)."""
    return _number(text, float, lambda v: 0 <= v < 1, "in [0, 1)")


def add_common_options(parser, default_out):
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help="output directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="replace the results of an earlier run of this script in --out (only the files "
                             "that run wrote; other files there stay)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help=f"random seed, 0 to {MAX_SEED} (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or step timings")


def add_jobs_option(parser, most, what="models"):
    """``--jobs N``, from 1 to ``most`` (the most jobs a run can have: more workers would have no job)."""
    parser.add_argument("--jobs", type=int_from(1, most, f" (at most {most} {what} are trained)"), default=None,
                        metavar="N",
                        help=f"train the {what} in N worker processes at once, each with one BLAS thread "
                             f"(default: one process per model on a CPU with 2 or more cores, which keeps "
                             f"every core busy; 1 on a GPU or one core); 1 trains them one after another "
                             f"in this process")


class Steps:
    """Prints each long step's name and the time it took (silent with ``quiet``)."""

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.times = {}

    @contextmanager
    def step(self, name):
        if not self.quiet:
            print(f"[{name}] ...", file=self.stream, flush=True)
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.times[name] = round(seconds, 2)
        if not self.quiet:
            print(f"[{name}] done in {seconds:.1f} s", file=self.stream, flush=True)


def use_headless_matplotlib():
    """Select matplotlib's file-only backend (no display on servers and CI) and return pyplot."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def save_figure(fig, path):
    """Write a matplotlib figure to ``path`` as PNG all at once (``report.write_atomic``: never a
    half-written file, even on a full disk) and close it (figures pile up in memory otherwise)."""
    plt = use_headless_matplotlib()
    try:
        with writing(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return Path(path)
