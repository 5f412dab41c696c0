"""What every claim's computation shares: the seeds' numbers judged, the runs read checked for
convergence, a verdict recomputed under its other measures, and per-σ² tables of a seed's runs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lucas2019.run_schema import MI_CEILING_MARGIN_NATS
from paper_figures.claims.convergence import RunConvergence, check_runs, total_variance_per_dim
from paper_figures.claims.evidence import Evidence
from paper_figures.claims.judging import ClaimNumbers, OtherMeasure, Seeds, finished_seeds, judge
from paper_figures.claims.measures import (
    BY_NAME,
    COLLAPSE_FRACTIONS,
    collapsed_fraction,
    column,
    live_latents,
)
from paper_figures.claims.schema import (
    Computation,
    Definition,
)
from paper_figures.common import (
    check_eigenvalues,
    plain_rows,
    require_columns,
)
from paper_figures.theme import fmt_value
from paper_figures.words import other_measure_note

#: the label of the one "seed" of a closed-form computation
CLOSED_FORM_SEED = "closed form"


def _mean_by_setting(per_seed: Sequence[Mapping[str, Mapping[str, float]]]) -> dict:
    """Setting -> quantity -> mean over the seeds that have it."""
    out: dict[str, dict[str, float]] = {}
    for table in per_seed:
        for setting, quantities in table.items():
            for name, value in quantities.items():
                out.setdefault(setting, {}).setdefault(name, []).append(value)
    return {s: {n: float(np.mean(v)) for n, v in q.items()} for s, q in out.items()}


def seed_numbers(
    definition: Definition,
    per_seed: Mapping,
    seeds: Seeds,
    settings: Sequence[Mapping[str, Mapping[str, float]]],
    notes: Sequence[str] = (),
) -> ClaimNumbers:
    """:func:`judge` on the per-seed statistics, the seeds left out and the settings' means."""
    return judge(
        definition,
        {**per_seed, **seeds.left_out},
        seeds.too_short,
        _mean_by_setting(settings),
        notes,
    )


def finished_rows(seeds: Seeds, like: pd.DataFrame) -> pd.DataFrame:
    """Every row of the finished seeds (an empty frame like ``like`` when none finished)."""
    return pd.concat(seeds.finished.values()) if seeds.finished else like.iloc[:0]


def total_variance(runs: pd.DataFrame, eigenvalues: Sequence[float] | None) -> float | None:
    """The data's total variance per dimension (Σ λ / d, d from the runs' ``data_dim``), or None
    when the eigenvalues or d are not known (the escape is then not checked)."""
    if eigenvalues is None or "data_dim" not in runs.columns:
        return None
    dims = pd.to_numeric(runs["data_dim"], errors="coerce").dropna()
    if dims.empty:
        return None
    return total_variance_per_dim(check_eigenvalues(eigenvalues), float(dims.median()))


def convergence_checks(
    read: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    total_variance: float | None = None,
) -> dict[str, RunConvergence]:
    """The convergence of each run in ``read`` by run_dir (none when nothing is trained)."""
    if definition.convergence is None or read.empty:
        return {}
    moves = BY_NAME[definition.measure].moves
    return check_runs(
        read.drop_duplicates("run_dir"), curves, definition.convergence, moves, total_variance
    )


def escape_steps(checks: Mapping[str, RunConvergence]) -> dict[str, float]:
    """run_dir -> its escape step from the collapsed start (inf: never; NaN: not checked)."""
    return {run_dir: c.escape_step for run_dir, c in checks.items()}


def _statistics(numbers: ClaimNumbers) -> dict[str, float]:
    """Each statistic's mean over the judged seeds (NaN when no seed has one)."""
    out = {}
    for r in numbers.results:
        finite = [v for v in r.values if math.isfinite(v)]
        value = r.interval.mean if r.interval is not None else np.mean(finite) if finite else np.nan
        out[r.criterion.statistic] = float(value)
    return out


def _other_measures(
    compute: Callable[[Definition], ClaimNumbers], primary: ClaimNumbers
) -> list[OtherMeasure]:
    """The definition under each of its other measures: the outcome it has there, whether that
    agrees with the primary measure's, and its statistics."""
    definition = primary.definition
    others = []
    for measure in definition.other_measures:
        other = dataclasses.replace(definition, measure=measure, other_measures=())
        try:
            numbers = compute(other)
        except ValueError as error:  # the measure cannot express this claim's statistics
            others.append(OtherMeasure(measure, error=str(error)))
            continue
        others.append(
            OtherMeasure(
                measure, numbers.holds, numbers.holds == primary.holds, _statistics(numbers)
            )
        )
    return others


