"""Collect run folders into tables: one row per run, tidy long tables, collapse and training curves.

A run folder holds ``config.yaml`` (resolved Hydra config), ``metrics.csv`` and ``result.json``;
:mod:`lucas2019.run_schema` defines their keys and the table's columns. Folders whose result is
absent or unreadable still get a row, with ``status`` ``"incomplete"`` (metrics.csv has rows: still
running or crashed), ``"missing"`` (nothing written yet) or ``"corrupt"`` (result.json or
config.yaml could not be parsed; ``error`` says why), so figures can list them instead of silently
dropping them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from lucas2019.likelihood_names import SIGMA2_MODES
from lucas2019.run_schema import (
    CONFIG_COLUMNS,
    FLOATS,
    LONG_TABLE_ID_COLUMNS,
    RESULT_JSON,
    RUN_TABLE_COLUMNS,
    TEXT,
    TIDY_METRICS,
)


def _find_run_dirs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) holding config.yaml or result.json.

    Hidden folders (``.hydra``, ``.git``, ...) are skipped: Hydra keeps its own config.yaml there.
    """
    found: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if "config.yaml" in filenames or "result.json" in filenames:
            found.add(Path(dirpath))
    return sorted(found)


def _get(cfg: Any, path: tuple[str, ...]) -> Any:
    """Value at ``path`` in nested mappings, or None. A bare string counts as its own ``name``."""
    node = cfg
    for i, key in enumerate(path):
        if isinstance(node, Mapping):
            node = node.get(key)
        elif isinstance(node, str) and key == "name" and i == len(path) - 1:
            return node
        else:
            return None
    return node


def _float_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out


def integrated_collapse(eps: Any, curve: Any) -> float:
    """ε-averaged collapsed fraction: trapezoid integral of the curve divided by the ε range.

    ``eps`` and ``curve`` are equal-length sequences (ε in nats, fraction in [0, 1]); returns NaN
    when they are absent or of different lengths. With a single ε it returns that fraction.
    """
    if not isinstance(eps, list | tuple | np.ndarray) or not isinstance(
        curve, list | tuple | np.ndarray
    ):
        return math.nan
    e = np.asarray(eps, dtype=float)
    c = np.asarray(curve, dtype=float)
    if e.size == 0 or e.shape != c.shape or not np.all(np.isfinite(c)):
        return math.nan
    if e.size == 1 or e[-1] == e[0]:
        return float(c.mean())
    return float(np.trapezoid(c, e) / (e[-1] - e[0]))


