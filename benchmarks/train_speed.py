"""Training speed: scratchnet against PyTorch and a hand-written NumPy loop on the assignment's models.

    python benchmarks/train_speed.py                      # the full table (random data)
    python benchmarks/train_speed.py --data mnist         # on real MNIST (cached by scratchnet.data)
    python benchmarks/train_speed.py --drift              # 10 epochs: does an epoch get slower?
    python benchmarks/train_speed.py --models ae2,ae16,ae256 --threads 1 --epochs 3 --repeats 3
                                                          # one thread: against the plain NumPy floor
    python benchmarks/train_speed.py --tiny --only scratchnet   # seconds: the smoke test

Models (the autoencoders as built in examples/q2a_autoencoders.py, dis_net as in
examples/coursework/models.py; PyTorch twins in benchmarks/torch_models.py, the
autoencoders also written out by hand in plain NumPy in benchmarks/plain_numpy.py):

- ``ae2``, ``ae16``, ``ae256``: the Q2A autoencoders (latent 2, 16, 256) on 40,200 images of 784,
  batch 256, L1 loss, Adam(1e-3).
- ``dis32``, ``dis256``: dis_net on 8,000 images 1x28x28 at batch 32 and 256, BCE with logits, Adam(1e-3).

Method. Each library runs in its own subprocess (in one process their thread pools would fight over
the cores), one subprocess per model; the libraries alternate, ``--repeats`` times. A subprocess
trains one warm-up epoch and then ``--epochs`` timed ones: scratchnet with its own ``scratchnet.train.fit``
(``progress=False``; the epoch times are fit's own), PyTorch with the same loop written out: shuffle,
index each batch, forward, loss, ``zero_grad``, ``backward``, ``step``, the loss summed on the device;
plain NumPy (autoencoders only) with ``PlainAutoencoder.train_epoch``, the same arithmetic with every
gradient written by hand and no autograd. The table shows the median epoch over all repeats, the
ratio scratchnet / PyTorch, images per second, each subprocess's peak resident memory (``ru_maxrss``,
data included), and the ratio scratchnet / plain NumPy: what autograd, layers and optimizer objects
cost on top of the arithmetic. The plain loop's epoch is also the yardstick of the machine: the
issue that set the targets measured 0.77 s for ae16 on 2 cores.

The ceiling: NumPy's own matrix products on each model's layer shapes (forward, dW and dx of every
layer, timed alone), in GFLOP/s; "share" is the model's FLOPs per epoch / epoch time over that ceiling.
Elementwise work, im2col, pooling and Python are what the share leaves out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "examples"):  # scratchnet, and the examples' coursework package
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

LIBRARIES = ("scratchnet", "torch", "numpy")  # numpy: the hand-written loop, autoencoders only

# name -> (kind, latent, images, batch size)
CONFIGS = {
    "ae2": ("autoencoder", 2, 40_200, 256),
    "ae16": ("autoencoder", 16, 40_200, 256),
    "ae256": ("autoencoder", 256, 40_200, 256),
    "dis32": ("dis_net", None, 8_000, 32),
    "dis256": ("dis_net", None, 8_000, 256),
}
TINY_IMAGES = {"autoencoder": 512, "dis_net": 96}
VALIDATION_IMAGES = 19_800  # Q2A validates on the rest of MNIST's 60,000 after its 40,200
Q2A_EPOCHS = 200
TARGETS = {"ae2": 1.1, "ae16": 1.1, "ae256": 1.1, "dis32": 1.0, "dis256": 1.0}


# --------------------------------------------------------------------------------------------------
# Data (host NumPy, float32), the same for both libraries
# --------------------------------------------------------------------------------------------------
def make_data(kind, images, data, seed=0):
    """(x, y) as float32 host arrays: autoencoder x = y (N, 784); dis_net x (N, 1, 28, 28), y (N, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if data == "mnist":
        from scratchnet.data import load_mnist

        pixels = load_mnist(progress=False).x_train.astype(np.float32) / np.float32(255)
        pixels = pixels[np.arange(images) % len(pixels)]
    else:
        pixels = rng.random((images, 28, 28), dtype=np.float32)
    if kind == "autoencoder":
        x = np.ascontiguousarray(pixels.reshape(images, 784))
        return x, x
    # dis_net: half of the images blurred by a 3x3 box (label 1), half left clear (label 0)
    labels = (rng.permutation(images) % 2).astype(np.float32)
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)), mode="edge")
    blurred = sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / np.float32(9)
    x = np.where(labels[:, None, None] == 1, blurred, pixels).astype(np.float32)
    return np.ascontiguousarray(x[:, None]), labels[:, None].copy()


