"""Posterior-collapse and likelihood metrics for a trained VAE (nats; per example unless said).

- ``kl_per_latent``: KL(q(z_i | x) || N(0, 1)) for every example and latent.
- (ε, δ)-collapse (paper, section 6): latent i is collapsed if P_x[KL_i(x) < ε] ≥ 1 - δ;
  ``collapse_curve`` gives the fraction collapsed on an ε grid, ``collapsed_fraction`` at one ε.
- ``active_units`` (Burda et al. 2015): #{i : Var_x(E_q[z_i]) ≥ threshold}, unbiased variance.
- ``mutual_information``: I(x; z) of the encoder on a data set (the aggregate-posterior estimator),
  with its ceiling log n; ``posterior_mutual_information`` the same from encoder outputs.
- ``iw_log_px``: importance-weighted estimate of log p(x) with q as the proposal (a lower bound that
  tightens as K grows; K = 1 is a one-sample ELBO).
- ``evaluate``: all of the above on a data set, batched, under no_grad, deterministic given a seed
  (common random numbers: the same draws at every call, so logged curves are smooth).
- ``objective_noise``: the reparameterised objective's spread over fresh draws at fixed parameters,
  the measure of sampling noise that ``evaluate`` cannot give.

docs/metrics.md says what each collapse measure means and when they disagree.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lucas2019.models.base import gaussian_kl
from lucas2019.run_schema import MI_CEILING_MARGIN_NATS

DEFAULT_EPS_GRID = np.linspace(0.0, 2.0, 100)
_LOG_2PI = math.log(2.0 * math.pi)


def kl_per_latent(mu: torch.Tensor | np.ndarray, logvar: torch.Tensor | np.ndarray) -> torch.Tensor:
    """KL(q(z_i | x) || N(0, 1)) per entry, nats (``models.base.gaussian_kl``) after a shape check:
    mu (n, k), logvar (n, k), torch or NumPy -> (n, k) tensor (NumPy arrays share their memory)."""
    mu, logvar = torch.as_tensor(mu), torch.as_tensor(logvar)
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
def _inference(*modules: nn.Module, grad: bool = False) -> Iterator[None]:
    """Eval mode for the modules (no_grad unless ``grad``), restoring their modes afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.set_grad_enabled(grad):
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


@dataclass(frozen=True)
class MutualInformation:
    """An estimate of I(x; z) and the most the estimator can return.

    Attributes: nats (the estimate), ceiling (log n, nats), n (examples), n_samples (z draws per
    example).
    """

    nats: float
    ceiling: float
    n: int
    n_samples: int

    @property
    def near_ceiling(self) -> bool:
        """Within ``MI_CEILING_MARGIN_NATS`` of log n: saturated, a lower bound of the true I(x; z)
        rather than a measurement of it (more examples raise the ceiling)."""
        return self.nats > self.ceiling - MI_CEILING_MARGIN_NATS


#: log-density matrix entries per chunk of the MI estimator (32 MiB in float64)
_MI_CHUNK_ENTRIES = 1 << 22


