"""CelebA loader on generated images: crop/resize, cache reuse and rebuild, bad files."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from lucas2019.data import load
from lucas2019.data.celeba import load_celeba


def make_faces(folder, n=5, w=12, h=16, ext=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = []
    for i in range(n):
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i + 1:06d}{ext}")
        arrays.append(arr)
    return arrays


def test_crop_resize_shapes_and_values(tmp_path):
    arrays = make_faces(tmp_path / "img_align_celeba", n=4)
    # image_size equal to the crop side: no resampling, so pixel values are exact
    ds = load("celeba", root=tmp_path, image_size=12, progress=False, preprocess="none")
    assert ds.image_shape == (3, 12, 12) and ds.train.shape == (4, 3 * 144) and ds.test is None
    top = (16 - 12) // 2  # centred square crop of the 12 x 16 image
    expected = arrays[1][top : top + 12].transpose(2, 0, 1).reshape(-1)  # C-H-W order
    np.testing.assert_array_equal(ds.train[1], expected.astype(np.float32))
    small = load("celeba", root=tmp_path, image_size=4, grayscale=True, progress=False)
    assert small.image_shape == (1, 4, 4) and small.train.shape == (4, 16)
    assert 0.0 <= small.train.min() and small.train.max() <= 1.0


def test_cache_reused_and_rebuilt(tmp_path):
    folder = tmp_path / "img_align_celeba"
    make_faces(folder, n=3, ext=".jpg")
    cache_dir = tmp_path / "cache"
    first = load_celeba(tmp_path, image_size=8, cache_dir=cache_dir, progress=False)
    assert not first["from_cache"] and first["cache"].is_file()
    second = load_celeba(tmp_path, image_size=8, cache_dir=cache_dir, progress=False)
    assert second["from_cache"] and second["cache"] == first["cache"]
    np.testing.assert_array_equal(first["train"], second["train"])
    # a different option is a different cache
    other = load_celeba(tmp_path, image_size=6, cache_dir=cache_dir, progress=False)
    assert not other["from_cache"] and other["cache"] != first["cache"]
    # the source changes: new content and mtime -> rebuilt, with the new pixels
    Image.fromarray(np.zeros((16, 12, 3), np.uint8)).save(folder / "000002.jpg")
    st = (folder / "000002.jpg").stat()
    os.utime(folder / "000002.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = load_celeba(tmp_path, image_size=8, cache_dir=cache_dir, progress=False)
    assert not third["from_cache"] and third["cache"] != first["cache"]
    assert third["train"][1].max() <= 8  # black image (JPEG noise aside)
    assert first["train"][1].max() > 100


def test_max_images_sorted_and_partition(tmp_path):
    make_faces(tmp_path / "img_align_celeba", n=5)
    ds = load("celeba", root=tmp_path, image_size=4, max_images=3, progress=False)
    full = load("celeba", root=tmp_path, image_size=4, progress=False)
    np.testing.assert_array_equal(ds.train, full.train[:3])
    (tmp_path / "list_eval_partition.txt").write_text(
        "000001.png 0\n000002.png 0\n000003.png 1\n000004.png 2\n000005.png 2\n"
    )
    split = load("celeba", root=tmp_path, image_size=4, progress=False)
    assert split.train.shape[0] == 2 and split.test.shape[0] == 2
    np.testing.assert_array_equal(split.test, full.train[3:])


def test_unreadable_image_named(tmp_path):
    folder = tmp_path / "img_align_celeba"
    make_faces(folder, n=2)
    (folder / "000003.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"000003\.png.*Delete or replace"):
        load("celeba", root=tmp_path, image_size=4, progress=False)


def test_missing_root_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="CelebA root"):
        load("celeba", root=tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"no \.jpg/\.jpeg/\.png images"):
        load("celeba", root=tmp_path)


def test_bad_option_rejected(tmp_path):
    make_faces(tmp_path, n=1)
    with pytest.raises(ValueError, match="image_size=0"):
        load("celeba", root=tmp_path, image_size=0)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['size'\]"):
        load("celeba", root=tmp_path, size=4)
