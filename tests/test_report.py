"""Tests for coursework.report's file writers."""

import json

import numpy as np
from coursework.report import Report, write_atomic, write_json


def test_write_json_writes_standard_json(tmp_path):
    """A diverged run's NaN must not make metrics.json unreadable: JSON has no NaN, so it becomes null."""
    path = write_json(tmp_path / "metrics.json", {
        "loss": float("nan"), "scale": np.float32(1.5), "curve": np.array([0.5, np.inf]), "pair": (1, "x"),
        "count": np.int64(3), "nested": {"ok": -float("inf")},
    })
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "scale": 1.5, "curve": [0.5, None], "pair": [1, "x"], "count": 3,
                                "nested": {"ok": None}}


def test_write_atomic_takes_text_and_bytes(tmp_path):
    assert write_atomic(tmp_path / "a.md", "# title\n").read_text() == "# title\n"
    assert write_atomic(tmp_path / "b.png", b"\x89PNG").read_bytes() == b"\x89PNG"


def test_relocate_points_the_images_to_where_the_results_moved(tmp_path):
    report = Report("r")
    report.image(tmp_path / "partial" / "q1" / "loss.png", "loss")
    report.image(tmp_path / "elsewhere.png", "kept")
    report.relocate(tmp_path / "partial", tmp_path / "run")
    assert [block[1] for block in report.blocks] == [tmp_path / "run" / "q1" / "loss.png", tmp_path / "elsewhere.png"]


def test_details_fold_away_what_is_added_inside(tmp_path):
    report = Report("r")
    report.paragraph("shown")
    with report.details("per-model heatmaps"):
        report.paragraph("folded")
    report.paragraph("shown again")
    html = report.to_html()
    assert html.index("<details><summary>per-model heatmaps</summary>") < html.index("folded") < \
        html.index("</details>") < html.index("shown again")
    assert "<details open" not in html  # folded until the reader opens it
    markdown = report.to_markdown(tmp_path)
    assert markdown.index("<details><summary>per-model heatmaps</summary>") < markdown.index("folded") < \
        markdown.index("</details>") < markdown.index("shown again")


def test_extend_and_relocate_keep_the_details(tmp_path):
    question = Report("Q2A")
    with question.details("heatmaps"):
        question.heading("k-means", 2)
        question.image(tmp_path / "partial" / "heat.png", "heat")
    combined = Report("all")
    combined.extend(question)
    combined.relocate(tmp_path / "partial", tmp_path / "run")
    assert combined.blocks == [("h", 2, "Q2A"), ("details", "heatmaps"), ("h", 3, "k-means"),
                               ("img", tmp_path / "run" / "heat.png", "heat"), ("end_details",)]
