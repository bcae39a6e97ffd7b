"""An example's output folder: results are written beside it and moved in when the run is done, and
nothing in it that a run did not write is ever deleted.

    with open_run(parser, args.out, args.force, script="q2a_autoencoders.py") as out:
        ...                    # write every result under ``out``: a temporary folder beside --out

How it works:

1. Before any work (``open_run``), ``--out`` is checked; a refusal is a one-line ``parser.error``.
   ``.``, the home folder, ``/`` and the scratchnet checkout are never an output folder. A folder
   that holds files is accepted only with ``--force``, and only if its manifest (``RUN_MARKER``, a
   JSON file) says that an earlier run of the same script wrote it.
2. The run writes into ``.<name>.partial-<pid>``, a sibling of the folder ``--out`` names (of the
   folder a symbolic link points to, so that it is on the same disk as the results).
3. When the run is done, each new file is renamed into ``--out`` (``os.replace``: atomic for each
   file), the earlier run's files that this run did not write again are deleted, and the manifest is
   rewritten to list this run's files. Other files in ``--out`` (a user's notes) are not touched; if
   one of them stands where a new result goes, the run stops before anything is moved. A kill -9
   leaves its temporary folder behind; the next run beside it removes it.
4. If the run fails or is interrupted, the temporary folder is deleted and ``--out`` is as it was.
   Ctrl-C and ``OSError`` (a full disk, an unwritable path) become ``RunStopped``, whose one-line
   message says what was kept; ``run_script`` prints it and exits with its status (130 for Ctrl-C).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path, PurePosixPath

from scratchnet.files import atomic_write

#: The manifest in every output folder: which script wrote the folder, and which files are its results.
RUN_MARKER = ".scratchnet-run"
#: The scratchnet checkout (this file is ``examples/coursework/run_folder.py`` in it).
CHECKOUT = Path(__file__).resolve().parents[2]
#: Exit status of a program stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_STATUS = 130


class RunStopped(Exception):
    """A run stopped by Ctrl-C or an ``OSError``. ``reason`` says why in a few words (the path, for a
    file that could not be written); ``message`` adds what happened to the output folder; ``status`` is
    the exit status ``run_script`` gives it."""

    def __init__(self, reason: str, kept: str, status: int):
        super().__init__(f"{reason}: {kept}")
        self.reason, self.kept, self.status = reason, kept, status

    @property
    def message(self) -> str:
        return str(self)


def run_script(main) -> None:
    """Call ``main()``; a ``RunStopped`` becomes its one-line message on stderr and its exit status."""
    try:
        main()
    except RunStopped as stop:
        print(stop.message, file=sys.stderr, flush=True)
        sys.exit(stop.status)
    except KeyboardInterrupt:  # before the output folder was opened: nothing was written
        print("interrupted: nothing written", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED_STATUS)


# ----- checks before any work -------------------------------------------------------------------------


def _forbidden(real: Path) -> str | None:
    """What ``real`` (a resolved path) is, if it is a folder no run may write into; else None."""
    named = {CHECKOUT: "the scratchnet checkout", Path("/"): "the root folder",
             Path(os.path.realpath(Path.home())): "your home folder",
             Path(os.path.realpath(os.getcwd())): "the current folder"}  # the last name of a folder wins
    return named.get(real)


def _safe_relative(name) -> bool:
    """Whether a manifest entry is a plain relative path that stays inside the folder."""
    if not isinstance(name, str) or not name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and path.parts[0] != RUN_MARKER


def read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder`` as ``{"script": str, "files": [relative paths]}``, or None if it has
    none, or one that is not a valid manifest (then nothing in it counts as a run's result)."""
    try:
        manifest = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    script, files = manifest.get("script"), manifest.get("files")
    if not isinstance(script, str) or not isinstance(files, list) or not all(map(_safe_relative, files)):
        return None
    return {"script": script, "files": files}


def _check_out(parser, out: Path, real: Path, force: bool, script: str) -> list[str]:
    """Refuse ``out`` (``parser.error``) where a run may not write; else the earlier run's files."""
    what = _forbidden(real)
    if what is not None:
        parser.error(f"--out {out} is {what}; results go in a folder of their own (e.g. --out runs/name)")
    if not real.exists():
        return []
    if not real.is_dir():
        parser.error(f"--out {out} exists and is not a directory")
    if not any(real.iterdir()):
        return []
    manifest = read_manifest(real)
    if manifest is None and (real / RUN_MARKER).exists():
        parser.error(f"--out {out} has a {RUN_MARKER} that lists no files (an older scratchnet wrote it), so "
                     f"nothing there is replaced, even with --force; delete the folder yourself once you have "
                     f"kept what you need, or choose another --out")
    if manifest is None:
        parser.error(f"--out {out} holds files that are not the results of an earlier run (it has no valid "
                     f"{RUN_MARKER}), so nothing is written there, even with --force; choose another --out")
    if manifest["script"] != script:
        parser.error(f"--out {out} holds the results of {manifest['script']}, not of {script}; choose another --out")
    if not force:
        parser.error(f"--out {out} already has results of {script}; pass --force to replace them (files the "
                     f"run did not write stay), or choose another --out")
    return manifest["files"]


