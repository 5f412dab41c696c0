"""Figure 9 (beyond the paper, claim C8): held-out log p(x) against live latents for every run of
each collapse mitigation, beside the plain fixed-σ² runs and the learned-σ² runs of the same
model, with the plain fixed-σ² frontier F(L) = the best held-out log p(x) of a seed's plain runs
that keep at least L live latents (:func:`paper_figures.verdict_c8.frontier`). A mitigation run
above the frontier did better than every well-chosen fixed σ² at its live latents.

Each run is a faint marker; each setting (method × σ²) is its mean over seeds with 95% intervals
as error bars on both axes, labelled with its σ²; the frontier is the mean over seeds of each
seed's step function (solid), each seed's faintly; a run that had not converged is crossed out.
Live latents k · (1 − (ε, δ)-collapsed fraction) are measured on the training set, log p(x)
(importance-weighted) on the held-out set. Beside the figure, fig9.md and fig9.csv give per
method × σ² the mean over seeds and its 95% interval of live latents, active units, mutual
information and held-out log p(x), and each mitigation's effective σ²
(:mod:`paper_figures.effective_sigma2`).

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
from paper_figures import effective_sigma2, verdict_c8
from paper_figures.common import completed_only, require_columns
from paper_figures.theme import (
    LEGEND_OUTSIDE,
    PALETTE,
    SEED_LINE,
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
X_LABEL = "live latents k·(1 − (ε, δ)-collapsed fraction), training set [count]"
Y_LABEL = "held-out log p(x) per example [nats], importance-weighted"
FRONTIER = "plain fixed-σ² frontier (mean over seeds)"
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
    """The completed runs that have a method (:func:`verdict_c8.method_of`), with columns
    ``method``, ``live``, ``au``, ``mi``, ``log_px`` (see :data:`QUANTITIES`), and notes naming
    the runs left out for not having completed."""
    require_columns(runs, COLUMNS, "runs", "lucas2019.results.collect_runs() rows")
    done, skipped = completed_only(runs.reset_index(drop=True))
    done = done.assign(method=verdict_c8.method_of(done), sigma2=_numeric(done, "sigma2"))
    done = done.loc[done["method"].notna() & (done["sigma2"] > 0)]
    k = _numeric(done, "latent_dim")
    scored = done.assign(
        live=k * (1 - _numeric(done, "collapsed_fraction")),
        au=_numeric(done, "active_units"),
        mi=_numeric(done, "mutual_information"),
        log_px=_numeric(done, "log_px_test"),
    )
    return scored, skipped


def _method_order(methods: Sequence[str]) -> list[str]:
    """The plain and learned σ² first, then the mitigations by name."""
    first = [m for m in (verdict_c8.PLAIN, verdict_c8.LEARNED) if m in methods]
    return [*first, *sorted(set(methods) - set(first))]


def frontier_steps(plain: pd.DataFrame, k: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """The plain frontier of each seed on a common grid of live latents (0, every plain run's
    live latents, and ``k``), to be drawn as steps that end at each grid point ('steps-pre'):
    (grid, [F of each seed on it]). ``plain``: the plain runs with finite ``live`` and
    ``log_px``, column ``seed``."""
    grid = np.unique(np.concatenate([[0.0], plain["live"].to_numpy(float), [float(k)]]))
    per_seed = [
        verdict_c8.frontier(rows["live"], rows["log_px"], grid)
        for _, rows in plain.groupby("seed", sort=True)
    ]
    return grid, per_seed


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
    (:func:`verdict_c8.effective`; columns :data:`EFFECTIVE`, σ² in data units²)."""
    effective = verdict_c8.effective(scored)
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


