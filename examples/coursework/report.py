"""A tiny report writer shared by the experiments: collect headings, text, tables and figures, then
write them as Markdown (``report.md``, images linked) and as one self-contained HTML file (images
embedded as base64), and the numbers as ``metrics.json``. Files are written atomically."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import os
import re
from pathlib import Path

from scratchnet.files import atomic_write


@contextlib.contextmanager
def writing(path, mode="w"):
    """``scratchnet.files.atomic_write(path, mode)``: ``path`` is written all at once or not at all. An
    ``OSError`` that names no file (a full disk) is raised again naming ``path``."""
    try:
        with atomic_write(path, mode) as handle:
            yield handle
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error


def write_atomic(path, data: bytes | str) -> Path:
    """Write ``data`` (bytes or text) to ``path`` all at once (``writing``), so a reader never sees a
    half-written file."""
    with writing(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    return Path(path)


def _json_ready(value):
    """``value`` with NumPy scalars and arrays as Python numbers and lists, and NaN and infinities as
    None: JSON has no such numbers, and a file with ``NaN`` in it is rejected by most JSON readers."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def write_json(path, data) -> Path:
    """``data`` as indented, standard JSON (see ``_json_ready``: a diverged run's NaN loss is null)."""
    return write_atomic(path, json.dumps(_json_ready(data), indent=2, allow_nan=False) + "\n")


