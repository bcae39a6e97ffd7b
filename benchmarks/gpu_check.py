"""GPU check: the test suite on CuPy, then the same training on NumPy and on CuPy, side by side.

    python benchmarks/gpu_check.py                    # make gpu-check: tests + 4 models x 3 epochs
    python benchmarks/gpu_check.py --quick            # a couple of minutes: fewer images, 2 epochs
    python benchmarks/gpu_check.py --data mnist --out gpu-check.md
    python benchmarks/gpu_check.py --skip-tests --models ae2 dis

It needs CuPy and an NVIDIA GPU; without them it prints one line and exits with status 2.
(``--hostguard-dry-run`` runs the whole script on the CPU with the NumPy stand-in for CuPy in
tests/hostguard, to check the script itself: its "GPU" timings mean nothing.)

What it does:

1. **Test suite on CuPy**: ``python -m pytest tests`` with ``SCRATCHNET_BACKEND=cupy`` in a subprocess,
   the ``gpu``-marked tests included.
2. **NumPy against CuPy**: each model is trained by ``scratchnet.train.fit`` for ``--epochs`` epochs,
   once per backend, each in its own subprocess, from the same seed: the same initial weights (drawn
   on the host) and the same shuffling (host generator). The models are the three Q2A autoencoders
   (``Autoencoder(2/16/256)``, L1 loss) and ``dis_net`` (BCE with logits) with dropout switched off,
   because NumPy and CuPy draw different dropout masks from the same seed. All use Adam(1e-3),
   batch 256. Reported: the loss of the untrained model on the first batch on both backends (a pure
   forward-pass comparison), the mean training loss after epoch 1 on both and their relative gap
   (float32 with different summation orders: agreement means a gap below ``--rtol``), the seconds per
   epoch (CuPy's first epoch separately: it compiles its kernels), and the speed-up over the CPU.
3. **Kernel launches per step, estimated**: CuPy has no cheap launch counter, so the script counts
   what scratchnet does in one training step: ``Function`` forward calls, backward calls, and the
   optimizer's 10 array operations per parameter (``optim.Adam``; three more every 64th step are
   not counted). Each is at least one CUDA kernel (im2col and
   pooling launch one per window offset, so the true count is higher): a lower bound that shows why
   small batches are launch-bound on a GPU.

The result is a Markdown report on stdout (and in ``--out``). Exit status: 0 when the tests pass and
every gap is within ``--rtol``; 1 otherwise; 2 without a usable GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "examples"):  # scratchnet, and the examples' coursework package
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark script

from train_speed import make_data  # noqa: E402  (the same data as the speed benchmark)

HOSTGUARD_PATH = ROOT / "tests" / "hostguard"
# name -> (kind, latent)
MODELS = {"ae2": ("autoencoder", 2), "ae16": ("autoencoder", 16), "ae256": ("autoencoder", 256),
          "dis": ("dis_net", None)}
# Adam's array operations per parameter and step (optim.Adam.step, the paper's form): m *= b1;
# (1 - b1) g; m += ; v *= b2; (1 - b2) g; * g; v += ; m / (1 - b1^t); v / (1 - b2^t); sqrt; + eps;
# lr * m_hat; / ; p -= . The flush every FLUSH_EVERY steps is left out: the per-step count.
ADAM_OPS_PER_PARAMETER = 14


# --------------------------------------------------------------------------------------------------
# Is there a GPU?
# --------------------------------------------------------------------------------------------------
def probe_gpu(allow_hostguard=False):
    """(info dict, None) when CuPy can use a GPU, else (None, the reason in a few words)."""
    try:
        import cupy
    except Exception as error:  # noqa: BLE001  (ImportError, or a CUDA library that fails to load)
        return None, f"CuPy cannot be imported ({type(error).__name__}: {error})"
    if getattr(cupy, "HOSTGUARD", False) and not allow_hostguard:
        return None, "the cupy found is scratchnet's hostguard stand-in (tests/hostguard), not CuPy"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count < 1:
            return None, "CuPy sees no CUDA device"
        cupy.zeros(1).sum()
        properties = cupy.cuda.runtime.getDeviceProperties(0)
        name = properties["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        runtime_version = cupy.cuda.runtime.runtimeGetVersion()
    except Exception as error:  # noqa: BLE001  (no driver, a driver too old for this CuPy, ...)
        return None, f"CuPy cannot use a GPU ({type(error).__name__}: {error})"
    return {"device": name, "devices": count, "cupy": cupy.__version__, "cuda_runtime": runtime_version}, None


def subprocess_env(backend_name, hostguard):
    env = dict(os.environ)
    env["SCRATCHNET_BACKEND"] = backend_name
    paths = [str(ROOT), str(ROOT / "examples")]
    if hostguard and backend_name == "cupy":
        paths.insert(0, str(HOSTGUARD_PATH))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# --------------------------------------------------------------------------------------------------
# 1. The test suite on CuPy
# --------------------------------------------------------------------------------------------------
def run_tests(args):
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]
    if args.hostguard_dry_run:
        command += ["-m", "not gpu"]
    command += args.pytest_args
    print(f"[gpu_check] {shlex.join(command[2:])} with SCRATCHNET_BACKEND=cupy ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        result = subprocess.run(command, check=False, cwd=ROOT, env=subprocess_env("cupy", args.hostguard_dry_run),
                                capture_output=True, text=True, timeout=args.timeout)
        output, code = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as error:
        output, code = error.stdout or "", None
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
    seconds = time.perf_counter() - start
    summary = next((line.strip("= ") for line in reversed(output.splitlines())
                    if re.search(r"\d+ (passed|failed|error|skipped)", line)), "no pytest summary line")
    failures = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {"command": shlex.join(["python", *command[1:]]), "exit": code, "summary": summary,
            "failures": failures, "seconds": seconds}


# --------------------------------------------------------------------------------------------------
# 2. One model on one backend (the worker, run in a subprocess)
# --------------------------------------------------------------------------------------------------
def count_step_ops(model, loss_fn, optimizer, xb, yb):
    """Function forward and backward calls in one training step (an extra step, after training)."""
    from scratchnet import Tensor
    from scratchnet.tensor import Function

    forwards = 0
    original_apply = Function.__dict__["apply"]

    def counting_apply(cls, *inputs, **settings):
        nonlocal forwards
        forwards += 1
        return original_apply.__func__(cls, *inputs, **settings)

    Function.apply = classmethod(counting_apply)
    try:
        loss = loss_fn(model(Tensor(xb)), yb)
    finally:
        Function.apply = original_apply
    backwards = _count_recorded_functions(loss)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    parameters = len(model.parameters())
    return {"forward": forwards, "backward": backwards, "parameters": parameters,
            "estimate": forwards + backwards + ADAM_OPS_PER_PARAMETER * parameters}


def _count_recorded_functions(loss):
    """How many Functions backward will run: the recorded nodes the loss depends on."""
    seen, stack = set(), [loss]
    while stack:
        node = stack.pop()
        if node in seen or node._ctx is None:
            continue
        seen.add(node)
        stack.extend(p for p in node._ctx.inputs if p.requires_grad)
    return len(seen)


def worker(args):
    import numpy as np
    from coursework.models import dis_net
    from q2a_autoencoders import Autoencoder

    import scratchnet as sn
    from scratchnet import backend, losses, optim
    from scratchnet.train import fit

    kind, latent = MODELS[args.worker]
    images = args.images if kind == "autoencoder" else args.dis_images
    x, y = make_data(kind, images, args.data, args.seed)
    sn.manual_seed(args.seed)
    model = Autoencoder(latent) if kind == "autoencoder" else dis_net(dropout=False)
    loss_fn = losses.L1Loss() if kind == "autoencoder" else losses.BCEWithLogitsLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    batch = args.batch_size

    model.eval()
    with sn.no_grad():
        initial = loss_fn(model(sn.Tensor(x[:batch])), y[:batch]).item()
    model.train()

    history = fit(model, loss_fn, optimizer, x, y, epochs=args.epochs, batch_size=batch, progress=False)
    epoch_losses = [float(v) for v in history.history["loss"]]
    seconds = [float(e["seconds"]) for e in history.epochs]

    ops = count_step_ops(model, loss_fn, optimizer, x[:batch], y[:batch])
    print(json.dumps({
        "model": args.worker, "backend": backend.name, "images": images, "steps_per_epoch": -(-images // batch),
        "initial_loss": initial, "losses": epoch_losses, "seconds": seconds, "ops": ops,
        "numpy_threads": os.environ.get("OMP_NUM_THREADS"), "numpy": np.__version__,
    }))


def run_worker(args, model_name, backend_name):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", model_name,
               "--epochs", str(args.epochs), "--images", str(args.images), "--dis-images", str(args.dis_images),
               "--batch-size", str(args.batch_size), "--data", args.data, "--seed", str(args.seed)]
    print(f"[gpu_check] {model_name} on {backend_name} ...", file=sys.stderr, flush=True)
    try:
        result = subprocess.run(command, check=False, cwd=ROOT, env=subprocess_env(backend_name, args.hostguard_dry_run),
                                capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {result.returncode}: {last}"}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------
def relative_gap(a, b):
    return abs(a - b) / max(abs(a), 1e-12)


def later_epochs(seconds):
    """The median epoch, leaving out the first when there are more (CuPy compiles kernels in it)."""
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def comparison_rows(results, rtol):
    rows, all_ok = [], True
    for name, (cpu, gpu) in results.items():
        if "error" in cpu or "error" in gpu:
            rows.append([name] + ["-"] * 9 + [f"failed: NumPy {cpu.get('error', 'ok')}; CuPy {gpu.get('error', 'ok')}"])
            all_ok = False
            continue
        gap = relative_gap(cpu["losses"][0], gpu["losses"][0])
        initial_gap = relative_gap(cpu["initial_loss"], gpu["initial_loss"])
        ok = gap <= rtol and initial_gap <= rtol
        all_ok &= ok
        cpu_epoch, gpu_epoch = later_epochs(cpu["seconds"]), later_epochs(gpu["seconds"])
        steps = gpu["steps_per_epoch"]
        ops = gpu["ops"]
        rows.append([
            name, f"{initial_gap:.1e}", f"{cpu['losses'][0]:.6f}", f"{gpu['losses'][0]:.6f}", f"{gap:.1e}",
            f"{cpu_epoch:.2f}", f"{gpu['seconds'][0]:.2f} / {gpu_epoch:.2f}", f"{cpu_epoch / gpu_epoch:.1f}x",
            f"{1000 * gpu_epoch / steps:.2f}",
            f">= {ops['estimate']} ({ops['forward']} fwd + {ops['backward']} bwd + {ADAM_OPS_PER_PARAMETER}x{ops['parameters']} Adam)",
            "ok" if ok else f"gap > {rtol:g}",
        ])
    return rows, all_ok


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def build_report(args, info, tests, results):
    lines = ["# scratchnet GPU check", ""]
    if args.hostguard_dry_run:
        lines += [("**Dry run on the hostguard stand-in (NumPy on the CPU): the 'CuPy' column is NumPy too; "
                   "its timings and speed-ups mean nothing.**"), ""]
    lines += [
        (f"- Device: {info['device']} ({info['devices']} visible), CuPy {info['cupy']}, "
         f"CUDA runtime {info['cuda_runtime']}"),
        (f"- Host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, Python "
         f"{platform.python_version()}"),
        (f"- Data: {args.data}, seed {args.seed}; autoencoders on {args.images:,} images, dis_net on "
         f"{args.dis_images:,} (dropout off); batch {args.batch_size}, Adam(1e-3), {args.epochs} epochs"),
        "",
    ]
    tests_ok = True
    if tests is not None:
        tests_ok = tests["exit"] == 0
        lines += ["## Test suite with SCRATCHNET_BACKEND=cupy", "",
                  f"`{tests['command']}`: **{tests['summary']}** (exit {tests['exit']}, {tests['seconds']:.0f} s)", ""]
        lines += [f"- {line}" for line in tests["failures"][:30]]
        if tests["failures"]:
            lines.append("")
    rows_ok = True
    if results:
        rows, rows_ok = comparison_rows(results, args.rtol)
        headers = ["model", "initial-loss gap", "loss after epoch 1, NumPy", "CuPy", "relative gap",
                   "NumPy s/epoch", "CuPy s/epoch (1st / later)", "speed-up", "CuPy ms/step",
                   "kernel launches/step (estimate, lower bound)", f"agree (rtol {args.rtol:g})"]
        lines += ["## NumPy (CPU) against CuPy (GPU), same seed", "", markdown_table(headers, rows), "",
                  ("Gaps are |NumPy - CuPy| / |NumPy|. The initial-loss gap compares one forward pass of the "
                   "untrained model; the epoch-1 gap adds a whole epoch of Adam steps. Seconds per epoch leave "
                   "out CuPy's first epoch (kernel compilation) when there are more; the speed-up is NumPy's "
                   "epoch over CuPy's. Launches per step count scratchnet's Function calls (forward, backward) "
                   f"and {ADAM_OPS_PER_PARAMETER} array operations per parameter for Adam; ops that loop "
                   "(im2col, pooling) launch more, so the true number is higher."), ""]
    verdict = "PASS" if tests_ok and rows_ok else "FAIL"
    lines += [f"**{verdict}**", ""]
    return "\n".join(lines), verdict == "PASS"


# --------------------------------------------------------------------------------------------------
def finite_positive(kind):
    """argparse type: a finite number > 0 of the given kind (float or int); refuses -1, 0, nan, inf."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a{'n integer' if kind is int else ' number'}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per model and backend")
    parser.add_argument("--images", type=int, default=40_200, help="autoencoder training images (Q2A: 40,200)")
    parser.add_argument("--dis-images", type=int, default=8_000, help="dis_net training images")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data", choices=("random", "mnist"), default="random",
                        help="random pixels, or MNIST (scratchnet.data.load_mnist; fetched if not cached)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS))
    parser.add_argument("--rtol", type=finite_positive(float), default=1e-3,
                        help="largest relative loss gap between the backends that counts as agreement")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs on 4,096 autoencoder / 1,024 dis_net images")
    parser.add_argument("--skip-tests", action="store_true", help="do not run the test suite")
    parser.add_argument("--pytest-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for pytest (put this option last)")
    parser.add_argument("--timeout", type=finite_positive(int), default=3600, help="seconds allowed to each subprocess")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--hostguard-dry-run", action="store_true",
                        help="run on the CPU with the hostguard stand-in for CuPy, to test this script")
    parser.add_argument("--worker", choices=tuple(MODELS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.images, args.dis_images = min(args.epochs, 2), min(args.images, 4096), min(args.dis_images, 1024)
    for name in ("epochs", "images", "dis_images", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    if args.hostguard_dry_run and str(HOSTGUARD_PATH) not in sys.path:
        sys.path.insert(0, str(HOSTGUARD_PATH))
        sys.modules.pop("cupy", None)
    info, reason = probe_gpu(allow_hostguard=args.hostguard_dry_run)
    if info is None:
        print(f"gpu_check: needs CuPy and an NVIDIA GPU: {reason}. Nothing was checked.", file=sys.stderr)
        return 2
    tests = None if args.skip_tests else run_tests(args)
    results = {}
    for name in args.models:
        results[name] = (run_worker(args, name, "numpy"), run_worker(args, name, "cupy"))
    report, passed = build_report(args, info, tests, results)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
