"""One array backend: only scratchnet/backend.py may import numpy or cupy. Every other module reaches
arrays through ``backend.xp`` (device work) or ``backend.np`` (host-side NumPy), so that switching
the backend switches everything and a stray ``np.asarray`` on a GPU array cannot creep in."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scratchnet"
ALLOWED = {PACKAGE / "backend.py"}
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx"}


def array_imports(source, filename="<string>"):
    """(line, statement) for every import of an array library in ``source``, at any depth
    (module level, inside functions, under ``if``/``try``). Relative imports are scratchnet's own."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in ARRAY_LIBRARIES for name in names):
            found.append((node.lineno, ast.unparse(node)))
    return found


def xp_copies(source, filename="<string>"):
    """Imports of ``xp`` or ``name`` out of the backend: a copy that ``backend.use`` cannot update."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        from_backend = isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "backend"
        if from_backend and any(alias.name in ("xp", "name") for alias in node.names):
            found.append((node.lineno, ast.unparse(node)))
    return found


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found():
    assert PACKAGE / "tensor.py" in modules() and PACKAGE / "backend.py" in modules()


@pytest.mark.parametrize("path", [p for p in modules() if p not in ALLOWED],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_backend_imports_numpy_or_cupy(path):
    source = path.read_text(encoding="utf-8")
    offenders = array_imports(source, str(path))
    assert not offenders, (f"{path.relative_to(PACKAGE.parent)} imports an array library directly: {offenders}; "
                           "use backend.xp (device arrays) or backend.np (host-side NumPy) instead")
    copies = xp_copies(source, str(path))
    assert not copies, f"{path.relative_to(PACKAGE.parent)} copies the backend's xp at import: {copies}"


def test_the_backend_does_import_numpy():
    assert array_imports((PACKAGE / "backend.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", [
    "import numpy as np",
    "import numpy",
    "import numpy.random",
    "from numpy import asarray",
    "from numpy.lib import stride_tricks",
    "import cupy",
    "import os, cupy as cp",
    "from cupyx.scipy import ndimage",
    "def f():\n    import numpy as np\n    return np",
    "try:\n    import cupy\nexcept ImportError:\n    cupy = None",
])
def test_the_checker_catches(source):
    assert array_imports(source)


@pytest.mark.parametrize("source", [
    "from . import backend",
    "from .backend import np as host_numpy",
    "import numbers",
    "from numpy_financial import npv",
    "x = 'import numpy'",
    "# import numpy",
])
def test_the_checker_lets_through(source):
    assert not array_imports(source)


def test_the_xp_copy_checker():
    assert xp_copies("from .backend import xp")
    assert xp_copies("from scratchnet.backend import name, to_numpy")
    assert not xp_copies("from .backend import to_numpy, manual_seed")


def test_the_package_needs_numpy_alone():
    """Every scratchnet module imports in a Python where the examples' libraries cannot be imported."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    blocked = ["sklearn", "scipy", "matplotlib", "cv2", "tqdm", "torch", "cupy", "hypothesis", "pytest", "coursework"]
    names = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in modules()]
    names = [name.removesuffix(".__init__") for name in names]
    code = (f"import sys\nfor name in {blocked!r}: sys.modules[name] = None  # import now raises ImportError\n"
            f"import importlib\nfor name in {names!r}: importlib.import_module(name)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "SCRATCHNET_BACKEND": "numpy"}, timeout=120)
    assert result.returncode == 0, result.stderr
    requirements = (PACKAGE.parent / "setup.cfg").read_text().split("install_requires =")[1].split("\n\n")[0]
    assert requirements.split() == ["numpy>=1.26"]
