"""Q2B: the blur, the Laplacian baseline, the one-unit softmax, the judgements, and an end-to-end smoke run."""

from __future__ import annotations

import errno
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from coursework import blur, q2b
from coursework.models import assignment_dis_net_head, dis_net

import scratchnet as sn
from scratchnet import backend, losses

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "q2b_deblur.py"


def synthetic_digits(n=12, seed=0):
    """Digit-like float32 images in [0, 1]: thick anti-aliased strokes (a ring, a bar, a diagonal) on black."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    images = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        cy, cx = 14 + rng.uniform(-2, 2, size=2)
        kind = i % 3
        if kind == 0:  # a "0": a ring
            r = np.hypot((yy - cy) / 1.3, xx - cx)
            dist = np.abs(r - rng.uniform(5, 7))
        elif kind == 1:  # a "1": a vertical bar
            dist = np.where(np.abs(yy - cy) < 9, np.abs(xx - cx), 99)
        else:  # a "7"-ish diagonal stroke
            dist = np.where(np.abs(yy - cy) < 9, np.abs((xx - cx) - 0.4 * (yy - cy)), 99)
        images[i] = np.clip(2.2 - dist, 0, 1)  # about 2-3 pixels wide, with soft edges
    return images


# ---------------------------------------------------------------------------------------------------
# The blur
# ---------------------------------------------------------------------------------------------------


def test_defaults_are_the_assignments_kernel_5_sigma_4():
    cv2 = pytest.importorskip("cv2")
    assert (blur.DEFAULT_KERNEL, blur.DEFAULT_SIGMA) == (5, 4.0)
    assert cv2.BORDER_DEFAULT == 4  # what the assignment passed in sigmaX's place
    np.testing.assert_allclose(blur.gaussian_kernel(), cv2.getGaussianKernel(5, 4.0).ravel(), rtol=1e-12)
    images = synthetic_digits(3)
    as_the_assignment = np.stack([cv2.GaussianBlur(im, (5, 5), cv2.BORDER_DEFAULT) for im in images])
    np.testing.assert_allclose(blur.gaussian_blur(images), as_the_assignment, atol=1e-6)


@pytest.mark.parametrize("kernel,sigma", [(5, 4.0), (5, 0.3), (3, 1.0), (7, 2.5)])
@pytest.mark.parametrize("method", ["cv2", "numpy"])
def test_vectorised_blur_matches_per_image_cv2(kernel, sigma, method):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    images = np.concatenate([synthetic_digits(6), rng.random((300, 28, 28), dtype=np.float32)])  # > 2 cv2 chunks
    expected = np.stack([cv2.GaussianBlur(im, (kernel, kernel), sigma) for im in images])
    got = blur.gaussian_blur(images, kernel, sigma, method=method)
    assert got.shape == images.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_blur_accepts_uint8_and_rejects_bad_settings():
    got = blur.gaussian_blur((synthetic_digits(2) * 255).astype(np.uint8), method="numpy")
    assert got.dtype == np.float32 and got.max() <= 255
    assert blur.gaussian_blur(np.zeros((0, 28, 28)), method="numpy").shape == (0, 28, 28)
    for kernel, sigma in ((4, 1.0), (0, 1.0), (5, 0.0), (5, float("nan"))):
        with pytest.raises(ValueError):
            blur.gaussian_blur(synthetic_digits(1), kernel, sigma)
    with pytest.raises(ValueError, match="N, H, W"):
        blur.gaussian_blur(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="too small"):  # 2 sigma^2 underflows: the taps would be 0/0
        blur.gaussian_kernel(5, 1e-200)
    assert blur.gaussian_kernel(5, blur.MIN_SIGMA).tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]  # no blur left


def test_gaussian_kernel_is_cv2s_to_within_rounding():
    cv2 = pytest.importorskip("cv2")
    for kernel in (1, 3, 5, 7, 27, q2b.MAX_KERNEL):
        for sigma in (blur.MIN_SIGMA, 0.3, 0.4, 0.5, 0.7, 1.0, 4.0, 50.0):
            ours, theirs = blur.gaussian_kernel(kernel, sigma), cv2.getGaussianKernel(kernel, sigma).ravel()
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
            if sigma in q2b.FULL["sweep_sigmas"]:  # the float32 taps the NumPy blur uses: identical
                assert np.array_equal(ours.astype(np.float32), theirs.astype(np.float32)), (kernel, sigma)


@pytest.mark.parametrize("method", ["cv2", "numpy"])
def test_the_widest_kernel_the_options_allow_blurs_with_either_method(method):
    if method == "cv2":
        pytest.importorskip("cv2")
    images = synthetic_digits(2)
    got = blur.gaussian_blur(images, q2b.MAX_KERNEL, 4.0, method=method)
    assert got.shape == images.shape and np.all(np.isfinite(got))
    if method == "numpy":
        with pytest.raises(ValueError, match="larger than"):
            blur.gaussian_blur(images, q2b.MAX_KERNEL + 2, 4.0, method=method)


# ---------------------------------------------------------------------------------------------------
# dis_net's labels: blurred = 1, clear = 0
# ---------------------------------------------------------------------------------------------------


def test_blur_detection_set_labels_clear_0_and_blurred_1():
    clear = synthetic_digits(3)
    blurred = blur.gaussian_blur(clear, method="numpy")
    images, labels = q2b.blur_detection_set(clear, blurred[:2])
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (5, 1) and labels.dtype == np.float32
    assert labels.ravel().tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert np.array_equal(images[:3, 0], clear) and np.array_equal(images[3:, 0], blurred[:2])
    # the judgements read the logit the same way: > 0 is "blurred" (1), <= 0 "clear"
    assert q2b.binary_accuracy(np.where(labels > 0.5, 3.0, -3.0), labels) == 1.0


def test_dis_net_trained_on_the_detection_set_calls_blurred_digits_blurred(monkeypatch):
    """The convention end to end: the example's dis_net, trained on ``blur_detection_set``, says 'clear' for
    held-out clear digits and 'blurred' for their blurred copies (swapping the labels turns this around)."""
    example = _load_example(monkeypatch)
    rng = np.random.default_rng(0)
    clear = np.clip(synthetic_digits(64) + rng.normal(0, 0.04, (64, 28, 28)).astype(np.float32), 0, 1)
    blurred = blur.gaussian_blur(clear, method="numpy")
    x, y = q2b.blur_detection_set(clear[:48], blurred[:48])
    model, _, _ = example.train_dis_net(x, y, epochs=10, batch_size=16, seed=0, progress=False)
    model.eval()
    assert q2b.share_judged_clear(sn.to_numpy(model(sn.Tensor(q2b.as_images(clear[48:]))).data)) == 1.0
    assert q2b.share_judged_clear(sn.to_numpy(model(sn.Tensor(q2b.as_images(blurred[48:]))).data)) == 0.0


# ---------------------------------------------------------------------------------------------------
# The Laplacian-variance baseline
# ---------------------------------------------------------------------------------------------------


def test_laplacian_variance_matches_cv2():
    cv2 = pytest.importorskip("cv2")
    images = synthetic_digits(4)
    expected = [cv2.Laplacian(im.astype(np.float64), cv2.CV_64F).var() for im in images]
    np.testing.assert_allclose(blur.laplacian_variance(images), expected, rtol=1e-10)


def test_laplacian_variance_separates_clear_from_blurred():
    clear = synthetic_digits(12)
    blurred = blur.gaussian_blur(clear, method="numpy")
    sharp, soft = blur.laplacian_variance(clear), blur.laplacian_variance(blurred)
    assert sharp.min() > 3 * soft.max()
    detector = blur.ThresholdDetector().fit(np.concatenate([sharp, soft]), np.repeat([0, 1], 12))
    assert detector.train_accuracy == 1.0 and detector.blurred_below
    assert soft.max() < detector.threshold < sharp.min()
    held_out = synthetic_digits(6, seed=5)
    scores = np.concatenate([blur.laplacian_variance(held_out),
                             blur.laplacian_variance(blur.gaussian_blur(held_out, method="numpy"))])
    assert detector.predict(scores).tolist() == [0] * 6 + [1] * 6


def test_threshold_detector_on_hand_made_scores():
    detector = blur.ThresholdDetector().fit([5.0, 1.0, 4.0, 2.0, 3.0, 6.0], [0, 1, 0, 1, 1, 0])
    assert detector.threshold == 3.5 and detector.blurred_below and detector.train_accuracy == 1.0
    flipped = blur.ThresholdDetector().fit([1.0, 2.0, 8.0, 9.0], [0, 0, 1, 1])  # blurred scores high
    assert not flipped.blurred_below and flipped.predict([0.0, 10.0]).tolist() == [0, 1]
    overlap = blur.ThresholdDetector().fit([1.0, 2.0, 3.0, 4.0], [1, 0, 1, 0])
    assert overlap.train_accuracy == 0.75
    with pytest.raises(RuntimeError):
        blur.ThresholdDetector().predict([1.0])


# ---------------------------------------------------------------------------------------------------
# The assignment's one-unit softmax
# ---------------------------------------------------------------------------------------------------


def test_one_unit_softmax_outputs_exactly_one_and_passes_zero_gradient():
    sn.manual_seed(0)
    head = assignment_dis_net_head()
    features = sn.Tensor(np.random.default_rng(0).normal(0, 5, size=(32, 8)).astype(np.float32), requires_grad=True)
    out = head(features)
    assert np.all(sn.to_numpy(out.data) == 1.0)  # exactly 1, for every input
    # the assignment's loss (binary cross-entropy) and a plain sum: either way no gradient gets through
    for loss in (losses.BCELoss()(out, np.repeat([[0.0], [1.0]], 16, axis=0)), out.sum()):
        head.zero_grad()
        features.grad = None
        loss.backward()
        for name, p in head.named_parameters():
            assert np.all(sn.to_numpy(p.grad) == 0.0), name
        assert np.all(sn.to_numpy(features.grad) == 0.0)


def test_one_unit_softmax_demo_and_the_logit_head_that_replaces_it():
    demo = q2b.one_unit_softmax_demo(n=10)
    assert demo["outputs"].shape == (10, 1) and np.all(demo["outputs"] == 1.0)
    assert set(demo["grads"]) == {"0.weight", "0.bias", "input"}
    assert all(np.all(g == 0.0) for g in demo["grads"].values())
    sn.manual_seed(0)
    model = dis_net()  # ends in one logit: gradients do reach the first layer
    x = sn.Tensor(np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32))
    losses.BCEWithLogitsLoss()(model(x), np.array([[0.0], [1.0], [0.0], [1.0]], np.float32)).backward()
    assert np.abs(sn.to_numpy(model[0].weight.grad)).max() > 0


# ---------------------------------------------------------------------------------------------------
# The judgements
# ---------------------------------------------------------------------------------------------------


def test_share_judged_clear_and_binary_accuracy():
    logits = np.array([[-2.0], [0.0], [0.5], [3.0]])  # logit <= 0: clear (0); > 0: blurred (1)
    assert q2b.predicted_blurred(logits).tolist() == [0, 0, 1, 1]
    assert q2b.share_judged_clear(logits) == 0.5
    assert q2b.binary_accuracy(logits, np.array([[0.0], [1.0], [1.0], [1.0]])) == 0.75
    with pytest.raises(ValueError):
        q2b.share_judged_clear(np.zeros((0, 1)))


def test_classifier_accuracy_and_confusion_matrix():
    logits = np.array([[0.1, 0.9, 0.0], [2.0, 0.0, 1.0], [0.0, 0.0, 5.0], [1.0, 3.0, 0.0]])
    assert q2b.classifier_accuracy(logits, np.array([1, 0, 2, 2])) == 0.75
    with pytest.raises(ValueError):
        q2b.classifier_accuracy(logits, np.array([1, 0]))
    assert q2b.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0]) == [[1, 1], [1, 2]]


def test_l1_and_psnr_on_hand_made_images():
    clear = np.zeros((2, 28, 28), np.float32)
    off = clear.copy()
    off[0] += 0.1  # image 0: every pixel off by 0.1 -> L1 0.1, MSE 0.01, PSNR 20 dB
    off[1, :14] = 1.0  # image 1: half the pixels off by 1 -> L1 0.5, MSE 0.5, PSNR 3.0103 dB
    assert q2b.l1_error(off, clear) == pytest.approx(0.3)
    assert q2b.psnr(off, clear) == pytest.approx((20.0 + 10 * math.log10(2.0)) / 2)
    assert q2b.psnr(off[:1].reshape(1, 784), clear[:1]) == pytest.approx(20.0)  # shapes may differ, pixels not
    assert q2b.l1_error(clear, clear) == 0.0 and q2b.psnr(clear, clear) == float("inf")
    with pytest.raises(ValueError, match="pixels"):
        q2b.l1_error(clear, clear[:1])


def test_judge_runs_all_three_judgements():
    sn.manual_seed(0)

    class Constant(sn.nn.Module):  # a "model" with a fixed answer per image
        def __init__(self, value):
            super().__init__()
            self.value = sn.nn.Parameter(np.asarray(value, np.float32))

        def forward(self, x):
            return x.reshape(x.shape[0], -1)[:, :1] * 0.0 + self.value

    images = synthetic_digits(4)
    dis = Constant([-1.0])  # calls everything clear
    reader = Constant([0.0, 1.0, 0.0])  # always reads "1"
    judged = q2b.judge(images, images, np.array([1, 1, 0, 2]), dis, reader)
    assert judged["dis_net_clear"] == 1.0 and judged["digit_accuracy"] == 0.5
    assert judged["l1"] == 0.0 and judged["psnr"] == float("inf") and judged["digits"].tolist() == [1, 1, 1, 1]


def test_frozen_dis_net_passes_gradient_but_gets_none():
    sn.manual_seed(0)
    detector = dis_net()
    detector.train()
    images = sn.Tensor(synthetic_digits(2).reshape(2, 784), requires_grad=True)
    loss_fn = q2b.AdversarialDeblurLoss(detector, 0.5)
    with q2b.frozen(detector):
        assert not detector.training and not any(p.requires_grad for p in detector.parameters())
        loss = loss_fn(images, np.zeros((2, 784), np.float32))
        loss.backward()
    assert detector.training and all(p.requires_grad for p in detector.parameters())
    assert all(p.grad is None for p in detector.parameters())
    assert np.abs(sn.to_numpy(images.grad)).max() > 0
    with pytest.raises(ValueError):
        q2b.AdversarialDeblurLoss(detector, -1.0)


# ---------------------------------------------------------------------------------------------------
# The example, end to end, on a tiny fake MNIST
# ---------------------------------------------------------------------------------------------------


def _fake_mnist(n_train=150, n_test=40, seed=0):
    rng = np.random.default_rng(seed)
    shapes = synthetic_digits(30, seed=seed)

    def make(n):
        labels = rng.integers(0, 10, size=n)
        images = shapes[labels * 3 % 30] * 255 + rng.normal(0, 10, size=(n, 28, 28))
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)

    return (*make(n_train), *make(n_test))


def _load_example(monkeypatch, calls=None):
    spec = importlib.util.spec_from_file_location("q2b_deblur_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def fake_load_mnist(*args, **kwargs):
        if calls is not None:
            calls.append(1)
        return _fake_mnist()

    monkeypatch.setattr(module, "load_mnist", fake_load_mnist)
    return module


def test_example_end_to_end_on_fake_mnist(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    example = _load_example(monkeypatch)
    out = tmp_path / "q2b"
    metrics, report = example.main(["--quick", "--latent", "2", "16", "256", "--adv-lambda", "0.05", "--epochs", "1",
                                    "--adv-epochs", "1", "--sweep-sigmas", "0.5,4",
                                    "--sweep-pairs", "30", "--dis-batch-size", "128", "--out", str(out), "--quiet",
                                    "--seed", "1"])
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["data"]["sizes"] == {"train": 100, "val": 50, "test": 40}  # 67/33 of 150
    for key in ("settings", "dis_net", "laplacian_baseline", "sweep", "one_unit_softmax", "digit_classifier",
                "autoencoders", "judgements", "adversarial", "first_digits", "reference", "step_seconds", "figures"):
        assert key in on_disk, key
    d = on_disk["dis_net"]
    assert 0 <= d["test_accuracy"] <= 1 and np.sum(d["confusion_matrix"]) == 80
    assert len(d["history"]["val_accuracy"]) == 1 and len(d["batch_losses"]) == 2  # 200 images, batch 128
    assert np.sum(on_disk["laplacian_baseline"]["confusion_matrix"]) == 80
    assert on_disk["sweep"]["sigmas"] == [0.5, 4.0] and len(on_disk["sweep"]["cnn_accuracy"]) == 2
    assert on_disk["one_unit_softmax"]["outputs_equal_to_one"] == on_disk["one_unit_softmax"]["inputs"]
    assert set(on_disk["one_unit_softmax"]["max_abs_grad"].values()) == {0.0}
    names = [r["name"] for r in on_disk["judgements"]]
    assert names == ["clear originals", "blurred input", "latent 2", "latent 16", "latent 256"]
    clear_row = on_disk["judgements"][0]
    assert clear_row["l1"] == 0.0 and clear_row["psnr"] is None  # infinite PSNR is written as null
    for r in on_disk["judgements"][1:]:
        assert {"dis_net_clear", "digit_accuracy", "l1", "psnr"} <= r.keys() and 0 < r["l1"] < 1
    assert [r["name"] for r in on_disk["adversarial"]["rows"]][2:4] == ["latent 2", "latent 2 + adv 0.05"]
    assert set(on_disk["autoencoders"]) == {"latent_2", "latent_16", "latent_256"}
    assert all(m["epochs"] == 1 and m["adversarial"]["epochs"] == 1 for m in on_disk["autoencoders"].values())
    assert len(on_disk["first_digits"]["true"]) == 20
    assert len(on_disk["first_digits"]["rows"]) == 1 + 2 + 3 + 3  # true, clear, blurred, 3 models, 3 + adv
    for name in ("blur_samples.png", "dis_net_training.png", "sweep.png", "judgements.png", "ae_training.png",
                 "latent_2_deblur.png", "latent_16_deblur.png", "latent_256_deblur.png"):
        assert (out / name).stat().st_size > 2000, name
    for name in ("report.md", "report.html"):
        assert (out / name).stat().st_size > 2000, name
    assert on_disk["backend"] == backend.name  # "cupy" in the hostguard lane: no silent host conversion
    assert metrics["dis_net"]["test_accuracy"] == d["test_accuracy"]
    markdown = (out / "report.md").read_text()
    assert "variance of the Laplacian" in markdown and "latent_16_deblur.png" in markdown
    assert "BORDER_DEFAULT" in markdown
    # the + adv models were fine-tuned against dis_net: the report says its verdict on them is not independent
    assert q2b.NOT_INDEPENDENT in markdown and "judged by the dis_net they were optimised against" in markdown
    assert on_disk["settings"]["blur_method"] == blur.available_method()  # the blur that ran, in the report
    assert q2b.BLUR_METHODS[blur.available_method()] in markdown
    on_disk["settings"]["blur_method"] = "numpy"
    assert "OpenCV was not installed" in q2b.build_report(on_disk, out).to_markdown(out)
    _, again = q2b.load_report(out)  # rebuilt from metrics.json alone
    assert again.to_markdown(out) == markdown and report.title == again.title


def test_example_without_extras(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    example = _load_example(monkeypatch)
    out = tmp_path / "plain"
    metrics, _ = example.main(["--quick", "--epochs", "1", "--latent", "16", "--no-sweep", "--adv-lambda", "0",
                               "--sigma", "1.5", "--kernel", "3", "--n-train", "40", "--n-val", "20",
                               "--n-test", "20", "--out", str(out), "--quiet"])
    assert "sweep" not in metrics and "adversarial" not in metrics
    assert "optimised against" not in (out / "report.md").read_text()  # no + adv rows, no caveat
    assert [r["name"] for r in metrics["judgements"]] == ["clear originals", "blurred input", "latent 16"]
    assert metrics["settings"]["sigma"] == 1.5 and metrics["settings"]["kernel"] == 3
    assert not (out / "sweep.png").exists()


def test_example_rejects_bad_options_before_any_work(tmp_path, monkeypatch, capsys):
    calls = []
    example = _load_example(monkeypatch, calls)
    for argv, message in ((["--kernel", "4"], "must be odd"), (["--sigma", "0"], "must be a finite number > 0"),
                          (["--kernel", "57"], "at most 55"),  # NumPy's reflection cannot pad 28 pixels by 28
                          (["--sigma", "1e-200"], "at least 0.01"),  # 0/0 taps
                          (["--sweep-sigmas", "0.5,0.001"], "at least 0.01"), (["--seed", "-1"], "must be >= 0"),
                          (["--latent", "3"], "invalid choice: 3"), (["--adv-lambda", "-1"], "must be in [0, 100]"),
                          (["--sweep-sigmas", "0.5,x"], "expected a number"),
                          # counts up to what MNIST has, not clamped without a word
                          (["--n-train", "100000000"], "from 1 to 40,200 (the training images)"),
                          (["--n-val", "19801"], "from 1 to 19,800"), (["--n-test", "10001"], "from 1 to 10,000"),
                          (["--sweep-pairs", "40201"], "from 1 to 40,200"),
                          (["--dis-batch-size", "80401"], "from 1 to 80,400"),
                          (["--lr", "2"], "must be in (0, 1]"), (["--epochs", "10001"], "from 1 to 10,000"),
                          (["--adv-epochs", "0"], "from 1 to 10,000"), (["--sigma", "1e308"], "at most 100")):
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
        q2b.build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for option in ("--sigma", "--kernel", "--dis-epochs", "--dis-batch-size", "--sweep", "--no-sweep",
                   "--sweep-sigmas", "--clf-epochs", "--latent", "--epochs", "--batch-size", "--lr", "--adv-lambda",
                   "--adv-epochs", "--quick", "--out", "--force", "--seed", "--quiet"):
        assert option in text
    assert "default: 4.0" in text and "default: 50; --quick: 3" in text and "runs/q2b" in text


def test_the_output_folder_survives_failures_and_force_keeps_the_users_files(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.figure
    from coursework.run_folder import RUN_MARKER, RunStopped

    example = _load_example(monkeypatch)
    out = tmp_path / "q2b"
    argv = ["--quick", "--epochs", "1", "--latent", "16", "--no-sweep", "--adv-lambda", "0", "--n-train", "40",
            "--n-val", "20", "--n-test", "20", "--out", str(out), "--quiet"]

    def no_mnist(*args, **kwargs):
        raise OSError(errno.ECONNREFUSED, "Connection refused", "https://example.org/mnist.npz")

    with monkeypatch.context() as patch:  # a run that fails early leaves nothing behind, no marker either
        patch.setattr(example, "load_mnist", no_mnist)
        with pytest.raises(RunStopped, match=f"Connection refused: nothing written to {out}$"):
            example.main(argv)
    assert not out.exists()
    example.main(argv)  # so no --force is needed
    (out / "notes.txt").write_text("mine")
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}

    def full_disk(self, handle, **kwargs):
        handle.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
        with pytest.raises(RunStopped) as info:
            example.main([*argv, "--force"])
    assert info.value.status == 1
    assert info.value.message == (f"{out / 'blur_samples.png'}: No space left on device: {out} unchanged "
                                  f"(earlier results kept)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q2b"]  # no temporary folder left

    example.main([*argv, "--force", "--seed", "1"])
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "metrics.json").read_bytes() != earlier["metrics.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(earlier)
    assert RUN_MARKER in earlier
