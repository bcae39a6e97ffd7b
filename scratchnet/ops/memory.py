"""Where the large arrays of the convolution ops live in memory: their axis order, and their reuse.

1. Axis order. A convolution's matrix product produces its output channel by channel, (F, Ho, Wo, N)
   in memory, and ``conv2d`` returns it as an (N, F, Ho, Wo) *view* of that memory, without copying.
   Elementwise ops keep their input's memory order; pooling and dropout allocate their arrays in it
   too (``empty_in_order``, ``empty_like``). So the next convolution's im2col reads the input in long
   contiguous runs, and the gradients flowing back arrive in the same order, ready for the matrix
   products of the backward pass: no transposing copy anywhere in a conv net. Shapes and values are
   NCHW as always; only strides differ, which NumPy and CuPy handle transparently.

2. Reuse (NumPy only). A training step allocates and frees the same large arrays every step, and
   fresh memory is slow: glibc takes arrays over its mmap threshold (128 KB, raised as such arrays are
   freed, up to 32 MB) straight from the kernel and gives them back when freed, and it trims its heap
   when much memory at its top is free. Either way the next step's array is new memory, and its first
   touch costs a page fault per 4 KB: measured on dis_net at batch 32, 4,500 faults and 15-19 ms of
   system time in a 30 ms step (44 MB: about 5 ms fresh, against 3 ms to refill an array in use).
   ``scratch(shape, dtype)`` hands out one of the arrays of that size it keeps that nobody uses any
   more, or a new one that it then keeps. "Nobody uses it" is checked by reference count: the array is
   referenced only by the pool itself (every view of it, a tensor's data, a saved input of an op,
   holds a reference to it). The conv-net ops take their arrays of REUSE_MIN_BYTES or more from here
   (``empty_like``, ``empty_in_order``, ``random``). CuPy has its own memory pool, so there all of
   these are plain ``empty`` and ``random``.
"""

from __future__ import annotations

import math
import sys

from .. import backend

REUSE_MIN_BYTES = 256 * 2**10  #: smaller arrays are not worth the bookkeeping
REUSE_MAX_PER_SIZE = 12  #: a dis_net step (and the previous step's graph) keeps up to ~10 of one size alive
_pool: dict = {}  # (nbytes, dtype) -> kept flat arrays


def axis_order(a):
    """The axes of ``a`` from the largest stride to the smallest: (0, 1, 2, 3) for C order NCHW,
    (1, 2, 3, 0) for a (C, H, W, N) buffer seen as NCHW (a convolution's output)."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -abs(a.strides[axis])))


def empty_in_order(shape, dtype, order, reuse=True):
    """An uninitialised array of ``shape`` whose memory is laid out in ``order`` (see ``axis_order``)."""
    stored = tuple(shape[axis] for axis in order)
    flat = scratch(stored, dtype) if reuse else backend.xp.empty(stored, dtype=dtype)
    inverse = tuple(sorted(range(len(order)), key=order.__getitem__))
    return flat.transpose(inverse)


def empty_like(a, dtype=None):
    """An uninitialised array of ``a``'s shape (and dtype unless given), laid out in ``a``'s memory order."""
    dtype = a.dtype if dtype is None else backend.xp.dtype(dtype)
    if backend.name != "numpy" or a.size * dtype.itemsize < REUSE_MIN_BYTES:
        return backend.xp.empty_like(a, dtype=dtype)  # order="K": a's memory order
    return empty_in_order(a.shape, dtype, axis_order(a))


def random(shape, dtype, order=None):
    """U[0, 1) draws from the seeded device generator, stored in ``order`` (default C order)."""
    order = tuple(range(len(shape))) if order is None else order
    stored = tuple(shape[axis] for axis in order)
    if backend.name == "numpy":
        u = backend.device_rng().random(stored, dtype=dtype, out=scratch(stored, dtype))
    else:
        u = backend.device_rng().random(stored, dtype=dtype)
    return u.transpose(tuple(sorted(range(len(order)), key=order.__getitem__)))


def matmul(a, b):
    """a @ b for 2-D a and b, written into a scratch array (plain ``a @ b`` for other shapes)."""
    if a.ndim != 2 or b.ndim != 2:
        return a @ b
    xp = backend.xp
    dtype = a.dtype if a.dtype == b.dtype else xp.result_type(a.dtype, b.dtype)
    return xp.matmul(a, b, out=scratch((a.shape[0], b.shape[1]), dtype))


def scratch(shape, dtype):
    """An uninitialised C-order array, reused from earlier steps when it is large (see the module docstring)."""
    xp = backend.xp
    dtype = xp.dtype(dtype)
    size = math.prod(shape)
    nbytes = size * dtype.itemsize
    if backend.name != "numpy" or nbytes < REUSE_MIN_BYTES:
        return xp.empty(shape, dtype=dtype)
    kept = _pool.setdefault((nbytes, dtype), [])
    for flat in kept:
        if sys.getrefcount(flat) <= _FREE_REFS:  # referenced by ``kept`` and this loop only
            return flat.reshape(shape)
    flat = xp.empty(size, dtype=dtype)
    if len(kept) < REUSE_MAX_PER_SIZE:
        kept.append(flat)
    return flat.reshape(shape)


def release():
    """Forget every kept array (their memory goes back to the system once no one uses them)."""
    _pool.clear()


def _references_of_a_free_array():
    kept = [object()]
    for flat in kept:
        return sys.getrefcount(flat)


_FREE_REFS = _references_of_a_free_array()
