"""scikit-learn's bundled 8 x 8 digits (UCI optdigits test set): 1,797 images, values 0..16.

Embedded: no download. Fixed split: a permutation drawn with ``np.random.default_rng(0)``; its
first 300 indices are the test split, the other 1,497 the train split (independent of the
``seed`` passed to ``load``, so every run sees the same split).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lucas2019.data.source import DatasetSource, RawSplits

N_IMAGES = 1797
N_TEST = 300
N_TRAIN = N_IMAGES - N_TEST
SPLIT_SEED = 0
IMAGE_SHAPE = (1, 8, 8)
MAX_LEVEL = 16


def load_digits_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images uint8 (1497, 8, 8), labels), "test": (images (300, 8, 8), labels)}``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # integer values 0..16 stored as float64
    labels = bunch.target.astype(np.uint8)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    test_idx, train_idx = perm[:N_TEST], perm[N_TEST:]
    return {
        "train": (images[train_idx], labels[train_idx]),
        "test": (images[test_idx], labels[test_idx]),
    }


def read(root: Path, *, download: bool, seed: int) -> RawSplits:
    """The registry's reader: :func:`load_digits_split` (embedded: root, download, seed unused)."""
    splits = load_digits_split()
    return RawSplits(
        splits["train"][0],
        splits["test"][0],
        IMAGE_SHAPE,
        MAX_LEVEL,
        "sklearn",
        labels_train=splits["train"][1],
        labels_test=splits["test"][1],
    )


def data_dim(options: Mapping[str, Any]) -> int:
    """64 pixels, whatever the options."""
    return int(np.prod(IMAGE_SHAPE))


SOURCE = DatasetSource(read, options_of=load_digits_split, data_dim=data_dim)
