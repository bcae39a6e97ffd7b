"""Tests for scratchnet.experiments.cli.prepare_output_dir: what --out and --force may and may not do."""

import argparse

import pytest

from scratchnet.experiments.cli import RUN_MARKER, add_common_options, prepare_output_dir


def prepare(out, force=False):
    parser = argparse.ArgumentParser(prog="example")
    add_common_options(parser, default_out=out)
    return prepare_output_dir(parser, out, force)


def refusal(capsys, out, force=False):
    with pytest.raises(SystemExit) as info:
        prepare(out, force)
    assert info.value.code == 2
    return capsys.readouterr().err


def test_a_new_folder_is_created_and_marked(tmp_path):
    out = prepare(tmp_path / "a" / "run")
    assert out.is_dir() and [p.name for p in out.iterdir()] == [RUN_MARKER]


def test_earlier_results_need_force_and_are_then_replaced(tmp_path, capsys):
    out = prepare(tmp_path / "run")
    (out / "loss.png").write_bytes(b"png")
    assert "already has results; pass --force" in refusal(capsys, out)
    assert (out / "loss.png").exists()
    prepare(out, force=True)
    assert [p.name for p in out.iterdir()] == [RUN_MARKER]


def test_a_run_from_before_the_marker_is_recognised_by_its_metrics(tmp_path):
    out = tmp_path / "old_run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    prepare(out, force=True)
    assert [p.name for p in out.iterdir()] == [RUN_MARKER]


def test_force_never_deletes_other_files(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    assert "not the results of an earlier run" in refusal(capsys, thesis, force=True)
    assert (thesis / "chapter1.tex").read_text() == "years of work"


def test_a_symlink_or_a_file_as_out_is_refused(tmp_path, capsys):
    target = prepare(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    assert "is a symbolic link" in refusal(capsys, link, force=True)
    assert target.exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert "exists and is not a directory" in refusal(capsys, a_file, force=True)
