"""Q1, beyond the assignment: which bumps can each optimizer get over, as the learning rate varies?

For every learning rate on a grid and for each optimizer -- gradient descent (SGD), SGD with momentum
0.9, Adam (betas 0.9/0.999) -- it finds the critical bump height h*(lr): the tallest bump the
optimizer escapes from x0 = 0 within the step budget (escapes: some iterate lies right of the bump
top 1 + h). Each h* is a bisection on h of runs on the full bump loss; all learning rates are run
at once, as one vector of x's (see ``bump.run_batched``), whose trajectories are those of single runs
(``bump.run_optimizer``, which the --mark-lr line uses) bit for bit. It plots h* against lr.

What to expect. Gradient descent moves by exactly lr, so its first point past x = 1 is
ceil(1/lr) * lr and h*_GD = ceil(1/lr) * lr - 1: a sawtooth that stays below lr. Momentum builds up
speed on the way down and carries it over the minimum, so it clears far higher bumps. Adam's step is
lr * m_hat here (v_hat = 1), and m_hat needs a few +1 gradients to turn around: it overshoots by more
than gradient descent, less than momentum.

Usage:  .venv/bin/python examples/q1_phase.py [--out runs/q1_phase/critical_height.png] [--loss-plot PATH]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scratchnet from this checkout

from coursework import bump  # noqa: E402
from coursework.cli import float_in, int_from, use_headless_matplotlib  # noqa: E402


def optimizer_list(text):
    """argparse type: a comma-separated list of optimizer names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in bump.OPTIMIZERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(bump.OPTIMIZERS)}, got {text!r}")
    return names


def build_parser():
    parser = bump.option_parser(Path(__file__).name, "Q1 phase sweep: the critical bump height h* against the learning "
                         "rate for gradient descent, SGD with momentum and Adam, by bisection on the full bump "
                         "loss; saves a PNG.")
    parser.add_argument("--out", type=Path, default=Path("runs/q1_phase/critical_height.png"),
                        help="where to save the plot (a .png)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the numbers (lr and h* per optimizer) here")
    parser.add_argument("--lr-min", type=bump.LEARNING_RATE, default=0.06, help="smallest learning rate, in (0, 10]")
    parser.add_argument("--lr-max", type=bump.LEARNING_RATE, default=1.5, help="largest learning rate, in (0, 10]")
    parser.add_argument("--num-lr", type=int_from(2, 10_000), default=300, help="learning rates, log-spaced")
    parser.add_argument("--steps", type=bump.STEPS, default=20, help="step budget of every run, 1 to 1000")
    parser.add_argument("--tol", type=float_in(0, 0.1), default=1e-4, help="bisection tolerance on h, in (0, 0.1]")
    parser.add_argument("--optimizers", type=optimizer_list, default=list(bump.OPTIMIZERS),
                        help="comma-separated subset of " + ",".join(bump.OPTIMIZERS))
    parser.add_argument("--mark-lr", type=bump.LEARNING_RATE, default=0.3,
                        help="learning rate to report (and mark on the plot) exactly, in (0, 10]")
    parser.add_argument("--loss-plot", type=Path, default=None,
                        help="also draw the bump loss, with gradient descent's and Adam's steps, to this .png")
    parser.add_argument("--loss-h", type=bump.BUMP_HEIGHT, default=0.5, help="bump height of the --loss-plot, in (0, 100]")
    return parser


