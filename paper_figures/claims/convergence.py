"""How far each run a verdict reads may still move, judged on its metrics.csv by a definition's
:class:`~paper_figures.claims.schema.Convergence`, and its escape from the collapsed start.

A run's *band*: over the last ``window`` share of its logged steps, each quantity its verdict's
measure reads (:class:`~paper_figures.claims.measures.Move`) moved by Δ; it may still move
``band_factor`` × Δ in the same direction, by whole latents for a collapsed fraction. Whether
that movement could change the verdict is decided in :mod:`paper_figures.claims.deciding`.

A deep VAE starts collapsed: every latent at the prior and every example reconstructed by the
data mean, so the closed-form optimal σ² (``sigma2_optimal``, the E_q squared error per
dimension) equals the data's total variance per dimension. The first evaluation at which it falls
clearly below that is the escape from the saddle of Figure 1, seen in training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from paper_figures.claims.measures import Move
from paper_figures.claims.schema import Convergence
from paper_figures.common import metric_curve, require_columns, run_names
from paper_figures.theme import fmt_value


@dataclass(frozen=True)
class RunConvergence:
    """One run's convergence numbers.

    Attributes:
        run_dir: the run folder (the curves' ``run_dir``); ``name``: how verdicts name it.
        steps: the last logged step (NaN without an ELBO curve).
        window_start: the first logged step of the window (NaN without an ELBO curve).
        band: runs-table column -> how far it may still move, signed, in the column's units
            (0 for a settled quantity).
        escape_step: first logged step with ``sigma2_optimal`` below ``escape_factor`` × the
            total variance per dimension; inf if never, NaN when not checked or not logged.
        missing: why the band is unknown ('' when it is known): a curve not logged, or not at
            the window's first step.
        blocks: why this run keeps its verdict from deciding ('' when it does not); set by
            :func:`paper_figures.claims.deciding.decide`.
    """

    run_dir: str
    name: str
    steps: float
    window_start: float
    band: Mapping[str, float] = field(default_factory=dict)
    escape_step: float = math.nan
    missing: str = ""
    blocks: str = ""

    @property
    def converged(self) -> bool:
        """Whether the run leaves its verdict decided (nothing it could still do changes it)."""
        return not self.blocks

    @property
    def moving(self) -> bool:
        """Whether any quantity of its band may still move."""
        return any(v != 0 for v in self.band.values())


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


def band_of(
    change: float, factor: float, per_latent: bool, k: float, last: float = math.nan
) -> float:
    """How far a quantity that moved by ``change`` over the window may still move:
    ``factor`` × ``change``, for a collapsed fraction rounded away from zero to whole latents
    (multiples of 1/``k``) and, given its ``last`` value, no farther than its bounds 0 and 1."""
    band = factor * change
    if not per_latent or band == 0:
        return band
    if math.isfinite(k) and k > 0:
        band = math.copysign(math.ceil(abs(band) * k - 1e-9) / k, band)
    if math.isfinite(last):
        band = min(band, 1.0 - last) if band > 0 else max(band, -last)
    return band


def check_run(
    curves: pd.DataFrame,
    convergence: Convergence,
    moves: Sequence[Move] = (),
    total_variance: float | None = None,
    name: str | None = None,
    k: float = math.nan,
) -> RunConvergence:
    """The band and escape of one run from its training curves (long or wide, see
    :func:`paper_figures.common.metric_curve`; metrics ``elbo``, each move's curve, and
    ``sigma2_optimal`` for the escape). ``total_variance`` [data units²] is needed for the escape;
    without it the escape is not checked. ``k``: the run's number of latents (for a collapsed
    fraction's whole latents)."""
    require_columns(curves, ["run_dir"], "curves", "one run's training_curves() rows")
    run_dir = str(curves["run_dir"].iloc[0]) if len(curves) else ""
    name = name or run_dir
    elbo = metric_curve(curves, "elbo").drop_duplicates("step", keep="last")
    if elbo.empty:
        return RunConvergence(run_dir, name, math.nan, math.nan, missing="no ELBO logged")
    steps = elbo["step"].to_numpy(float)
    start = _window_start(steps, convergence.window.value)
    band, missing = {}, []
    for move in moves:
        curve = metric_curve(curves, move.curve).drop_duplicates("step", keep="last")
        values = curve.set_index("step")["value"]
        if start not in values.index:
            missing.append(f"no {move.curve} logged at step {fmt_value(start)}")
            continue
        last = float(values.iloc[-1])
        change = last - float(values.loc[start])
        factor = convergence.band_factor.value
        band[move.column] = band_of(change, factor, move.per_latent, k, last)
    escape = math.nan
    if convergence.escape_factor is not None and total_variance is not None:
        optimal = metric_curve(curves, "sigma2_optimal")
        if not optimal.empty:
            below = optimal["value"] < convergence.escape_factor.value * total_variance
            escape = float(optimal.loc[below, "step"].min()) if below.any() else math.inf
    return RunConvergence(
        run_dir, name, float(steps.max()), start, band, escape, "; ".join(dict.fromkeys(missing))
    )


def check_runs(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    convergence: Convergence,
    moves: Sequence[Move] = (),
    total_variance: float | None = None,
) -> dict[str, RunConvergence]:
    """:func:`check_run` for each run of ``runs`` (collect_runs rows with ``run_dir``; named by
    ``run_name`` where present; k from ``latent_dim``), reading its rows of ``curves``; keyed by
    run_dir."""
    require_columns(runs, ["run_dir"], "runs", "collect_runs() rows")
    require_columns(curves, ["run_dir"], "curves", "training_curves() of the runs")
    names = run_names(runs)
    ks = (
        pd.to_numeric(runs["latent_dim"], errors="coerce")
        if "latent_dim" in runs.columns
        else pd.Series(math.nan, index=runs.index)
    )
    by_run = dict(tuple(curves.groupby("run_dir", sort=False)))
    empty = curves.iloc[:0]
    return {
        str(run_dir): check_run(
            by_run.get(run_dir, empty).assign(run_dir=run_dir),
            convergence,
            moves,
            total_variance,
            str(name),
            float(k),
        )
        for run_dir, name, k in zip(runs["run_dir"], names, ks, strict=True)
    }
