"""Figure 5: deep VAE with fixed σ² — collapsed latents [%] (δ = 0.01) against ε on the training
set (claim C4a).

Each σ² is drawn as the mean over seeds with its 95% interval, each seed faintly.

Input: ``lucas2019.results.collapse_curves(runs)`` of the fixed-σ² runs — columns ``run_dir``
(one run per seed), ``sigma2``, ``eps`` [nats], ``collapsed_fraction`` (in [0, 1]); optional
``status`` (non-completed rows are left out and listed), ``step``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from paper_figures.collapse import render_collapse
from paper_figures.theme import Rendered, fmt_value


def render(
    curves: pd.DataFrame,
    out_dir: str | os.PathLike,
    expected: Sequence[float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Write fig5.png/.pdf; legend entries are the σ² values; return the paths. ``expected``: the
    σ² values the sweep ran (its runs' ``sigma2`` column); ``.missing`` lists those without a
    completed run."""
    return render_collapse(
        curves, out_dir, "fig5", "fixed σ²", lambda s, _rows: fmt_value(s), expected,
        "fixed σ², training set", dpi, "fixed",
    )  # fmt: skip
