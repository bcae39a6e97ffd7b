"""What one training step of a Q2A autoencoder costs, piece by piece: the numbers behind benchmarks.md.

    python benchmarks/step_costs.py                                  # every table, this process's BLAS threads
    OPENBLAS_NUM_THREADS=1 python benchmarks/step_costs.py           # one thread, as in the Q2A workers
    OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Zen python benchmarks/step_costs.py --only products
    python benchmarks/step_costs.py --quick                          # seconds: the smoke test

Tables (medians of many calls after a warm-up; microseconds unless stated):

1. ``passes``: one array pass over 490,000 float32 numbers (a latent-16 autoencoder's parameters)
   by kind: a multiply, a sqrt, a divide, ``np.hypot``, exp and tanh, and the two ways of computing a
   sigmoid. Adam's cost is counted in these.
2. ``adam``: ``optim.Adam.step`` on the parameters of each autoencoder, against the same update
   written in its textbook form (13 passes per parameter array), and on one flat array holding all
   the parameters (what per-array calls cost).
3. ``bookkeeping``: forward, backward and Adam of each autoencoder with every layer 2 wide, where
   the arithmetic costs nothing: what is left is Python (the autograd engine, modules, the optimizer).
4. ``products``: GFLOP/s of the largest matrix products of a step (256x784 @ 784x256 and the two
   backward ones) with this process's BLAS settings (threads, ``OPENBLAS_CORETYPE``).
5. ``validation``: one validation pass of the latent-16 autoencoder over 19,800 images, by batch size.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "examples"):  # scratchnet, and the examples' coursework package
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import numpy as np  # a benchmark, not the library: it times NumPy itself
import q2a_autoencoders as models  # the lesson's Autoencoder and ENCODER_WIDTHS

from scratchnet import losses, optim
from scratchnet.nn import Parameter
from scratchnet.ops.activation import sigmoid
from scratchnet.tensor import Tensor
from scratchnet.train import evaluate

TABLES = ("passes", "adam", "bookkeeping", "products", "validation")
LATENTS = (2, 16, 256)


def median_seconds(fn, calls, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(title, header, rows):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def passes(calls):
    rng = np.random.default_rng(0)
    a, b, out = (rng.random(490_000, dtype=np.float32) + np.float32(0.5) for _ in range(3))
    signs = np.sign(rng.standard_normal(490_000).astype(np.float32))  # -1 and 1: sign leaves them so
    kinds = {
        "multiply (a * b)": lambda: np.multiply(a, b, out=out),
        "sqrt": lambda: np.sqrt(a, out=out),
        "divide (a / b)": lambda: np.divide(a, b, out=out),
        "hypot (sqrt(a^2 + b^2))": lambda: np.hypot(a, b, out=out),
        "sign, into another array": lambda: np.sign(signs, out=out),
        "sign, in place (out=its input)": lambda: np.sign(signs, out=signs),
        "exp": lambda: np.exp(a, out=out),
        "tanh": lambda: np.tanh(a, out=out),
        "sigmoid as 1 / (1 + exp(-x)) (ops/activation.py: sigmoid)": lambda: sigmoid(a),
        "sigmoid as (1 + tanh(x/2)) / 2 (its form before)": lambda: tanh_sigmoid(a, out),
    }
    base = None
    rows = []
    for name, fn in kinds.items():
        seconds = median_seconds(fn, calls)
        base = base or seconds
        rows.append((name, f"{seconds * 1e6:.0f}", f"{seconds / base:.1f}"))
    table("1. One pass over 490,000 float32 numbers", ("operation", "us", "x a multiply"), rows)


def tanh_sigmoid(x, out):
    """The sigmoid as ops/activation.py computed it before: 4 passes, one of them a tanh."""
    np.multiply(x, np.float32(0.5), out=out)
    np.tanh(out, out=out)
    out *= np.float32(0.5)
    out += np.float32(0.5)
    return out


def textbook_adam(params, grads, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as Kingma & Ba write it, every pass in place through one scratch array: 13 passes per array."""
    state["t"] += 1
    t = state["t"]
    step_size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)  # Python floats: a NumPy float64 would
    eps_hat = eps * math.sqrt(1 - b2**t)  # make every pass below compute in float64
    for p, g, m, v, work in zip(params, grads, state["m"], state["v"], state["work"]):
        m *= b1
        m += np.multiply(g, 1 - b1, out=work)
        v *= b2
        np.multiply(g, g, out=work)
        work *= 1 - b2
        v += work
        np.maximum(v, 1e-35, out=v)
        np.sqrt(v, out=work)
        work += eps_hat
        np.divide(m, work, out=work)
        work *= step_size
        p -= work


