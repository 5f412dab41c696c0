"""One interface to every dataset: ``load(name, ...) -> Dataset`` and ``training_arrays``.

>>> ds = load("digits", preprocess="scale01")
>>> ds.train.shape, ds.test.shape, ds.image_shape
((1497, 64), (300, 64), (1, 8, 8))
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lucas2019.data import celeba, digits, mnist, synthetic
from lucas2019.data import preprocess as _pre
from lucas2019.data.idx import IDXFormatError
from lucas2019.data.preprocess import PREPROCESSINGS
from lucas2019.data.source import DatasetSource, DataUnavailable

#: a dataset's files missing or damaged: the user's to fix, and the message says how; entry
#: points print it alone and exit with status 2
DATA_ERRORS = (DataUnavailable, IDXFormatError)

# The dataset registry: a new dataset is a module with a SOURCE and one line here.
SOURCES: dict[str, DatasetSource] = {
    "mnist": mnist.SOURCE,
    "celeba": celeba.SOURCE,
    "digits": digits.SOURCE,
    "synthetic": synthetic.SOURCE,
}
DATASETS = tuple(SOURCES)
ROOT_ENV = "LUCAS2019_DATA"

__all__ = [
    "DATASETS",
    "PREPROCESSINGS",
    "SOURCES",
    "Dataset",
    "default_root",
    "load",
    "training_arrays",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded, preprocessed dataset. Arrays are float32, one flattened example per row.

    Attributes:
        name: one of DATASETS.
        train: (n_train, d) or None when only the test split exists.
        test: (n_test, d) or None when there is no test split.
        image_shape: (C, H, W) for images (rows are C-H-W flattened), (d,) for synthetic.
        preprocess: the preprocessing applied (a name in PREPROCESSINGS).
        max_level: largest raw pixel value (255 MNIST/CelebA, 16 digits; None for synthetic).
        labels_train, labels_test: (n,) uint8 class labels where the dataset has them, else None.
        true_eigenvalues: (d,) population eigenvalues, descending (synthetic only, else None).
        true_basis: (d, d) population eigenvectors as columns (synthetic only, else None).
        source: where the data came from (folder, cache file, or "sklearn"/"generated").
        options: every option that produced the arrays (recorded with each run).
    """

    name: str
    train: np.ndarray | None
    test: np.ndarray | None
    image_shape: tuple[int, ...]
    preprocess: str
    max_level: int | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    true_eigenvalues: np.ndarray | None = None
    true_basis: np.ndarray | None = None
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """Data dimension d (pixels x channels)."""
        return int(np.prod(self.image_shape))

    @property
    def n_train(self) -> int:
        """Number of training examples (0 if there is no train split)."""
        return 0 if self.train is None else len(self.train)

    @property
    def n_test(self) -> int:
        """Number of test examples (0 if there is no test split)."""
        return 0 if self.test is None else len(self.test)

    def log_det_jacobian(self, x: np.ndarray) -> np.ndarray:
        """Per-example log|det J| (nats, shape (n,)) of the map [0,1]-pixels -> model space.

        ``x`` is preprocessed data as stored in ``train``/``test`` (n, d). Add it to a model's
        log-density of ``x`` to get the density of the [0, 1]-scaled pixels:
        log p(p) = log p(x) + log_det_jacobian(x). It is zero for "scale01" and "none" (no change
        of variables) and the logit term for "dequantize_logit"; binarized data has no density.
        For the discrete 8-bit likelihood subtract further d * log(max_level + 1).
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x.shape={x.shape}: expected (n, {self.dim}) preprocessed data.")
        if self.preprocess == "dequantize_logit":
            return _pre.logit_log_det_jacobian_from_logits(x)
        if self.preprocess in ("scale01", "none"):
            return np.zeros(len(x))
        raise ValueError(
            f"log_det_jacobian: preprocess={self.preprocess!r} is not invertible (binary data has "
            "no density in pixel space); use 'scale01' or 'dequantize_logit'."
        )

    def record(self) -> dict[str, Any]:
        """Plain-Python summary to store with a run (name, preprocess, sizes, options)."""
        return {
            "name": self.name,
            "preprocess": self.preprocess,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "dim": self.dim,
            "image_shape": list(self.image_shape),
            "max_level": self.max_level,
            "source": self.source,
            "options": {k: _plain(v) for k, v in self.options.items()},
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v


def default_root(name: str) -> Path:
    """``$LUCAS2019_DATA/<name>`` if that variable is set, else ``~/.cache/lucas2019/<name>``."""
    base = os.environ.get(ROOT_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "lucas2019") / name


def _check_options(name: str, func: Any, options: dict[str, Any]) -> None:
    reserved = {"root", "download", "seed"}  # load's own arguments, given to every reader
    allowed = [p for p in inspect.signature(func).parameters if p not in reserved]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"load({name!r}): unknown option(s) {unknown}; allowed for {name}: {allowed}."
        )


def _subset_sizes(subset: Any) -> tuple[int | None, int | None]:
    if subset is None:
        return None, None
    if isinstance(subset, int | np.integer) and not isinstance(subset, bool):
        sizes: tuple[Any, Any] = (int(subset), int(subset))
    elif isinstance(subset, tuple | list) and len(subset) == 2:
        sizes = (subset[0], subset[1])
    else:
        raise ValueError(
            f"subset={subset!r}: expected an int n (n examples of each split), a pair "
            "(n_train, n_test) with None for 'all', or None."
        )
    for s in sizes:
        if s is not None and (not isinstance(s, int | np.integer) or s < 1):
            raise ValueError(f"subset={subset!r}: sizes must be positive ints or None.")
    return sizes


def load(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    preprocess: str | None = None,
    subset: int | tuple[int | None, int | None] | None = None,
    seed: int = 0,
    **dataset_options: Any,
) -> Dataset:
    """Load dataset ``name`` and preprocess it.

    Args:
        name: one of DATASETS (the registry :data:`SOURCES`).
        root: folder with the files (mnist, celeba); default :func:`default_root`. Unused by
            digits and synthetic.
        download: mnist only: fetch missing files from the mirrors.
        preprocess: a name in PREPROCESSINGS; None = the dataset's default ("scale01" for images,
            "none" for synthetic, which accepts only "none").
        subset: n examples of each split present (or a pair (n_train, n_test)): the first n of
            a seeded permutation of the split, drawn as :func:`training_arrays` draws them, so
            they are the rows a run with these sizes and ``seed`` trains on (smaller subsets are
            nested in larger ones). None = everything.
        seed: seeds the subset, the dequantisation noise, stochastic binarisation, and the
            synthetic data.
        dataset_options: per dataset, e.g. mnist: mirrors, checksums, timeout, retries,
            progress; celeba: image_size, grayscale, crop_size, max_images, cache_dir, progress;
            synthetic: dim, n_train, n_test, spectrum, n_strong, decay, noise, scale.

    Returns:
        Dataset with float32 (n, d) arrays.
    """
    if name not in SOURCES:
        raise ValueError(f"dataset name={name!r}: unknown; allowed {list(DATASETS)}.")
    source = SOURCES[name]
    preprocess = source.default_preprocess if preprocess is None else preprocess
    _pre.check_name(preprocess)
    allowed = source.preprocessings or PREPROCESSINGS
    if preprocess not in allowed:
        raise ValueError(
            f"preprocess={preprocess!r} for dataset {name!r}: allowed {list(allowed)} (or None "
            f"for {source.default_preprocess!r})."
        )
    _check_options(name, source.options_of, dataset_options)
    n_train, n_test = _subset_sizes(subset)
    raw = source.read(
        default_root(name) if root is None else Path(root),
        download=download,
        seed=seed,
        **dataset_options,
    )
    rng_pre = np.random.default_rng([seed, 2])
    train, test = (
        None if x is None else _pre.apply(preprocess, x.reshape(len(x), -1), raw.max_level, rng_pre)
        for x in (raw.train, raw.test)
    )
    dataset = Dataset(
        name=name,
        train=train,
        test=test,
        image_shape=tuple(int(s) for s in raw.image_shape),
        preprocess=preprocess,
        max_level=raw.max_level,
        labels_train=raw.labels_train,
        labels_test=raw.labels_test,
        true_eigenvalues=raw.true_eigenvalues,
        true_basis=raw.true_basis,
        source=raw.source,
        options={"seed": seed, "subset": subset, **dataset_options},
    )
    if subset is None:
        return dataset
    rows = _subset_rows(dataset, n_train, n_test, seed)
    return replace(
        dataset,
        train=_rows(dataset.train, rows["train"]),
        test=_rows(dataset.test, rows["test"]),
        labels_train=_rows(dataset.labels_train, rows["train"]),
        labels_test=_rows(dataset.labels_test, rows["test"]),
    )


def _subset_rows(
    dataset: Dataset, n_train: int | None, n_test: int | None, seed: int
) -> dict[str, np.ndarray | None]:
    """The one seeded subset: row indices of each split, ``{"train": idx, "test": idx}``.

    Each split's rows are the first n of a permutation drawn from one stream seeded with
    ``[seed, 3]``, train before test, so smaller subsets are nested in larger ones. None where n
    is None (every row) or the split is absent; then no permutation is drawn.
    """
    rng = np.random.default_rng([seed, 3])
    rows: dict[str, np.ndarray | None] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = getattr(dataset, split)
        rows[split] = None
        if x is None or n is None:
            continue
        if n > len(x):
            raise ValueError(
                f"n_{split}={n} is larger than the {split} split of {dataset.name!r} "
                f"({len(x)} examples). Ask for at most {len(x)}, or None for all."
            )
        rows[split] = rng.permutation(len(x))[:n]
    return rows


def _rows(x: np.ndarray | None, rows: np.ndarray | None) -> np.ndarray | None:
    return x if x is None or rows is None else x[rows]


def training_arrays(
    dataset: Dataset, n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays a run trains and evaluates on, (x_train (n_train, d), x_test (n_test, d) | None).

    With a train split: the seeded subset of ``n_train`` rows of train and of ``n_test`` rows of
    test (None = all; x_test None if there is no test split or n_test is 0). With only one split
    (e.g. the MNIST test split alone): one seeded permutation of it; the first ``n_train`` rows
    train, the next ``n_test`` are held out (None = all that remain; x_test None if none remain).
    """
    for key, val in (("n_train", n_train), ("n_test", n_test)):
        if val is not None and (not isinstance(val, int | np.integer) or val < 0):
            raise ValueError(f"{key}={val!r}: must be an int >= 0 or None (all).")
    if n_train == 0:
        raise ValueError("n_train=0: a run needs at least one training example.")
    if dataset.train is not None and dataset.test is not None:
        rows = _subset_rows(dataset, n_train, n_test, seed)
        x_train, x_test = _rows(dataset.train, rows["train"]), _rows(dataset.test, rows["test"])
        return x_train, (x_test if len(x_test) else None)
    only = dataset.train if dataset.train is not None else dataset.test
    which = "train" if dataset.train is not None else "test"
    if only is None:
        raise ValueError(f"dataset {dataset.name!r} has neither a train nor a test split.")
    n = len(only)
    n_tr = n if n_train is None else int(n_train)
    n_te = n - n_tr if n_test is None else int(n_test)
    if n_tr + n_te > n:
        raise ValueError(
            f"n_train={n_train} + n_test={n_test} > {n}: dataset {dataset.name!r} has only a "
            f"{which} split of {n} examples, which is split into train and held-out parts. Ask "
            f"for at most {n} in total."
        )
    # the same stream as _subset_rows: its first permutation, of the one split
    perm = np.random.default_rng([seed, 3]).permutation(n)
    x_train = only[perm[:n_tr]]
    x_test = only[perm[n_tr : n_tr + n_te]] if n_te > 0 else None
    return x_train, x_test


def load_for_run(dataset: Any) -> tuple[Dataset, np.ndarray, np.ndarray | None]:
    """The dataset and the (x_train, x_test) arrays a run uses, from a run's ``dataset`` config.

    ``dataset`` is a mapping (a DictConfig or dict) with ``name``, ``root``, ``download``,
    ``preprocess``, ``n_train``, ``n_test``, ``subset_seed`` and ``options`` (extra keyword
    arguments of :func:`load`). ``subset_seed`` is the seed of :func:`load` and
    :func:`training_arrays`, so the arrays depend on the dataset config alone: runs that differ in
    their model ``seed`` train on identical data. The trainer and the analytic entry point both
    call this, so the theory is always computed on exactly the data a run trains on.
    """
    options = dict(dataset.get("options") or {})
    subset_seed = int(dataset["subset_seed"])
    loaded = load(
        dataset["name"],
        root=dataset.get("root"),
        download=dataset.get("download", False),
        preprocess=dataset.get("preprocess"),
        seed=subset_seed,
        **options,
    )
    x_train, x_test = training_arrays(
        loaded, n_train=dataset.get("n_train"), n_test=dataset.get("n_test"), seed=subset_seed
    )
    return loaded, x_train, x_test
