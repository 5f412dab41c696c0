"""lucas2019: posterior collapse in VAEs, after Lucas, Tucker, Grosse and Norouzi (NeurIPS 2019).

The experimental side (PyTorch): datasets, linear and deep VAEs with Gaussian decoders whose σ² is
fixed, learned or optimal, collapse metrics, a resumable trainer, Hydra entry points and W&B
tracking. The analytic side lives in the sibling package :mod:`linear_vae` (NumPy + SciPy).
Importing the package itself loads no torch (``implied_sigma2`` is torch-free), so the torch-free
modules (results tables, figures) stay torch-free.
"""

from lucas2019.loss_recipes import implied_sigma2

__all__ = ["implied_sigma2"]
__version__ = "0.1.0"
