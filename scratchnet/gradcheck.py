"""Numerical gradient checking: compare autograd's gradients with central differences.

For f mapping tensors to a tensor, pick a random direction (cotangent) u of f's output shape and
check the scalar  phi(inputs) = sum(u * f(inputs)):

    analytic:   d phi / d x_k   from  f(inputs).backward(u)
    numerical: (phi(x_k + eps) - phi(x_k - eps)) / (2 eps)     for every element x_k

A random u tests the whole vector-Jacobian product, not only the sum of its rows. Done in float64,
where eps = 1e-6 leaves an error around 1e-10, so the tolerances can be tight.
"""

from __future__ import annotations

from . import backend
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Autograd's gradient disagrees with the numerical one."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check ``fn(*inputs)``'s gradients with respect to every input that requires grad.

    ``inputs``: a Tensor or a sequence of them (float64 advised; float32 raises, being too coarse).
    Returns True when every gradient is finite and matches within
    ``|analytic - numerical| <= atol + rtol*|numerical|``; otherwise raises ``GradcheckError`` naming
    the input, the worst element and both values (or returns False with ``raise_exception=False``).
    A NaN or infinite gradient, analytic or numerical, fails: the function is not differentiable
    there, or x +- eps leaves its domain.

    The analytic gradient must also have its input's shape and dtype. The inputs are left as they
    were found: their values, and their ``.grad`` (the check's own gradients are cleared after it).
    """
    np = backend.np
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs (got {t.dtype}): float32 rounding swamps eps")

    saved_grads = [t.grad for t in checked]
    try:
        for t in checked:
            t.grad = None
        return _check(fn, inputs, checked, eps, atol, rtol, seed, raise_exception)
    finally:
        for t, grad in zip(checked, saved_grads):
            t.grad = grad


def _check(fn, inputs, checked, eps, atol, rtol, seed, raise_exception):
    np = backend.np
    out = fn(*inputs)
    direction = np.random.default_rng(seed).standard_normal(out.shape)
    u = backend.as_array(direction, out.dtype)

    def phi():
        return float((fn(*inputs).data * u).sum())

    out.backward(u)
    originals = [t.data.copy() for t in checked]

    for number, (t, original) in enumerate(zip(checked, originals)):
        analytic = backend.to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape)
        if analytic.shape != t.shape or analytic.dtype != t.dtype:
            return _fail(f"input {number}: the gradient is {analytic.dtype} of shape {analytic.shape}, the input "
                         f"{t.dtype} of shape {t.shape}", raise_exception)
        numerical = np.zeros(t.shape)
        for k in np.ndindex(*t.shape):  # perturbs the input in place, whatever its memory layout
            value = t.data[k].item()
            try:
                t.data[k] = value + eps
                plus = phi()
                t.data[k] = value - eps
                minus = phi()
            finally:
                t.data[k] = value
            numerical[k] = (plus - minus) / (2 * eps)
        for kind, grad in (("analytic", analytic), ("numerical", numerical)):
            if not np.isfinite(grad).all():
                where = _index(np.argwhere(~np.isfinite(grad))[0])
                return _fail(f"input {number} (shape {t.shape}): the {kind} gradient is {grad[where]} at index "
                             f"{where}: the function is not differentiable there, or x +- eps ({eps}) "
                             f"leaves its domain", raise_exception)
        error = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
        if (error > 0).any():
            worst = _index(np.unravel_index(np.argmax(error), t.shape))
            return _fail(
                f"input {number} (shape {t.shape}): gradient mismatch at index {worst}: "
                f"analytic {analytic[worst]:.6g}, numerical {numerical[worst]:.6g} "
                f"(atol {atol}, rtol {rtol})",
                raise_exception,
            )
        if not bool((t.data == original).all()):
            return _fail(f"input {number} was modified by the check", raise_exception)
    return True


def _index(position):
    """An array index as a tuple of plain ints: (0, 2), not (np.int64(0), np.int64(2))."""
    return tuple(int(i) for i in position)


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False
