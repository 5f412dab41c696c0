"""Figure 9 (beyond the paper, claim C8): each collapse mitigation's held-out log p(x) advantage
over the plain fixed-σ² frontier, on a linear axis, one panel per σ² of the mitigation grid. A
run's advantage is its held-out log p(x) minus F(L), its seed's plain frontier at its live
latents L: the best held-out log p(x) of the seed's plain runs that keep at least L live latents
(:func:`paper_figures.claims.c8.frontier`, as C8 computes it). Above 0 a run did better than
every well-chosen fixed σ² at its live latents; C8's margin is drawn dashed. C8 judges a
mitigation by its mean advantage across the panels (its σ² grid), not by its best run, so one
marker above the margin does not fail it. The learned-σ² runs are scored the same way beside the
mitigations (not judged).

Each run is a faint marker; each method is its mean over seeds with the 95% interval the
verdicts use; a run that had not converged is crossed out. Live latents
k · (1 − (ε, δ)-collapsed fraction) are measured on the training set, log p(x)
(importance-weighted) on the held-out set. The absolute values are in fig9.md and fig9.csv: per
method × σ² the mean over seeds and its 95% interval of live latents, active units, mutual
information and held-out log p(x), and each mitigation's effective σ²
(:mod:`paper_figures.claims.effective_sigma2`).

Input: collect_runs rows of the ``mitigations``, ``fig5_fixed_sigma`` and (optional)
``fig6_learned_sigma`` experiments: columns ``run_dir`` (one run per seed and setting),
``mitigation``, ``sigma2`` (fixed or initial value), ``seed``, ``latent_dim``,
``collapsed_fraction``, ``log_px_test`` [nats per example]; optional ``free_bits_variant``,
``sigma2_mode`` or ``likelihood``, ``kl_anneal_steps``, ``active_units``, ``mutual_information``
[nats], ``status``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from lucas2019.io import atomic_write, atomic_write_text
from paper_figures.claims import c8, effective_sigma2
from paper_figures.claims.measures import live_latents
from paper_figures.common import completed_only, require_columns
from paper_figures.theme import (
    LEGEND_OUTSIDE,
    PALETTE,
    SEED_MARKER,
    Rendered,
    finite,
    fmt_value,
    interval_bounds,
    new_figure,
    note_missing,
    note_seeds,
    savefig,
    seeds_caption,
    seeds_per_setting,
)

COLUMNS = (
    "run_dir", "mitigation", "sigma2", "seed", "latent_dim", "collapsed_fraction", "log_px_test"
)  # fmt: skip
Y_LABEL = "held-out log p(x) − plain frontier\n[nats per example]"
FRONTIER = "plain fixed-σ² frontier (0)"
UNCONVERGED = "run not converged (crossed out)"
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")
#: the table's quantities over seeds -> the scored runs' column (training set but log p(x))
QUANTITIES = {
    "live": "live",  # count: k · (1 − (ε, δ)-collapsed fraction)
    "active_units": "au",  # count
    "mutual_information": "mi",  # nats
    "log_px_test": "log_px",  # nats per example, held-out set
}
EFFECTIVE = ("sigma2_eff", "sigma2_eff_low", "sigma2_eff_high", "sigma2_eff_note")
TABLE_COLUMNS = (
    "method",
    "sigma2",
    "runs",
    *(f"{q}_{s}" for q in QUANTITIES for s in ("mean", "low", "high")),
    *EFFECTIVE,
)


def _numeric(runs: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column of ``runs``, NaN where absent."""
    if column not in runs.columns:
        return pd.Series(math.nan, index=runs.index)
    return pd.to_numeric(runs[column], errors="coerce")


