"""C5: learning σ² removes most of the collapse; a large initial σ² leaves some (Figure 6 and
Table 1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paper_figures.claims.choices import (
    COLLAPSE_CONVERGENCE,
    DECLARED,
    OTHER_COLLAPSE,
    PRIMARY_COLLAPSE_REASON,
    TRAINED,
)
from paper_figures.claims.compute import (
    by_sigma2,
    convergence_checks,
    finished_rows,
    mi_ceiling_note,
    on_runs,
    seed_numbers,
    total_variance,
    with_other_measures,
)
from paper_figures.claims.judging import (
    ClaimNumbers,
    finished_seeds,
    with_convergence,
)
from paper_figures.claims.measures import (
    collapsed_fraction,
    column,
)
from paper_figures.claims.schema import (
    REPRODUCTION,
    Claim,
    Criterion,
    Definition,
    Parameter,
    requires,
)
from paper_figures.common import (
    plain_rows,
    require_columns,
)
from paper_figures.theme import fmt_value

_C5_REQUIREMENTS = (
    requires(
        "removes most",
        Criterion(
            "reduction",
            "1 − mean learned-σ² collapse / mean fixed-σ² collapse over the σ² values run both "
            "ways from which a learned σ² could reach the pPCA MLE σ² of the data at the runs' k "
            "(for a learned σ², its initial value)",
            ">=",
            0.5,
            "'most' read as at least half",
        ),
    ),
    requires(
        "leaves some",
        Criterion(
            "left_at_largest",
            "collapsed fraction of the learned-σ² run from the largest initial σ² of the grid, "
            "whether or not it could reach the MLE σ²",
            ">=",
            0.05,
            "'some' read as at least one latent in 20; the largest initial σ² is what 'a large "
            "initial σ²' is about, so no reach rule may drop it",
            bounds=(0.0, 1.0),
            per_latent=True,
        ),
    ),
)
_C5_FIXED_AND_LEARNED = "runs without annealing, fixed and learned σ² paired by σ² and seed"
_C5_REACH = Parameter(
    "reach_share",
    0.5,
    "'removes most' is judged only from initial σ² values a learned σ² could leave for the "
    "pPCA MLE σ² of the data at the runs' k (the mean of the eigenvalues beyond k, from the "
    "analytic tables: a property of the setting, not of how the run ended) in this share of "
    "training: Adam moves log σ² by at most about its learning rate per step, so it needs "
    "|log σ²_init − log σ²_MLE| ≤ lr · steps · reach_share; the rest of training is left for "
    "the latents to follow",
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
    lr = column(runs, "sigma2_lr").fillna(column(runs, "lr"))
    needed = np.abs(np.log(column(runs, "sigma2")) - np.log(column(runs, "sigma2_optimal")))
    per_step = lr * reach_share
    budget = per_step * column(runs, "step")
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


def compute(
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
    finished = finished_rows(seeds, rows)
    reach = sigma2_reach(finished, definition.parameter("reach_share"))
    # an initial σ² that one seed's σ² could not leave is judged for no seed, fixed runs included
    sigma2 = np.round(finished["sigma2"].astype(float), 12)
    judged = finished.loc[~sigma2.isin(set(sigma2[~reach["reachable"]]))]

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings = {}, []
        for seed, frame in seeds.finished.items():
            done = judged.loc[judged.index.intersection(frame.index)]
            fixed, learned = (
                by_sigma2(r, collapsed_fraction(r, d.measure))
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
        notes = _unreachable_note(finished, reach) + mi_ceiling_note(
            judged, lambda r: f"{r['sigma2_mode']} σ²={fmt_value(float(r['sigma2']))}"
        )
        return seed_numbers(d, per_seed, seeds, settings, notes)

    checks = convergence_checks(judged, curves, definition, total_variance(judged, eigenvalues))
    return with_convergence(with_other_measures(compute, definition), list(checks.values()))


def _c5_settings(done: pd.DataFrame, common: pd.Index) -> dict[str, dict[str, float]]:
    """One seed's numbers per judged σ²: fixed and learned (ε, δ) collapse on both sets, the
    learned run's MI, ELBO on both sets, final σ² and closed-form optimal σ²."""
    out = {}
    for s in common:
        at = done.loc[np.isclose(done["sigma2"].astype(float), s)]
        fixed, learned = (at.loc[at["sigma2_mode"] == m] for m in ("fixed", "learned"))
        mean = lambda r, c: float(column(r, c).mean())  # noqa: E731
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


def _definition(key: str, judged_on: str) -> Definition:
    """C5's definition on one figure: the same judgement of the runs ``judged_on`` names."""
    return Definition(
        key,
        judged_on,
        "eps_delta",
        PRIMARY_COLLAPSE_REASON,
        _C5_REQUIREMENTS,
        parameters=(_C5_REACH,),
        other_measures=OTHER_COLLAPSE,
        convergence=COLLAPSE_CONVERGENCE,
        declared=DECLARED,
        compute=on_runs(compute),
        **TRAINED,
    )


CLAIM = Claim(
    "C5",
    "learning σ² removes most of the collapse; a large initial σ² leaves some",
    REPRODUCTION,
    "the paper's claim, judged on trained models",
    (
        _definition(
            "C5/fig6",
            f"fig6_learned_sigma with fig5_fixed_sigma: {_C5_FIXED_AND_LEARNED} (Figure 6)",
        ),
        _definition("C5/table1", f"table1: {_C5_FIXED_AND_LEARNED} (Table 1)"),
    ),
)
