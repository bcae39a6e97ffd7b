"""The one-command runner: a question into one self-contained report; output folders are protected."""

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def assignment():
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("assignment", EXAMPLES / "assignment.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_q1_questions_make_one_self_contained_report(assignment, tmp_path, capsys):
    out = tmp_path / "run"
    metrics, report = assignment.main(["q1phase", "--out", str(out), "--quiet"])
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2  # the loss picture and the phase plot, embedded
    assert "What the assignment got wrong" in html and "one unit" in html
    assert set(metrics["q1phase"]) == {"gd", "momentum", "adam"}
    assert (out / "metrics.json").exists() and (out / "report.md").exists()
    assert "report: " in capsys.readouterr().out
    # the command the report names is the one that ran
    ran = shlex.join(["python", "examples/q1_phase.py", "--out", str(out / "q1" / "critical_height.png"),
                      "--loss-plot", str(out / "q1" / "loss.png")])
    assert f"Command: {ran}" in (out / "report.md").read_text()


def test_q1b_numbers_reach_the_report(assignment, tmp_path):
    metrics, _ = assignment.main(["q1b", "--out", str(tmp_path / "q1b"), "--quiet"])
    assert round(metrics["q1b"]["max_x"], 4) == 1.4102 and metrics["q1b"]["agree"]


def test_existing_results_are_not_overwritten_without_force(assignment, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        assignment.main(["q1a", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_question_is_a_one_line_error(assignment, capsys):
    with pytest.raises(SystemExit):
        assignment.main(["q3"])
    assert "invalid choice" in capsys.readouterr().err
