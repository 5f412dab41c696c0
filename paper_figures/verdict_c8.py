"""Claim C8's pieces, which :func:`paper_figures.verdicts.compute_c8` judges with and Figure 9
draws: the method of each run, a seed's plain fixed-σ² frontier, and the effective σ² of each
mitigation setting.

A run's method is its collapse mitigation (``free_bits`` per latent and ``free_bits_total``, the
conf/mitigation/ option names, told apart by ``free_bits_variant``; ``cyclical_annealing``;
``aggressive_encoder``), or :data:`PLAIN` (no mitigation, fixed σ², no annealing: the reference)
or :data:`LEARNED` (no mitigation, learned σ², no annealing: drawn, not judged).

The plain frontier of a seed at L live latents is F(L) = max{P_j : L_j ≥ L} over its plain runs j
(L_j live latents, P_j held-out log p(x)); beyond the plain run keeping the most, F stays at
F(max_j L_j). A run's advantage is its P − F(L) [nats per example].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from paper_figures import effective_sigma2
from paper_figures.common import plain_rows, require_columns
from paper_figures.effective_sigma2 import EffectiveSigma2
from paper_figures.theme import fmt_value

PLAIN = "plain fixed σ²"
LEARNED = "learned σ²"
#: live latents this close count as equal (k · (1 − fraction) carries float round-off)
TOLERANCE = effective_sigma2.TOLERANCE
#: the claims table's primary measure of C8, which counts live latents by (ε, δ) collapse
PRIMARY = "heldout_log_px_at_live"
#: (method, nominal σ²) -> [(seed, effective σ²)] of each of its runs
Effective = Mapping[tuple[str, float], list[tuple[object, EffectiveSigma2]]]


def method_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's method (collect_runs rows with ``mitigation``, optional ``free_bits_variant``,
    ``sigma2_mode`` or ``likelihood``, ``kl_anneal_steps``): the mitigation's name,
    :data:`PLAIN`, :data:`LEARNED`, or None for a run without mitigation that is neither (an
    annealed run, an optimal σ²). An empty ``mitigation`` (a run from before mitigations) is
    none."""
    require_columns(runs, ["mitigation"], "runs", "collect_runs() rows")
    flat = runs.reset_index(drop=True)  # positions, since a concatenated table repeats labels
    mitigation = flat["mitigation"].where(flat["mitigation"].notna(), "none").astype(str)
    variant = flat.get("free_bits_variant", pd.Series(None, index=flat.index)).astype(str)
    total = (mitigation == "free_bits") & (variant == "total")
    method = mitigation.where(~total, "free_bits_total").astype(object)
    none = mitigation == "none"
    method[none] = None
    for mode, label in (("fixed", PLAIN), ("learned", LEARNED)):
        method[none & flat.index.isin(plain_rows(flat, mode).index)] = label
    return pd.Series(method.to_numpy(), index=runs.index)


def live_measure(measure: str) -> str:
    """The collapse measure that counts live latents under a C8 measure: 'eps_delta' for the
    primary one (:data:`PRIMARY`), the measure itself for another (e.g. 'active_units')."""
    return "eps_delta" if measure == PRIMARY else measure


def frontier(
    plain_live: Sequence[float], plain_log_px: Sequence[float], live: Sequence[float]
) -> np.ndarray:
    """The plain frontier F at each of ``live`` [count] from one seed's plain runs (their live
    latents ``plain_live`` and held-out log p(x) ``plain_log_px`` [nats per example], finite,
    at least one): max{P_j : L_j ≥ L}, with L above every L_j read as max_j L_j."""
    lj, pj = np.asarray(plain_live, dtype=float), np.asarray(plain_log_px, dtype=float)
    if lj.ndim != 1 or lj.shape != pj.shape or lj.size == 0 or not np.all(np.isfinite(lj + pj)):
        raise ValueError(
            "plain_live and plain_log_px must be 1-D, of one length, finite and non-empty (one "
            f"value per plain run of the seed), got {lj.tolist()} and {pj.tolist()}."
        )
    wanted = np.minimum(np.asarray(live, dtype=float), lj.max())
    keeps = lj[None, :] >= wanted[:, None] - TOLERANCE
    return np.where(keeps, pj[None, :], -np.inf).max(axis=1)


def setting_label(method: str, sigma2: float) -> str:
    """e.g. 'free_bits, σ²=0.1'."""
    return f"{method}, σ²={fmt_value(sigma2)}"


def settings(scored: pd.DataFrame, live_label: str) -> dict[str, dict[str, float]]:
    """One seed's numbers per mitigation setting, from its scored runs (columns ``method``,
    ``sigma2``, ``live``, ``au``, ``mi`` [nats], ``log_px``, ``frontier``, ``advantage``
    [nats per example]), with the live latents named ``live_label``."""
    names = {
        "live": live_label,
        "au": "AU",
        "mi": "MI [nats]",
        "log_px": "log p(x) held-out",
        "frontier": "plain frontier",
        "advantage": "advantage",
    }
    means = scored.groupby(["method", "sigma2"], sort=True)[list(names)].mean()
    return {
        setting_label(m, s): {names[c]: float(v) for c, v in row.items()}
        for (m, s), row in means.iterrows()
    }


def best_advantage_note(scored: pd.DataFrame) -> list[str]:
    """Per mitigation, its largest advantage over the scored runs of every judged seed
    (columns ``method``, ``sigma2``, ``seed``, ``advantage``) and the run that gives it."""
    if scored.empty:
        return []
    parts = []
    for method, rows in scored.groupby("method", sort=True):
        best = rows.loc[rows["advantage"].idxmax()]
        parts.append(
            f"{method} {best['advantage']:.3g} (σ²={fmt_value(float(best['sigma2']))}, seed "
            f"{best['seed']})"
        )
    return [
        "best advantage over the plain frontier per mitigation [nats per example]: "
        + "; ".join(parts)
    ]


def effective(rows: pd.DataFrame) -> Effective:
    """Each mitigation run's effective σ², from rows with ``method``, ``sigma2``, ``seed`` and
    ``live`` (NaN rows left out): the :data:`PLAIN` rows are fitted (pooled over seeds), the
    others read from the fit; (method, nominal σ²) -> [(seed, effective σ²)], sorted. Empty
    without a plain row."""
    counted = rows.dropna(subset=["live"])
    plain = counted.loc[counted["method"] == PLAIN]
    if plain.empty:
        return {}
    fitted = effective_sigma2.fit(plain["sigma2"].astype(float), plain["live"])
    out = {}
    for (method, sigma2), group in counted.groupby(["method", "sigma2"], sort=True):
        if method in (PLAIN, LEARNED):
            continue
        out[(method, float(sigma2))] = [
            (seed, fitted.invert(float(live)))
            for seed, live in zip(group["seed"], group["live"], strict=True)
        ]
    return out


def effective_note(by_setting: Effective) -> list[str]:
    """The effective σ² of each mitigation setting over seeds in words (reported, not judged)."""
    if not by_setting:
        return []
    parts = []
    for (method, sigma2), runs in by_setting.items():
        seeds, values = zip(*runs, strict=True)
        parts.append(
            f"{setting_label(method, sigma2)}: {effective_sigma2.over_seeds(values, seeds)}"
        )
    return [
        "effective σ² (reported, not judged: where a decreasing isotonic fit of the plain runs' "
        "live latents on log σ², pooled over the judged seeds, keeps as many): " + "; ".join(parts)
    ]
