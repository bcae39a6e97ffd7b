"""The line budget (after tinygrad's sz.py): every line counts, docstrings, comments and blanks too.

- the autograd part (tensor.py, ops/, functional.py, nn/, losses.py, optim.py): at most 1,200 lines;
- the whole scratchnet package: at most 2,400 lines.

On failure, and with ``pytest -s``, each file's count is printed, largest first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scratchnet"
AUTOGRAD = ("tensor.py", "ops", "functional.py", "nn", "losses.py", "optim.py")
BUDGETS = {"autograd": (AUTOGRAD, 1_200), "package": ((".",), 2_400)}


def line_counts(parts):
    """{path relative to the package: number of lines} for every .py file under ``parts``."""
    files = []
    for part in parts:
        path = PACKAGE / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return {str(f.relative_to(PACKAGE)): len(f.read_text(encoding="utf-8").splitlines()) for f in files}


def report(name, counts, limit):
    rows = [f"{lines:6,}  {path}" for path, lines in sorted(counts.items(), key=lambda item: -item[1])]
    return "\n".join([f"{name}: {sum(counts.values()):,} lines (budget {limit:,})", *rows])


@pytest.mark.parametrize("name", BUDGETS)
def test_line_budget(name):
    parts, limit = BUDGETS[name]
    counts = line_counts(parts)
    print("\n" + report(name, counts, limit))
    assert sum(counts.values()) <= limit, report(name, counts, limit)


def test_the_count_sees_every_autograd_file():
    counts = line_counts(AUTOGRAD)
    assert {"tensor.py", "functional.py", "losses.py", "optim.py", "ops/conv.py", "nn/module.py"} <= set(counts)
    assert all(lines > 0 for lines in counts.values())
    assert sum(line_counts(("tensor.py",)).values()) == len((PACKAGE / "tensor.py").read_text().splitlines())
