"""Tests for coursework.cli: what --out and --force may and may not do, and the option types."""

import argparse

import pytest
from coursework.cli import MAX_SEED, RUN_MARKER, add_common_options, non_negative_int, prepare_output_dir


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


def test_a_symlink_as_out_is_followed_but_never_removed_and_a_file_is_refused(tmp_path, capsys):
    target = prepare(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    assert "is a symbolic link" in refusal(capsys, link, force=True)  # rmtree would refuse it
    assert target.exists()
    empty_target = tmp_path / "bigger_disk"
    empty_target.mkdir()
    empty_link = tmp_path / "runs"
    empty_link.symlink_to(empty_target, target_is_directory=True)
    assert prepare(empty_link) == empty_link  # a link to an empty folder is a fine --out
    assert (empty_target / RUN_MARKER).exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert "exists and is not a directory" in refusal(capsys, a_file, force=True)


def test_non_negative_int_accepts_zero_and_refuses_negatives_and_fractions():
    assert non_negative_int("0") == 0 and non_negative_int("7") == 7
    for text, message in (("-1", "must be >= 0"), ("1.5", "expected an integer"), ("x", "expected an integer")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            non_negative_int(text)


def test_seed_must_be_a_non_negative_integer_every_consumer_takes(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="example")
    add_common_options(parser, default_out=tmp_path)
    assert parser.parse_args([]).seed == 0
    assert parser.parse_args(["--seed", "3"]).seed == 3
    assert parser.parse_args(["--seed", str(MAX_SEED)]).seed == MAX_SEED == 2**32 - 1  # scikit-learn's limit
    for text, message in (("-1", "must be >= 0"), (str(MAX_SEED + 1), "must be <= 4294967295"),
                          ("0.5", "expected an integer")):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(["--seed", text])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --seed" in err and message in err
