"""Q1(a): plain gradient descent is trapped by the bump.

The loss (``examples/coursework/bump.py``) is L(x) = min(|x - 1|, |x - x_g| - 1), x_g = 2 + 2h:
a local minimum at x = 1 (L = 0), a bump of height h at x = 1 + h, and the global minimum at x_g
(L = -1). Every slope is -1 or +1, so gradient descent

    x <- x - lr * L'(x)

always moves by exactly lr. From x0 = 0 with lr = 0.3 it walks 0.3, 0.6, 0.9, steps over the minimum
to 1.2, is sent back to 0.9 by the slope +1 there, and from then on alternates 0.9, 1.2, 0.9, ...
It only escapes if that first point past 1 (here 1.2) is already beyond the bump top 1 + h.

Usage:  python examples/q1a_gd.py [--h 0.5] [--lr 0.3] [--steps 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing scratchnet

from coursework import bump
from coursework.cli import non_negative_float, positive_float, positive_int


def build_parser():
    parser = argparse.ArgumentParser(
        prog=Path(__file__).name,
        description="Q1(a): gradient descent (scratchnet.optim.SGD) from x0 = 0 on the bump loss; "
                    "prints the step table and whether it is stuck at the local minimum x = 1.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--h", type=non_negative_float, default=0.5,
                        help="height of the bump (its top is at x = 1 + h)")
    parser.add_argument("--lr", type=positive_float, default=0.3, help="learning rate")
    parser.add_argument("--steps", type=positive_int, default=6, help="number of gradient steps")
    return parser


def print_table(trajectory):
    print(f"{'step':>4}  {'x':>8}  {'loss':>8}  {'grad':>4}")
    for t, (x, loss, grad) in enumerate(zip(trajectory.xs, trajectory.losses, trajectory.grads)):
        print(f"{t:>4}  {x:>8.4f}  {loss:>8.4f}  {grad:>+4.0f}")


def verdict(trajectory, h):
    """Read the outcome off the trajectory: escaped, stuck in a cycle (and where), or undecided."""
    top, x_g = bump.bump_top(h), bump.global_minimum(h)
    cycle = bump.find_cycle(trajectory.xs)
    result = {"escape_step": trajectory.escape_step, "cycle": cycle, "stuck": False, "cycle_points": None}
    if cycle is not None:
        start, period = cycle
        result["cycle_points"] = sorted(trajectory.xs[start:start + period])
    if trajectory.escaped:
        t = trajectory.escape_step
        print(f"escaped: step {t} reached x = {trajectory.xs[t]:.4f}, past the bump top at "
              f"x = {top:.4f}, into the basin of the global minimum at x = {x_g:.4f}")
        if cycle is not None and cycle[1] > 1 and result["cycle_points"][0] > top:
            print(f"from step {cycle[0]} on x alternates between "
                  + " and ".join(f"{x:.4f}" for x in result["cycle_points"]) + " around the global minimum")
        return result
    if cycle is None:
        print(f"undecided: no repeated x within {trajectory.steps} steps and the bump top at x = {top:.4f} "
              f"not passed yet (last x = {trajectory.xs[-1]:.4f}); try more --steps")
        return result
    low, high = result["cycle_points"][0], result["cycle_points"][-1]
    result["stuck"] = True
    if low < bump.LOCAL_MIN < high:
        where = f"either side of the local minimum at x = {bump.LOCAL_MIN:g}"
    elif low == high == bump.LOCAL_MIN:
        where = "exactly on the local minimum, where autograd's gradient of |x - 1| is 0"
    else:
        where = f"in the basin of the local minimum at x = {bump.LOCAL_MIN:g}"
    if period == 1:
        label, motion = "stuck", f"x stays at {low:.4f}"
    else:
        label = "stuck oscillating"
        motion = "x alternates between " + " and ".join(f"{x:.4f}" for x in result["cycle_points"])
    print(f"{label}: from step {start} on {motion}, {where}, below the bump top at "
          f"x = {top:.4f}; gradient descent's next x depends on x alone, so this repeats forever "
          f"and it never reaches the global minimum at x = {x_g:.4f}")
    return result


def main(argv=None):
    args = build_parser().parse_args(argv)
    print(f"Gradient descent (SGD, lr {args.lr:g}) from x0 = 0 on the bump loss with h = {args.h:g}: "
          f"local minimum x = {bump.LOCAL_MIN:g}, bump top x = {bump.bump_top(args.h):g}, "
          f"global minimum x = {bump.global_minimum(args.h):g}")
    trajectory = bump.run_optimizer("gd", args.lr, args.steps, args.h, x0=0.0)
    print_table(trajectory)
    result = verdict(trajectory, args.h)
    return {"trajectory": trajectory, **result}


if __name__ == "__main__":
    main()
