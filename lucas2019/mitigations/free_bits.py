"""Free bits (Kingma et al. 2016): a floor of λ nats on the KL term, per latent or on the sum."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from omegaconf import MISSING

from lucas2019.mitigations.base import Mitigation

#: where free bits puts its floor: on each latent's batch-mean KL, or on the summed KL
FREE_BITS_VARIANTS: tuple[str, ...] = ("per_latent", "total")


@dataclass
class FreeBitsConfig:
    """``mitigation=free_bits``: the floor λ (nats) and where it applies."""

    name: str = "free_bits"
    lambda_nats: float = MISSING
    variant: str = MISSING  # per_latent or total


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


class FreeBits(Mitigation):
    """The loss −mean(rec) + β·(free-bits KL term); the reported KL and ELBO stay the true ones."""

    name: ClassVar[str] = "free_bits"
    Config: ClassVar[type] = FreeBitsConfig

    def loss(self, terms: dict[str, torch.Tensor], beta: float) -> torch.Tensor:
        kl = free_bits_kl(terms["kl_per_latent"], self.config.lambda_nats, self.config.variant)
        return -terms["rec"].mean() + beta * kl