# --------------------------------------------------------------------------------------------------
# FLOPs and the NumPy matrix-product ceiling
# --------------------------------------------------------------------------------------------------
def matmul_shapes(kind, latent, batch):
    """Every matrix product of one training step as (M, K, N) for an (M, K) @ (K, N) product."""
    shapes = []
    if kind == "autoencoder":
        from q2a_autoencoders import ENCODER_WIDTHS

        widths = ENCODER_WIDTHS[latent]
        widths = widths + widths[-2::-1]
        for layer, (n_in, n_out) in enumerate(pairwise(widths)):
            shapes.append((batch, n_in, n_out))  # forward  x W
            shapes.append((n_in, batch, n_out))  # dW = x^T g
            if layer > 0:
                shapes.append((batch, n_out, n_in))  # dx = g W^T (the first layer's x needs none)
        return shapes
    size, channels = 28, 1
    for layer, filters in enumerate((64, 32, 16)):
        out = size - 2
        patches, depth = batch * out * out, channels * 9
        shapes.append((filters, depth, patches))  # forward  W cols
        shapes.append((filters, patches, depth))  # dW = g cols^T
        if layer > 0:
            shapes.append((depth, filters, patches))  # d(cols) = W^T g
        size, channels = out // 2, filters
    for layer, (n_in, n_out) in enumerate(((16, 8), (8, 1))):
        shapes += [(batch, n_in, n_out), (n_in, batch, n_out), (batch, n_out, n_in)]
    return shapes


def flops_per_epoch(kind, latent, images, batch):
    total = 0
    for start in range(0, images, batch):
        total += sum(2 * m * k * n for m, k, n in matmul_shapes(kind, latent, min(batch, images - start)))
    return total


def matmul_ceiling(kind, latent, batch, repeats=7):
    """GFLOP/s of NumPy's matrix products alone on one step's shapes (the best of ``repeats``: a
    ceiling, so a busy moment of the machine does not lower it)."""
    import numpy as np

    rng = np.random.default_rng(0)
    shapes = matmul_shapes(kind, latent, batch)
    operands = [(rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)) for m, k, n in shapes]
    outs = [np.empty((m, n), dtype=np.float32) for m, _, n in shapes]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for (a, b), out in zip(operands, outs):
            np.matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    flops = sum(2 * m * k * n for m, k, n in shapes)
    return flops / min(times[1:]) / 1e9


# --------------------------------------------------------------------------------------------------
# The two training loops (run in a worker subprocess)
# --------------------------------------------------------------------------------------------------
def denormal_count(arrays):
    """How many nonzero values below the smallest normal float32 the arrays hold (the drift suspects)."""
    import numpy as np

    tiny = np.finfo(np.float32).tiny
    return int(sum(np.count_nonzero((a != 0) & (np.abs(a) < tiny)) for a in arrays))


def run_scratchnet(kind, latent, x, y, batch, epochs, validation):
    """scratchnet's own ``fit`` (no progress bar), called once per epoch so that each epoch's CPU time
    can be read too; the wall-clock seconds are fit's own per-epoch record."""
    from coursework.models import dis_net
    from q2a_autoencoders import Autoencoder

    from scratchnet import backend, losses, optim
    from scratchnet.train import evaluate, fit

    backend.manual_seed(0)
    model = Autoencoder(latent) if kind == "autoencoder" else dis_net()
    loss_fn = losses.L1Loss() if kind == "autoencoder" else losses.BCEWithLogitsLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    times, cpu, losses_seen = [], [], []
    for _ in range(epochs):
        start = time.process_time()
        history = fit(model, loss_fn, optimizer, x, y, epochs=1, batch_size=batch, progress=False)
        cpu.append(time.process_time() - start)
        times.append(history.epochs[0]["seconds"])
        losses_seen.append(history.history["loss"][0])
    validation_s = None
    if validation is not None:
        start = time.perf_counter()
        evaluate(model, loss_fn, validation, validation, batch_size=batch)
        validation_s = time.perf_counter() - start
    state = [backend.to_numpy(p.data) for p in model.parameters()]
    state += [backend.to_numpy(a) for a in optimizer.m + optimizer.v if a is not None]
    return {"times": times, "cpu": cpu, "losses": losses_seen, "validation_s": validation_s,
            "denormals": denormal_count(state)}


