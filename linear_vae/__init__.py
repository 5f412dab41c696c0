"""Analytic theory of the linear VAE and probabilistic PCA (Lucas et al. 2019), NumPy + SciPy only.

Public API::

    from linear_vae import (Spectrum, ppca_mle, log_likelihood, elbo, mean_elbo, optimal_encoder,
                            stationary_point, classify_stationary_point, landscape,
                            collapse_diagnostics, sweep, n_live, learnable_n_latent,
                            mutual_information)

All log-likelihoods and ELBOs are in nats per example. Tables (``sweep``, ``collapse_diagnostics``,
``landscape``) come back as plain columns, ``dict[str, np.ndarray]``: ``pd.DataFrame(table)``
turns one into a DataFrame. See docs/analytic.md.
"""

from .collapse import collapse_diagnostics, n_live, sweep
from .elbo import elbo, elbo_terms, mean_elbo, mean_elbo_terms, optimal_encoder
from .information import mutual_information
from .ppca import (
    PPCAResult,
    learnable_n_latent,
    log_likelihood,
    mean_log_likelihood,
    mle_sigma2,
    ppca_mle,
)
from .spectrum import Spectrum, covariance_eigenvalues, eigenvalue_rank
from .stationary import (
    AscentDirection,
    StationaryClassification,
    StationaryPoint,
    classify_stationary_point,
    landscape,
    stationary_point,
)

__all__ = [
    "AscentDirection",
    "PPCAResult",
    "Spectrum",
    "StationaryClassification",
    "StationaryPoint",
    "classify_stationary_point",
    "collapse_diagnostics",
    "covariance_eigenvalues",
    "eigenvalue_rank",
    "elbo",
    "elbo_terms",
    "landscape",
    "learnable_n_latent",
    "log_likelihood",
    "mean_elbo",
    "mean_elbo_terms",
    "mean_log_likelihood",
    "mle_sigma2",
    "mutual_information",
    "n_live",
    "optimal_encoder",
    "ppca_mle",
    "stationary_point",
    "sweep",
]