def scored_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The completed runs that have a method (:func:`~paper_figures.claims.c8.method_of`), with
    columns ``method``, ``live``, ``au``, ``mi``, ``log_px`` (see :data:`QUANTITIES`), and notes
    naming the runs left out for not having completed."""
    require_columns(runs, COLUMNS, "runs", "lucas2019.results.collect_runs() rows")
    done, skipped = completed_only(runs.reset_index(drop=True))
    done = done.assign(method=c8.method_of(done), sigma2=_numeric(done, "sigma2"))
    done = done.loc[done["method"].notna() & (done["sigma2"] > 0)]
    scored = done.assign(
        live=live_latents(done),
        au=_numeric(done, "active_units"),
        mi=_numeric(done, "mutual_information"),
        log_px=_numeric(done, "log_px_test"),
    )
    return scored, skipped


def _method_order(methods: Sequence[str]) -> list[str]:
    """The plain and learned σ² first, then the mitigations by name."""
    first = [m for m in (c8.PLAIN, c8.LEARNED) if m in methods]
    return [*first, *sorted(set(methods) - set(first))]


def _interval_columns(name: str, values: pd.Series) -> dict[str, float]:
    """``<name>_mean`` over the finite ``values`` and its 95% interval ``_low``, ``_high``."""
    x = finite(values)
    low, high = interval_bounds(x)
    return {f"{name}_mean": float(x.mean()) if x.size else math.nan, f"{name}_low": low,
            f"{name}_high": high}  # fmt: skip


def _effective_columns(values: list[tuple[object, effective_sigma2.EffectiveSigma2]]) -> dict:
    """A setting's effective σ² over seeds: geometric mean and 95% interval where each seed's is
    one value, and the words of :func:`effective_sigma2.over_seeds`."""
    if not values:
        return {**dict.fromkeys(EFFECTIVE[:3], math.nan), EFFECTIVE[3]: ""}
    seeds, effective = zip(*values, strict=True)
    interval = effective_sigma2.log_interval(effective)
    bounds = (interval.mean, interval.low, interval.high) if interval else (math.nan,) * 3
    return {
        **{c: math.exp(b) for c, b in zip(EFFECTIVE[:3], bounds, strict=True)},
        EFFECTIVE[3]: effective_sigma2.over_seeds(effective, seeds),
    }


def build_table(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per method × σ² of :func:`scored_runs`: ``runs``, each of :data:`QUANTITIES`'
    mean over the runs (seeds) with its 95% interval, and for a mitigation its effective σ²
    (:func:`c8.effective`; columns :data:`EFFECTIVE`, σ² in data units²)."""
    effective = c8.effective(scored)
    rows = []
    for (method, sigma2), group in scored.groupby(["method", "sigma2"], sort=True):
        row = {"method": method, "sigma2": float(sigma2), "runs": group["run_dir"].nunique()}
        for name, column in QUANTITIES.items():
            row.update(_interval_columns(name, group[column]))
        row.update(_effective_columns(effective.get((method, float(sigma2)), [])))
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    rank = {m: i for i, m in enumerate(_method_order(table["method"].unique()))}
    table = table.assign(_rank=table["method"].map(rank))
    table = table.sort_values(["_rank", "sigma2"], ascending=[True, False])
    return table.drop(columns="_rank").reset_index(drop=True)


def _cell(row: pd.Series, name: str) -> str:
    """'mean [low, high]' (3 significant digits), 'mean' for one run, '–' without a value."""
    mean, low, high = (row[f"{name}_{s}"] for s in ("mean", "low", "high"))
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.3g} [{low:.3g}, {high:.3g}]" if np.isfinite(low) else f"{mean:.3g}"


def to_markdown(table: pd.DataFrame) -> str:
    """GitHub-style markdown of a :func:`build_table` table."""
    head = (
        "| method | σ² | runs | live latents | active units | MI [nats] | held-out log p(x) "
        "[nats] | effective σ² |"
    )
    rows = [
        f"| {r['method']} | {fmt_value(r['sigma2'])} | {r['runs']} | "
        + " | ".join(_cell(r, q) for q in QUANTITIES)
        + f" | {r['sigma2_eff_note'] or '–'} |"
        for _, r in table.iterrows()
    ]
    return "\n".join([head, "|" + "---|" * 8, *rows])


def advantages(scored: pd.DataFrame) -> pd.DataFrame:
    """The runs of :func:`scored_runs` other than the plain ones, with finite ``live`` and
    ``log_px``, and with ``frontier`` (their seed's plain frontier at their live latents) and
    ``advantage`` (``log_px`` − ``frontier``) [nats per example]; a seed without plain runs is
    left out."""
    drawn = scored.dropna(subset=["live", "log_px"])
    parts = []
    for _, rows in drawn.groupby("seed", sort=True):
        plain = rows["method"] == c8.PLAIN
        if plain.any() and not plain.all():
            others = rows.loc[~plain]
            bound = c8.frontier(rows.loc[plain, "live"], rows.loc[plain, "log_px"], others["live"])
            parts.append(others.assign(frontier=bound, advantage=others["log_px"] - bound))
    if not parts:
        return drawn.iloc[:0].assign(frontier=[], advantage=[])
    return pd.concat(parts)


def _draw_panel(ax: Axes, rows: pd.DataFrame, methods: Sequence[str], late: set[str]) -> None:
    """One σ²: per method its runs faintly, its mean with the 95% interval, crossed-out late
    runs; the frontier (0) and C8's margin."""
    colours = sns.color_palette(PALETTE, max(1, len(methods)))
    for i, method in enumerate(methods):
        y = rows.loc[rows["method"] == method, "advantage"]
        if y.empty:
            continue
        ax.plot([i] * len(y), y, marker=MARKERS[i % len(MARKERS)], color=colours[i],
                **SEED_MARKER)  # fmt: skip
        low, high = interval_bounds(y)
        error = [[y.mean() - low], [high - y.mean()]] if np.isfinite(low) else None
        ax.errorbar([i], [y.mean()], yerr=error, fmt=MARKERS[i % len(MARKERS)],
                    color=colours[i], capsize=3)  # fmt: skip
    crossed = rows.loc[rows["run_dir"].astype(str).isin(late)]
    if not crossed.empty:
        x = [methods.index(m) for m in crossed["method"]]
        ax.plot(x, crossed["advantage"], marker="x", color="black", linestyle="none",
                label=UNCONVERGED)  # fmt: skip
    ax.axhline(0.0, color="black", linewidth=1.0, label=FRONTIER)
    ax.axhline(MARGIN, color="black", linestyle="--", linewidth=0.8, label=MARGIN_LABEL)
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=6)
    ax.set_xlim(-0.6, len(methods) - 0.4)


