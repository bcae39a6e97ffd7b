"""Tests for coursework.report's file writers."""

import json
import re
from html.parser import HTMLParser

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


class _Links(HTMLParser):
    """The ids, the in-page links (href="#...") and the table cells' classes of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.cells = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids += [attrs["id"]] if "id" in attrs else []
        self.links += [attrs["href"][1:]] if attrs.get("href", "").startswith("#") else []
        self.cells += [(tag, attrs.get("class"))] if tag in ("td", "th") else []


def _two_questions():
    """A combined report as assignment.py makes it: sections, one taken in by extend, a folded part."""
    question = Report("Q2A: autoencoders")
    question.heading("Test L1", 2)
    with question.details("Per-model heatmaps"):
        question.heading("k-means on latent 2", 3)
    question.heading("Test L1", 2)  # a repeated heading gets its own anchor
    combined = Report("The assignment")
    combined.heading("Q1A: gradient descent", 2)
    combined.extend(question)
    combined.table(["where", "what, and the fix"], [["Q1B", "Adam's update"], ["Q2B", "the blur"]])
    combined.table(["model", "test L1", "accuracy"], [["latent 2", 0.119, "98.7%"], ["latent 16", "0.08", "-"]])
    return combined


def test_contents_link_to_every_section_and_its_subsections_but_not_to_folded_ones():
    contents = _two_questions().contents()
    assert [(depth, text) for depth, text, _ in contents] == [
        (0, "Q1A: gradient descent"), (0, "Q2A: autoencoders"), (1, "Test L1"), (1, "Test L1")]
    assert contents[2][2] != contents[3][2]


def test_html_contents_links_resolve_to_ids_on_the_page():
    page = _Links()
    page.feed(_two_questions().to_html())
    assert len(page.links) == 4 and set(page.links) <= set(page.ids)
    assert len(page.ids) == len(set(page.ids))  # every anchor names one place


def test_markdown_contents_link_to_githubs_anchors_of_the_headings(tmp_path):
    markdown = _two_questions().to_markdown(tmp_path)
    links = re.findall(r"^\s*- \[[^\]]*\]\(#([^)]+)\)$", markdown, flags=re.MULTILINE)
    assert links == ["q1a-gradient-descent", "q2a-autoencoders", "test-l1", "test-l1-1"]
    assert markdown.count("\n## Q2A: autoencoders\n") == 1 and markdown.count("\n### Test L1\n") == 2


def test_prose_is_left_aligned_and_numbers_right_aligned(tmp_path):
    report = _two_questions()
    page = _Links()
    page.feed(report.to_html())
    assert page.cells[:6] == [("th", None)] * 2 + [("td", None)] * 4  # the prose table: no right alignment
    assert page.cells[6:9] == [("th", None), ("th", "num"), ("th", "num")]
    assert "text-align:left" in report.to_html() and ".num{text-align:right" in report.to_html()
    assert "|:---|:---|\n" in report.to_markdown(tmp_path) and "|:---|---:|---:|\n" in report.to_markdown(tmp_path)


def test_a_wide_table_scrolls_inside_its_box_and_figures_fit_the_page():
    page = _two_questions().to_html()
    assert page.count("<div class='scroll'><table>") == 2 and ".scroll{overflow-x:auto" in page
    assert "img{max-width:100%" in page and "max-width:56em" in page
