"""coursework.run_folder: --out and --force never lose a file the user owns; a run that fails or is
interrupted leaves the earlier results as they were."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from coursework.run_folder import CHECKOUT, RUN_MARKER, RunStopped, open_run, read_manifest, run_script
from processes import HAVE_PROC, alive, children, command_line

SCRIPT = "example.py"


def parser():
    return argparse.ArgumentParser(prog=SCRIPT)


def run(out, files, force=False, script=SCRIPT):
    """A run of ``script`` that writes ``files`` ({relative path: text}) into ``out``."""
    with open_run(parser(), out, force, script) as folder:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    return Path(out)


def refusal(capsys, out, force=False, script=SCRIPT):
    with pytest.raises(SystemExit) as info, open_run(parser(), out, force, script):
        pytest.fail("the run must not start")
    assert info.value.code == 2
    return capsys.readouterr().err


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_partials(parent):
    return [p.name for p in parent.iterdir() if ".partial-" in p.name] == []


def test_a_new_folder_gets_the_results_and_a_manifest_of_them(tmp_path):
    out = run(tmp_path / "a" / "run", {"metrics.json": "{}", "figs/loss.png": "png"})
    assert snapshot(out).keys() == {"metrics.json", "figs/loss.png", RUN_MARKER}
    assert read_manifest(out) == {"script": SCRIPT, "files": ["figs/loss.png", "metrics.json"]}
    assert no_partials(out.parent)


def test_force_replaces_the_earlier_runs_files_and_nothing_else(tmp_path, capsys):
    out = run(tmp_path / "run", {"metrics.json": "old", "old_only.png": "old", "figs/a.png": "old"})
    (out / "notes.txt").write_text("mine")
    (out / "data").mkdir()
    (out / "data" / "x.csv").write_text("1,2")
    (out / "figs" / "mine.png").write_text("mine")
    assert "pass --force" in refusal(capsys, out)
    run(out, {"metrics.json": "new", "figs/b.png": "new"}, force=True)
    assert snapshot(out) == {"metrics.json": b"new", "figs/b.png": b"new", "figs/mine.png": b"mine",
                             "notes.txt": b"mine", "data/x.csv": b"1,2", RUN_MARKER: (out / RUN_MARKER).read_bytes()}
    assert read_manifest(out)["files"] == ["figs/b.png", "metrics.json"]
    run(out, {"metrics.json": "newer"}, force=True)  # figs/ keeps the user's file, so it stays
    assert sorted(snapshot(out)) == [RUN_MARKER, "data/x.csv", "figs/mine.png", "metrics.json", "notes.txt"]


@pytest.mark.parametrize("where", ["the current folder", "your home folder", "the root folder",
                                   "the scratchnet checkout"])
def test_some_folders_are_never_an_output_folder(tmp_path, monkeypatch, capsys, where):
    folder = tmp_path / "somewhere"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)  # the tests may run from the checkout: it would be named the current folder
    if where == "the current folder":
        (folder / "metrics.json").write_text("{}")  # any folder can hold one
        monkeypatch.chdir(folder)
        out = Path(".")
    elif where == "your home folder":
        monkeypatch.setenv("HOME", str(folder))
        out = folder
    else:
        out = Path("/") if where == "the root folder" else CHECKOUT
    before = snapshot(folder)
    assert f"is {where}; results go in a folder of their own" in refusal(capsys, out, force=True)
    assert snapshot(folder) == before


def test_the_current_folder_is_refused_even_when_it_holds_an_earlier_run(tmp_path, monkeypatch, capsys):
    out = run(tmp_path / "run", {"metrics.json": "{}"})
    monkeypatch.chdir(out)
    assert "is the current folder" in refusal(capsys, Path("."), force=True)
    assert (out / "metrics.json").exists()


def test_force_refuses_folders_that_are_not_this_scripts_run(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    (thesis / "metrics.json").write_text("{}")  # looks like results, but no run wrote it
    assert "not the results of an earlier run" in refusal(capsys, thesis, force=True)
    assert "not the results of an earlier run" in refusal(capsys, thesis)
    other = run(tmp_path / "other", {"metrics.json": "{}"}, script="q2b_deblur.py")
    assert "holds the results of q2b_deblur.py, not of example.py" in refusal(capsys, other, force=True)
    for manifest in ("The output of a scratchnet example: its --force replaces this folder.\n",  # an older marker
                     json.dumps({"script": SCRIPT, "files": ["../../etc/passwd"]}),
                     json.dumps({"script": SCRIPT, "files": ["/etc/passwd"]})):
        (thesis / RUN_MARKER).write_text(manifest)
        assert f"has a {RUN_MARKER} that lists no files" in refusal(capsys, thesis, force=True)
    assert (thesis / "chapter1.tex").read_text() == "years of work"


def test_a_file_the_user_put_where_a_new_result_goes_is_kept(tmp_path):
    out = run(tmp_path / "run", {"metrics.json": "old"})
    (out / "extra.png").write_text("mine")
    with pytest.raises(RunStopped, match="extra.png.*in the way.*unchanged"):
        run(out, {"metrics.json": "new", "extra.png": "new"}, force=True)
    assert (out / "extra.png").read_text() == "mine" and (out / "metrics.json").read_text() == "old"
    (out / "figs").write_text("mine")  # a file where the new results need a folder
    with pytest.raises(RunStopped, match="figs: a file the earlier run did not write is in the way"):
        run(out, {"figs/loss.png": "new"}, force=True)
    assert (out / "figs").read_text() == "mine" and read_manifest(out)["files"] == ["metrics.json"]
    assert no_partials(tmp_path)


@pytest.mark.parametrize("stop, reason, status", [(KeyboardInterrupt(), "interrupted", 130),
                                                   (OSError(errno.ENOSPC, "No space left on device"),
                                                    "No space left on device", 1)])
def test_an_interrupted_or_failed_run_leaves_the_earlier_results_exactly(tmp_path, stop, reason, status):
    out = run(tmp_path / "run", {"metrics.json": "old", "a.png": "old"})
    before = snapshot(out)
    with pytest.raises(RunStopped) as info, open_run(parser(), out, True, SCRIPT) as folder:
        (folder / "metrics.json").write_text("half")
        raise stop
    assert info.value.status == status
    assert info.value.message == f"{reason}: {out} unchanged (earlier results kept)"
    assert snapshot(out) == before and no_partials(tmp_path)


def test_a_run_that_fails_early_leaves_nothing_that_blocks_the_next(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RunStopped, match=f"nothing written to {out}"), open_run(parser(), out, False, SCRIPT):
        raise KeyboardInterrupt
    with pytest.raises(ValueError), open_run(parser(), out, False, SCRIPT):
        raise ValueError("a bug")
    assert not out.exists() and no_partials(tmp_path)
    run(out, {"metrics.json": "{}"})  # no --force needed


def test_a_full_disk_names_the_file_where_it_was_going(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RunStopped) as info, open_run(parser(), out, False, SCRIPT) as folder:
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "loss.png"))
    assert info.value.message == f"{out / 'loss.png'}: No space left on device: nothing written to {out}"


def test_run_script_prints_one_line_and_exits_with_the_status(tmp_path, capsys):
    def main():
        with open_run(parser(), tmp_path / "run", False, SCRIPT):
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as info:
        run_script(main)
    assert info.value.code == 130
    assert capsys.readouterr().err == f"interrupted: nothing written to {tmp_path / 'run'}\n"

    def interrupted_early():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as info:
        run_script(interrupted_early)
    assert info.value.code == 130 and capsys.readouterr().err == "interrupted: nothing written\n"


def test_an_unwritable_out_is_a_one_line_error_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert "exists and is not a directory" in refusal(capsys, a_file, force=True)
    err = refusal(capsys, a_file / "run")  # root ignores chmod; a folder under a file cannot be made by anyone
    assert f"--out {a_file / 'run'} cannot be written: {a_file} is a file, not a folder" in err and err.count("\n") <= 3
    assert a_file.read_text() == "x"


def test_a_symlink_as_out_keeps_pointing_at_the_results(tmp_path):
    bigger_disk = tmp_path / "bigger_disk"
    bigger_disk.mkdir()
    link = tmp_path / "runs"
    link.symlink_to(bigger_disk, target_is_directory=True)
    run(link, {"metrics.json": "1"})
    run(link, {"metrics.json": "2"}, force=True)
    assert link.is_symlink() and (bigger_disk / "metrics.json").read_text() == "2"
    assert no_partials(tmp_path) and read_manifest(bigger_disk)["files"] == ["metrics.json"]


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".run.partial-{int(dead.stdout)}"
    stale.mkdir()
    (stale / "metrics.json").write_text("half")
    run(tmp_path / "run", {"metrics.json": "{}"})
    assert no_partials(tmp_path)


def test_nested_runs_report_the_outer_folder(tmp_path):
    with pytest.raises(RunStopped) as info, open_run(parser(), tmp_path / "all", False, "all.py") as outer:
        with open_run(parser(), outer / "q2a", False, SCRIPT):
            raise KeyboardInterrupt
    assert info.value.message == f"interrupted: nothing written to {tmp_path / 'all'}"


CTRL_C_CHILD = """
import os, sys, argparse
from pathlib import Path
from coursework import parallel
from coursework.run_folder import open_run, run_script
from test_parallel import fail_or_sleep

