"""Q1(b): Adam overshoots the local minimum, so it escapes a low enough bump.

Adam (scratchnet/optim.py) steps by lr * m_hat / (sqrt(v_hat) + eps), m_hat and v_hat averaging the
gradient and its square. On the bump loss every |g| = 1, so v_hat = 1 and the step is lr * m_hat:
once x passes 1 the gradient turns to +1, but m_hat still remembers the -1s, and x goes on to the
right. We run Adam on a bump too tall to cross (h = lr * steps). Left of the bump top every bump loss
is |x - 1|, so a bump lower than max x - 1 is crossed by these same steps and a taller one is never
reached: the tallest bump Adam escapes is h* = max x - 1. A bisection on h, over runs on the full
loss with the bump in it, confirms it.

The assignment's loop stepped by lr * m_hat * sqrt(v_hat), multiplying where Adam divides; with
v_hat = 1 both reach the same max x here, but on any other loss they would part.

Usage:  .venv/bin/python examples/q1b_adam.py [--lr 0.3] [--steps 20] [--beta1 0.9] [--beta2 0.999]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scratchnet from this checkout

from coursework import bump  # noqa: E402

from scratchnet import nn, optim  # noqa: E402


def main(argv=None):
    args = bump.q1b_options(argv)  # --lr, --steps, --beta1, --beta2, --eps, --tol: each within its range
    tall, betas = args.lr * args.steps, (args.beta1, args.beta2)
    print(f"Adam (lr {args.lr:g}, betas {args.beta1:g}/{args.beta2:g}, eps {args.eps:g}) from x0 = 0, "
          f"{args.steps} steps, on a bump too tall to cross (h = lr * steps = {tall:g}):")
    x = nn.Parameter(0.0, dtype="float64")
    optimizer = optim.Adam([x], lr=args.lr, betas=betas, eps=args.eps)
    run = bump.Trajectory("adam", args.lr, tall)
    print(f"{'step':>4}  {'x':>8}  {'loss':>8}  {'grad':>4}  {'m_hat':>8}")
    for step in range(args.steps + 1):
        optimizer.zero_grad()
        loss = bump.bump_loss(x, tall)
        loss.backward()
        run.record(x, loss)
        m_hat = f"{(run.xs[-2] - x.item()) / args.lr:>8.4f}" if step else ""  # the step / lr, as v_hat = 1
        print(f"{step:>4}  {x.item():>8.4f}  {loss.item():>8.4f}  {x.grad.item():>+4.0f}  {m_hat}".rstrip())
        if step < args.steps:
            optimizer.step()  # x <- x - lr * m_hat / (sqrt(v_hat) + eps)
    h_star = run.max_x - 1
    print(f"max x = {run.max_x:.4f} at step {run.xs.index(run.max_x)}: the tallest bump Adam escapes is "
          f"h* = max x - 1 = {h_star:.4f}")
    h_bisection = bump.critical_height("adam", args.lr, args.steps, tol=args.tol, betas=betas, eps=args.eps)
    print(f"bisection on h (escaped: an iterate past the bump top 1 + h within {args.steps} steps): "
          f"h* = {h_bisection:.4f}, {abs(h_bisection - h_star):.1e} from max x - 1")
    xs, v_hats = bump.assignment_adam(args.lr, args.steps, *betas)
    v_hat_error = max(abs(v - 1) for v in v_hats)
    print(f"the assignment's loop, x -= lr * m_hat * sqrt(v_hat): max x = {max(xs[1:]):.4f}, "
          f"with |v_hat - 1| <= {v_hat_error:.1e} at every step")
    return {"trajectory": run, "max_x": run.max_x, "h_overshoot": h_star, "h_bisection": h_bisection,
            "agree": abs(h_bisection - h_star) < 1e-3, "assignment_max_x": max(xs[1:]), "v_hat_error": v_hat_error}


if __name__ == "__main__":
    main()
