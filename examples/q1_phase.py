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

Usage:  python examples/q1_phase.py [--out runs/q1_phase/critical_height.png] [--loss-plot PATH]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing scratchnet

from coursework import bump
from coursework.cli import non_negative_float, positive_float, positive_int, use_headless_matplotlib

from scratchnet import Tensor

LABELS = {"gd": "gradient descent", "momentum": "SGD + momentum 0.9", "adam": "Adam (0.9, 0.999)"}
COLORS = {"gd": "tab:blue", "momentum": "tab:green", "adam": "tab:red"}


def optimizer_list(text):
    """argparse type: a comma-separated list of optimizer names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in bump.OPTIMIZERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(bump.OPTIMIZERS)}, got {text!r}")
    return names


def build_parser():
    parser = argparse.ArgumentParser(
        prog=Path(__file__).name,
        description="Q1 phase sweep: the critical bump height h* against the learning rate for gradient "
                    "descent, SGD with momentum and Adam, by bisection on the full bump loss; saves a PNG.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("runs/q1_phase/critical_height.png"),
                        help="where to save the plot (a .png)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the numbers (lr and h* per optimizer) here")
    parser.add_argument("--lr-min", type=positive_float, default=0.06, help="smallest learning rate")
    parser.add_argument("--lr-max", type=positive_float, default=1.5, help="largest learning rate")
    parser.add_argument("--num-lr", type=positive_int, default=300, help="learning rates, log-spaced")
    parser.add_argument("--steps", type=positive_int, default=20, help="step budget of every run")
    parser.add_argument("--tol", type=positive_float, default=1e-4, help="bisection tolerance on h")
    parser.add_argument("--optimizers", type=optimizer_list, default=list(bump.OPTIMIZERS),
                        help="comma-separated subset of " + ",".join(bump.OPTIMIZERS))
    parser.add_argument("--mark-lr", type=positive_float, default=0.3,
                        help="learning rate to report (and mark on the plot) exactly")
    parser.add_argument("--loss-plot", type=Path, default=None,
                        help="also draw the bump loss, with gradient descent's and Adam's steps, to this .png")
    parser.add_argument("--loss-h", type=non_negative_float, default=0.5, help="bump height of the --loss-plot")
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


def plot_phase(path, lrs, heights, mark_lr, marked, steps, plt):
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


def plot_loss(path, h, plt, lr=0.3, gd_steps=6, adam_steps=20):
    """The bump loss for height h, with the steps of gradient descent and of Adam (both lr 0.3)."""
    top, x_g = bump.bump_top(h), bump.global_minimum(h)
    grid = np.linspace(-0.5, x_g + 1.5, 801)
    loss = bump.bump_loss(Tensor(grid, dtype="float64"), h).numpy()
    gd = bump.run_optimizer("gd", lr, gd_steps, h)
    adam = bump.run_optimizer("adam", lr, adam_steps, h)

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(grid, loss, color="black", lw=1.5, label=f"L(x), h = {h:g}")
    ax.plot(adam.xs, adam.losses, "-", color="tab:red", lw=0.6, alpha=0.5)
    ax.plot(adam.xs, adam.losses, "o", color="tab:red", ms=4, alpha=0.7,
            label=f"Adam, lr {lr:g}, {adam_steps} steps: max x = {adam.max_x:.4f}")
    ax.plot(gd.xs, gd.losses, "s", color="tab:blue", ms=6, mfc="none", mew=1.5,
            label=f"gradient descent, lr {lr:g}, {gd_steps} steps")
    for x, y, text in ((bump.LOCAL_MIN, 0.0, f"local min ({bump.LOCAL_MIN:g}, 0)"),
                       (top, h, f"bump top ({top:g}, {h:g})"),
                       (x_g, bump.GLOBAL_DEPTH, f"global min ({x_g:g}, {bump.GLOBAL_DEPTH:g})")):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(10, -4 if y < h else 4), fontsize=8)
    ax.axvline(adam.max_x, color="tab:red", lw=0.8, ls="--")
    ax.set_ylim(bump.GLOBAL_DEPTH - 0.25, max(loss) + 0.2)
    ax.set_xlabel("x")
    ax.set_ylabel("loss")
    ax.set_title("L(x) = min(|x - 1|, |x - x_g| - 1),  x_g = 2 + 2h")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"gd": gd, "adam": adam}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
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
    plt = use_headless_matplotlib()

    lrs = np.geomspace(args.lr_min, args.lr_max, args.num_lr)
    print(f"critical bump height h*(lr) from x0 = 0 within {args.steps} steps, {args.num_lr} learning rates "
          f"in [{args.lr_min:g}, {args.lr_max:g}], bisection tol {args.tol:g}")
    heights = sweep(lrs, args.optimizers, args.steps, args.tol)
    marked = {name: bump.critical_height(name, args.mark_lr, args.steps, tol=args.tol) for name in args.optimizers}
    mark = f"h* at lr {args.mark_lr:g}"
    print(f"{'optimizer':<20} {mark:>12} {'max h* (at lr)':>20} {'share of lrs with h* > lr':>27}")
    for name in args.optimizers:
        h = heights[name]
        best = int(np.argmax(h))
        above = float(np.mean(h > lrs))
        print(f"{LABELS[name]:<20} {marked[name]:>12.4f} {h[best]:>11.4f} ({lrs[best]:.3f}) {above:>26.0%}")

    gd_gap = None
    reached = np.ceil(1.0 / lrs) <= args.steps
    if "gd" in heights and reached.any():  # the sawtooth of the docstring, where the budget reaches x = 1
        first_past_one = np.ceil(1.0 / lrs) * lrs
        gap = np.abs(heights["gd"] - (first_past_one - 1.0))[reached]
        print(f"gradient descent against ceil(1/lr) * lr - 1 at the {reached.sum()} learning rates that reach "
              f"x = 1 within {args.steps} steps: largest difference {gap.max():.1e}")
        gd_gap = float(gap.max())
    if all(name in heights for name in bump.OPTIMIZERS):
        ordered = (heights["gd"] <= heights["adam"] + args.tol) & (heights["adam"] <= heights["momentum"] + args.tol)
        print(f"gradient descent <= Adam <= momentum (within tol) at {ordered.sum()} of {len(lrs)} learning rates")
    plot_phase(args.out, lrs, heights, args.mark_lr, marked, args.steps, plt)
    print(f"saved {args.out}")
    if args.csv is not None:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["lr", *args.optimizers])
            for i, lr in enumerate(lrs):
                writer.writerow([f"{lr:.6g}", *(f"{heights[name][i]:.6g}" for name in args.optimizers)])
        print(f"saved {args.csv}")

    result = {"lrs": lrs, "heights": heights, "marked": marked, "gd_formula_gap": gd_gap,
              "out": args.out, "csv": args.csv}
    if args.loss_plot is not None:
        runs = plot_loss(args.loss_plot, args.loss_h, plt)
        gd, adam = runs["gd"], runs["adam"]
        cycle = bump.find_cycle(gd.xs)
        gd_end = ("ends cycling through " + ", ".join(f"{x:.4f}" for x in gd.xs[cycle[0]:cycle[0] + cycle[1]])
                  if cycle else f"ends at x = {gd.xs[-1]:.4f}")
        adam_end = ("past the bump top: it escapes" if adam.escaped
                    else f"short of the bump top {bump.bump_top(args.loss_h):g}: trapped")
        print(f"saved {args.loss_plot}: the bump loss for h = {args.loss_h:g}; gradient descent {gd_end}; "
              f"Adam's farthest point is x = {adam.max_x:.4f} ({adam_end})")
        result["loss_runs"] = runs
        result["loss_plot"] = args.loss_plot
    return result


if __name__ == "__main__":
    main()
