"""Probabilistic PCA: the closed-form optimum and the Gaussian marginal log-likelihood.

Model: z ~ N(0, I_k), x | z ~ N(W z + mean, sigma2 I_d), so x ~ N(mean, C), C = W W^T + sigma2 I.
All log-likelihoods are in nats per example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from . import _validate
from .spectrum import Spectrum, eigenvalue_rank

__all__ = ["PPCAResult", "learnable_n_latent", "log_likelihood", "mle_sigma2", "ppca_mle"]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True, eq=False)
class PPCAResult:
    """The pPCA optimum for one latent size.

    Attributes:
        W: (d, k) decoder weights U_k diag(max(lambda_i - sigma2, 0))^{1/2} R.
        mean: (d,) decoder bias (the data mean).
        sigma2: observation noise variance (learned or the fixed value passed in).
        n_collapsed: number of latents with lambda_i <= sigma2, i.e. zero columns of
            U_k (Lambda_k - sigma2)_+^{1/2} (with a rotation R, the number of dead directions
            k - rank W).
        log_likelihood: mean log marginal likelihood per example over the fitted data (nats),
            -1/2 [d log 2 pi + log|C| + tr(C^-1 S)], from the eigenvalues in O(d).
            It is the exact data mean when the spectrum has ddof=0.
        eigenvalues: (k,) the eigenvalues lambda_1..lambda_k the columns use.
        sigma2_learned: whether sigma2 is the maximum-likelihood value.
    """

    W: np.ndarray
    mean: np.ndarray
    sigma2: float
    n_collapsed: int
    log_likelihood: float
    eigenvalues: np.ndarray
    sigma2_learned: bool

    @property
    def n_latent(self) -> int:
        """Latent size k."""
        return int(self.W.shape[1])

    def covariance(self) -> np.ndarray:
        """(d, d) model covariance C = W W^T + sigma2 I."""
        return self.W @ self.W.T + self.sigma2 * np.eye(self.W.shape[0])


def tail_sums(eigenvalues: np.ndarray) -> np.ndarray:
    """(d + 1,) sums of lambda_{k+1..d} for k = 0..d (reverse cumulative sum, no cancellation)."""
    return np.concatenate([np.cumsum(eigenvalues[::-1])[::-1], [0.0]])


def mle_sigma2(eigenvalues: np.ndarray, n_latent: int) -> float:
    """Maximum-likelihood sigma2: the mean of the discarded eigenvalues lambda_{k+1..d}.

    Raises ValueError when it is undefined or zero (k = d, or the data have rank <= k): the
    likelihood is then unbounded as sigma2 -> 0.
    """
    d = eigenvalues.shape[0]
    if n_latent >= d:
        raise ValueError(
            f"n_latent={n_latent} equals the data dimension d={d}: the learned sigma2 is "
            f"undefined (the likelihood grows without bound as sigma2 -> 0). "
            f"Pass a fixed sigma2 or n_latent < {d}."
        )
    value = float(tail_sums(eigenvalues)[n_latent] / (d - n_latent))
    if value <= 0.0:
        raise ValueError(
            f"n_latent={n_latent}: the discarded eigenvalues are all zero (data rank <= "
            f"{n_latent}), so the learned sigma2 would be 0 and the likelihood unbounded. "
            f"Pass a fixed sigma2 or a smaller n_latent."
        )
    return value


def learnable_n_latent(spectrum: Spectrum | np.ndarray, n_latent: int) -> int:
    """The largest latent size <= ``n_latent`` whose learned sigma2 is positive: min(k, rank - 1).

    The MLE sigma2 is the mean of the discarded eigenvalues, so it is 0 (likelihood unbounded)
    once k reaches the data's rank (:func:`eigenvalue_rank`); data with constant pixels (MNIST,
    digits) have rank < d. Use it before ``ppca_mle(spectrum, k)`` with a learned sigma2.

    Args:
        spectrum: a Spectrum, or its (d,) covariance eigenvalues in any order.
        n_latent: k >= 0 (may exceed d).

    Raises:
        ValueError: rank-0 data (every eigenvalue is 0) have no such latent size.
    """
    rank = eigenvalue_rank(_validate.eigenvalues(spectrum))
    k = _validate.positive_int(n_latent, "n_latent", minimum=0)
    if rank == 0:
        raise ValueError(
            "spectrum has rank 0 (every eigenvalue is 0: constant data), so the learned sigma2 "
            "is 0 at every latent size. Pass a fixed sigma2 or data that vary."
        )
    return min(k, rank - 1)


def ppca_mle(
    spectrum: Spectrum,
    n_latent: int,
    sigma2: float | str | None = None,
    rotation: np.ndarray | None = None,
) -> PPCAResult:
    """Closed-form pPCA optimum (Tipping and Bishop 1999) for latent size ``n_latent``.

    Args:
        spectrum: data spectrum (d dimensions).
        n_latent: k, 0 <= k <= d.
        sigma2: fixed noise variance > 0, or None/"learned" for the MLE (mean of the discarded
            eigenvalues; ValueError for k = d or when those are all zero).
        rotation: optional (k, k) orthogonal R; W = U_k (Lambda_k - sigma2)_+^{1/2} R.

    Returns:
        PPCAResult with W (d, k), mean (d,), sigma2, n_collapsed, log_likelihood (nats/example).
    """
    _validate.spectrum(spectrum)
    d = spectrum.dim
    k = _validate.n_latent(n_latent, d)
    fixed = _validate.sigma2(sigma2, allow_learned=True)
    rot = None if rotation is None else _validate.rotation(rotation, k)
    lam = spectrum.eigenvalues
    s2 = mle_sigma2(lam, k) if fixed is None else fixed
    scale = np.sqrt(np.maximum(lam[:k] - s2, 0.0))
    W = spectrum.eigenvectors[:, :k] * scale
    if rot is not None:
        W = W @ rot
    return PPCAResult(
        W=W,
        mean=spectrum.mean.copy(),
        sigma2=s2,
        n_collapsed=int(np.count_nonzero(scale == 0.0)),
        log_likelihood=_optimum_log_likelihood(lam, k, s2),
        eigenvalues=lam[:k].copy(),
        sigma2_learned=fixed is None,
    )


def _optimum_log_likelihood(eigenvalues: np.ndarray, k: int, sigma2: float) -> float:
    """Mean log-likelihood at the optimum: C has eigenvalue max(lambda_i, sigma2) (i <= k)."""
    d = eigenvalues.shape[0]
    live = eigenvalues[:k][eigenvalues[:k] > sigma2]
    n_live = live.shape[0]
    rest = tail_sums(eigenvalues)[n_live]
    return -0.5 * (
        d * LOG_2PI + np.log(live).sum() + n_live + (d - n_live) * np.log(sigma2) + rest / sigma2
    )


def log_likelihood(X: np.ndarray, mean: np.ndarray, W: np.ndarray, sigma2: float) -> np.ndarray:
    """Per-example log marginal likelihood log N(x; mean, W W^T + sigma2 I), in nats.

    Uses the Woodbury identity with M = W^T W + sigma2 I (k x k): never forms or inverts a d x d
    matrix. Cost O(n d k + d k^2).

    Args:
        X: (n, d) data. mean: (d,). W: (d, k). sigma2: noise variance > 0.

    Returns:
        (n,) log-likelihoods.
    """
    s2 = _validate.sigma2(sigma2)
    X = _validate.matrix(X, "X", (None, None))
    d = X.shape[1]
    mean = _validate.matrix(mean, "mean", (d,))
    W = _validate.matrix(W, "W", (d, None))
    k = W.shape[1]
    M = W.T @ W + s2 * np.eye(k)
    chol = scipy.linalg.cholesky(M, lower=True)
    logdet = (d - k) * np.log(s2) + 2.0 * np.log(np.diag(chol)).sum()
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], 8192):
        xc = X[start : start + 8192] - mean
        y = scipy.linalg.solve_triangular(chol, W.T @ xc.T, lower=True)
        quad = (np.einsum("ij,ij->i", xc, xc) - np.einsum("ji,ji->i", y, y)) / s2
        out[start : start + 8192] = -0.5 * (d * LOG_2PI + logdet + quad)
    return out


def mean_log_likelihood(spectrum: Spectrum, W: np.ndarray, sigma2: float) -> float:
    """Data-mean log-likelihood of any W (d, k) with the spectrum's mean, from traces against S.

    -1/2 [d log 2 pi + log|C| + tr(C^-1 S)] with Woodbury; exact data mean for ddof=0.
    """
    _validate.spectrum(spectrum)
    s2 = _validate.sigma2(sigma2)
    W = _validate.matrix(W, "W", (spectrum.dim, None))
    P = spectrum.eigenvectors.T @ W
    return float(_mean_ll_rotated(spectrum.eigenvalues, P[None], s2)[0])


def _mean_ll_rotated(eigenvalues: np.ndarray, P: np.ndarray, sigma2: float) -> np.ndarray:
    """Mean log-likelihood for a batch of W in the eigenbasis: P = U^T W, shape (b, d, k)."""
    d, k = P.shape[1], P.shape[2]
    M = np.einsum("bik,bil->bkl", P, P) + sigma2 * np.eye(k)
    WSW = np.einsum("bik,i,bil->bkl", P, eigenvalues, P)
    logdet_m = np.linalg.slogdet(M)[1]
    trace = np.trace(np.linalg.solve(M, WSW), axis1=1, axis2=2)
    tr_cinv_s = (eigenvalues.sum() - trace) / sigma2
    return -0.5 * (d * LOG_2PI + (d - k) * np.log(sigma2) + logdet_m + tr_cinv_s)
