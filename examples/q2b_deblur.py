"""Q2B: tell blurred digits from clear ones (dis_net), then deblur them with the Q2A autoencoders.

    python examples/q2b_deblur.py                                 # the full run (see docs/experiments.md)
    python examples/q2b_deblur.py --quick --out /tmp/q2b_quick --force   # the same, in miniature
    python examples/q2b_deblur.py --latent 16 --adv-lambda 0 --no-sweep  # one model, no extras

The lesson, top to bottom (figures, report and options: ``examples/coursework/q2b.py``):

1. MNIST / 255, the 60,000 training images split 67/33, every image also blurred: a 5x5 Gaussian with
   sigma 4, what the assignment's ``cv2.GaussianBlur(img, (5, 5), cv2.BORDER_DEFAULT)`` really did.
2. dis_net, a CNN ending in one logit (> 0: blurred): ``BCEWithLogitsLoss``, ``Adam``, ``fit``; judged on
   the test set beside a one-number baseline (the variance of the Laplacian), and across blur strengths.
3. A digit classifier, a CNN with ``CrossEntropyLoss``: the judge of "is it still the same digit?".
4. The Q2A autoencoders trained blurred -> clear with ``L1Loss``; their outputs judged three ways:
   dis_net's verdict, the classifier's reading, the L1 distance to the clear original. With
   ``--adv-lambda`` > 0 each is also fine-tuned with L1 + lambda * BCE(frozen dis_net(output), clear).

``main(argv)`` returns ``(metrics, report)`` so that a combined report can include this one.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from coursework import q2b  # noqa: E402
from coursework.cli import Steps, use_headless_matplotlib  # noqa: E402
from coursework.models import digit_classifier, dis_net  # noqa: E402
from coursework.run_folder import open_run, run_script  # noqa: E402
from q2a_autoencoders import Autoencoder  # noqa: E402  (Q2A's lesson builds it)

from scratchnet import backend, losses, optim  # noqa: E402
from scratchnet.data import load_mnist  # noqa: E402
from scratchnet.train import EarlyStopping, fit, predict  # noqa: E402


def train_dis_net(x, y, epochs, batch_size, seed, progress, validation_data=None):
    """A fresh dis_net fit to images x (N, 1, 28, 28) and labels y (N, 1): 1 blurred, 0 clear.

    Returns ``(model, History, loss)``; the loss wrapper kept every batch's value for the plot."""
    backend.manual_seed(seed)
    model = dis_net()
    loss_fn = q2b.RecordingLoss(losses.BCEWithLogitsLoss(), binary_accuracy=True)
    validating = validation_data is not None
    history = fit(model, loss_fn, optim.Adam(model.parameters(), lr=1e-3), x, y, epochs=epochs,
                  batch_size=batch_size, validation_data=validation_data, progress=progress,
                  metrics={"accuracy": q2b.binary_accuracy} if validating else None,
                  callbacks=[EarlyStopping(restore_best_weights=True)] if validating else None)
    return model, history, loss_fn


def train_digit_classifier(data, settings, progress):
    """A fresh digit classifier fit to the clear training digits: (N, 1, 28, 28) -> 10 logits."""
    backend.manual_seed(settings["seed"])
    model = digit_classifier()
    history = fit(model, losses.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
                  q2b.as_images(data["clear_train"]), data["y_train"], epochs=settings["clf_epochs"],
                  batch_size=settings["clf_batch_size"],
                  validation_data=(q2b.as_images(data["clear_val"]), data["y_val"]),
                  metrics={"accuracy": q2b.classifier_accuracy}, progress=progress and "classifier",
                  callbacks=[EarlyStopping(restore_best_weights=True)])
    return model, history


def train_deblurrer(model, loss_fn, data, settings, epochs, progress):
    """Fit ``model`` to map blurred training digits (N, 784) to their clear originals under ``loss_fn``."""
    x, target = q2b.as_vectors(data["blurred_train"]), q2b.as_vectors(data["clear_train"])
    validation = (q2b.as_vectors(data["blurred_val"]), q2b.as_vectors(data["clear_val"]))
    return fit(model, loss_fn, optim.Adam(model.parameters(), lr=settings["lr"]), x, target, epochs=epochs,
               batch_size=settings["batch_size"], validation_data=validation, progress=progress,
               callbacks=[EarlyStopping(restore_best_weights=True)])


def main(argv=None):
    """Run Q2B with the command-line options ``argv``; returns ``(metrics, report)``."""
    started = time.perf_counter()
    parser = q2b.build_parser()
    args = parser.parse_args(argv)  # a bad option is a one-line error here, before any work
    settings = q2b.resolve_settings(args)
    with open_run(parser, args.out, args.force, script=Path(__file__).name) as out:
        metrics, report = run(args, settings, out, started)
    report.relocate(out, args.out)  # its figures are there now
    if not args.quiet:
        print(q2b.summary_text(metrics))
        print(f"wrote {args.out}: metrics.json, report.md, report.html and the figures, in {metrics['seconds']:.0f} s",
              file=sys.stderr)
    return metrics, report


