"""C2: with σ² fixed, the log-likelihood stops improving once λ_k ≤ σ² (an implementation check)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from linear_vae import n_live
from paper_figures.claims.choices import (
    CLOSED_FORM,
)
from paper_figures.claims.compute import (
    CLOSED_FORM_SEED,
)
from paper_figures.claims.evidence import Evidence
from paper_figures.claims.judging import (
    ClaimNumbers,
    judge,
)
from paper_figures.claims.schema import (
    IMPLEMENTATION_CHECK,
    Claim,
    Criterion,
    Definition,
    requires,
)
from paper_figures.common import (
    check_eigenvalues,
    learned_mask,
    require_columns,
)
from paper_figures.theme import fmt_value


def compute(
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
        return judge(definition, {CLOSED_FORM_SEED: why}, (), settings)
    stats = {"min_increment_before": min(before), "max_increment_after": max(after)}
    return judge(definition, {CLOSED_FORM_SEED: stats}, (), settings)


def from_evidence(evidence: Evidence, definition: Definition) -> ClaimNumbers:
    """:func:`compute` on the runs, curves and tables a figure reads."""
    return compute(evidence.by_k, evidence.eigenvalues, definition)


CLAIM = Claim(
    "C2",
    "with σ² fixed, log-likelihood stops improving once λ_k ≤ σ²",
    IMPLEMENTATION_CHECK,
    "the closed form builds the plateau in, so it cannot fail on working code; the "
    "version that could (linear VAEs trained by gradient at fixed σ²) is a test",
    (
        Definition(
            "C2/fig2",
            "likelihood_vs_k.csv: fixed-σ² rows, and the spectrum (Figure 2)",
            "likelihood_increments",
            "the plateau is the claim: every live latent adds likelihood, none after k*",
            (
                requires(
                    "rises before k*",
                    Criterion(
                        "min_increment_before",
                        "smallest increment of log p while k < k* [nats per example]",
                        ">",
                        0.0,
                        "each latent with λ > σ² adds likelihood",
                    ),
                ),
                requires(
                    "flat from k*",
                    Criterion(
                        "max_increment_after",
                        "largest |increment| of log p from k* on, relative to max(1, max |log p|)",
                        "<=",
                        1e-6,
                        "the plateau is exact in closed form; 1e-6 absorbs float64 rounding",
                    ),
                ),
            ),
            compute=from_evidence,
            **CLOSED_FORM,
        ),
    ),
)
