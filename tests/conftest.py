"""Test configuration: Hypothesis profiles, the ``gpu`` and ``slow`` markers, the backend restored after each test.

Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE (default "ci"):

- ``ci``: derandomized (the same examples on every run, so CI never flakes), no deadline, 25 examples.
- ``dev``: random, 200 examples; run it now and then to search harder:
  ``HYPOTHESIS_PROFILE=dev python -m pytest tests``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs CuPy and an NVIDIA GPU (skipped when either is absent)")
    config.addinivalue_line("markers", "slow: takes seconds rather than milliseconds")


@pytest.fixture(autouse=True)
def _restore_backend():
    """A test that switches the array backend gets the one it started with put back afterwards."""
    from scratchnet import backend

    before = backend.name
    yield
    if backend.name != before:
        backend.use(before)
