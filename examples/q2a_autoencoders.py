"""Q2A: dense autoencoders on MNIST, and k-means on their latent codes judged the right way.

    python examples/q2a_autoencoders.py          # the full run: 200 epochs; latent 2, 16, 256 + linear 2, 16
    python examples/q2a_autoencoders.py --quick --out /tmp/q2a_quick --force   # a one-minute smoke run
    python examples/q2a_autoencoders.py --latent 16 --extra-linear --out runs/q2a_16   # one model only

What happens, top to bottom:

1. MNIST: pixels / 255 flattened to 784; the 60,000 training images split 67/33 (seeded) into
   40,200 train / 19,800 validation; the 10,000 test images for every number reported.
2. Baseline: k-means (k = 10, 10 restarts) on the raw test pixels.
3. For each latent size (with the ReLU latent, and for sizes 2 and 16 also with a linear latent),
   in its own worker process when the machine has 2 or more cores (``--jobs``; see
   ``examples/coursework/parallel.py`` for why that is faster), ``q2a.train_and_judge``:
   train the assignment's autoencoder (L1 loss, Adam 1e-3, batch 256), keep the
   weights of the best validation epoch; measure the test L1; encode the test set; count dead latent
   units; run k-means on the codes (as they are, standardised, whitened) and score it with Hungarian-matched
   accuracy, NMI and ARI (and, to show why it is wrong, the raw "cluster id == digit" accuracy);
   draw the loss curves, reconstructions, latent scatter (2-D) or t-SNE (16, 256), confusion heatmaps
   and unit activity.
4. Everything goes to ``--out``: PNGs, ``metrics.json``, ``report.md`` and ``report.html``.

``main(argv)`` returns ``(metrics, report)`` so that a combined report can include this one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from coursework import parallel, q2a
from coursework.cli import Steps, use_headless_matplotlib
from coursework.clustering import cluster_scores
from coursework.report import write_json
from coursework.run_folder import open_run, run_script

from scratchnet import backend
from scratchnet.data import load_mnist


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
    progress = not args.quiet
    seed, k, n_init = settings["seed"], settings["k"], settings["n_init"]

    # 1. Data -------------------------------------------------------------------------------------
    with steps.step("load MNIST"):
        data = q2a.prepare_data(load_mnist(progress=progress), seed=seed, quick=settings["quick"])
    x_test, y_test = data["x_test"], data["y_test"]
    tsne_points = q2a.tsne_subsample(len(x_test), settings["tsne_points"], seed)

    metrics = {
        "experiment": "q2a",
        "settings": {key: value for key, value in settings.items() if key != "models"},
        "data": {"sizes": data["sizes"], "split": "seeded permutation of the 60,000 training images, 67/33",
                 "tsne_points": len(tsne_points)},
        "backend": backend.name,
        "models": {},
        "figures": {},
    }

    # 2. Baseline: k-means on raw pixels ----------------------------------------------------------
    with steps.step("k-means on raw pixels"):
        raw_pixels = q2a.kmeans_entry(cluster_scores(x_test, y_test, k=k, n_init=n_init, seed=seed))
    q2a.plot_confusions(raw_pixels, out / "raw_pixels_kmeans.png", "k-means on raw test pixels (baseline)")
    metrics["baseline_raw_pixels"] = {"kmeans": raw_pixels, "published_accuracy": q2a.PUBLISHED_RAW_PIXELS}
    metrics["figures"]["raw_pixels_kmeans"] = "raw_pixels_kmeans.png"

    # 3. One autoencoder per latent size, each in its own worker process (see parallel.py) ---------
    models = settings["models"]
    workers = parallel.check_workers(args.jobs or parallel.default_workers(len(models)), len(models))
    in_workers = workers > 1
    jobs = [(latent, linear, data, tsne_points, settings, out, progress and not in_workers)
            for latent, linear in models]
    where = f" in {workers} processes" if in_workers else ""
    with steps.step(f"train and judge {len(jobs)} models{where}"):
        entries = parallel.run_jobs(q2a.train_and_judge, jobs, workers=workers, progress=progress,
                                    labels=[q2a.model_key(*model) for model in models],
                                    epochs=[settings["epochs"]] * len(jobs))
    metrics["workers"] = workers
    for (latent, linear), entry in zip(models, entries):
        for name, seconds in entry.pop("step_seconds").items():
            steps.times[name] = seconds  # measured in the model's own process
        metrics["models"][q2a.model_key(latent, linear)] = entry
        if not args.quiet:
            print(q2a.summary_line(entry), file=sys.stderr, flush=True)

    # 4. Summary, metrics.json and the report -----------------------------------------------------
    rows = [("raw pixels", raw_pixels)] + q2a.code_rows(metrics)
    q2a.plot_kmeans_summary(rows, out / "kmeans_summary.png", baseline=raw_pixels)
    metrics["figures"]["kmeans_summary"] = "kmeans_summary.png"
    metrics["step_seconds"] = steps.times
    metrics["seconds"] = round(time.perf_counter() - started, 2)

    write_json(out / "metrics.json", metrics)
    report = q2a.build_report(metrics, out)
    report.write_markdown(out / "report.md")
    report.write_html(out / "report.html")
    if not args.quiet:
        print(f"baseline: k-means on raw pixels: accuracy {raw_pixels['accuracy']:.1%}, NMI {raw_pixels['nmi']:.3f}, "
              f"ARI {raw_pixels['ari']:.3f}", file=sys.stderr)
    return metrics, report


if __name__ == "__main__":
    run_script(main)
