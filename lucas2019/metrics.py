"""Posterior-collapse and likelihood metrics for a trained VAE (all per example, nats).

- ``kl_per_latent``: KL(q(z_i | x) || N(0, 1)) for every example and latent.
- (ε, δ)-collapse (paper, section 6): latent i is collapsed if P_x[KL_i(x) < ε] ≥ 1 - δ;
  ``collapse_curve`` gives the fraction collapsed on an ε grid, ``collapsed_fraction`` at one ε.
- ``active_units`` (Burda et al. 2015): #{i : Var_x(E_q[z_i]) ≥ threshold}, unbiased variance.
- ``iw_log_px``: importance-weighted estimate of log p(x) with q as the proposal (a lower bound that
  tightens as K grows; K = 1 is a one-sample ELBO).
- ``evaluate``: all of the above on a data set, batched, under no_grad, deterministic given a seed.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lucas2019.models.base import gaussian_kl

DEFAULT_EPS_GRID = np.linspace(0.0, 2.0, 100)
_LOG_2PI = math.log(2.0 * math.pi)


def kl_per_latent(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z_i | x) || N(0, 1)) per entry, nats (``models.base.gaussian_kl``) after a shape check:
    mu (n, k), logvar (n, k) -> (n, k)."""
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (n, k); got {tuple(mu.shape)} and "
            f"{tuple(logvar.shape)}."
        )
    return gaussian_kl(mu, logvar)


def _as_2d_numpy(name: str, a: torch.Tensor | np.ndarray) -> np.ndarray:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(
            f"{name} must be a 2-D array (n examples, k latents); got shape {a.shape}."
        )
    return a.astype(np.float64, copy=False)


def _check_delta(delta: float) -> None:
    if not (isinstance(delta, numbers.Real) and 0.0 <= delta < 1.0):
        raise ValueError(f"delta must be a float in [0, 1) (e.g. 0.01); got {delta!r}.")


def collapse_curve(
    kl: torch.Tensor | np.ndarray,
    eps_grid: Sequence[float] | np.ndarray = DEFAULT_EPS_GRID,
    delta: float = 0.01,
) -> np.ndarray:
    """Fraction of latents (ε, δ)-collapsed at each ε: kl (n, k) nats, eps_grid (m,) -> (m,).

    Latent i is collapsed at ε if #{x : KL_i(x) < ε} ≥ (1 - δ)·n (strict <, so nothing is collapsed
    at ε = 0).
    """
    kl = _as_2d_numpy("kl", kl)
    _check_delta(delta)
    eps = np.asarray(eps_grid, dtype=np.float64)
    if eps.ndim != 1 or eps.size == 0 or not np.all(np.isfinite(eps)):
        raise ValueError(
            f"eps_grid must be a non-empty 1-D array of finite floats; got {eps_grid!r}."
        )
    n, k = kl.shape
    sorted_kl = np.sort(kl, axis=0)  # (n, k)
    # count[i, j] = #{x : KL_j(x) < eps_i}
    counts = np.stack(
        [np.searchsorted(sorted_kl[:, j], eps, side="left") for j in range(k)], axis=1
    )
    collapsed = counts >= (1.0 - delta) * n - 1e-9
    return collapsed.mean(axis=1)


def collapsed_fraction(
    kl: torch.Tensor | np.ndarray, eps: float = 0.01, delta: float = 0.01
) -> float:
    """Fraction of latents (ε, δ)-collapsed at one ε (default the paper's summary ε = δ = 0.01)."""
    return float(collapse_curve(kl, [eps], delta)[0])


def encoder_mean_variance(mu: torch.Tensor | np.ndarray) -> np.ndarray:
    """Unbiased variance over examples of the encoder mean: mu (n, k), n ≥ 2 -> (k,)."""
    mu = _as_2d_numpy("mu", mu)
    if mu.shape[0] < 2:
        raise ValueError(f"mu needs at least 2 examples for a variance; got shape {mu.shape}.")
    return mu.var(axis=0, ddof=1)


def active_units(mu: torch.Tensor | np.ndarray, threshold: float = 0.01) -> int:
    """Burda et al. (2015) active units: #{i : Var_x(mu_i(x)) ≥ threshold} (unbiased variance)."""
    return int((encoder_mean_variance(mu) >= threshold).sum())


