"""Torch VAEs by name: ``build_model(name, data_dim, image_shape, latent_dim, **options)``.

Every model is a ``VAE`` (see base.py): encode, decode, loss_terms, set_data_mean, latent_dim.
:data:`MODELS` is the one registry of model names; a model's options are its constructor's
keyword arguments (:func:`model_options`), which the config schema mirrors node for node.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Sequence
from typing import Any

from .base import DEVICES, VAE, gaussian_kl, resolve_device
from .deep import MLPVAE, ConvVAE
from .linear import ENCODERS, OBJECTIVES, LinearDecoderVAE, LinearVAE, analytic_sq_err

__all__ = [
    "DEVICES",
    "ENCODERS",
    "LINEAR_MODELS",
    "MLPVAE",
    "MODELS",
    "OBJECTIVES",
    "VAE",
    "ConvVAE",
    "LinearDecoderVAE",
    "LinearVAE",
    "analytic_sq_err",
    "build_model",
    "gaussian_kl",
    "model_options",
    "resolve_device",
]

#: model name -> its class
MODELS: dict[str, type[VAE]] = {
    "linear_vae": LinearVAE,
    "linear_decoder": LinearDecoderVAE,
    "mlp_vae": MLPVAE,
    "conv_vae": ConvVAE,
}
#: models with a linear decoder, which have a closed-form ELBO and at most d latents
LINEAR_MODELS: tuple[str, ...] = ("linear_vae", "linear_decoder")
_SHAPE_ARGS = ("self", "data_dim", "image_shape", "latent_dim")


def model_options(name: str) -> tuple[str, ...]:
    """The options model ``name`` takes besides data_dim / image_shape / latent_dim: the keyword
    arguments of its constructor."""
    parameters = inspect.signature(MODELS[name].__init__).parameters
    return tuple(p for p in parameters if p not in _SHAPE_ARGS)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def build_model(
    name: str,
    data_dim: int,
    image_shape: Sequence[int] | None,
    latent_dim: int,
    **options: Any,
) -> VAE:
    """Build a VAE by name.

    Args:
        name: a key of :data:`MODELS`.
        data_dim: d, size of the flat data vectors.
        image_shape: (C, H, W) for images, (d,) or None otherwise; its product must equal data_dim.
            Required (3-D) for "conv_vae".
        latent_dim: k.
        options: the model's own options (:func:`model_options`): objective ("analytic"|
            "stochastic"), init_std, encoder ("linear"|"deep_linear"|"mlp"), encoder_hidden /
            decoder_hidden (lists of widths), channels (conv widths). Any other raises ValueError.
    """
    if name not in MODELS:
        raise ValueError(f"model name must be one of {tuple(MODELS)}; got {name!r}.")
    data_dim = _positive_int("data_dim", data_dim)
    latent_dim = _positive_int("latent_dim", latent_dim)
    unknown = sorted(set(options) - set(model_options(name)))
    if unknown:
        raise ValueError(
            f"model {name!r} does not take option(s) {unknown}; allowed: "
            f"{list(model_options(name))}. Remove them from the model config."
        )
    if image_shape is not None:
        image_shape = tuple(int(s) for s in image_shape)
        if math.prod(image_shape) != data_dim:
            raise ValueError(
                f"image_shape {image_shape} has {math.prod(image_shape)} entries but "
                f"data_dim={data_dim}; they must match."
            )
    if name != "conv_vae":
        return MODELS[name](data_dim, latent_dim, **options)
    if image_shape is None or len(image_shape) != 3:
        raise ValueError(
            f"conv_vae needs image_shape=(C, H, W); got {image_shape!r}. Use mlp_vae for flat data."
        )
    return ConvVAE(image_shape, latent_dim, **options)
