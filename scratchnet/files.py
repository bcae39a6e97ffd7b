"""Files: writing one so that nobody ever sees half of it (``atomic_write``), and reading an
``.npz`` archive (``load_npz``) with what a damaged one can raise (``UNREADABLE_NPZ``).

A checkpoint, the MNIST cache and an experiment's report are all written the same way. The bytes
go to a temporary file in the target's own folder; only once they are complete, and flushed to the
disk, is that file renamed over the target (``os.replace``). A rename within one folder is atomic:
a reader, or the next run after a crash, finds the old file or the new one, never a torn one. If
anything fails on the way, the temporary file is removed and the old file is left as it was.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

from . import backend

# What NumPy's np.load and the arrays it hands out can raise for a damaged or foreign npz (a zip of
# .npy files): a cut-off or non-zip file, a bad CRC or deflate stream, a missing member, or an array
# that would need pickle.
UNREADABLE_NPZ = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _umask() -> int:
    """The process's umask. Reading it means setting it, so this runs once, at import: a thread
    creating a file between the two calls would get umask 0."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


# The mode open() gives a new file (the temporary file starts at 0o600: private).
_FILE_MODE = 0o666 & ~_umask()


def load_npz(path):
    """``np.load(path, allow_pickle=False)`` for an npz archive (loading runs no code). Raises one of
    ``UNREADABLE_NPZ``: ValueError for a file that holds a single ``.npy`` array instead."""
    loaded = backend.np.load(path, allow_pickle=False)
    if not hasattr(loaded, "files"):
        raise ValueError(f"{path} holds a single array (an .npy file), not an npz archive")
    return loaded


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """``with atomic_write(path) as handle: ...`` writes ``path`` all at once or not at all.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (text, UTF-8). The folder is created if missing. Raises
    ``IsADirectoryError`` naming ``path`` if it is a folder.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the file {str(path)!r}: it is a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                            delete=False, **({"encoding": "utf-8"} if mode == "w" else {}))
    try:
        with temporary:
            yield temporary
            temporary.flush()
            os.fsync(temporary.fileno())  # on the disk before the rename makes it visible
        os.chmod(temporary.name, _FILE_MODE)
        os.replace(temporary.name, path)
    except BaseException:
        Path(temporary.name).unlink(missing_ok=True)
        raise


def remove_leftovers(path):
    """Delete the temporary files that writes of ``path`` killed halfway left beside it: the
    ``.<name>.<random>.tmp`` of ``atomic_write`` (an interrupted write cannot remove its own)."""
    path = Path(path)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        leftover.unlink(missing_ok=True)
