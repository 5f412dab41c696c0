"""MNIST from its four IDX files: flat or torchvision (``root/MNIST/raw``) layout, .gz or raw.

Checksum scheme: checksums are of the *downloaded* ``.gz`` files as the public mirrors serve them
(the MD5s that torchvision publishes). They are checked on download only. Files already on disk
(placed by hand, possibly re-compressed) are not checksummed; they are validated by structure
(magic number, 28 x 28 header, exact length) when read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lucas2019.data.download import DownloadError, download_file
from lucas2019.data.idx import IDXFormatError, read_idx
from lucas2019.data.source import DatasetSource, DataUnavailable, RawSplits

DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 of the .gz files served by the mirrors (torchvision's table).
DEFAULT_CHECKSUMS: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
IMAGE_SHAPE = (1, 28, 28)
MAX_LEVEL = 255


def candidate_dirs(root: str | os.PathLike) -> list[Path]:
    """Folders searched, in order: ``root`` and ``root/MNIST/raw`` (torchvision's layout)."""
    root = Path(root)
    return [root, root / "MNIST" / "raw"]


def find_file(root: str | os.PathLike, stem: str) -> Path | None:
    """The first of ``<dir>/<stem>.gz`` or ``<dir>/<stem>`` over :func:`candidate_dirs`."""
    for folder in candidate_dirs(root):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _manual_help(root: Path) -> str:
    names = ", ".join(f"{s}.gz" for pair in FILES.values() for s in pair)
    return (
        f"To provide the files by hand, copy {names} (gzip-compressed or not) into {root} "
        f"(or {root / 'MNIST' / 'raw'}); the test split alone is enough. Or pass download=True "
        "on a machine with internet access."
    )


def load_mnist(
    root: str | os.PathLike,
    *,
    download: bool = False,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    checksums: Mapping[str, str | None] | None = None,
    timeout: float = 30.0,
    retries: int = 2,
    progress: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """Read the MNIST IDX files under ``root``; download missing ones if ``download``.

    Args:
        root: folder holding the files (flat, or torchvision's ``MNIST/raw`` below it).
        download: fetch missing files into ``root`` from ``mirrors`` (all four files).
        mirrors: base URLs tried in order.
        checksums: file name (``*.gz``) -> ``"md5:<hex>"``/``"sha256:<hex>"``/None for downloads;
            default :data:`DEFAULT_CHECKSUMS`. Tests inject their own.
        timeout: seconds per connection/read during download; retries: attempts per mirror.

    Returns:
        ``{"train": (images uint8 (n, 28, 28), labels uint8 (n,)) or None, "test": ...}``. A split
        is None when its image file is absent (and not downloaded).

    Raises:
        FileNotFoundError: ``root`` missing (and no download), or no split's image file present.
        IDXFormatError: a file with a wrong magic number, wrong header dimensions or wrong length.
        DownloadError / ChecksumMismatchError: download failed on every mirror.
    """
    root = Path(root)
    checksums = DEFAULT_CHECKSUMS if checksums is None else checksums
    if not root.is_dir() and not download:
        raise DataUnavailable(
            f"MNIST root={str(root)!r} does not exist or is not a folder. Pass the folder that "
            f"holds the IDX files, or download=True. {_manual_help(root)}"
        )
    if download:
        for stems in FILES.values():
            for stem in stems:
                if find_file(root, stem) is None:
                    name = stem + ".gz"
                    try:
                        download_file(
                            name,
                            root,
                            mirrors,
                            checksums.get(name),
                            timeout=timeout,
                            retries=retries,
                            progress=progress,
                        )
                    except DownloadError as err:
                        looked = " and ".join(str(d) for d in candidate_dirs(root))
                        raise type(err)(
                            f"{err}\nMNIST: {stem}[.gz] was not in {looked}. {_manual_help(root)}"
                        ) from err
    out: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    for split, (img_stem, lbl_stem) in FILES.items():
        img_path, lbl_path = find_file(root, img_stem), find_file(root, lbl_stem)
        if img_path is None:
            out[split] = None
            continue
        if lbl_path is None:
            raise DataUnavailable(
                f"MNIST {split} split: found {img_path} but not its labels {lbl_stem}[.gz] in "
                f"{' or '.join(map(str, candidate_dirs(root)))}. Copy the labels file there (or "
                "remove the images file to use the other split alone)."
            )
        images = read_idx(img_path, IMAGE_MAGIC, (None, 28, 28))
        labels = read_idx(lbl_path, LABEL_MAGIC, (None,))
        if len(labels) != len(images):
            raise IDXFormatError(
                f"{img_path} has {len(images)} images but {lbl_path} has {len(labels)} labels; "
                "the files come from different splits or one is corrupt. Replace them."
            )
        out[split] = (images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False))
    if all(v is None for v in out.values()):
        looked = ", ".join(str(d) for d in candidate_dirs(root))
        raise DataUnavailable(
            f"no MNIST image files in {looked} (looked for train-images-idx3-ubyte[.gz] and "
            f"t10k-images-idx3-ubyte[.gz]). {_manual_help(root)}"
        )
    return out


def read(root: Path, *, download: bool, seed: int, **options: Any) -> RawSplits:
    """The registry's reader: :func:`load_mnist` (``seed`` is unused: nothing is random)."""
    splits = load_mnist(root, download=download, **options)
    images = {k: (None if v is None else v[0]) for k, v in splits.items()}
    labels = {k: (None if v is None else v[1]) for k, v in splits.items()}
    return RawSplits(
        images["train"],
        images["test"],
        IMAGE_SHAPE,
        MAX_LEVEL,
        str(root),
        labels_train=labels["train"],
        labels_test=labels["test"],
    )


def data_dim(options: Mapping[str, Any]) -> int:
    """784 pixels, whatever the options."""
    return int(np.prod(IMAGE_SHAPE))


SOURCE = DatasetSource(read, options_of=load_mnist, data_dim=data_dim)
