"""Shared drawing for Figs. 3 and 4: ELBO against training step coloured by a config column, the
mean over seeds with its 95% interval and each seed faintly, with the pPCA MLE as a dashed line;
right panel: the gap to the MLE (log y)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paper_figures.common import metric_curve, missing_values, require_columns
from paper_figures.theme import (
    LABELS,
    MLE_STYLE,
    Rendered,
    lineplot_seeds,
    new_figure,
    note_missing,
    note_seeds,
    savefig,
    seeds_caption,
    seeds_per_setting,
)

GAP_FLOOR = 1e-3  # nats: smallest gap shown on the log axis


def render_training(
    curves: pd.DataFrame,
    mle: float,
    out_dir: str | os.PathLike,
    stem: str,
    hue: str,
    hue_title: str,
    expected: Sequence[str] | None,
    ylim: tuple[float, float] | None,
    dpi: int,
) -> Rendered:
    """Draw ELBO vs step coloured by ``hue`` with the MLE line; write ``stem``.png/.pdf.

    ``curves`` needs ``run_dir`` (one run per seed) and ``hue`` columns. Each panel shows, per
    ``hue`` value, the mean over its runs at each step with a 95% interval band and each run
    faintly; the gap panel averages the runs' gaps |MLE − ELBO| [nats]. ``.notes`` says so.
    """
    elbo = metric_curve(curves, "elbo")
    require_columns(elbo, ["run_dir", hue], "curves", f"training curves with a {hue!r} column")
    if elbo.empty:
        raise ValueError("curves has no ELBO values; pass training_curves() of the runs.")
    mle = float(mle)
    if not np.isfinite(mle):
        raise ValueError(f"mle must be the finite pPCA MLE log p(x) in nats, got {mle!r}.")
    elbo = elbo.assign(**{hue: elbo[hue].astype(str)})
    order = sorted(elbo[hue].unique())
    missing = missing_values(order, expected, f"{hue}=")
    elbo["gap"] = np.maximum(np.abs(mle - elbo["value"]), GAP_FLOOR)
    fig, (ax, ax_gap) = new_figure(2, width=4.2, height=3.3)
    kws = {"hue": hue, "hue_order": order, "linewidth": 1.0}
    lineplot_seeds(ax, elbo, "step", "value", **kws)
    lineplot_seeds(ax_gap, elbo, "step", "gap", legend=False, **kws)
    ax.axhline(mle, label="pPCA MLE log p(x)", **MLE_STYLE)
    if ylim is None:
        lo = min(float(np.nanpercentile(elbo["value"], 10)), mle)
        hi = max(float(elbo["value"].max()), mle)
        pad = 0.05 * (hi - lo) if hi > lo else 1.0
        ylim = (lo - pad, hi + pad)
    ax.set_ylim(*ylim)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, title=hue_title, fontsize=6, title_fontsize=7)
    ax.set_xlabel(LABELS["step"])
    ax.set_ylabel(LABELS["elbo"])
    ax_gap.set_yscale("log")
    ax_gap.set_xlabel(LABELS["step"])
    ax_gap.set_ylabel(LABELS["gap"])
    caption = seeds_caption(seeds_per_setting(elbo, hue))
    note_seeds(fig, caption)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, stem, dpi=dpi), fig, missing, [caption])
