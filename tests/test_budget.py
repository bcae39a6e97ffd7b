"""The line budget (after tinygrad's sz.py): every line counts, docstrings, comments and blanks too.

- the autograd part (tensor.py, ops/, functional.py, nn/, losses.py, optim.py): at most 1,200 lines;
- the whole scratchnet package: at most 2,400 lines;
- each file directly in examples/: at most 200 lines (q1a_gd.py and q1b_adam.py: 60), no function over 50.

On failure, and with ``pytest -s``, each file's count is printed, largest first.
"""

from __future__ import annotations

import ast
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


# ---------------------------------------------------------------------------------------------------
# The examples are lessons: short files, short functions
# ---------------------------------------------------------------------------------------------------

EXAMPLES = PACKAGE.parent / "examples"
EXAMPLE_LIMITS = {"q1a_gd.py": 60, "q1b_adam.py": 60}  # every other file directly in examples/: 200
FUNCTION_LIMIT = 50


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_each_example_is_a_short_lesson(path):
    source = path.read_text(encoding="utf-8")
    limit = EXAMPLE_LIMITS.get(path.name, 200)
    assert len(source.splitlines()) <= limit, f"{path.name}: {len(source.splitlines())} lines (at most {limit})"
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > FUNCTION_LIMIT]
    assert not long, f"{path.name}: functions over {FUNCTION_LIMIT} lines: {long}"


def test_the_examples_are_found():
    assert {"q1a_gd.py", "q1b_adam.py", "q2a_autoencoders.py", "q2b_deblur.py"} <= {p.name for p in EXAMPLES.glob("*.py")}
