"""C4a: collapse rises monotonically with fixed σ² (Figure 5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

import linear_vae
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
    LATENT_DIM,
    collapsed_fraction,
)
from paper_figures.claims.schema import (
    REPRODUCTION,
    Claim,
    Criterion,
    Definition,
    Parameter,
    requires,
)
from paper_figures.theme import fmt_value

_PARTIAL = (
    "over the σ² values of the grid at which the linear theory predicts partial collapse, "
    "0 < min(k, #{λ_i > σ²}) < k"
)
_C4_RISES = requires(
    "rises",
    Criterion(
        "largest_fall",
        f"largest fall of the collapsed fraction from one σ² to the next larger one, {_PARTIAL}",
        "<=",
        0.05,
        "one latent in 20: a rise with evaluation jitter passes, a fall in any seed's middle "
        "fails (each seed's own consecutive pairs: a paired test); no rank statistic, whose "
        "ties at 0% and 100% passed shuffled middles",
        bounds=(0.0, 1.0),
        per_latent=True,
    ),
    Criterion(
        "overall_rise",
        f"collapsed fraction at the largest minus that at the smallest σ², {_PARTIAL}",
        ">=",
        0.05,
        "a flat curve does not rise: at least one latent in 20 more collapsed across the range",
        bounds=(-1.0, 1.0),
        per_latent=True,
    ),
)
_MIN_SETTINGS = Parameter(
    "min_settings",
    3,
    "a seed is judged when at least this many σ² values of its grid lie in the range of partial "
    "collapse: two make one pair, three the fewest in which a rise can be told from a fall",
)


def partial_collapse(sigma2: Sequence[float], eigenvalues: Sequence[float], k: int) -> np.ndarray:
    """Which of ``sigma2`` [data units²] the linear theory gives partial collapse at k latents:
    0 < min(k, #{λ_i > σ²}) < k, with ``eigenvalues`` the data covariance's (any order)."""
    live = np.asarray(linear_vae.n_live(eigenvalues, np.asarray(sigma2, float), k))
    return (live > 0) & (live < k)


def _c4a_statistics(collapsed: pd.Series) -> dict[str, float]:
    """C4a's statistics of one seed from its collapsed fraction by ascending σ² (already limited
    to the range of partial collapse)."""
    y = collapsed.to_numpy(float)
    return {
        "largest_fall": max(0.0, float(-np.diff(y).min())),
        "overall_rise": float(y[-1] - y[0]),
    }


def compute(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float] | None = None,
) -> ClaimNumbers:
    """C4a from deep-VAE runs with fixed σ² (collect_runs rows: ``run_dir``, ``sigma2``,
    ``seed``, ``status``, ``step``, ``latent_dim`` + the measures' columns; learned-σ² and
    annealed rows are ignored), their training curves, and the data-covariance ``eigenvalues``
    (for the escape from the collapsed start and the range of partial collapse; None: cannot
    judge): per seed, how collapse rises with σ² over the range of partial collapse, under the
    primary measure and each other fraction of the latents."""
    rows, seeds = fixed_sigma2_runs(runs, definition)
    read = finished_rows(seeds, rows)
    checks = convergence_checks(read, curves, definition, total_variance(read, eigenvalues))
    escape = escape_steps(checks)

    def compute(d: Definition) -> ClaimNumbers:
        if d.measure not in COLLAPSE_FRACTIONS:
            raise ValueError(f"{d.measure} is not a fraction of the latents: no fall to measure")
        minimum = int(d.parameter("min_settings"))
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            collapsed = by_sigma2(done, collapsed_fraction(done, d.measure))
            if eigenvalues is None:
                per_seed[seed] = "no spectrum: the range of partial collapse is unknown"
                continue
            k = int(pd.to_numeric(done[LATENT_DIM], errors="coerce").median())
            partial = collapsed[partial_collapse(collapsed.index, eigenvalues, k)]
            if len(partial) < minimum:
                per_seed[seed] = (
                    f"only {len(partial)} σ² values where partial collapse is predicted "
                    f"(need ≥ {minimum})"
                )
                continue
            per_seed[seed] = _c4a_statistics(partial)
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
            parameters=(_MIN_SETTINGS,),
            other_measures=tuple(m for m in OTHER_COLLAPSE if m in COLLAPSE_FRACTIONS),
            convergence=COLLAPSE_CONVERGENCE,
            declared=DECLARED,
            compute=on_runs(compute),
            **TRAINED,
        ),
    ),
)
