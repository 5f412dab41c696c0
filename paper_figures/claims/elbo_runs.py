"""One row per linear-VAE training curve: its final ELBO, largest drop and steps to a tolerance of
the optimum, which C3a and C3b judge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from paper_figures.claims.judging import seed_label
from paper_figures.common import (
    metric_curve,
    require_columns,
)


def steps_to_tolerance(curve: pd.DataFrame, mle: float, tolerance: float) -> float:
    """The first logged step from which every logged ELBO of one run's ``curve`` (``step``,
    ``value`` [nats per example]) is within ``tolerance`` of ``mle``; inf if the last is not."""
    ok = (curve["value"] - float(mle)).abs().to_numpy() <= tolerance
    if not ok.size or not ok[-1]:
        return math.inf
    outside = np.flatnonzero(~ok)
    first = 0 if outside.size == 0 else int(outside[-1]) + 1
    return float(curve["step"].to_numpy(float)[first])


def _last_interval(steps: np.ndarray) -> float:
    """The spacing of a run's last two evaluations [steps] (1 with a single evaluation)."""
    return float(steps[-1] - steps[-2]) if len(steps) > 1 else 1.0


def _run_name(first: pd.Series, group: str) -> str:
    """The run's own name where the curves carry it (the run table's ``run_name``: how verdicts
    name the runs to extend), else '<group value>, seed <seed>'."""
    name = first.get("run_name")
    if isinstance(name, str) and name:
        return name
    return f"{first[group]}, seed {seed_label(first['seed'])}"


def per_run(
    curves: pd.DataFrame,
    group: str,
    mle: float,
    tail_fraction: float | None = None,
    tolerance: float | None = None,
) -> pd.DataFrame:
    """One row per run of a training-curve table: ``run_dir``, ``run_name`` (the curves' own,
    else '<group value>, seed <seed>'), ``group``, ``seed``, ``status``, ``step`` (the last
    logged), ``max_drop`` (largest fall of the ELBO between consecutive evaluations, ≥ 0),
    ``final_test`` (last held-out ELBO, NaN if none) [nats per example], ``beyond`` (one
    evaluation after the last); with ``tail_fraction``, ``final`` (median ELBO over that last
    share of the logged steps), with ``tolerance``, ``steps_to`` (:func:`steps_to_tolerance`),
    else NaN."""
    elbo = metric_curve(curves, "elbo")
    require_columns(elbo, ["run_dir", "seed", group], "curves", "a training_curves() table")
    held_out = metric_curve(curves, "elbo_test") if "metric" in curves.columns else elbo.iloc[:0]
    rows = []
    for run_dir, run in elbo.groupby("run_dir", sort=True):
        run = run.drop_duplicates("step", keep="last")
        values = run["value"].to_numpy(float)
        test = held_out.loc[held_out["run_dir"] == run_dir, "value"]
        first = run.iloc[0]
        final = math.nan
        if tail_fraction is not None:
            final = float(np.median(values[-max(2, math.ceil(tail_fraction * len(values))) :]))
        rows.append(
            {
                "run_dir": run_dir,
                "run_name": _run_name(first, group),
                group: first[group],
                "seed": first["seed"],
                "status": first["status"] if "status" in run.columns else "completed",
                "step": float(run["step"].max()),
                "final": final,
                "max_drop": max(0.0, float(-np.diff(values).min())) if len(values) > 1 else 0.0,
                "final_test": float(test.iloc[-1]) if len(test) else math.nan,
                "steps_to": (
                    steps_to_tolerance(run, mle, tolerance) if tolerance is not None else math.nan
                ),
                "beyond": float(run["step"].max()) + _last_interval(run["step"].to_numpy(float)),
            }
        )
    columns = [
        "run_dir",
        "run_name",
        group,
        "seed",
        "status",
        "step",
        "final",
        "max_drop",
        "final_test",
        "steps_to",
        "beyond",
    ]
    return pd.DataFrame(rows, columns=columns)


_FIG3_OBJECTIVES = [("analytic",), ("stochastic",)]
