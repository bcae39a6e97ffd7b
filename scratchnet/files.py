"""Files: writing one so that nobody ever sees half of it (``atomic_write``), and what reading a
damaged ``.npz`` can raise (``UNREADABLE_NPZ``).

A checkpoint, the MNIST cache and an experiment's report are all written the same way. The bytes
go to a temporary file in the target's own folder; only once they are complete, and flushed to the
disk, is that file renamed over the target (``os.replace``). A rename within one folder is atomic:
a reader, or the next run after a crash, finds the old file or the new one, never a torn one. If
anything fails on the way, the temporary file is removed and the old file is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

# What NumPy's np.load and the arrays it hands out can raise for a damaged or foreign npz (a zip of
# .npy files): a cut-off or non-zip file, a bad CRC or deflate stream, a missing member, or an array
# that would need pickle.
UNREADABLE_NPZ = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _default_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the umask (the temporary file starts 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
        os.chmod(temporary.name, _default_file_mode())
        os.replace(temporary.name, path)
    except BaseException:
        Path(temporary.name).unlink(missing_ok=True)
        raise
