"""A run's effective σ²: the fixed σ² at which plain runs keep as many live latents as it does.

Plain fixed-σ² runs keep fewer live latents the larger σ² is. :func:`fit` fits a decreasing
isotonic regression of their live latents on log σ² (scikit-learn's
``IsotonicRegression(increasing=False)``; runs at the same σ², e.g. several seeds, are pooled), a
continuous piecewise-linear function through its thresholds. :meth:`LiveFit.invert` reads it
backwards for another run's live latents: one σ² where the fit falls through that count, the σ²
range where the fit is flat at it, or 'below the smallest σ²' / 'above the largest σ²' where the
run keeps more / fewer live latents than the fit does anywhere. Claim C8 reports it (not judged)
for each collapse mitigation, and Figure 9's table lists it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

from paper_figures.claims.judging import seed_label
from paper_figures.stats import Interval, mean_interval
from paper_figures.theme import fmt_value

BELOW = "below the smallest σ²"
ABOVE = "above the largest σ²"
#: live-latent counts this close are equal (k · (1 − fraction) carries float round-off)
TOLERANCE = 1e-9


@dataclass(frozen=True)
class EffectiveSigma2:
    """The σ² [data units²] at which the plain fit keeps a run's live latents: the range
    [``low``, ``high``], one value when ``low == high`` (the fit falls through the count), wider
    where the fit is flat at it. ``where`` is '' inside the fit's σ² range, :data:`BELOW`
    (``low`` = 0, ``high`` = the smallest σ²) or :data:`ABOVE` (``low`` = the largest σ²,
    ``high`` = inf) outside it."""

    low: float
    high: float
    where: str = ""

    @property
    def is_point(self) -> bool:
        """Whether it is one σ² inside the fit's range."""
        return not self.where and self.low == self.high

    def __str__(self) -> str:
        """e.g. '0.0316', '0.01 to 0.1 (flat fit)', 'below the smallest σ² (0.001)'."""
        if self.where == BELOW:
            return f"{BELOW} ({fmt_value(self.high)})"
        if self.where == ABOVE:
            return f"{ABOVE} ({fmt_value(self.low)})"
        if self.is_point:
            return f"{self.low:.3g}"
        return f"{self.low:.3g} to {self.high:.3g} (flat fit)"


@dataclass(frozen=True)
class LiveFit:
    """A non-increasing piecewise-linear fit of live latents [count] on log σ²: it keeps
    ``live[i]`` at ``log_sigma2[i]`` (ascending; σ² in data units²) and is linear in between."""

    log_sigma2: np.ndarray
    live: np.ndarray

    def at(self, sigma2: Sequence[float] | float) -> np.ndarray:
        """The fit's live latents at each σ² (constant beyond its ends)."""
        return np.interp(np.log(np.asarray(sigma2, dtype=float)), self.log_sigma2, self.live)

    def invert(self, live: float) -> EffectiveSigma2:
        """The σ² at which the fit keeps ``live`` latents (see :class:`EffectiveSigma2`)."""
        if not math.isfinite(live):
            raise ValueError(f"live must be a finite count of live latents, got {live!r}.")
        x, y = self.log_sigma2, self.live
        if live > y[0] + TOLERANCE:
            return EffectiveSigma2(0.0, math.exp(x[0]), BELOW)
        if live < y[-1] - TOLERANCE:
            return EffectiveSigma2(math.exp(x[-1]), math.inf, ABOVE)
        equal = np.flatnonzero(np.abs(y - live) <= TOLERANCE)
        if equal.size:  # contiguous, since y does not increase
            return EffectiveSigma2(math.exp(x[equal[0]]), math.exp(x[equal[-1]]))
        i = int(np.flatnonzero(y > live)[-1])  # y[i] > live > y[i + 1]
        share = (y[i] - live) / (y[i] - y[i + 1])
        sigma2 = math.exp(x[i] + share * (x[i + 1] - x[i]))
        return EffectiveSigma2(sigma2, sigma2)


def fit(sigma2: Sequence[float], live: Sequence[float]) -> LiveFit:
    """The decreasing isotonic fit of ``live`` latents [count] on log ``sigma2`` [data units²],
    one pair per plain fixed-σ² run (pairs with a NaN are left out)."""
    s2, count = np.asarray(sigma2, dtype=float), np.asarray(live, dtype=float)
    if s2.ndim != 1 or s2.shape != count.shape:
        raise ValueError(
            f"sigma2 and live must be 1-D and of one length (one pair per plain run), got shapes "
            f"{s2.shape} and {count.shape}."
        )
    ok = np.isfinite(s2) & np.isfinite(count)
    if not ok.any() or np.any(s2[ok] <= 0):
        raise ValueError(
            "need at least one plain run with a finite live-latent count and every σ² > 0, got "
            f"σ² {s2.tolist()} and live latents {count.tolist()}."
        )
    model = IsotonicRegression(increasing=False).fit(np.log(s2[ok]), count[ok])
    return LiveFit(np.asarray(model.X_thresholds_, float), np.asarray(model.y_thresholds_, float))


def log_interval(values: Sequence[EffectiveSigma2]) -> Interval | None:
    """The interval over seeds (:func:`paper_figures.stats.mean_interval`) of the mean of
    log σ²_eff, when every value is one σ² and there are at least two; else None."""
    if len(values) < 2 or not all(v.is_point for v in values):
        return None
    return mean_interval([math.log(v.low) for v in values])


def over_seeds(values: Sequence[EffectiveSigma2], seeds: Sequence[object]) -> str:
    """Effective σ² over seeds in words: 'exp(mean) [exp(low), exp(high)] (geometric mean,
    <method>, n = …)' of :func:`log_interval`, else the value every seed shares, else each
    seed's value."""
    interval = log_interval(values)
    if interval is None:
        if len(values) > 1 and len(set(values)) == 1:
            return f"{values[0]} (each of {len(values)} seeds)"
        return "; ".join(f"seed {seed_label(s)}: {v}" for s, v in zip(seeds, values, strict=True))
    low, mean, high = (math.exp(v) for v in (interval.low, interval.mean, interval.high))
    return (
        f"{mean:.3g} [{low:.3g}, {high:.3g}] (geometric mean, {interval.method}, n = {interval.n})"
    )
