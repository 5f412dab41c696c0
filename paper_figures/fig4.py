"""Figure 4: linear decoder with linear, deep linear and MLP encoders — ELBO against training
step with the pPCA MLE line; none beats it, all approach it (claim C3).

Each encoder is drawn as the mean over seeds with its 95% interval, each seed faintly.

Input: training curves (long ``training_curves`` table or wide with ``step``, ``elbo``) with
``run_dir`` (one run per seed) and ``encoder`` columns, and the pPCA MLE log p(x) [nats per
example].
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from lucas2019.linear_names import ENCODERS
from paper_figures.theme import Rendered
from paper_figures.training import render_training

EXPECTED = ENCODERS


def render(
    curves: pd.DataFrame,
    mle: float,
    out_dir: str | os.PathLike,
    expected: Sequence[str] | None = EXPECTED,
    ylim: tuple[float, float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Write fig4.png/.pdf (ELBO vs step by encoder, MLE line, gap panel); return the paths."""
    return render_training(curves, mle, out_dir, "fig4", "encoder", "encoder", expected, ylim, dpi)
