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


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def add_common_options(parser, default_out):
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help="output directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite the output directory if it already has results")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or step timings")


def prepare_output_dir(parser, out: Path, force: bool) -> Path:
    """Create ``out``; refuse (one-line error via ``parser.error``) if it exists and holds files and
    ``--force`` was not given, or if it cannot be written. Called before any work starts."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            parser.error(f"--out {out} already has results; pass --force to overwrite them, or choose another --out")
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
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
