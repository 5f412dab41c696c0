"""One compute function per claim: runs or tables in, the numbers behind its verdict out.

Each ``compute_*`` applies a :class:`~paper_figures.claims.Definition` of the claims table: it
finds the seeds whose runs all finished, computes the definition's statistics for each seed and
returns :class:`~paper_figures.judging.ClaimNumbers` (per-seed values, intervals over seeds, the
outcome). Each ``verdict_*`` puts those numbers into words (:func:`paper_figures.words.describe`).

- C1, C2 (implementation checks) from the analytic sweep: one deterministic computation, no seeds.
- C3 from linear-VAE training curves (Figure 3: analytic vs stochastic ELBO; Figure 4: encoders).
- C4 from the fixed-σ² deep-VAE runs; C5 from fixed- and learned-σ² runs; C6 from annealed runs
  and their curves; C7 from the ``sigma2_dynamics`` runs and their curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from paper_figures.claims import Definition
from paper_figures.common import (
    check_eigenvalues,
    learned_mask,
    metric_curve,
    n_live,
    plain_rows,
    require_columns,
)
from paper_figures.judging import ClaimNumbers, finished_seeds, judge
from paper_figures.theme import fmt_value
from paper_figures.words import Verdict, describe

#: the claims' one-line statements by id (the claims table owns them)
#: the label of the one "seed" of a closed-form computation
CLOSED_FORM = "closed form"


def collapse_of(runs: pd.DataFrame, measure: str) -> pd.Series:
    """Collapsed fraction in [0, 1] of each run under ``measure``: 'integrated' (column
    ``collapse_integrated``) or 'active_units' (1 − ``active_units`` / ``latent_dim``)."""
    if measure == "integrated":
        require_columns(runs, ["collapse_integrated"], "runs", "collect_runs() rows")
        return pd.to_numeric(runs["collapse_integrated"], errors="coerce")
    if measure == "active_units":
        require_columns(runs, ["active_units", "latent_dim"], "runs", "collect_runs() rows")
        units = pd.to_numeric(runs["active_units"], errors="coerce")
        return 1.0 - units / pd.to_numeric(runs["latent_dim"], errors="coerce")
    raise ValueError(f"measure must be 'integrated' or 'active_units', got {measure!r}.")


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


# ---------------------------------------------------------------- C3: training curves


def _final_elbo_per_run(curves: pd.DataFrame, group: str, tail_fraction: float) -> pd.DataFrame:
    """One row per run of a training-curve table: ``group``, ``seed``, ``status``, ``step``
    (the last logged), ``final`` (median ELBO over the last ``tail_fraction`` of the logged
    steps) and ``noise`` (std of its step-to-step differences there) [nats per example]."""
    elbo = metric_curve(curves, "elbo")
    require_columns(elbo, ["run_dir", "seed", group], "curves", "a training_curves() table")
    rows = []
    for run_dir, run in elbo.groupby("run_dir", sort=True):
        values = run["value"].to_numpy(float)
        tail = values[-max(2, math.ceil(tail_fraction * len(values))) :]
        first = run.iloc[0]
        rows.append(
            {
                "run_dir": run_dir,
                group: first[group],
                "seed": first["seed"],
                "status": first["status"] if "status" in run.columns else "completed",
                "step": float(run["step"].max()),
                "final": float(np.median(tail)),
                "noise": float(np.std(np.diff(tail))),
            }
        )
    return pd.DataFrame(
        rows, columns=["run_dir", group, "seed", "status", "step", "final", "noise"]
    )


def compute_c3(curves: pd.DataFrame, mle: float, definition: Definition) -> ClaimNumbers:
    """C3 on Figure 3 from linear-VAE training curves (``run_dir``, ``seed``, ``objective`` ∈
    {analytic, stochastic}, ``step`` and ``elbo``, long or wide) and the pPCA MLE [nats per
    example]: per seed, the larger relative distance of the two final ELBOs from the MLE, and
    the analytic minus the stochastic step-to-step noise."""
    runs = _final_elbo_per_run(curves, "objective", definition.parameter("tail_fraction"))
    expected = [("analytic",), ("stochastic",)]
    seeds = finished_seeds(runs, ["objective"], definition.min_steps, expected)
    scale = max(1.0, abs(float(mle)))
    per_seed, settings = {}, []
    for seed, rows in seeds.finished.items():
        by = rows.groupby("objective")[["final", "noise"]].mean()
        gaps = by["final"] - float(mle)
        per_seed[seed] = {
            "max_relative_gap": float(np.abs(gaps).max()) / scale,
            "noise_difference": float(by.loc["analytic", "noise"] - by.loc["stochastic", "noise"]),
        }
        settings.append(
            {
                o: {"final ELBO − MLE": gaps[o], "step-to-step std": by.loc[o, "noise"]}
                for o in by.index
            }
        )
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


def compute_c3_encoders(
    curves: pd.DataFrame, mle: float, expected: Sequence[str], definition: Definition
) -> ClaimNumbers:
    """C3 on Figure 4 from linear-decoder training curves with an ``encoder`` column (else as
    :func:`compute_c3`) and the pPCA MLE: per seed, the largest (final ELBO − MLE) and the
    largest (MLE − final ELBO) over the ``expected`` encoders, relative to max(1, |MLE|)."""
    runs = _final_elbo_per_run(curves, "encoder", definition.parameter("tail_fraction"))
    grid = [(e,) for e in expected]
    seeds = finished_seeds(runs, ["encoder"], definition.min_steps, grid)
    scale = max(1.0, abs(float(mle)))
    per_seed, settings = {}, []
    for seed, rows in seeds.finished.items():
        diffs = rows.groupby("encoder")["final"].mean() - float(mle)
        per_seed[seed] = {
            "max_excess": float(diffs.max()) / scale,
            "max_shortfall": float(-diffs.min()) / scale,
        }
        settings.append({e: {"final ELBO − MLE": d} for e, d in diffs.items()})
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


# ---------------------------------------------------------------- C4, C5: deep-VAE runs


def _collapse_by_sigma2(rows: pd.DataFrame, measure: str) -> pd.Series:
    """Mean collapsed fraction per σ² (sorted ascending) of one seed's rows."""
    table = pd.DataFrame(
        {"sigma2": pd.to_numeric(rows["sigma2"], errors="coerce"), "c": collapse_of(rows, measure)}
    )
    return table.dropna().groupby("sigma2")["c"].mean().sort_index()


