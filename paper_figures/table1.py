"""Table 1: ELBO and collapse of deep Gaussian VAEs with fixed σ², learned σ² and KL annealing
(claims C5, C6), each cell the mean ± sd over seeds with their number n. Written as table1.md
(markdown, "-305 ± 7.1 (n=3)") and table1.csv (separate ``<quantity>_mean``, ``_sd``, ``_n``).

Input: collect_runs rows (columns ``run_dir``, ``dataset``, ``likelihood`` or ``sigma2_mode``,
``sigma2``, ``kl_anneal_steps``, ``status``, ``step``, ``elbo``, ``elbo_test``,
``sigma2_final``, ``collapsed_fraction``, ``collapsed_fraction_test``, ``collapse_integrated``,
``active_units``, ``mutual_information``, ``latent_dim``); a column that is absent leaves its
quantity empty.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lucas2019.io import atomic_write, atomic_write_text
from paper_figures.common import completed_only, require_columns
from paper_figures.theme import Rendered, fmt_value

COLUMNS = ("run_dir", "sigma2", "kl_anneal_steps", "status", "step", "elbo", "collapsed_fraction")
#: the columns before the quantities: the row's group (setting, dataset, fixed or initial σ²)
#: and its shortest run's steps
KEY_COLUMNS = ("setting", "dataset", "sigma2", "steps")
#: the train − test ELBO gap of a run, computed from its elbo and elbo_test columns
GAP = "elbo - elbo_test"
#: each quantity summarised over seeds -> (its collect_runs column, the factor to the shown unit)
QUANTITIES: dict[str, tuple[str, float]] = {
    "sigma2_final": ("sigma2_final", 1.0),  # data units²
    "elbo": ("elbo", 1.0),  # nats per example, training set
    "elbo_test": ("elbo_test", 1.0),  # nats per example, test set
    "elbo_train_minus_test": (GAP, 1.0),  # nats per example: how far the model memorised
    "collapse_pct_eps0.01": ("collapsed_fraction", 100.0),  # %, training set
    "collapse_pct_eps0.01_test": ("collapsed_fraction_test", 100.0),  # %, test set
    "collapse_pct_integrated": ("collapse_integrated", 100.0),  # %, training set
    "active_units": ("active_units", 1.0),  # count, training set
    "mutual_information": ("mutual_information", 1.0),  # nats, training set
}
#: per quantity: mean over the runs, their sample sd (ddof = 1; NaN for one run), runs with a value
SUMMARIES = {"mean": "mean", "sd": "std", "n": "count"}
TABLE_COLUMNS = (
    *KEY_COLUMNS,
    *(f"{q}_{s}" for q in QUANTITIES for s in SUMMARIES),
)


def setting_of(row: pd.Series) -> str:
    """'fixed σ²', 'learned σ²', 'optimal σ²' or 'KL annealing (<fixed|learned> σ²)'."""
    mode = row.get("sigma2_mode")
    if not isinstance(mode, str):
        mode = str(row.get("likelihood", "")).removeprefix("gaussian_")
    anneal = pd.to_numeric(pd.Series([row.get("kl_anneal_steps")]), errors="coerce").iloc[0]
    if np.isfinite(anneal) and anneal > 0:
        return f"KL annealing ({mode} σ²)"
    return f"{mode} σ²"


def build_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (setting, dataset, σ²) of the completed runs (one run per seed); columns
    :data:`TABLE_COLUMNS`: the keys, the shortest run's ``steps``, and per quantity of
    :data:`QUANTITIES` its mean, sd and n over the runs that have it (ELBOs in nats per example,
    collapse in %)."""
    require_columns(runs, COLUMNS, "runs", "lucas2019.results.collect_runs() rows")
    done, _ = completed_only(runs)
    df = done.copy()
    df["setting"] = [setting_of(r) for _, r in df.iterrows()]
    if "dataset" not in df.columns:
        df["dataset"] = ""
    num = lambda c: pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan  # noqa: E731
    df[GAP] = num("elbo") - num("elbo_test")
    df = df.assign(
        sigma2=num("sigma2"),
        steps=num("step"),
        **{q: factor * num(column) for q, (column, factor) in QUANTITIES.items()},
    )
    if df.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    g = df.groupby(["setting", "dataset", "sigma2"], sort=True, dropna=False)
    out = g.agg(
        steps=("steps", "min"),
        **{f"{q}_{s}": (q, how) for q in QUANTITIES for s, how in SUMMARIES.items()},
    ).reset_index()
    rank = {"fixed σ²": 0, "learned σ²": 1, "optimal σ²": 2}
    out["_rank"] = out["setting"].map(lambda x: rank.get(x, 3))
    out = out.sort_values(["_rank", "setting", "dataset", "sigma2"], ascending=[1, 1, 1, 0])
    return out[list(TABLE_COLUMNS)].reset_index(drop=True)