def run_torch(kind, latent, x, y, batch, epochs, validation):
    """The same loop as scratchnet's ``fit``: shuffle, index, forward, loss, zero_grad, backward, step,
    the loss summed on the device and read once per epoch, then a check that the weights are finite."""
    import torch

    from benchmarks.torch_models import build

    model = build(kind, latent)
    loss_fn = torch.nn.L1Loss() if kind == "autoencoder" else torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)
    generator = torch.Generator().manual_seed(0)
    times, cpu, losses_seen = [], [], []
    for _ in range(epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.train()
        order = torch.randperm(n, generator=generator)
        total = torch.zeros((), dtype=torch.float64)
        for first in range(0, n, batch):
            index = order[first : first + batch]
            loss = loss_fn(model(x_t[index]), y_t[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)
        losses_seen.append(float(total) / n)
        assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    validation_s = None
    if validation is not None:
        model.eval()
        v = torch.from_numpy(validation)
        start = time.perf_counter()
        with torch.no_grad():
            total = torch.zeros((), dtype=torch.float64)
            for first in range(0, len(v), batch):
                vb = v[first : first + batch]
                total += loss_fn(model(vb), vb) * len(vb)
            float(total)
        validation_s = time.perf_counter() - start
    state = [p.detach().numpy() for p in model.parameters()]
    state += [t.numpy() for s in optimizer.state.values() for k, t in s.items() if k != "step"]
    return {"times": times, "cpu": cpu, "losses": losses_seen, "validation_s": validation_s,
            "denormals": denormal_count(state)}


def run_numpy(kind, latent, x, y, batch, epochs, validation):
    """The hand-written loop of benchmarks/plain_numpy.py, from scratchnet's initial weights; the same
    seeded shuffling as ``fit`` (``backend.host_rng``)."""
    from q2a_autoencoders import Autoencoder

    from benchmarks.plain_numpy import PlainAutoencoder
    from scratchnet import backend

    if kind != "autoencoder":
        raise ValueError("the plain NumPy loop trains the autoencoders only")
    backend.manual_seed(0)
    model = PlainAutoencoder.from_scratchnet(Autoencoder(latent), lr=1e-3)
    times, cpu, losses_seen = [], [], []
    for _ in range(epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        losses_seen.append(model.train_epoch(x, backend.host_rng().permutation(len(x)), batch))
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    validation_s = None
    if validation is not None:
        start = time.perf_counter()
        model.validation_loss(validation, batch)
        validation_s = time.perf_counter() - start
    return {"times": times, "cpu": cpu, "losses": losses_seen, "validation_s": validation_s,
            "denormals": denormal_count(model.parameters() + model.m + model.v)}


def runs(library, model):
    """Whether ``library`` trains ``model`` here (the plain NumPy loop has no dis_net)."""
    return library != "numpy" or CONFIGS[model][0] == "autoencoder"


def worker(args):
    """Train one model with one library; print one JSON line with the epoch times and peak memory."""
    kind, latent, images, batch = CONFIGS[args.worker_config]
    if args.tiny:
        images = TINY_IMAGES[kind]
    x, y = make_data(kind, images, args.data)
    validation = None
    if kind == "autoencoder" and args.validate:
        val_images = 64 if args.tiny else VALIDATION_IMAGES
        validation = make_data(kind, val_images, args.data, seed=1)[0]
    run = {"scratchnet": run_scratchnet, "torch": run_torch, "numpy": run_numpy}[args.worker]
    report = run(kind, latent, x, y, batch, args.worker_epochs, validation)
    report["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss: KiB on Linux
    report["images"] = images
    if args.worker == "scratchnet" and not args.drift_worker:  # the ceiling, with this process's threads
        report["ceiling_gflops"] = matmul_ceiling(kind, latent, min(batch, images), repeats=1 if args.tiny else 7)
    print(json.dumps(report))


# --------------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------------
def spawn(library, config, epochs, args, validate=False):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", library, "--worker-config", config,
               "--worker-epochs", str(epochs), "--data", args.data]
    if args.drift:
        command.append("--drift-worker")
    if args.tiny:
        command.append("--tiny")
    if validate:
        command.append("--validate")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "examples"), os.environ.get("PYTHONPATH")])))
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(args.threads)
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {library} worker for {config} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_available():
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, check=False)
    return probe.returncode == 0


