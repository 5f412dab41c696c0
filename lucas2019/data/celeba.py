"""CelebA (aligned faces): a folder of JPEG/PNG images, centre-cropped, resized, cached as .npy.

Decoding 200k JPEGs takes minutes, so the decoded uint8 array is saved once (atomically) and reused.
The cache key hashes the sorted file list with sizes and modification times, and the decoding
options; any change to the folder or the options builds a new cache file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lucas2019.data.source import DatasetSource, DataUnavailable, RawSplits
from lucas2019.io import atomic_write

EXTENSIONS = (".jpg", ".jpeg", ".png")
SUBFOLDER = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
CACHE_VERSION = 1
MAX_LEVEL = 255
IMAGE_SIZE = 64  # default output side [pixels]


def image_folder(root: str | os.PathLike) -> Path:
    """``root/img_align_celeba`` if it exists, else ``root`` itself."""
    root = Path(root)
    if not root.is_dir():
        raise DataUnavailable(
            f"CelebA root={str(root)!r} does not exist or is not a folder. Pass the folder that "
            f"holds {SUBFOLDER}/ (unzipped img_align_celeba.zip) or the images themselves."
        )
    sub = root / SUBFOLDER
    return sub if sub.is_dir() else root


def list_images(folder: Path, max_images: int | None = None) -> list[Path]:
    """Images (.jpg, .jpeg, .png) in ``folder``, sorted by name; the first ``max_images``."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise DataUnavailable(
            f"no .jpg/.jpeg/.png images in {folder}. Unzip img_align_celeba.zip there so that "
            f"{folder / SUBFOLDER / '000001.jpg'} (or {folder / '000001.jpg'}) exists."
        )
    return files if max_images is None else files[:max_images]


def cache_key(files: list[Path], options: dict) -> str:
    """SHA-256 (first 16 hex digits) over file names, sizes, mtimes and decoding options."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, **options}, sort_keys=True).encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def decode_image(path: Path, image_size: int, grayscale: bool, crop_size: int | None) -> np.ndarray:
    """One image -> uint8 (C, H, W): centred square crop (``crop_size`` or short side), resize."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if grayscale else "RGB")
            w, h = img.size
            side = min(w, h) if crop_size is None else min(crop_size, w, h)
            left, top = (w - side) // 2, (h - side) // 2
            img = img.crop((left, top, left + side, top + side))
            img = img.resize((image_size, image_size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(
            f"cannot read image {path} ({type(err).__name__}: {err}). Delete or replace this "
            "file (re-extract it from img_align_celeba.zip), or exclude it with max_images."
        ) from err
    return arr[None] if grayscale else arr.transpose(2, 0, 1)


def read_partition(root: Path) -> dict[str, int] | None:
    """``list_eval_partition.txt`` (``name split``, 0 train, 1 valid, 2 test) if present."""
    path = root / PARTITION_FILE
    if not path.is_file():
        return None
    out: dict[str, int] = {}
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ValueError(
                f"{path}, line {line_no}: {line!r}; expected '<file name> <0|1|2>'. Replace the "
                "file by the official one or delete it (then every image is in the train split)."
            )
        out[parts[0]] = int(parts[1])
    return out


def load_celeba(
    root: str | os.PathLike,
    *,
    image_size: int = IMAGE_SIZE,
    grayscale: bool = False,
    crop_size: int | None = None,
    max_images: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict:
    """Decode the CelebA folder (or read its cache).

    Args:
        root: folder holding ``img_align_celeba/`` or the images directly.
        image_size: output side in pixels (square).
        grayscale: one channel (PIL "L") instead of RGB.
        crop_size: side of the centred square crop before resizing; None = the short side.
        max_images: read only the first ``max_images`` files in sorted order.
        cache_dir: where the ``.npy`` cache goes; default ``<image folder>/.lucas2019_cache``.

    Returns:
        dict with ``train``/``test``: uint8 (n, C, H, W) or None, ``image_shape`` (C, H, W),
        ``cache`` (path of the cache file), ``from_cache`` (bool).
        With ``list_eval_partition.txt`` in ``root``: train = partition 0, test = partition 2
        (validation, 1, is dropped). Without it every image is in train and test is None.
    """
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size={image_size!r}: must be a positive int (pixels), e.g. 64.")
    if crop_size is not None and (not isinstance(crop_size, int) or crop_size < 1):
        raise ValueError(f"crop_size={crop_size!r}: must be a positive int or None (short side).")
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"max_images={max_images!r}: must be a positive int or None (all).")
    folder = image_folder(root)
    files = list_images(folder, max_images)
    options = {"image_size": image_size, "grayscale": bool(grayscale), "crop_size": crop_size}
    cache_root = Path(cache_dir) if cache_dir is not None else folder / ".lucas2019_cache"
    cache = cache_root / f"celeba_{cache_key(files, options)}.npy"
    channels = 1 if grayscale else 3
    shape = (channels, image_size, image_size)
    from_cache = cache.is_file()
    data = None
    if from_cache:
        try:
            data = np.load(cache, mmap_mode=None, allow_pickle=False)
        except (OSError, ValueError):
            data = None  # unreadable cache: rebuild it
        if data is None or data.shape != (len(files), *shape) or data.dtype != np.uint8:
            from_cache, data = False, None
    if data is None:
        from tqdm.auto import tqdm

        data = np.empty((len(files), *shape), dtype=np.uint8)
        for i, p in enumerate(tqdm(files, desc="decoding CelebA", disable=not progress)):
            data[i] = decode_image(p, image_size, grayscale, crop_size)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a path
                np.save(f, data, allow_pickle=False)

        atomic_write(cache, write)
    partition = read_partition(Path(root))
    if partition is None:
        train, test = data, None
    else:
        split = np.array([partition.get(p.name, -1) for p in files])
        missing = [p.name for p, s in zip(files, split, strict=True) if s < 0]
        if missing:
            raise ValueError(
                f"{Path(root) / PARTITION_FILE} does not list {len(missing)} image(s), e.g. "
                f"{missing[0]!r}. Use the official partition file for this folder, or delete it."
            )
        train, test = data[split == 0], data[split == 2]
        train = train if len(train) else None
        test = test if len(test) else None
    return {
        "train": train,
        "test": test,
        "image_shape": shape,
        "cache": cache,
        "from_cache": from_cache,
        "n_files": len(files),
    }


def read(root: Path, *, download: bool, seed: int, **options: Any) -> RawSplits:
    """The registry's reader: :func:`load_celeba` (no download; nothing random, seed unused)."""
    out = load_celeba(root, **options)
    return RawSplits(out["train"], out["test"], out["image_shape"], MAX_LEVEL, str(out["cache"]))


def data_dim(options: Mapping[str, Any]) -> int:
    """C·H·W of the decoded images: 3 (RGB) or 1 (grayscale) channels of image_size²."""
    size = int(options.get("image_size", IMAGE_SIZE))
    return (1 if options.get("grayscale", False) else 3) * size * size


SOURCE = DatasetSource(read, options_of=load_celeba, data_dim=data_dim)
