"""Figure 4: linear decoder with linear, deep linear and MLP encoders — ELBO against training
step with the pPCA MLE line; none beats it, all approach it (claim C3).

Input: training curves (long ``training_curves`` table or wide with ``step``, ``elbo``) with an
``encoder`` column, and the pPCA MLE log p(x) [nats per example].
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from paper_figures.theme import Rendered
from paper_figures.training import render_training
from paper_figures.verdicts import Verdict, verdict_c3_encoders

EXPECTED = ("linear", "deep_linear", "mlp")


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


def verdict(
    curves: pd.DataFrame,
    mle: float,
    rel_tol: float = 0.05,
    expected: Sequence[str] | None = EXPECTED,
    min_steps: int = 0,
) -> Verdict:
    """C3 (Fig. 4): no encoder beats the MLE and each ends within ``rel_tol`` of it."""
    return verdict_c3_encoders(curves, mle, rel_tol=rel_tol, expected=expected, min_steps=min_steps)
