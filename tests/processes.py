"""Finding a process's children in Linux's /proc, for tests that check that worker processes stop."""

from __future__ import annotations

from pathlib import Path

HAVE_PROC = Path("/proc/self/task").exists()


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (none once it has ended)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def command_line(pid: int) -> str:
    """``pid``'s command line, its arguments separated by NUL characters ("" once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()
