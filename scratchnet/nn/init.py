"""Weight initialisers. Values are drawn on the host from scratchnet's seeded generator and then
moved to the backend, so a model starts from the same weights on NumPy and on CuPy."""

import math

from .. import backend


def glorot_uniform(shape, fan_in, fan_out, dtype="float32"):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010; Keras' default): it keeps
    the variance of activations and of gradients roughly equal from layer to layer."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return backend.as_array(backend.host_rng().uniform(-limit, limit, size=shape).astype(dtype), dtype)
