"""Every ```python block in README.md and docs/*.md runs, so the docs cannot drift from the code.

The blocks of one file run in order in one namespace (a later block may use an earlier one's names).
Shell commands in the docs are marked ```bash and are not run here.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path):
    return PYTHON_BLOCK.findall(path.read_text())


DOCS_WITH_CODE = [path for path in DOCS if python_blocks(path)]


@pytest.mark.parametrize("path", DOCS_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(path, monkeypatch):
    blocks = python_blocks(path)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"doc:{path.name}"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{path.name} block {number}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"{path.relative_to(ROOT)}, python block {number} failed: {type(error).__name__}: {error}")


def test_docs_exist():
    names = {p.name for p in DOCS}
    for required in ("autograd.md", "layers.md", "optimizers.md", "experiments.md", "gpu.md"):
        assert required in names, f"docs/{required} is missing"
    assert os.path.exists(ROOT / "README.md")
