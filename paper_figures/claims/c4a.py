"""C4a: collapse rises monotonically with fixed σ² (Figure 5)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from paper_figures.claims.choices import (
    COLLAPSE_CONVERGENCE,
    OTHER_COLLAPSE,
    PRIMARY_COLLAPSE_REASON,
    TRAINED,
)
from paper_figures.claims.compute import (
    by_sigma2,
    convergence_checks,
    escape_steps,
    finished_rows,
    fixed_sigma2_runs,
    measures_by_sigma2,
    mi_ceiling_note,
    on_runs,
    seed_numbers,
    total_variance,
    with_other_measures,
)
from paper_figures.claims.judging import (
    ClaimNumbers,
    with_convergence,
)
from paper_figures.claims.measures import (
    COLLAPSE_FRACTIONS,
    collapse_score,
)
from paper_figures.claims.schema import (
    REPRODUCTION,
    Claim,
    Criterion,
    Definition,
    either,
)
from paper_figures.theme import fmt_value

_C4_RISES = either(
    "rises",
    (
        Criterion(
            "spearman_sigma2",
            "Spearman ρ between σ² and the collapsed fraction over the σ² grid",
            ">=",
            0.9,
            "near-perfect agreement of the ranks over the grid",
        ),
    ),
    (
        Criterion(
            "largest_drop",
            "largest fall of the collapsed fraction from one σ² to the next larger one",
            "<=",
            0.02,
            "ties at 0% and 100% lower ρ without breaking monotonicity; 2% is one latent in 50",
        ),
        Criterion(
            "overall_rise",
            "collapsed fraction at the largest σ² minus that at the smallest",
            ">",
            0.02,
            "a flat curve does not rise",
        ),
    ),
)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ; NaN when either side is constant or there are fewer than 3 points."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def _c4a_statistics(score: pd.Series, fractions: bool) -> dict[str, float]:
    """C4a's statistics of one seed from its collapse score by ascending σ²; the drop and rise
    only for a collapsed fraction (a score in nats has no such threshold)."""
    x, y = np.log(score.index.to_numpy(float)), score.to_numpy(float)
    statistics = {"spearman_sigma2": _spearman(x, y)}
    if fractions:
        statistics["largest_drop"] = max(0.0, float(-np.diff(y).min()))
        statistics["overall_rise"] = float(y[-1] - y[0])
    return statistics


def compute(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C4a from deep-VAE runs with fixed σ² (collect_runs rows: ``run_dir``, ``sigma2``,
    ``seed``, ``status``, ``step``, ``latent_dim`` + the measures' columns; learned-σ² and
    annealed rows are ignored), their training curves, and the data-covariance ``eigenvalues``
    (for the escape from the collapsed start; None: not checked): per seed, how collapse rises
    with σ² over the grid, under the primary measure and each other one."""
    rows, seeds = fixed_sigma2_runs(runs, definition)
    read = finished_rows(seeds, rows)
    checks = convergence_checks(read, curves, definition, total_variance(read, eigenvalues))
    escape = escape_steps(checks)

    def compute(d: Definition) -> ClaimNumbers:
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            score = by_sigma2(done, collapse_score(done, d.measure))
            if len(score) < 3:
                per_seed[seed] = f"only {len(score)} σ² values with a result (need ≥ 3)"
                continue
            per_seed[seed] = _c4a_statistics(score, d.measure in COLLAPSE_FRACTIONS)
            settings.append(measures_by_sigma2(done, escape))
        notes = mi_ceiling_note(read, lambda r: f"σ²={fmt_value(float(r['sigma2']))}")
        return seed_numbers(d, per_seed, seeds, settings, notes)

    return with_convergence(with_other_measures(compute, definition), list(checks.values()))


CLAIM = Claim(
    "C4a",
    "collapse rises monotonically with fixed σ²",
    REPRODUCTION,
    "the paper's claim, judged on trained models",
    (
        Definition(
            "C4a/fig5",
            "fig5_fixed_sigma: deep VAEs at each fixed σ², without annealing (Figure 5)",
            "eps_delta",
            PRIMARY_COLLAPSE_REASON,
            (_C4_RISES,),
            other_measures=OTHER_COLLAPSE,
            convergence=COLLAPSE_CONVERGENCE,
            compute=on_runs(compute),
            **TRAINED,
        ),
    ),
)
