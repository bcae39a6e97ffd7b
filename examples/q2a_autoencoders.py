"""Q2A: dense autoencoders on MNIST, and k-means on their latent codes judged the right way.

    python examples/q2a_autoencoders.py          # the full run: 200 epochs; latent 2, 16, 256 + linear 2, 16
    python examples/q2a_autoencoders.py --quick --out /tmp/q2a_quick --force   # a one-minute smoke run
    python examples/q2a_autoencoders.py --latent 16 --extra-linear --out runs/q2a_16   # one model only

What happens, top to bottom:

1. MNIST: pixels / 255 flattened to 784; the 60,000 training images split 67/33 (seeded) into
   40,200 train / 19,800 validation; the 10,000 test images for every number reported.
2. Baseline: k-means (k = 10, 10 restarts) on the raw test pixels.
3. For each latent size (with the ReLU latent, and for sizes 2 and 16 also with a linear latent):
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

from scratchnet import backend, losses, optim
from scratchnet.data import load_mnist
from scratchnet.experiments import q2a
from scratchnet.experiments.cli import Steps, prepare_output_dir, use_headless_matplotlib
from scratchnet.experiments.clustering import active_fraction, cluster_scores, dead_units
from scratchnet.experiments.models import Autoencoder
from scratchnet.experiments.report import write_json
from scratchnet.train import evaluate, fit, predict


def main(argv=None):
    started = time.perf_counter()
    parser = q2a.build_parser()
    args = parser.parse_args(argv)  # a bad option is a one-line error here, before any work
    settings = q2a.resolve_settings(args)
    out = prepare_output_dir(parser, args.out, args.force)
    use_headless_matplotlib()
    steps = Steps(quiet=args.quiet)
    progress = not args.quiet
    seed, k, n_init = settings["seed"], settings["k"], settings["n_init"]

    # 1. Data -------------------------------------------------------------------------------------
    with steps.step("load MNIST"):
        data = q2a.prepare_data(load_mnist(progress=progress), seed=seed, quick=settings["quick"])
    x_train, x_val, x_test, y_test = data["x_train"], data["x_val"], data["x_test"], data["y_test"]
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

    # 3. One autoencoder per latent size ----------------------------------------------------------
    for latent, linear in settings["models"]:
        key, label = q2a.model_key(latent, linear), q2a.model_label(latent, linear)
        backend.manual_seed(seed)  # every model starts from the same seed, whichever others run
        model = Autoencoder(latent, linear_latent=linear)
        optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
        loss_fn = losses.L1Loss()

        with steps.step(f"train {label}"):
            history = fit(model, loss_fn, optimizer, x_train, x_train, epochs=settings["epochs"],
                          batch_size=settings["batch_size"], validation_data=(x_val, x_val),
                          keep_best=True, progress=progress, desc=key)

        with steps.step(f"evaluate {label}"):
            test_l1 = evaluate(model, loss_fn, x_test, x_test)
            codes = predict(model.encoder, x_test)  # host NumPy (N, latent)
            reconstructions = predict(model, x_test[: q2a.N_RECONSTRUCTIONS])
            dead = dead_units(codes)
            kmeans = cluster_scores(codes, y_test, k=k, n_init=n_init, seed=seed)
            kmeans_std = cluster_scores(codes, y_test, k=k, n_init=n_init, seed=seed, standardize=True)
            kmeans_white = cluster_scores(codes, y_test, k=k, n_init=n_init, seed=seed, whiten=True)

        with steps.step(f"figures {label}"):
            figures = {
                "loss": q2a.plot_loss_curves(history.history, out / f"{key}_loss.png",
                                             f"{label}: L1 loss", best_epoch=history.best_epoch),
                "reconstructions": q2a.plot_reconstructions(x_test[: q2a.N_RECONSTRUCTIONS], reconstructions,
                                                            out / f"{key}_reconstructions.png",
                                                            f"{label}: test digits (top) and reconstructions"),
                "units": q2a.plot_unit_activity(codes, dead, out / f"{key}_units.png",
                                                f"{label}: latent unit activity on the test set", linear=linear),
                "kmeans": q2a.plot_confusions(kmeans, out / f"{key}_kmeans.png", f"{label}: k-means on the codes"),
                "kmeans_standardized": q2a.plot_confusions(kmeans_std, out / f"{key}_kmeans_standardized.png",
                                                           f"{label}: k-means on standardised codes"),
                "kmeans_whitened": q2a.plot_confusions(kmeans_white, out / f"{key}_kmeans_whitened.png",
                                                       f"{label}: k-means on whitened codes"),
            }
            if latent == 2:
                figures["latent_scatter"] = q2a.plot_latent_scatter(
                    codes, y_test, out / f"{key}_latent.png", f"{label}: test codes coloured by digit")
            else:
                embedding = q2a.tsne_embedding(codes[tsne_points], seed=seed)
                figures["tsne"] = q2a.plot_tsne(
                    embedding, y_test[tsne_points], out / f"{key}_tsne.png",
                    f"{label}: t-SNE of {len(tsne_points):,} test codes")

        metrics["models"][key] = {
            "label": label,
            "latent": latent,
            "linear_latent": linear,
            "parameters": model.num_parameters(),
            "test_l1": test_l1,
            "best_val_loss": history.best_val_loss,
            "epochs": len(history.epochs),
            "best_epoch": history.best_epoch,
            "train_seconds": round(history.seconds, 2),
            "history": history.history,
            "dead_units": len(dead),
            "dead_unit_indices": dead.tolist(),
            "active_fraction": [round(float(f), 4) for f in active_fraction(codes)],
            "kmeans": q2a.kmeans_entry(kmeans),
            "kmeans_standardized": q2a.kmeans_entry(kmeans_std),
            "kmeans_whitened": q2a.kmeans_entry(kmeans_white),
            "figures": {name: path.name for name, path in figures.items()},
        }
        if not args.quiet:
            print(f"{label}: test L1 {test_l1:.4f}, dead units {len(dead)} of {latent}, "
                  f"k-means accuracy {kmeans['accuracy']:.1%} (NMI {kmeans['nmi']:.3f}, ARI {kmeans['ari']:.3f}; "
                  f"unmatched {kmeans['unmatched_accuracy']:.1%}); standardised codes {kmeans_std['accuracy']:.1%} "
                  f"(NMI {kmeans_std['nmi']:.3f}); whitened codes {kmeans_white['accuracy']:.1%} "
                  f"(NMI {kmeans_white['nmi']:.3f})", file=sys.stderr, flush=True)

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
        print(f"wrote {out}/metrics.json, report.md, report.html and {len(list(out.glob('*.png')))} figures "
              f"in {metrics['seconds']:.0f} s", file=sys.stderr)
    return metrics, report


if __name__ == "__main__":
    main()
