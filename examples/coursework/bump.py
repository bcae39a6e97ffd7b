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

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from scratchnet import backend, optim
from scratchnet import functional as F
from scratchnet.nn import Parameter
from scratchnet.tensor import Tensor

from .cli import float_in, int_from, unit_interval

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

    def record(self, x, loss):
        """Note x, the loss there and x's gradient (after ``loss.backward()``)."""
        self.xs.append(x.item())
        self.losses.append(loss.item())
        self.grads.append(x.grad.item())

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
        trajectory.record(x, loss)
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
    elementwise products (SGD: x - lr * g or x - lr * b; Adam: x - lr * m_hat / ...), so
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


# ---------------------------------------------------------------------------------------------------
# What the runs show: gradient descent's verdict, the assignment's Adam loop
# ---------------------------------------------------------------------------------------------------


def gd_verdict(trajectory):
    """Read gradient descent's outcome off its trajectory: escaped, stuck in a cycle (and where), or
    undecided. Returns a dict: ``message`` (one line), ``stuck``, ``escape_step``, ``cycle`` (as
    ``find_cycle``) and ``cycle_points`` (the x's of the cycle, sorted)."""
    top, x_g = bump_top(trajectory.h), global_minimum(trajectory.h)
    cycle = find_cycle(trajectory.xs)
    points = sorted(trajectory.xs[cycle[0]:cycle[0] + cycle[1]]) if cycle else None
    result = {"escape_step": trajectory.escape_step, "cycle": cycle, "cycle_points": points, "stuck": False}
    if trajectory.escaped:
        t = trajectory.escape_step
        result["message"] = (f"escaped: step {t} reached x = {trajectory.xs[t]:.4f}, past the bump top at "
                             f"x = {top:.4f}, into the basin of the global minimum at x = {x_g:.4f}")
    elif cycle is None:
        result["message"] = (f"undecided: no repeated x within {trajectory.steps} steps and the bump top at "
                             f"x = {top:.4f} not passed yet (last x = {trajectory.xs[-1]:.4f}); try more --steps")
    else:
        low, high = points[0], points[-1]
        if low < LOCAL_MIN < high:
            where = f"either side of the local minimum at x = {LOCAL_MIN:g}"
        elif low == high == LOCAL_MIN:
            where = "exactly on the local minimum, where autograd's gradient of |x - 1| is 0"
        else:
            where = f"in the basin of the local minimum at x = {LOCAL_MIN:g}"
        motion = (f"stuck: from step {cycle[0]} on x stays at {low:.4f}" if cycle[1] == 1 else
                  f"stuck oscillating: from step {cycle[0]} on x alternates between "
                  + " and ".join(f"{x:.4f}" for x in points))
        result["stuck"] = True
        result["message"] = (f"{motion}, {where}, below the bump top at x = {top:.4f}; gradient descent's "
                             f"next x depends on x alone, so this repeats forever and it never reaches the "
                             f"global minimum at x = {x_g:.4f}")
    return result


def assignment_adam(lr, steps, beta1=0.9, beta2=0.999):
    """The assignment's own Adam loop, in plain Python, on the slopes of the bump's left well: the
    gradient sign(x - 1) (as autograd takes it: 0 on x = 1) and the update
    x <- x - lr * m_hat * sqrt(v_hat), a product where Adam divides by sqrt(v_hat) + eps.
    Returns the xs (``xs[0]`` = 0) and the v_hat of every step."""
    x, m, v = 0.0, 0.0, 0.0
    xs, v_hats = [x], []
    for t in range(1, steps + 1):
        g = (x > LOCAL_MIN) - (x < LOCAL_MIN)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        x = x - lr * m_hat * v_hat**0.5
        xs.append(x)
        v_hats.append(v_hat)
    return xs, v_hats


# ---------------------------------------------------------------------------------------------------
# The scripts' options: every number has a range that means something, refused before any work
# ---------------------------------------------------------------------------------------------------

BUMP_HEIGHT = float_in(0, 100)  # a bump of height h; beyond 100 the plots and tables say nothing more
LEARNING_RATE = float_in(0, 10)  # every step is about lr long: 10 crosses any bump the options allow
STEPS = int_from(1, 1000)
EPS = float_in(1e-12, 1, low_included=True)  # keeps Adam's division defined where v_hat = 0: in
# float64 an eps much below 1e-12 is lost next to sqrt(v_hat) = 1 (tests/test_q1.py shows eps = 0)


