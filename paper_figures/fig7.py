"""Figure 7 (beyond the paper): live latents predicted by the linear theory against σ², with the
deep VAEs' measured active units and non-collapsed latents on the same axes (claim C4).

Inputs: ``runs`` — collect_runs rows of the fixed-σ² deep-VAE runs (columns ``sigma2``,
``active_units``, ``collapsed_fraction`` (ε = 0.01, δ = 0.01), ``latent_dim``; optional
``status``) — and the data-covariance ``eigenvalues`` of the training set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paper_figures.common import (
    check_eigenvalues,
    completed_only,
    missing_values,
    n_live,
    plain_rows,
    require_columns,
)
from paper_figures.theme import LABELS, LEGEND_OUTSIDE, Rendered, new_figure, note_missing, savefig
from paper_figures.verdicts import Verdict, verdict_c4

COLUMNS = ("sigma2", "active_units", "collapsed_fraction", "latent_dim")
THEORY = "linear theory: min(k, #{λ_i > σ²})"
ACTIVE = "active units (Var_x E_q[z_i] ≥ 0.01)"
ALIVE = "non-collapsed latents (ε = δ = 0.01)"


def predicted_live(eigenvalues: Sequence[float], sigma2: Sequence[float], k: int) -> np.ndarray:
    """min(k, #{λ_i > σ²}) for each σ² (int array, same length as ``sigma2``)."""
    lam = check_eigenvalues(eigenvalues)
    return np.array([n_live(lam, s, k) for s in np.asarray(sigma2, dtype=float)], dtype=int)


def render(
    runs: pd.DataFrame,
    eigenvalues: Sequence[float],
    out_dir: str | os.PathLike,
    latent_dim: int | None = None,
    expected: Sequence[float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Write fig7.png/.pdf; ``latent_dim`` (k) defaults to the runs' median; return the paths.
    ``expected``: the σ² values the sweep ran; ``.missing`` lists those without a completed run."""
    require_columns(runs, COLUMNS, "runs", "lucas2019.results.collect_runs() rows")
    lam = check_eigenvalues(eigenvalues)
    done, skipped = completed_only(plain_rows(runs, "fixed"))
    s2 = pd.to_numeric(done["sigma2"], errors="coerce")
    done = done.loc[s2 > 0].assign(sigma2=s2[s2 > 0])
    if latent_dim is None:
        ks = pd.to_numeric(runs["latent_dim"], errors="coerce").dropna()
        if ks.empty:
            raise ValueError("latent_dim is None and runs has no latent_dim; pass latent_dim=k.")
        latent_dim = int(ks.median())
    k = int(latent_dim)
    missing = missing_values(done["sigma2"].unique(), expected, "σ²=") + skipped
    pool = [*done["sigma2"].tolist(), *(expected or [])]
    lo, hi = (min(pool), max(pool)) if pool else (float(lam.min()), float(lam.max()))
    grid = np.logspace(np.log10(lo) - 0.5, np.log10(hi) + 0.5, 400)
    fig, (ax,) = new_figure(1, width=7.2, height=3.6)
    ax.plot(grid, predicted_live(lam, grid, k), color="black", label=THEORY)
    if not done.empty:
        kd = pd.to_numeric(done["latent_dim"], errors="coerce").fillna(k)
        alive = (1 - pd.to_numeric(done["collapsed_fraction"], errors="coerce")) * kd
        ax.plot(done["sigma2"], done["active_units"], "o", label=ACTIVE)
        ax.plot(done["sigma2"], alive, "s", markerfacecolor="none", label=ALIVE)
    ax.set_xscale("log")
    ax.set_ylim(-0.03 * k, 1.05 * k)
    ax.set_xlabel(LABELS["sigma2"])
    ax.set_ylabel(LABELS["latents"])
    ax.set_title(f"k = {k} latents", fontsize=8)
    ax.legend(fontsize=6, **LEGEND_OUTSIDE)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, "fig7", dpi=dpi), fig, missing)


def verdict(
    runs: pd.DataFrame,
    eigenvalues: Sequence[float],
    min_steps: int = 0,
    expected: Sequence[float] | None = None,
) -> Verdict:
    """C4 judged with active units (the measure this figure shows)."""
    return verdict_c4(
        runs, eigenvalues, measure="active_units", min_steps=min_steps, expected=expected
    )
