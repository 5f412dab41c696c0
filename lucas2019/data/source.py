"""What each dataset module gives :func:`lucas2019.data.load`: a reader and the facts about it.

A dataset module (``mnist``, ``celeba``, ``digits``, ``synthetic``) defines ``SOURCE``, a
:class:`DatasetSource`; ``lucas2019.data.SOURCES`` lists them once, by name. ``load`` does the rest
(option checks, preprocessing, the seeded subset) the same way for every dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class DataUnavailable(FileNotFoundError):
    """A dataset's files are missing from the folder it was pointed at: the user's to fix, and the
    message says how (entry points print it alone and exit with status 2)."""


@dataclass(frozen=True, eq=False)
class RawSplits:
    """A dataset as read, before preprocessing and subsetting.

    Attributes:
        train, test: raw values, one example per row ((n, C, H, W) pixels in 0..max_level, or
            (n, d) floats); None where the split is absent.
        image_shape: (C, H, W) for images, (d,) for vectors.
        max_level: largest raw pixel value (255, 16, ...); None for continuous data.
        source: where the data came from (folder, cache file, "sklearn", "generated").
        labels_train, labels_test: (n,) class labels where the dataset has them.
        true_eigenvalues, true_basis: the population spectrum (d,) and eigenvectors (d, d) of
            generated data.
    """

    train: np.ndarray | None
    test: np.ndarray | None
    image_shape: tuple[int, ...]
    max_level: int | None
    source: str
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    true_eigenvalues: np.ndarray | None = None
    true_basis: np.ndarray | None = None


@dataclass(frozen=True)
class DatasetSource:
    """One dataset's registry entry.

    Attributes:
        read: ``read(root: Path, *, download: bool, seed: int, **options) -> RawSplits``;
            ``root`` is the data folder (unused by embedded or generated
            data), ``download`` fetches missing files where the dataset can, ``seed`` seeds
            generated data.
        options_of: the function whose keyword parameters (other than root, download and seed)
            are the dataset's options, as ``load(name, **options)`` accepts them.
        data_dim: the data dimension d (int) that ``options`` will produce, known without reading.
        default_preprocess: the preprocessing when ``load`` is given None.
        preprocessings: the preprocessings that make sense for the data; None: all of them.
    """

    read: Callable[..., RawSplits]
    options_of: Callable[..., Any]
    data_dim: Callable[[Mapping[str, Any]], int]
    default_preprocess: str = "scale01"
    preprocessings: tuple[str, ...] | None = None
