"""Q2A: dense autoencoders on MNIST built with scratchnet, and k-means on their codes, judged fairly.

    .venv/bin/python examples/q2a_autoencoders.py --quick --out /tmp/q2a --force   # the demo: about a minute
    .venv/bin/python examples/q2a_autoencoders.py          # the full run: 200 epochs; latent 2, 16, 256 + linear 2, 16
    .venv/bin/python examples/q2a_autoencoders.py --latent 16 --extra-linear --out runs/q2a_16   # one model

The lesson, top to bottom:

1. The model. ``Autoencoder(latent)`` squeezes the 784 pixels of a digit through narrower and narrower
   Dense + ReLU layers down to ``latent`` numbers (the code), then widens them back to 784, ending in a
   sigmoid so that every output pixel lies in (0, 1).
2. Training. The loss is the L1 reconstruction error mean |x - x̂|; Adam (lr 1e-3) follows its gradient
   in batches of 256; ``fit`` runs the epochs and keeps the weights of the epoch with the lowest
   validation loss (``EarlyStopping(restore_best_weights=True)``).
3. Judgement. The test L1 says how well the digits come back. k-means (k = 10) on the test codes says
   whether the code groups the digits: it is scored against the labels by accuracy after matching
   clusters to digits (Hungarian algorithm), NMI and ARI, beside k-means on the raw pixels.

``main`` runs it all: MNIST split 67/33 (seeded) into 40,200 training and 19,800 validation images,
the 10,000 test images for every number; one model per latent size, each in its own worker process
when there are 2 or more cores (``coursework/parallel.py``). The figures, ``metrics.json`` and the
report (``coursework/q2a.py``) go to ``--out``. ``main(argv)`` returns ``(metrics, report)``.
"""

import sys
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from coursework import parallel, q2a
from coursework.cli import Steps, use_headless_matplotlib
from coursework.clustering import cluster_scores, dead_units
from coursework.run_folder import open_run, run_script

from scratchnet import backend, losses, nn, optim
from scratchnet.data import load_mnist
from scratchnet.train import EarlyStopping, evaluate, fit, predict

# ---- 1. The model ---------------------------------------------------------------------------------

#: The assignment's encoders, layer widths from the pixels to the code; each decoder mirrors its encoder.
ENCODER_WIDTHS = {
    2: (784, 256, 128, 64, 32, 16, 8, 4, 2),
    16: (784, 256, 128, 64, 32, 16),
    256: (784, 256),
}
LATENT_SIZES = tuple(ENCODER_WIDTHS)