@contextlib.contextmanager
def _inference(*modules: nn.Module) -> Iterator[None]:
    """no_grad + eval mode for the modules, restoring their previous modes afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def _device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(iter(model.parameters()))
    return p.device, p.dtype


def _check_x(x: torch.Tensor | np.ndarray, model: nn.Module) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim != 2 or x.shape[1] != model.data_dim or x.shape[0] < 1:
        raise ValueError(
            f"x must have shape (n, {model.data_dim}) (flat data, n >= 1); got {tuple(x.shape)}."
        )
    return x


def _generator(device: torch.device, seed: int, generator: torch.Generator | None):
    return generator if generator is not None else torch.Generator(device=device).manual_seed(seed)


def iw_log_px(
    model: nn.Module,
    likelihood: nn.Module,
    x: torch.Tensor | np.ndarray,
    n_samples: int = 1000,
    batch_size: int = 100,
    sample_batch: int = 100,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Importance-weighted log p(x) ≈ log (1/K) Σ_s p(x|z_s) p(z_s) / q(z_s|x), z_s ~ q(z|x).

    x (n, d) -> (n,) nats (CPU, float64). Runs in eval mode under no_grad. Memory: one decoder call
    handles batch_size × sample_batch rows, so the peak is about batch_size·sample_batch·(d + the
    widest decoder layer + 3k) floats (100·100·(784 + 1024 + 600)·4 B ≈ 100 MB for the MNIST MLP);
    lower batch_size or sample_batch for big images. Chunks are combined with logsumexp.
    """
    x = _check_x(x, model)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(
            f"n_samples must be an int >= 1 (K importance samples); got {n_samples!r}."
        )
    if batch_size < 1 or sample_batch < 1:
        raise ValueError(
            f"batch_size and sample_batch must be >= 1; got {batch_size!r}, {sample_batch!r}."
        )
    device, dtype = _device_dtype(model)
    g = _generator(device, seed, generator)
    out: list[torch.Tensor] = []
    with _inference(model, likelihood):
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size].to(device=device, dtype=dtype)
            mu, logvar = model.encode(xb)
            chunks = []
            for s0 in range(0, n_samples, sample_batch):
                s = min(sample_batch, n_samples - s0)
                z = model.sample_latents(mu, logvar, s, g)  # (s, b, k)
                x_mean = model.decode(z.reshape(-1, z.shape[-1]))
                log_px_z = likelihood.log_prob(xb.repeat(s, 1), x_mean).reshape(s, -1)
                log_pz = -0.5 * (z**2 + _LOG_2PI).sum(-1)
                log_qz = -0.5 * ((z - mu) ** 2 * torch.exp(-logvar) + logvar + _LOG_2PI).sum(-1)
                chunks.append(torch.logsumexp(log_px_z + log_pz - log_qz, dim=0))
            lse = torch.logsumexp(torch.stack(chunks), dim=0) - math.log(n_samples)
            out.append(lse.double().cpu())
    return torch.cat(out)


def evaluate(
    model: nn.Module,
    likelihood: nn.Module,
    x: torch.Tensor | np.ndarray,
    eps_grid: Sequence[float] | np.ndarray = DEFAULT_EPS_GRID,
    delta: float = 0.01,
    iw_samples: int = 0,
    *,
    eps: float = 0.01,
    batch_size: int = 500,
    elbo_samples: int = 1,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Every metric of one model on data x (n, d), means over examples; JSON-ready values.

    Runs in eval mode under no_grad (modes restored), in batches of ``batch_size`` examples, with
    random numbers from ``generator`` or a fresh one seeded with ``seed`` (so repeated calls agree).
    A "gaussian_optimal" likelihood uses the σ² from its last training batch (see likelihoods.py).

    Returns keys: elbo, rec, kl (nats per example; rec with ``elbo_samples`` samples, exact for
    analytic linear models), mse (mean squared error per dimension at z = encoder mean, of the
    likelihood's mean, data units²), sigma2_optimal (E_q squared error per dimension, data units²:
    the σ² that maximises the ELBO for this model, the σ-VAE closed form), sigma2 (float | None),
    kl_per_latent (k floats, mean over x), encoder_mean_variance (k floats, unbiased),
    collapsed_fraction (at ``eps``, ``delta``), collapse_eps and collapse_curve (lists over
    eps_grid), active_units (int), log_px (mean IW estimate with iw_samples samples, or None if 0),
    n (examples), latent_dim.
    """
    x = _check_x(x, model)
    _check_delta(delta)
    if batch_size < 1 or elbo_samples < 1 or iw_samples < 0:
        raise ValueError(
            f"need batch_size >= 1, elbo_samples >= 1, iw_samples >= 0; got {batch_size!r}, "
            f"{elbo_samples!r}, {iw_samples!r}."
        )
    device, dtype = _device_dtype(model)
    g = _generator(device, seed, generator)
    keys = ("rec", "kl", "expected_sse", "sse_at_mean", "mu", "logvar")
    acc: dict[str, list[torch.Tensor]] = {k: [] for k in keys}
    with _inference(model, likelihood):
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size].to(device=device, dtype=dtype)
            terms = model.loss_terms(xb, likelihood, n_samples=elbo_samples, generator=g)
            mu, logvar = model.encode(xb)
            x_hat = likelihood.mean(model.decode(mu))
            vals = (
                terms["rec"],
                terms["kl"],
                terms["expected_sse"],
                ((xb - x_hat) ** 2).sum(-1),
                mu,
                logvar,
            )
            for k, v in zip(keys, vals, strict=True):
                acc[k].append(v.double().cpu())
    r = {k: torch.cat(v) for k, v in acc.items()}
    kl_mat = kl_per_latent(r["mu"], r["logvar"])
    d = model.data_dim
    log_px = None
    if iw_samples > 0:
        log_px = float(iw_log_px(model, likelihood, x, iw_samples, generator=g).mean())
    sigma2 = likelihood.sigma2_value()
    return {
        "elbo": float((r["rec"] - r["kl"]).mean()),
        "rec": float(r["rec"].mean()),
        "kl": float(r["kl"].mean()),
        "mse": float(r["sse_at_mean"].mean()) / d,
        "sigma2_optimal": float(r["expected_sse"].mean()) / d,
        "sigma2": None if sigma2 is None else float(sigma2),
        "kl_per_latent": kl_mat.mean(0).tolist(),
        "encoder_mean_variance": (
            encoder_mean_variance(r["mu"]).tolist()
            if x.shape[0] > 1
            else [float("nan")] * mu.shape[1]
        ),
        "collapsed_fraction": collapsed_fraction(kl_mat, eps, delta),
        "collapse_eps": [float(e) for e in np.asarray(eps_grid)],
        "collapse_curve": collapse_curve(kl_mat, eps_grid, delta).tolist(),
        "active_units": active_units(r["mu"]) if x.shape[0] > 1 else 0,
        "log_px": log_px,
        "n": int(x.shape[0]),
        "latent_dim": int(model.latent_dim),
    }
