"""The one-command runner: a question into one self-contained report; output folders are protected."""

import importlib.util
import re
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
    assert ".partial-" not in (out / "report.md").read_text()  # paths as they are once the run is done


def test_q1b_numbers_reach_the_report(assignment, tmp_path):
    metrics, _ = assignment.main(["q1b", "--out", str(tmp_path / "q1b"), "--quiet"])
    assert round(metrics["q1b"]["max_x"], 4) == 1.4102 and metrics["q1b"]["agree"]


def test_a_question_opens_with_its_key_table_and_folds_what_the_script_printed(assignment, tmp_path):
    metrics, report = assignment.main(["q1b", "--out", str(tmp_path / "q1b"), "--quiet"])
    start = report.blocks.index(("h", 3, "Q1B: Adam overshoots, so it escapes a low bump"))
    table, details, command, printout, end = report.blocks[start + 1:start + 6]
    assert table[0] == "table" and table[2][0][2] == f"{metrics['q1b']['max_x']:.4f}"
    assert details[0] == "details" and command[1].startswith("Command: ") and printout[0] == "pre"
    assert end == ("end_details",)
    assert [text for _, text, _ in report.contents()] == [
        "Q1: a bump between two minima", "Q1B: Adam overshoots, so it escapes a low bump",
        "What the assignment got wrong"]
    page = (tmp_path / "q1b" / "report.html").read_text()
    assert all(f"href='#{anchor}'" in page and f"id='{anchor}'" in page for _, _, anchor in report.contents())


def test_a_folder_of_the_users_is_never_written_into(assignment, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for force in ([], ["--force"]):
        with pytest.raises(SystemExit) as exit_info:
            assignment.main(["q1a", "--out", str(out), *force])
        assert exit_info.value.code == 2
        assert "not the results of an earlier run" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_force_replaces_the_earlier_report_and_keeps_the_users_files(assignment, tmp_path, capsys):
    out = tmp_path / "run"
    assignment.main(["q1b", "--out", str(out), "--quiet"])
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        assignment.main(["q1b", "--out", str(out), "--quiet"])
    assert exit_info.value.code == 2 and "pass --force" in capsys.readouterr().err
    assignment.main(["q1a", "--out", str(out), "--quiet", "--force"])
    assert "Q1A: gradient descent" in (out / "report.md").read_text()
    assert "Q1B: Adam overshoots" not in (out / "report.md").read_text()
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left


def test_the_seed_has_the_examples_range(assignment, tmp_path, capsys):
    for seed in ("-1", str(2**32)):
        with pytest.raises(SystemExit) as exit_info:
            assignment.main(["q1a", "--seed", seed, "--out", str(tmp_path / "x")])
        assert exit_info.value.code == 2 and "argument --seed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_unknown_question_is_a_one_line_error(assignment, capsys):
    with pytest.raises(SystemExit):
        assignment.main(["q3"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_a_question_run_inside_the_assignment_keeps_its_figures_in_the_report(assignment, tmp_path, monkeypatch):
    """Q2A writes into a temporary folder inside the assignment's temporary folder; both move, and the
    combined report still finds every figure."""
    pytest.importorskip("sklearn")
    from test_q2a import _fake_mnist  # here: importing test_q2a at the top would need scikit-learn for every test

    monkeypatch.setattr(assignment.q2a_autoencoders, "load_mnist", lambda *args, **kwargs: _fake_mnist())
    out = tmp_path / "demo"
    assignment.main(["q2a", "--quick", "--out", str(out), "--quiet"])
    markdown = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links and all((out / link).is_file() for link in links) and all(link.startswith("q2a/") for link in links)
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(links)
    assert ".partial-" not in markdown and sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