def main():
    with open_run(argparse.ArgumentParser(), Path(sys.argv[1]), True, "example.py") as out:
        (out / "metrics.json").write_text("new")
        print("started", flush=True)
        parallel.run_jobs(fail_or_sleep, [(60,), (60,)], workers=2, progress=False)

run_script(main)
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_PROC, reason="finds the worker processes in Linux's /proc")
def test_ctrl_c_prints_one_line_exits_130_and_stops_the_workers(tmp_path):
    out = run(tmp_path / "run", {"metrics.json": "old"})
    before = snapshot(out)
    tests, examples = Path(__file__).parent, Path(__file__).parents[1] / "examples"
    path = [str(tests), str(examples), os.environ.get("PYTHONPATH", "")]  # the host guard's lane sets one
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CTRL_C_CHILD), str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=environment)
    assert child.stdout.readline() == "started\n"
    workers = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:  # the pool's two workers, running their jobs
        time.sleep(0.2)
        workers = [pid for pid in children(child.pid) if "multiprocessing" in command_line(pid)
                   and "resource_tracker" not in command_line(pid)]
    assert len(workers) == 2
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert err == f"interrupted: {out} unchanged (earlier results kept)\n"
    assert snapshot(out) == before and no_partials(tmp_path)
    assert not [pid for pid in workers if alive(pid)]

