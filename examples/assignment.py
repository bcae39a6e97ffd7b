"""The whole assignment in one command, into one self-contained HTML report.

    python examples/assignment.py all --quick --out runs/demo       # what `make demo` runs (minutes)
    python examples/assignment.py all --out runs/full               # the full epochs (`make full`)
    python examples/assignment.py q1b                               # one question: q1a q1b q1phase q2a q2b

Each question is also its own script (``examples/q1a_gd.py``, ``q1b_adam.py``, ``q1_phase.py``,
``q2a_autoencoders.py``, ``q2b_deblur.py``); this one runs them in turn, each into a sub-folder of
``--out``, and writes ``report.html`` (images embedded), ``report.md`` and ``metrics.json``: a
section per question, the assignment's result beside scratchnet's, and what the assignment got wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import q1_phase  # noqa: E402  (the sibling example scripts)
import q1a_gd  # noqa: E402
import q1b_adam  # noqa: E402
import q2a_autoencoders  # noqa: E402
import q2b_deblur  # noqa: E402
from coursework.cli import Steps, add_common_options  # noqa: E402
from coursework.report import Report, write_json  # noqa: E402
from coursework.run_folder import open_run, run_script  # noqa: E402

from scratchnet import backend  # noqa: E402

QUESTIONS = ("q1a", "q1b", "q1phase", "q2a", "q2b")

#: Q1A in the assignment: (x, loss) after each of 6 gradient-descent steps from x0 = 0 with lr 0.3
ASSIGNMENT_Q1A = [(0.3, 0.7), (0.6, 0.4), (0.9, 0.1), (1.2, 0.2), (0.9, 0.1), (1.2, 0.2)]

ASSIGNMENT_MISTAKES = [
    ("Q1B, Adam's update", "The assignment's loop moved by lr * m_hat * sqrt(v_hat) instead of "
     "lr * m_hat / (sqrt(v_hat) + eps). On the bump loss every |g| = 1, so v_hat = 1 exactly and the "
     "two agree: its numbers stand, its formula does not (it would be wrong on any other loss)."),
    ("Q2A, k-means 'accuracy'", "It compared raw cluster ids with digit labels and reported 6-7%. "
     "Cluster ids are arbitrary names: a perfect clustering can score 0% that way. Matching clusters "
     "to digits with the Hungarian algorithm (and NMI, ARI) measures the clustering."),
    ("Q2A, ReLU on the latent", "A ReLU on the latent layer switches some units off for every input "
     "(dead units), wasting code dimensions; a linear latent keeps them."),
    ("Q2B, the blur", "cv2.GaussianBlur(image, (5, 5), cv2.BORDER_DEFAULT) passes BORDER_DEFAULT (= 4) "
     "as sigmaX: the blur was a 5x5 Gaussian with sigma 4, not the 'default' blur it meant."),
    ("Q2B, dis_net's last layer", "Dense(1, activation='softmax') is a softmax over one unit: exp(z)/exp(z) "
     "= 1 for every input, and its gradient is exactly 0. Every image got the same answer, 1 ('blurred', "
     "with blurred = 1 and clear = 0), and no weight could learn, so its verdicts measured nothing. "
     "scratchnet's dis_net ends in one logit with BCE-with-logits."),
]


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("question", choices=(*QUESTIONS, "all"), help="which question to run")
    parser.add_argument("--quick", action="store_true", help="few epochs on subsamples (minutes on 2 cores)")
    add_common_options(parser, "runs/assignment")
    return parser


def captured(main, argv, written=None, shown=None):
    """Run an example's ``main(argv)``, returning (its result, what it printed) and echoing the print;
    paths under ``written`` (the run's temporary folder) are shown under ``shown`` (where they end up)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = main(argv)
    text = buffer.getvalue() if written is None else buffer.getvalue().replace(str(written), str(shown))
    print(text, end="")
    return result, text


def command(script, argv, written=None, shown=None):
    """The shell command that runs ``examples/<script>`` with ``argv``, for the report; paths under the
    folder ``written`` (the run's temporary folder) are shown under ``shown`` (where they end up)."""
    if written is not None:
        argv = [arg.replace(str(written), str(shown)) for arg in argv]
    return shlex.join(["python", f"examples/{script}", *argv])


def q1_sections(out, run, report, metrics, final_out):
    """Q1A, Q1B and the phase plot, each opening with its key table or figures, then the command and
    what it printed, folded (``final_out``: where ``out``'s files end up, for the commands shown)."""
    if any(question.startswith("q1") for question in run):
        report.heading("Q1: a bump between two minima", 2)
    if "q1a" in run:
        q1a_section(report, metrics)
    if "q1b" in run:
        q1b_section(report, metrics)
    if "q1phase" in run:
        q1phase_section(out, report, metrics, final_out)


def printed(report, command_line, text):
    """The command that ran and its printed output, folded away below a section's key results."""
    with report.details("The command and what it printed"):
        report.paragraph(f"Command: {command_line}")
        report.code(text)


def q1a_section(report, metrics):
    result, text = captured(q1a_gd.main, [])
    run = result["trajectory"]
    metrics["q1a"] = {"xs": [round(x, 4) for x in run.xs[1:]], "stuck": "stuck" in text}
    report.heading("Q1A: gradient descent on the bump", 3)
    report.paragraph("From x0 = 0 with lr 0.3, the assignment's table beside scratchnet's (the gradient from autograd):")
    report.table(["step", "x, assignment", "x, scratchnet", "loss, assignment", "loss, scratchnet"],
                 [[step, x_then, f"{x:.4f}", loss_then, f"{loss:.4f}"] for step, ((x_then, loss_then), x, loss)
                  in enumerate(zip(ASSIGNMENT_Q1A, run.xs[1:], run.losses[1:]), 1)])
    report.paragraph(result["message"])
    printed(report, command("q1a_gd.py", []), text)


def q1b_section(report, metrics):
    result, text = captured(q1b_adam.main, [])
    metrics["q1b"] = {key: result[key] for key in ("max_x", "h_overshoot", "h_bisection", "agree")}
    report.heading("Q1B: Adam overshoots, so it escapes a low bump", 3)
    report.table(["", "assignment", "scratchnet"],
                 [["largest x reached", "1.4102", f"{result['max_x']:.4f}"],
                  ["tallest bump escaped, h* = max x - 1", "0.41", f"{result['h_overshoot']:.4f}"],
                  ["h* by bisection on the full loss", "", f"{result['h_bisection']:.4f}"]])
    printed(report, command("q1b_adam.py", []), text)


def q1phase_section(out, report, metrics, final_out):
    folder = out / "q1"
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["--out", str(folder / "critical_height.png"), "--loss-plot", str(folder / "loss.png")]
    result, text = captured(q1_phase.main, argv, out, final_out)
    metrics["q1phase"] = {name: float(h) for name, h in result["marked"].items()}
    report.heading("Beyond the assignment: critical bump height against learning rate", 3)
    report.image(folder / "critical_height.png", "Largest bump each optimizer escapes, by learning rate")
    report.image(folder / "loss.png", "The bump loss and the two optimizers' paths")
    printed(report, command("q1_phase.py", argv, out, final_out), text)


def q2_section(name, script, out, args, report, metrics):
    argv = ["--out", str(out / name), "--seed", str(args.seed)]
    argv += ["--quick"] if args.quick else []
    argv += ["--quiet"] if args.quiet else []
    section_metrics, section_report = script.main(argv)
    metrics[name] = section_metrics
    report.extend(section_report, level_shift=1)


def main(argv=None):
    """Run the questions the command line ``argv`` asks for; returns ``(metrics, report)``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with open_run(parser, args.out, args.force, script=Path(__file__).name) as out:  # checks --out first
        metrics, report = run_questions(args, argv, out)
    report.relocate(out, args.out)  # its figures are there now
    print(f"report: {(args.out / 'report.html').resolve()}  ({metrics['seconds']:.0f} s)")
    return metrics, report


def run_questions(args, argv, out):
    """Every question asked for, each into a sub-folder of ``out``, and the combined report."""
    run = QUESTIONS if args.question == "all" else (args.question,)
    steps = Steps(quiet=args.quiet)
    started = time.perf_counter()
    mode = "quick mode (few epochs on subsamples)" if args.quick else "full run"
    report = Report("scratchnet: the assignment reproduced")
    report.paragraph(f"Produced by: python examples/assignment.py {' '.join(argv if argv is not None else sys.argv[1:])}"
                     f" ({mode}, backend {backend.name}, seed {args.seed}).")
    metrics = {"mode": "quick" if args.quick else "full", "backend": backend.name, "seed": args.seed}

    with steps.step("Q1: the bump"):
        q1_sections(out, run, report, metrics, args.out)
    if "q2a" in run:
        with steps.step("Q2A: MNIST autoencoders"):
            q2_section("q2a", q2a_autoencoders, out, args, report, metrics)
    if "q2b" in run:
        with steps.step("Q2B: deblurring and dis_net"):
            q2_section("q2b", q2b_deblur, out, args, report, metrics)

    report.heading("What the assignment got wrong", 2)
    report.table(["where", "what, and the fix"], ASSIGNMENT_MISTAKES)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    metrics["step_seconds"] = steps.times
    write_json(out / "metrics.json", metrics)
    report.write_markdown(out / "report.md")
    report.write_html(out / "report.html")
    return metrics, report


if __name__ == "__main__":
    run_script(main)
