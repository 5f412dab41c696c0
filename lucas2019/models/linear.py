"""Linear-decoder VAEs: the paper's linear VAE and its Figure-4 encoder variants.

Decoder (both): p(x | z) with mean Wz + μ, W (d, k), μ (d,) a buffer set to the data mean by
``set_data_mean`` and not trained: the pPCA maximum-likelihood μ is the sample mean whatever W and
σ² are, so fixing it there loses nothing and keeps the optimum identical to the closed form.

Objectives: "analytic" computes E_q log p(x | z) exactly, from the expected squared error per
dimension (x̃ - W m)² + Σ_j s_j² W_ij², x̃ = x - μ, m and s² the encoder mean and variance
(Gaussian likelihoods only); "stochastic" uses reparameterised samples (VAE.loss_terms). The KL is
closed form in both.
"""

from __future__ import annotations

import torch
from torch import nn

from lucas2019.linear_names import ENCODERS, OBJECTIVES

from .base import VAE, gaussian_kl

DEFAULT_ENCODER_HIDDEN = {"linear": (), "deep_linear": (512,), "mlp": (1024, 512)}


def analytic_sq_err(
    x_c: torch.Tensor, W: torch.Tensor, mu: torch.Tensor, var: torch.Tensor
) -> torch.Tensor:
    """E_q (x̃ - W z)² per dimension for z ~ N(mu, diag(var)).

    x_c (n, d) centred data, W (d, k), mu (n, k), var (n, k) or (k,) -> (n, d) (data units²).
    """
    return (x_c - mu @ W.T) ** 2 + var @ (W**2).T


class _LinearDecoderBase(VAE):
    """Shared decoder Wz + μ and the analytic objective; subclasses define ``encode``."""

    def __init__(self, data_dim: int, latent_dim: int, objective: str, init_std: float) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; got {objective!r}.")
        self.data_dim, self.latent_dim, self.objective = data_dim, latent_dim, objective
        self.W = nn.Parameter(init_std * torch.randn(data_dim, latent_dim))
        self.register_buffer("data_mean", torch.zeros(data_dim))

    def set_data_mean(self, mean: torch.Tensor) -> None:
        """Set μ (d,) (the training-data mean); it is a buffer, not trained."""
        mean = torch.as_tensor(mean, dtype=self.data_mean.dtype).reshape(-1)
        if mean.shape != self.data_mean.shape:
            raise ValueError(
                f"mean must have shape ({self.data_dim},) (data_dim); got {tuple(mean.shape)}."
            )
        self.data_mean.copy_(mean)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, k) -> Wz + μ (n, d)."""
        return z @ self.W.T + self.data_mean

    def loss_terms(
        self,
        x: torch.Tensor,
        likelihood: nn.Module,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """rec, kl, expected_sse (each (n,)) and kl_per_latent (n, k); closed form if objective ==
        "analytic" (n_samples unused)."""
        if self.objective == "stochastic":
            return super().loss_terms(x, likelihood, n_samples, generator)
        if not likelihood.is_gaussian:
            raise ValueError(
                "objective='analytic' needs a Gaussian likelihood; got "
                f"{type(likelihood).__name__}. Use objective='stochastic' for Bernoulli data."
            )
        mu, logvar = self.encode(x)
        sq_err = analytic_sq_err(x - self.data_mean, self.W, mu, torch.exp(logvar))
        rec = likelihood.expected_log_prob_from_sq_err(sq_err)
        kl_per_latent = gaussian_kl(mu, logvar)
        return {
            "rec": rec,
            "kl": kl_per_latent.sum(-1),
            "kl_per_latent": kl_per_latent,
            "expected_sse": sq_err.sum(-1),
        }


class LinearVAE(_LinearDecoderBase):
    """The paper's linear VAE: q(z | x) = N(V(x - μ), diag(D)), p(x | z) = N(Wz + μ, σ²).

    Parameters: W (d, k), V (k, d), log_D (k,) (D shared by every x). Paper initialisation:
    W, V ~ N(0, init_std²) with init_std = 1e-3, log D = 0 (log σ² = 0 lives in the likelihood).
    """

    def __init__(
        self, data_dim: int, latent_dim: int, objective: str = "analytic", init_std: float = 1e-3
    ) -> None:
        super().__init__(data_dim, latent_dim, objective, init_std)
        self.V = nn.Parameter(init_std * torch.randn(latent_dim, data_dim))
        self.log_D = nn.Parameter(torch.zeros(latent_dim))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) -> (V(x - μ) (n, k), log D broadcast to (n, k))."""
        mu = (x - self.data_mean) @ self.V.T
        return mu, self.log_D.expand_as(mu).clone()  # a copy: no grad under no_grad()


class LinearDecoderVAE(_LinearDecoderBase):
    """Linear decoder Wz + μ with an amortised Gaussian encoder on x - μ (paper Figure 4).

    encoder: "linear" (linear heads for mean and log-variance), "deep_linear" (d -> 512 -> heads,
    no nonlinearity) or "mlp" (d -> 1024 -> 512 -> heads, ReLU); ``encoder_hidden`` overrides the
    widths. W ~ N(0, init_std²); the log-variance head starts at zero (q starts at unit variance,
    as log D = 0 in the linear VAE); the linear encoder's mean head starts N(0, init_std²) with zero
    bias, the other layers use PyTorch's default initialisation.
    """

    def __init__(
        self,
        data_dim: int,
        latent_dim: int,
        encoder: str = "linear",
        encoder_hidden: tuple[int, ...] | list[int] | None = None,
        objective: str = "analytic",
        init_std: float = 1e-3,
    ) -> None:
        super().__init__(data_dim, latent_dim, objective, init_std)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}; got {encoder!r}.")
        hidden = DEFAULT_ENCODER_HIDDEN[encoder] if encoder_hidden is None else encoder_hidden
        if encoder == "linear" and len(hidden) > 0:
            raise ValueError(
                f"encoder='linear' has no hidden layers; got encoder_hidden={encoder_hidden!r}. "
                "Use encoder='deep_linear' for hidden linear layers."
            )
        self.encoder_name = encoder
        layers: list[nn.Module] = []
        width = data_dim
        for h in hidden:
            layers.append(nn.Linear(width, int(h)))
            if encoder == "mlp":
                layers.append(nn.ReLU())
            width = int(h)
        self.trunk = nn.Sequential(*layers)
        self.mu_head = nn.Linear(width, latent_dim)
        self.logvar_head = nn.Linear(width, latent_dim)
        nn.init.zeros_(self.logvar_head.weight)
        nn.init.zeros_(self.logvar_head.bias)
        if encoder == "linear":
            nn.init.normal_(self.mu_head.weight, std=init_std)
            nn.init.zeros_(self.mu_head.bias)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) -> (mu (n, k), logvar (n, k)) from the encoder network applied to x - μ."""
        h = self.trunk(x - self.data_mean)
        return self.mu_head(h), self.logvar_head(h)