def _remove_stale_partials(parent: Path, name: str) -> None:
    """Delete the temporary folders that runs killed outright (no chance to clean up) left beside ``name``."""
    pattern = re.compile(rf"\.{re.escape(name)}\.partial-(\d+)")
    for folder in parent.glob(f".{name}.partial-*"):
        found = pattern.fullmatch(folder.name)
        if found and folder.is_dir() and not folder.is_symlink() and not _process_alive(int(found.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


# ----- the move into place ------------------------------------------------------------------------------


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Hold Ctrl-C back while the block runs (the files move in completely); yields a list that holds
    the signal if one came."""
    caught = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


def _files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if not path.is_dir())


def _inside(real: Path, name: str) -> bool:
    """Whether ``real / name`` is in ``real`` itself: no folder on the way is a link to elsewhere."""
    return Path(os.path.realpath((real / name).parent)) == (real / name).parent


def _in_the_way(real: Path, name: str, earlier: list[str]) -> Path | None:
    """What keeps a new result ``name`` from its place in ``real`` without deleting a file the earlier
    run did not write: that file at the same path, or a file where the result needs a folder."""
    target = real / name
    if name not in earlier and (target.exists() or target.is_symlink()):
        return target
    return next((folder for folder in target.parents if folder != real and real in folder.parents
                 and folder.exists() and not folder.is_dir()), None)


def _write_manifest(folder: Path, script: str, files) -> None:
    note = (f"Written by {script} (scratchnet's examples). The files listed are that run's results: its --force "
            f"replaces them and leaves every other file in this folder alone.")
    with atomic_write(folder / RUN_MARKER, "w") as handle:
        json.dump({"script": script, "files": sorted(files), "note": note}, handle, indent=1)
        handle.write("\n")


def _move_in(staging: Path, real: Path, script: str, earlier: list[str]) -> None:
    """Move the finished results from ``staging`` into ``real``, replacing ``earlier`` (see the module
    docstring, step 3). The manifest is written first listing both runs' files, so that a crash half-way
    leaves every file either run wrote recorded, and never blocks the next --force."""
    new = _files_under(staging)
    for name in new:
        blocking = _in_the_way(real, name, earlier)
        if blocking is not None:
            raise FileExistsError(errno.EEXIST, "a file the earlier run did not write is in the way", str(blocking))
    real.mkdir(parents=True, exist_ok=True)
    _write_manifest(real, script, set(new) | set(earlier))
    for name in new:
        (real / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, real / name)
    for name in sorted(set(earlier) - set(new)):
        if _inside(real, name):
            (real / name).unlink(missing_ok=True)
    for folder in sorted({(real / name).parent for name in earlier}, key=lambda p: len(p.parts), reverse=True):
        if folder != real:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only an emptied folder goes; one with a user's files in it stays
    _write_manifest(real, script, new)


# ----- the run ------------------------------------------------------------------------------------------


def _reason(error: BaseException, staging: Path, out: Path) -> tuple[str, int]:
    """(a few words on why the run stopped, exit status), naming files by where they were going."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", INTERRUPTED_STATUS
    if isinstance(error, RunStopped):
        reason, status = error.reason, error.status
    else:
        where = error.filename if getattr(error, "filename", None) is not None else None
        reason = f"{where}: {error.strerror or error}" if where is not None else f"{error.strerror or error}"
        status = 1
    return reason.replace(str(staging), str(out)), status


@contextlib.contextmanager
def open_run(parser, out, force: bool, script: str):
    """Check ``--out`` (before any work), then yield the temporary folder to write the results into,
    and move them into ``out`` when the block ends; see the module docstring. ``script`` (the example's
    file name) is recorded in the manifest, and only a run of the same script may replace its files."""
    out = Path(out)
    real = Path(os.path.realpath(out))  # a link's target: the results go where it points
    earlier = _check_out(parser, out, real, force, script)
    staging = real.parent / f".{real.name}.partial-{os.getpid()}"
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(real.parent, real.name)
        staging.mkdir()
    except OSError as error:
        in_the_way = next((folder for folder in real.parents if folder.exists() and not folder.is_dir()), None)
        why = f"{in_the_way} is a file, not a folder" if in_the_way else error.strerror or error
        parser.error(f"--out {out} cannot be written: {why}")
    had_results = bool(earlier)
    try:
        yield staging
        with _ctrl_c_deferred() as ctrl_c:
            _move_in(staging, real, script, earlier)
    except (KeyboardInterrupt, OSError, RunStopped) as error:
        reason, status = _reason(error, staging, out)
        shutil.rmtree(staging, ignore_errors=True)
        kept = f"{out} unchanged (earlier results kept)" if had_results else f"nothing written to {out}"
        raise RunStopped(reason, kept, status) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if ctrl_c:
        raise RunStopped("interrupted", f"{out} has this run's results (it had finished)", INTERRUPTED_STATUS)
