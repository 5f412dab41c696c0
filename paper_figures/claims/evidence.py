"""What verdicts are computed from: the analytic tables, and the runs of the experiments a figure
reads (:class:`Evidence`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from lucas2019 import results


@dataclass(frozen=True)
class Inputs:
    """What the figures are drawn from.

    Attributes:
        analytic: the folder of the analytic tables (``python -m lucas2019.analytic``).
        eigenvalues: the training data's covariance eigenvalues (spectrum.csv), descending.
        by_k: Figure 2's table (likelihood_vs_k.csv).
        runs: experiment name -> its ``collect_runs`` table, for the experiments with runs.
        ppca_mle: runs -> the learned-σ² pPCA row of ``by_k`` at the runs' latent size
            (``n_latent``, ``sigma2`` [data units²], ``log_likelihood`` [nats per example]).
    """

    analytic: Path
    eigenvalues: np.ndarray
    by_k: pd.DataFrame
    runs: Mapping[str, pd.DataFrame]
    ppca_mle: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Evidence:
    """What one figure's verdicts read: the ``inputs`` and ``runs``, the rows of the experiments
    the figure reads, in its order (None for a figure drawn from the analytic tables alone)."""

    inputs: Inputs
    runs: pd.DataFrame | None = None

    @property
    def eigenvalues(self) -> np.ndarray:
        """The training data's covariance eigenvalues, descending."""
        return self.inputs.eigenvalues

    @property
    def by_k(self) -> pd.DataFrame:
        """The analytic sweep over k (likelihood_vs_k.csv)."""
        return self.inputs.by_k

    @cached_property
    def curves(self) -> pd.DataFrame:
        """The runs' training curves (``lucas2019.results.training_curves``), read once."""
        return results.training_curves(self.runs)

    @cached_property
    def mle(self) -> pd.Series:
        """The learned-σ² pPCA row at the runs' latent size (see :class:`Inputs`)."""
        return self.inputs.ppca_mle(self.runs)
