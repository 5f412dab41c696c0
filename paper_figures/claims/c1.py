"""C1: the optimal linear-VAE ELBO equals the pPCA log-likelihood (an implementation check)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    learned_mask,
    require_columns,
)


def compute(sweep: pd.DataFrame, definition: Definition) -> ClaimNumbers:
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
        return judge(definition, {CLOSED_FORM_SEED: "no row with both a finite ELBO and log p"})
    gap = np.abs(elbo[ok] - ll[ok]) / np.maximum(1.0, np.abs(ll[ok]))
    worst = float(rows["n_latent"].to_numpy(float)[ok][int(np.argmax(gap))])
    setting = {f"{int(ok.sum())} values of k": {"worst k": worst}}
    return judge(
        definition, {CLOSED_FORM_SEED: {"max_relative_gap": float(gap.max())}}, (), setting
    )


def from_evidence(evidence: Evidence, definition: Definition) -> ClaimNumbers:
    """:func:`compute` on the runs, curves and tables a figure reads."""
    return compute(evidence.by_k, definition)


CLAIM = Claim(
    "C1",
    "optimal linear-VAE ELBO equals the pPCA MLE log-likelihood for every k",
    IMPLEMENTATION_CHECK,
    "both sides come from the same closed-form sums over the spectrum, so it cannot fail "
    "on working code; the version that could (an explicit optimum scored on the data "
    "against scikit-learn's PCA) is a test",
    (
        Definition(
            "C1/fig2",
            "likelihood_vs_k.csv: the linear-VAE optimum for every k (Figure 2)",
            "relative_gap",
            "relative, so that one tolerance serves every dataset",
            (
                requires(
                    "equal",
                    Criterion(
                        "max_relative_gap",
                        "largest relative gap over k",
                        "<",
                        1e-6,
                        "float64 sums agree to about 1e-12; a modelling error is far above 1e-6",
                    ),
                ),
            ),
            compute=from_evidence,
            **CLOSED_FORM,
        ),
    ),
)
