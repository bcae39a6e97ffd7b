"""What Q2A and Q2B share: MNIST's pixel scaling and train/validation split, and a few report helpers.

Q2B trains Q2A's autoencoders again, so the two must split the 60,000 training images identically:
both call ``train_val_split`` here. Host arrays in, host arrays out (``backend.np``).
"""

from __future__ import annotations

import json
from pathlib import Path

from scratchnet import backend

np = backend.np

TRAIN_FRACTION = 0.67  # the assignment's train_test_split(test_size=0.33): 40,200 / 19,800 of 60,000
#: MNIST's images: 60,000 for training (split into train and validation), 10,000 for testing
N_MNIST_TRAIN, N_MNIST_TEST = 60_000, 10_000
#: the sizes of the split: what options that count images may ask for at most
N_TRAIN = round(TRAIN_FRACTION * N_MNIST_TRAIN)
N_VAL = N_MNIST_TRAIN - N_TRAIN


def unit_float(images):
    """uint8 images -> float32 in [0, 1], same shape: the assignment's ``x / 255``."""
    images = backend.to_numpy(images)
    return images.astype(np.float32) / np.float32(255.0)


def train_val_split(n, seed):
    """``(train, val)`` indices of ``n`` training images: a permutation from
    ``numpy.random.default_rng(seed)``, its first ``round(TRAIN_FRACTION * n)`` for training, the rest
    for validation."""
    order = np.random.default_rng(seed).permutation(n)
    cut = round(TRAIN_FRACTION * n)
    return order[:cut], order[cut:]


def pct(value, digits=1):
    """``0.1234`` -> ``"12.3%"``; ``None`` -> ``""`` (an empty table cell)."""
    return "" if value is None else f"{100 * value:.{digits}f}%"


def load_report(out_dir, build_report):
    """``(metrics, build_report(metrics, out_dir))`` from ``out_dir/metrics.json`` of a finished run."""
    out_dir = Path(out_dir)
    metrics = json.loads((out_dir / "metrics.json").read_text())
    return metrics, build_report(metrics, out_dir)
