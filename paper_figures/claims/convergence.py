"""Whether a run had converged when it stopped, judged on its metrics.csv by a definition's
:class:`~paper_figures.claims.schema.Convergence`, and its escape from the collapsed start.

A deep VAE starts collapsed: every latent at the prior and every example reconstructed by the
data mean, so the closed-form optimal σ² (``sigma2_optimal``, the E_q squared error per
dimension) equals the data's total variance per dimension. The first evaluation at which it falls
clearly below that is the escape from the saddle of Figure 1, seen in training. A run whose ELBO
or collapse still moves at its end, or that escaped only inside the final window, is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paper_figures.claims.schema import Convergence
from paper_figures.common import metric_curve, require_columns
from paper_figures.theme import fmt_value


@dataclass(frozen=True)
class RunConvergence:
    """One run's convergence numbers.

    Attributes:
        run_dir: the run folder (the curves' ``run_dir``); ``name``: how verdicts name it.
        steps: the last logged step.
        elbo_share: |ELBO change over the window| / |ELBO change from the first logged step to
            the last| (0 when the ELBO never changed; NaN without an ELBO curve).
        collapse_change: |change of the (ε, δ)-collapsed fraction over the window| (NaN when
            not checked or not logged).
        escape_step: first logged step with ``sigma2_optimal`` below ``escape_factor`` × the
            total variance per dimension; inf if never, NaN when not checked or not logged.
        converged: whether every checked criterion is met; ``why`` says which are not.
    """

    run_dir: str
    name: str
    steps: float
    elbo_share: float
    collapse_change: float
    escape_step: float
    converged: bool
    why: str


def total_variance_per_dim(eigenvalues: Sequence[float], data_dim: float) -> float:
    """The data's total variance per dimension, Σ λ_i / d [data units²]: the optimal σ² of a
    model that reconstructs every example by the data mean."""
    lam = np.asarray(eigenvalues, dtype=float)
    if data_dim is None or not np.isfinite(data_dim) or data_dim <= 0:
        raise ValueError(
            f"data_dim must be the data's dimension d > 0 (the runs' data_dim column), got "
            f"{data_dim!r}."
        )
    return float(lam.sum()) / float(data_dim)


def _window_start(steps: np.ndarray, window: float) -> float:
    """The first logged step of the last ``window`` share of the run's logged steps."""
    last = float(steps.max())
    inside = steps[steps >= (1.0 - window) * last]
    return float(inside.min())


def _change_over(curve: pd.DataFrame, start: float) -> float:
    """|value at the last logged step − value at ``start``| of one metric's curve."""
    values = curve.set_index("step")["value"]
    return abs(float(values.iloc[-1]) - float(values.loc[start]))


def check_run(
    curves: pd.DataFrame,
    convergence: Convergence,
    total_variance: float | None = None,
    name: str | None = None,
) -> RunConvergence:
    """The convergence of one run from its training curves (long or wide, see
    :func:`paper_figures.common.metric_curve`; metrics ``elbo``, and ``collapsed_fraction`` and
    ``sigma2_optimal`` where the criterion checks them). ``total_variance`` [data units²] is
    needed for the escape; without it the escape is not checked."""
    require_columns(curves, ["run_dir"], "curves", "one run's training_curves() rows")
    run_dir = str(curves["run_dir"].iloc[0]) if len(curves) else ""
    elbo = metric_curve(curves, "elbo").drop_duplicates("step", keep="last")
    if elbo.empty:
        why = "no ELBO logged"
        return RunConvergence(run_dir, name or run_dir, math.nan, *[math.nan] * 3, False, why)
    steps = elbo["step"].to_numpy(float)
    start = _window_start(steps, convergence.window.value)
    total = abs(float(elbo["value"].iloc[-1]) - float(elbo["value"].iloc[0]))
    moved = _change_over(elbo, start)
    share = 0.0 if total == 0 else moved / total
    problems = []
    if share > convergence.max_elbo_share.value and moved > convergence.elbo_floor.value:
        problems.append(
            f"the ELBO made {share:.0%} of its change in the last "
            f"{convergence.window.value:.0%} of the steps"
        )
    collapse_change, escape = math.nan, math.nan
    if convergence.max_collapse_change is not None:
        collapse = metric_curve(curves, "collapsed_fraction").drop_duplicates("step", keep="last")
        if not collapse.empty and start in set(collapse["step"]):
            collapse_change = _change_over(collapse, start)
            if collapse_change > convergence.max_collapse_change.value:
                problems.append(
                    f"its (ε, δ)-collapsed fraction moved by {collapse_change:.3g} in that window"
                )
    if convergence.escape_factor is not None and total_variance is not None:
        optimal = metric_curve(curves, "sigma2_optimal")
        if not optimal.empty:
            below = optimal["value"] < convergence.escape_factor.value * total_variance
            escape = float(optimal.loc[below, "step"].min()) if below.any() else math.inf
            if math.isfinite(escape) and escape >= start:
                problems.append(f"it escaped its collapsed start only at step {fmt_value(escape)}")
    last = float(steps.max())
    return RunConvergence(
        run_dir,
        name or run_dir,
        last,
        share,
        collapse_change,
        escape,
        not problems,
        "; ".join(problems),
    )


def check_runs(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    convergence: Convergence,
    total_variance: float | None = None,
) -> dict[str, RunConvergence]:
    """:func:`check_run` for each run of ``runs`` (collect_runs rows with ``run_dir``; named by
    ``run_name`` where present), reading its rows of ``curves``; keyed by run_dir."""
    require_columns(runs, ["run_dir"], "runs", "collect_runs() rows")
    require_columns(curves, ["run_dir"], "curves", "training_curves() of the runs")
    names = runs["run_name"] if "run_name" in runs.columns else runs["run_dir"]
    by_run = dict(tuple(curves.groupby("run_dir", sort=False)))
    empty = curves.iloc[:0]
    return {
        str(run_dir): check_run(
            by_run.get(run_dir, empty).assign(run_dir=run_dir),
            convergence,
            total_variance,
            str(name),
        )
        for run_dir, name in zip(runs["run_dir"], names, strict=True)
    }


def not_converged_reason(checks: Sequence[RunConvergence], convergence: Convergence) -> str:
    """'not converged: <run> (<why>), ...; run them for ≥ N steps (trainer.max_steps=N)' for the
    unconverged runs of ``checks``, or '' when every run converged."""
    failed = [c for c in checks if not c.converged]
    if not failed:
        return ""
    shown = ", ".join(f"{c.name} ({c.why})" for c in failed[:3])
    more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    longest = max((c.steps for c in failed if math.isfinite(c.steps)), default=math.nan)
    suggestion = ""
    if math.isfinite(longest):
        steps = math.ceil(convergence.lengthen.value * longest)
        suggestion = f"; run them for ≥ {steps} steps (trainer.max_steps={steps})"
    return f"not converged: {len(failed)} runs, {shown}{more}{suggestion}"
