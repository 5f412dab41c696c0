"""From per-seed statistics to an outcome: intervals over seeds, compared with a definition's
criteria (:mod:`paper_figures.claims.schema`).

A claim module's computation (e.g. :func:`paper_figures.claims.c4a.compute`) finds the seeds whose
runs all finished (:func:`finished_seeds`), computes its statistics for each and hands them to
:func:`judge`. A criterion holds when the interval of its statistic lies wholly on the claim's side
of the threshold, fails when it lies wholly on the other side, and cannot be judged when it
straddles the threshold or fewer than the definition's minimum seeds have a value. A requirement is
met when every criterion of one of its ways holds; the claim holds when every requirement is met.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from paper_figures.claims.convergence import RunConvergence
from paper_figures.claims.schema import Criterion, Definition
from paper_figures.common import run_names
from paper_figures.stats import (
    MOST_SEEDS,
    Interval,
    clipped,
    exact,
    is_over_seeds,
    mean_interval,
    seeds_to_decide,
)
from paper_figures.theme import fmt_value

Seed = int | str
#: per seed, its statistics by name, or the reason it was left out
SeedStatistics = Mapping[Seed, Mapping[str, float] | str]


@dataclass(frozen=True)
class CriterionResult:
    """One criterion over the judged seeds: their ``values`` (NaN where undefined), the interval
    of the finite ones (None when fewer than the minimum seeds have one) and its outcome."""

    criterion: Criterion
    values: tuple[float, ...]
    interval: Interval | None
    holds: bool | None


@dataclass(frozen=True)
class OtherMeasure:
    """A definition recomputed with one of its other measures: the ``outcome`` it has there
    (True / False / None = cannot judge), whether that ``agrees`` with the primary measure's, and
    its statistics' means over the judged seeds; ``error`` says why it was not computed (the
    measure cannot express the statistics), and the rest is then empty."""

    measure: str
    outcome: bool | None = None
    agrees: bool | None = None
    statistics: Mapping[str, float] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class ShortRun:
    """A run that a rule of the definition cannot read at its length: its ``name``, ``why`` and
    the ``steps`` from which it could (e.g. a learned σ² too far from the value it must reach)."""

    name: str
    why: str
    steps: int


@dataclass(frozen=True)
class ClaimNumbers:
    """What a claim's compute function found: the numbers behind one verdict.

    Attributes:
        definition: the definition it applied.
        seeds: the judged seeds (all of their runs finished), in order.
        results: one per criterion of the definition, in its order; values aligned with seeds.
        holds: True, False or None (cannot judge).
        reason: why it cannot judge before any interval ('' when the seeds sufficed).
        left_out: seed -> why it was not judged.
        too_short: runs shorter than the definition's minimum length, as 'name (steps)'.
        by_setting: setting label -> named numbers (means over the judged seeds), for the detail.
        notes: findings reported beside the outcome (the other measures and whether they agree,
            a level mismatch and its direction, the settings left unjudged and why).
        convergence: the convergence of every run the verdict read (empty when nothing is
            trained).
        others: the definition under each of its other measures (their notes say the same in
            words).
        as_it_stands: when runs that may still move block the outcome, the outcome their
            numbers give as they stand (None otherwise, or when that is cannot judge too).
        short_runs: runs a rule left unread for their length, which would be read at their
            ``steps``; they block the verdict while it cannot judge.
    """

    definition: Definition
    seeds: tuple[Seed, ...]
    results: tuple[CriterionResult, ...]
    holds: bool | None
    reason: str
    left_out: Mapping[Seed, str]
    too_short: tuple[str, ...]
    by_setting: Mapping[str, Mapping[str, float]]
    notes: tuple[str, ...] = ()
    convergence: tuple[RunConvergence, ...] = ()
    others: tuple[OtherMeasure, ...] = ()
    as_it_stands: bool | None = None
    short_runs: tuple[ShortRun, ...] = ()

    @property
    def blocked(self) -> bool:
        """Whether runs that may still move keep it from deciding."""
        return any(c.blocks for c in self.convergence)

    @property
    def n(self) -> int:
        """Number of judged seeds."""
        return len(self.seeds)

    def result(self, statistic: str) -> CriterionResult:
        """The result of the criterion on ``statistic``."""
        for r in self.results:
            if r.criterion.statistic == statistic:
                return r
        names = [r.criterion.statistic for r in self.results]
        raise KeyError(f"{self.definition.key} has no statistic {statistic!r}; it has {names}.")

    def values(self, statistic: str) -> tuple[float, ...]:
        """The per-seed values of ``statistic``, aligned with :attr:`seeds`."""
        return self.result(statistic).values


def side(interval: Interval, criterion: Criterion) -> bool | None:
    """True when all of ``interval`` satisfies the criterion, False when none of it does,
    None when it straddles the threshold."""
    t, d = criterion.threshold, criterion.direction
    low, high = interval.low, interval.high
    holds = {">": low > t, ">=": low >= t, "<": high < t, "<=": high <= t}[d]
    fails = {">": high <= t, ">=": high < t, "<": low >= t, "<=": low > t}[d]
    return True if holds else False if fails else None


def all_of(outcomes: Iterable[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, True if all are True, else None."""
    outcomes = list(outcomes)
    if any(o is False for o in outcomes):
        return False
    return True if all(o is True for o in outcomes) else None


