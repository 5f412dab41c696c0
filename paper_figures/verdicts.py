"""One compute function per claim: runs or tables in, the numbers behind its verdict out.

Each ``compute_*`` applies a :class:`~paper_figures.claims.Definition` of the claims table: it
finds the seeds whose runs all finished, computes the definition's statistics for each seed and
returns :class:`~paper_figures.judging.ClaimNumbers` (per-seed values, intervals over seeds, the
outcome). A definition that trains checks every run it reads for convergence
(:mod:`paper_figures.convergence`); one unconverged run makes the verdict cannot judge. A
collapse verdict (C4-C6) is computed with its primary measure and, beside it, with each of its
other measures, saying whether they agree. :mod:`paper_figures.verdict_record` keeps the numbers
as data.

- C1, C2 (implementation checks) from the analytic sweep: one deterministic computation, no seeds.
- C3a, C3b from linear-VAE training curves (Figure 3: analytic vs stochastic ELBO; Figure 4:
  encoders).
- C4a, C4b from the fixed-σ² deep-VAE runs; C5 from fixed- and learned-σ² runs, where a learned
  σ² could reach its optimum; C6 from annealed runs and their curves; C7 from the
  ``sigma2_dynamics`` runs and their curves; C8 from the mitigation runs against the plain
  fixed-σ² runs (:mod:`paper_figures.verdict_c8`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from linear_vae import n_live
from lucas2019.run_schema import MI_CEILING_MARGIN_NATS
from paper_figures import verdict_c8
from paper_figures.claims import COLLAPSE_FRACTIONS, Definition
from paper_figures.common import (
    check_eigenvalues,
    learned_mask,
    metric_curve,
    plain_rows,
    require_columns,
)
from paper_figures.convergence import RunConvergence, check_runs, total_variance_per_dim
from paper_figures.judging import (
    ClaimNumbers,
    OtherMeasure,
    Seeds,
    finished_seeds,
    judge,
    seed_label,
    with_convergence,
)
from paper_figures.theme import fmt_value
from paper_figures.words import number, other_measure_note

#: the label of the one "seed" of a closed-form computation
CLOSED_FORM = "closed form"
#: each collapse measure's short name in the numbers per setting
MEASURE_LABELS = {
    "eps_delta": "(ε, δ)",
    "active_units": "AU",
    "integrated": "integrated",
    "mutual_information": "MI [nats]",
}


def collapse_of(runs: pd.DataFrame, measure: str) -> pd.Series:
    """Collapsed fraction in [0, 1] of each run under ``measure``: 'eps_delta' (column
    ``collapsed_fraction``), 'integrated' (``collapse_integrated``) or 'active_units'
    (1 − ``active_units`` / ``latent_dim``). Mutual information is not a fraction of the
    latents: ValueError."""
    if measure not in COLLAPSE_FRACTIONS:
        raise ValueError(
            f"{measure} is not a fraction of the latents (expected one of {COLLAPSE_FRACTIONS})"
        )
    if measure == "active_units":
        require_columns(runs, ["active_units", "latent_dim"], "runs", "collect_runs() rows")
        units = pd.to_numeric(runs["active_units"], errors="coerce")
        return 1.0 - units / pd.to_numeric(runs["latent_dim"], errors="coerce")
    column = {"eps_delta": "collapsed_fraction", "integrated": "collapse_integrated"}[measure]
    require_columns(runs, [column], "runs", "collect_runs() rows")
    return pd.to_numeric(runs[column], errors="coerce")


def collapse_score(runs: pd.DataFrame, measure: str) -> pd.Series:
    """A score that grows with collapse: :func:`collapse_of` for the fractions, −I(x; z) [nats]
    (column ``mutual_information``) for mutual information, which only ranks runs."""
    if measure == "mutual_information":
        require_columns(runs, ["mutual_information"], "runs", "collect_runs() rows")
        return -pd.to_numeric(runs["mutual_information"], errors="coerce")
    return collapse_of(runs, measure)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ; NaN when either side is constant or there are fewer than 3 points."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def _mean_by_setting(per_seed: Sequence[Mapping[str, Mapping[str, float]]]) -> dict:
    """Setting -> quantity -> mean over the seeds that have it."""
    out: dict[str, dict[str, float]] = {}
    for table in per_seed:
        for setting, quantities in table.items():
            for name, value in quantities.items():
                out.setdefault(setting, {}).setdefault(name, []).append(value)
    return {s: {n: float(np.mean(v)) for n, v in q.items()} for s, q in out.items()}


def _numbers(
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


def _finished_rows(seeds: Seeds, like: pd.DataFrame) -> pd.DataFrame:
    """Every row of the finished seeds (an empty frame like ``like`` when none finished)."""
    return pd.concat(seeds.finished.values()) if seeds.finished else like.iloc[:0]


def _total_variance(runs: pd.DataFrame, eigenvalues: Sequence[float] | None) -> float | None:
    """The data's total variance per dimension (Σ λ / d, d from the runs' ``data_dim``), or None
    when the eigenvalues or d are not known (the escape is then not checked)."""
    if eigenvalues is None or "data_dim" not in runs.columns:
        return None
    dims = pd.to_numeric(runs["data_dim"], errors="coerce").dropna()
    if dims.empty:
        return None
    return total_variance_per_dim(check_eigenvalues(eigenvalues), float(dims.median()))


def _checks(
    read: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    total_variance: float | None = None,
) -> dict[str, RunConvergence]:
    """The convergence of each run in ``read`` by run_dir (none when nothing is trained)."""
    if definition.convergence is None or read.empty:
        return {}
    return check_runs(
        read.drop_duplicates("run_dir"), curves, definition.convergence, total_variance
    )


def _escape(checks: Mapping[str, RunConvergence]) -> dict[str, float]:
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


def _with_others(
    compute: Callable[[Definition], ClaimNumbers], definition: Definition
) -> ClaimNumbers:
    """``compute(definition)`` with its other measures, and a note for each."""
    primary = compute(definition)
    others = tuple(_other_measures(compute, primary))
    notes = (*primary.notes, *map(other_measure_note, others))
    return dataclasses.replace(primary, notes=notes, others=others)


def _mi_ceiling_note(rows: pd.DataFrame, label: Callable[[pd.Series], str]) -> list[str]:
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


# ---------------------------------------------------------------- C1, C2: the analytic sweep


def compute_c1(sweep: pd.DataFrame, definition: Definition) -> ClaimNumbers:
    """C1 from an analytic sweep (``sigma2``, ``n_latent``, ``log_likelihood``, ``elbo``; nats
    per example): the largest |ELBO − log p| / max(1, |log p|) over k on the learned-σ² rows
    (all rows if there are none)."""
    require_columns(sweep, ["sigma2", "n_latent", "log_likelihood", "elbo"], "sweep", "sweep()")
    rows = sweep.loc[learned_mask(sweep)]
    rows = rows if len(rows) else sweep
    ll = pd.to_numeric(rows["log_likelihood"], errors="coerce").to_numpy(float)
    elbo = pd.to_numeric(rows["elbo"], errors="coerce").to_numpy(float)
    ok = np.isfinite(ll) & np.isfinite(elbo)
    if not ok.any():
        return judge(definition, {CLOSED_FORM: "no row with both a finite ELBO and log p"})
    gap = np.abs(elbo[ok] - ll[ok]) / np.maximum(1.0, np.abs(ll[ok]))
    worst = float(rows["n_latent"].to_numpy(float)[ok][int(np.argmax(gap))])
    setting = {f"{int(ok.sum())} values of k": {"worst k": worst}}
    return judge(definition, {CLOSED_FORM: {"max_relative_gap": float(gap.max())}}, (), setting)


def compute_c2(
    sweep: pd.DataFrame, eigenvalues: Sequence[float], definition: Definition
) -> ClaimNumbers:
    """C2 from the fixed-σ² rows of an analytic sweep (``sigma2``, ``n_latent``,
    ``log_likelihood``) and the data-covariance ``eigenvalues``: for each fixed σ² with
    k* = #{λ_i > σ²}, the increments of log p before k* and (relative) after it. A σ² whose grid
    of k ends before k* is reported, not judged."""
    require_columns(sweep, ["sigma2", "n_latent", "log_likelihood"], "sweep", "sweep()")
    lam = check_eigenvalues(eigenvalues)
    fixed = sweep.loc[~learned_mask(sweep)].assign(
        s2=lambda d: pd.to_numeric(d["sigma2"], errors="coerce")
    )
    before, after, settings = [], [], {}
    for s2, grp in fixed.dropna(subset=["s2"]).groupby("s2", sort=True):
        grp = grp.sort_values("n_latent")
        ks = grp["n_latent"].to_numpy(float)
        ll = pd.to_numeric(grp["log_likelihood"], errors="coerce").to_numpy(float)
        kstar = n_live(lam, s2)
        inc = np.diff(ll)
        settings[f"σ²={fmt_value(s2)}"] = {"k*": float(kstar)}
        late = inc[ks[:-1] >= kstar]
        if late.size == 0:
            continue  # the grid ends before the plateau
        early = inc[ks[:-1] < kstar]
        scale = max(1.0, float(np.nanmax(np.abs(ll))))
        before.append(float(early.min()) if early.size else math.inf)
        after.append(float(np.abs(late).max()) / scale)
        settings[f"σ²={fmt_value(s2)}"].update(
            {"min increment before": before[-1], "max relative increment after": after[-1]}
        )
    if not after:
        why = "no fixed-σ² row whose grid of k reaches k*" if settings else "no fixed-σ² rows"
        return judge(definition, {CLOSED_FORM: why}, (), settings)
    stats = {"min_increment_before": min(before), "max_increment_after": max(after)}
    return judge(definition, {CLOSED_FORM: stats}, (), settings)


# ---------------------------------------------------------------- C3a, C3b: training curves


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


def _per_run(
    curves: pd.DataFrame,
    group: str,
    mle: float,
    tail_fraction: float | None = None,
    tolerance: float | None = None,
) -> pd.DataFrame:
    """One row per run of a training-curve table: ``run_dir``, ``run_name`` ('<group value>,
    seed <seed>'), ``group``, ``seed``, ``status``, ``step`` (the last logged), ``max_drop``
    (largest fall of the ELBO between consecutive evaluations, ≥ 0), ``final_test`` (last
    held-out ELBO, NaN if none) [nats per example], ``beyond`` (one evaluation after the last);
    with ``tail_fraction``, ``final`` (median ELBO over that last share of the logged steps), with
    ``tolerance``, ``steps_to`` (:func:`steps_to_tolerance`), else NaN."""
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
                "run_name": f"{first[group]}, seed {seed_label(first['seed'])}",
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


def compute_c3a(curves: pd.DataFrame, mle: float, definition: Definition) -> ClaimNumbers:
    """C3a on Figure 3 from linear-VAE training curves (``run_dir``, ``seed``, ``objective`` ∈
    {analytic, stochastic}, ``step`` and ``elbo``, long or wide) and the pPCA MLE [nats per
    example]: per seed, the larger |final ELBO − MLE| of the two objectives and the largest fall
    of the ELBO between two evaluations [nats per example]; the held-out ELBO is reported."""
    runs = _per_run(curves, "objective", mle, tail_fraction=definition.parameter("tail_fraction"))
    seeds = finished_seeds(runs, ["objective"], definition.min_steps, _FIG3_OBJECTIVES)
    per_seed, settings = {}, []
    for seed, rows in seeds.finished.items():
        by = rows.groupby("objective")[["final", "max_drop", "final_test"]].mean()
        gaps = by["final"] - float(mle)
        per_seed[seed] = {
            "max_gap": float(np.abs(gaps).max()),
            "max_drop": float(by["max_drop"].max()),
        }
        settings.append(
            {
                o: {
                    "final ELBO − MLE": gaps[o],
                    "largest drop": by.loc[o, "max_drop"],
                    "held-out ELBO": by.loc[o, "final_test"],
                }
                for o in by.index
            }
        )
    numbers = _numbers(definition, per_seed, seeds, settings)
    checks = _checks(_finished_rows(seeds, runs), curves, definition)
    return with_convergence(numbers, list(checks.values()))


def compute_c3b(
    curves: pd.DataFrame,
    mle: float,
    definition: Definition,
    noise: Mapping[str, Mapping[str, float]] | None = None,
) -> ClaimNumbers:
    """C3b on Figure 3 from the same curves and MLE as :func:`compute_c3a`: per seed, the
    stochastic minus the analytic objective's steps to the tolerance (:func:`steps_to_tolerance`).
    A run that never stays within it counts as arriving one evaluation after its end: the
    difference is then a bound in the direction that run's slowness points (a seed where neither
    arrives is left out). ``noise`` (objective -> named spreads of the objective and its
    gradient over fresh draws at fixed parameters) is reported beside the verdict, not judged."""
    tolerance = definition.parameter("tolerance")
    runs = _per_run(curves, "objective", mle, tolerance=tolerance)
    seeds = finished_seeds(runs, ["objective"], definition.min_steps, _FIG3_OBJECTIVES)
    per_seed, settings, never = {}, [], {}
    for seed, rows in seeds.finished.items():
        steps = rows.groupby("objective")[["steps_to", "beyond"]].max()
        reached = steps["steps_to"]
        settings.append({o: {"steps to the tolerance": reached[o]} for o in reached.index})
        late = [o for o in reached.index if not math.isfinite(reached[o])]
        for objective in late:
            never.setdefault(objective, []).append(str(seed))
        if len(late) == len(reached):
            per_seed[seed] = f"neither run stays within {tolerance:g} nats of the MLE"
            continue
        bound = reached.where(np.isfinite(reached), steps["beyond"])
        per_seed[seed] = {"step_difference": float(bound["stochastic"] - bound["analytic"])}
    notes = [
        f"the {objective} run never stays within {tolerance:g} nats of the MLE (seed "
        f"{', '.join(seeds_)}): counted as arriving one evaluation after its end"
        for objective, seeds_ in never.items()
    ]
    notes += [
        f"{objective} objective's noise at fixed parameters (reported, not judged): "
        + ", ".join(f"{name} {number(v)}" for name, v in spreads.items())
        for objective, spreads in (noise or {}).items()
    ]
    numbers = _numbers(definition, per_seed, seeds, settings, notes)
    checks = _checks(_finished_rows(seeds, runs), curves, definition)
    return with_convergence(numbers, list(checks.values()))


def compute_c3_encoders(
    curves: pd.DataFrame, mle: float, expected: Sequence[str], definition: Definition
) -> ClaimNumbers:
    """C3a on Figure 4 from linear-decoder training curves with an ``encoder`` column (else as
    :func:`compute_c3a`) and the pPCA MLE: per seed, the largest (final ELBO − MLE) and the
    largest (MLE − final ELBO) over the ``expected`` encoders, relative to max(1, |MLE|)."""
    runs = _per_run(curves, "encoder", mle, tail_fraction=definition.parameter("tail_fraction"))
    grid = [(e,) for e in expected]
    seeds = finished_seeds(runs, ["encoder"], definition.min_steps, grid)
    scale = max(1.0, abs(float(mle)))
    per_seed, settings = {}, []
    for seed, rows in seeds.finished.items():
        by = rows.groupby("encoder")[["final", "final_test"]].mean()
        diffs = by["final"] - float(mle)
        per_seed[seed] = {
            "max_excess": float(diffs.max()) / scale,
            "max_shortfall": float(-diffs.min()) / scale,
        }
        settings.append(
            {
                e: {"final ELBO − MLE": d, "held-out ELBO": by.loc[e, "final_test"]}
                for e, d in diffs.items()
            }
        )
    numbers = _numbers(definition, per_seed, seeds, settings)
    checks = _checks(_finished_rows(seeds, runs), curves, definition)
    return with_convergence(numbers, list(checks.values()))


# ---------------------------------------------------------------- C4a, C4b: fixed-σ² runs


def _by_sigma2(rows: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Mean of ``values`` (aligned with ``rows``) per σ², sorted ascending, NaNs dropped."""
    table = pd.DataFrame({"sigma2": pd.to_numeric(rows["sigma2"], errors="coerce"), "v": values})
    return table.dropna().groupby("sigma2")["v"].mean().sort_index()


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column of ``rows``, NaN where absent."""
    if name not in rows.columns:
        return pd.Series(math.nan, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce")


def _measures_by_sigma2(
    rows: pd.DataFrame, escape: Mapping[str, float], live: bool = False
) -> dict[str, dict[str, float]]:
    """One seed's numbers per σ²: each collapse measure on the training set (collapsed
    fractions, or with ``live`` live latents k·(1 − fraction)), MI [nats], the held-out
    (ε, δ) collapse and MI, the ELBO on both sets and the escape step from the collapsed start."""
    k = _column(rows, "latent_dim")
    shown = {}
    for measure in COLLAPSE_FRACTIONS:
        try:
            fraction = collapse_of(rows, measure)
        except ValueError:  # a column this table lacks
            continue
        label = MEASURE_LABELS[measure]
        shown[f"live {label}" if live else label] = k * (1 - fraction) if live else fraction
    held_out = _column(rows, "collapsed_fraction_test")
    shown.update(
        {
            MEASURE_LABELS["mutual_information"]: _column(rows, "mutual_information"),
            "(ε, δ) held-out": k * (1 - held_out) if live else held_out,
            "MI held-out": _column(rows, "mutual_information_test"),
            "ELBO": _column(rows, "elbo"),
            "ELBO held-out": _column(rows, "elbo_test"),
            "escape (step)": rows["run_dir"].map(escape).astype(float),
        }
    )
    table = {name: _by_sigma2(rows, values) for name, values in shown.items()}
    return {
        f"σ²={fmt_value(s)}": {n: float(v[s]) for n, v in table.items() if s in v.index}
        for s in sorted(pd.to_numeric(rows["sigma2"], errors="coerce").dropna().unique())
    }


def _fixed_sigma2_runs(runs: pd.DataFrame, definition: Definition) -> tuple[pd.DataFrame, Seeds]:
    """The fixed-σ² runs without annealing and their seeds."""
    rows = plain_rows(runs, "fixed")
    require_columns(
        rows,
        ["run_dir", "sigma2", "seed", "status", "step", "latent_dim"],
        "runs",
        "collect_runs()",
    )
    return rows, finished_seeds(rows, ["sigma2"], definition.min_steps)


def _c4a_statistics(score: pd.Series, fractions: bool) -> dict[str, float]:
    """C4a's statistics of one seed from its collapse score by ascending σ²; the drop and rise
    only for a collapsed fraction (a score in nats has no such threshold)."""
    x, y = np.log(score.index.to_numpy(float)), score.to_numpy(float)
    statistics = {"spearman_sigma2": _spearman(x, y)}
    if fractions:
        statistics["largest_drop"] = max(0.0, float(-np.diff(y).min()))
        statistics["overall_rise"] = float(y[-1] - y[0])
    return statistics


def compute_c4a(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    eigenvalues: Sequence[float] | None,
    definition: Definition,
) -> ClaimNumbers:
    """C4a from deep-VAE runs with fixed σ² (collect_runs rows: ``run_dir``, ``sigma2``,
    ``seed``, ``status``, ``step``, ``latent_dim`` + the measures' columns; learned-σ² and
    annealed rows are ignored), their training curves, and the data-covariance ``eigenvalues``
    (for the escape from the collapsed start; None: not checked): per seed, how collapse rises
    with σ² over the grid, under the primary measure and each other one."""
    rows, seeds = _fixed_sigma2_runs(runs, definition)
    read = _finished_rows(seeds, rows)
    checks = _checks(read, curves, definition, _total_variance(read, eigenvalues))
    escape = _escape(checks)

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            score = _by_sigma2(done, collapse_score(done, d.measure))
            if len(score) < 3:
                per_seed[seed] = f"only {len(score)} σ² values with a result (need ≥ 3)"
                continue
            per_seed[seed] = _c4a_statistics(score, d.measure in COLLAPSE_FRACTIONS)
            settings.append(_measures_by_sigma2(done, escape))
        notes = _mi_ceiling_note(read, lambda r: f"σ²={fmt_value(float(r['sigma2']))}")
        return _numbers(d, per_seed, seeds, settings, notes)

    return with_convergence(_with_others(compute, definition), list(checks.values()))


def _level_notes(
    by_setting: Mapping[str, Mapping[str, float]], measured: str, k: float
) -> list[str]:
    """Where the measured live latents (quantity ``measured``, mean over seeds) fall short of
    the prediction and where they exceed it, by at least one latent, with the largest
    difference each way."""
    diffs = {s: q[measured] - q["predicted live"] for s, q in by_setting.items()}
    notes = []
    for word, sign in (("fewer", -1), ("more", 1)):
        where = {s: sign * d for s, d in diffs.items() if sign * d >= 1}
        if where:
            worst = max(where, key=where.get)
            notes.append(
                f"the deep VAE keeps {word} live latents than predicted at "
                f"{', '.join(where)} (by up to {number(where[worst])} of k = {k:g}, at {worst})"
            )
    return notes or ["the deep VAE keeps the predicted number of live latents at every σ²"]


def compute_c4b(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    eigenvalues: Sequence[float],
    definition: Definition,
) -> ClaimNumbers:
    """C4b from the same runs and curves as :func:`compute_c4a` and the data-covariance
    ``eigenvalues``: per seed, the mean over the σ² grid of |predicted − measured live latents|
    / k with predicted = min(k, #{λ_i > σ²}) and measured = k · (1 − collapsed fraction). Where
    the measured level falls short of or exceeds the prediction is reported with the numbers."""
    rows, seeds = _fixed_sigma2_runs(runs, definition)
    lam = check_eigenvalues(eigenvalues)
    read = _finished_rows(seeds, rows)
    checks = _checks(read, curves, definition, _total_variance(read, lam))
    escape = _escape(checks)

    def compute(d: Definition) -> ClaimNumbers:
        if d.measure not in COLLAPSE_FRACTIONS:
            raise ValueError("not a count of latents, so it has no level to compare")
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            k = float(pd.to_numeric(done["latent_dim"], errors="coerce").median())
            measured = _by_sigma2(done, k * (1 - collapse_of(done, d.measure)))
            if measured.empty:
                per_seed[seed] = "no σ² value with a result"
                continue
            predicted = np.array([n_live(lam, s, int(k)) for s in measured.index], dtype=float)
            error = np.abs(predicted - measured.to_numpy(float)) / k
            per_seed[seed] = {"mean_level_error": float(error.mean())}
            table = _measures_by_sigma2(done, escape, live=True)
            for s, p in zip(measured.index, predicted, strict=True):
                table[f"σ²={fmt_value(s)}"] = {"predicted live": p, **table[f"σ²={fmt_value(s)}"]}
            settings.append(table)
        numbers = _numbers(d, per_seed, seeds, settings)
        if not numbers.by_setting:
            return numbers
        k = float(pd.to_numeric(read["latent_dim"], errors="coerce").median())
        notes = _level_notes(numbers.by_setting, f"live {MEASURE_LABELS[d.measure]}", k)
        notes += _mi_ceiling_note(read, lambda r: f"σ²={fmt_value(float(r['sigma2']))}")
        return dataclasses.replace(numbers, notes=tuple(notes))

    return with_convergence(_with_others(compute, definition), list(checks.values()))


# ---------------------------------------------------------------- C5: fixed vs learned σ²


def _with_sigma2_mode(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with a ``sigma2_mode`` column (from ``likelihood`` when absent)."""
    if "sigma2_mode" in runs.columns:
        return runs
    if "likelihood" not in runs.columns:
        raise ValueError(
            "runs needs a sigma2_mode or likelihood column to tell fixed from learned σ²; "
            "pass the table of lucas2019.results.collect_runs()."
        )
    return runs.assign(sigma2_mode=runs["likelihood"].astype(str).str.removeprefix("gaussian_"))


def sigma2_reach(runs: pd.DataFrame, reach_share: float) -> pd.DataFrame:
    """Whether each run's σ² could reach its optimum: columns ``needed`` (|log σ²_init −
    log σ²_optimal| with the run's final closed-form ``sigma2_optimal``), ``budget`` (σ²'s
    learning rate (``sigma2_lr``, else ``lr``) × ``step`` × ``reach_share``: the farthest Adam
    can move log σ² in that share of training, at about its learning rate per step), ``steps``
    (the training length that would allow ``needed``) and ``reachable``. σ² that is not learned
    by Adam is always reachable (fixed: it does not move; closed form, SGD: no such bound)."""
    require_columns(
        runs,
        ["sigma2", "sigma2_mode", "sigma2_optimal", "lr", "step"],
        "runs",
        "collect_runs() rows",
    )
    optim = runs["sigma2_optim"] if "sigma2_optim" in runs.columns else "adam"
    bounded = (runs["sigma2_mode"].astype(str) == "learned") & (
        pd.Series(optim, index=runs.index).fillna("adam").astype(str) == "adam"
    )
    lr = _column(runs, "sigma2_lr").fillna(_column(runs, "lr"))
    needed = np.abs(np.log(_column(runs, "sigma2")) - np.log(_column(runs, "sigma2_optimal")))
    per_step = lr * reach_share
    budget = per_step * _column(runs, "step")
    reachable = ~bounded | (needed <= budget)
    steps = (needed / per_step).where(bounded, 0.0)
    return pd.DataFrame(
        {"needed": needed, "budget": budget, "steps": steps, "reachable": reachable},
        index=runs.index,
    )


def _unreachable_note(rows: pd.DataFrame, reach: pd.DataFrame) -> list[str]:
    """The initial σ² from which a learned σ² could not reach its optimum, with the length that
    would have allowed it (the most over the seeds)."""
    out = reach.loc[~reach["reachable"]].join(rows[["sigma2"]])
    if out.empty:
        return []
    by = out.groupby("sigma2").agg(
        needed=("needed", "max"), budget=("budget", "min"), steps=("steps", "max")
    )
    parts = [
        f"σ²={fmt_value(s)} (log σ² must move {r.needed:.3g}, Adam can {r.budget:.3g}; needs ≥ "
        f"{math.ceil(r.steps)} steps)"
        for s, r in by.sort_index().iterrows()
    ]
    return [
        "cannot judge from initial " + "; ".join(parts) + ": there σ² could not reach its "
        "optimum; judged on the other initial values (or use a fast σ² rule)"
    ]


def compute_c5(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C5 from deep-VAE runs with fixed and with learned σ², no annealing (collect_runs rows:
    ``run_dir``, ``sigma2`` (fixed or initial value), ``sigma2_mode`` or ``likelihood``,
    ``seed``, ``status``, ``step``, ``lr``, ``sigma2_lr``, ``sigma2_optimal`` + the measures'
    columns), their training curves and the data-covariance ``eigenvalues`` (escape; None: not
    checked). A learned-σ² run is judged only when σ² could reach its optimum
    (:func:`sigma2_reach`); per seed, over the σ² values run both ways and judged: the reduction
    of the mean collapse, and the collapse left from the largest initial σ²."""
    runs = _with_sigma2_mode(runs)
    rows = pd.concat([plain_rows(runs, "fixed"), plain_rows(runs, "learned")], ignore_index=True)
    require_columns(rows, ["run_dir", "sigma2", "seed", "status", "step"], "runs", "collect_runs()")
    seeds = finished_seeds(rows, ["sigma2_mode", "sigma2"], definition.min_steps)
    finished = _finished_rows(seeds, rows)
    reach = sigma2_reach(finished, definition.parameter("reach_share"))
    # an initial σ² that one seed's σ² could not leave is judged for no seed, fixed runs included
    sigma2 = np.round(finished["sigma2"].astype(float), 12)
    judged = finished.loc[~sigma2.isin(set(sigma2[~reach["reachable"]]))]

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings = {}, []
        for seed, frame in seeds.finished.items():
            done = judged.loc[judged.index.intersection(frame.index)]
            fixed, learned = (
                _by_sigma2(r, collapse_of(r, d.measure))
                for r in (done.loc[done["sigma2_mode"] == m] for m in ("fixed", "learned"))
            )
            common = fixed.index.intersection(learned.index)
            if common.empty:
                per_seed[seed] = "no σ² value has a fixed and a judged learned run"
                continue
            mean_fixed = float(fixed[common].mean())
            if mean_fixed <= 0:
                per_seed[seed] = "the fixed-σ² runs show no collapse to remove"
                continue
            per_seed[seed] = {
                "reduction": 1.0 - float(learned[common].mean()) / mean_fixed,
                "left_at_largest": float(learned[common].iloc[-1]),
            }
            settings.append(_c5_settings(done, common))
        notes = _unreachable_note(finished, reach) + _mi_ceiling_note(
            judged, lambda r: f"{r['sigma2_mode']} σ²={fmt_value(float(r['sigma2']))}"
        )
        return _numbers(d, per_seed, seeds, settings, notes)

    checks = _checks(judged, curves, definition, _total_variance(judged, eigenvalues))
    return with_convergence(_with_others(compute, definition), list(checks.values()))


def _c5_settings(done: pd.DataFrame, common: pd.Index) -> dict[str, dict[str, float]]:
    """One seed's numbers per judged σ²: fixed and learned (ε, δ) collapse on both sets, the
    learned run's MI, ELBO on both sets, final σ² and closed-form optimal σ²."""
    out = {}
    for s in common:
        at = done.loc[np.isclose(done["sigma2"].astype(float), s)]
        fixed, learned = (at.loc[at["sigma2_mode"] == m] for m in ("fixed", "learned"))
        mean = lambda r, c: float(_column(r, c).mean())  # noqa: E731
        out[f"σ²={fmt_value(s)}"] = {
            "fixed": mean(fixed, "collapsed_fraction"),
            "learned": mean(learned, "collapsed_fraction"),
            "fixed held-out": mean(fixed, "collapsed_fraction_test"),
            "learned held-out": mean(learned, "collapsed_fraction_test"),
            "learned MI [nats]": mean(learned, "mutual_information"),
            "learned ELBO": mean(learned, "elbo"),
            "learned ELBO held-out": mean(learned, "elbo_test"),
            "final σ²": mean(learned, "sigma2_final"),
            "optimal σ²": mean(learned, "sigma2_optimal"),
        }
    return out


# ---------------------------------------------------------------- C6: KL annealing

#: the metrics.csv column that logs each fraction measure at every evaluation
_CURVE_METRICS = {"eps_delta": "collapsed_fraction", "active_units": "active_units"}


def _collapse_at(curve: pd.DataFrame, measure: str, k: float, step: float) -> tuple[float, float]:
    """(last logged step ≤ ``step``, collapsed fraction there under ``measure``) from a run's
    curves; NaNs if none. Only the measures metrics.csv logs per evaluation can be read."""
    if measure not in _CURVE_METRICS:
        raise ValueError(f"{measure} is not logged at every evaluation as a collapsed fraction")
    values = metric_curve(curve, _CURVE_METRICS[measure])
    values = values.loc[values["step"] <= step]
    if values.empty:
        return math.nan, math.nan
    last = float(values["value"].iloc[-1])
    return float(values["step"].iloc[-1]), last if measure == "eps_delta" else 1.0 - last / k


def _annealing_pairs(
    done: pd.DataFrame, curves: pd.DataFrame, definition: Definition
) -> dict[str, dict[str, float]]:
    """For one seed: each annealed run that trained past its annealing against the run without
    annealing at the same σ² (and likelihood): collapse at the end of annealing, at the end,
    without annealing, and the annealed run's held-out collapse."""
    final = collapse_of(done, definition.measure)
    annealed = pd.to_numeric(done["kl_anneal_steps"], errors="coerce").fillna(0) > 0
    pairs = {}
    for idx, run in done.loc[annealed].iterrows():
        partner = _partners(done, run)
        setting = f"{run['likelihood']}, " if "likelihood" in done.columns else ""
        label = f"{setting}σ²={fmt_value(float(run['sigma2']))}"
        step, during = _collapse_at(
            curves.loc[curves["run_dir"] == run["run_dir"]],
            definition.measure,
            float(run["latent_dim"]),
            float(run["kl_anneal_steps"]),
        )
        ends_after = float(run["step"]) > float(run["kl_anneal_steps"])
        if partner.empty or not ends_after or math.isnan(during):
            continue  # nothing to compare, or no collapse logged after annealing
        pairs[label] = {
            "end of annealing (step)": step,
            "at end of annealing": during,
            "final": float(final.loc[idx]),
            "without annealing": float(final.loc[partner.index].mean()),
            "final (ε, δ) held-out": float(
                _column(done.loc[[idx]], "collapsed_fraction_test").iloc[0]
            ),
        }
    return pairs


def _partners(done: pd.DataFrame, run: pd.Series) -> pd.DataFrame:
    """The runs of ``done`` without annealing at the σ² (and likelihood) of ``run``."""
    annealed = pd.to_numeric(done["kl_anneal_steps"], errors="coerce").fillna(0) > 0
    base = done.loc[~annealed]
    partner = base.loc[np.isclose(pd.to_numeric(base["sigma2"]), float(run["sigma2"]))]
    if "likelihood" in done.columns:
        partner = partner.loc[partner["likelihood"] == run["likelihood"]]
    return partner


def _paired_rows(read: pd.DataFrame) -> pd.DataFrame:
    """The annealed runs of ``read`` that have a partner without annealing (same seed), and
    those partners: the runs C6 compares."""
    annealed = pd.to_numeric(read["kl_anneal_steps"], errors="coerce").fillna(0) > 0
    keep = set()
    for _, done in read.groupby("seed", sort=False):
        for idx, run in done.loc[annealed[done.index]].iterrows():
            partner = _partners(done, run)
            if not partner.empty:
                keep |= {idx, *partner.index}
    return read.loc[sorted(keep)]


def compute_c6(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C6 from runs with and without KL annealing (collect_runs rows: ``run_dir``, ``sigma2``,
    ``kl_anneal_steps``, ``latent_dim``, ``seed``, ``status``, ``step`` + measure columns),
    their training curves (``run_dir``, ``step``, ``metric``, ``value``) and the eigenvalues
    (escape; None: not checked).

    Per seed, each annealed run is paired with the run without annealing at the same σ² and
    likelihood; a pair is judged where collapse at the end of annealing is more than
    ``lowered_by`` below the partner's final collapse. Statistics over the judged pairs: the
    smallest rebound (final − end of annealing) and the largest |final − without annealing|.
    """
    require_columns(
        runs, ["run_dir", "sigma2", "kl_anneal_steps", "seed"], "runs", "collect_runs()"
    )
    settings_cols = [c for c in ("likelihood", "sigma2", "kl_anneal_steps") if c in runs.columns]
    seeds = finished_seeds(runs, settings_cols, definition.min_steps)
    lowered_by = definition.parameter("lowered_by")
    read = _paired_rows(_finished_rows(seeds, runs))

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            pairs = _annealing_pairs(done, curves, d)
            judged = {
                s: p
                for s, p in pairs.items()
                if p["at end of annealing"] < p["without annealing"] - lowered_by
            }
            for label, pair in pairs.items():
                pair["judged"] = float(label in judged)
            settings.append(pairs)
            if not judged:
                per_seed[seed] = f"annealing lowered collapse by more than {lowered_by:g} nowhere"
                continue
            per_seed[seed] = {
                "min_rebound": min(p["final"] - p["at end of annealing"] for p in judged.values()),
                "max_final_gap": max(
                    abs(p["final"] - p["without annealing"]) for p in judged.values()
                ),
            }
        notes = _mi_ceiling_note(read, lambda r: f"σ²={fmt_value(float(r['sigma2']))}")
        return _numbers(d, per_seed, seeds, settings, notes)

    checks = _checks(read, curves, definition, _total_variance(read, eigenvalues))
    return with_convergence(_with_others(compute, definition), list(checks.values()))


# ---------------------------------------------------------------- C7: σ² rules (beyond the paper)


def _reaches_optimum_by(curve: pd.DataFrame, reach: float) -> float:
    """First logged step where σ² is within a factor ``reach`` of its closed-form optimum
    (metrics ``sigma2`` vs ``sigma2_optimal``), inf if never."""
    s2 = metric_curve(curve, "sigma2").set_index("step")["value"]
    opt = metric_curve(curve, "sigma2_optimal").set_index("step")["value"]
    ratio = (s2 / opt).dropna()
    close = ratio.index[(ratio <= reach) & (ratio >= 1.0 / reach)]
    return float(close.min()) if len(close) else math.inf


def _units_at(curve: pd.DataFrame, step: float) -> float:
    """Active units at the last logged step ≤ ``step`` (NaN if none)."""
    units = metric_curve(curve, "active_units")
    units = units.loc[units["step"] <= step]
    return float(units["value"].iloc[-1]) if len(units) else math.nan


def _rule_kind(
    rows: pd.DataFrame, curves: pd.DataFrame, definition: Definition
) -> tuple[str, float]:
    """How a σ² rule's runs (every finished seed) serve C7: ('fast' | 'slow', the share of
    training its slowest run needed to bring σ² near its optimum), or a reason it is only
    reported: 'one initial σ²', 'switches', 'reference' (ends identical whatever the start)."""
    if pd.to_numeric(rows["sigma2"], errors="coerce").nunique() < 2:
        return "one initial σ²", math.nan
    switch = pd.to_numeric(rows.get("sigma2_switch_step", pd.Series(dtype=float)), errors="coerce")
    if switch.notna().any():
        return "switches", math.nan
    spread = rows.groupby("seed")["elbo"].agg(lambda e: np.ptp(pd.to_numeric(e).to_numpy(float)))
    if (spread == 0).all():
        return "reference", math.nan
    reach = definition.parameter("reach")
    by = max(
        _reaches_optimum_by(curves.loc[curves["run_dir"] == r], reach) / float(n)
        for r, n in rows[["run_dir", "step"]].itertuples(index=False)
    )
    return ("fast" if by <= definition.parameter("early") else "slow"), by


def _rule_numbers(rows: pd.DataFrame, curves: pd.DataFrame) -> dict[str, float]:
    """One seed's runs of a rule: ELBO gap and active units from its largest and smallest
    initial σ², and for a switching rule the active units at the switch."""
    init = pd.to_numeric(rows["sigma2"], errors="coerce")
    big, small = rows.loc[init.idxmax()], rows.loc[init.idxmin()]
    numbers = {
        "ELBO gap": float(small["elbo"]) - float(big["elbo"]),
        "AU from largest σ²": float(big["active_units"]),
        "AU from smallest σ²": float(small["active_units"]),
    }
    switch = pd.to_numeric(pd.Series([big.get("sigma2_switch_step")]), errors="coerce").iloc[0]
    if pd.notna(switch):
        curve = curves.loc[curves["run_dir"] == big["run_dir"]]
        numbers["AU from largest σ² at the switch"] = _units_at(curve, float(switch))
    return numbers


def compute_c7(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C7 from the ``sigma2_dynamics`` runs (collect_runs rows: ``run_dir``, ``sigma2`` (initial
    σ²), ``sigma2_rule``, ``sigma2_switch_step``, ``seed``, ``status``, ``step``,
    ``active_units``, ``elbo`` [nats per example]), their curves (``sigma2``,
    ``sigma2_optimal``, ``active_units``) and the eigenvalues (escape; None: not checked).

    A rule is fast or slow by how soon σ² nears its optimum (:func:`_rule_kind`). Per seed, the
    statistic is the smallest share of the slow rules' largest ELBO gap that a fast rule keeps.
    Convergence is checked on the fast rules' runs: the slow rule's unsettled σ² is the question.
    """
    need = ["run_dir", "sigma2", "sigma2_rule", "seed", "status", "step", "active_units", "elbo"]
    require_columns(runs, need, "runs", "collect_runs() rows")
    seeds = finished_seeds(runs, ["sigma2_rule", "sigma2"], definition.min_steps)
    finished = _finished_rows(seeds, runs)
    kinds = {
        rule: _rule_kind(rows, curves, definition)
        for rule, rows in finished.groupby("sigma2_rule", sort=True)
    }
    per_seed, settings = {}, []
    for seed, done in seeds.finished.items():
        numbers = {
            rule: _rule_numbers(rows, curves)
            for rule, rows in done.groupby("sigma2_rule", sort=True)
            if kinds[rule][0] != "one initial σ²"
        }
        for rule, n in numbers.items():
            if kinds[rule][0] in ("fast", "slow"):
                n["σ² near its optimum by (share of training)"] = kinds[rule][1]
        settings.append({f"{rule} ({kinds[rule][0]})": n for rule, n in numbers.items()})
        gaps = {r: n["ELBO gap"] for r, n in numbers.items()}
        slow = [g for r, g in gaps.items() if kinds[r][0] == "slow"]
        fast = [g for r, g in gaps.items() if kinds[r][0] == "fast"]
        if not slow or not fast:
            per_seed[seed] = "needs a slow and a fast σ² rule"
        elif max(slow) <= 0:
            per_seed[seed] = "the slow rule shows no ELBO gap to explain"
        else:
            per_seed[seed] = {"share_left": min(fast) / max(slow)}
    fast_runs = finished.loc[finished["sigma2_rule"].map(lambda r: kinds[r][0] == "fast")]
    numbers = _numbers(definition, per_seed, seeds, settings)
    checks = _checks(fast_runs, curves, definition, _total_variance(fast_runs, eigenvalues))
    return with_convergence(numbers, list(checks.values()))


# ---------------------------------------------------------------- C8: collapse mitigations


def compute_c8(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C8 from the ``mitigations`` runs together with the plain fixed-σ² runs of
    ``fig5_fixed_sigma`` (collect_runs rows: ``run_dir``, ``mitigation``, ``free_bits_variant``,
    ``sigma2``, ``seed``, ``status``, ``step``, ``latent_dim``, ``log_px_test`` [nats per
    example] + the measures' columns; learned-σ² and annealed rows are ignored), their curves and
    the eigenvalues (escape; None: not checked).

    A seed is judged when each mitigation × σ² and each plain σ² has a completed run. Per seed,
    live latents L = k · (1 − collapsed fraction) on the training set, P = held-out log p(x); the
    statistic is the largest P − F(L) over its mitigation runs, F the seed's plain frontier
    (:func:`paper_figures.verdict_c8.frontier`). Reported beside it: each mitigation's best
    advantage and its run, and each mitigation setting's effective σ².
    """
    need = ["run_dir", "sigma2", "seed", "status", "step", "latent_dim", "log_px_test"]
    require_columns(runs, need, "runs", "collect_runs() rows of mitigations and fig5_fixed_sigma")
    rows = runs.reset_index(drop=True).assign(method=verdict_c8.method_of(runs).to_numpy())
    rows = rows.loc[rows["method"].notna() & (rows["method"] != verdict_c8.LEARNED)]
    seeds = finished_seeds(rows, ["method", "sigma2"], definition.min_steps)
    read = _finished_rows(seeds, rows)
    checks = _checks(read, curves, definition, _total_variance(read, eigenvalues))

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings, scored = {}, [], []
        for seed, done in seeds.finished.items():
            per_seed[seed] = _c8_seed(done.assign(seed=seed), d, scored)
        for one in scored:
            mitigated = one.loc[one["method"] != verdict_c8.PLAIN]
            label = f"live {MEASURE_LABELS[verdict_c8.live_measure(d.measure)]}"
            settings.append(verdict_c8.settings(mitigated, label))
        judged = pd.concat(scored) if scored else read.iloc[:0].assign(live=[], advantage=[])
        mitigated = judged.loc[judged["method"] != verdict_c8.PLAIN]
        notes = [
            *verdict_c8.best_advantage_note(mitigated),
            *verdict_c8.effective_note(verdict_c8.effective(judged)),
            *_mi_ceiling_note(
                mitigated, lambda r: verdict_c8.setting_label(r["method"], float(r["sigma2"]))
            ),
        ]
        return _numbers(d, per_seed, seeds, settings, notes)

    return with_convergence(_with_others(compute, definition), list(checks.values()))


def _c8_seed(
    done: pd.DataFrame, definition: Definition, scored: list[pd.DataFrame]
) -> dict[str, float] | str:
    """One seed's ``max_advantage`` [nats per example], or why it is left out (``done``: its
    runs, column ``seed`` its label). A judged seed's runs go to ``scored`` with their live
    latents ``live`` (k · (1 − collapsed fraction), :func:`verdict_c8.live_measure`), ``log_px``,
    ``au``, ``mi``, and for the mitigation runs the plain ``frontier`` at their live latents and
    their ``advantage`` over it [nats per example]."""
    measure = verdict_c8.live_measure(definition.measure)
    live = _column(done, "latent_dim") * (1 - collapse_of(done, measure))
    done = done.assign(
        live=live,
        log_px=_column(done, "log_px_test"),
        au=_column(done, "active_units"),
        mi=_column(done, "mutual_information"),
    )
    plain = done["method"] == verdict_c8.PLAIN
    if plain.all() or not plain.any():
        return "needs plain fixed-σ² runs (fig5_fixed_sigma) and mitigation runs (mitigations)"
    lacking = done.loc[done[["live", "log_px"]].isna().any(axis=1)]
    if not lacking.empty:
        names = lacking["run_name"] if "run_name" in lacking.columns else lacking["run_dir"]
        return (
            f"no held-out log p(x) or live latents in {len(lacking)} runs, e.g. {names.iloc[0]} "
            "(log_px_test needs trainer.iw_samples > 0)"
        )
    bound = pd.Series(
        verdict_c8.frontier(done.loc[plain, "live"], done.loc[plain, "log_px"], live[~plain]),
        index=done.index[~plain],
    )
    scored.append(done.assign(frontier=bound, advantage=done["log_px"] - bound))
    return {"max_advantage": float(scored[-1]["advantage"].max())}