def check_png_path(parser, option, path):
    """Refuse, before any work, a path that is not a .png or whose folder cannot be made."""
    if path.suffix.lower() != ".png":
        parser.error(f"{option} {path}: expected a .png file name")
    if path.is_dir():
        parser.error(f"{option} {path} is a directory; give a .png file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"{option} {path}: cannot create its folder ({error.strerror or error})")


def sweep(lrs, optimizers, steps, tol):
    """h*(lr) for each optimizer: a dict name -> array, one per learning rate."""
    return {name: bump.critical_heights(name, lrs, steps, x0=0.0, tol=tol) for name in optimizers}


def check_options(parser, args):
    """Refuse, before any work, what the option types alone cannot see."""
    if not args.lr_min < args.lr_max:
        parser.error(f"--lr-min {args.lr_min:g} must be below --lr-max {args.lr_max:g}")
    check_png_path(parser, "--out", args.out)
    if args.loss_plot is not None:
        check_png_path(parser, "--loss-plot", args.loss_plot)
    if args.csv is not None:
        if args.csv.is_dir():
            parser.error(f"--csv {args.csv} is a directory; give a file name")
        try:
            args.csv.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            parser.error(f"--csv {args.csv}: cannot create its folder ({error.strerror or error})")


def print_summary(args, lrs, heights, marked):
    """The table of h* per optimizer, and the two checks: gradient descent's sawtooth, and the order
    gradient descent <= Adam <= momentum. Returns the sawtooth's largest difference (or None)."""
    mark = f"h* at lr {args.mark_lr:g}"
    print(f"{'optimizer':<20} {mark:>12} {'max h* (at lr)':>20} {'share of lrs with h* > lr':>27}")
    for name in args.optimizers:
        h = heights[name]
        best = int(np.argmax(h))
        print(f"{bump.LABELS[name]:<20} {marked[name]:>12.4f} {h[best]:>11.4f} ({lrs[best]:.3f}) "
              f"{float(np.mean(h > lrs)):>26.0%}")
    gd_gap = None
    reached = np.ceil(1.0 / lrs) <= args.steps
    if "gd" in heights and reached.any():  # the sawtooth of the docstring, where the budget reaches x = 1
        gap = np.abs(heights["gd"] - (np.ceil(1.0 / lrs) * lrs - 1.0))[reached]
        print(f"gradient descent against ceil(1/lr) * lr - 1 at the {reached.sum()} learning rates that reach "
              f"x = 1 within {args.steps} steps: largest difference {gap.max():.1e}")
        gd_gap = float(gap.max())
    if all(name in heights for name in bump.OPTIMIZERS):
        ordered = (heights["gd"] <= heights["adam"] + args.tol) & (heights["adam"] <= heights["momentum"] + args.tol)
        print(f"gradient descent <= Adam <= momentum (within tol) at {ordered.sum()} of {len(lrs)} learning rates")
    return gd_gap


def write_csv(path, lrs, heights):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lr", *heights])
        for i, lr in enumerate(lrs):
            writer.writerow([f"{lr:.6g}", *(f"{h[i]:.6g}" for h in heights.values())])
    print(f"saved {path}")


def draw_loss_plot(path, h, plt):
    runs = bump.plot_loss(path, h, plt)
    gd, adam = runs["gd"], runs["adam"]
    cycle = bump.find_cycle(gd.xs)
    gd_end = ("ends cycling through " + ", ".join(f"{x:.4f}" for x in gd.xs[cycle[0]:cycle[0] + cycle[1]])
              if cycle else f"ends at x = {gd.xs[-1]:.4f}")
    adam_end = "past the bump top: it escapes" if adam.escaped else f"short of the bump top {bump.bump_top(h):g}: trapped"
    print(f"saved {path}: the bump loss for h = {h:g}; gradient descent {gd_end}; "
          f"Adam's farthest point is x = {adam.max_x:.4f} ({adam_end})")
    return runs


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_options(parser, args)
    plt = use_headless_matplotlib()
    lrs = np.geomspace(args.lr_min, args.lr_max, args.num_lr)
    print(f"critical bump height h*(lr) from x0 = 0 within {args.steps} steps, {args.num_lr} learning rates "
          f"in [{args.lr_min:g}, {args.lr_max:g}], bisection tol {args.tol:g}")
    heights = {name: bump.critical_heights(name, lrs, args.steps, tol=args.tol) for name in args.optimizers}
    marked = {name: bump.critical_height(name, args.mark_lr, args.steps, tol=args.tol) for name in args.optimizers}
    gd_gap = print_summary(args, lrs, heights, marked)
    bump.plot_phase(args.out, lrs, heights, args.mark_lr, marked, args.steps, plt)
    print(f"saved {args.out}")
    if args.csv is not None:
        write_csv(args.csv, lrs, heights)
    result = {"lrs": lrs, "heights": heights, "marked": marked, "gd_formula_gap": gd_gap,
              "out": args.out, "csv": args.csv}
    if args.loss_plot is not None:
        result["loss_runs"] = draw_loss_plot(args.loss_plot, args.loss_h, plt)
        result["loss_plot"] = args.loss_plot
    return result


if __name__ == "__main__":
    main()
