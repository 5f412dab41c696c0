"""Figure 8 (beyond the paper): how σ² travels under each σ² rule, and what the latents do meanwhile
(claim C7: local optimum or slow optimiser?).

One column per σ² rule (learned at optim.lr, learned fast, closed form, learned then closed form);
top row σ² against step (log scale) with one line per initial σ², its closed-form optimum
(E_q MSE) dotted in the same colour, and the linear theory's pPCA σ²_MLE dashed; bottom row the
active units against step. Each line is the mean over seeds with its 95% interval band, each
seed faintly; the dotted optimum is the mean only.

Input: ``training_curves`` of the ``sigma2_dynamics`` runs (long table: ``run_dir`` (one run per
seed),
``sigma2`` (initial value), ``sigma2_rule``, ``step``, ``metric``, ``value``; metrics used:
``sigma2``, ``sigma2_optimal``, ``active_units``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from paper_figures.common import metric_curve, missing_values, require_columns
from paper_figures.theme import (
    LABELS,
    MLE_STYLE,
    Rendered,
    fmt_value,
    lineplot_seeds,
    log_palette,
    note_missing,
    note_seeds,
    savefig,
    seeds_caption,
    seeds_per_setting,
    set_theme,
)

INITIAL_SIGMA2 = (10.0, 1.0, 0.01)


def render(
    curves: pd.DataFrame,
    sigma2_mle: float | None,
    out_dir: str | os.PathLike,
    mle_label: str = "pPCA σ²_MLE",
    expected: Sequence[float] | None = INITIAL_SIGMA2,
    dpi: int = 150,
) -> Rendered:
    """Write fig8.png/.pdf (σ² and active units against step, per σ² rule); return the paths.

    ``sigma2_mle`` (data units²) is drawn as a dashed line when finite; ``mle_label`` names it
    (e.g. with its k). ``expected`` lists the initial σ² values every rule should have. Lines are
    means over the runs (seeds) of a rule and initial σ², with 95% interval bands and each run
    faintly (``.notes`` says so).
    """
    require_columns(curves, ["run_dir", "sigma2", "sigma2_rule"], "curves", "training_curves()")
    s2 = metric_curve(curves, "sigma2")
    if s2.empty:
        raise ValueError("curves has no σ² values; pass training_curves() of Gaussian runs.")
    rules = sorted(s2["sigma2_rule"].dropna().astype(str).unique())
    inits = sorted(pd.to_numeric(s2["sigma2"]).unique(), reverse=True)
    colours = log_palette(inits)
    missing = [
        f"{rule}, {m}"
        for rule in rules
        for m in missing_values(s2.loc[s2["sigma2_rule"] == rule, "sigma2"], expected, "σ²=")
    ]
    set_theme()
    fig, axes = plt.subplots(
        2, len(rules), figsize=(3.4 * len(rules), 5.4), sharex=True, sharey="row", squeeze=False
    )
    for col, rule in enumerate(rules):
        top, bottom = axes[0, col], axes[1, col]
        of_rule = curves.loc[curves["sigma2_rule"] == rule]
        initial = pd.to_numeric(of_rule["sigma2"])
        for init in inits:  # largest initial σ² first, as in the legend
            runs = of_rule.loc[initial == init]
            line = {"color": colours[init], "label": f"σ²₀ = {fmt_value(init)}", "legend": False}
            k = _latents(runs)
            for ax, metric, bounds in ((top, "sigma2", None), (bottom, "active_units", (0, k))):
                values = metric_curve(runs, metric)
                if not values.empty:
                    lineplot_seeds(ax, values, "step", "value", bounds, linewidth=1.2, **line)
            optimum = metric_curve(runs, "sigma2_optimal")
            if not optimum.empty:
                sns.lineplot(
                    data=optimum, x="step", y="value", color=colours[init], linestyle=":",
                    linewidth=1, errorbar=None, legend=False, ax=top,
                )  # fmt: skip
        if sigma2_mle is not None and np.isfinite(sigma2_mle):
            top.axhline(float(sigma2_mle), label=mle_label, **MLE_STYLE)
        top.set_yscale("log")
        top.set_title(rule, fontsize=8)
        top.set(xlabel="", ylabel="")  # seaborn names them after the columns
        bottom.set(xlabel=LABELS["step"], ylabel="")
    axes[0, 0].set_ylabel(f"{LABELS['sigma2']}\n(dotted: its optimum, E_q MSE)")
    axes[1, 0].set_ylabel("active units [count]")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, -1].legend(handles, labels, title="initial σ²", fontsize=6, title_fontsize=7)
    caption = seeds_caption(seeds_per_setting(s2, ["sigma2_rule", "sigma2"]))
    note_seeds(fig, caption)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, "fig8", dpi=dpi), fig, missing, [caption])


def _latents(runs: pd.DataFrame) -> float:
    """The runs' number of latents k, the most active units can count (inf when not known)."""
    k = pd.to_numeric(runs.get("latent_dim", pd.Series(dtype=float)), errors="coerce").max()
    return float(k) if np.isfinite(k) else math.inf
