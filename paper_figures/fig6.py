"""Figure 6: deep VAE with σ² learned from each initial value — collapsed latents [%] against ε
on the training set (claim C5). A large initial σ² still ends partly collapsed, far less than
with σ² fixed.

Each initial σ² is drawn as the mean over seeds with its 95% interval, each seed faintly.

Input: ``collapse_curves(runs)`` of the learned-σ² runs — columns ``run_dir`` (one run per seed),
``sigma2`` (initial value), ``eps`` [nats], ``collapsed_fraction``; optional ``sigma2_final``
(shown in the legend as 'init → final'), ``status``, ``step``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from paper_figures.collapse import render_collapse
from paper_figures.theme import Rendered, fmt_value


def _label(s2: float, rows: pd.DataFrame) -> str:
    """'init → final' with the mean final σ² over the runs (seeds), or just the initial value."""
    if "sigma2_final" in rows.columns:
        per_run = rows.drop_duplicates("run_dir")  # collapse curves repeat it on every ε row
        final = pd.to_numeric(per_run["sigma2_final"], errors="coerce").dropna()
        if len(final):
            return f"{fmt_value(s2)} → {final.mean():.3g}"
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
        "learned σ², training set",
        dpi,
        "learned",
    )
