"""Synthetic data from a pPCA / Gaussian model with a known eigen-spectrum.

x = U diag(sqrt(lambda)) e, e ~ N(0, I_d), U a random orthogonal basis (QR of a Gaussian matrix
with signs fixed, i.e. Haar-distributed). The population covariance is U diag(lambda) U^T and the
population mean is zero. With ``spectrum="geometric"``,
lambda_i = noise + scale * decay**i for i < n_strong and lambda_i = noise otherwise:
exactly a pPCA model with k = n_strong latents and sigma^2 = noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lucas2019.data.source import DatasetSource, RawSplits

SPECTRA = ("geometric",)
DIM = 20  # default data dimension


def make_spectrum(
    dim: int,
    spectrum: str | Sequence[float] = "geometric",
    n_strong: int = 5,
    decay: float = 0.5,
    noise: float = 0.1,
    scale: float = 1.0,
) -> np.ndarray:
    """Population eigenvalues (dim,), descending, all > 0 (units: data variance)."""
    if not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"dim={dim!r}: must be a positive int (data dimension).")
    if isinstance(spectrum, str):
        if spectrum not in SPECTRA:
            raise ValueError(
                f"spectrum={spectrum!r}: unknown named spectrum; allowed {SPECTRA} or a list of "
                f"{dim} positive eigenvalues."
            )
        if not 0 <= n_strong <= dim:
            raise ValueError(
                f"n_strong={n_strong!r}: must be in 0..dim={dim}; lower n_strong or raise dim."
            )
        if not 0 < decay <= 1:
            raise ValueError(f"decay={decay!r}: must be in (0, 1] (ratio of successive strengths).")
        if noise <= 0 or scale <= 0:
            raise ValueError(f"noise={noise!r}, scale={scale!r}: both must be > 0.")
        lam = np.full(dim, float(noise))
        lam[:n_strong] += scale * decay ** np.arange(n_strong)
        return lam
    lam = np.asarray(spectrum, dtype=np.float64)
    if lam.shape != (dim,) or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(
            f"spectrum={list(np.ravel(lam))[:8]}...: a list needs exactly dim={dim} finite "
            f"positive eigenvalues (got shape {lam.shape}). Fix the list or the dim option."
        )
    return np.sort(lam)[::-1].copy()


def random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random orthogonal (dim, dim) matrix (QR with the sign of R's diagonal fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def make_synthetic(
    dim: int = DIM,
    n_train: int = 1000,
    n_test: int = 1000,
    spectrum: str | Sequence[float] = "geometric",
    n_strong: int = 5,
    decay: float = 0.5,
    noise: float = 0.1,
    scale: float = 1.0,
    seed: int = 0,
) -> dict:
    """Sample the model.

    Returns:
        dict with ``train`` float32 (n_train, dim) or None if 0, ``test`` (n_test, dim) or None,
        ``true_eigenvalues`` (dim,) descending, ``true_basis`` (dim, dim) columns, ``true_mean``
        zeros (dim,).
    """
    for key, val in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(val, int | np.integer) or val < 0:
            raise ValueError(f"{key}={val!r}: must be an int >= 0 (number of examples).")
    if n_train + n_test == 0:
        raise ValueError("n_train=0 and n_test=0: ask for at least one example.")
    lam = make_spectrum(dim, spectrum, n_strong, decay, noise, scale)
    rng = np.random.default_rng(seed)
    basis = random_orthogonal(dim, rng)
    factor = basis * np.sqrt(lam)  # x = factor @ e

    def sample(n: int) -> np.ndarray | None:
        if n == 0:
            return None
        return (rng.standard_normal((n, dim)) @ factor.T).astype(np.float32)

    train = sample(n_train)
    test = sample(n_test)
    return {
        "train": train,
        "test": test,
        "true_eigenvalues": lam,
        "true_basis": basis,
        "true_mean": np.zeros(dim),
    }


def read(root: Path, *, download: bool, seed: int, **options: Any) -> RawSplits:
    """The registry's reader: :func:`make_synthetic` with ``seed`` (root, download unused)."""
    out = make_synthetic(seed=seed, **options)
    lam = out["true_eigenvalues"]
    return RawSplits(
        out["train"],
        out["test"],
        (len(lam),),
        None,
        "generated",
        true_eigenvalues=lam,
        true_basis=out["true_basis"],
    )


def data_dim(options: Mapping[str, Any]) -> int:
    """The length of an explicit ``spectrum`` list, else the ``dim`` option."""
    spectrum = options.get("spectrum")
    explicit = spectrum is not None and not isinstance(spectrum, str)
    return len(spectrum) if explicit else int(options.get("dim", DIM))


SOURCE = DatasetSource(
    read,
    options_of=make_synthetic,
    data_dim=data_dim,
    default_preprocess="none",
    preprocessings=("none",),  # already continuous and unbounded
)
