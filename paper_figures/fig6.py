"""Figure 6: deep VAE with σ² learned from each initial value — collapsed latents [%] against ε
(claim C5). A large initial σ² still ends partly collapsed, far less than with σ² fixed.

Input: ``collapse_curves(runs)`` of the learned-σ² runs — columns ``sigma2`` (initial value),
``eps`` [nats], ``collapsed_fraction``; optional ``sigma2_final`` (shown in the legend as
'init → final'), ``run_dir``, ``status``, ``step``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paper_figures.collapse import render_collapse
from paper_figures.theme import Rendered, fmt_value
from paper_figures.verdicts import Verdict, verdict_c5


def _label(s2: float, rows: pd.DataFrame) -> str:
    """'init → final' with the mean final σ² over the runs, or just the initial value."""
    if "sigma2_final" in rows.columns:
        final = pd.to_numeric(rows["sigma2_final"], errors="coerce").dropna()
        if len(final):
            return f"{fmt_value(s2)} → {np.mean(final.unique()):.3g}"
    return fmt_value(s2)


def render(
    curves: pd.DataFrame,
    out_dir: str | os.PathLike,
    expected: Sequence[float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Write fig6.png/.pdf (legend: initial σ² → learned σ²); return the paths. ``expected``:
    the initial σ² values the sweep ran; ``.missing`` lists those without a completed run."""
    return render_collapse(
        curves,
        out_dir,
        "fig6",
        "initial σ² → learned σ²",
        _label,
        expected,
        "learned σ²",
        dpi,
        "learned",
    )


def verdict(runs: pd.DataFrame, measure: str = "integrated", min_steps: int = 0) -> Verdict:
    """C5 from fixed- and learned-σ² rows of ``collect_runs`` (see ``verdicts.verdict_c5``)."""
    return verdict_c5(runs, measure=measure, min_steps=min_steps)
