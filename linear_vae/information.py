"""Mutual information between Gaussian data and a linear encoder's latents, in closed form.

For x ~ N(m, S) and q(z | x) = N(V (x - m), diag(D)), z is Gaussian with covariance V S Vᵀ + D,
so I(x; z) = H(z) - H(z | x) = ½ [log det(V S Vᵀ + D) - log det diag(D)] nats. It is what
``lucas2019.metrics.mutual_information`` estimates from samples, for Gaussian data.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .spectrum import Spectrum

__all__ = ["mutual_information"]


def mutual_information(V: np.ndarray, D: np.ndarray, spectrum: Spectrum) -> float:
    """I(x; z) in nats for x ~ N(mean, S) (the spectrum's covariance) and z | x ~ N(V x~, diag(D)).

    Shapes: V (k, d) the encoder's mean map, D (k,) its variances (> 0, not log-variances),
    spectrum of a d-dimensional S. Computed as ½ Σ log(1 + μ_i) over the eigenvalues μ_i of
    D^-½ V S Vᵀ D^-½, which stays accurate when I(x; z) is tiny or D is.
    """
    _validate.spectrum(spectrum)
    d = spectrum.dim
    V = _validate.matrix(V, "V", (None, d))
    D = _validate.encoder_variances(D, V.shape[0])
    # rows of B: D^-½ V U diag(λ)^½, so B Bᵀ = D^-½ V S Vᵀ D^-½
    B = (V @ spectrum.eigenvectors) * np.sqrt(spectrum.eigenvalues) / np.sqrt(D)[:, None]
    mu = np.clip(np.linalg.eigvalsh(B @ B.T), 0.0, None)  # ≥ 0 up to round-off
    return float(0.5 * np.log1p(mu).sum())
