"""Q2A: the clustering metrics on small synthetic data, and an end-to-end smoke run of the example."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")
pytest.importorskip("matplotlib")

from coursework import parallel, q2a, q2b
from coursework.clustering import (
    cluster_scores,
    contingency,
    dead_units,
    hungarian_accuracy,
    standardize,
    unmatched_accuracy,
    whiten,
)
from coursework.mnist_common import N_TRAIN
from coursework.run_folder import open_run
from processes import HAVE_PROC, alive, children, command_line

from scratchnet import backend

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "q2a_autoencoders.py"


# ---------------------------------------------------------------------------------------------------
# Clustering metrics
# ---------------------------------------------------------------------------------------------------


def test_permuted_perfect_clustering_is_perfect_once_matched():
    labels = np.repeat(np.arange(10), 30)
    renaming = (np.arange(10) + 3) % 10  # cluster id = (label + 3) mod 10: no cluster keeps its label's name
    clusters = renaming[labels]
    accuracy, mapping, matched = hungarian_accuracy(labels, clusters)
    assert accuracy == 1.0
    assert mapping == {int(renaming[d]): d for d in range(10)}
    assert np.array_equal(matched, np.diag(np.full(10, 30)))
    assert unmatched_accuracy(labels, clusters) == 0.0  # the assignment's score: 0% for a perfect clustering


def test_hungarian_accuracy_on_a_hand_counted_table():
    # digit 0: 3 points in cluster 5, 1 in cluster 7; digit 1: 2 in cluster 7, 2 in cluster 5
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    clusters = np.array([5, 5, 5, 7, 7, 7, 5, 5])
    accuracy, mapping, matched = hungarian_accuracy(labels, clusters)
    assert mapping == {5: 0, 7: 1}
    assert accuracy == pytest.approx(5 / 8)  # 3 (digit 0 in 5) + 2 (digit 1 in 7)
    assert matched.tolist() == [[3, 1], [2, 2]]
    assert np.trace(matched) / matched.sum() == pytest.approx(accuracy)
    counts, label_values, cluster_values = contingency(labels, clusters)
    assert counts.tolist() == [[3, 1], [2, 2]] and label_values.tolist() == [0, 1] and cluster_values.tolist() == [5, 7]


def test_hungarian_with_more_clusters_than_labels_counts_the_extra_cluster_as_wrong():
    labels = np.array([0, 0, 0, 1, 1, 1])
    clusters = np.array([0, 0, 2, 1, 1, 1])  # cluster 2 is left over once 0->0 and 1->1 are matched
    accuracy, mapping, matched = hungarian_accuracy(labels, clusters)
    assert mapping == {0: 0, 1: 1}
    assert accuracy == pytest.approx(5 / 6)
    assert matched.shape == (2, 3) and matched[:, 2].tolist() == [1, 0]


def test_hungarian_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="entries"):
        hungarian_accuracy(np.zeros(3, int), np.zeros(4, int))


def _blobs(n_per_class=40, dims=5, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 20, size=(10, dims))
    labels = np.repeat(np.arange(10), n_per_class)
    codes = centres[labels] + rng.normal(0, 0.5, size=(len(labels), dims))
    return codes.astype(np.float32), labels


@pytest.mark.parametrize("prepare", ["none", "standardize", "whiten"])
def test_cluster_scores_on_separated_blobs_are_perfect(prepare):
    codes, labels = _blobs()
    scores = cluster_scores(codes, labels, k=10, n_init=10, seed=0, standardize=prepare == "standardize",
                            whiten=prepare == "whiten")
    assert scores["accuracy"] == 1.0
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["unmatched_accuracy"] <= 0.3  # arbitrary names: not the measure of anything
    assert scores["standardized"] is (prepare == "standardize") and scores["whitened"] is (prepare == "whiten")
    assert np.asarray(scores["matched_confusion"]).trace() == len(labels)
    assert np.asarray(scores["confusion"]).shape == (10, 10) and np.asarray(scores["confusion"]).sum() == len(labels)
    entry = q2a.kmeans_entry(scores)
    json.dumps(entry)  # plain JSON values
    assert set(entry) >= {"accuracy", "nmi", "ari", "unmatched_accuracy"}


def test_cluster_scores_on_random_labels_are_near_chance():
    codes, _ = _blobs()
    labels = np.random.default_rng(1).integers(0, 10, size=len(codes))
    scores = cluster_scores(codes, labels, seed=0)
    assert scores["ari"] < 0.1 and scores["nmi"] < 0.2


def test_dead_units_and_standardize_with_a_constant_column():
    rng = np.random.default_rng(0)
    codes = np.maximum(rng.normal(size=(50, 6)), 0).astype(np.float32)
    codes[:, [1, 4]] = 0.0
    assert dead_units(codes).tolist() == [1, 4]
    assert dead_units(np.ones((3, 2))).tolist() == []
    scaled = standardize(codes)
    assert np.all(np.isfinite(scaled))
    assert np.allclose(scaled[:, 0].std(), 1.0) and np.allclose(scaled[:, 1], 0.0)
    white = whiten(codes)
    assert white.shape == (50, 4)  # the two dead units' directions are dropped
    assert np.allclose(white.T @ white / 50, np.eye(4), atol=1e-8)  # uncorrelated, variance 1
    with pytest.raises(ValueError, match="not both"):
        cluster_scores(codes, np.arange(50) % 10, standardize=True, whiten=True)


# ---------------------------------------------------------------------------------------------------
# The example, end to end, on a tiny fake MNIST
# ---------------------------------------------------------------------------------------------------


def _fake_mnist(n_train=300, n_test=120, seed=0):
    """Ten fixed random 'digit' templates plus noise, as uint8 28x28 images with their labels."""
    rng = np.random.default_rng(seed)
    templates = (rng.random((10, 28, 28)) > 0.8) * 255.0

    def make(n):
        labels = rng.integers(0, 10, size=n)
        images = np.clip(templates[labels] + rng.normal(0, 30, size=(n, 28, 28)), 0, 255).astype(np.uint8)
        return images, labels.astype(np.uint8)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return x_train, y_train, x_test, y_test


def _load_example(monkeypatch, calls=None):
    """The example, imported by its module name as worker processes import it, reading a fake MNIST."""
    import q2a_autoencoders as module  # noqa: PLC0415  (examples/ is on pytest's path)

    def fake_load_mnist(*args, **kwargs):
        if calls is not None:
            calls.append(1)
        return _fake_mnist()

    monkeypatch.setattr(module, "load_mnist", fake_load_mnist)
    return module


# after one epoch a ReLU latent may be dead for every image: identical codes, fewer than 10 clusters
NO_CONVERGENCE_WARNINGS = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@NO_CONVERGENCE_WARNINGS
def test_example_end_to_end_on_fake_mnist(tmp_path, monkeypatch):
    example = _load_example(monkeypatch)
    out = tmp_path / "q2a"
    metrics, report = example.main(["--quick", "--epochs", "1", "--tsne-points", "60", "--n-init", "2",
                                    "--extra-linear", "--out", str(out), "--quiet", "--seed", "3"])

    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["models"].keys() == {"latent_2", "latent_16", "latent_256"}
    assert on_disk["data"]["sizes"] == {"train": 201, "val": 99, "test": 120}  # 67/33 of 300
    base = on_disk["baseline_raw_pixels"]["kmeans"]
    assert {"accuracy", "nmi", "ari", "unmatched_accuracy"} <= base.keys()
    for key, m in on_disk["models"].items():
        for field in ("test_l1", "dead_units", "dead_unit_indices", "kmeans", "kmeans_standardized",
                      "kmeans_whitened", "epochs",
                      "best_epoch", "train_seconds", "history", "active_fraction", "figures"):
            assert field in m, (key, field)
        assert {"accuracy", "nmi", "ari", "unmatched_accuracy"} <= m["kmeans"].keys()
        assert m["epochs"] == 1 and m["best_epoch"] == 1
        assert len(m["history"]["loss"]) == len(m["history"]["val_loss"]) == 1
        assert 0 < m["test_l1"] < 1
        assert len(m["active_fraction"]) == m["latent"]
        assert m["dead_units"] == len(m["dead_unit_indices"])
        expected = {"loss", "reconstructions", "units", "kmeans", "kmeans_standardized", "kmeans_whitened",
                    "latent_scatter" if m["latent"] == 2 else "tsne"}
        assert set(m["figures"]) == expected
        for name in m["figures"].values():
            assert (out / name).stat().st_size > 1000, name
    for name in ("raw_pixels_kmeans.png", "kmeans_summary.png", "report.md", "report.html"):
        assert (out / name).stat().st_size > 500, name
    assert on_disk["settings"]["epochs"] == 1 and on_disk["settings"]["quick"] is True
    assert on_disk["backend"] == backend.name  # "cupy" in the hostguard lane: no silent host conversion
    # one worker process per model on a CPU with 2+ cores (this process on CuPy or one core)
    assert on_disk["workers"] == parallel.default_workers(3)
    assert {"train latent 16 (ReLU latent)", "figures latent 2 (ReLU latent)"} <= on_disk["step_seconds"].keys()

    assert metrics["models"]["latent_16"]["test_l1"] == on_disk["models"]["latent_16"]["test_l1"]
    markdown = (out / "report.md").read_text()
    assert "raw pixels (baseline)" in markdown and "latent_16_tsne.png" in markdown
    assert report.title == "Q2A: MNIST autoencoders"
    # the report can be rebuilt from metrics.json alone, for a combined report
    _, again = q2a.load_report(out)
    assert again.to_markdown(out) == markdown
    # the t-SNE caption gives the points really used: --tsne-points is capped at the test-set size
    assert "t-SNE of 60 test codes" in markdown
    on_disk["settings"]["tsne_points"], on_disk["data"]["tsne_points"] = 5000, 120
    capped = q2a.build_report(on_disk, out).to_markdown(out)
    assert "t-SNE of 120 test codes" in capped and "5,000" not in capped


@NO_CONVERGENCE_WARNINGS
def test_example_linear_latent_option(tmp_path, monkeypatch):
    example = _load_example(monkeypatch)
    out = tmp_path / "linear"
    metrics, _ = example.main(["--epochs", "1", "--latent", "2", "--n-init", "1", "--out", str(out), "--quiet"])
    assert list(metrics["models"]) == ["latent_2", "latent_2_linear"]  # default extra: 2 and 16, of those chosen
    assert metrics["models"]["latent_2_linear"]["linear_latent"] is True
    assert metrics["models"]["latent_2_linear"]["label"] == "latent 2 (linear latent)"
    assert (out / "latent_2_linear_latent.png").exists()
    assert metrics["settings"]["extra_linear"] == [2]


def test_the_seed_draws_the_split_and_the_same_seed_draws_it_again():
    mnist = _fake_mnist()
    first, again, other = (q2a.prepare_data(mnist, seed=seed) for seed in (0, 0, 1))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(first[name], again[name]), name
    assert first["sizes"] == other["sizes"] == {"train": 201, "val": 99, "test": 120}
    assert not np.array_equal(first["y_train"], other["y_train"])  # another permutation of the training images
    assert not np.array_equal(first["x_val"], other["x_val"])
    assert np.array_equal(first["x_test"], other["x_test"])  # the test images keep their order
    # the split is a partition of the training images, whatever the seed
    every_image = sorted(row.tobytes() for row in q2a.flatten_pixels(mnist[0]))
    for data in (first, other):
        assert sorted(row.tobytes() for row in np.concatenate([data["x_train"], data["x_val"]])) == every_image
    # Q2B retrains these autoencoders on the same split: its images are Q2A's, in the same order
    deblur = q2b.prepare_data(mnist, seed=1, kernel=3, sigma=1.0, method="numpy")
    for split in ("train", "val", "test"):
        assert np.array_equal(deblur[f"clear_{split}"].reshape(-1, 784), other[f"x_{split}"]), split
        assert np.array_equal(deblur[f"y_{split}"], other[f"y_{split}"]), split
    assert np.array_equal(q2a.tsne_subsample(120, 60, 0), q2a.tsne_subsample(120, 60, 0))
    assert not np.array_equal(q2a.tsne_subsample(120, 60, 0), q2a.tsne_subsample(120, 60, 1))


def test_model_selection():
    parser = q2a.build_parser()

    def pick(*argv):
        return q2a.resolve_settings(parser.parse_args(list(argv)))["models"]

    assert pick() == [(2, False), (2, True), (16, False), (16, True), (256, False)]
    assert pick("--extra-linear") == [(2, False), (16, False), (256, False)]
    assert pick("--linear-latent", "--latent", "16", "2") == [(2, True), (16, True)]
    assert pick("--latent", "256", "--extra-linear", "256") == [(256, False), (256, True)]
    settings = q2a.resolve_settings(parser.parse_args(["--quick"]))
    assert settings["epochs"] == q2a.QUICK["epochs"] and settings["tsne_points"] == q2a.QUICK["tsne_points"]
    settings = q2a.resolve_settings(parser.parse_args(["--quick", "--epochs", "7"]))
    assert settings["epochs"] == 7
    assert pick("--quick") == [(2, False), (16, False), (256, False)]  # the demo trains the ReLU latents only
    assert pick("--quick", "--extra-linear", "2") == [(2, False), (2, True), (16, False), (256, False)]


def test_quick_trains_long_enough_to_leave_the_mean_image():
    """On fewer images or fewer epochs latent 16 stays at the mean image (test L1 about 0.12, every
    reconstruction one blob); on all of them it leaves it near epoch 5 and is below 0.08 by epoch 14."""
    settings = q2a.resolve_settings(q2a.build_parser().parse_args(["--quick"]))
    assert q2a.QUICK["n_train"] == N_TRAIN and settings["epochs"] >= 14


def test_the_parser_offers_the_lessons_latent_sizes():
    import q2a_autoencoders  # noqa: PLC0415

    assert q2a.LATENT_CHOICES == tuple(q2a_autoencoders.ENCODER_WIDTHS)


def test_example_rejects_bad_options_before_any_work(tmp_path, monkeypatch, capsys):
    calls = []
    example = _load_example(monkeypatch, calls)
    for argv, message in ((["--latent", "3"], "invalid choice: 3"),
                          (["--tsne-points", "2"], "must be >= 3"),  # t-SNE would fail after the training
                          (["--seed", "-1"], "must be >= 0"),
                          (["--tsne-points", "10001"], "from 1 to 10,000 (MNIST's test images)"),
                          (["--batch-size", "40201"], "from 1 to 40,200"), (["--lr", "1e308"], "must be in (0, 1]"),
                          (["--epochs", "10001"], "from 1 to 10,000"), (["--n-init", "1001"], "from 1 to 1,000"),
                          (["--jobs", "7"], "from 1 to 6")):
        with pytest.raises(SystemExit) as exit_info:
            example.main([*argv, "--out", str(tmp_path / "x")])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "metrics.json").write_text("{}")
    with pytest.raises(SystemExit):
        example.main(["--out", str(busy)])
    assert "--force" in capsys.readouterr().err
    assert calls == [] and not (tmp_path / "x").exists()


def test_help_lists_every_option_with_defaults(capsys):
    with pytest.raises(SystemExit):
        q2a.build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for option in ("--latent", "--linear-latent", "--extra-linear", "--epochs", "--batch-size", "--lr", "--n-init",
                   "--tsne-points", "--quick", "--out", "--force", "--seed", "--quiet"):
        assert option in text
    assert "default: 200" in text and "runs/q2a" in text


CTRL_C_CHILD = """
import sys
from coursework.run_folder import run_script
from test_q2a import _fake_mnist