def adam(calls):
    rows = []
    rng = np.random.default_rng(0)
    for latent in LATENTS:
        model = models.Autoencoder(latent)
        params = model.parameters()
        for p in params:
            p.grad = rng.standard_normal(p.shape).astype(np.float32)
        opt = optim.Adam(params)
        ours = median_seconds(opt.step, calls)
        arrays = [p.data.copy() for p in params]
        grads = [p.grad for p in params]
        state = {"t": 0, "m": [np.zeros_like(a) for a in arrays], "v": [np.zeros_like(a) for a in arrays],
                 "work": [np.empty_like(a) for a in arrays]}
        textbook = median_seconds(lambda a=arrays, g=grads, s=state: textbook_adam(a, g, s), calls)
        flat = Parameter(np.concatenate([a.ravel() for a in arrays]))
        flat.grad = np.concatenate([g.ravel() for g in grads])
        one_array = median_seconds(optim.Adam([flat]).step, calls)
        size = sum(p.size for p in params)
        rows.append((f"ae{latent}", f"{len(params)}", f"{size:,}", f"{textbook * 1e3:.3f}", f"{ours * 1e3:.3f}",
                     f"{one_array * 1e3:.3f}"))
    table("2. Adam, ms per step", ("model", "arrays", "parameters", "in place, 13 passes per array",
                                   "optim.Adam (the paper's form)", "optim.Adam on one flat array"), rows)


def bookkeeping(calls):
    rows = []
    x = np.random.default_rng(0).random((4, 2), dtype=np.float32)
    saved = dict(models.ENCODER_WIDTHS)
    try:
        for latent in LATENTS:
            models.ENCODER_WIDTHS[latent] = tuple(2 for _ in saved[latent])
            model = models.Autoencoder(latent)
            opt, loss_fn = optim.Adam(model.parameters()), losses.L1Loss()
            parts = {"forward": [], "backward": [], "Adam": []}
            for _ in range(calls + 20):
                t0 = time.perf_counter()
                loss = loss_fn(model(Tensor(x)), x)
                t1 = time.perf_counter()
                opt.zero_grad()
                loss.backward()
                t2 = time.perf_counter()
                opt.step()
                t3 = time.perf_counter()
                for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                    parts[name].append(seconds)
            ops = len(list(model.named_modules())) - 3 + 1  # layers, without the containers, plus the loss
            rows.append((f"ae{latent}", f"{ops}", f"{len(model.parameters())}",
                         *(f"{statistics.median(v[20:]) * 1e6:.0f}" for v in parts.values())))
    finally:
        models.ENCODER_WIDTHS.update(saved)
    table("3. Python bookkeeping per step (every layer 2 wide), us", ("model", "ops", "parameter arrays",
                                                                     "forward", "backward", "Adam"), rows)


def products(calls):
    rng = np.random.default_rng(0)
    x = rng.random((256, 784), dtype=np.float32)
    w = rng.random((784, 256), dtype=np.float32)
    g = rng.random((256, 256), dtype=np.float32)
    flops = 2 * 256 * 784 * 256
    cases = {"forward x @ W": lambda: x @ w, "dW = x^T @ g": lambda: x.T @ g, "dx = g @ W^T": lambda: g @ w.T}
    rows = [(name, f"{flops / median_seconds(fn, calls) / 1e9:.1f}") for name, fn in cases.items()]
    table("4. The largest products of a step (256 x 784 x 256), GFLOP/s", ("product", "GFLOP/s"), rows)


def validation(calls):
    x = np.random.default_rng(0).random((19_800, 784), dtype=np.float32)
    model, loss_fn = models.Autoencoder(16), losses.L1Loss()
    rows = [(f"{batch:,}", f"{median_seconds(lambda b=batch: evaluate(model, loss_fn, x, x, batch_size=b), calls, 1):.3f}")
            for batch in (256, 1024, 4096)]
    table("5. One validation pass of ae16 over 19,800 images, s", ("batch", "seconds"), rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=TABLES, nargs="+", help="these tables only (default: all)")
    parser.add_argument("--quick", action="store_true", help="few calls each: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    calls = 3 if args.quick else 200
    print(f"NumPy {np.__version__}; BLAS threads and kernels as this process's environment sets them")
    for name in args.only or TABLES:
        {"passes": passes, "adam": adam, "bookkeeping": bookkeeping, "products": products,
         "validation": lambda n: validation(max(1, n // 50))}[name](calls)


if __name__ == "__main__":
    main()
