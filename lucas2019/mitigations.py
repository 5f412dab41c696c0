"""Collapse mitigations (the config group ``mitigation=``): their names, keys and definitions.

- ``free_bits`` (Kingma et al. 2016): the KL term of a batch with a floor of λ nats, per latent
  (:func:`free_bits_kl`, variant ``per_latent``) or on the summed KL (variant ``total``).
- ``cyclical_annealing`` (Fu et al. 2019): the KL weight schedule
  :func:`lucas2019.schedules.cyclical_kl_weight`.
- ``aggressive_encoder`` (He et al. 2019): before each joint step, encoder-only steps until the
  encoder's objective stops improving (:func:`inner_encoder_steps`); then one decoder step. The
  phase ends when the mutual information I(x; z) stops rising
  (:func:`mutual_information_stopped_rising`), and training is joint from then on.

The trainer applies them; docs/mitigations.md gives the formulas and the keys' defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

#: mitigation name -> the keys of the config node ``mitigation`` it reads; the others stay null
MITIGATIONS: dict[str, tuple[str, ...]] = {
    "none": (),
    "free_bits": ("lambda_nats", "variant"),
    "cyclical_annealing": ("cycles", "cycle_steps", "ramp_ratio"),
    "aggressive_encoder": ("check_every", "max_inner_steps", "mi_every", "mi_patience"),
}
#: where free bits puts its floor: on each latent's batch-mean KL, or on the summed KL
FREE_BITS_VARIANTS: tuple[str, ...] = ("per_latent", "total")


def free_bits_kl(kl_per_latent: torch.Tensor, lambda_nats: float, variant: str) -> torch.Tensor:
    """The free-bits KL term of a batch, nats per example (a scalar tensor).

    ``kl_per_latent`` (n, k) is KL(q(z_i | x) || N(0, 1)) per example and latent. ``per_latent``:
    Σ_i max(λ, mean_x KL_i), so a latent whose batch-mean KL is below λ gets no gradient from the
    KL term. ``total``: max(λ, mean_x Σ_i KL_i), the same floor on the summed KL. λ =
    ``lambda_nats``.
    """
    if kl_per_latent.ndim != 2:
        raise ValueError(f"kl_per_latent must have shape (n, k); got {tuple(kl_per_latent.shape)}.")
    if variant == "per_latent":
        return kl_per_latent.mean(0).clamp_min(lambda_nats).sum()
    if variant == "total":
        return kl_per_latent.sum(-1).mean().clamp_min(lambda_nats)
    raise ValueError(f"variant must be one of {FREE_BITS_VARIANTS}; got {variant!r}.")


def inner_encoder_steps(
    encoder_step: Callable[[], float], check_every: int, max_inner_steps: int
) -> int:
    """He et al.'s inner loop: call ``encoder_step`` until the encoder stops improving.

    ``encoder_step()`` updates the encoder on a fresh batch and returns its objective (the negative
    ELBO, nats per example) measured on that batch before the update, so each value is on data
    the encoder had not just been fitted to. Every ``check_every`` steps the mean of the last
    ``check_every`` values is compared with the previous such mean; the loop stops when it is no
    lower, or after ``max_inner_steps`` steps. A non-finite value means the step was not taken
    (the caller's divergence) and ends the loop. Returns the number of steps taken.
    """
    previous, window = math.inf, 0.0
    for taken in range(1, max_inner_steps + 1):
        objective = encoder_step()
        if not math.isfinite(objective):
            return taken - 1
        window += objective
        if taken % check_every == 0:
            current = window / check_every
            if current >= previous:
                return taken
            previous, window = current, 0.0
    return max_inner_steps


def mutual_information_stopped_rising(history: Sequence[float], patience: int) -> bool:
    """Whether the aggressive phase ends: none of the last ``patience`` values of ``history`` (the
    mutual information at each check, nats, oldest first) exceeds the largest value before them.

    With patience 1 this is He et al.'s rule (the phase ends at the first check whose MI is not
    above the one before). False while there are ``patience`` values or fewer.
    """
    if len(history) <= patience:
        return False
    return max(history[-patience:]) <= max(history[:-patience])


def encoder_parameters(model: nn.Module, x: torch.Tensor) -> list[nn.Parameter]:
    """The parameters of ``model`` that its encoder uses: those the encoder's outputs on ``x``
    (a few rows (n, d) suffice) depend on. Works for any VAE without naming its layers."""
    params = [p for p in model.parameters() if p.requires_grad]
    mu, logvar = model.encode(x)
    grads = torch.autograd.grad(mu.sum() + logvar.sum(), params, allow_unused=True)
    return [p for p, g in zip(params, grads, strict=True) if g is not None]
