"""Smoke test of benchmarks/train_speed.py: it runs end to end on tiny data, so it cannot rot.

Timings are not asserted (they depend on the machine and its load); the table's shape is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="the benchmark times the NumPy backend against PyTorch's CPU build")
def test_train_speed_runs_on_tiny_data():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--tiny", "--only", "scratchnet"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | batch | scratchnet s/epoch")
    models = [row.split("|")[1].strip() for row in rows[1:]]
    assert models == ["ae2", "ae16", "ae256", "dis32", "dis256"]
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert float(cells[2]) > 0  # scratchnet s/epoch
        assert cells[3] == "-"  # --only scratchnet: no PyTorch column
        assert float(cells[7]) > 0  # peak memory, MiB
    assert "NumPy" in done.stdout and "BLAS" in done.stdout


def test_train_speed_rejects_unknown_models():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--models", "vgg"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 2 and "unknown model" in done.stderr


@pytest.mark.skipif(os.environ.get("SCRATCHNET_BACKEND", "numpy") != "numpy",
                    reason="step_costs.py times NumPy's own passes and products")
def test_step_costs_prints_its_five_tables():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "step_costs.py"), "--quick"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    titles = [line for line in done.stdout.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert len(titles) == 5, done.stdout
    adam_rows = [line for line in done.stdout.splitlines() if line.startswith("| ae")][:3]
    assert [row.split("|")[1].strip() for row in adam_rows] == ["ae2", "ae16", "ae256"]
    for row in adam_rows:
        assert all(float(cell) > 0 for cell in row.strip("|").split("|")[3:])