def any_of(outcomes: Iterable[bool | None]) -> bool | None:
    """Three-valued OR: True if any is True, False if all are False, else None."""
    outcomes = list(outcomes)
    if any(o is True for o in outcomes):
        return True
    return False if all(o is False for o in outcomes) else None


def _defined(values: Sequence[float]) -> list[float]:
    """The values that are not NaN (a seed on which the statistic is undefined has NaN)."""
    return [v for v in values if not math.isnan(v)]


def _resolution(criterion: Criterion, k: int | None) -> float:
    """The resolution of ``criterion``'s statistic: a share of k latents is known to one latent
    only, 1/k (no k given: 0, no correction, and the interval's method says so by naming none)."""
    return 1.0 / k if criterion.per_latent and k else 0.0


def _criterion_result(
    criterion: Criterion,
    per_seed: Sequence[Mapping[str, float]],
    min_seeds: int,
    k: int | None = None,
) -> CriterionResult:
    values = tuple(float(s.get(criterion.statistic, math.nan)) for s in per_seed)
    defined = _defined(values)
    if len(defined) < min_seeds:
        return CriterionResult(criterion, values, None, None)
    # one closed-form value may be infinite (C2 with no live latent: nothing to rise)
    if len(defined) == 1:
        interval = exact(defined[0])
    else:
        interval = mean_interval(defined, _resolution(criterion, k))
    if criterion.bounds is not None:
        interval = clipped(interval, criterion.bounds)
    return CriterionResult(criterion, values, interval, side(interval, criterion))


def _too_few(
    definition: Definition, judged: list[Seed], left_out: Mapping[Seed, str], too_short: bool
) -> str:
    """Why fewer seeds than the minimum were judged, most specific cause first."""
    if definition.min_seeds == 1:  # a closed-form computation: its own reason is the cause
        return "; ".join(left_out.values())
    listed = f" (seed {', '.join(map(str, judged))})" if judged else ""
    too_few = f"fewer than {definition.min_seeds} seeds judged: {len(judged)}{listed}"
    reason = "; ".join([too_few, *left_out_words(left_out)])
    return f"runs too short (< {definition.min_steps} steps); {reason}" if too_short else reason


def left_out_words(left_out: Mapping[Seed, str]) -> list[str]:
    """The seeds left out, grouped by why, e.g. ['seed 3, 4 left out: no completed run for
    σ²=30']."""
    by_why: dict[str, list[str]] = {}
    for seed, why in left_out.items():
        by_why.setdefault(why, []).append(str(seed))
    return [f"seed {', '.join(seeds)} left out: {why}" for why, seeds in by_why.items()]


#: the first clause of the reason a verdict with enough seeds cannot judge, by what its open
#: criteria lack: an interval off the threshold, a value on enough seeds, or some of each
UNDECIDED = {
    (True, False): "the interval straddles the threshold",
    (False, True): "a statistic without a value on enough seeds",
    (True, True): "criteria undecided",
}


def _undecided(results: Sequence[CriterionResult], n: int, min_seeds: int, k: int | None) -> str:
    """Why criteria on enough judged seeds leave the verdict open: each straddling interval with
    the seeds that would decide it at its mean and spread (:func:`seeds_to_decide`), each
    statistic defined on too few seeds."""
    parts = []
    for r in results:
        c = r.criterion
        if r.interval is None:
            defined = len(_defined(r.values))
            parts.append(f"{c.statistic} has a value on {defined} of {n} seeds (needs {min_seeds})")
            continue
        i = r.interval
        text = (
            f"{c.statistic} = {fmt_value(i.mean)} [{fmt_value(i.low)}, {fmt_value(i.high)}]"
            f" against {c.direction} {fmt_value(c.threshold)}"
        )
        if is_over_seeds(i.method):
            needed = seeds_to_decide(_defined(r.values), c.threshold, _resolution(c, k))
            text += (
                f" (about {needed} seeds would decide it if its mean and spread stayed)"
                if needed
                else f" (its mean is too near the threshold for {MOST_SEEDS} seeds to decide it)"
            )
        parts.append(text)
    cause = UNDECIDED[
        (any(r.interval is not None for r in results), any(r.interval is None for r in results))
    ]
    return "; ".join([cause, *parts])


