"""Stationary points of the pPCA log-likelihood for a fixed sigma2, their type, and the landscape.

For fixed sigma2 the stationary points are W = U_K (K - sigma2 I)^{1/2} R, where U_K holds any k
distinct eigenvectors and K_ii is the matching eigenvalue (column used, lambda > sigma2) or sigma2
(column zero). In the eigenbasis the Hessian of the mean log-likelihood f(W) splits into
independent pieces (derived in docs/analytic.md); for a perturbation t u_j e_c^T of column c:

* zero column c, eigenvector j used by no column: f'' = (lambda_j - sigma2) / sigma2^2;
* column c using eigenvector i, unused j:         f'' = (lambda_j - lambda_i) / (sigma2 lambda_i);
* any column along an eigenvector that some column uses: f'' <= 0 (strictly < 0 for a used
  column; 0 for a zero column: a flat direction, the likelihood falls at fourth order).

So the ascent directions are exactly (zero column, unused eigenvector with lambda > sigma2) and
(used eigenvector i -> unused j with lambda_j > lambda_i) swaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _validate
from .ppca import LOG_2PI, _mean_ll_rotated
from .spectrum import Spectrum

__all__ = [
    "AscentDirection",
    "StationaryClassification",
    "StationaryPoint",
    "classify_stationary_point",
    "landscape",
    "stationary_point",
]


@dataclass(frozen=True, eq=False)
class StationaryPoint:
    """A stationary point W = U_K (K - sigma2 I)^{1/2} R of the fixed-sigma2 pPCA likelihood.

    Attributes:
        W: (d, k) weights. mean: (d,) bias (data mean). sigma2: noise variance.
        components: (k,) eigenvector index (0-based, descending order) of each column before R.
        zero: (k,) bool, column is zero (asked for, or its eigenvalue is <= sigma2).
        rotation: (k, k) R, or None for R = I.
        log_likelihood: mean log-likelihood per example (nats) against the spectrum's S.
    """

    W: np.ndarray
    mean: np.ndarray
    sigma2: float
    components: np.ndarray
    zero: np.ndarray
    rotation: np.ndarray | None
    log_likelihood: float

    @property
    def used(self) -> np.ndarray:
        """Sorted eigenvector indices carried by a non-zero column."""
        return np.sort(self.components[~self.zero])


@dataclass(frozen=True)
class AscentDirection:
    """Perturbing column ``column`` along eigenvector ``eigenvector`` raises the likelihood.

    ``replaces`` is None for a zero column, else the (smaller-eigenvalue) eigenvector the column
    uses now (a swap). ``curvature`` is d^2 f / dt^2 along W + t u_j e_c^T R (nats per unit^2).
    """

    column: int
    eigenvector: int
    replaces: int | None
    curvature: float

    @property
    def kind(self) -> str:
        """'zero column' or 'swap'."""
        return "zero column" if self.replaces is None else "swap"

    def tangent(self, spectrum: Spectrum, point: StationaryPoint) -> np.ndarray:
        """The unit (d, k) perturbation u_j e_c^T R of W along this direction."""
        delta = np.zeros_like(point.W)
        delta[:, self.column] = spectrum.eigenvectors[:, self.eigenvector]
        return delta if point.rotation is None else delta @ point.rotation


@dataclass(frozen=True)
class StationaryClassification:
    """Type of a stationary point.

    Attributes:
        label: 'global maximum', 'local maximum', 'saddle' or 'local minimum' (see
            :func:`classify_stationary_point`).
        ascent_directions: every ascent direction inside the studied perturbations.
        has_descent: some studied perturbation has negative curvature.
        n_ascent_total: number of ascent directions of the unrestricted problem.
    """

    label: str
    ascent_directions: list[AscentDirection] = field(default_factory=list)
    has_descent: bool = True
    n_ascent_total: int = 0


def stationary_point(
    spectrum: Spectrum,
    n_latent: int,
    sigma2: float,
    components: Sequence[int] | None = None,
    zero: Sequence[int] = (),
    rotation: np.ndarray | None = None,
) -> StationaryPoint:
    """Build a stationary point of the fixed-sigma2 pPCA likelihood.

    Args:
        spectrum: data spectrum (d dimensions).
        n_latent: k in [0, d].
        sigma2: fixed noise variance > 0.
        components: k distinct eigenvector indices (0 = largest eigenvalue) for the columns;
            default 0..k-1 (the global maximum when nothing is zeroed).
        zero: column indices (in [0, k)) to set to zero. Columns whose eigenvalue is <= sigma2
            are zero anyway (K_ii = sigma2).
        rotation: optional (k, k) orthogonal R.
    """
    _validate.spectrum(spectrum)
    d = spectrum.dim
    k = _validate.n_latent(n_latent, d)
    s2 = _validate.sigma2(sigma2)
    comps = np.arange(k) if components is None else components
    comps = _validate.index_list(comps, d, "components", length=k)
    zero_idx = _validate.index_list(zero, k if k else 1, "zero") if len(zero) else np.array([], int)
    if k == 0 and zero_idx.size:
        raise ValueError(f"zero must be empty when n_latent=0; got {list(zero)}.")
    rot = None if rotation is None else _validate.rotation(rotation, k)
    lam = spectrum.eigenvalues
    is_zero = lam[comps] <= s2
    is_zero[zero_idx] = True
    scale = np.where(is_zero, 0.0, np.sqrt(np.maximum(lam[comps] - s2, 0.0)))
    W = spectrum.eigenvectors[:, comps] * scale
    if rot is not None:
        W = W @ rot
    live = lam[comps[~is_zero]]
    ll = -0.5 * (
        d * LOG_2PI
        + np.log(live).sum()
        + live.size
        + (d - live.size) * np.log(s2)
        + (lam.sum() - live.sum()) / s2
    )
    return StationaryPoint(W, spectrum.mean.copy(), s2, comps, is_zero, rot, float(ll))


def _directions(spectrum, point, columns, directions):
    """Ascent directions and whether a descent direction exists, inside a restriction."""
    lam = spectrum.eigenvalues
    d, k = spectrum.dim, point.W.shape[1]
    s2 = point.sigma2
    used_rows = np.zeros(d, bool)
    used_rows[point.used] = True
    col_ok = np.zeros(k, bool)
    col_ok[columns] = True
    row_ok = np.zeros(d, bool)
    row_ok[directions] = True
    unused = np.flatnonzero(~used_rows & row_ok)
    ascent, descent = [], False
    for c in np.flatnonzero(col_ok):
        if point.zero[c]:
            gain = lam[unused] - s2
            curv = gain / s2**2
            ascent += [
                AscentDirection(int(c), int(j), None, float(g))
                for j, g in zip(unused[gain > 0], curv[gain > 0], strict=True)
            ]
            descent |= bool((gain < 0).any())
        else:
            i = int(point.components[c])
            gain = lam[unused] - lam[i]
            curv = gain / (s2 * lam[i])
            ascent += [
                AscentDirection(int(c), int(j), i, float(g))
                for j, g in zip(unused[gain > 0], curv[gain > 0], strict=True)
            ]
            descent |= bool((gain < 0).any()) or bool((used_rows & row_ok).any())
    return ascent, descent


def classify_stationary_point(
    spectrum: Spectrum,
    point: StationaryPoint,
    columns: Sequence[int] | None = None,
    directions: Sequence[int] | None = None,
) -> StationaryClassification:
    """Classify a fixed-sigma2 pPCA stationary point from the eigenvalues (no Hessian needed).

    The studied perturbations are W + Delta R with Delta nonzero only in ``columns`` (default
    all k) and each column of Delta in the span of eigenvectors ``directions`` (default all d).
    Let "ascent" mean a studied direction of positive curvature (listed in
    ``ascent_directions``) and "descent" one of negative curvature. Labels:

    * 'global maximum': no ascent direction in the unrestricted problem. In the fixed-sigma2
      pPCA this is exactly: every eigenvalue > sigma2 that could be used is used, i.e. the used
      eigenvalues are a top set (every unused lambda_j <= every used lambda_i, and <= sigma2 if
      some column is zero). It then has the largest likelihood of all stationary points.
    * 'local maximum': not a global maximum, but no ascent direction among the studied
      perturbations. Without a restriction this never happens (all local maxima of the
      fixed-sigma2 pPCA likelihood are global); with one it is the paper's Figure-1 reading: a
      zero column is a maximum in its own directions once sigma2 exceeds their eigenvalues, even
      while some other direction (a larger unused eigenvalue) still leads uphill.
    * 'saddle': studied ascent and descent directions both exist.
    * 'local minimum': studied ascent directions exist and none of descent, e.g. W = 0 with
      sigma2 below every eigenvalue (or a zero column studied only along eigenvectors with
      lambda > sigma2).

    Zero-curvature directions (rotations among used columns, a zero column along a used
    eigenvector, ties) count as neither ascent nor descent.
    """
    _validate.spectrum(spectrum)
    if not isinstance(point, StationaryPoint):
        raise ValueError(
            f"point must be a StationaryPoint from stationary_point(); got {type(point).__name__}."
        )
    d, k = spectrum.dim, point.W.shape[1]
    if point.W.shape[0] != d:
        raise ValueError(f"point has dimension {point.W.shape[0]}, spectrum has d={d}.")
    cols = np.arange(k) if columns is None else _validate.index_list(columns, max(k, 1), "columns")
    rows = np.arange(d) if directions is None else _validate.index_list(directions, d, "directions")
    ascent, descent = _directions(spectrum, point, cols, rows)
    if columns is None and directions is None:
        full_ascent = ascent
    else:
        full_ascent = _directions(spectrum, point, np.arange(k), np.arange(d))[0]
    if not full_ascent:
        label = "global maximum"
    elif not ascent:
        label = "local maximum"
    elif descent:
        label = "saddle"
    else:
        label = "local minimum"
    return StationaryClassification(label, ascent, descent, len(full_ascent))


def landscape(
    spectrum: Spectrum,
    sigma2: float,
    column: int,
    directions: tuple[int, int],
    grid: np.ndarray | tuple[np.ndarray, np.ndarray],
    n_latent: int | None = None,
    components: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Mean log-likelihood around a stationary point with a zero column (paper Figure 1 data).

    The base point is ``stationary_point(spectrum, n_latent, sigma2, components,
    zero=[column])`` (default n_latent = column + 1). Column ``column`` is set to
    a u_p + b u_q with (p, q) = ``directions`` (eigenvector indices) for every (a, b) on the grid.

    Args:
        grid: 1-D offsets used for both a and b, or a pair (grid_a, grid_b).

    Returns:
        Tidy table columns (name -> 1-D array; ``pd.DataFrame`` takes it as is): a, b,
        log_likelihood (nats per example), one entry per grid point, a varying slowest
        (``np.meshgrid(..., indexing="ij")`` order).
    """
    _validate.spectrum(spectrum)
    d = spectrum.dim
    k = column + 1 if n_latent is None and isinstance(column, (int, np.integer)) else n_latent
    k = _validate.n_latent(k, d)
    col = int(_validate.index_list([column], max(k, 1), "column")[0])
    pair = _validate.index_list(directions, d, "directions", length=2)
    if isinstance(grid, tuple):
        ga = _validate.matrix(grid[0], "grid[0]", (None,))
        gb = _validate.matrix(grid[1], "grid[1]", (None,))
    else:
        ga = gb = _validate.matrix(grid, "grid", (None,))
    base = stationary_point(spectrum, k, sigma2, components, zero=[col])
    P0 = spectrum.eigenvectors.T @ base.W
    a, b = (x.ravel() for x in np.meshgrid(ga, gb, indexing="ij"))
    out = np.empty(a.size)
    batch = max(1, 2_000_000 // max(d * max(k, 1), 1))
    for s in range(0, a.size, batch):
        P = np.repeat(P0[None], min(batch, a.size - s), axis=0)
        P[:, :, col] = 0.0
        P[:, pair[0], col] = a[s : s + batch]
        P[:, pair[1], col] = b[s : s + batch]
        out[s : s + batch] = _mean_ll_rotated(spectrum.eigenvalues, P, base.sigma2)
    return {"a": a, "b": b, "log_likelihood": out}