def _draw_method(ax: Axes, rows: pd.DataFrame, colour: tuple, marker: str, label: str) -> None:
    """Each run faintly, then per σ² the mean over seeds with 95% intervals on both axes,
    labelled with its σ²."""
    ax.plot(rows["live"], rows["log_px"], marker=marker, color=colour, **SEED_MARKER)
    means = []
    for sigma2, group in rows.groupby("sigma2", sort=True):
        x, y = group["live"], group["log_px"]
        means.append((sigma2, x.mean(), *interval_bounds(x), y.mean(), *interval_bounds(y)))
    m = pd.DataFrame(means, columns=["sigma2", "x", "x_low", "x_high", "y", "y_low", "y_high"])
    ax.errorbar(
        m["x"], m["y"], xerr=[m["x"] - m["x_low"], m["x_high"] - m["x"]],
        yerr=[m["y"] - m["y_low"], m["y_high"] - m["y"]], fmt=marker, color=colour, capsize=2,
        label=label,
    )  # fmt: skip
    for r in m.itertuples():
        ax.annotate(
            fmt_value(r.sigma2), (r.x, r.y), xytext=(3, 3), textcoords="offset points",
            fontsize=5, color=colour,
        )  # fmt: skip


def _draw_frontier(ax: Axes, plain: pd.DataFrame, k: float) -> None:
    """Each seed's plain frontier faintly and their mean solid, as steps."""
    grid, per_seed = frontier_steps(plain, k)
    for values in per_seed:
        ax.plot(grid, values, color="black", drawstyle="steps-pre", **SEED_LINE)
    mean = np.mean(per_seed, axis=0)
    ax.plot(grid, mean, color="black", drawstyle="steps-pre", linewidth=1.2, label=FRONTIER)


#: the y axis is linear within ±this many nats and logarithmic beyond
SYMLOG_LINEAR = 100.0


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
    mitigations = scored.loc[~scored["method"].isin([verdict_c8.PLAIN, verdict_c8.LEARNED])]
    for method in sorted(mitigations["method"].unique()):
        ran = set(mitigations.loc[mitigations["method"] == method, "sigma2"])
        missing += [
            verdict_c8.setting_label(method, s)
            for s in sorted(set(mitigations["sigma2"]) - ran, reverse=True)
        ]
    drawn = scored.dropna(subset=["live", "log_px"])
    ks = _numeric(scored, "latent_dim").dropna()
    k = float(ks.median()) if len(ks) else 1.0
    fig, (ax,) = new_figure(1, width=7.2, height=4.4)
    methods = _method_order(drawn["method"].unique())
    colours = sns.color_palette(PALETTE, max(1, len(methods)))
    for i, method in enumerate(methods):
        rows = drawn.loc[drawn["method"] == method]
        _draw_method(ax, rows, colours[i], MARKERS[i % len(MARKERS)], method)
    plain = drawn.loc[drawn["method"] == verdict_c8.PLAIN]
    if not plain.empty:
        _draw_frontier(ax, plain, k)
    late = drawn.loc[drawn["run_dir"].astype(str).isin({str(u) for u in unconverged})]
    if not late.empty:
        ax.plot(late["live"], late["log_px"], marker="x", color="black", linestyle="none",
                label=UNCONVERGED)  # fmt: skip
    notes = [
        seeds_caption(seeds_per_setting(drawn, ["method", "sigma2"]), "solid markers",
                      "error bars on both axes"),
        "black steps: the plain fixed-σ² frontier, the best held-out log p(x) of a seed's plain "
        "runs keeping at least that many live latents (mean over seeds; faint: each seed's)",
    ]  # fmt: skip
    if len(drawn) < len(scored):
        notes.append(
            f"{len(scored) - len(drawn)} completed runs without held-out log p(x) "
            "(trainer.iw_samples = 0) are not drawn"
        )
    note_seeds(fig, "\n".join(notes))
    ax.set_xlim(-0.03 * k, 1.05 * k)
    # log p(x) spans from about +300 to -7e4 nats over the paper's σ² grid (a tiny fixed σ²
    # costs d/2·log σ² and more): linear within ±SYMLOG_LINEAR nats, logarithmic beyond
    ax.set_yscale("symlog", linthresh=SYMLOG_LINEAR)
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.set_title(f"k = {k:g} latents; x: training set, y: held-out set", fontsize=8)
    ax.legend(fontsize=6, **LEGEND_OUTSIDE)
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