def judge(
    definition: Definition,
    per_seed: SeedStatistics,
    too_short: Sequence[str] = (),
    by_setting: Mapping[str, Mapping[str, float]] | None = None,
    notes: Sequence[str] = (),
    k: int | None = None,
) -> ClaimNumbers:
    """The outcome of ``definition`` on per-seed statistics (each seed's statistics by name, or
    the reason it was left out); ``too_short``, ``by_setting`` and ``notes`` are passed
    through. ``k``: the runs' latent size, the resolution 1/k of a criterion that counts
    latents (``Criterion.per_latent``; None: such intervals get no correction)."""
    judged = {s: v for s, v in per_seed.items() if not isinstance(v, str)}
    left_out = {s: v for s, v in per_seed.items() if isinstance(v, str)}
    minimum = definition.min_seeds
    results = tuple(
        _criterion_result(c, list(judged.values()), minimum, k) for c in definition.criteria()
    )
    reason = ""
    if len(judged) < minimum:
        reason = _too_few(definition, list(judged), left_out, bool(too_short))
        holds = None
    else:
        by_criterion = {r.criterion: r.holds for r in results}
        met = {
            requirement: any_of(all_of(by_criterion[c] for c in way) for way in requirement.ways)
            for requirement in definition.requirements
        }
        holds = all_of(met.values())
        if holds is None:
            open_criteria = {c for r, m in met.items() if m is None for way in r.ways for c in way}
            undecided = [r for r in results if r.criterion in open_criteria and r.holds is None]
            reason = _undecided(undecided, len(judged), minimum, k)
    return ClaimNumbers(
        definition,
        tuple(judged),
        results,
        holds,
        reason,
        left_out,
        tuple(too_short),
        by_setting or {},
        tuple(notes),
    )


def with_convergence(numbers: ClaimNumbers, checks: Sequence[RunConvergence]) -> ClaimNumbers:
    """``numbers`` with the convergence ``checks`` of the runs it read (whether their movement
    could change the outcome is :func:`paper_figures.claims.deciding.decide`'s question)."""
    return dataclasses.replace(numbers, convergence=tuple(checks))


# ---------------------------------------------------------------- which seeds finished

_SETTING_NAMES = {"sigma2": "σ²"}


def _setting_label(columns: Sequence[str], values: Sequence[object]) -> str:
    """e.g. 'σ²=0.01' or 'likelihood=gaussian_fixed, σ²=1, kl_anneal_steps=1000'."""
    return ", ".join(
        f"{_SETTING_NAMES.get(c, c)}={fmt_value(v) if isinstance(v, float) else v}"
        for c, v in zip(columns, values, strict=True)
    )


@dataclass(frozen=True)
class Seeds:
    """Runs split by seed: the completed rows of each finished seed (``finished``), why each
    other seed is left out (``left_out``), and the runs too short to judge (``too_short``)."""

    finished: Mapping[Seed, pd.DataFrame]
    left_out: Mapping[Seed, str]
    too_short: tuple[str, ...]


def _normalised(values: Sequence[object]) -> tuple[object, ...]:
    """Settings as hashable, comparable values (numbers as floats rounded to 12 digits)."""
    out = []
    for v in values:
        number = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        out.append(float(np.round(number, 12)) if pd.notna(number) else v)
    return tuple(out)


def seed_label(seed: object) -> Seed:
    """An integer seed as int (tables hold them as floats), anything else as text."""
    try:
        number = float(seed)
    except (TypeError, ValueError):
        return str(seed)
    return int(number) if number.is_integer() else str(seed)


def finished_seeds(
    runs: pd.DataFrame,
    settings: Sequence[str],
    min_steps: int,
    expected: Iterable[Sequence[object]] = (),
) -> Seeds:
    """Split ``runs`` (rows with ``seed``, ``status``, ``step`` and the ``settings`` columns,
    e.g. ``sigma2``) by seed.

    The grid is every setting a row was configured with, and the ``expected`` ones (tuples of
    values of ``settings``); a seed is finished when each setting of the grid has a completed run
    of at least ``min_steps`` steps in it.
    """
    keys = [_normalised(v) for v in runs[list(settings)].itertuples(index=False)]
    runs = runs.reset_index(drop=True).assign(_setting=keys)
    wanted = {k for k in keys if all(pd.notna(x) for x in k)} | {_normalised(e) for e in expected}
    grid = sorted(wanted, key=str)
    steps = pd.to_numeric(runs["step"], errors="coerce")
    done = runs["status"].astype(str) == "completed"
    short = done & (steps.isna() | (steps < min_steps))
    too_short = tuple(
        f"{name} ({fmt_value(float(s)) if pd.notna(s) else 'no'} steps)"
        for name, s in zip(run_names(runs)[short], steps[short], strict=True)
    )
    finished, left_out = {}, {}
    for seed, rows in runs.groupby("seed", sort=True):
        seed = seed_label(seed)
        good = rows.loc[done[rows.index] & ~short[rows.index]]
        absent = [k for k in grid if k not in set(good["_setting"])]
        if not absent:
            finished[seed] = good.drop(columns="_setting")
            continue
        shorts = [k for k in absent if k in set(rows.loc[short[rows.index], "_setting"])]
        labels = [_setting_label(settings, k) for k in absent]
        why = "runs too short" if len(shorts) == len(absent) else "no completed run"
        left_out[seed] = f"{why} for {', '.join(labels)}"
    return Seeds(finished, left_out, too_short)