def with_other_measures(
    compute: Callable[[Definition], ClaimNumbers], definition: Definition
) -> ClaimNumbers:
    """``compute(definition)`` with its other measures, and a note for each."""
    primary = compute(definition)
    others = tuple(_other_measures(compute, primary))
    notes = (*primary.notes, *map(other_measure_note, others))
    return dataclasses.replace(primary, notes=notes, others=others)


def mi_ceiling_note(rows: pd.DataFrame, label: Callable[[pd.Series], str]) -> list[str]:
    """A note naming the runs' settings (``label`` of a row, by ascending σ²) whose MI is within
    the margin of its ceiling log n."""
    if not {"mutual_information", "mutual_information_ceiling"} <= set(rows.columns):
        return []
    mi = pd.to_numeric(rows["mutual_information"], errors="coerce")
    ceiling = pd.to_numeric(rows["mutual_information_ceiling"], errors="coerce")
    near = rows.loc[mi > ceiling - MI_CEILING_MARGIN_NATS]
    if near.empty:
        return []
    near = near.assign(_s2=pd.to_numeric(near["sigma2"], errors="coerce")).sort_values("_s2")
    where = ", ".join(dict.fromkeys(label(r) for _, r in near.iterrows()))
    return [
        f"MI within {MI_CEILING_MARGIN_NATS:g} nats of its ceiling log n = "
        f"{float(ceiling.max()):.3g} at {where}: a lower bound of I(x; z) there"
    ]


def by_sigma2(rows: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Mean of ``values`` (aligned with ``rows``) per σ², sorted ascending, NaNs dropped."""
    table = pd.DataFrame({"sigma2": pd.to_numeric(rows["sigma2"], errors="coerce"), "v": values})
    return table.dropna().groupby("sigma2")["v"].mean().sort_index()


def measures_by_sigma2(
    rows: pd.DataFrame, escape: Mapping[str, float], live: bool = False
) -> dict[str, dict[str, float]]:
    """One seed's numbers per σ²: each collapse measure on the training set (collapsed
    fractions, or with ``live`` live latents k·(1 − fraction)), MI [nats], the held-out
    (ε, δ) collapse and MI, the ELBO on both sets and the escape step from the collapsed start."""
    k = column(rows, "latent_dim")
    shown = {}
    for measure in COLLAPSE_FRACTIONS:
        label = BY_NAME[measure].label
        try:
            if live:
                shown[f"live {label}"] = live_latents(rows, measure)
            else:
                shown[label] = collapsed_fraction(rows, measure)
        except ValueError:  # a column this table lacks
            continue
    held_out = column(rows, "collapsed_fraction_test")
    shown.update(
        {
            BY_NAME["mutual_information"].label: column(rows, "mutual_information"),
            "(ε, δ) held-out": k * (1 - held_out) if live else held_out,
            "MI held-out": column(rows, "mutual_information_test"),
            "ELBO": column(rows, "elbo"),
            "ELBO held-out": column(rows, "elbo_test"),
            "escape (step)": rows["run_dir"].map(escape).astype(float),
        }
    )
    table = {name: by_sigma2(rows, values) for name, values in shown.items()}
    return {
        f"σ²={fmt_value(s)}": {n: float(v[s]) for n, v in table.items() if s in v.index}
        for s in sorted(pd.to_numeric(rows["sigma2"], errors="coerce").dropna().unique())
    }


def fixed_sigma2_runs(runs: pd.DataFrame, definition: Definition) -> tuple[pd.DataFrame, Seeds]:
    """The fixed-σ² runs without annealing and their seeds."""
    rows = plain_rows(runs, "fixed")
    require_columns(
        rows,
        ["run_dir", "sigma2", "seed", "status", "step", "latent_dim"],
        "runs",
        "collect_runs()",
    )
    return rows, finished_seeds(rows, ["sigma2"], definition.min_steps)


#: a run-based computation: ``compute(runs, curves, definition, eigenvalues)``
RunsComputation = Callable[[pd.DataFrame, pd.DataFrame, Definition, np.ndarray], ClaimNumbers]


def on_runs(compute: RunsComputation) -> Computation:
    """The definition's computation for a run-based ``compute``: called on the runs of the
    experiments a figure reads, their training curves and the data-covariance eigenvalues."""

    def from_evidence(evidence: Evidence, definition: Definition) -> ClaimNumbers:
        return compute(evidence.runs, evidence.curves, definition, evidence.eigenvalues)

    return from_evidence
