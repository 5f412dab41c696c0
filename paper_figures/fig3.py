"""Figure 3: linear VAE on MNIST — stochastic vs analytic ELBO against training step (claim C3).

Each objective is drawn as the mean over seeds with its 95% interval, each seed faintly.

Input: training curves of the linear-VAE runs — the long table of
``lucas2019.results.training_curves`` (columns ``run_dir`` (one run per seed), ``objective``,
``step``, ``metric``, ``value``) or a wide one with ``run_dir``, ``objective``, ``step``, ``elbo``
[nats per example] — and the pPCA MLE log p(x) of the same training data [nats per example].
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from lucas2019.linear_names import OBJECTIVES
from paper_figures.theme import Rendered
from paper_figures.training import render_training

EXPECTED = OBJECTIVES


def render(
    curves: pd.DataFrame,
    mle: float,
    out_dir: str | os.PathLike,
    expected: Sequence[str] | None = EXPECTED,
    ylim: tuple[float, float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Write fig3.png/.pdf (ELBO vs step by objective, MLE line, gap panel); return the paths."""
    return render_training(curves, mle, out_dir, "fig3", "objective", "ELBO", expected, ylim, dpi)
