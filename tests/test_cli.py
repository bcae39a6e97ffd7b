"""Tests for coursework.cli: the option types and their ranges, and figures written all at once (what
--out and --force may do: test_run_folder.py)."""

import argparse
import errno

import pytest
from coursework.cli import (
    MAX_SEED,
    add_common_options,
    float_in,
    int_from,
    learning_rate,
    non_negative_int,
    save_figure,
    use_headless_matplotlib,
)


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


def test_ranged_types_accept_their_ends_and_refuse_what_lies_beyond():
    images = int_from(1, 40_200, " (the training images)")
    assert images("1") == 1 and images("40200") == 40_200
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be from 1 to 40,200 \(the training images\), got 40201"):
        images("40201")
    assert learning_rate("1") == 1.0 and learning_rate("1e-5") == 1e-5
    for text in ("0", "1.5", "1e308", "inf", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"must be in \(0, 1\]"):
            learning_rate(text)
    weight = float_in(0, 100, low_included=True)
    assert weight("0") == 0.0 and weight("100") == 100.0
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be in \[0, 100\]"):
        weight("-0.5")


def test_a_figure_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    plt = use_headless_matplotlib()
    fig, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "loss.png")
    assert path.read_bytes().startswith(b"\x89PNG")

    def full_disk(self, handle, **kwargs):
        handle.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(fig), "savefig", full_disk)
    fig, _ = plt.subplots()
    with pytest.raises(OSError) as info:
        save_figure(fig, tmp_path / "loss.png")
    assert info.value.filename == str(tmp_path / "loss.png") and info.value.errno == errno.ENOSPC
    assert path.read_bytes().startswith(b"\x89PNG") and len(path.read_bytes()) > 100  # the earlier figure
    with pytest.raises(OSError):
        save_figure(fig, tmp_path / "new.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png"]  # no 0-byte or half file, no temporary one
    assert not plt.get_fignums()  # closed either way