def mean_sd_cell(mean: float, sd: float, n: int) -> str:
    """'mean ± sd (n=…)' (mean to 4, sd to 2 significant digits); sd '–' when undefined (one
    run), the whole cell '–' when no run has the value."""
    if n == 0 or not np.isfinite(mean):
        return "–"
    spread = f"{sd:.2g}" if np.isfinite(sd) else "–"
    return f"{mean:.4g} ± {spread} (n={int(n)})"


def _key_cell(x: object) -> str:
    if isinstance(x, float | np.floating):
        return "–" if not np.isfinite(x) else f"{x:.4g}"
    return str(x)


def to_markdown(table: pd.DataFrame) -> str:
    """GitHub-style markdown of a :func:`build_table` table: the key columns, then one
    :func:`mean_sd_cell` column per quantity."""
    columns = [*KEY_COLUMNS, *QUANTITIES]
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    rows = []
    for _, r in table.iterrows():
        keys = [_key_cell(r[c]) for c in KEY_COLUMNS]
        cells = [mean_sd_cell(r[f"{q}_mean"], r[f"{q}_sd"], r[f"{q}_n"]) for q in QUANTITIES]
        rows.append("| " + " | ".join([*keys, *cells]) + " |")
    return "\n".join([head, rule, *rows])


def render(
    runs: pd.DataFrame,
    out_dir: str | os.PathLike,
    expected: Sequence[tuple[str, float]] | None = None,
) -> Rendered:
    """Write table1.md and table1.csv; ``expected`` lists (setting, σ²) pairs that should have a
    completed run (e.g. ('fixed σ²', 1.0)); absent ones and non-completed runs are listed under
    the table and in ``.missing``. Returns the paths."""
    table = build_table(runs)
    _, skipped = completed_only(runs)
    missing = []
    for setting, s2 in expected or []:
        rows = table.loc[table["setting"] == setting, "sigma2"].to_numpy(float)
        if not np.any(np.isclose(rows, float(s2), rtol=1e-6)):
            missing.append(f"{setting}, σ²={fmt_value(s2)}")
    missing += skipped
    out = Path(out_dir)
    lines = [
        "# Table 1: deep Gaussian VAEs — ELBO and collapse",
        "",
        "ELBO: mean per example [nats] on the training set (elbo) and the held-out set",
        "(elbo_test), and their gap elbo − elbo_test (large: the model memorised its training",
        "images); collapse: % of latents collapsed (δ = 0.01), at ε = 0.01 on the training and the",
        "held-out set and averaged over ε ∈ [0, 2] on the training set; active units and mutual",
        "information [nats] on the training set; σ²: the fixed or initial value; steps: the",
        "shortest run. Each cell: mean ± sample sd over seeds (n = runs with that value; sd – for",
        "one run).",
        "",
        to_markdown(table),
        "",
        "Missing runs: " + ("; ".join(missing) if missing else "none"),
        "",
    ]
    md = atomic_write_text(out / "table1.md", "\n".join(lines))
    csv = atomic_write(out / "table1.csv", lambda tmp: table.to_csv(tmp, index=False))
    result = Rendered([md, csv], None, missing)
    result.table = table
    return result