def _c4_statistics(collapse: pd.Series, predicted: np.ndarray) -> dict[str, float]:
    """C4's statistics of one seed: collapse and its prediction by ascending σ²."""
    x, y = np.log(collapse.index.to_numpy(float)), collapse.to_numpy(float)
    return {
        "spearman_sigma2": _spearman(x, y),
        "largest_drop": max(0.0, float(-np.diff(y).min())),
        "overall_rise": float(y[-1] - y[0]),
        "spearman_predicted": _spearman(predicted, y),
        "max_prediction_error": float(np.max(np.abs(predicted - y))),
    }


def compute_c4(
    runs: pd.DataFrame, eigenvalues: Sequence[float], definition: Definition
) -> ClaimNumbers:
    """C4 from deep-VAE runs with fixed σ² (collect_runs rows: ``sigma2``, ``seed``, ``status``,
    ``step``, ``latent_dim`` + the measure's columns; learned-σ² and annealed rows are ignored)
    and the data-covariance ``eigenvalues``: per seed, over the σ² grid, how the collapsed
    fraction rises with σ² and how it follows the prediction (k − min(k, #{λ_i > σ²})) / k."""
    rows = plain_rows(runs, "fixed")
    require_columns(
        rows, ["sigma2", "seed", "status", "step", "latent_dim"], "runs", "collect_runs()"
    )
    lam = check_eigenvalues(eigenvalues)
    seeds = finished_seeds(rows, ["sigma2"], definition.min_steps)
    per_seed, settings = {}, []
    for seed, done in seeds.finished.items():
        collapse = _collapse_by_sigma2(done, definition.measure)
        if len(collapse) < 3:
            per_seed[seed] = f"only {len(collapse)} σ² values with a result (need ≥ 3)"
            continue
        k = int(pd.to_numeric(done["latent_dim"], errors="coerce").median())
        predicted = np.array([(k - n_live(lam, s, k)) / k for s in collapse.index])
        per_seed[seed] = _c4_statistics(collapse, predicted)
        settings.append(
            {
                f"σ²={fmt_value(s)}": {"collapse": c, "predicted": p}
                for (s, c), p in zip(collapse.items(), predicted, strict=True)
            }
        )
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


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