import q2a_autoencoders as example
example.load_mnist = lambda *args, **kwargs: _fake_mnist()
run_script(lambda: example.main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_PROC, reason="finds the worker processes in Linux's /proc")
def test_ctrl_c_while_models_train_in_workers_keeps_the_earlier_results(tmp_path):
    out = tmp_path / "q2a"
    with open_run(argparse.ArgumentParser(), out, False, EXAMPLE.name) as folder:
        (folder / "metrics.json").write_text("{}")
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    tests = Path(__file__).parent
    path = [str(tests), str(EXAMPLE.parent), os.environ.get("PYTHONPATH", "")]  # the host guard's lane sets one
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD, "--epochs", "10000", "--n-init", "1", "--latent",
                              "2", "16", "--jobs", "2", "--out", str(out), "--force", "--quiet"],
                             stderr=subprocess.PIPE, text=True, env=environment)
    workers, deadline = [], time.monotonic() + 120
    while len(workers) < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.2)
        workers = [pid for pid in children(child.pid) if "spawn_main" in command_line(pid)]
    assert len(workers) == 2, child.poll()
    time.sleep(1.0)  # the workers are training
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert err == f"interrupted: {out} unchanged (earlier results kept)\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q2a"]
    assert not [pid for pid in workers if alive(pid)]

