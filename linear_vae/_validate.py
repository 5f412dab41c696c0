"""Input checks shared by every public function of :mod:`linear_vae` (the only copy).

Each check raises ``ValueError`` naming the argument, the value that came in, what is allowed
and how to fix it, before any numerical work starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

LEARNED = "learned"


def _short(value: Any) -> str:
    """A short printable form of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def sigma2(value: Any, name: str = "sigma2", allow_learned: bool = False) -> float | None:
    """Return a finite float > 0; ``None``/"learned" -> ``None`` when ``allow_learned``."""
    if allow_learned and (value is None or (isinstance(value, str) and value == LEARNED)):
        return None
    hint = " or None/'learned' to use the maximum-likelihood value" if allow_learned else ""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a finite number > 0 (decoder noise variance){hint}; "
            f"got {_short(value)}. Pass e.g. {name}=0.5."
        ) from None
    if not math.isfinite(out) or out <= 0.0:
        raise ValueError(
            f"{name} must be a finite number > 0 (decoder noise variance){hint}; "
            f"got {out!r}. Pass a positive float, e.g. {name}=0.5."
        )
    return out


def sigma2_array(value: Any, name: str = "sigma2") -> np.ndarray:
    """Return ``value`` (a scalar or an array of any shape) as finite float64 values >= 0."""
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        out = None
    if out is None or not np.isfinite(out).all() or (out < 0).any():
        raise ValueError(
            f"{name} must be finite and >= 0 (decoder noise variance, data units squared), a "
            f"number or an array; got {_short(value)}. Pass e.g. {name}=0.5 or [0.1, 1.0]."
        )
    return out


def n_latent(value: Any, dim: int, name: str = "n_latent") -> int:
    """Return an int k with 0 <= k <= dim."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"{name} must be an integer in [0, {dim}] (the data dimension); got {_short(value)}."
        )
    k = int(value)
    if k < 0 or k > dim:
        raise ValueError(
            f"{name} must be in [0, {dim}] (0 <= k <= data dimension d={dim}); got {k}. "
            f"Choose a latent size no larger than the data dimension."
        )
    return k


def index_list(value: Any, upper: int, name: str, length: int | None = None) -> np.ndarray:
    """Return distinct integer indices in [0, upper) as an int array (optionally of ``length``)."""
    arr = np.asarray(value if value is not None else [], dtype=object).ravel()
    try:
        idx = np.array([int(v) for v in arr], dtype=np.int64)
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a sequence of integers; got {_short(value)}.")
    if idx.size and (idx.min() < 0 or idx.max() >= upper):
        raise ValueError(f"{name} entries must lie in [0, {upper - 1}]; got {idx.tolist()}.")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{name} entries must be distinct; got {idx.tolist()}.")
    if length is not None and idx.size != length:
        raise ValueError(
            f"{name} must have exactly {length} entries; got {idx.size}: {idx.tolist()}."
        )
    return idx


def matrix(
    value: Any,
    name: str,
    shape: Sequence[int | None],
    allow_empty: bool = True,
) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape (``None`` = any size)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array; got {_short(value)}.") from None
    want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
    wrong = arr.ndim != len(shape) or any(
        s is not None and a != s for a, s in zip(arr.shape, shape, strict=True)
    )
    if wrong:
        raise ValueError(
            f"{name} must have shape {want}; got shape {arr.shape}. Reshape or transpose it."
        )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        raise ValueError(
            f"{name} must contain only finite values; got {float(arr[tuple(bad)])!r} at index "
            f"{bad}. "
            f"Remove or impute NaN/inf entries first."
        )
    return arr


def encoder_variances(value: Any, k: int, name: str = "D") -> np.ndarray:
    """Return the (k,) diagonal encoder variances, each > 0."""
    D = matrix(value, name, (k,))
    if (D <= 0).any():
        raise ValueError(
            f"{name} (diagonal encoder variances) must be > 0; got min {D.min()!r}. "
            f"Pass variances, not log-variances."
        )
    return D


def symmetric(cov: np.ndarray, name: str = "C", rtol: float = 1e-10) -> None:
    """Raise unless ``cov`` (already a finite square array) is symmetric to ``rtol``."""
    scale = max(float(np.abs(cov).max(initial=0.0)), np.finfo(float).tiny)
    asym = float(np.abs(cov - cov.T).max(initial=0.0))
    if asym > rtol * scale:
        raise ValueError(
            f"{name} must be a symmetric covariance matrix; got max |{name} - {name}.T| = "
            f"{asym:.3g} (allowed <= {rtol:g} x max|{name}| = {rtol * scale:.3g}). "
            f"Symmetrise it with ({name} + {name}.T) / 2."
        )


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {_short(value)}.")
    return int(value)


def rotation(value: Any, k: int, name: str = "rotation", atol: float = 1e-8) -> np.ndarray:
    """Return a (k, k) orthogonal matrix."""
    rot = matrix(value, name, (k, k))
    err = float(np.abs(rot.T @ rot - np.eye(k)).max(initial=0.0))
    if err > atol:
        raise ValueError(
            f"{name} must be orthogonal (R.T @ R = I); got max |R.T R - I| = {err:.3g} "
            f"(allowed <= {atol:g}). Use e.g. scipy.stats.ortho_group.rvs({k})."
        )
    return rot


def spectrum(value: Any, name: str = "spectrum") -> None:
    """Raise unless ``value`` is a :class:`linear_vae.Spectrum`."""
    from .spectrum import Spectrum

    if not isinstance(value, Spectrum):
        raise ValueError(
            f"{name} must be a linear_vae.Spectrum; got {type(value).__name__}. "
            f"Build one with Spectrum.from_data(X) or Spectrum.from_covariance(C, mean, n)."
        )


def eigenvalues(value: Any, name: str = "spectrum") -> np.ndarray:
    """Return the eigenvalues of a :class:`linear_vae.Spectrum`, or ``value`` as a non-empty
    finite 1-D float64 array (covariance eigenvalues in any order)."""
    from .spectrum import Spectrum

    if isinstance(value, Spectrum):
        return value.eigenvalues
    try:
        lam = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        lam = None
    if lam is None or lam.ndim != 1 or lam.size == 0 or not np.isfinite(lam).all():
        raise ValueError(
            f"{name} must be a linear_vae.Spectrum or a non-empty 1-D array of finite covariance "
            f"eigenvalues; got {_short(value)}. Pass Spectrum.from_data(X) or its .eigenvalues."
        )
    return lam
