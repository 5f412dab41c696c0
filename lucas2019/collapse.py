"""Collapse measures of any model's encoder outputs, and the linear theory's prediction.

``collapse_report(mu, logvar, x, x_hat, sigma2)`` reads the Gaussian posteriors
q(z | x) = N(mu, diag exp(logvar)) of n examples, NumPy or torch arrays of shape (n, k), and
returns a :class:`CollapseReport`: active units, the (ε, δ)-collapsed count, the ε-integrated
curve, I(x; z) with its ceiling log n and the per-latent KL, all computed by
:mod:`lucas2019.metrics` (the functions the trainer logs with). Given the data x and the
reconstructions x_hat (n, d) it adds the σ² that maximises a Gaussian decoder's ELBO for them;
given data and a σ² (or the loss that implies one, see :mod:`lucas2019.loss_recipes`) it adds the
linear theory's live latents min(k, #{λ_i > σ²}) (:func:`predict`).

The commands ``lucas2019-diagnose`` (:mod:`lucas2019.diagnose`) and ``python -m
lucas2019.why_mse`` print them; :mod:`lucas2019.monitor` logs them during training.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

import linear_vae
from lucas2019 import metrics
from lucas2019.loss_recipes import PRESETS, LossRecipe
from lucas2019.results import integrated_collapse
from lucas2019.run_schema import MI_CEILING_MARGIN_NATS

ArrayLike = np.ndarray | torch.Tensor
_KL_SHOWN = 8  # per-latent KLs printed by __str__, largest first


@dataclass(frozen=True)
class CollapseReport:
    """Collapse measures of one encoder on n examples; nats are per example, means over the n.

    Attributes:
        n, latent_dim: examples and latents k.
        active_units: #{i : Var_x mu_i(x) ≥ active_threshold}, unbiased variance (Burda et al.).
        active_threshold: the variance threshold (units of z²).
        collapsed: latents (ε, δ)-collapsed: KL_i(x) < eps for at least (1 − delta)·n examples.
        eps, delta: nats, fraction.
        collapse_eps, collapse_curve: the collapsed fraction of the k latents on an ε grid (nats).
        collapse_integrated: the curve's trapezoid mean over its ε range (1: every latent is
            collapsed at every ε > 0).
        mutual_information: I(x; z) in nats for x uniform on the n examples (aggregate-posterior
            estimate, one z per example and ``mi_samples``); can fall slightly below 0 by noise.
        mutual_information_ceiling: log n, the most the estimate can return (nats).
        kl_per_latent: KL(q(z_i | x) || N(0, 1)) per latent, mean over the examples (nats).
        sigma2_optimal: the mean squared error per dimension of x_hat (data units²), the σ² that
            maximises a Gaussian decoder's ELBO for these reconstructions; None without x, x_hat.
        sigma2: the decoder variance of the prediction (data units²); None if none was given.
        sigma2_source: "given", or the loss whose scaling implies it.
        data_dim: d of the data the spectrum came from; None without data.
        predicted_live: the linear theory's live latents at sigma2, min(k, #{λ_i > σ²}).
        predicted_live_learned: live latents with σ² learned (the pPCA maximum-likelihood σ²).
    """

    n: int
    latent_dim: int
    active_units: int
    active_threshold: float
    collapsed: int
    eps: float
    delta: float
    collapse_eps: tuple[float, ...]
    collapse_curve: tuple[float, ...]
    collapse_integrated: float
    mutual_information: float
    mutual_information_ceiling: float
    kl_per_latent: tuple[float, ...]
    sigma2_optimal: float | None = None
    sigma2: float | None = None
    sigma2_source: str | None = None
    data_dim: int | None = None
    predicted_live: int | None = None
    predicted_live_learned: int | None = None

    @property
    def kl_total(self) -> float:
        """KL(q(z | x) || p(z)) summed over latents, mean over examples (nats)."""
        return float(sum(self.kl_per_latent))

    @property
    def mi_near_ceiling(self) -> bool:
        """MI within ``MI_CEILING_MARGIN_NATS`` of log n: a lower bound, not a measurement."""
        return self.mutual_information > self.mutual_information_ceiling - MI_CEILING_MARGIN_NATS

    def to_dict(self) -> dict[str, Any]:
        """Every field and ``kl_total``, ``mi_near_ceiling``; JSON-ready (lists, not tuples)."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        out.update(kl_total=self.kl_total, mi_near_ceiling=self.mi_near_ceiling)
        return out

    def scalars(self) -> dict[str, Any]:
        """:meth:`to_dict` without the per-ε and per-latent lists: one row for a logger."""
        return {k: v for k, v in self.to_dict().items() if not isinstance(v, list)}

    def __str__(self) -> str:
        k = self.latent_dim
        live_equivalent = k * (1.0 - self.collapse_integrated)
        top = sorted(self.kl_per_latent, reverse=True)
        shown = " ".join(f"{v:.3g}" for v in top[:_KL_SHOWN]) + (" …" if k > _KL_SHOWN else "")
        saturated = " (near the ceiling: a lower bound)" if self.mi_near_ceiling else ""
        eps_range = f"[{self.collapse_eps[0]:g}, {self.collapse_eps[-1]:g}]"
        lines = [
            f"collapse report: n = {self.n} examples, k = {k} latents (nats per example)",
            f"  active units (Var_x μ_i ≥ {self.active_threshold:g}): {self.active_units} of {k}",
            f"  (ε, δ)-collapsed (ε = {self.eps:g} nats, δ = {self.delta:g}): "
            f"{self.collapsed} of {k}",
            f"  ε-integrated collapse (ε in {eps_range} nats): {self.collapse_integrated:.3f} "
            f"({live_equivalent:.1f} of {k} latents live-equivalent)",
            f"  mutual information I(x; z): {self.mutual_information:.3f} nats, ceiling log n = "
            f"{self.mutual_information_ceiling:.3f}{saturated}",
            f"  KL to the prior: {self.kl_total:.3f} nats; per latent, largest first: {shown}",
        ]
        if self.sigma2_optimal is not None:
            lines.append(
                f"  optimal σ² (mean squared error per dimension): {self.sigma2_optimal:.4g} "
                "data units²"
            )
        if self.sigma2 is not None:
            how = "given" if self.sigma2_source == "given" else f"implied by {self.sigma2_source}"
            lines.append(f"  σ² = {self.sigma2:.4g} data units², {how}")
            if self.predicted_live is None:
                lines.append("  give the data (x or data=) for the linear theory's prediction")
            else:
                lines.append(
                    f"  linear theory at this σ²: {self.predicted_live} of {k} latents live "
                    f"(min(k, #{{λ_i > σ²}}), d = {self.data_dim}); measured: "
                    f"{k - self.collapsed} not (ε, δ)-collapsed, {self.active_units} active"
                )
                lines.append(
                    f"  linear theory with σ² learned: {self.predicted_live_learned} of {k} live"
                )
        return "\n".join(lines)