def machine_details():
    import numpy as np

    lines = []
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    lines.append(f"CPU: {cpu}, {os.cpu_count()} logical cores; Python {platform.python_version()}")
    blas = "unknown BLAS"
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            i = infos[0]
            blas = f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
    except ImportError:
        pass
    lines.append(f"NumPy {np.__version__}, BLAS: {blas}")
    openblas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    lines.append("OPENBLAS environment: " + (", ".join(f"{k}={v}" for k, v in openblas_env.items()) or "none set"))
    return lines


def fmt(value, pattern):
    return "-" if value is None else format(value, pattern)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per subprocess (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="subprocesses per library and model, alternating (default: %(default)s)")
    parser.add_argument("--tiny", action="store_true", help="tiny data sets: a smoke test, not a measurement")
    parser.add_argument("--data", choices=("random", "mnist"), default="random")
    parser.add_argument("--drift", action="store_true",
                        help="train 10 epochs per model and report epoch 10 / epoch 2 time")
    parser.add_argument("--only", choices=LIBRARIES,
                        help="run one library only (numpy: the hand-written loop, autoencoders only)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for BLAS and PyTorch in the subprocesses (default: the libraries' own, "
                             "all cores); 1 makes CPU times robust on a busy machine")
    parser.add_argument("--models", default=",".join(CONFIGS),
                        help="comma-separated subset of " + ", ".join(CONFIGS) + " (default: all)")
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", choices=tuple(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--validate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--drift-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        parser.error(f"--models {args.models!r} names no model; choose from {', '.join(CONFIGS)}")
    unknown = [m for m in models if m not in CONFIGS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(CONFIGS)}")
    if args.epochs < 1 or args.repeats < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--epochs, --repeats and --threads must be >= 1")
    libraries = [args.only] if args.only else list(LIBRARIES)
    if "torch" in libraries and not torch_available():
        if args.only == "torch":
            raise SystemExit("--only torch: PyTorch is not installed (pip install torch)")
        print("PyTorch is not installed: timing without it (pip install torch for the comparison)")
        libraries.remove("torch")
    if not any(runs(lib, model) for lib in libraries for model in models):
        parser.error(f"--only {args.only} times the autoencoders only (ae2, ae16, ae256)")
    if args.tiny:
        args.epochs, args.repeats = min(args.epochs, 1), 1

    print("\n".join(machine_details()))
    if "torch" in libraries:
        version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__, torch.get_num_threads())"],
                                 capture_output=True, text=True, check=False).stdout.split()
        print(f"PyTorch {version[0]} ({args.threads or version[1]} threads)")
    if args.threads:
        print(f"--threads {args.threads}: BLAS and PyTorch limited to {args.threads} thread(s) in the subprocesses")
    print(f"data: {args.data}{' (tiny)' if args.tiny else ''}; command: python benchmarks/train_speed.py "
          + " ".join(argv if argv is not None else sys.argv[1:]))
    print()
    if args.drift:
        return drift(args, models, libraries)

    results = {(m, lib): {"times": [], "peak": 0.0, "validation": [], "ceiling": None}
               for m in models for lib in libraries if runs(lib, m)}
    for repeat in range(args.repeats):
        for model in models:
            order = libraries if repeat % 2 == 0 else libraries[::-1]
            for lib in (lib for lib in order if runs(lib, model)):
                kind = CONFIGS[model][0]
                report = spawn(lib, model, 1 + args.epochs, args, validate=kind == "autoencoder")
                entry = results[(model, lib)]
                entry["times"] += report["times"][1:]  # the first epoch is the warm-up
                entry["peak"] = max(entry["peak"], report["peak_mib"])
                entry["images"] = report["images"]
                if report["validation_s"] is not None:
                    entry["validation"].append(report["validation_s"])
                if report.get("ceiling_gflops"):
                    entry["ceiling"] = max(entry["ceiling"] or 0.0, report["ceiling_gflops"])
                print(f"  {model:6s} {lib:10s} repeat {repeat + 1}: "
                      + ", ".join(f"{t:.3f}" for t in report["times"]) + " s/epoch (first = warm-up)",
                      file=sys.stderr)

    rows = []
    header = ("| model | batch | scratchnet s/epoch | PyTorch s/epoch | ratio (target) | scratchnet img/s | "
              "PyTorch img/s | scratchnet peak MiB | PyTorch peak MiB | scratchnet GFLOP/s | "
              "NumPy matmul ceiling GFLOP/s | share of ceiling | plain NumPy s/epoch | scratchnet / plain NumPy |")
    rows.append(header)
    rows.append("|" + "---|" * (header.count("|") - 1))
    q2a = {lib: 0.0 for lib in libraries}
    for model in models:
        kind, latent, _, batch = CONFIGS[model]
        sn = results.get((model, "scratchnet"))
        th = results.get((model, "torch"))
        pn = results.get((model, "numpy"))
        if not (sn or th or pn):
            continue  # --only numpy: no dis_net
        sn_t, th_t, pn_t = (statistics.median(entry["times"]) if entry else None for entry in (sn, th, pn))
        n = (sn or th or pn)["images"]
        ratio = sn_t / th_t if sn_t and th_t else None
        flops = flops_per_epoch(kind, latent, n, batch)
        ceiling = sn["ceiling"] if sn else None
        gflops = flops / sn_t / 1e9 if sn_t else None
        share = gflops / ceiling if gflops and ceiling else None
        rows.append(f"| {model} | {batch} | {fmt(sn_t, '.3f')} | {fmt(th_t, '.3f')} | "
                    f"{fmt(ratio, '.2f')} ({'<=' + str(TARGETS[model])}) | "
                    f"{fmt(n / sn_t if sn_t else None, ',.0f')} | {fmt(n / th_t if th_t else None, ',.0f')} | "
                    f"{fmt(sn['peak'] if sn else None, '.0f')} | {fmt(th['peak'] if th else None, '.0f')} | "
                    f"{fmt(gflops, '.1f')} | {fmt(ceiling, '.1f')} | {fmt(share, '.0%')} | "
                    f"{fmt(pn_t, '.3f')} | {fmt(sn_t / pn_t if sn_t and pn_t else None, '.2f')} |")
        if kind == "autoencoder":
            for lib, entry in ((lib, results[(model, lib)]) for lib in libraries):
                q2a[lib] += Q2A_EPOCHS * (statistics.median(entry["times"]) + statistics.median(entry["validation"]))
    print("\n".join(rows))
    ae_models = [m for m in models if CONFIGS[m][0] == "autoencoder"]
    if ae_models and not args.tiny:
        print()
        names = {"scratchnet": "scratchnet", "torch": "PyTorch", "numpy": "plain NumPy"}
        cores = os.cpu_count() or 1
        for lib in libraries:
            print(f"Q2A estimate, {names[lib]}: {Q2A_EPOCHS} epochs x ({', '.join(ae_models)}), each epoch = "
                  f"training + validation on {VALIDATION_IMAGES:,} images, one after another: {q2a[lib] / 60:.1f} min")
            if args.threads == 1 and cores > 1:  # one-thread epochs: the work of one process per model
                print(f"  the same work in one process per model on {cores} cores, as the Q2A example runs it: "
                      f"at least {q2a[lib] / cores / 60:.1f} min (shared perfectly, nothing else included)")
    return 0


