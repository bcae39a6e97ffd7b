"""Q1(b): Adam overshoots the local minimum, so it escapes a low enough bump.

Adam (scratchnet.optim.Adam) keeps running averages of the gradient and of its square,

    m <- b1 m + (1 - b1) g        m_hat = m / (1 - b1^t)
    v <- b2 v + (1 - b2) g^2      v_hat = v / (1 - b2^t)
    x <- x - lr * m_hat / (sqrt(v_hat) + eps)

On the bump loss |g| = 1 at every step, so v_hat = (1 - b2) sum_k b2^(t-k) / (1 - b2^t) = 1 exactly:
the step is lr * m_hat, and m_hat is an average of past signs. After x passes 1 the gradient turns to
+1, but m_hat stays negative for a few steps (it remembers the -1s), so x keeps going right: Adam
overshoots the minimum by a distance set by lr and b1 alone.

The one exception is an iterate exactly on x = 1, where autograd's gradient of |x - 1| is 0. That
takes steps of exactly lr with lr dividing 1, so eps = 0 and an m_hat and v_hat that round to exactly
1: --lr 0.25 --beta2 0 --eps 0 lands on x = 1 at step 4 (with the default beta2 the same four steps
stop 3e-15 short of it, and with eps > 0 every step is lr / (1 + eps)). A 0 among the gradients
makes v_hat < 1 from then on (v_hat = 0 with --beta2 0, but for the tiny floor optim.Adam keeps
under v), and the step m_hat / (sqrt(v_hat) + eps) can exceed lr, without bound as beta2 and eps go
to 0.

The script measures that overshoot on a bump too tall to be crossed (h = lr * steps: while every
gradient is -1 or +1, v_hat = 1 and |m_hat| <= 1, so Adam moves at most lr per step), so the run only
ever sees the slopes -1 and +1 of the assignment. Should an iterate land on x = 1 and the step after
it cross even that bump, max x - 1 is no longer the critical height: the script says so in one
line and exits with status 2. Left of 1 + h every bump loss is the same |x - 1|, so a bump lower
than (max x - 1) is passed by the same steps and one at least that high is never reached:

    h* = max x - 1.

It checks this independently, by bisection on h of "escapes" on the full loss with the bump in it
(escapes: some iterate within the step budget lies right of the bump top 1 + h, in the basin of the
global minimum), and prints both and whether they agree within 1e-3.

Finally it runs the assignment's own loop in plain Python, which moved by lr * m_hat * sqrt(v_hat)
(a product where Adam divides, and no eps), with the loss's gradient: -1 left of x = 1, 0 on it, +1
right of it. Since v_hat = 1 here, sqrt(v_hat) = 1 and multiplying or dividing by it is the same, so
the bug changes nothing on this loss; it prints the evidence. Where the runs do part, it says why:
they reach different sides of the kink x = 1, or a zero gradient there took v_hat below 1, or (with
the same gradients all along) eps and rounding alone, eps making every Adam step 1 / (1 + eps) of
the loop's.

Usage:  python examples/q1b_adam.py [--lr 0.3] [--steps 20] [--beta1 0.9] [--beta2 0.999] [--eps 1e-8]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing scratchnet

from coursework import bump
from coursework.cli import non_negative_float, positive_float, positive_int, unit_interval

AGREE_TOL = 1e-3  # how close the bisection must come to max x - 1
V_HAT_TOL = 1e-9  # |v_hat - 1| below this is rounding (1e-14 here); a zero gradient moves it by > 1e-4


def build_parser():
    parser = argparse.ArgumentParser(
        prog=Path(__file__).name,
        description="Q1(b): Adam from x0 = 0 on the bump loss: its overshoot max x, the critical bump "
                    "height h* = max x - 1, the same h* by bisection on the full loss, and the "
                    "assignment's m_hat * sqrt(v_hat) loop.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--lr", type=positive_float, default=0.3, help="learning rate")
    parser.add_argument("--steps", type=positive_int, default=20, help="number of Adam steps")
    parser.add_argument("--beta1", type=unit_interval, default=0.9, help="decay of the gradient average m")
    parser.add_argument("--beta2", type=unit_interval, default=0.999, help="decay of the squared-gradient average v")
    parser.add_argument("--eps", type=non_negative_float, default=1e-8, help="Adam's eps")
    parser.add_argument("--tol", type=positive_float, default=1e-6, help="bisection tolerance on h")
    return parser


def kink_gradient(x):
    """The gradient of |x - 1| as autograd takes it (sign(x - 1)): -1 left of 1, 0 at 1, +1 right."""
    return -1.0 if x < 1.0 else (0.0 if x == 1.0 else 1.0)


def assignment_loop(lr, steps, beta1, beta2):
    """The assignment's Adam, in plain Python: the gradient of |x - 1| (``kink_gradient``, so the same
    as autograd's at x = 1 exactly) and the update x <- x - lr * m_hat * sqrt(v_hat) (its bug: times
    sqrt(v_hat), where Adam divides by it + eps). Returns the xs (xs[0] = 0), the gradient every step
    used and the v_hat of every step."""
    x, m, v = 0.0, 0.0, 0.0
    xs, grads, v_hats = [x], [], []
    for t in range(1, steps + 1):
        g = kink_gradient(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        x = x - lr * m_hat * math.sqrt(v_hat)
        xs.append(x)
        grads.append(g)
        v_hats.append(v_hat)
    return xs, grads, v_hats


def crossed_tall_bump(trajectory, lr):
    """Why a run crossed the bump h = lr * steps, in one line (see the module docstring)."""
    t = trajectory.escape_step
    zeros = [k for k in range(t) if trajectory.grads[k] == 0.0]
    message = f"Adam crossed the 'tall' bump h = {trajectory.h:g} at step {t}, so max x - 1 is not its critical height"
    if not zeros:
        return message
    k = zeros[0]
    step = (trajectory.xs[k + 1] - trajectory.xs[k]) / lr
    return (f"{message}: step {k} landed exactly on x = 1, where the gradient is 0, so v_hat fell below 1 and "
            f"step {k + 1} moved {step:.3g} lr; choose another --lr, or --eps > 0 (steps of lr / (1 + eps) "
            f"do not land on x = 1 this way)")


def why_the_runs_part(trajectory, xs_assignment, grads_assignment, args):
    """One clause: why Adam and the assignment's loop end with different max x. Until their gradients
    first differ, or first are 0 together (both exactly on x = 1), both runs see gradients of -1 and
    +1 only, v_hat = 1, and the only differences are eps and rounding."""
    pairs = list(zip(trajectory.grads, grads_assignment))
    split = next((t for t, (a, b) in enumerate(pairs) if a != b), len(pairs))
    zero = next((t for t, (a, b) in enumerate(pairs) if a == b == 0.0), len(pairs))
    small = "eps and rounding" if args.eps else "rounding"
    if split < zero:  # one run on one side of the kink (or on it), the other not
        x_adam, x_loop = trajectory.xs[split], xs_assignment[split]
        return (f"the runs part at step {split + 1}, whose gradient is {trajectory.grads[split]:+.0f} for Adam "
                f"(x - 1 = {x_adam - bump.LOCAL_MIN:.1e}) and {grads_assignment[split]:+.0f} for the loop "
                f"(x - 1 = {x_loop - bump.LOCAL_MIN:.1e}): {small} put them on different sides of the kink x = 1")
    if zero < len(pairs):
        return (f"both runs are exactly on x = 1 after step {zero}, where the gradient is 0, so from step "
                f"{zero + 1} on v_hat < 1, and multiplying by sqrt(v_hat) is not dividing by it: here the bug matters")
    return (f"the runs see the same gradients at every step and part by {small} alone: each Adam step is "
            f"1 / (1 + eps) of the loop's, up to lr * eps = {args.lr * args.eps:.1e} shorter")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    hyper = {"betas": (args.beta1, args.beta2), "eps": args.eps}

    # 1. The overshoot, on a bump too tall to cross (checked rather than assumed: see the docstring).
    tall = args.lr * args.steps
    trajectory = bump.run_optimizer("adam", args.lr, args.steps, tall, x0=0.0, **hyper)
    if trajectory.escaped:
        parser.error(crossed_tall_bump(trajectory, args.lr))
    print(f"Adam (lr {args.lr:g}, betas {args.beta1:g}/{args.beta2:g}, eps {args.eps:g}) from x0 = 0, "
          f"{args.steps} steps, on the bump loss with a bump too tall to cross (h = lr * steps = {tall:g}):")
    print("(the m_hat column is the step taken, (x[t-1] - x[t]) / lr = m_hat / (sqrt(v_hat) + eps), "
          "which is m_hat up to eps when v_hat = 1)")
    print(f"{'step':>4}  {'x':>8}  {'loss':>8}  {'grad':>4}  {'m_hat':>8}")
    for t, (x, loss, grad) in enumerate(zip(trajectory.xs, trajectory.losses, trajectory.grads)):
        taken = f"{(trajectory.xs[t - 1] - x) / args.lr:>8.4f}" if t else f"{'':>8}"
        print(f"{t:>4}  {x:>8.4f}  {loss:>8.4f}  {grad:>+4.0f}  {taken}".rstrip())
    max_x = trajectory.max_x
    max_step = trajectory.xs.index(max_x)
    h_overshoot = max_x - bump.LOCAL_MIN
    on_kink = [t for t in range(args.steps) if trajectory.grads[t] == 0.0]  # x_t = 1 exactly
    print(f"max x = {max_x:.4f} at step {max_step}, below the bump top at x = {bump.bump_top(tall):g}: "
          f"the run only saw slope -1 left of x = 1 and +1 right of it"
          + (f" (and gradient 0 exactly on it, after step{'s' * (len(on_kink) > 1)} "
             + ", ".join(map(str, on_kink)) + ")" if on_kink else ""))
    print(f"largest bump Adam escapes: h* = max x - 1 = {h_overshoot:.4f}")

    # 2. The same h* by bisection on the full loss with the bump in it.
    h_bisection = bump.critical_height("adam", args.lr, args.steps, x0=0.0, tol=args.tol, **hyper)
    difference = abs(h_bisection - h_overshoot)
    agree = difference < AGREE_TOL
    print(f"bisection on h (escape = an iterate past the bump top 1 + h within {args.steps} steps, "
          f"tol {args.tol:g}): h* = {h_bisection:.4f}")
    print(f"|h*(bisection) - (max x - 1)| = {difference:.1e} "
          + (f"< {AGREE_TOL:g}: they agree" if agree else f">= {AGREE_TOL:g}: they DISAGREE"))
    below = bump.run_optimizer("adam", args.lr, args.steps, max(h_bisection - AGREE_TOL, 0.0), **hyper)
    above = bump.run_optimizer("adam", args.lr, args.steps, h_bisection + AGREE_TOL, **hyper)
    for label, run in (("h* - 0.001", below), ("h* + 0.001", above)):
        fate = (f"escapes at step {run.escape_step} and ends at x = {run.xs[-1]:.4f} "
                f"(global minimum at x = {bump.global_minimum(run.h):.4f})" if run.escaped
                else f"is trapped: max x = {run.max_x:.4f} < bump top {bump.bump_top(run.h):.4f}, "
                     f"ends at x = {run.xs[-1]:.4f}")
        print(f"  bump h = {label} = {run.h:.4f}: Adam {fate}")

    # 3. The assignment's loop, with its m_hat * sqrt(v_hat).
    xs_assignment, grads_assignment, v_hats = assignment_loop(args.lr, args.steps, args.beta1, args.beta2)
    max_x_assignment = max(xs_assignment[1:])
    v_hat_error = max(abs(v - 1.0) for v in v_hats)
    v_hat_is_one = v_hat_error < V_HAT_TOL
    max_x_gap = abs(max_x_assignment - max_x)
    same = max_x_gap < AGREE_TOL
    print(f"the assignment's loop (x -= lr * m_hat * sqrt(v_hat), plain Python): max x = {max_x_assignment:.4f}; "
          f"max |v_hat - 1| = {v_hat_error:.1e}, "
          + ("so sqrt(v_hat) = 1 and its product is Adam's quotient up to eps" if v_hat_is_one
             else "so sqrt(v_hat) != 1 after its zero gradient on x = 1, and its product is not Adam's quotient"))
    if same:
        print(f"|max x(assignment) - max x(Adam)| = {max_x_gap:.1e} < {AGREE_TOL:g}: the bug changes nothing here")
    else:
        print(f"|max x(assignment) - max x(Adam)| = {max_x_gap:.1e} >= {AGREE_TOL:g}: "
              + why_the_runs_part(trajectory, xs_assignment, grads_assignment, args))
    return {
        "trajectory": trajectory, "on_kink": on_kink, "max_x": max_x, "max_step": max_step, "h_overshoot": h_overshoot,
        "h_bisection": h_bisection, "difference": difference, "agree": agree,
        "below": below, "above": above,
        "assignment_xs": xs_assignment, "assignment_grads": grads_assignment, "assignment_max_x": max_x_assignment, "v_hat_error": v_hat_error,
        "assignment_gap": max_x_gap, "assignment_same": same,
    }


if __name__ == "__main__":
    main()
