"""Q1(a): plain gradient descent is trapped by the bump.

The loss (examples/coursework/bump.py) is L(x) = min(|x - 1|, |x - x_g| - 1) with x_g = 2 + 2h: a
local minimum at x = 1 (L = 0), a bump of height h at x = 1 + h, and the global minimum at x_g
(L = -1). Every slope is -1 or +1, so gradient descent, x <- x - lr * L'(x), always moves by exactly
lr. From x0 = 0 with lr 0.3 it walks to 0.9, steps over the minimum to 1.2, is sent back to 0.9 by
the slope +1 there, and from then on alternates. Its next x depends on x alone, so this repeats
forever: it never reaches the global minimum. It escapes only if its first point past x = 1 already
lies beyond the bump top (try --h 0.1 --steps 12).

Usage:  .venv/bin/python examples/q1a_gd.py [--h 0.5] [--lr 0.3] [--steps 6]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scratchnet from this checkout

from coursework import bump  # noqa: E402

from scratchnet import nn, optim  # noqa: E402


def main(argv=None):
    args = bump.q1a_options(argv)  # --h, --lr, --steps: each refused outside its range
    print(f"Gradient descent (SGD, lr {args.lr:g}) from x0 = 0 on the bump loss with h = {args.h:g}: "
          f"local minimum x = 1, bump top x = {bump.bump_top(args.h):g}, "
          f"global minimum x = {bump.global_minimum(args.h):g}")
    x = nn.Parameter(0.0, dtype="float64")  # the one number we optimise
    optimizer = optim.SGD([x], lr=args.lr)  # x <- x - lr * x.grad
    run = bump.Trajectory("gd", args.lr, args.h)
    print(f"{'step':>4}  {'x':>8}  {'loss':>8}  {'grad':>4}")
    for step in range(args.steps + 1):
        optimizer.zero_grad()
        loss = bump.bump_loss(x, args.h)
        loss.backward()  # x.grad = L'(x), by autograd
        run.record(x, loss)
        print(f"{step:>4}  {x.item():>8.4f}  {loss.item():>8.4f}  {x.grad.item():>+4.0f}")
        if step < args.steps:  # the last pass only measures where the run ended
            optimizer.step()
    verdict = bump.gd_verdict(run)  # escaped, stuck in a cycle (and where), or undecided
    print(verdict["message"])
    return {"trajectory": run, **verdict}


if __name__ == "__main__":
    main()