def option_parser(script, description):
    """An argparse parser for a Q1 script that shows each option's default in --help."""
    return argparse.ArgumentParser(prog=script, description=description,
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def q1a_options(argv=None):
    """The options of examples/q1a_gd.py, parsed (a one-line error and exit 2 for a bad one)."""
    options = option_parser("q1a_gd.py", "Q1(a): gradient descent (scratchnet.optim.SGD) from x0 = 0 on the bump "
                                  "loss; prints the step table and whether it is stuck at the local minimum x = 1.")
    options.add_argument("--h", type=BUMP_HEIGHT, default=0.5, help="height of the bump, in (0, 100]")
    options.add_argument("--lr", type=LEARNING_RATE, default=0.3, help="learning rate, in (0, 10]")
    options.add_argument("--steps", type=STEPS, default=6, help="number of steps, 1 to 1000")
    return options.parse_args(argv)


def q1b_options(argv=None):
    """The options of examples/q1b_adam.py, parsed (a one-line error and exit 2 for a bad one)."""
    options = option_parser("q1b_adam.py", "Q1(b): Adam from x0 = 0 on the bump loss: its overshoot max x, the "
                                    "critical bump height h* = max x - 1, the same h* by bisection, and the "
                                    "assignment's m_hat * sqrt(v_hat) loop.")
    options.add_argument("--lr", type=LEARNING_RATE, default=0.3, help="learning rate, in (0, 10]")
    options.add_argument("--steps", type=STEPS, default=20, help="number of Adam steps, 1 to 1000")
    options.add_argument("--beta1", type=unit_interval, default=0.9, help="decay of the gradient's average m")
    options.add_argument("--beta2", type=unit_interval, default=0.999, help="decay of the squared gradient's average v")
    options.add_argument("--eps", type=EPS, default=1e-8, help="Adam's eps, in [1e-12, 1]")
    options.add_argument("--tol", type=float_in(0, 1e-3), default=1e-6, help="bisection tolerance on h, in (0, 0.001]")
    return options.parse_args(argv)


# ---------------------------------------------------------------------------------------------------
# Plots (matplotlib is passed in: see coursework.cli.use_headless_matplotlib)
# ---------------------------------------------------------------------------------------------------

LABELS = {"gd": "gradient descent", "momentum": "SGD + momentum 0.9", "adam": "Adam (0.9, 0.999)"}
COLORS = {"gd": "tab:blue", "momentum": "tab:green", "adam": "tab:red"}


def plot_phase(path: Path, lrs, heights, mark_lr, marked, steps, plt):
    """h*(lr) of each optimizer in ``heights`` (name -> array), with ``marked[name]`` at ``mark_lr``."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, h in heights.items():
        ax.plot(lrs, h, color=COLORS[name], lw=1.4, label=LABELS[name])
        ax.plot([mark_lr], [marked[name]], "o", color=COLORS[name], ms=6)
        ax.annotate(f"{marked[name]:.4f}", (mark_lr, marked[name]), textcoords="offset points",
                    xytext=(-8, 6), ha="right", fontsize=8, color=COLORS[name],
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.plot(lrs, lrs, ":", color="gray", lw=1, label="h = lr (gradient descent stays below)")
    ax.axvline(mark_lr, color="gray", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("critical bump height h*")
    ax.set_title(f"Tallest bump escaped from x0 = 0 within {steps} steps")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss(path: Path, h, plt, lr=0.3, gd_steps=6, adam_steps=20):
    """The bump loss for height h, with the steps of gradient descent and of Adam (both lr 0.3);
    returns their trajectories, ``{"gd": ..., "adam": ...}``."""
    np = backend.np
    top, x_g = bump_top(h), global_minimum(h)
    grid = np.linspace(-0.5, x_g + 1.5, 801)
    loss = bump_loss(Tensor(grid, dtype=DTYPE), h).numpy()
    gd, adam = run_optimizer("gd", lr, gd_steps, h), run_optimizer("adam", lr, adam_steps, h)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(grid, loss, color="black", lw=1.5, label=f"L(x), h = {h:g}")
    ax.plot(adam.xs, adam.losses, "-", color="tab:red", lw=0.6, alpha=0.5)
    ax.plot(adam.xs, adam.losses, "o", color="tab:red", ms=4, alpha=0.7,
            label=f"Adam, lr {lr:g}, {adam_steps} steps: max x = {adam.max_x:.4f}")
    ax.plot(gd.xs, gd.losses, "s", color="tab:blue", ms=6, mfc="none", mew=1.5,
            label=f"gradient descent, lr {lr:g}, {gd_steps} steps")
    for x, y, text in ((LOCAL_MIN, 0.0, f"local min ({LOCAL_MIN:g}, 0)"), (top, h, f"bump top ({top:g}, {h:g})"),
                       (x_g, GLOBAL_DEPTH, f"global min ({x_g:g}, {GLOBAL_DEPTH:g})")):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(10, -4 if y < h else 4), fontsize=8)
    ax.axvline(adam.max_x, color="tab:red", lw=0.8, ls="--")
    ax.set_ylim(GLOBAL_DEPTH - 0.25, max(loss) + 0.2)
    ax.set_xlabel("x")
    ax.set_ylabel("loss")
    ax.set_title("L(x) = min(|x - 1|, |x - x_g| - 1),  x_g = 2 + 2h")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"gd": gd, "adam": adam}


__all__ = [
    "BUMP_HEIGHT", "COLORS", "EPS", "GLOBAL_DEPTH", "LABELS", "LEARNING_RATE", "LOCAL_MIN", "OPTIMIZERS", "STEPS",
    "Trajectory", "assignment_adam", "bump_loss", "bump_top", "critical_height", "critical_heights", "escapes",
    "escapes_batched", "find_cycle", "gd_verdict", "global_minimum", "make_optimizer", "option_parser", "plot_loss",
    "plot_phase", "q1a_options", "q1b_options", "run_batched", "run_optimizer",
]
