"""Per-latent collapse diagnostics at the pPCA / linear-VAE optimum and the (sigma2, k) sweep.

Collapse rule (fixed sigma2): latent i of the optimum is collapsed (zero decoder column,
posterior = prior, zero KL) exactly when lambda_i <= sigma2; the live latents are
#{i <= k : lambda_i > sigma2}.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from . import _validate
from .elbo import optimal_encoder
from .ppca import LOG_2PI, ppca_mle, tail_sums
from .spectrum import Spectrum

__all__ = ["collapse_diagnostics", "n_live", "sweep"]

ACTIVE_THRESHOLD = 0.01


def n_live(
    spectrum: Spectrum | np.ndarray | Sequence[float],
    sigma2: float | np.ndarray | Sequence[float],
    k: int | None = None,
) -> int | np.ndarray:
    """The linear theory's number of live latents at a fixed sigma2: min(k, #{lambda_i > sigma2}).

    At the optimum latent i keeps a non-zero decoder column exactly when its eigenvalue exceeds
    sigma2; lambda_i == sigma2 collapses.

    Args:
        spectrum: a Spectrum, or its (d,) covariance eigenvalues in any order (data units^2).
        sigma2: decoder noise variance(s) >= 0 (data units^2), a scalar or an array of any shape.
        k: latent size >= 0 (may exceed d); None counts every eigenvalue above sigma2.

    Returns:
        An int for a scalar sigma2, else an int array of sigma2's shape.
    """
    lam = _validate.eigenvalues(spectrum)
    s2 = _validate.sigma2_array(sigma2)
    live = (lam > s2[..., None]).sum(axis=-1)
    if k is not None:
        live = np.minimum(live, _validate.positive_int(k, "k", minimum=0))
    return int(live) if live.ndim == 0 else live


def collapse_diagnostics(
    spectrum: Spectrum,
    n_latent: int,
    sigma2: float | str | None = None,
    active_threshold: float = ACTIVE_THRESHOLD,
) -> dict[str, np.ndarray]:
    """Per-latent statistics of the optimal linear VAE (pPCA optimum with R = I, optimal encoder).

    Computed from the optimal encoder V, D and traces against S (closed forms in brackets):

    * posterior_variance: D_i (sigma2 / lambda_i if live, else 1);
    * encoder_mean_variance: Var_x(V_i x) = V_i S V_i^T ((lambda_i - sigma2) / lambda_i or 0),
      with the spectrum's ddof (ddof=1: the unbiased variance used for active units);
    * expected_kl: E_x KL(q(z_i|x) || N(0, 1)) in nats (1/2 log(lambda_i / sigma2) or 0).

    Args:
        spectrum: data spectrum. n_latent: k in [0, d]. sigma2: fixed value or None/"learned".
        active_threshold: a latent is active when encoder_mean_variance >= this (Burda et al.).

    Returns:
        Table columns (name -> (k,) array, one entry per latent i = 0..k-1; ``pd.DataFrame``
        takes it as is): latent, eigenvalue, posterior_variance, encoder_mean_variance,
        expected_kl, collapsed (bool), active (bool).
    """
    thr = _validate.sigma2(active_threshold, name="active_threshold")
    fit = ppca_mle(spectrum, n_latent, sigma2)
    V, D = optimal_encoder(fit.W, fit.sigma2)
    VU = V @ spectrum.eigenvectors
    enc_var = (VU * VU * spectrum.eigenvalues).sum(axis=1)
    kl = 0.5 * (D + enc_var - 1.0 - np.log(D))
    collapsed = ~(fit.W != 0.0).any(axis=0)
    return {
        "latent": np.arange(fit.n_latent),
        "eigenvalue": fit.eigenvalues,
        "posterior_variance": D,
        "encoder_mean_variance": enc_var,
        "expected_kl": kl,
        "collapsed": collapsed,
        "active": enc_var >= thr,
    }


def _sigma2_entries(sigma2: object) -> list[float | None]:
    if sigma2 is None or isinstance(sigma2, (str, int, float, np.floating, np.integer)):
        sigma2 = [sigma2]
    if not isinstance(sigma2, Iterable):
        raise ValueError(f"sigma2 must be a list of floats > 0 or None/'learned'; got {sigma2!r}.")
    out = [
        _validate.sigma2(s, name=f"sigma2[{i}]", allow_learned=True) for i, s in enumerate(sigma2)
    ]
    if not out:
        raise ValueError("sigma2 must contain at least one entry; got an empty list.")
    return out


def sweep(
    spectrum: Spectrum,
    sigma2: Sequence[float | str | None] | float | str | None,
    n_latent: Sequence[int] | None = None,
    active_threshold: float = ACTIVE_THRESHOLD,
) -> dict[str, np.ndarray]:
    """Optimum of pPCA and of the linear-VAE ELBO for every (sigma2, k) pair, vectorised.

    After the eigendecomposition each row costs O(1) via prefix sums over the eigenvalues; the
    counts cost O(len(sigma2) x d). The ELBO is evaluated from its own terms (reconstruction and
    KL at the optimal encoder, R = I), not copied from the likelihood; they agree to rounding
    because the optimal diagonal encoder is the exact posterior when R = I.

    Args:
        spectrum: data spectrum (d dimensions).
        sigma2: noise variances > 0; an entry None or "learned" means the MLE sigma2 for each k.
            Learned rows for which the MLE sigma2 is 0 (k = d, or data rank <= k) have
            sigma2 = 0 and NaN likelihood/ELBO (unbounded likelihood).
        n_latent: latent sizes in [0, d]; default 0..d.
        active_threshold: active-unit threshold on Var_x of the encoder mean.

    Returns:
        Table columns (name -> 1-D array, one entry per (sigma2 entry, k) with sigma2 outer;
        ``pd.DataFrame`` takes it as is): sigma2, sigma2_learned,
        n_latent, log_likelihood, elbo, rec, kl (nats per example), n_collapsed (zero decoder
        columns, lambda_i <= sigma2), n_live (= k - n_collapsed), n_active (latents with
        (lambda_i - sigma2) / lambda_i >= active_threshold).
    """
    _validate.spectrum(spectrum)
    thr = _validate.sigma2(active_threshold, name="active_threshold")
    d = spectrum.dim
    entries = _sigma2_entries(sigma2)
    ks = np.arange(d + 1) if n_latent is None else n_latent
    ks = np.array([_validate.n_latent(k, d, name="n_latent entry") for k in np.ravel(ks)], int)
    lam = spectrum.eigenvalues
    pos = lam > 0
    safe = np.where(pos, lam, 1.0)
    tail = tail_sums(lam)  # tail[L] = sum of lambda_i, i >= L (0-based)
    cum_log = np.concatenate([[0.0], np.cumsum(np.log(safe))])
    cum_inv = np.concatenate([[0.0], np.cumsum(np.where(pos, 1.0 / safe, 0.0))])

    def counts(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """#{lambda > s} and #{(lambda - s)/lambda >= thr} for each s."""
        live = n_live(lam, s)
        act = (((lam - s[:, None]) >= thr * lam) & pos).sum(axis=1)
        return live, act

    fixed = np.array([s for s in entries if s is not None], float)
    live_f, act_f = counts(fixed)
    learned = any(s is None for s in entries)
    if learned:
        ok = ks < d
        s_learn = np.zeros(ks.size)
        s_learn[ok] = tail[ks[ok]] / (d - ks[ok])  # mean of the discarded eigenvalues
        live_l, act_l = counts(s_learn)
    rows_s2, rows_live, rows_act, rows_learn = [], [], [], []
    f = 0
    for s in entries:
        if s is None:
            rows_s2.append(s_learn)
            rows_live.append(live_l)
            rows_act.append(act_l)
            rows_learn.append(np.ones(ks.size, bool))
        else:
            rows_s2.append(np.full(ks.size, s))
            rows_live.append(np.full(ks.size, live_f[f]))
            rows_act.append(np.full(ks.size, act_f[f]))
            rows_learn.append(np.zeros(ks.size, bool))
            f += 1
    s2 = np.stack(rows_s2)
    K = np.broadcast_to(ks, s2.shape)
    L = np.minimum(K, np.stack(rows_live))
    with np.errstate(divide="ignore", invalid="ignore"):
        s2n = np.where(s2 > 0, s2, np.nan)
        log_s2 = np.log(s2n)
        rest = tail[L]
        ll = -0.5 * (d * LOG_2PI + cum_log[L] + L + (d - L) * log_s2 + rest / s2n)
        # ELBO terms at the optimal encoder: live latent i has w_i^2 = lambda_i - s2,
        # D_i = s2 / lambda_i, V_i = w_i / lambda_i u_i^T; collapsed ones contribute nothing.
        inv = cum_inv[L]
        resid = rest + s2n**2 * inv  # E||x~ - W V x~||^2
        dec_trace = L * s2n - s2n**2 * inv  # tr(W D W^T)
        rec = -0.5 * (resid + dec_trace) / s2n - 0.5 * d * (LOG_2PI + log_s2)
        enc_sq = L - s2n * inv  # E||V x~||^2
        kl = 0.5 * (s2n * inv + enc_sq - L - (L * log_s2 - cum_log[L]))
    return {
        "sigma2": s2.ravel(),
        "sigma2_learned": np.stack(rows_learn).ravel(),
        "n_latent": K.ravel(),
        "log_likelihood": ll.ravel(),
        "elbo": (rec - kl).ravel(),
        "rec": rec.ravel(),
        "kl": kl.ravel(),
        "n_collapsed": (K - L).ravel(),
        "n_live": L.ravel(),
        "n_active": np.minimum(K, np.stack(rows_act)).ravel(),
    }
