"""lucas2019: posterior collapse in VAEs, after Lucas, Tucker, Grosse and Norouzi (NeurIPS 2019).

The experimental side (PyTorch): datasets, linear and deep VAEs with Gaussian decoders whose σ² is
fixed, learned or optimal, collapse metrics, a resumable trainer, Hydra entry points and W&B
tracking. The analytic side lives in the sibling package :mod:`linear_vae` (NumPy + SciPy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lucas2019.likelihoods import implied_sigma2

__all__ = ["implied_sigma2"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``implied_sigma2`` on first use: its module imports torch, which torch-free users of
    submodules (``lucas2019.io`` for paper_figures) must not pay for."""
    if name == "implied_sigma2":
        from lucas2019.likelihoods import implied_sigma2

        return implied_sigma2
    raise AttributeError(f"module 'lucas2019' has no attribute {name!r}")