def _as_float_array(name: str, value: ArrayLike, shape_hint: str) -> np.ndarray:
    """``value`` as a finite float64 (rows, columns) array, or a one-line ValueError."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = (value.double() if value.is_floating_point() else value).numpy()
    a = np.asarray(value)
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(
            f"{name} must hold real numbers; got dtype {a.dtype}. Pass a float array, e.g. "
            f"{name}.astype('float32') or tensor.float()."
        )
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(
            f"{name} must be a non-empty 2-D array {shape_hint}; got shape {a.shape}. "
            "Flatten images to one row per example first."
        )
    bad = ~np.isfinite(a)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite entries (the first at row {row}, "
            f"column {column}); the measures need finite numbers: check the model for divergence."
        )
    return a.astype(np.float64, copy=False)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a finite float > 0 (data units²); got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite float > 0 (data units²); got {value!r}.")
    return float(value)


def _recipe(loss_recipe: LossRecipe | str) -> LossRecipe:
    if isinstance(loss_recipe, LossRecipe):
        return loss_recipe
    if loss_recipe not in PRESETS:
        raise ValueError(
            f"loss_recipe must be a LossRecipe or a preset name ({', '.join(PRESETS)}); "
            f"got {loss_recipe!r}."
        )
    return PRESETS[loss_recipe].recipe


def data_spectrum(data: ArrayLike | linear_vae.Spectrum) -> linear_vae.Spectrum:
    """The covariance spectrum of training data (n, d), NumPy or torch; a Spectrum is returned."""
    if isinstance(data, linear_vae.Spectrum):
        return data
    return linear_vae.Spectrum.from_data(_as_float_array("data", data, "(n, d)"))


def collapse_report(
    mu: ArrayLike,
    logvar: ArrayLike,
    x: ArrayLike | None = None,
    x_hat: ArrayLike | None = None,
    sigma2: float | None = None,
    *,
    loss_recipe: LossRecipe | str | None = None,
    batch_size: int | None = None,
    data: ArrayLike | linear_vae.Spectrum | None = None,
    eps: float = 0.01,
    delta: float = 0.01,
    eps_grid: Sequence[float] | np.ndarray = metrics.DEFAULT_EPS_GRID,
    active_threshold: float = 0.01,
    mi_samples: int = 1,
    seed: int = 0,
) -> CollapseReport:
    """Collapse measures of an encoder's outputs, and the linear theory's prediction if it can.

    Args:
        mu, logvar: the posterior means and log-variances q(z | x) = N(mu, diag exp(logvar)) of
            n ≥ 2 examples, shape (n, k), NumPy or torch (any device; detached, read in float64).
        x, x_hat: the examples and their reconstructions (n, d), in the units the loss sees them
            (before any pixel scale of the loss recipe). x alone serves as the data of the
            prediction; with x_hat it also gives ``sigma2_optimal``.
        sigma2: the decoder variance σ² (data units²) to predict collapse at; or
        loss_recipe: a :class:`LossRecipe` or a preset name (``why_mse --help`` lists them) whose
            implied σ² is used; ``batch_size`` is the training batch where the recipe needs it.
        data: the training data (n_data, d) or its ``linear_vae.Spectrum`` for the prediction;
            default x.
        eps, delta: the (ε, δ)-collapse thresholds (nats, fraction); eps_grid: the ε grid of the
            curve (nats). active_threshold: the active-units variance threshold.
        mi_samples, seed: z draws per example for I(x; z), and their seed (reproducible).

    Costs O(n²·k) for I(x; z) (n = 10,000 with k = 200: seconds) and one d×d eigendecomposition
    when the data are given as an array. Raises ValueError with a one-line message for arrays of
    the wrong shape, dtype or with NaN, and for a σ² that is not a positive float.
    """
    mu_a = _as_float_array("mu", mu, "(n examples, k latents)")
    logvar_a = _as_float_array("logvar", logvar, "(n examples, k latents)")
    if mu_a.shape != logvar_a.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (n, k); got {mu_a.shape} and {logvar_a.shape}."
        )
    n, k = mu_a.shape
    if n < 2:
        raise ValueError(
            f"mu needs at least 2 examples (rows) for its variance; got shape {(n, k)}."
        )
    x_a = None if x is None else _as_float_array("x", x, "(n examples, d dimensions)")
    if x_a is not None and x_a.shape[0] != n:
        raise ValueError(f"x must have one row per row of mu ({n}); got shape {x_a.shape}.")
    sigma2_optimal = None
    if x_hat is not None:
        if x_a is None:
            raise ValueError("x_hat needs x: pass both to get the optimal σ² (their MSE).")
        x_hat_a = _as_float_array("x_hat", x_hat, "(n examples, d dimensions)")
        if x_hat_a.shape != x_a.shape:
            raise ValueError(f"x_hat must have the shape of x {x_a.shape}; got {x_hat_a.shape}.")
        sigma2_optimal = float(np.mean((x_a - x_hat_a) ** 2))
    if sigma2 is not None and loss_recipe is not None:
        raise ValueError(
            "give sigma2 or loss_recipe, not both: the recipe implies a σ² of its own."
        )

    kl = metrics.kl_per_latent(mu_a, logvar_a).numpy()  # (n, k), nats
    curve = metrics.collapse_curve(kl, eps_grid, delta)
    mi = metrics.posterior_mutual_information(mu_a, logvar_a, mi_samples, seed=seed)
    report = dict(
        n=n,
        latent_dim=k,
        active_units=metrics.active_units(mu_a, active_threshold),
        active_threshold=float(active_threshold),
        collapsed=round(k * metrics.collapsed_fraction(kl, eps, delta)),
        eps=float(eps),
        delta=float(delta),
        collapse_eps=tuple(float(e) for e in np.asarray(eps_grid)),
        collapse_curve=tuple(float(c) for c in curve),
        collapse_integrated=integrated_collapse(np.asarray(eps_grid), curve),
        mutual_information=mi.nats,
        mutual_information_ceiling=mi.ceiling,
        kl_per_latent=tuple(float(v) for v in kl.mean(0)),
        sigma2_optimal=sigma2_optimal,
    )

    source = data if data is not None else x_a
    spectrum = None if source is None else data_spectrum(source)
    if spectrum is not None and x_a is not None and spectrum.dim != x_a.shape[1]:
        raise ValueError(
            f"data have d = {spectrum.dim} dimensions but x has {x_a.shape[1]}; give the data "
            "the encoder was trained on."
        )
    if loss_recipe is not None:
        recipe = _recipe(loss_recipe)
        data_dim = None if spectrum is None else spectrum.dim
        try:
            implied = recipe.implied(data_dim, k, batch_size)
        except ValueError as error:
            fix = " Pass batch_size=." if "batch_size" in str(error) else " Pass x or data=."
            raise ValueError(f"{error}{fix}") from None
        if implied.sigma2 is None:
            raise ValueError(
                f"the loss {recipe.formula()} is a Bernoulli decoder: it has no σ² to predict at."
            )
        sigma2, report["sigma2_source"] = implied.sigma2, recipe.formula()
    elif sigma2 is not None:
        sigma2, report["sigma2_source"] = _positive("sigma2", sigma2), "given"
    report["sigma2"] = sigma2
    if sigma2 is not None and spectrum is not None:
        answer = predict(spectrum, sigma2, k)
        report.update(
            data_dim=spectrum.dim,
            predicted_live=answer.n_live,
            predicted_live_learned=answer.latent_dim - answer.n_collapsed_learned,
        )
    return CollapseReport(**report)


@dataclass(frozen=True)
class CollapsePrediction:
    """The linear theory's answer for one loss on one dataset (σ² in data units²)."""

    sigma2: float  # implied by the loss
    latent_dim: int  # k, clamped to the data dimension d
    n_live: int  # #{i ≤ k : λ_i > σ²}
    sigma2_learned: float  # the pPCA maximum-likelihood σ² at this k
    n_collapsed_learned: int  # collapsed latents with the learned σ² (0 below the data's rank)

    @property
    def n_collapsed(self) -> int:
        """Latents of k whose eigenvalue is ≤ σ²: k − n_live."""
        return self.latent_dim - self.n_live


def predict(spectrum: linear_vae.Spectrum, sigma2: float, latent_dim: int) -> CollapsePrediction:
    """Live latents of k = ``latent_dim`` at a fixed ``sigma2``, and collapse at the learned σ²."""
    k = min(int(latent_dim), spectrum.dim)
    n_live = linear_vae.n_live(spectrum, sigma2, k)
    # Latents beyond the largest k with a positive learned σ² have no variance left: collapsed.
    k_learnable = linear_vae.learnable_n_latent(spectrum, k)
    learned = linear_vae.ppca_mle(spectrum, k_learnable)
    n_collapsed_learned = learned.n_collapsed + (k - k_learnable)
    return CollapsePrediction(
        float(sigma2), k, int(n_live), float(learned.sigma2), int(n_collapsed_learned)
    )
