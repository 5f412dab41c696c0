"""Input checks and missing-run bookkeeping shared by the figure modules."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lucas2019.io import atomic_write_text
from paper_figures.theme import fmt_value


def require_columns(df: Any, columns: Sequence[str], arg: str, source: str) -> None:
    """ValueError unless ``df`` is a DataFrame with ``columns`` (``source``: its origin)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{arg} must be a pandas DataFrame ({source}), got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{arg} lacks columns {missing}; it has {list(df.columns)}. Expected {source}."
        )


def run_names(runs: pd.DataFrame) -> pd.Series:
    """How verdicts name each run of a runs table: its ``run_name`` ('<experiment>/<folder>')
    where the table has one, else its ``run_dir``; aligned with ``runs``."""
    return runs["run_name"] if "run_name" in runs.columns else runs["run_dir"]


def learned_mask(sweep: pd.DataFrame) -> pd.Series:
    """True for the learned-σ² (MLE) rows of an analytic sweep: the boolean ``sigma2_learned``
    column when present (linear_vae.sweep puts the MLE value in ``sigma2``), else rows whose
    ``sigma2`` is None, NaN or a non-numeric label like 'learned'."""
    if "sigma2_learned" in sweep.columns:
        return sweep["sigma2_learned"].fillna(False).astype(bool)
    return pd.to_numeric(sweep["sigma2"], errors="coerce").isna()


def completed_only(df: pd.DataFrame, what: str = "run") -> tuple[pd.DataFrame, list[str]]:
    """Rows with status 'completed' (all rows if there is no status column) and a list of
    notes ``"<run_name or run_dir> (<status>)"`` for the rows left out."""
    if "status" not in df.columns:
        return df, []
    ok = df["status"].astype(str) == "completed"
    name_col = "run_name" if "run_name" in df.columns else "run_dir"
    notes = []
    if name_col in df.columns:
        for _, row in df.loc[~ok].drop_duplicates(subset=[name_col]).iterrows():
            notes.append(f"{what} {row[name_col]} ({row['status']})")
    return df.loc[ok], notes


def missing_values(
    present: Iterable[Any], expected: Iterable[Any] | None, prefix: str = ""
) -> list[str]:
    """Expected values absent from ``present`` (floats compared with rtol 1e-6), as labels."""
    if expected is None:
        return []
    have = list(present)
    nums = pd.to_numeric(pd.Series(have, dtype=object), errors="coerce").to_numpy(dtype=float)
    out = []
    for e in expected:
        try:
            ef = float(e)
        except (TypeError, ValueError):
            if e not in have:
                out.append(f"{prefix}{e}")
            continue
        if not np.any(np.isclose(nums, ef, rtol=1e-6, atol=0.0)):
            out.append(f"{prefix}{fmt_value(ef)}")
    return out


def metric_curve(curves: pd.DataFrame, metric: str, arg: str = "curves") -> pd.DataFrame:
    """Rows of one metric from a training-curve table, with its values in column ``value``.

    Accepts the long table of ``lucas2019.results.training_curves`` (columns step, metric,
    value) or a wide one with a column named ``metric`` (e.g. ``elbo``).
    """
    if isinstance(curves, pd.DataFrame) and {"metric", "value"} <= set(curves.columns):
        require_columns(curves, ["step"], arg, "a training_curves() table")
        out = curves.loc[curves["metric"] == metric].copy()
    else:
        require_columns(curves, ["step", metric], arg, f"a table with step and {metric} columns")
        out = curves.copy()
        out["value"] = out[metric]
    out["step"] = pd.to_numeric(out["step"], errors="coerce")
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out.dropna(subset=["step", "value"]).sort_values("step")


def check_eigenvalues(eigenvalues: Any, arg: str = "eigenvalues") -> np.ndarray:
    """1-D finite float array of eigenvalues, else ValueError."""
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(
            f"{arg} must be a non-empty 1-D array of finite covariance eigenvalues "
            f"(e.g. Spectrum.eigenvalues), got shape {lam.shape}."
        )
    return lam


def plain_rows(df: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Rows with σ² ``mode`` ('fixed' | 'learned') and no KL annealing, judged from
    ``sigma2_mode`` (else ``likelihood`` = 'gaussian_<mode>') and ``kl_anneal_steps``; columns
    that are absent do not filter."""
    sel = pd.Series(True, index=df.index)
    if "sigma2_mode" in df.columns:
        sel &= df["sigma2_mode"].astype(str) == mode
    elif "likelihood" in df.columns:
        sel &= df["likelihood"].astype(str) == f"gaussian_{mode}"
    if "kl_anneal_steps" in df.columns:
        sel &= pd.to_numeric(df["kl_anneal_steps"], errors="coerce").fillna(0) <= 0
    return df.loc[sel]


def replace_block(text: str, begin: str, end: str, content: str, name: str) -> str:
    """``text`` with ``content`` between the marker lines ``begin`` and ``end``. Raises
    ValueError naming the file ``name`` when a marker is missing."""
    if begin not in text or end not in text:
        raise ValueError(f"{name} lacks the markers {begin!r} and {end!r}; add them first.")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


def with_generated_block(path: str | Path, begin: str, end: str, content: str) -> tuple[str, str]:
    """(current text of the markdown file ``path``, its text with ``content`` between the marker
    lines ``begin`` and ``end``). Raises ValueError naming the file when a marker is missing."""
    text = Path(path).read_text(encoding="utf-8")
    return text, replace_block(text, begin, end, content, str(path))


def write_or_check(path: Path, current: str, generated: str, check: bool, stale: str) -> int:
    """The command-line end of a generated block: with ``check``, exit status 0 when ``current``
    equals ``generated`` and 1 (printing ``stale``) when not; without, write ``generated`` to
    ``path`` atomically and return 0."""
    if check:
        if current != generated:
            print(f"{path}: {stale}; rerun without --check to rewrite it", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(path, generated)
    return 0
