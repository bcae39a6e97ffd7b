"""Command-line pieces every example shares: checking options before any work starts, preparing the
output folder (never overwriting one without ``--force``), and timing steps."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path


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


def unit_interval(text):
    """argparse type: a number in [0, 1) (an Adam beta, a momentum)."""
    return _number(text, float, lambda v: 0 <= v < 1, "in [0, 1)")


def add_common_options(parser, default_out):
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help="output directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="replace the output directory if it holds an earlier run's results (never other files)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help=f"random seed, 0 to {MAX_SEED} (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or step timings")


def add_jobs_option(parser, what="models"):
    parser.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help=f"train the {what} in N worker processes at once, each with one BLAS thread "
                             f"(default: one process per model on a CPU with 2 or more cores, which keeps "
                             f"every core busy; 1 on a GPU or one core); 1 trains them one after another "
                             f"in this process")


# Written into every output folder: what lets --force tell earlier results from someone's own files.
RUN_MARKER = ".scratchnet-run"


def _is_earlier_run(out: Path) -> bool:
    """Whether ``out`` holds a scratchnet run: it has the marker, or (written before the marker
    existed) the ``metrics.json`` every example writes."""
    return (out / RUN_MARKER).exists() or (out / "metrics.json").exists()


def prepare_output_dir(parser, out: Path, force: bool) -> Path:
    """Create ``out`` and mark it as a run folder (``RUN_MARKER``). Refuse, with a one-line error via
    ``parser.error`` and before any work starts, if ``out`` holds files and ``--force`` was not
    given; if ``--force`` would delete a folder that is not an earlier run (it deletes results, never
    other files); or if ``out`` cannot be written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            parser.error(f"--out {out} already has results; pass --force to overwrite them, or choose another --out")
        if out.is_symlink():  # rmtree refuses links: replace what it points to, not the link itself
            parser.error(f"--out {out} is a symbolic link; pass the folder it points to ({out.resolve()}) "
                         f"to replace that folder's results")
        if not _is_earlier_run(out):
            parser.error(f"--out {out} holds files that are not the results of an earlier run (it has no "
                         f"{RUN_MARKER} or metrics.json), so --force will not delete them; choose another --out")
        try:
            shutil.rmtree(out)
        except OSError as error:
            parser.error(f"--out {out}: cannot delete the earlier results: {error.strerror or error}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_MARKER).write_text("The output of a scratchnet example: its --force replaces this folder.\n")
    except OSError as error:
        parser.error(f"--out {out} cannot be written: {error.strerror or error}")
    return out


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
    """Write a matplotlib figure to ``path`` as PNG and close it (figures pile up in memory otherwise)."""
    plt = use_headless_matplotlib()
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