def _load_config(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    """Parsed config.yaml of a run ({} if absent) and an error message (None if fine)."""
    path = run_dir / "config.yaml"
    if not path.exists():
        return {}, "config.yaml absent"
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return {}, f"config.yaml unreadable: {type(exc).__name__}: {exc}".splitlines()[0]
    if not isinstance(cfg, Mapping):
        return {}, f"config.yaml is not a mapping (got {type(cfg).__name__})"
    return dict(cfg), None


def _last_metrics_step(run_dir: Path) -> float | None:
    """Last logged step in metrics.csv, or None when the file is absent, empty or unreadable."""
    path = run_dir / "metrics.csv"
    if not path.exists():
        return None
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    if "step" not in df.columns or df.empty:
        return None
    steps = pd.to_numeric(df["step"], errors="coerce").dropna()
    return float(steps.iloc[-1]) if len(steps) else None


def _run_row(run_dir: Path, root: Path) -> dict[str, Any]:
    """One row of :func:`collect_runs` for ``run_dir``."""
    row: dict[str, Any] = dict.fromkeys(RUN_TABLE_COLUMNS)
    row["run_dir"] = str(run_dir)
    row["run_name"] = str(run_dir.relative_to(root)) if run_dir != root else "."
    cfg, cfg_error = _load_config(run_dir)
    unresolved = []
    for col in CONFIG_COLUMNS:
        value = _get(cfg, col.path)
        if isinstance(value, str) and "${" in value:
            unresolved.append(col.name)
        row[col.name] = value if col.kind == TEXT else _float_or_none(value)
    errors = [cfg_error] if cfg_error and cfg_error != "config.yaml absent" else []

    result_path = run_dir / "result.json"
    result: dict[str, Any] | None = None
    if result_path.exists():
        try:
            loaded = json.loads(result_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.append(f"result.json unreadable: {type(exc).__name__}: {exc}")
        else:
            if isinstance(loaded, dict):
                result = loaded
            else:
                errors.append(f"result.json is not an object (got {type(loaded).__name__})")

    if result is not None:
        row["status"] = str(result.get("status") or "unknown")
        for key in (k for k in RESULT_JSON if k.column is not None):
            value = result.get(key.name)
            if key.kind == FLOATS:
                row[key.column] = list(value) if isinstance(value, list) else None
            elif key.kind == TEXT:
                row[key.column] = value if isinstance(value, str) else None
            else:
                row[key.column] = _float_or_none(value)
        if row["experiment"] is None and isinstance(result.get("experiment"), str):
            row["experiment"] = result["experiment"]
        if row["latent_dim"] is None:
            row["latent_dim"] = _float_or_none(result.get("latent_dim"))
        row["collapse_integrated"] = integrated_collapse(row["collapse_eps"], row["collapse_curve"])
    else:
        row["step"] = _last_metrics_step(run_dir)
        row["status"] = "incomplete" if row["step"] is not None else "missing"
    if errors:
        row["status"] = "corrupt"
    elif result is not None and isinstance(result.get("error"), str):
        errors.append(result["error"])  # a failed job's own error (lucas2019.train)
    if unresolved:  # the trainer should save the resolved config; flag rather than guess
        errors.append(f"config.yaml has unresolved interpolations in {unresolved}")
    row["error"] = "; ".join(errors) or None
    row["sigma2_mode"] = SIGMA2_MODES.get(str(row["likelihood"]), None)
    row["sigma2_rule"] = sigma2_rule(row)
    return row


def sigma2_rule(row: Mapping[str, Any]) -> str | None:
    """How a run set σ², in words: 'fixed', 'optimal', 'learned (adam, lr 0.0005)', or either
    adaptive rule followed by '→ optimal at step N' / '→ learned (...) at step N'.

    ``row`` holds the config columns of :func:`collect_runs` (``sigma2_lr`` None means the
    model's ``lr``); None when the likelihood is unknown or has no σ².
    """
    mode = SIGMA2_MODES.get(str(row.get("likelihood")))
    if mode in (None, "none"):
        return None
    given = [_float_or_none(row.get(key)) for key in ("sigma2_lr", "lr")]
    lr = next((v for v in given if v is not None and not math.isnan(v)), None)
    optim = row.get("sigma2_optim") or "adam"
    learned = "learned" if lr is None else f"learned ({optim}, lr {lr:g})"
    words = {"fixed": "fixed", "optimal": "optimal", "learned": learned}
    switch_to, step = row.get("sigma2_switch_to"), _float_or_none(row.get("sigma2_switch_step"))
    if switch_to in words and step is not None and not math.isnan(step):
        return f"{words[mode]} → {words[switch_to]} at step {int(step)}"
    return words[mode]


def collect_runs(root: str | os.PathLike) -> pd.DataFrame:
    """One row per run folder under ``root`` (searched recursively; ``root`` may be a run itself).

    Columns: :data:`lucas2019.run_schema.RUN_TABLE` (names, units and meanings), in its order:
    the config.yaml values, how σ² was set, ``status`` ('completed'|'diverged'|'failed' from
    result.json, or 'incomplete'|'missing'|'corrupt') and ``error``, then the result.json numbers
    (``sigma2_final`` is result.json's ``sigma2``), ``collapse_integrated`` and the list columns.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise FileNotFoundError(
            f"collect_runs: root={str(root)!r} is not a directory; pass the folder that holds the "
            "run folders (each with config.yaml and result.json)."
        )
    rows = [_run_row(d, root_path) for d in _find_run_dirs(root_path)]
    return pd.DataFrame(rows, columns=list(RUN_TABLE_COLUMNS))


def _check_runs(df: pd.DataFrame, arg: str, needed: tuple[str, ...]) -> None:
    """ValueError unless ``df`` is a DataFrame with the ``needed`` columns."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(
            f"{arg} must be a pandas DataFrame from collect_runs(), got {type(df).__name__}."
        )
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"{arg} lacks columns {missing}; it has {list(df.columns)}. "
            "Pass the table returned by lucas2019.results.collect_runs(root)."
        )


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Long table, one row per run × scalar metric: ID columns + ``metric`` + ``value`` (float).

    Metrics are those of :data:`lucas2019.run_schema.TIDY_METRICS` present in ``df``; NaN values
    are dropped.
    """
    _check_runs(df, "df", ("run_dir",))
    ids = [c for c in LONG_TABLE_ID_COLUMNS if c in df.columns]
    metrics = [c for c in TIDY_METRICS if c in df.columns]
    wide = df[ids + metrics].copy()
    for col in metrics:
        wide[col] = pd.to_numeric(wide[col], errors="coerce")
    long = wide.melt(id_vars=ids, value_vars=metrics, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)


def collapse_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Long table of collapse curves: ID columns + ``step``, ``sigma2_final``, ``eps`` [nats],
    ``collapsed_fraction`` (in [0, 1], δ = 0.01), one row per run × ε.

    Runs without a curve, or whose ``collapse_eps`` and ``collapse_curve`` differ in length, are
    left out (they are not completed runs; figures report them through their ``expected`` list).
    """
    _check_runs(df, "df", ("run_dir", "collapse_eps", "collapse_curve"))
    ids = [c for c in (*LONG_TABLE_ID_COLUMNS, "step", "sigma2_final") if c in df.columns]
    frames = []
    for _, row in df.iterrows():
        eps, curve = row["collapse_eps"], row["collapse_curve"]
        if not isinstance(eps, list) or not isinstance(curve, list) or len(eps) != len(curve):
            continue
        if not eps:
            continue
        part = pd.DataFrame(
            {
                "eps": pd.to_numeric(pd.Series(eps), errors="coerce"),
                "collapsed_fraction": pd.to_numeric(pd.Series(curve), errors="coerce"),
            }
        )
        for col in ids:
            part[col] = row[col]
        frames.append(part)
    columns = [*ids, "eps", "collapsed_fraction"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def training_curves(source: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Long table of every run's metrics.csv: ID columns + ``step`` + ``metric`` + ``value``.

    ``source`` is a results root (read with :func:`collect_runs`) or its DataFrame. Metrics are
    the metrics.csv columns other than ``step`` (:data:`lucas2019.run_schema.METRICS_CSV`).
    Unreadable files are skipped.
    """
    df = collect_runs(source) if isinstance(source, str | os.PathLike) else source
    _check_runs(df, "source", ("run_dir",))
    ids = [c for c in LONG_TABLE_ID_COLUMNS if c in df.columns]
    frames = []
    for _, row in df.iterrows():
        path = Path(row["run_dir"]) / "metrics.csv"
        if not path.exists():
            continue
        try:
            metrics = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            continue
        if "step" not in metrics.columns or metrics.empty:
            continue
        metrics = metrics.apply(pd.to_numeric, errors="coerce")
        long = metrics.melt(id_vars=["step"], var_name="metric", value_name="value")
        long = long.dropna(subset=["step", "value"])
        for col in ids:
            long[col] = row[col]
        frames.append(long)
    columns = [*ids, "step", "metric", "value"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
