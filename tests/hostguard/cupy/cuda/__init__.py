"""``cupy.cuda`` in the hostguard stand-in: one pretend device, and no-op synchronisation."""

from __future__ import annotations

from .._core import Device  # noqa: F401
from . import runtime  # noqa: F401


class Stream:
    null = None

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


Stream.null = Stream()


def get_current_stream():
    return Stream.null


class Event:
    """Records host time (perf_counter): elapsed times are CPU times, not GPU ones."""

    def __init__(self, *args, **kwargs):
        self.time = None

    def record(self, stream=None):
        import time

        self.time = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(start, end):
    """Milliseconds between two recorded events, as CuPy's."""
    return (end.time - start.time) * 1000.0


def __getattr__(name):
    raise AttributeError(f"module 'cupy.cuda' (hostguard stand-in) has no attribute {name!r}: add it to "
                         "tests/hostguard/cupy/cuda/__init__.py if real CuPy has it")
