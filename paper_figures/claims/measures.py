"""The measures a verdict is computed from, each with the run-table columns it reads.

A :class:`Measure` has its name (what definitions cite), its description (part of the claims
table's fingerprint), its short label in the numbers per setting, and, for a collapse measure,
its column of the runs table (``lucas2019.results.collect_runs``) and whether it is a fraction of
the k latents. :func:`collapsed_fraction`, :func:`collapse_score` and :func:`live_latents` are the
one place that turns run-table columns into collapse and live-latent counts; verdicts and figures
read them from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from paper_figures.common import require_columns

#: the runs-table column holding each run's number of latents k
LATENT_DIM = "latent_dim"


@dataclass(frozen=True)
class Move:
    """A runs-table ``column`` a measure reads that may still move when a run stops, and the
    metrics.csv ``curve`` its movement is measured on (the same quantity, or its training ELBO
    for a number computed only at the end); ``per_latent``: a collapsed fraction of the k
    latents, which moves by whole latents within [0, 1]."""

    column: str
    curve: str
    per_latent: bool = False


_COLLAPSE_MOVES = (Move("collapsed_fraction", "collapsed_fraction", per_latent=True),)
_ELBO_MOVES = (Move("elbo", "elbo"),)


@dataclass(frozen=True)
class Measure:
    """One measure.

    Attributes:
        name: what definitions cite, e.g. 'eps_delta'.
        description: what it is, with units (fingerprinted with the claims table).
        label: its short name in the numbers per setting ('' for a measure not reported per
            setting).
        column: its runs-table column (None for a measure computed from curves or tables).
        counts_active: the column counts active latents (the fraction is 1 − column / k) rather
            than holding the collapsed fraction.
        fraction: it is a collapsed fraction of the k latents (comparable with a prediction).
        curve_metric: the metrics.csv metric logging it at every evaluation (None: not logged).
        live_by: the fraction measure that counts this measure's live latents (None: none).
        moves: what may still move in a run this measure reads (the convergence band's
            quantities); empty for a measure no trained definition judges by.
    """

    name: str
    description: str
    label: str = ""
    column: str | None = None
    counts_active: bool = False
    fraction: bool = False
    curve_metric: str | None = None
    live_by: str | None = None
    moves: tuple[Move, ...] = ()


EPS_DELTA = Measure(
    "eps_delta",
    "(ε, δ)-collapsed fraction at ε = 0.01 nats, δ = 0.01: 1 − non-collapsed latents / k "
    "(column collapsed_fraction)",
    label="(ε, δ)",
    column="collapsed_fraction",
    fraction=True,
    curve_metric="collapsed_fraction",
    live_by="eps_delta",
    moves=_COLLAPSE_MOVES,
)
INTEGRATED = Measure(
    "integrated",
    "ε-integrated collapse curve (ε ∈ [0, 2], δ = 0.01)",
    label="integrated",
    column="collapse_integrated",
    fraction=True,
    live_by="integrated",
)
ACTIVE_UNITS = Measure(
    "active_units",
    "1 − active units / k (a latent is active when Var_x E_q[z_i] ≥ 0.01)",
    label="AU",
    column="active_units",
    counts_active=True,
    fraction=True,
    curve_metric="active_units",
    live_by="active_units",
)
MUTUAL_INFORMATION = Measure(
    "mutual_information",
    "I(x; z) [nats], aggregate-posterior estimate, at most log n (column mutual_information): "
    "information, not a count of latents",
    label="MI [nats]",
    column="mutual_information",
)
ALL: tuple[Measure, ...] = (
    Measure(
        "relative_gap",
        "|ELBO − log p| / max(1, |log p|) at the optimum for each k, on the learned-σ² rows "
        "(all rows if there are none)",
    ),
    Measure(
        "likelihood_increments",
        "increments of log p between consecutive k, before and after k* = #{λ_i > σ²}, for "
        "each fixed σ² whose grid of k passes k*",
    ),
    Measure(
        "final_elbo",
        "final ELBO: the median ELBO over the last tail_fraction of the logged steps [nats per "
        "example], against the pPCA MLE log p (learned σ²) at the runs' k",
        moves=_ELBO_MOVES,
    ),
    Measure(
        "steps_to_tolerance",
        "training steps to the optimum: the first logged step from which the ELBO stays within "
        "the tolerance of the pPCA MLE log p (learned σ²) at the runs' k",
        moves=_ELBO_MOVES,
    ),
    EPS_DELTA,
    INTEGRATED,
    ACTIVE_UNITS,
    MUTUAL_INFORMATION,
    Measure(
        "heldout_log_px_at_live",
        "held-out log p(x) [nats per example], importance-weighted (trainer.iw_samples samples, "
        "column log_px_test), against live latents = k × (1 − (ε, δ)-collapsed fraction at "
        "ε = δ = 0.01) on the training set",
        column="log_px_test",
        live_by="eps_delta",
        moves=(Move("log_px_test", "elbo"), *_COLLAPSE_MOVES),
    ),
    Measure(
        "elbo_gap",
        "ELBO gap of a σ² rule: ELBO from the smallest initial σ² minus ELBO from the largest "
        "[nats per example]",
        moves=_ELBO_MOVES,
    ),
)
#: every measure by name
BY_NAME: dict[str, Measure] = {m.name: m for m in ALL}
#: measures by name: what a definition's statistics are computed from (fingerprinted)
MEASURES: dict[str, str] = {m.name: m.description for m in ALL}
#: the collapse measures that are a fraction of the k latents (comparable with the prediction)
COLLAPSE_FRACTIONS: tuple[str, ...] = tuple(m.name for m in ALL if m.fraction)
#: every collapse measure: each collapse verdict reports all of them, its primary one first
COLLAPSE_MEASURES: tuple[str, ...] = (*COLLAPSE_FRACTIONS, MUTUAL_INFORMATION.name)


def column(rows: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column of ``rows``, NaN where absent."""
    if name not in rows.columns:
        return pd.Series(math.nan, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce")


def collapsed_fraction(runs: pd.DataFrame, measure: str) -> pd.Series:
    """Collapsed fraction in [0, 1] of each run under ``measure`` (a :data:`COLLAPSE_FRACTIONS`
    name): its column, or 1 − active units / ``latent_dim``. A measure that is not a fraction of
    the latents (mutual information): ValueError."""
    if measure not in COLLAPSE_FRACTIONS:
        raise ValueError(
            f"{measure} is not a fraction of the latents (expected one of {COLLAPSE_FRACTIONS})"
        )
    m = BY_NAME[measure]
    if m.counts_active:
        require_columns(runs, [m.column, LATENT_DIM], "runs", "collect_runs() rows")
        units = pd.to_numeric(runs[m.column], errors="coerce")
        return 1.0 - units / pd.to_numeric(runs[LATENT_DIM], errors="coerce")
    require_columns(runs, [m.column], "runs", "collect_runs() rows")
    return pd.to_numeric(runs[m.column], errors="coerce")


def collapse_score(runs: pd.DataFrame, measure: str) -> pd.Series:
    """A score that grows with collapse: :func:`collapsed_fraction` for the fractions, −I(x; z)
    [nats] for mutual information, which only ranks runs."""
    if measure == MUTUAL_INFORMATION.name:
        require_columns(runs, [MUTUAL_INFORMATION.column], "runs", "collect_runs() rows")
        return -pd.to_numeric(runs[MUTUAL_INFORMATION.column], errors="coerce")
    return collapsed_fraction(runs, measure)


def live_latents(
    runs: pd.DataFrame, measure: str = EPS_DELTA.name, k: float | pd.Series | None = None
) -> pd.Series:
    """Live latents of each run [count]: k · (1 − collapsed fraction), the fraction by the
    measure that counts ``measure``'s live latents (``live_by``; (ε, δ) by default); ``k`` the
    number of latents (default: each run's ``latent_dim``, NaN where absent)."""
    by = BY_NAME[measure].live_by
    if by is None:
        raise ValueError(f"{measure} does not count live latents")
    latents = column(runs, LATENT_DIM) if k is None else k
    return latents * (1 - collapsed_fraction(runs, by))
