"""Q1: one parameter, two minima, and a bump between them.

The loss of the assignment lives on a single number ``x``. It has a local minimum at x = 1 (value 0)
and, behind a bump of height ``h``, a deeper global minimum. We write it as the lower of two V-shaped
wells, one around each minimum:

    left well   |x - 1|            0 at the local minimum x = 1
    right well  |x - x_g| - 1     -1 at the global minimum x_g = 2 + 2h

    L(x) = min(|x - 1|,  |x - x_g| - 1)

The two wells meet where both equal h, at x = 1 + h: that point is the top of the bump. Going left to
right the loss is therefore four straight pieces, each with slope -1 or +1:

    x < 1            L = 1 - x            L' = -1   down into the local minimum
    1 < x < 1 + h    L = x - 1            L' = +1   up the bump (to height h)
    1 + h < x < x_g  L = 2h + 1 - x       L' = -1   down the far side, to L(x_g) = -1
    x > x_g          L = x - x_g - 1      L' = +1   up again

We choose x_g = 1 + h + (h + 1): the far side of the bump falls by h + 1, from h to -1, so the global
minimum is 1 below the local one for every h. The loss is built from scratchnet ops (``abs``,
``minimum``) so the gradient comes from autograd, and the optimizers are scratchnet's own (``SGD``,
``Adam``) stepping a ``Parameter``. At the kinks autograd returns a subgradient: 0 at x = 1 exactly
(``|a|'`` is ``sign(a)``) and +1 at the bump top exactly (``minimum`` gives a tie to the left well).

Since |L'| = 1 everywhere, gradient descent always moves by exactly lr: it cannot feel how far it is
from a minimum, which is what makes this toy a clean test of how far an optimizer *overshoots*.

"Escapes" has one meaning throughout: within the step budget, some iterate lies strictly to the right
of the bump top, x_t > 1 + h, i.e. the optimizer reached the basin of the global minimum. The largest
bump an optimizer escapes from (the *critical height* h*) is found by bisection on h (see
``critical_height``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scratchnet import backend, optim
from scratchnet import functional as F
from scratchnet.nn import Parameter
from scratchnet.tensor import Tensor

LOCAL_MIN = 1.0  # the local minimum, where L = 0
GLOBAL_DEPTH = -1.0  # L at the global minimum
OPTIMIZERS = ("gd", "momentum", "adam")
DTYPE = "float64"  # one parameter: full precision costs nothing and keeps 4-decimal tables exact


def bump_top(h):
    """Where the bump peaks: x = 1 + h (the loss there is h)."""
    return LOCAL_MIN + h


def global_minimum(h):
    """Where the global minimum is: x_g = 1 + h + (h + 1) = 2 + 2h (the loss there is -1)."""
    return 2.0 + 2.0 * h


def bump_loss(x: Tensor, h) -> Tensor:
    """L(x) = min(|x - 1|, |x - x_g| - 1) with x_g = 2 + 2h, elementwise.

    ``x`` is a Tensor of any shape; ``h >= 0`` is a number or an array that broadcasts against it
    (one bump height per entry of ``x``, which the vectorised runs below use).
    """
    if backend.np.any(backend.to_numpy(h) < 0):
        raise ValueError(f"the bump height h must be >= 0, got {h!r}")
    left_well = (x - LOCAL_MIN).abs()  # 0 at the local minimum x = 1
    right_well = (x - global_minimum(h)).abs() + GLOBAL_DEPTH  # -1 at the global minimum
    return F.minimum(left_well, right_well)


# ---------------------------------------------------------------------------------------------------
# One optimizer run on one x
# ---------------------------------------------------------------------------------------------------


def make_optimizer(name, params, lr, momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
    """``"gd"``: SGD (x <- x - lr g);  ``"momentum"``: SGD with momentum;  ``"adam"``: Adam."""
    if name == "gd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=betas, eps=eps)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")


@dataclass
class Trajectory:
    """What one run visited. ``xs[t]``, ``losses[t]``, ``grads[t]``: x after t steps (``xs[0]`` is
    the start), the loss there and the autograd gradient there (the one step t + 1 uses)."""

    name: str
    lr: float
    h: float
    xs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    grads: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.xs) - 1

    @property
    def max_x(self) -> float:
        """The farthest point to the right reached by a step (the start does not count)."""
        return max(self.xs[1:])

    @property
    def escape_step(self):
        """The first step t with x_t > 1 + h (past the bump top), or None if it never escaped."""
        top = bump_top(self.h)
        return next((t for t, x in enumerate(self.xs) if t > 0 and x > top), None)

    @property
    def escaped(self) -> bool:
        return self.escape_step is not None


def run_optimizer(name, lr, steps, h, x0=0.0, **hyper) -> Trajectory:
    """Start at x0 and take ``steps`` steps of optimizer ``name`` on ``bump_loss(x, h)``.

    Each step is the usual training step on a one-number model:
    ``zero_grad(); loss = bump_loss(x, h); loss.backward(); step()``.
    """
    x = Parameter(x0, dtype=DTYPE)
    optimizer = make_optimizer(name, [x], lr, **hyper)
    trajectory = Trajectory(name, lr, h)
    for t in range(steps + 1):
        optimizer.zero_grad()
        loss = bump_loss(x, h)
        loss.backward()
        trajectory.xs.append(x.item())
        trajectory.losses.append(loss.item())
        trajectory.grads.append(x.grad.item())
        if t < steps:  # the last pass only measures where the run ended
            optimizer.step()
    return trajectory


def find_cycle(xs, tol=1e-9, max_period=8):
    """Does the trajectory end in a cycle? Returns ``(start, period)`` or None.

    The smallest period p for which each of the last p values came back p steps later
    (x_t = x_{t-p} within ``tol``), and the first step ``start`` from which x_t = x_{t+p} holds to the
    end. For gradient descent this is a proof, not a guess: its next x depends on x alone, so a value
    that comes back repeats forever. (Momentum and Adam carry a velocity as well, so for them a
    repeated x need not repeat again.)
    """
    for p in range(1, max_period + 1):
        if len(xs) < 2 * p:
            break
        if all(abs(xs[-1 - i] - xs[-1 - i - p]) <= tol for i in range(p)):
            start = len(xs) - 1 - 2 * p + 1
            while start > 0 and abs(xs[start - 1] - xs[start - 1 + p]) <= tol:
                start -= 1
            return start, p
    return None


# ---------------------------------------------------------------------------------------------------
# The critical bump height, by bisection
# ---------------------------------------------------------------------------------------------------


def escapes(name, lr, steps, h, x0=0.0, **hyper) -> bool:
    """True when optimizer ``name`` gets past the bump top 1 + h within ``steps`` steps."""
    return run_optimizer(name, lr, steps, h, x0, **hyper).escaped


def critical_height(name, lr, steps, x0=0.0, tol=1e-6, **hyper) -> float:
    """The largest bump height the optimizer escapes from, h*, by bisection on the full bump loss.

    Why bisection works (escaping is monotone in h): left of 1 + h' the loss is |x - 1| for every
    h >= h', so two runs with bumps h' < h take the same steps until the first time one of them
    passes 1 + h'. A run that escapes the taller bump h passes 1 + h > 1 + h' at some step, so the
    run with the lower bump h' has passed 1 + h' by then too: it escapes. So every bump below h* is
    escaped and none above it, and halving a bracket [lo, hi] with escapes(lo) and not escapes(hi)
    traps h* to within ``tol``. We start from lo = 0 and a hi that doubles until it traps the run.
    An optimizer that never even passes x = 1 within the budget escapes no bump: h* = 0.

    The bracket also stops shrinking when lo and hi are neighbouring floats (their midpoint is one of
    them): above about 1e10 the spacing of float64 numbers exceeds a tol of 1e-6, and h* is then
    found to that spacing instead.
    """
    if not escapes(name, lr, steps, 0.0, x0, **hyper):  # not even a bump of height zero
        return 0.0
    lo, hi = 0.0, 1.0
    while escapes(name, lr, steps, hi, x0, **hyper):
        lo, hi = hi, 2.0 * hi
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:  # neighbouring floats: the bracket cannot get any narrower
            break
        if escapes(name, lr, steps, mid, x0, **hyper):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------------------------------
# Many learning rates at once (for the phase sweep)
# ---------------------------------------------------------------------------------------------------


def run_batched(name, lrs, steps, h, x0=0.0, **hyper):
    """Run optimizer ``name`` once per learning rate in ``lrs``, all at once; returns a host array of
    shape (steps + 1, len(lrs)): column i is the x trajectory for ``lrs[i]`` (``h`` may be one height
    or one per learning rate).

    One vector x holds every run, stepped by the optimizer itself, whose lr is replaced by the array
    ``lrs`` after it is made. The optimizers act elementwise and use lr only as a factor of
    elementwise products (SGD: x - lr * g or x - lr * v; Adam: a step size lr * (1 - b1) / ...), so
    entry i goes through exactly the float operations, in the same order, as ``run_optimizer`` with
    the single lr ``lrs[i]``: the columns equal its trajectories bit for bit, also where a run lands
    exactly on a kink (gradient descent with lr = 0.25 reaches x = 1, where the gradient is 0, and
    stays there).
    """
    xp = backend.xp
    lrs = backend.as_array(lrs, DTYPE)
    h = backend.as_array(h, DTYPE)
    x = Parameter(xp.full(lrs.shape, x0, dtype=DTYPE), dtype=DTYPE)
    optimizer = make_optimizer(name, [x], 1.0, **hyper)  # lr 1.0 passes the constructor's check...
    optimizer.lr = lrs  # ...and is replaced by one lr per entry of x
    xs = [x.data.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        bump_loss(x, h).sum().backward()  # entry i's gradient is L'(x_i), as in run_optimizer
        optimizer.step()
        xs.append(x.data.copy())  # step() updates x.data in place
    return backend.to_numpy(xp.stack(xs))


def escapes_batched(name, lrs, steps, h, x0=0.0, **hyper):
    """One boolean per learning rate: did that run get past its bump top 1 + h within ``steps``?"""
    xs = run_batched(name, lrs, steps, h, x0, **hyper)
    return (xs[1:] > bump_top(backend.to_numpy(h))).any(axis=0)


def critical_heights(name, lrs, steps, x0=0.0, tol=1e-6, **hyper):
    """``critical_height`` for every learning rate in ``lrs`` at once: one bisection per lr, all
    advancing together (each halves its own bracket on its own escape test, until the widest bracket
    is within ``tol``; a bracket between neighbouring floats stops shrinking, as in
    ``critical_height``). Returns a host array."""
    np = backend.np
    lrs = np.asarray(backend.to_numpy(lrs), dtype=DTYPE)
    never = ~escapes_batched(name, lrs, steps, np.zeros_like(lrs), x0, **hyper)  # not even h = 0: h* = 0
    lo, hi = np.zeros_like(lrs), np.ones_like(lrs)
    while True:  # grow hi until it traps every run (ends: no run passes a bump top of inf)
        growing = escapes_batched(name, lrs, steps, hi, x0, **hyper)
        if not growing.any():
            break
        lo, hi = np.where(growing, hi, lo), np.where(growing, 2.0 * hi, hi)
    while True:  # halve every bracket that can still shrink, until all are within tol
        mid = 0.5 * (lo + hi)
        shrinks = (lo < mid) & (mid < hi)  # False once lo and hi are neighbouring floats
        if not (shrinks & (hi - lo > tol)).any():
            break
        up = escapes_batched(name, lrs, steps, mid, x0, **hyper)
        lo, hi = np.where(shrinks & up, mid, lo), np.where(shrinks & ~up, mid, hi)
    return np.where(never, 0.0, 0.5 * (lo + hi))


__all__ = [
    "GLOBAL_DEPTH", "LOCAL_MIN", "OPTIMIZERS", "Trajectory", "bump_loss", "bump_top", "critical_height",
    "critical_heights", "escapes", "escapes_batched", "find_cycle", "global_minimum", "make_optimizer",
    "run_batched", "run_optimizer",
]
