"""A 95% interval for the mean of a statistic over seeds, with honest coverage at small n.

Below :data:`BOOTSTRAP_FROM` values it is Student's t interval, exact for normal data. From
:data:`BOOTSTRAP_FROM` on it is the studentized bootstrap (bootstrap-t) resampled with
``scipy.stats.bootstrap``: a plain percentile or BCa bootstrap of the mean covers only about
73% at n = 3 and 91% at n = 10 (normal data), because it ignores the uncertainty of the spread;
the bootstrap-t keeps about 95% at n = 10 and follows skewed distributions where t does not.

A statistic known only to a resolution h (a share of k latents: h = 1/k) adds the variance of that
rounding, h²/12 (Sheppard's correction), to the spread of its values, so that seeds which agree to
the last latent still give an interval as wide as the rounding; a statistic with bounds has its
interval clipped to them (:func:`clipped`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: the intervals' confidence level
CONFIDENCE = 0.95
#: from this many values on the interval is the bootstrap-t, below it Student's t
BOOTSTRAP_FROM = 10
#: bootstrap resamples; their generator is seeded so that a verdict is reproducible
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 0

STUDENT_T = "Student t"
BOOTSTRAP_T = "bootstrap-t"
EXACT = "exact: one deterministic value"


def is_over_seeds(method: str) -> bool:
    """Whether ``method`` names an interval over seeds (:data:`STUDENT_T` or
    :data:`BOOTSTRAP_T`, possibly with a resolution correction or clipping added)."""
    return method.startswith((STUDENT_T, BOOTSTRAP_T))


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a mean: ``low`` ≤ ``mean`` ≤ ``high``, from ``n`` values by
    ``method`` (:data:`STUDENT_T`, :data:`BOOTSTRAP_T` or :data:`EXACT`); same units as them."""

    mean: float
    low: float
    high: float
    method: str
    n: int

    def __str__(self) -> str:
        """e.g. '0.97 [0.93, 1.01] (Student t, n = 3)'."""
        if self.method == EXACT:
            return f"{self.mean:.3g} (exact, n = 1)"
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}] ({self.method}, n = {self.n})"


def exact(value: float) -> Interval:
    """The degenerate interval of one deterministic number (a closed-form result, no seeds)."""
    return Interval(float(value), float(value), float(value), EXACT, 1)


def mean_interval(values: Sequence[float], resolution: float = 0.0) -> Interval:
    """:data:`CONFIDENCE` interval for the mean of ``values`` (one per seed, finite, n ≥ 2).

    Student's t below :data:`BOOTSTRAP_FROM` values, the bootstrap-t from there on. With a
    ``resolution`` h > 0 (same units as the values) the variance of the values is taken as
    s² + h²/12 (Sheppard's correction) and the method says so; identical values then give the
    Student t interval of that variance (the bootstrap has no spread to resample). Identical
    values without a resolution give the zero-width interval at their value.
    """
    x, rounding = _per_seed(values, resolution)
    n, mean = int(x.size), float(x.mean())
    se = math.sqrt((float(x.var(ddof=1)) + rounding) / n)
    suffix = f" + Sheppard {_resolution_text(resolution)}" if resolution > 0 else ""
    if se == 0.0:
        method = STUDENT_T if n < BOOTSTRAP_FROM else BOOTSTRAP_T
        return Interval(mean, mean, mean, method, n)
    if n < BOOTSTRAP_FROM or np.ptp(x) == 0.0:
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
        return Interval(mean, mean - half, mean + half, STUDENT_T + suffix, n)
    t_low, t_high = _bootstrap_t_quantiles(x, mean, rounding)
    return Interval(mean, mean - t_high * se, mean - t_low * se, BOOTSTRAP_T + suffix, n)


def _per_seed(values: Sequence[float], resolution: float) -> tuple[np.ndarray, float]:
    """``values`` (one per seed) as an array, and the variance their ``resolution`` adds,
    h²/12 (Sheppard's correction); ValueError unless there are at least 2 finite values and the
    resolution is a finite number ≥ 0."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(
            f"values must be a 1-D sequence of at least 2 finite numbers (one per seed), got "
            f"{x.size} value(s) of shape {x.shape}; with one value use exact()."
        )
    if not (math.isfinite(resolution) and resolution >= 0.0):
        raise ValueError(
            f"resolution must be a finite number ≥ 0 (0: values known exactly), got {resolution!r}."
        )
    return x, resolution**2 / 12.0


#: the most seeds :func:`seeds_to_decide` looks for
MOST_SEEDS = 1000


def seeds_to_decide(
    values: Sequence[float], threshold: float, resolution: float = 0.0
) -> int | None:
    """How many seeds would put the threshold outside Student's t interval of the mean, if the
    mean and spread of ``values`` (one per seed, n ≥ 2; spread with the Sheppard term of
    ``resolution``, as in :func:`mean_interval`) stayed as they are: the least n with
    t(n − 1) · s / √n < |mean − threshold|; None when no n up to :data:`MOST_SEEDS` would (the
    mean on the threshold, or too close to it). A planning figure, not a verdict."""
    x, rounding = _per_seed(values, resolution)
    gap = abs(float(x.mean()) - threshold)
    spread = math.sqrt(float(x.var(ddof=1)) + rounding)
    n = np.arange(2, MOST_SEEDS + 1)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * spread / np.sqrt(n)
    enough = np.flatnonzero(half < gap)
    return int(n[enough[0]]) if enough.size else None


def clipped(interval: Interval, bounds: tuple[float, float]) -> Interval:
    """``interval`` with its ends clipped to ``bounds`` (low, high), the values its statistic can
    take; its method says so when it is an interval over seeds (an exact value is left as is)."""
    if not is_over_seeds(interval.method):
        return interval
    low, high = bounds
    return Interval(
        interval.mean,
        min(max(interval.low, low), high),
        max(min(interval.high, high), low),
        f"{interval.method}, clipped to [{low:g}, {high:g}]",
        interval.n,
    )


def _resolution_text(resolution: float) -> str:
    """e.g. '1/32' for 0.03125 (one latent of 32), else the number."""
    whole = 1.0 / resolution
    return f"1/{whole:.0f}" if abs(whole - round(whole)) < 1e-9 else f"{resolution:g}"


def _bootstrap_t_quantiles(x: np.ndarray, mean: float, rounding: float) -> tuple[float, float]:
    """Quantiles (1 ∓ CONFIDENCE)/2 of t* = (mean* − mean) / se* over bootstrap resamples, with
    se*² = (s*² + ``rounding``) / n (``rounding``: the variance a resolution adds, else 0).

    Resamples without spread (every draw the same value, no rounding) carry no t* and are left
    out.
    """

    def t_star(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        spread = np.sqrt((sample.var(axis=axis, ddof=1) + rounding) / sample.shape[axis])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(spread > 0, (sample.mean(axis=axis) - mean) / spread, np.nan)

    with warnings.catch_warnings():  # scipy's own interval is NaN then; the quantiles below are not
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            (x,),
            t_star,
            n_resamples=BOOTSTRAP_RESAMPLES,
            method="percentile",
            vectorized=True,
            random_state=np.random.default_rng(BOOTSTRAP_SEED),
        )
    draws = result.bootstrap_distribution
    draws = draws[np.isfinite(draws)]
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(low), float(high)
