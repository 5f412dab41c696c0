"""The likelihood names and how each sets σ²: the one list, torch-free so that configs, results
tables and figures read it without importing the models."""

from __future__ import annotations

#: likelihood name -> how it sets the Gaussian decoder's σ² ('none': Bernoulli, no σ²)
SIGMA2_MODES: dict[str, str] = {
    "gaussian_fixed": "fixed",
    "gaussian_learned": "learned",
    "gaussian_optimal": "optimal",
    "bernoulli": "none",
}
LIKELIHOODS: tuple[str, ...] = tuple(SIGMA2_MODES)
#: the σ² rule a likelihood may switch to at ``likelihood.sigma2_switch_step``
SIGMA2_SWITCHES: dict[str, str] = {"gaussian_learned": "optimal", "gaussian_optimal": "learned"}
#: optimisers for a learned σ² (``likelihood.sigma2_optim``)
SIGMA2_OPTIMS: tuple[str, ...] = ("adam", "sgd")
