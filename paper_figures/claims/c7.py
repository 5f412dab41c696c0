"""C7: a large initial learned σ²'s worse ELBO is a local optimum (Figure 8, beyond the paper)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paper_figures.claims.choices import (
    COLLAPSE_CONVERGENCE,
    DECLARED,
    SEEDS,
)
from paper_figures.claims.compute import (
    convergence_checks,
    finished_rows,
    on_runs,
    seed_numbers,
    total_variance,
)
from paper_figures.claims.judging import (
    ClaimNumbers,
    finished_seeds,
    with_convergence,
)
from paper_figures.claims.schema import (
    BEYOND_THE_PAPER,
    Claim,
    Criterion,
    Definition,
    Parameter,
    requires,
)
from paper_figures.common import (
    metric_curve,
    require_columns,
)


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


def compute(
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
    finished = finished_rows(seeds, runs)
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
    numbers = seed_numbers(definition, per_seed, seeds, settings)
    checks = convergence_checks(
        fast_runs, curves, definition, total_variance(fast_runs, eigenvalues)
    )
    return with_convergence(numbers, list(checks.values()))


CLAIM = Claim(
    "C7",
    "the worse ELBO a large initial learned σ² ends with is a local optimum: it stays "
    "when σ² reaches its optimum fast (fails = it was the slow σ² optimiser)",
    BEYOND_THE_PAPER,
    "the paper does not ask it; it tells whether C5's result at a large initial σ² is "
    "the model's or the optimiser's",
    (
        Definition(
            "C7/fig8",
            "sigma2_dynamics: each σ² rule from several initial σ², with its curves of σ² "
            "and of its closed-form optimum (Figure 8); convergence is checked on the fast "
            "rules' runs, since the slow rule's unsettled σ² is what the claim asks about",
            "elbo_gap",
            "the worse end state the claim is about, in the objective itself",
            (
                requires(
                    "the gap stays with a fast σ²",
                    Criterion(
                        "share_left",
                        "smallest share of the slow rule's ELBO gap that a fast rule "
                        "keeps (one fast rule closing it is enough to refute)",
                        ">",
                        0.5,
                        "a local optimum survives a fast σ²: more than half of the gap must stay",
                    ),
                ),
            ),
            parameters=(
                Parameter(
                    "reach",
                    1.5,
                    "σ² within this factor of its closed-form optimum counts as there",
                ),
                Parameter(
                    "early",
                    0.5,
                    "a rule is fast when every run has σ² there by this share of its "
                    "training, slow otherwise",
                ),
            ),
            min_steps=1000,
            min_steps_reason=(
                "log σ² moves by at most about its learning rate per Adam step, so a "
                "shorter run leaves even a fast rule's σ² little time to settle"
            ),
            convergence=COLLAPSE_CONVERGENCE,
            declared=DECLARED,
            compute=on_runs(compute),
            **SEEDS,
        ),
    ),
)
