"""C4b: the linear prediction sets the level of live latents at each fixed σ² (Figure 7)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from linear_vae import n_live
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
    BY_NAME,
    COLLAPSE_FRACTIONS,
    live_latents,
)
from paper_figures.claims.schema import (
    REPRODUCTION,
    Claim,
    Criterion,
    Definition,
    requires,
)
from paper_figures.common import (
    check_eigenvalues,
)
from paper_figures.theme import fmt_value
from paper_figures.words import number

_C4_LEVEL = requires(
    "the level matches the linear prediction",
    Criterion(
        "mean_level_error",
        "mean over the σ² grid of |predicted − measured live latents| / k, predicted = "
        "min(k, #{λ_i > σ²}), measured = k − collapsed latents",
        "<=",
        0.1,
        "the linear theory sets a deep VAE's level, not each latent; on the paper's grid the "
        "prediction alone ranks σ² with ρ = 0.975, so only the level can fail",
        bounds=(0.0, 1.0),
        per_latent=True,
    ),
)


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


def compute(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    definition: Definition,
    eigenvalues: Sequence[float],
) -> ClaimNumbers:
    """C4b from the same runs and curves as C4a (:func:`paper_figures.claims.c4a.compute`) and
    the data-covariance ``eigenvalues``: per seed, the mean over the σ² grid of |predicted −
    measured live latents| / k with predicted = min(k, #{λ_i > σ²}) and measured = k · (1 −
    collapsed fraction). Where the measured level falls short of or exceeds the prediction is
    reported with the numbers."""
    rows, seeds = fixed_sigma2_runs(runs, definition)
    lam = check_eigenvalues(eigenvalues)
    read = finished_rows(seeds, rows)
    checks = convergence_checks(read, curves, definition, total_variance(read, lam))
    escape = escape_steps(checks)

    def compute(d: Definition) -> ClaimNumbers:
        if d.measure not in COLLAPSE_FRACTIONS:
            raise ValueError("not a count of latents, so it has no level to compare")
        per_seed, settings = {}, []
        for seed, done in seeds.finished.items():
            k = float(pd.to_numeric(done["latent_dim"], errors="coerce").median())
            measured = by_sigma2(done, live_latents(done, d.measure, k))
            if measured.empty:
                per_seed[seed] = "no σ² value with a result"
                continue
            predicted = np.array([n_live(lam, s, int(k)) for s in measured.index], dtype=float)
            error = np.abs(predicted - measured.to_numpy(float)) / k
            per_seed[seed] = {"mean_level_error": float(error.mean())}
            table = measures_by_sigma2(done, escape, live=True)
            for s, p in zip(measured.index, predicted, strict=True):
                table[f"σ²={fmt_value(s)}"] = {"predicted live": p, **table[f"σ²={fmt_value(s)}"]}
            settings.append(table)
        numbers = seed_numbers(d, per_seed, seeds, settings)
        if not numbers.by_setting:
            return numbers
        k = float(pd.to_numeric(read["latent_dim"], errors="coerce").median())
        notes = _level_notes(numbers.by_setting, f"live {BY_NAME[d.measure].label}", k)
        notes += mi_ceiling_note(read, lambda r: f"σ²={fmt_value(float(r['sigma2']))}")
        return dataclasses.replace(numbers, notes=tuple(notes))

    return with_convergence(with_other_measures(compute, definition), list(checks.values()))


CLAIM = Claim(
    "C4b",
    "the linear prediction min(k, #{λ_i > σ²}) sets the level of live latents at each fixed σ²",
    REPRODUCTION,
    "the paper's claim that the prediction tracks collapse, judged by its level: its ranks "
    "alone follow σ² whatever the measurement",
    (
        Definition(
            "C4b/fig7",
            "fig5_fixed_sigma: deep VAEs at each fixed σ², without annealing (Figure 7)",
            "eps_delta",
            PRIMARY_COLLAPSE_REASON,
            (_C4_LEVEL,),
            other_measures=OTHER_COLLAPSE,
            convergence=COLLAPSE_CONVERGENCE,
            declared=DECLARED,
            compute=on_runs(compute),
            **TRAINED,
        ),
    ),
)
