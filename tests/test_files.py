"""Tests for scratchnet.files: atomic_write (checkpoints, the MNIST cache, reports) and remove_leftovers."""

import pytest

from scratchnet.files import atomic_write, remove_leftovers


def test_writes_bytes_and_text(tmp_path):
    with atomic_write(tmp_path / "a.bin") as handle:
        handle.write(b"\x00\x01")
    with atomic_write(tmp_path / "sub" / "b.txt", "w") as handle:  # a missing folder is created
        handle.write("héllo\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "sub"]  # no temporary file left


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "result.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="halfway"), atomic_write(path, "w") as handle:
        handle.write("new, but only half")
        raise RuntimeError("halfway")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_the_file_gets_the_mode_open_would_give_it(tmp_path):
    with atomic_write(tmp_path / "made_atomically") as handle:
        handle.write(b"x")
    with open(tmp_path / "made_by_open", "wb") as handle:
        handle.write(b"x")

    def mode(name):
        return (tmp_path / name).stat().st_mode & 0o777

    assert mode("made_atomically") == mode("made_by_open")  # not the temporary file's private 0o600


def test_a_folder_in_the_way_is_a_clear_error(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match="out.*is a folder"), atomic_write(tmp_path / "out") as handle:
        handle.write(b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w', got 'a'"), atomic_write(tmp_path / "x", "a"):
        pass


def test_remove_leftovers_removes_only_this_files_temporaries(tmp_path):
    mine = [tmp_path / ".c.npz.k2j3.tmp", tmp_path / ".c.npz.x.tmp"]
    others = [tmp_path / "c.npz", tmp_path / ".d.npz.k2j3.tmp", tmp_path / ".c.npz.k2j3.tmp.keep", tmp_path / "c.tmp"]
    for file in mine + others:
        file.write_bytes(b"x")
    remove_leftovers(tmp_path / "c.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others)
    remove_leftovers(tmp_path / "[c].npz")  # glob characters in the name match only themselves
    assert len(list(tmp_path.iterdir())) == len(others)