class Report:
    """An ordered list of blocks: ("h", level, text), ("p", text), ("table", headers, rows),
    ("pre", text), ("img", path, caption), and ("details", summary) ... ("end_details",) around
    blocks folded away (see ``details``)."""

    def __init__(self, title: str):
        self.title = title
        self.blocks = []

    def heading(self, text, level=2):
        self.blocks.append(("h", level, text))

    def paragraph(self, text):
        self.blocks.append(("p", text))

    def table(self, headers, rows):
        self.blocks.append(("table", list(headers), [list(r) for r in rows]))

    def image(self, path, caption=""):
        self.blocks.append(("img", Path(path), caption))

    def code(self, text):
        """Preformatted text, such as a script's printed output."""
        self.blocks.append(("pre", text))

    @contextlib.contextmanager
    def details(self, summary):
        """Fold away what is added inside the ``with``: in HTML a ``<details>`` element that opens
        on a click on ``summary``, in Markdown the same tags (GitHub renders them)."""
        self.blocks.append(("details", summary))
        try:
            yield self
        finally:
            self.blocks.append(("end_details",))

    def extend(self, other: Report, level_shift=1):
        """Append another report's blocks, its title as a heading (for the combined report)."""
        self.heading(other.title, 1 + level_shift)
        for block in other.blocks:
            self.blocks.append(("h", block[1] + level_shift, block[2]) if block[0] == "h" else block)

    def relocate(self, old_folder, new_folder):
        """Point the images under ``old_folder`` to the same names under ``new_folder`` (the results
        were moved there; see ``run_folder``). Returns the report."""
        old_folder, new_folder = Path(old_folder), Path(new_folder)
        self.blocks = [("img", new_folder / block[1].relative_to(old_folder), block[2])
                       if block[0] == "img" and block[1].is_relative_to(old_folder) else block
                       for block in self.blocks]
        return self

    # ----- contents --------------------------------------------------------------------------------
    def anchors(self) -> list[str]:
        """The link target of the title and of each heading, in order: GitHub's anchors for them in
        ``report.md``, and the same ids in ``report.html``."""
        taken = set()
        return [_anchor(text, taken) for text in [self.title] + [b[2] for b in self.blocks if b[0] == "h"]]

    def contents(self) -> list[tuple[int, str, str]]:
        """``(depth, text, anchor)`` for the table of contents: the sections (level 2, depth 0) and
        their subsections (level 3, depth 1), leaving out headings folded away in ``details``."""
        entries, folded, anchors = [], 0, iter(self.anchors()[1:])
        for block in self.blocks:
            folded += {"details": 1, "end_details": -1}.get(block[0], 0)
            if block[0] == "h":
                anchor = next(anchors)
                if not folded and block[1] in (2, 3):
                    entries.append((block[1] - 2, block[2], anchor))
        return entries if len(entries) > 1 else []  # one section needs no contents

    # ----- Markdown -------------------------------------------------------------------------------
    def to_markdown(self, relative_to) -> str:
        lines = [f"# {self.title}", ""]
        contents = self.contents()
        if contents:
            lines += ["  " * depth + f"- [{text}](#{anchor})" for depth, text, anchor in contents] + [""]
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "p":
                lines += [block[1], ""]
            elif kind == "table":
                headers, rows = block[1], block[2]
                lines.append("| " + " | ".join(map(str, headers)) + " |")
                numeric = _numeric_columns(rows) or [False] * len(headers)
                lines.append("|" + "".join("---:|" if right else ":---|" for right in numeric))
                lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
                lines.append("")
            elif kind == "pre":
                lines += ["```", block[1].rstrip("\n"), "```", ""]
            elif kind == "img":
                rel = os.path.relpath(block[1], relative_to)
                lines += [f"![{block[2]}]({rel})", f"*{block[2]}*" if block[2] else "", ""]
            elif kind == "details":  # the blank line lets Markdown inside the tags render
                lines += [f"<details><summary>{html.escape(block[1])}</summary>", ""]
            elif kind == "end_details":
                lines += ["</details>", ""]
        return "\n".join(lines)

    def write_markdown(self, path) -> Path:
        path = Path(path)
        return write_atomic(path, self.to_markdown(path.parent))

    # ----- HTML -----------------------------------------------------------------------------------
    def to_html(self) -> str:
        anchors = iter(self.anchors())
        parts = ["<!doctype html><html><head><meta charset='utf-8'>",
                 "<meta name='viewport' content='width=device-width, initial-scale=1'>",
                 f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>",
                 f"<h1 id='{next(anchors)}'>{html.escape(self.title)}</h1>", _html_contents(self.contents())]
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                parts.append(f"<h{block[1]} id='{next(anchors)}'>{html.escape(block[2])}</h{block[1]}>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "table":
                parts.append(_html_table(block[1], block[2]))
            elif kind == "pre":
                parts.append(f"<pre>{html.escape(block[1])}</pre>")
            elif kind == "img":
                data = base64.b64encode(Path(block[1]).read_bytes()).decode("ascii")
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(block[2])}'>"
                             f"<figcaption>{html.escape(block[2])}</figcaption></figure>")
            elif kind == "details":
                parts.append(f"<details><summary>{html.escape(block[1])}</summary>")
            elif kind == "end_details":
                parts.append("</details>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write_html(self, path) -> Path:
        return write_atomic(path, self.to_html())


# Readable from a phone to a wide screen: text at most ~50em wide, figures scaled down to fit, wide
# tables and code scroll sideways inside their own box instead of widening the page.
STYLE = (
    "body{font-family:sans-serif;max-width:56em;margin:2em auto;padding:0 1em;line-height:1.45}"
    "p,li,td{overflow-wrap:break-word}"
    ".scroll{overflow-x:auto;margin:1em 0}table{border-collapse:collapse}"
    "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#eee}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "img{max-width:100%;height:auto}figure{margin:1em 0}figcaption{color:#555;font-size:90%}"
    "nav{background:#f6f6f6;padding:.5em 1em;margin:1em 0}nav ul{margin:.2em 0;padding-left:1.4em}"
    "details{margin:1em 0;padding:0 .8em;border-left:3px solid #ccc}summary{cursor:pointer;padding:.3em 0}"
    "code{background:#f4f4f4}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:85%}"
)

NUMBER = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*%?|[-+]?(nan|inf)|-|")


def _numeric_columns(rows) -> list[bool]:
    """For each column, whether every cell is a number (or a number as text, such as ``0.119`` or
    ``98.7%``): those are right-aligned so their digits line up, prose is left-aligned."""
    columns = zip(*rows) if rows else []
    return [all(isinstance(cell, int | float) or NUMBER.fullmatch(str(cell).strip()) for cell in column)
            and any(str(cell).strip() not in ("", "-") for cell in column) for column in columns]


def _html_table(headers, rows) -> str:
    """A table in a box that scrolls sideways when it is wider than the page."""
    numeric = _numeric_columns(rows) or [False] * len(headers)
    align = [" class='num'" if n else "" for n in numeric]
    head = "".join(f"<th{a}>{html.escape(str(h))}</th>" for h, a in zip(headers, align))
    body = "".join("<tr>" + "".join(f"<td{a}>{html.escape(str(c))}</td>" for c, a in zip(r, align)) + "</tr>"
                   for r in rows)
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _html_contents(entries) -> str:
    """The table of contents as nested lists of links: sections, each with its subsections."""
    sections = []  # ((text, anchor), [(text, anchor) of its subsections])
    for depth, text, anchor in entries:
        if depth and sections:
            sections[-1][1].append((text, anchor))
        else:
            sections.append(((text, anchor), []))

    def link(text, anchor):
        return f"<a href='#{anchor}'>{html.escape(text)}</a>"

    items = "".join(f"<li>{link(*top)}" + (f"<ul>{''.join(f'<li>{link(*sub)}</li>' for sub in subs)}</ul>"
                                           if subs else "") + "</li>" for top, subs in sections)
    return f"<nav><strong>Contents</strong><ul>{items}</ul></nav>" if items else ""


def _anchor(text, taken: set) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; a repeat of
    one already ``taken`` gets ``-1``, ``-2``, ... (added to ``taken``)."""
    base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    anchor, repeat = base, 0
    while anchor in taken:
        repeat += 1
        anchor = f"{base}-{repeat}"
    taken.add(anchor)
    return anchor