def compute_c5(runs: pd.DataFrame, definition: Definition) -> ClaimNumbers:
    """C5 from deep-VAE runs with fixed and with learned σ², no annealing (collect_runs rows:
    ``sigma2`` (fixed or initial value), ``sigma2_mode`` or ``likelihood``, ``seed``,
    ``status``, ``step`` + the measure's columns): per seed, the reduction of the mean collapse
    over the σ² values run both ways, and the collapse left from the largest initial σ²."""
    runs = _with_sigma2_mode(runs)
    rows = pd.concat([plain_rows(runs, "fixed"), plain_rows(runs, "learned")], ignore_index=True)
    require_columns(rows, ["sigma2", "seed", "status", "step"], "runs", "collect_runs()")
    seeds = finished_seeds(rows, ["sigma2_mode", "sigma2"], definition.min_steps)
    per_seed, settings = {}, []
    for seed, done in seeds.finished.items():
        fixed, learned = (
            _collapse_by_sigma2(done.loc[done["sigma2_mode"] == m], definition.measure)
            for m in ("fixed", "learned")
        )
        common = fixed.index.intersection(learned.index)
        if common.empty:
            per_seed[seed] = "no σ² value has both a fixed and a learned run"
            continue
        mean_fixed = float(fixed[common].mean())
        if mean_fixed <= 0:
            per_seed[seed] = "the fixed-σ² runs show no collapse to remove"
            continue
        per_seed[seed] = {
            "reduction": 1.0 - float(learned[common].mean()) / mean_fixed,
            "left_at_largest": float(learned.iloc[-1]),
        }
        settings.append(
            {f"σ²={fmt_value(s)}": {"fixed": fixed[s], "learned": learned[s]} for s in common}
        )
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


# ---------------------------------------------------------------- C6: KL annealing


def _collapse_at(curve: pd.DataFrame, measure: str, k: float, step: float) -> tuple[float, float]:
    """(last logged step ≤ ``step``, collapsed fraction there) from a run's curves; NaNs if none.
    The curves log active units only, so C6 needs the 'active_units' measure."""
    if measure != "active_units":
        raise ValueError(f"C6 reads active units from the curves; measure {measure!r} is not.")
    units = metric_curve(curve, "active_units")
    units = units.loc[units["step"] <= step]
    if units.empty:
        return math.nan, math.nan
    return float(units["step"].iloc[-1]), 1.0 - float(units["value"].iloc[-1]) / k


def _annealing_pairs(
    done: pd.DataFrame, curves: pd.DataFrame, definition: Definition
) -> dict[str, dict[str, float]]:
    """For one seed: each annealed run that trained past its annealing against the run without
    annealing at the same σ² (and likelihood): collapse at the end of annealing, at the end, and
    without annealing."""
    final = collapse_of(done, definition.measure)
    annealed = pd.to_numeric(done["kl_anneal_steps"], errors="coerce").fillna(0) > 0
    base = done.loc[~annealed]
    pairs = {}
    for idx, run in done.loc[annealed].iterrows():
        partner = base.loc[np.isclose(pd.to_numeric(base["sigma2"]), float(run["sigma2"]))]
        if "likelihood" in done.columns:
            partner = partner.loc[partner["likelihood"] == run["likelihood"]]
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
        }
    return pairs


