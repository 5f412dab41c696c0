"""Table 1: ELBO and collapse of deep Gaussian VAEs with fixed σ², learned σ² and KL annealing
(claims C5, C6). Written as table1.md (markdown) and table1.csv.

Input: collect_runs rows (columns ``run_dir``, ``dataset``, ``likelihood`` or ``sigma2_mode``,
``sigma2``, ``kl_anneal_steps``, ``status``, ``step``, ``elbo``, ``elbo_test``,
``sigma2_final``, ``collapsed_fraction``, ``collapse_integrated``, ``active_units``,
``latent_dim``).
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
from paper_figures.verdicts import Verdict, verdict_c5, verdict_c6

COLUMNS = ("run_dir", "sigma2", "kl_anneal_steps", "status", "step", "elbo", "collapsed_fraction")
TABLE_COLUMNS = (
    "setting",
    "dataset",
    "sigma2",
    "n_runs",
    "steps",
    "sigma2_final",
    "elbo",
    "elbo_sd",
    "elbo_test",
    "collapse_pct_eps0.01",
    "collapse_pct_integrated",
    "active_units",
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
    """Mean over seeds per (setting, dataset, σ²) of the completed runs; columns
    :data:`TABLE_COLUMNS` (ELBOs in nats per example, collapse in %)."""
    require_columns(runs, COLUMNS, "runs", "lucas2019.results.collect_runs() rows")
    done, _ = completed_only(runs)
    df = done.copy()
    df["setting"] = [setting_of(r) for _, r in df.iterrows()]
    if "dataset" not in df.columns:
        df["dataset"] = ""
    num = lambda c: pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan  # noqa: E731
    df = df.assign(
        sigma2=num("sigma2"), steps=num("step"), sigma2_final=num("sigma2_final"),
        elbo=num("elbo"), elbo_test=num("elbo_test"), active_units=num("active_units"),
        c01=100 * num("collapsed_fraction"), cint=100 * num("collapse_integrated"),
    )  # fmt: skip
    if df.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    g = df.groupby(["setting", "dataset", "sigma2"], sort=True, dropna=False)
    out = g.agg(
        n_runs=("run_dir", "size"), steps=("steps", "min"), sigma2_final=("sigma2_final", "mean"),
        elbo=("elbo", "mean"), elbo_sd=("elbo", "std"), elbo_test=("elbo_test", "mean"),
        c01=("c01", "mean"), cint=("cint", "mean"), active_units=("active_units", "mean"),
    ).reset_index()  # fmt: skip
    out = out.rename(columns={"c01": "collapse_pct_eps0.01", "cint": "collapse_pct_integrated"})
    rank = {"fixed σ²": 0, "learned σ²": 1, "optimal σ²": 2}
    out["_rank"] = out["setting"].map(lambda x: rank.get(x, 3))
    out = out.sort_values(["_rank", "setting", "dataset", "sigma2"], ascending=[1, 1, 1, 0])
    return out[list(TABLE_COLUMNS)].reset_index(drop=True)


def _cell(x: object) -> str:
    if isinstance(x, float | np.floating):
        return "–" if not np.isfinite(x) else f"{x:.4g}"
    return str(x)


def to_markdown(table: pd.DataFrame) -> str:
    """GitHub-style markdown table of ``table`` (floats to 4 significant digits)."""
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in r) + " |" for r in table.itertuples(index=False)]
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
        "ELBO: training-set mean per example [nats]; collapse: % of latents collapsed (δ = 0.01),",
        "at ε = 0.01 and averaged over ε ∈ [0, 2]; σ²: the fixed or initial value; mean over runs.",
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


def verdict(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    measure: str = "active_units",
    min_steps: int = 0,
) -> list[Verdict]:
    """[C5, C6] from the runs (and the annealed runs' training curves for C6)."""
    return [
        verdict_c5(runs, measure=measure, min_steps=min_steps),
        verdict_c6(runs, curves, measure=measure, min_steps=min_steps),
    ]
