"""The analytic ELBO of the linear VAE, per example and as a data mean from traces against S.

Encoder q(z | x) = N(V (x - mean), diag(D)), decoder p(x | z) = N(W z + mean, sigma2 I),
prior N(0, I_k). With x~ = x - mean (all in nats):

    E_q log p(x|z) = -1/(2 sigma2) [ ||x~ - W V x~||^2 + tr(W diag(D) W^T) ] - d/2 log(2 pi sigma2)
    KL(q || p)     = 1/2 [ sum D + ||V x~||^2 - k - sum log D ]

Averaged over the data, x~ x~^T becomes S (plus (m - mean)(m - mean)^T when the decoder bias is
not the data mean m), so the whole ELBO is a function of the spectrum.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .ppca import LOG_2PI
from .spectrum import Spectrum

__all__ = ["elbo", "elbo_terms", "mean_elbo", "mean_elbo_terms", "optimal_encoder"]


def optimal_encoder(W: np.ndarray, sigma2: float) -> tuple[np.ndarray, np.ndarray]:
    """Best linear encoder for decoder ``W`` (d, k): V = M^-1 W^T (k, d), D = sigma2 / diag(M) (k,).

    M = W^T W + sigma2 I. V is the exact posterior mean map; D is the best diagonal covariance
    (it equals the exact posterior covariance sigma2 M^-1 when W has orthogonal columns).
    """
    s2 = _validate.sigma2(sigma2)
    W = _validate.matrix(W, "W", (None, None))
    M = W.T @ W + s2 * np.eye(W.shape[1])
    V = np.linalg.solve(M, W.T)
    return V, s2 / np.diag(M)


def _check(W, V, D, sigma2, d=None):
    s2 = _validate.sigma2(sigma2)
    W = _validate.matrix(W, "W", (d, None))
    d, k = W.shape
    V = _validate.matrix(V, "V", (k, d))
    D = _validate.encoder_variances(D, k)
    return W, V, D, s2


def elbo_terms(
    X: np.ndarray,
    mean: np.ndarray,
    W: np.ndarray,
    V: np.ndarray,
    D: np.ndarray,
    sigma2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (rec, kl): E_q log p(x|z) (n,) and KL(q(z|x) || p(z)) (n,), in nats.

    Shapes: X (n, d), mean (d,), W (d, k), V (k, d), D (k,) encoder variances, sigma2 > 0.
    """
    X = _validate.matrix(X, "X", (None, None))
    d = X.shape[1]
    W, V, D, s2 = _check(W, V, D, sigma2, d)
    mean = _validate.matrix(mean, "mean", (d,))
    k = W.shape[1]
    xc = X - mean
    z = xc @ V.T
    resid = xc - z @ W.T
    sq = np.einsum("ij,ij->i", resid, resid)
    rec = -0.5 * (sq + float(D @ (W * W).sum(axis=0))) / s2 - 0.5 * d * (LOG_2PI + np.log(s2))
    kl = 0.5 * (D.sum() + np.einsum("ij,ij->i", z, z) - k - np.log(D).sum())
    return rec, kl


def elbo(
    X: np.ndarray,
    mean: np.ndarray,
    W: np.ndarray,
    V: np.ndarray,
    D: np.ndarray,
    sigma2: float,
) -> np.ndarray:
    """Per-example analytic linear-VAE ELBO (n,) in nats; no sampling. See :func:`elbo_terms`."""
    rec, kl = elbo_terms(X, mean, W, V, D, sigma2)
    return rec - kl


def mean_elbo_terms(
    spectrum: Spectrum,
    W: np.ndarray,
    V: np.ndarray,
    D: np.ndarray,
    sigma2: float,
    mean: np.ndarray | None = None,
) -> tuple[float, float]:
    """Data means (rec, kl) of the ELBO terms from traces against S (see :func:`mean_elbo`)."""
    _validate.spectrum(spectrum)
    d = spectrum.dim
    W, V, D, s2 = _check(W, V, D, sigma2, d)
    k = W.shape[1]
    U, lam = spectrum.eigenvectors, spectrum.eigenvalues
    # Second moment about the decoder bias: S + delta delta^T (delta = 0 for the data mean).
    delta = np.zeros(d) if mean is None else spectrum.mean - _validate.matrix(mean, "mean", (d,))
    # A = I - W V; E||A x~||^2 = tr(A S A^T) + ||A delta||^2, with S = U diag(lam) U^T.
    VU = V @ U  # (k, d), column j is V u_j
    AU = U - W @ VU  # (d, d), column j is A u_j
    resid = float((AU * AU * lam).sum())
    a_delta = delta - W @ (V @ delta)
    resid += float(a_delta @ a_delta)
    v_delta = V @ delta
    enc_sq = float((VU * VU * lam).sum() + v_delta @ v_delta)  # E||V x~||^2
    rec = -0.5 * (resid + float(D @ (W * W).sum(axis=0))) / s2 - 0.5 * d * (LOG_2PI + np.log(s2))
    kl = 0.5 * (D.sum() + enc_sq - k - np.log(D).sum())
    return float(rec), float(kl)


def mean_elbo(
    spectrum: Spectrum,
    W: np.ndarray,
    V: np.ndarray,
    D: np.ndarray,
    sigma2: float,
    mean: np.ndarray | None = None,
) -> float:
    """Data mean of the analytic ELBO (nats per example), from traces against S; no data needed.

    Every quadratic form E[x~^T A x~] is replaced by tr(A S). This equals the mean of
    :func:`elbo` over the data exactly when the spectrum was built with ddof=0 (S = scatter / n);
    with ddof=1 it is the same expression with the unbiased covariance.

    Args:
        spectrum: data spectrum. W: (d, k). V: (k, d). D: (k,) encoder variances. sigma2 > 0.
        mean: decoder bias (d,); default the spectrum's mean.
    """
    rec, kl = mean_elbo_terms(spectrum, W, V, D, sigma2, mean)
    return rec - kl