def _mutual_information(
    mu: torch.Tensor, logvar: torch.Tensor, n_samples: int, generator: torch.Generator
) -> MutualInformation:
    """Aggregate-posterior MI of the posteriors N(mu_j, exp(logvar_j)), mu and logvar (n, k).

    For z_i ~ q(z | x_i), the mean over i of log q(z_i | x_i) − log (1/n) Σ_j q(z_i | x_j): an
    unbiased estimate of the mean KL(q(z | x_i) || q_agg) with q_agg the mixture over the n
    examples, which is I(x; z) for x uniform on them. Both terms come from one matrix
    L[i, j] = log q(z_i | x_j) (the first is its diagonal), so each example's term is at most
    log n exactly, and a constant encoder gives 0 up to round-off; only sampling noise can take
    the estimate below 0. Computed in float64, in row chunks of L.
    """
    mu, logvar = mu.double(), logvar.double()
    n, k = mu.shape
    # log q(z | x_j) = −½ Σ_l [z_l² / var_jl − 2 z_l mu_jl / var_jl + mu_jl² / var_jl + log var_jl]
    # − (k/2) log 2π is linear in (z², z, 1): one (rows, 2k + 1) @ (2k + 1, n) product gives a
    # chunk of L, instead of an (n, n, k) tensor (milliseconds instead of seconds at n = 1,000,
    # k = 200). In float64 the expansion's round-off is far below the sampling noise.
    precision = torch.exp(-logvar)  # (n, k)
    offset = (mu * mu * precision + logvar).sum(-1, keepdim=True) + k * _LOG_2PI  # (n, 1)
    coefficients = -0.5 * torch.cat([precision, -2.0 * mu * precision, offset], dim=1).T
    rows = max(1, _MI_CHUNK_ENTRIES // n)
    total = 0.0
    for _ in range(n_samples):
        eps = torch.randn(mu.shape, generator=generator, device=generator.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps.to(mu.device)
        features = torch.cat([z * z, z, torch.ones_like(z[:, :1])], dim=1)  # (n, 2k + 1)
        for i0 in range(0, n, rows):
            log_q = features[i0 : i0 + rows] @ coefficients  # L[i, j] = log q(z_i | x_j)
            own = torch.diagonal(log_q, offset=i0)  # log q(z_i | x_i)
            log_aggregate = torch.logsumexp(log_q, dim=1) - math.log(n)
            total += float((own - log_aggregate).sum())
    return MutualInformation(total / (n * n_samples), math.log(n), n, n_samples)


def posterior_mutual_information(
    mu: torch.Tensor | np.ndarray,
    logvar: torch.Tensor | np.ndarray,
    n_samples: int = 1,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> MutualInformation:
    """I(x; z) in nats of the Gaussian posteriors N(mu_j, exp(logvar_j)) of n examples, x uniform
    on them: mu (n, k), logvar (n, k), torch or NumPy (computed in float64 on mu's device).

    The estimator of :func:`mutual_information`, for encoder outputs already computed; random
    numbers come from ``generator`` or a fresh one seeded with ``seed``.
    """
    mu, logvar = torch.as_tensor(mu), torch.as_tensor(logvar)
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[0] < 1:
        raise ValueError(
            f"mu and logvar must have the same shape (n examples, k latents), n >= 1; got "
            f"{tuple(mu.shape)} and {tuple(logvar.shape)}."
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1 (z draws per example); got {n_samples!r}.")
    g = _generator(mu.device, seed, generator)
    return _mutual_information(mu, logvar.to(mu.device), int(n_samples), g)


def mutual_information(
    model: nn.Module,
    x: torch.Tensor | np.ndarray,
    n_samples: int = 1,
    batch_size: int = 500,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> MutualInformation:
    """I(x; z) in nats of the model's encoder with x uniform on the n rows of x (n, d).

    The aggregate-posterior estimator of He et al. (2019) (``calc_mi`` of vae-lagging-encoder):
    E_x E_{q(z|x)} [log q(z | x) − log q_agg(z)], q_agg(z) = (1/n) Σ_j q(z | x_j). It differs from
    theirs in three ways: q_agg mixes all n examples, not one minibatch (the ceiling is log n, not
    log of the batch size); E log q(z | x) is the sampled density at the same z, not the analytic
    negative entropy (the two terms' noise partly cancels, and no term can exceed log n);
    and ``n_samples`` draws per example may be averaged. The estimate cannot exceed log n (6.9
    nats for 1,000 examples); ``MutualInformation.near_ceiling`` flags saturated values. Encoding
    runs in eval mode under no_grad, ``batch_size`` examples at a time; random numbers come from
    ``generator`` or a fresh one seeded with ``seed``.
    """
    x = _check_x(x, model)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size!r}.")
    device, dtype = _device_dtype(model)
    g = _generator(device, seed, generator)
    mus, logvars = [], []
    with _inference(model):
        for i in range(0, x.shape[0], batch_size):
            mu, logvar = model.encode(x[i : i + batch_size].to(device=device, dtype=dtype))
            mus.append(mu)
            logvars.append(logvar)
    return posterior_mutual_information(torch.cat(mus), torch.cat(logvars), n_samples, generator=g)


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
    mutual_information and mutual_information_ceiling (nats, one z per example, see
    :func:`mutual_information`), n (examples), latent_dim.

    Every call with the same seed reuses the same draws (common random numbers): curves logged
    from it are smooth, and their step-to-step changes say nothing about the objective's noise
    (:func:`objective_noise` measures that).
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
    # drawn last, so the numbers above are those of an evaluation without it
    mi = _mutual_information(r["mu"], r["logvar"], 1, g)
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
        "mutual_information": mi.nats,
        "mutual_information_ceiling": mi.ceiling,
        "n": int(x.shape[0]),
        "latent_dim": int(model.latent_dim),
    }


@dataclass(frozen=True)
class ObjectiveNoise:
    """Spread of the reparameterised ELBO and its gradient over fresh draws at fixed parameters.

    Attributes (ELBO: mean over the batch, nats per example; gradients with respect to every
    trainable parameter of the model and the likelihood, flattened into one vector g):
        n_draws: independent draws behind each number.
        elbo_mean, elbo_std: mean and standard deviation of the ELBO.
        grad_norm_mean, grad_norm_std: mean and standard deviation of ||g||.
        grad_std_norm: sqrt(Σ_p Var(g_p)), the root-mean-square distance of g from its mean.
    Standard deviations are unbiased-variance (ddof = 1) square roots.
    """

    n_draws: int
    elbo_mean: float
    elbo_std: float
    grad_norm_mean: float
    grad_norm_std: float
    grad_std_norm: float


class _SpreadAccumulator:
    """Mean and unbiased variance of a stream of equal-shaped tensors, accumulated relative to the
    first one: draws that are all equal give a variance of exactly 0, and a spread small next to
    the values loses little to cancellation."""

    def __init__(self) -> None:
        self.count, self.first, self.sum, self.sum_sq = 0, None, None, None

    def add(self, value: torch.Tensor) -> None:
        value = value.detach().double()
        if self.first is None:
            self.first = value
            self.sum, self.sum_sq = torch.zeros_like(value), torch.zeros_like(value)
        shifted = value - self.first
        self.sum += shifted
        self.sum_sq += shifted * shifted
        self.count += 1

    def mean(self) -> torch.Tensor:
        return self.first + self.sum / self.count

    def variance(self) -> torch.Tensor:
        spread = self.sum_sq - self.sum * self.sum / self.count
        return spread.clamp_min(0.0) / (self.count - 1)


def objective_noise(
    model: nn.Module,
    likelihood: nn.Module,
    x: torch.Tensor | np.ndarray,
    n_draws: int = 100,
    n_samples: int = 1,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> ObjectiveNoise:
    """How noisy the training objective is at the model's current parameters, on the batch x (n, d).

    Draws the ELBO of ``model.loss_terms`` (``n_samples`` reparameterised samples per example, as
    ``trainer.n_samples``; KL weight 1) ``n_draws`` times, each from the generator's next state:
    fresh random numbers, not the common random numbers of :func:`evaluate`. Parameters and data
    stay fixed; modules run in eval mode (a closed-form σ² is held at its last value) and their
    ``.grad`` fields are not touched. The analytic linear objective gives 0 for every spread.
    """
    x = _check_x(x, model)
    if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral) or n_draws < 2:
        raise ValueError(
            f"n_draws must be an int >= 2 (a spread needs two draws); got {n_draws!r}."
        )
    device, dtype = _device_dtype(model)
    g = _generator(device, seed, generator)
    x = x.to(device=device, dtype=dtype)
    params = [p for m in (model, likelihood) for p in m.parameters() if p.requires_grad]
    elbos, norms, grads = _SpreadAccumulator(), _SpreadAccumulator(), _SpreadAccumulator()
    with _inference(model, likelihood, grad=True):
        for _ in range(int(n_draws)):
            terms = model.loss_terms(x, likelihood, n_samples=n_samples, generator=g)
            elbo = (terms["rec"] - terms["kl"]).mean()
            parts = torch.autograd.grad(elbo, params, allow_unused=True)
            flat = torch.cat(
                [
                    (torch.zeros_like(p) if d is None else d).reshape(-1)
                    for p, d in zip(params, parts, strict=True)
                ]
            )
            elbos.add(elbo)
            norms.add(torch.linalg.vector_norm(flat.double()))
            grads.add(flat)
    return ObjectiveNoise(
        n_draws=int(n_draws),
        elbo_mean=float(elbos.mean()),
        elbo_std=float(elbos.variance().sqrt()),
        grad_norm_mean=float(norms.mean()),
        grad_norm_std=float(norms.variance().sqrt()),
        grad_std_norm=float(grads.variance().sum().sqrt()),
    )