def run(args, settings, out, started):
    """The run itself, every file written under ``out`` (the run folder's temporary folder)."""
    use_headless_matplotlib()
    steps, progress = Steps(quiet=args.quiet), not args.quiet
    with steps.step("load and blur MNIST"):
        data = q2b.prepare_data(load_mnist(progress=progress), kernel=settings["kernel"], sigma=settings["sigma"],
                                seed=settings["seed"], n_train=settings["n_train"], n_val=settings["n_val"],
                                n_test=settings["n_test"], method=settings["blur_method"])
    metrics = q2b.new_metrics(settings, data, backend.name, out)
    detector = tell_blurred_from_clear(data, settings, metrics, steps, out, progress)
    with steps.step("train the digit classifier"):
        classifier, history = train_digit_classifier(data, settings, progress)
    accuracy = q2b.classifier_accuracy(predict(classifier, q2b.as_images(data["clear_test"])), data["y_test"])
    metrics["digit_classifier"] = q2b.classifier_entry(history, settings, accuracy)
    q2b.log(args.quiet, f"digit classifier: test accuracy {accuracy:.2%}")
    deblur(data, settings, metrics, detector, classifier, steps, out, args.quiet)
    metrics["step_seconds"] = steps.times
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return metrics, q2b.write_results(metrics, out)


def tell_blurred_from_clear(data, settings, metrics, steps, out, progress):
    """Train and test dis_net (and the baseline, and the sweep over sigma); returns dis_net."""
    x, y = q2b.blur_detection_set(data["clear_train"][:settings["dis_pairs"]],
                                  data["blurred_train"][:settings["dis_pairs"]])
    validation = q2b.blur_detection_set(data["clear_val"], data["blurred_val"])
    with steps.step("train dis_net"):
        detector, history, recorder = train_dis_net(x, y, settings["dis_epochs"], settings["dis_batch_size"],
                                                    settings["seed"], progress and "dis_net", validation)
    del x, y, validation
    with steps.step("test dis_net and the baseline"):
        x_test, y_test = q2b.blur_detection_set(data["clear_test"], data["blurred_test"])
        calls = q2b.predicted_blurred(predict(detector, x_test))
        metrics["dis_net"] = q2b.dis_net_entry(history, recorder, calls, y_test, settings, data["sizes"])
        _, metrics["laplacian_baseline"] = q2b.laplacian_detector(data["clear_train"], data["blurred_train"],
                                                                  data["clear_test"], data["blurred_test"])
    q2b.plot_dis_net(metrics, history, settings, out)
    q2b.log(not progress, f"dis_net: test accuracy {metrics['dis_net']['test_accuracy']:.2%}; Laplacian-variance "
                          f"baseline {metrics['laplacian_baseline']['test_accuracy']:.2%}")
    if settings["sweep"]:
        with steps.step("sweep the blur sigma"):
            metrics["sweep"] = q2b.run_sweep(data, settings, progress, train_dis_net)
        q2b.plot_sweep(metrics["sweep"], out / "sweep.png", "telling clear from blurred: CNN vs one number")
        metrics["figures"]["sweep"] = "sweep.png"
    metrics["one_unit_softmax"] = q2b.one_unit_softmax_entry(settings["seed"])
    return detector


def deblur(data, settings, metrics, detector, classifier, steps, out, quiet):
    """Train one deblurring autoencoder per latent size (and its fine-tuned twin); judge them all."""
    clear, labels = data["clear_test"], data["y_test"]
    judged, outputs, histories = {}, {}, {}
    metrics["autoencoders"] = {}

    def judge(name, images):
        outputs[name] = images
        judged[name] = q2b.judge(images, clear, labels, detector, classifier)

    with steps.step("judge the clear and blurred test images"):
        judge("clear originals", clear)
        judge("blurred input", data["blurred_test"])
    adv_lambda, blurred_test = settings["adv_lambda"], q2b.as_vectors(data["blurred_test"])
    for latent in settings["latents"]:
        label = f"latent {latent}"
        backend.manual_seed(settings["seed"])
        model = Autoencoder(latent, linear_latent=settings["linear_latent"])
        with steps.step(f"train {label}"):
            histories[label] = train_deblurrer(model, losses.L1Loss(), data, settings, settings["epochs"],
                                               progress=not quiet and f"latent_{latent}")
        with steps.step(f"judge {label}"):
            judge(label, predict(model, blurred_test))
        entry = q2b.autoencoder_entry(label, latent, model.num_parameters(), histories[label])
        if adv_lambda > 0:  # fine-tune a copy with dis_net's verdict in the loss
            twin = Autoencoder(latent, linear_latent=settings["linear_latent"])
            twin.load_state_dict(model.state_dict())
            with steps.step(f"fine-tune {label} with dis_net in the loss"), q2b.frozen(detector):
                history = train_deblurrer(twin, q2b.AdversarialDeblurLoss(detector, adv_lambda), data, settings,
                                          settings["adv_epochs"], progress=not quiet and f"latent_{latent}_adv")
            # judged by the very dis_net it was trained to satisfy: that verdict is not independent
            judge(f"{label} + adv {adv_lambda:g}", predict(twin, blurred_test))
            entry["adversarial"] = q2b.fine_tune_entry(f"{label} + adv {adv_lambda:g}", history)
        metrics["autoencoders"][f"latent_{latent}"] = entry
        q2b.plot_deblurred(entry, data, outputs, out)
        q2b.log(quiet, q2b.judgement_line(label, judged[label]))
    q2b.add_judgements(metrics, judged, histories, labels, out)


if __name__ == "__main__":
    run_script(main)
