"""Torch VAEs by name: ``build_model(name, data_dim, image_shape, latent_dim, **model_options)``.

Every model is a ``VAE`` (see base.py): encode, decode, loss_terms, set_data_mean, latent_dim.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .base import VAE, gaussian_kl, resolve_device
from .deep import MLPVAE, ConvVAE
from .linear import LinearDecoderVAE, LinearVAE, analytic_sq_err

__all__ = [
    "MLPVAE",
    "MODELS",
    "VAE",
    "ConvVAE",
    "LinearDecoderVAE",
    "LinearVAE",
    "analytic_sq_err",
    "build_model",
    "gaussian_kl",
    "resolve_device",
]

# model name -> the options it accepts (besides data_dim / image_shape / latent_dim)
MODELS: dict[str, tuple[str, ...]] = {
    "linear_vae": ("objective", "init_std"),
    "linear_decoder": ("encoder", "encoder_hidden", "objective", "init_std"),
    "mlp_vae": ("encoder_hidden", "decoder_hidden"),
    "conv_vae": ("channels",),
}


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def build_model(
    name: str,
    data_dim: int,
    image_shape: Sequence[int] | None,
    latent_dim: int,
    **model_options: Any,
) -> VAE:
    """Build a VAE by name.

    Args:
        name: "linear_vae", "linear_decoder", "mlp_vae" or "conv_vae".
        data_dim: d, size of the flat data vectors.
        image_shape: (C, H, W) for images, (d,) or None otherwise; its product must equal data_dim.
            Required (3-D) for "conv_vae".
        latent_dim: k.
        model_options: per model (see MODELS): objective ("analytic"|"stochastic"), init_std,
            encoder ("linear"|"deep_linear"|"mlp"), encoder_hidden / decoder_hidden (lists of
            widths), channels (conv widths). Options a model does not take raise ValueError unless
            their value is None (so one shared config can carry null placeholders).
    """
    if name not in MODELS:
        raise ValueError(f"model name must be one of {tuple(MODELS)}; got {name!r}.")
    data_dim = _positive_int("data_dim", data_dim)
    latent_dim = _positive_int("latent_dim", latent_dim)
    opts = {k: v for k, v in model_options.items() if v is not None}
    unknown = sorted(set(opts) - set(MODELS[name]))
    if unknown:
        raise ValueError(
            f"model {name!r} does not take option(s) {unknown}; allowed: {list(MODELS[name])}. "
            "Remove them from the model config (or set them to null)."
        )
    if image_shape is not None:
        image_shape = tuple(int(s) for s in image_shape)
        if math.prod(image_shape) != data_dim:
            raise ValueError(
                f"image_shape {image_shape} has {math.prod(image_shape)} entries but "
                f"data_dim={data_dim}; they must match."
            )
    if name == "linear_vae":
        return LinearVAE(data_dim, latent_dim, **opts)
    if name == "linear_decoder":
        return LinearDecoderVAE(data_dim, latent_dim, **opts)
    if name == "mlp_vae":
        return MLPVAE(data_dim, latent_dim, **opts)
    if image_shape is None or len(image_shape) != 3:
        raise ValueError(
            f"conv_vae needs image_shape=(C, H, W); got {image_shape!r}. Use mlp_vae for flat data."
        )
    return ConvVAE(image_shape, latent_dim, **opts)
