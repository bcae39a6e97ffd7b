"""Data sets for the examples and tests: ``load_mnist`` (see ``scratchnet.data.mnist``)."""

from scratchnet.data.mnist import (
    EXPECTED,
    MNIST,
    MNISTError,
    array_digest,
    default_data_dir,
    load_mnist,
)

__all__ = ["EXPECTED", "MNIST", "MNISTError", "array_digest", "default_data_dir", "load_mnist"]
