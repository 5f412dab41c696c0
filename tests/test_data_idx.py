"""IDX reading and the MNIST loader on files the tests generate (never on the real MNIST files)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lucas2019.data import load, mnist, training_arrays
from lucas2019.data.idx import IDXFormatError, idx_bytes, read_idx, write_idx


def fake_mnist(folder, n_train=0, n_test=7, gz=True, seed=0):
    """Write MNIST-shaped IDX files with random pixels; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        if n == 0:
            continue
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        img_stem, lbl_stem = mnist.FILES[split]
        suffix = ".gz" if gz else ""
        write_idx(folder / (img_stem + suffix), images)
        write_idx(folder / (lbl_stem + suffix), labels)
        out[split] = (images, labels)
    return out


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    x = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype == np.uint8:
        x = np.arange(30, dtype=np.uint8).reshape(2, 3, 5) * 8
    path = write_idx(tmp_path / f"a{suffix}", x)
    y = read_idx(path)
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    np.testing.assert_array_equal(y, x)


def test_idx_header_bytes_are_the_standard_ones():
    # MNIST images: magic 0x00000803 = 2051, then big-endian n, 28, 28
    b = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    assert int.from_bytes(b[:4], "big") == 2051
    assert [int.from_bytes(b[4 + 4 * i : 8 + 4 * i], "big") for i in range(3)] == [2, 28, 28]
    assert len(b) == 16 + 2 * 784


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_mnist_test_split_only_known_pixels(tmp_path, gz, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    data = fake_mnist(folder, n_test=6, gz=gz)
    ds = load("mnist", root=tmp_path, preprocess="scale01")
    assert ds.train is None and ds.labels_train is None
    assert ds.test.shape == (6, 784) and ds.test.dtype == np.float32
    assert ds.image_shape == (1, 28, 28) and ds.dim == 784
    images, labels = data["test"]
    # row-major flattening: pixel (row 3, col 5) of image 2 is column 3 * 28 + 5
    assert ds.test[2, 3 * 28 + 5] == pytest.approx(images[2, 3, 5] / 255.0, abs=1e-7)
    np.testing.assert_allclose(ds.test, images.reshape(6, -1) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(ds.labels_test, labels)
    raw = load("mnist", root=tmp_path, preprocess="none")
    np.testing.assert_array_equal(raw.test, images.reshape(6, -1).astype(np.float32))


def test_mnist_both_splits_and_training_arrays(tmp_path):
    fake_mnist(tmp_path, n_train=9, n_test=4)
    ds = load("mnist", root=tmp_path)
    assert ds.train.shape == (9, 784) and ds.test.shape == (4, 784)
    xtr, xte = training_arrays(ds, n_train=5, n_test=2, seed=1)
    assert xtr.shape == (5, 784) and xte.shape == (2, 784)
    # rows come from the right split
    train_rows = {r.tobytes() for r in ds.train}
    assert all(r.tobytes() in train_rows for r in xtr)


def test_training_arrays_single_split_is_disjoint_and_reproducible(tmp_path):
    fake_mnist(tmp_path, n_test=10)
    ds = load("mnist", root=tmp_path)
    a, b = training_arrays(ds, n_train=6, n_test=3, seed=4)
    a2, b2 = training_arrays(ds, n_train=6, n_test=3, seed=4)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    rows_a = {r.tobytes() for r in a}
    assert not rows_a & {r.tobytes() for r in b}
    full, rest = training_arrays(ds)
    assert full.shape == (10, 784) and rest is None
    with pytest.raises(ValueError, match="only a test split of 10"):
        training_arrays(ds, n_train=8, n_test=3)


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*download=True"):
        load("mnist", root=tmp_path / "nope")


def test_missing_files_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load("mnist", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "t10k-images-idx3-ubyte.gz" in msg


def test_missing_labels(tmp_path):
    fake_mnist(tmp_path, n_test=3)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load("mnist", root=tmp_path)


def test_wrong_magic(tmp_path):
    fake_mnist(tmp_path, n_test=3)
    # labels file under the images name: magic 2049 instead of 2051
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"t10k-images-idx3-ubyte.gz: magic number 2049"):
        load("mnist", root=tmp_path)


def test_wrong_dimensions(tmp_path):
    fake_mnist(tmp_path, n_test=3)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 32, 32), dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"header dimensions \(3, 32, 32\)"):
        load("mnist", root=tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_file(tmp_path, gz):
    fake_mnist(tmp_path, n_test=3, gz=gz)
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    path = tmp_path / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXFormatError, match=name.replace(".", r"\.") + ".*(truncated)"):
        load("mnist", root=tmp_path)


def test_padded_file(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(np.zeros((2, 2), dtype=np.uint8)) + b"\0")
    with pytest.raises(IDXFormatError, match="longer than its header"):
        read_idx(path)


def test_label_count_mismatch(tmp_path):
    fake_mnist(tmp_path, n_test=3)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(4, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"3 images but .* 4 labels"):
        load("mnist", root=tmp_path)


def test_raw_is_used_when_gz_absent_and_gz_preferred(tmp_path):
    data = fake_mnist(tmp_path, n_test=2, gz=False)
    assert (
        mnist.find_file(tmp_path, "t10k-images-idx3-ubyte") == tmp_path / "t10k-images-idx3-ubyte"
    )
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(data["test"][0])))
    assert mnist.find_file(tmp_path, "t10k-images-idx3-ubyte").name.endswith(".gz")