def dense_stack(widths, last_activation):
    """Dense layers through ``widths``, a ReLU after each but the last, which gets ``last_activation``
    (a layer, or None for none). ``(784, 256, 16)`` -> Dense(784, 256), ReLU, Dense(256, 16), last."""
    layers = []
    for i, (n_in, n_out) in enumerate(pairwise(widths)):
        layers.append(nn.Dense(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
        elif last_activation is not None:
            layers.append(last_activation)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """(N, 784) pixels -> encoder -> (N, latent) code -> decoder -> (N, 784) pixels in (0, 1).

    ``linear_latent=False`` keeps the assignment's ReLU on the code. That ReLU can switch a unit off
    for every input (a "dead" unit, always 0), wasting a dimension; ``True`` leaves the code linear.
    """

    def __init__(self, latent, linear_latent=False):
        super().__init__()
        if latent not in ENCODER_WIDTHS:
            raise ValueError(f"Autoencoder: latent must be one of {LATENT_SIZES}, got {latent!r}")
        widths = ENCODER_WIDTHS[latent]
        self.latent, self.linear_latent = latent, linear_latent
        self.encoder = dense_stack(widths, None if linear_latent else nn.ReLU())
        self.decoder = dense_stack(widths[::-1], nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def extra_repr(self):
        return f"latent={self.latent}, linear_latent={self.linear_latent}"


# ---- 2. Training: the loss, the optimizer, fit -----------------------------------------------------


def train(latent, linear, data, settings, callbacks=(), progress=False):
    """A fresh ``Autoencoder(latent)`` trained to reproduce ``data["x_train"]``: ``(model, loss_fn, history)``.

    Seeded first, so a model gets the same weights and batches whichever other models run, and wherever.
    """
    backend.manual_seed(settings["seed"])
    model = Autoencoder(latent, linear_latent=linear)
    optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
    loss_fn = losses.L1Loss()  # mean |x - x̂| over the pixels of the batch
    history = fit(model, loss_fn, optimizer, data["x_train"], data["x_train"], epochs=settings["epochs"],
                  batch_size=settings["batch_size"], validation_data=(data["x_val"], data["x_val"]),
                  progress=progress, callbacks=[EarlyStopping(restore_best_weights=True), *callbacks])
    return model, loss_fn, history


# ---- 3. Judgement: test L1, and k-means on the codes ------------------------------------------------


def judge(model, loss_fn, data, settings):
    """The trained model on the test set: its L1, its codes (N, latent), their dead units, and k-means on
    the codes as they are, standardised and whitened (each scored by matched accuracy, NMI and ARI)."""
    x_test, y_test = data["x_test"], data["y_test"]
    codes = predict(model.encoder, x_test)
    score = dict(labels=y_test, k=settings["k"], n_init=settings["n_init"], seed=settings["seed"])
    return {
        "test_l1": evaluate(model, loss_fn, x_test, x_test),
        "codes": codes,
        "dead": dead_units(codes),
        "reconstructions": predict(model, x_test[:q2a.N_RECONSTRUCTIONS]),
        "kmeans": cluster_scores(codes, **score),
        "kmeans_standardized": cluster_scores(codes, **score, standardize=True),
        "kmeans_whitened": cluster_scores(codes, **score, whiten=True),
    }


def train_and_judge(latent, linear, data, tsne_points, settings, out, show_progress=False, on_epoch_end=None):
    """One model from start to end, in this process or a worker: its entry for ``metrics.json``."""
    use_headless_matplotlib()
    key, label = q2a.model_key(latent, linear), q2a.model_label(latent, linear)
    steps = Steps(quiet=not show_progress)
    with steps.step(f"train {label}"):
        model, loss_fn, history = train(latent, linear, data, settings, [on_epoch_end] if on_epoch_end else [],
                                        progress=key if show_progress else False)
    with steps.step(f"evaluate {label}"):
        judged = judge(model, loss_fn, data, settings)
    with steps.step(f"figures {label}"):
        figures = q2a.plot_model(key, label, latent, linear, data, judged, history, tsne_points, settings, Path(out))
    return q2a.model_entry(label, latent, linear, model.num_parameters(), judged, history, figures, steps.times)


# ---- The run: data, the baseline, every model, the report --------------------------------------------


def main(argv=None):
    """Run Q2A with the command-line options ``argv``; returns ``(metrics, report)``."""
    started = time.perf_counter()
    parser = q2a.build_parser()
    args = parser.parse_args(argv)  # a bad option is a one-line error here, before any work
    settings = q2a.resolve_settings(args)
    with open_run(parser, args.out, args.force, script=Path(__file__).name) as out:
        metrics, report = run(args, settings, out, started)
    report.relocate(out, args.out)  # its figures are there now
    if not args.quiet:
        print(f"wrote {args.out}: metrics.json, report.md, report.html and the figures, in {metrics['seconds']:.0f} s",
              file=sys.stderr)
    return metrics, report


def run(args, settings, out, started):
    """The run itself, every file written under ``out`` (the run folder's temporary folder)."""
    use_headless_matplotlib()
    steps = Steps(quiet=args.quiet)
    with steps.step("load MNIST"):
        data = q2a.prepare_data(load_mnist(progress=not args.quiet), seed=settings["seed"], quick=settings["quick"])
    tsne_points = q2a.tsne_subsample(len(data["x_test"]), settings["tsne_points"], settings["seed"])
    metrics = q2a.new_metrics(settings, data, tsne_points)

    with steps.step("k-means on raw pixels"):  # the baseline the codes must beat
        raw = cluster_scores(data["x_test"], data["y_test"], k=settings["k"], n_init=settings["n_init"],
                             seed=settings["seed"])
    q2a.add_baseline(metrics, raw, out)

    models = settings["models"]
    workers = parallel.check_workers(args.jobs or parallel.default_workers(len(models)), len(models))
    jobs = [(latent, linear, data, tsne_points, settings, out, not args.quiet and workers == 1)
            for latent, linear in models]
    with steps.step(f"train and judge {len(jobs)} models" + (f" in {workers} processes" if workers > 1 else "")):
        entries = parallel.run_jobs(train_and_judge, jobs, workers=workers, progress=not args.quiet,
                                    labels=[q2a.model_key(*model) for model in models],
                                    epochs=[settings["epochs"]] * len(jobs))
    metrics["workers"] = workers
    for model, entry in zip(models, entries):
        steps.times.update(entry.pop("step_seconds"))  # measured in the model's own process
        metrics["models"][q2a.model_key(*model)] = entry
        if not args.quiet:
            print(q2a.summary_line(entry), file=sys.stderr, flush=True)
    return q2a.finish(metrics, out, steps.times, started, quiet=args.quiet)


if __name__ == "__main__":
    run_script(main)
