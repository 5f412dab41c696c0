"""Figure 2: log marginal likelihood against latent size k (claims C1, C2).

Input: an analytic sweep (``linear_vae.sweep``) with columns ``sigma2``, ``n_latent``,
``log_likelihood``, ``elbo`` [nats per example], optionally ``sigma2_learned`` (bool; without it
σ² None/NaN/'learned' marks the MLE rows) and ``label``
(one line per label; derived from σ² when absent). The learned-σ² MLE curve is the global optimum,
the optimal linear-VAE ELBO lies on it, and a fixed σ² plateaus once λ_k ≤ σ².
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns

from linear_vae import n_live
from paper_figures.common import (
    check_eigenvalues,
    learned_mask,
    missing_values,
    require_columns,
)
from paper_figures.theme import LABELS, Rendered, fmt_value, new_figure, note_missing, savefig

COLUMNS = ("sigma2", "n_latent", "log_likelihood", "elbo")


def with_labels(sweep: pd.DataFrame) -> pd.DataFrame:
    """``sweep`` with a ``label`` column: kept if present, else 'learned σ² (MLE)' or
    'fixed σ² = <value>'."""
    require_columns(sweep, COLUMNS, "sweep", "linear_vae.sweep() output")
    df = sweep.copy()
    if "label" not in df.columns:
        learned = learned_mask(df)
        df["label"] = [
            "learned σ² (MLE)" if m else f"fixed σ² = {fmt_value(s)}"
            for m, s in zip(learned, df["sigma2"], strict=True)
        ]
    return df


def render(
    sweep: pd.DataFrame,
    out_dir: str | os.PathLike,
    eigenvalues: Sequence[float] | None = None,
    expected: Sequence[str] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Plot log p(x) (lines) and the optimal ELBO (markers) against k for each label; with
    ``eigenvalues``, mark each fixed σ²'s predicted plateau k* = #{λ_i > σ²} with a dotted line.
    ``expected``: labels that should be present. Writes fig2.png/.pdf; returns the paths."""
    df = with_labels(sweep)
    lam = check_eigenvalues(eigenvalues) if eigenvalues is not None else None
    labels = list(dict.fromkeys(df["label"]))
    missing = missing_values(labels, expected)
    colors = dict(zip(labels, sns.color_palette(n_colors=len(labels)), strict=True))
    fig, (ax,) = new_figure(1, width=5.5, height=3.8)
    for label in labels:
        grp = df.loc[df["label"] == label].sort_values("n_latent")
        k = grp["n_latent"].to_numpy(float)
        ax.plot(k, grp["log_likelihood"], color=colors[label], label=f"{label}: log p(x)")
        el = pd.to_numeric(grp["elbo"], errors="coerce")
        if el.notna().any():
            step = max(1, len(k) // 25)
            ax.plot(
                k[::step], el.to_numpy(float)[::step], linestyle="none", marker="o",
                markerfacecolor="none", color=colors[label], label=f"{label}: optimal ELBO",
            )  # fmt: skip
        s2 = pd.to_numeric(grp["sigma2"], errors="coerce")
        if lam is not None and not learned_mask(grp).any() and s2.notna().all() and len(s2):
            kstar = n_live(lam, float(s2.iloc[0]), int(np.max(k)))
            ax.axvline(kstar, color=colors[label], linestyle=":", label=f"λ_k = σ² (k* = {kstar})")
    ax.set_xlabel(LABELS["n_latent"])
    ax.set_ylabel(LABELS["loglik"])
    ax.legend(fontsize=6, loc="lower right")
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, "fig2", dpi=dpi), fig, missing)
