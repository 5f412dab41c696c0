"""Deep nonlinear VAEs: the paper's MLP VAE and a convolutional VAE for images (e.g. CelebA 64x64).

Both take and return flat data x (n, d); the decoder output is linear (the Gaussian mean, or
Bernoulli logits). Layers use PyTorch's default initialisation (the paper does not state one).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from .base import VAE


def mlp(sizes: Sequence[int], final_activation: bool) -> nn.Sequential:
    """Linear layers through ``sizes`` with ReLU between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPVAE(VAE):
    """The paper's deep VAE. Encoder d -> 1024 -> 512 (ReLU) -> linear heads for mean and
    log-variance; decoder k -> 512 -> 1024 (ReLU) -> d, linear output. Widths configurable."""

    def __init__(
        self,
        data_dim: int,
        latent_dim: int = 200,
        encoder_hidden: Sequence[int] = (1024, 512),
        decoder_hidden: Sequence[int] = (512, 1024),
    ) -> None:
        super().__init__()
        self.data_dim, self.latent_dim = data_dim, latent_dim
        enc = [data_dim, *map(int, encoder_hidden)]
        self.encoder = mlp(enc, final_activation=True)
        self.mu_head = nn.Linear(enc[-1], latent_dim)
        self.logvar_head = nn.Linear(enc[-1], latent_dim)
        self.decoder = mlp(
            [latent_dim, *map(int, decoder_hidden), data_dim], final_activation=False
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) -> (mu (n, k), logvar (n, k))."""
        h = self.encoder(x)
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, k) -> x_mean (n, d)."""
        return self.decoder(z)


class ConvVAE(VAE):
    """Conv VAE for images (C, H, W), H and W divisible by 2**len(channels) (16 by default).

    Encoder: len(channels) convs (kernel 4, stride 2, padding 1, ReLU), flatten, linear heads.
    Decoder: linear to (channels[-1], H/16, W/16), ReLU, mirrored transposed convs (ReLU between),
    the last one to C channels with a linear output; flattened to (n, d), d = C·H·W.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_dim: int = 200,
        channels: Sequence[int] = (32, 32, 64, 64),
    ) -> None:
        super().__init__()
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W); got {image_shape!r}.")
        if len(channels) < 1:
            raise ValueError(f"channels must list at least one conv width; got {channels!r}.")
        c, h, w = image_shape
        f = 2 ** len(channels)
        if h % f or w % f:
            raise ValueError(
                f"ConvVAE needs H and W divisible by {f} (= 2**len(channels), one halving per "
                f"conv); got image_shape={image_shape!r}. Resize/crop the images, or use mlp_vae."
            )
        self.image_shape, self.latent_dim = image_shape, latent_dim
        self.data_dim = c * h * w
        self.feat_shape = (int(channels[-1]), h // f, w // f)
        n_feat = self.feat_shape[0] * self.feat_shape[1] * self.feat_shape[2]
        enc: list[nn.Module] = []
        for a, b in zip((c, *channels[:-1]), channels, strict=True):
            enc += [nn.Conv2d(a, b, 4, 2, 1), nn.ReLU()]
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.mu_head = nn.Linear(n_feat, latent_dim)
        self.logvar_head = nn.Linear(n_feat, latent_dim)
        self.fc = nn.Linear(latent_dim, n_feat)
        rev = list(channels[::-1])
        dec: list[nn.Module] = []
        for a, b in zip(rev, [*rev[1:], c], strict=True):
            dec += [nn.ReLU(), nn.ConvTranspose2d(a, b, 4, 2, 1)]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) flat -> (mu (n, k), logvar (n, k))."""
        h = self.encoder(x.reshape(-1, *self.image_shape))
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, k) -> x_mean (n, d) flat."""
        h = self.fc(z).reshape(-1, *self.feat_shape)
        return self.decoder(h).reshape(z.shape[0], -1)
