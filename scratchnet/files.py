"""Files: writing one so that nobody ever sees half of it (``atomic_write``), and reading an
``.npz`` archive (``load_npz``) with what a damaged one can raise (``UNREADABLE_NPZ``).

The bytes go to a temporary file in the target's own folder, are flushed to the disk, and only then
is that file renamed over the target (``os.replace``). A rename within one folder is atomic: a
reader, or the next run after a crash, finds the old file or the new one, never a torn one.
"""

import contextlib
import glob
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

from . import backend

# What np.load raises for a damaged or foreign npz (cut off, bad CRC, missing member, pickled array).
UNREADABLE_NPZ = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)

_UMASK = os.umask(0)  # reading the umask means setting it: once, at import
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK  # the mode open() gives a new file (a temporary file gets 0o600)


def load_npz(path):
    """``np.load(path, allow_pickle=False)`` for an npz archive (no code runs); a single ``.npy`` is a ValueError."""
    loaded = backend.np.load(path, allow_pickle=False)
    if not hasattr(loaded, "files"):
        raise ValueError(f"{path} holds a single array (an .npy file), not an npz archive")
    return loaded


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """``with atomic_write(path, mode) as handle:`` writes ``path`` all at once or not at all.
    ``mode``: ``"wb"`` (bytes) or ``"w"`` (UTF-8 text). A missing folder is created."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the file {str(path)!r}: it is a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                            delete=False, encoding="utf-8" if mode == "w" else None)
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
    """Delete the ``.<name>.<random>.tmp`` files that writes of ``path`` killed halfway left beside it."""
    path = Path(path)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        leftover.unlink(missing_ok=True)