#: C8's margin: a mitigation beats the plain frontier when it is this far above it [nats]
MARGIN = c8.CLAIM.definitions[0].criteria()[0].threshold
MARGIN_LABEL = f"C8's margin (+{MARGIN:g} nat)"


def render(
    runs: pd.DataFrame,
    out_dir: str | os.PathLike,
    dpi: int = 150,
    unconverged: Sequence[str] = (),
) -> Rendered:
    """Write fig9.png/.pdf and the table fig9.md/.csv; return the paths (``.table``: the
    table). ``.missing`` lists the runs not completed and each mitigation's σ² (of any
    mitigation's) without a completed run; the runs whose ``run_dir`` is in ``unconverged`` are
    crossed out."""
    scored, missing = scored_runs(runs)
    mitigations = scored.loc[~scored["method"].isin([c8.PLAIN, c8.LEARNED])]
    for method in sorted(mitigations["method"].unique()):
        ran = set(mitigations.loc[mitigations["method"] == method, "sigma2"])
        missing += [
            c8.setting_label(method, s)
            for s in sorted(set(mitigations["sigma2"]) - ran, reverse=True)
        ]
    scoring = advantages(scored)
    grid = sorted(set(mitigations["sigma2"]) or set(scoring["sigma2"]), reverse=True)
    drawn = scoring.loc[scoring["sigma2"].isin(grid)]
    methods = [m for m in _method_order(drawn["method"].unique()) if m != c8.PLAIN]
    fig, axes = new_figure(max(1, len(grid)), width=2.6, height=3.4)
    late = {str(u) for u in unconverged}
    for ax, sigma2 in zip(axes, grid, strict=False):
        _draw_panel(ax, drawn.loc[drawn["sigma2"] == sigma2], methods, late)
        ax.set_title(f"σ² = {fmt_value(sigma2)}", fontsize=8)
    axes[0].set_ylabel(Y_LABEL, fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles, labels, fontsize=6, **LEGEND_OUTSIDE)
    notes = [
        seeds_caption(seeds_per_setting(drawn, ["method", "sigma2"]), "solid markers",
                      "error bars"),
        "advantage: held-out log p(x) minus the seed's plain fixed-σ² frontier at the run's live "
        "latents (the best held-out log p(x) of its plain runs keeping at least as many); "
        "each panel has its own linear scale",
    ]  # fmt: skip
    unscored = len(scored) - len(scored.dropna(subset=["live", "log_px"]))
    if unscored:
        notes.append(
            f"{unscored} completed runs without held-out log p(x) "
            "(trainer.iw_samples = 0) are not drawn"
        )
    note_seeds(fig, "\n".join(notes))
    note_missing(fig, missing)
    paths = savefig(fig, out_dir, "fig9", dpi=dpi)
    table = build_table(scored)
    out = Path(out_dir)
    md = atomic_write_text(out / "fig9.md", _markdown_page(table, missing))
    csv = atomic_write(out / "fig9.csv", lambda tmp: table.to_csv(tmp, index=False))
    result = Rendered([*paths, md, csv], fig, missing, notes)
    result.table = table
    return result


def _markdown_page(table: pd.DataFrame, missing: Sequence[str]) -> str:
    """fig9.md: what the cells are, the table, the missing runs."""
    lines = [
        "# Figure 9: each method × σ², means over seeds",
        "",
        "Each cell: mean over the runs (one per seed) [95% interval of that mean, as the verdicts",
        "compute it]. Live latents k·(1 − (ε, δ)-collapsed fraction), active units and mutual",
        "information on the training set; log p(x) importance-weighted, per example, on the",
        "held-out set. Effective σ²: the fixed σ² at which a decreasing isotonic fit of the plain",
        "fixed-σ² runs' live latents on log σ² (pooled over seeds) keeps as many live latents;",
        "geometric mean over seeds [95% interval] when each seed's is one value, else each",
        "seed's.",
        "",
        to_markdown(table),
        "",
        "Missing runs: " + ("; ".join(missing) if missing else "none"),
        "",
    ]
    return "\n".join(lines)
