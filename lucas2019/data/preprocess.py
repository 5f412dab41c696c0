"""Named pixel preprocessings, and the log-determinant needed to report likelihoods in pixel space.

``max_level`` is the largest raw pixel value: 255 for MNIST and CelebA, 16 for digits.

- ``none``: raw values as float32 (synthetic data; images are left at 0..max_level).
- ``scale01``: x / max_level, in [0, 1].
- ``dequantize_logit``: p = (x + u) / (max_level + 1), u ~ U[0, 1) seeded (one draw at load time);
  y = alpha + (1 - 2 alpha) p with alpha = 1e-6; z = logit(y) = log y - log(1 - y).
- ``binarize``: 1 where x / max_level > 0.5, else 0 (deterministic threshold).
- ``binarize_stochastic``: Bernoulli(x / max_level), seeded.
"""

from __future__ import annotations

import numpy as np

ALPHA = 1e-6
PREPROCESSINGS = ("none", "scale01", "dequantize_logit", "binarize", "binarize_stochastic")


def check_name(name: str) -> str:
    """Return ``name`` if it is a known preprocessing, else raise ValueError listing them."""
    if name not in PREPROCESSINGS:
        raise ValueError(
            f"preprocess={name!r}: unknown preprocessing; allowed {list(PREPROCESSINGS)}. "
            "See docs/datasets.md for their definitions."
        )
    return name


def apply(
    name: str, x: np.ndarray, max_level: int | None, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Apply preprocessing ``name`` to raw values ``x`` (any shape, 0..max_level) -> float32.

    ``rng`` drives the random ones (``dequantize_logit``, ``binarize_stochastic``); default seed 0.
    """
    check_name(name)
    rng = np.random.default_rng(0) if rng is None else rng
    if name == "none":
        return np.asarray(x, dtype=np.float32)
    if max_level is None or max_level <= 0:
        raise ValueError(
            f"preprocess={name!r} needs max_level > 0 (pixel range), got {max_level!r}; "
            "use preprocess='none' for continuous data."
        )
    x = np.asarray(x, dtype=np.float64)
    if name == "scale01":
        return (x / max_level).astype(np.float32)
    if name == "binarize":
        return (x / max_level > 0.5).astype(np.float32)
    if name == "binarize_stochastic":
        return (rng.random(x.shape) < x / max_level).astype(np.float32)
    # dequantize_logit
    p = (x + rng.random(x.shape)) / (max_level + 1)
    return logit_transform(p).astype(np.float32)


def logit_transform(p: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Map [0, 1] values to logit space: y = alpha + (1 - 2 alpha) p, return log y - log(1 - y)."""
    y = alpha + (1 - 2 * alpha) * np.asarray(p, dtype=np.float64)
    return np.log(y) - np.log1p(-y)


def logit_log_det_jacobian(p: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """log|det dz/dp| per example (nats) for z = logit_transform(p); ``p`` (n, d) in [0, 1].

    log p_pixel(p) = log p_logit(z) + this. Each dimension adds
    log(1 - 2 alpha) - log y - log(1 - y), y = alpha + (1 - 2 alpha) p.
    """
    y = alpha + (1 - 2 * alpha) * np.asarray(p, dtype=np.float64)
    per_dim = np.log1p(-2 * alpha) - np.log(y) - np.log1p(-y)
    return per_dim.reshape(len(per_dim), -1).sum(axis=1)


def logit_log_det_jacobian_from_logits(z: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Same as :func:`logit_log_det_jacobian`, computed from the logit-space data z (n, d).

    y = sigmoid(z); each dimension adds log(1 - 2 alpha) - log sigmoid(z) - log sigmoid(-z).
    """
    z = np.asarray(z, dtype=np.float64)
    # -log sigmoid(z) = softplus(-z); -log sigmoid(-z) = softplus(z)
    per_dim = np.log1p(-2 * alpha) + np.logaddexp(0, -z) + np.logaddexp(0, z)
    return per_dim.reshape(len(per_dim), -1).sum(axis=1)
