"""Observation models p(x | z) for the VAEs.

Every likelihood is an ``nn.Module`` with

- ``log_prob(x (n, d), x_mean (n, d)) -> (n,)``: log p(x | z) in nats, **summed** over the d data
  dimensions (never averaged, so that σ² means what it says);
- ``mean(x_mean) -> (n, d)``: the mean of p(x | z) (identity for Gaussians, sigmoid for Bernoulli);
- ``sigma2_value() -> float | None``: the mean σ² (data units², for logging), None for Bernoulli;
- ``is_gaussian``: True for the Gaussians, which also have
  ``expected_log_prob_from_sq_err(sq_err (n, d)) -> (n,)``: E_q log p(x | z) from the expected
  squared error per dimension, E_q (x_j - f_j(z))². The Gaussian log-density is linear in the
  squared error, so this is exact for closed-form expectations (linear VAE) and for Monte-Carlo
  averages over samples.

Gaussian variants (``build_likelihood(name, ...)``):

- ``gaussian_fixed``: σ² is a constant (a buffer).
- ``gaussian_learned``: σ² = m + (σ²₀ - m)·exp(θ) with a trained θ (scalar, or (d,) if per_dim) that
  starts at 0, m = min_sigma2 a soft lower bound and σ²₀ the initial value. At θ = 0 the value is
  computed as σ²₀·exp(θ) + m·(1 - exp(θ)), which is σ²₀ exactly; σ² > m for every finite θ. While
  σ² ≫ m, θ is log σ² shifted by a constant, so Adam sees the usual log σ² parameterisation.
- ``gaussian_optimal``: the σ-VAE closed form (Rybkin et al. 2021). In training mode σ² is the
  mean of the expected squared error over the batch and the data dimensions (per dimension: over the
  batch only), clamped below at min_sigma2, and it is remembered. In eval mode (``.eval()``) the
  remembered value from the last training call is used as a fixed σ², so evaluation does not
  depend on the evaluation batch; before any training call it is the ``sigma2`` argument.

A learned or optimal σ² can change rule mid-training (:meth:`GaussianLikelihood.switch_mode`):
learned → optimal takes the closed form from the next training call; optimal → learned restarts θ
so that the learned σ² begins at the last closed-form value. The current rule is part of the
module's state dict, so a checkpoint restores it.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from lucas2019.likelihood_names import LIKELIHOODS, SIGMA2_MODES

# Re-exported while callers move to its torch-free home, lucas2019.loss_recipes.

_LOG_2PI = math.log(2.0 * math.pi)


def _check_sq_err(sq_err: torch.Tensor, data_dim: int) -> None:
    if sq_err.ndim != 2 or sq_err.shape[-1] != data_dim:
        raise ValueError(
            f"sq_err must have shape (n, {data_dim}) (n examples, data_dim={data_dim}); got "
            f"{tuple(sq_err.shape)}. Pass the squared error per example and data dimension."
        )


class GaussianLikelihood(nn.Module):
    """p(x | z) = N(x; f(z), σ² I) (or diag(σ²) when per_dim). See the module docstring.

    Args:
        mode: "fixed", "learned" or "optimal".
        data_dim: d, the number of data dimensions.
        sigma2: the fixed value / initial value (data units²), > min_sigma2 for "learned".
        per_dim: one σ² per data dimension instead of one scalar.
        min_sigma2: lower bound on σ² ("learned": soft, "optimal": clamp).
    """

    is_gaussian = True

    def __init__(
        self,
        mode: str,
        data_dim: int,
        sigma2: float = 1.0,
        per_dim: bool = False,
        min_sigma2: float = 1e-6,
    ) -> None:
        super().__init__()
        if mode not in ("fixed", "learned", "optimal"):
            raise ValueError(f"mode must be 'fixed', 'learned' or 'optimal'; got {mode!r}.")
        self.mode, self.data_dim, self.per_dim = mode, int(data_dim), bool(per_dim)
        self.min_sigma2 = float(min_sigma2)
        shape = (self.data_dim,) if per_dim else (1,)
        # σ² buffers are float64 so a fixed/initial value is kept exactly; cast to the data's dtype
        init = torch.full(shape, float(sigma2), dtype=torch.float64)
        if mode == "fixed":
            self.register_buffer("sigma2_fixed", init)
        else:  # learned and optimal carry both states, so either can switch to the other
            self.register_buffer("sigma2_init", init)
            self.theta = nn.Parameter(torch.zeros(shape))
            self.register_buffer("sigma2_last", init.clone())

    def sigma2(self, sq_err: torch.Tensor | None = None) -> torch.Tensor:
        """The current σ², shape (1,) or (d,). "optimal" in training mode needs sq_err (n, d)."""
        if self.mode == "fixed":
            return self.sigma2_fixed
        if self.mode == "learned":
            e = torch.exp(self.theta)
            return self.sigma2_init * e + self.min_sigma2 * (1.0 - e)
        if not self.training or sq_err is None:
            return self.sigma2_last
        dims = 0 if self.per_dim else None
        s2 = sq_err.mean(dim=dims).reshape(self.sigma2_last.shape).clamp_min(self.min_sigma2)
        self.sigma2_last.copy_(s2.detach())
        return s2

    def switch_mode(self, mode: str) -> None:
        """Change the σ² rule between "learned" and "optimal", keeping σ² continuous.

        To "learned": θ restarts so that σ² equals the last closed-form value (σ²₀ before any
        training call). To "optimal": the learned value is remembered as the eval-mode σ² until
        the next training call sets the closed form. A fixed σ² cannot switch.
        """
        if self.mode == "fixed" or mode not in ("learned", "optimal"):
            raise ValueError(
                f"switch_mode goes between 'learned' and 'optimal'; this likelihood is "
                f"{self.mode!r} and mode={mode!r} was asked. Use gaussian_learned or "
                "gaussian_optimal to switch."
            )
        if mode == self.mode:
            return
        with torch.no_grad():
            if mode == "learned":
                m = self.min_sigma2
                ratio = (self.sigma2_last - m).clamp_min(1e-30) / (self.sigma2_init - m)
                self.theta.copy_(torch.log(ratio).to(self.theta.dtype))
            else:
                self.sigma2_last.copy_(self.sigma2())
        self.mode = mode

    def get_extra_state(self) -> dict:
        """The σ² rule, saved with the state dict (it changes under :meth:`switch_mode`)."""
        return {"mode": self.mode}

    def set_extra_state(self, state: dict) -> None:
        """Restore the σ² rule of a checkpoint (θ and the buffers come with the state dict)."""
        if state["mode"] != self.mode and "fixed" in (state["mode"], self.mode):
            raise ValueError(
                f"this checkpoint holds a {state['mode']!r} σ², the model a {self.mode!r} one; "
                "load it into a likelihood built with the same name."
            )
        self.mode = state["mode"]

    def expected_log_prob_from_sq_err(self, sq_err: torch.Tensor) -> torch.Tensor:
        """E_q log N(x; f(z), σ²) from sq_err (n, d) = E_q (x - f(z))² -> (n,) nats, sum over d."""
        _check_sq_err(sq_err, self.data_dim)
        s2 = self.sigma2(sq_err).to(sq_err.dtype)
        if self.per_dim:
            return -0.5 * (sq_err / s2 + torch.log(s2) + _LOG_2PI).sum(-1)
        return -0.5 * (sq_err.sum(-1) / s2 + self.data_dim * (torch.log(s2) + _LOG_2PI))

    def log_prob(self, x: torch.Tensor, x_mean: torch.Tensor) -> torch.Tensor:
        """log N(x; x_mean, σ²) summed over the d dims: x, x_mean (n, d) -> (n,) nats."""
        return self.expected_log_prob_from_sq_err((x - x_mean) ** 2)

    def mean(self, x_mean: torch.Tensor) -> torch.Tensor:
        """The decoder output is the mean: returned unchanged, (n, d)."""
        return x_mean

    def sigma2_value(self) -> float:
        """Mean σ² over dimensions (data units²), for logging."""
        return float(self.sigma2().detach().mean())


class BernoulliLikelihood(nn.Module):
    """p(x | z) = Bernoulli(sigmoid(logits)) per dimension, for data in [0, 1] (binarised)."""

    is_gaussian = False

    def __init__(self, data_dim: int) -> None:
        super().__init__()
        self.data_dim = int(data_dim)

    def log_prob(self, x: torch.Tensor, x_mean: torch.Tensor) -> torch.Tensor:
        """-BCE-with-logits summed over dims: x (n, d) in [0, 1], x_mean = logits (n, d) -> (n,)."""
        return -F.binary_cross_entropy_with_logits(x_mean, x, reduction="none").sum(-1)

    def mean(self, x_mean: torch.Tensor) -> torch.Tensor:
        """Bernoulli mean sigmoid(logits), (n, d)."""
        return torch.sigmoid(x_mean)

    def expected_log_prob_from_sq_err(self, sq_err: torch.Tensor) -> torch.Tensor:
        raise TypeError(
            "the Bernoulli likelihood is not a function of the squared error; use log_prob"
        )

    def sigma2_value(self) -> None:
        return None


def build_likelihood(
    name: str,
    data_dim: int,
    sigma2: float = 1.0,
    per_dim: bool = False,
    min_sigma2: float = 1e-6,
) -> nn.Module:
    """Build an observation model by name (one of LIKELIHOODS); see the module docstring.

    sigma2 is the fixed σ² ("gaussian_fixed"), the initial σ² ("gaussian_learned") or the σ² used
    before the first training batch ("gaussian_optimal"), in data units². Ignored for "bernoulli".
    """
    if name not in LIKELIHOODS:
        raise ValueError(f"likelihood name must be one of {LIKELIHOODS}; got {name!r}.")
    if isinstance(data_dim, bool) or not isinstance(data_dim, numbers.Integral) or data_dim < 1:
        raise ValueError(f"data_dim must be a positive int (d); got {data_dim!r}.")
    if name == "bernoulli":
        return BernoulliLikelihood(int(data_dim))
    if not (isinstance(min_sigma2, numbers.Real) and math.isfinite(min_sigma2) and min_sigma2 >= 0):
        raise ValueError(f"min_sigma2 must be a finite float >= 0; got {min_sigma2!r}.")
    if not (isinstance(sigma2, numbers.Real) and math.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"sigma2 must be a finite float > 0 (data units²); got {sigma2!r}.")
    mode = SIGMA2_MODES[name]
    if mode != "fixed" and sigma2 <= min_sigma2:
        raise ValueError(
            f"{name} needs sigma2 > min_sigma2; got sigma2={sigma2!r}, "
            f"min_sigma2={min_sigma2!r}. Raise sigma2 or lower min_sigma2."
        )
    return GaussianLikelihood(
        mode, int(data_dim), float(sigma2), per_dim=per_dim, min_sigma2=min_sigma2
    )
