"""Shared drawing for Figs. 5 and 6: collapsed latents [%] against ε per σ² value, coloured on a
log scale of σ²: the mean over seeds with its 95% interval, and each seed faintly."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import pandas as pd

from paper_figures.common import completed_only, missing_values, plain_rows, require_columns
from paper_figures.theme import (
    LABELS,
    LEGEND_OUTSIDE,
    Rendered,
    lineplot_seeds,
    log_palette,
    new_figure,
    note_missing,
    note_seeds,
    savefig,
    seeds_caption,
    seeds_per_setting,
)

COLUMNS = ("run_dir", "sigma2", "eps", "collapsed_fraction")


def render_collapse(
    curves: pd.DataFrame,
    out_dir: str | os.PathLike,
    stem: str,
    legend_title: str,
    label: Callable[[float, pd.DataFrame], str],
    expected: Sequence[float] | None,
    title: str,
    dpi: int,
    mode: str,
) -> Rendered:
    """Draw collapse % vs ε per σ² (``label(σ², rows)`` names each line); write ``stem``.png/.pdf.

    Only σ² ``mode`` ('fixed'|'learned') rows without KL annealing are drawn (see
    ``common.plain_rows``). Rows whose ``status`` is not 'completed' are left out and listed
    with the missing σ². Each σ² shows the mean over its runs (``run_dir``, one per seed) with a
    95% interval band (``theme.interval_bounds``) and each run faintly; ``.notes`` says so.
    """
    require_columns(curves, COLUMNS, "curves", "lucas2019.results.collapse_curves() output")
    done, skipped = completed_only(plain_rows(curves, mode))
    df = done.assign(
        sigma2=pd.to_numeric(done["sigma2"], errors="coerce"),
        collapsed_pct=100 * pd.to_numeric(done["collapsed_fraction"], errors="coerce"),
    ).dropna(subset=["sigma2", "eps", "collapsed_pct"])
    df = df.loc[df["sigma2"] > 0]
    missing = missing_values(df["sigma2"].unique(), expected, "σ²=") + skipped
    fig, (ax,) = new_figure(1, width=6.4, height=3.6)
    notes: list[str] = []  # what the lines and bands are, when there are any
    if df.empty:
        ax.text(0.5, 0.5, "no completed runs", ha="center", transform=ax.transAxes)
    else:
        colors = log_palette(df["sigma2"].unique())
        names = {s: label(s, df.loc[df["sigma2"] == s]) for s in sorted(colors, reverse=True)}
        df["line"] = df["sigma2"].map(names)
        palette = {names[s]: colors[s] for s in names}
        lineplot_seeds(
            ax, df, "eps", "collapsed_pct", bounds=(0.0, 100.0), hue="line",
            hue_order=list(names.values()), palette=palette,
        )  # fmt: skip
        notes = [seeds_caption(seeds_per_setting(df, "sigma2"))]
        note_seeds(fig, *notes)
        ax.legend(title=legend_title, fontsize=6, title_fontsize=7, **LEGEND_OUTSIDE)
        if "step" in df.columns and df["step"].notna().any():
            title += f" (after {int(pd.to_numeric(df['step']).min())} steps)"
    ax.set_ylim(-2, 102)
    ax.set_xlabel(LABELS["eps"])
    ax.set_ylabel(LABELS["collapsed"])
    ax.set_title(title, fontsize=8)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, stem, dpi=dpi), fig, missing, notes)
