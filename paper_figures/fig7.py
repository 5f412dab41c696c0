"""Figure 7 (beyond the paper): live latents predicted by the linear theory against σ², with the
deep VAEs' live latents by three collapse measures on the same axes (claim C4b): active units,
non-collapsed latents at (ε, δ) = (0.01, 0.01) and the ε-integrated count k · (1 − integrated
collapse). Each measure is a marker at its mean over seeds with a 95% interval as error bar, each
seed faintly; a run that had not converged is crossed out.

Inputs: ``runs`` — collect_runs rows of the fixed-σ² deep-VAE runs (columns ``run_dir`` (one run
per seed), ``sigma2``, ``active_units``, ``collapsed_fraction`` (ε = 0.01, δ = 0.01),
``collapse_integrated``, ``latent_dim``; optional ``status``), all on the training set — and the
data-covariance ``eigenvalues`` of the training set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from linear_vae import n_live
from paper_figures.claims.measures import live_latents
from paper_figures.common import (
    check_eigenvalues,
    completed_only,
    missing_values,
    plain_rows,
    require_columns,
)
from paper_figures.theme import (
    LABELS,
    LEGEND_OUTSIDE,
    PALETTE,
    SEED_MARKER,
    Rendered,
    interval_bounds,
    new_figure,
    note_missing,
    note_seeds,
    savefig,
    seeds_caption,
    seeds_per_setting,
)

COLUMNS = (
    "run_dir", "sigma2", "active_units", "collapsed_fraction", "collapse_integrated", "latent_dim"
)  # fmt: skip
THEORY = "linear theory: min(k, #{λ_i > σ²})"
#: each measure's column (of live latents, computed in render), legend label and marker
MEASURES = (
    ("alive", "non-collapsed latents (ε = δ = 0.01)", "s"),
    ("active_units", "active units (Var_x E_q[z_i] ≥ 0.01)", "o"),
    ("integrated", "ε-integrated: k · (1 − collapse over ε ∈ [0, 2])", "^"),
)
UNCONVERGED = "run not converged (crossed out)"
#: neighbouring measures sit this factor apart around their σ², so their error bars stay apart
DODGE = 10**0.03


def predicted_live(eigenvalues: Sequence[float], sigma2: Sequence[float], k: int) -> np.ndarray:
    """min(k, #{λ_i > σ²}) for each σ² (int array, same length as ``sigma2``)."""
    lam = check_eigenvalues(eigenvalues)
    return np.array([n_live(lam, s, k) for s in np.asarray(sigma2, dtype=float)], dtype=int)


def seed_means(
    runs: pd.DataFrame, column: str, bounds: tuple[float, float] | None = None
) -> pd.DataFrame:
    """Per σ² (ascending): ``mean`` of ``column`` over the runs and its 95% interval ``low``,
    ``high`` (``theme.interval_bounds``, clipped to ``bounds`` when given; NaN with one run);
    columns sigma2, mean, low, high."""
    rows = [
        (s2, values.mean(), *interval_bounds(values, bounds))
        for s2, values in runs.groupby("sigma2", sort=True)[column]
    ]
    return pd.DataFrame(rows, columns=["sigma2", "mean", "low", "high"])


def _draw_measure(
    ax: Axes,
    runs: pd.DataFrame,
    column: str,
    colour: tuple,
    marker: str,
    label: str,
    shift: float,
    k: int,
) -> None:
    """Each run's value faintly (crossed out where ``runs.unconverged``), then the mean per σ²
    with its interval, within the k latents there are, as an error bar, all at σ² × ``shift``."""
    ax.plot(runs["sigma2"] * shift, runs[column], marker=marker, color=colour, **SEED_MARKER)
    late = runs.loc[runs["unconverged"]]
    ax.plot(late["sigma2"] * shift, late[column], marker="x", color="black", linestyle="none")
    means = seed_means(runs, column, (0.0, float(k)))
    spread = [means["mean"] - means["low"], means["high"] - means["mean"]]
    ax.errorbar(
        means["sigma2"] * shift, means["mean"], yerr=spread, fmt=marker, color=colour,
        markerfacecolor="none" if marker == "s" else colour, capsize=2, label=label,
    )  # fmt: skip


def render(
    runs: pd.DataFrame,
    eigenvalues: Sequence[float],
    out_dir: str | os.PathLike,
    latent_dim: int | None = None,
    expected: Sequence[float] | None = None,
    dpi: int = 150,
    unconverged: Sequence[str] = (),
) -> Rendered:
    """Write fig7.png/.pdf; ``latent_dim`` (k) defaults to the runs' median; return the paths.
    ``expected``: the σ² values the sweep ran; ``.missing`` lists those without a completed run.
    Measured latents: mean over seeds per σ² with a 95% interval as error bar, each seed faintly
    (``.notes`` says so); the runs whose ``run_dir`` is in ``unconverged`` are crossed out."""
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
    notes: list[str] = []  # what the markers and bars are, when there are any
    if not done.empty:
        kd = pd.to_numeric(done["latent_dim"], errors="coerce").fillna(k)
        done = done.assign(
            active_units=pd.to_numeric(done["active_units"], errors="coerce"),
            alive=live_latents(done, k=kd),
            integrated=live_latents(done, "integrated", k=kd),
            unconverged=done["run_dir"].astype(str).isin({str(u) for u in unconverged}),
        )
        colours = sns.color_palette(PALETTE, len(MEASURES))
        for i, ((column, label, marker), colour) in enumerate(zip(MEASURES, colours, strict=True)):
            shift = DODGE ** (i - (len(MEASURES) - 1) / 2)
            _draw_measure(ax, done, column, colour, marker, label, shift, k)
        notes = [seeds_caption(seeds_per_setting(done, "sigma2"), "markers", "error bars")]
        if done["unconverged"].any():
            ax.plot([], [], marker="x", color="black", linestyle="none", label=UNCONVERGED)
            notes.append(f"crossed out: {int(done['unconverged'].sum())} runs not converged")
        note_seeds(fig, "; ".join(notes))
    ax.set_xscale("log")
    ax.set_ylim(-0.03 * k, 1.05 * k)
    ax.set_xlabel(LABELS["sigma2"])
    ax.set_ylabel(LABELS["latents"])
    ax.set_title(f"k = {k} latents, training set", fontsize=8)
    ax.legend(fontsize=6, **LEGEND_OUTSIDE)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, "fig7", dpi=dpi), fig, missing, notes)
