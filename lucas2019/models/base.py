"""The VAE interface shared by every model, the Gaussian KL, and device selection.

Shapes: x (n, d) flat data, z (n, k) latents, mu/logvar (n, k) the diagonal Gaussian q(z | x).
All log-densities and KLs are in nats, summed over dimensions.
"""

from __future__ import annotations

import torch
from torch import nn

#: the device names a config may give (``resolve_device`` also takes 'cuda:N')
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> CUDA if available else CPU; 'cpu'; 'cuda' / 'cuda:N' (must be available)."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available on this machine; use 'auto' or 'cpu'."
            )
        return torch.device(device)
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per latent: ½(s² + m² - 1 - log s²), (n, k) -> (n, k)."""
    return 0.5 * (torch.exp(logvar) + mu**2 - 1.0 - logvar)


class VAE(nn.Module):
    """Base class: subclasses define ``encode`` and ``decode``; ``loss_terms`` is reparameterised.

    Attributes: ``data_dim`` (d), ``latent_dim`` (k).
    """

    data_dim: int
    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) -> (mu (n, k), logvar (n, k)) of q(z | x)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, k) -> x_mean (n, d) (logits for a Bernoulli likelihood)."""
        raise NotImplementedError

    def set_data_mean(self, mean: torch.Tensor) -> None:
        """Set the decoder offset μ (d,) for models that have one; a no-op for the others."""

    def sample_latents(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Reparameterised z = mu + exp(logvar/2)·ε, ε ~ N(0, I): (n_samples, n, k)."""
        eps = torch.randn(
            (n_samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype
        )
        return mu + torch.exp(0.5 * logvar) * eps

    def loss_terms(
        self,
        x: torch.Tensor,
        likelihood: nn.Module,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """ELBO terms per example: rec (n,) = E_q log p(x|z), kl (n,) = KL(q(z|x) || p(z)) and
        kl_per_latent (n, k), its terms per latent (what free bits floors).

        rec is a Monte-Carlo estimate over ``n_samples`` reparameterised samples, KL is closed form.
        Also expected_sse (n,): the estimated E_q ||x - mean(f(z))||² (data units², summed
        over d).
        """
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1; got {n_samples!r}.")
        mu, logvar = self.encode(x)
        z = self.sample_latents(mu, logvar, n_samples, generator)
        out = self.decode(z.reshape(-1, z.shape[-1])).reshape(n_samples, *x.shape)
        sq_err = (x - likelihood.mean(out)) ** 2  # (S, n, d)
        if likelihood.is_gaussian:
            rec = likelihood.expected_log_prob_from_sq_err(sq_err.mean(0))
        else:
            rec = likelihood.log_prob(
                x.expand_as(out).reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1])
            )
            rec = rec.reshape(n_samples, -1).mean(0)
        kl_per_latent = gaussian_kl(mu, logvar)
        return {
            "rec": rec,
            "kl": kl_per_latent.sum(-1),
            "kl_per_latent": kl_per_latent,
            "expected_sse": sq_err.sum(-1).mean(0),
        }