def drift(args, models, libraries):
    """Train 10 epochs per model and library; report epoch 10 / epoch 2, in wall-clock and CPU time,
    and the denormal numbers left in the weights and the optimizer state.

    Epoch 1 is the warm-up and enters no ratio: the medians are over epochs 2-4 and the last 3.
    ``--tiny`` trains 5 epochs, the fewest for which those two windows leave epoch 1 out."""
    epochs = 5 if args.tiny else 10
    last = epochs - 1
    header = (f"| model | library | epoch 2 s | epoch {epochs} s | epoch {epochs} / epoch 2 | "
              f"CPU epoch {epochs} / epoch 2 | median(last 3) / median(2-4) | denormals after | all epochs (s) |")
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    for model in models:
        for lib in (lib for lib in libraries if runs(lib, model)):
            report = spawn(lib, model, epochs, args)
            t, c = report["times"], report["cpu"]
            late, early = statistics.median(t[last - 2 :]), statistics.median(t[1:4])  # t[0]: the warm-up
            rows.append(f"| {model} | {lib} | {t[1]:.3f} | {t[last]:.3f} | {t[last] / t[1]:.2f} | "
                        f"{c[last] / c[1]:.2f} | {late / early:.2f} | {report['denormals']} | "
                        + " ".join(f"{v:.2f}" for v in t) + " |")
            print(rows[-1], file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