def compute_c6(runs: pd.DataFrame, curves: pd.DataFrame, definition: Definition) -> ClaimNumbers:
    """C6 from runs with and without KL annealing (collect_runs rows: ``run_dir``, ``sigma2``,
    ``kl_anneal_steps``, ``latent_dim``, ``seed``, ``status``, ``step`` + measure columns) and
    their training curves (``run_dir``, ``step``, ``metric``, ``value``).

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
    per_seed, settings = {}, []
    for seed, done in seeds.finished.items():
        pairs = _annealing_pairs(done, curves, definition)
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
            "max_final_gap": max(abs(p["final"] - p["without annealing"]) for p in judged.values()),
        }
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


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


def compute_c7(runs: pd.DataFrame, curves: pd.DataFrame, definition: Definition) -> ClaimNumbers:
    """C7 from the ``sigma2_dynamics`` runs (collect_runs rows: ``run_dir``, ``sigma2`` (initial
    σ²), ``sigma2_rule``, ``sigma2_switch_step``, ``seed``, ``status``, ``step``,
    ``active_units``, ``elbo`` [nats per example]) and their curves (``sigma2``,
    ``sigma2_optimal``, ``active_units``).

    A rule is fast or slow by how soon σ² nears its optimum (:func:`_rule_kind`). Per seed, the
    statistic is the smallest share of the slow rules' largest ELBO gap that a fast rule keeps.
    """
    need = ["run_dir", "sigma2", "sigma2_rule", "seed", "status", "step", "active_units", "elbo"]
    require_columns(runs, need, "runs", "collect_runs() rows")
    seeds = finished_seeds(runs, ["sigma2_rule", "sigma2"], definition.min_steps)
    finished = pd.concat(seeds.finished.values()) if seeds.finished else runs.iloc[:0]
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
    return judge(
        definition, {**per_seed, **seeds.left_out}, seeds.too_short, _mean_by_setting(settings)
    )


# ---------------------------------------------------------------- words


def verdict_c1(sweep: pd.DataFrame, definition: Definition) -> Verdict:
    """:func:`compute_c1` in words."""
    return describe(compute_c1(sweep, definition))


def verdict_c2(
    sweep: pd.DataFrame, eigenvalues: Sequence[float], definition: Definition
) -> Verdict:
    """:func:`compute_c2` in words."""
    return describe(compute_c2(sweep, eigenvalues, definition))


def verdict_c3(curves: pd.DataFrame, mle: float, definition: Definition) -> Verdict:
    """:func:`compute_c3` in words."""
    return describe(compute_c3(curves, mle, definition))


def verdict_c3_encoders(
    curves: pd.DataFrame, mle: float, expected: Sequence[str], definition: Definition
) -> Verdict:
    """:func:`compute_c3_encoders` in words."""
    return describe(compute_c3_encoders(curves, mle, expected, definition))


def verdict_c4(runs: pd.DataFrame, eigenvalues: Sequence[float], definition: Definition) -> Verdict:
    """:func:`compute_c4` in words."""
    return describe(compute_c4(runs, eigenvalues, definition))


def verdict_c5(runs: pd.DataFrame, definition: Definition) -> Verdict:
    """:func:`compute_c5` in words."""
    return describe(compute_c5(runs, definition))


def verdict_c6(runs: pd.DataFrame, curves: pd.DataFrame, definition: Definition) -> Verdict:
    """:func:`compute_c6` in words."""
    return describe(compute_c6(runs, curves, definition))


def verdict_c7(runs: pd.DataFrame, curves: pd.DataFrame, definition: Definition) -> Verdict:
    """:func:`compute_c7` in words."""
    return describe(compute_c7(runs, curves, definition))
