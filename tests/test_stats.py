"""The interval over seeds: Student t below 10 values, bootstrap-t from 10 on, ~95% coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from paper_figures import stats
from paper_figures.stats import BOOTSTRAP_T, EXACT, STUDENT_T, exact, mean_interval

SAMPLES = 2000  # simulated data sets per coverage check: its standard error is about 0.005


def coverage(draw, true_mean: float, n: int) -> float:
    """Share of SAMPLES intervals from n draws that contain the true mean."""
    data = draw(np.random.default_rng(n), (SAMPLES, n))
    return float(np.mean([(i.low <= true_mean <= i.high) for i in map(mean_interval, data)]))


def test_three_seeds_get_student_t_with_95_percent_coverage_on_normal_data():
    assert mean_interval([1.0, 2.0, 4.0]).method == STUDENT_T
    assert 0.93 <= coverage(lambda g, s: g.normal(2.0, 3.0, s), 2.0, 3) <= 0.97


@pytest.mark.parametrize(
    ("draw", "true_mean"),
    [
        (lambda g, s: g.normal(2.0, 3.0, s), 2.0),
        (lambda g, s: g.exponential(1.0, s), 1.0),  # skewed: a t interval covers ~90% here
    ],
    ids=["normal", "exponential"],
)
def test_ten_seeds_get_the_bootstrap_t_with_95_percent_coverage(monkeypatch, draw, true_mean):
    # 1,999 resamples instead of 9,999 keep the check fast; fewer resamples only add noise to
    # the interval's ends, so the coverage of the full method is no lower.
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 1999)
    assert mean_interval(np.arange(10.0)).method == BOOTSTRAP_T
    assert 0.93 <= coverage(draw, true_mean, 10) <= 0.97


def test_student_t_interval_equals_scipys():
    values = [0.81, 0.78, 0.9, 0.85]
    low, high = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    interval = mean_interval(values)
    assert (interval.low, interval.high, interval.n) == (pytest.approx(low), pytest.approx(high), 4)
    assert interval.mean == pytest.approx(np.mean(values))


def test_identical_values_give_a_zero_width_interval_at_their_value():
    for n in (3, 12):
        interval = mean_interval([0.5] * n)
        assert (interval.low, interval.mean, interval.high) == (0.5, 0.5, 0.5)


def test_the_bootstrap_is_reproducible_and_survives_heavy_ties():
    values = [1.0] * 8 + [0.9, 0.95]  # a fifth of the resamples have no spread
    first, second = mean_interval(values), mean_interval(values)
    assert first == second and np.isfinite([first.low, first.high]).all()
    assert first.low < first.mean < first.high


def test_exact_is_one_deterministic_value():
    interval = exact(3.0)
    assert (interval.low, interval.high, interval.n, interval.method) == (3.0, 3.0, 1, EXACT)
    assert str(interval) == "3 (exact, n = 1)"


@pytest.mark.parametrize("values", [[1.0], [1.0, float("nan")], [[1.0, 2.0], [3.0, 4.0]]])
def test_bad_values_are_refused_with_the_fix(values):
    with pytest.raises(ValueError, match="at least 2 finite numbers"):
        mean_interval(values)


# ---------------------------------------------------------------- a resolution, and bounds


def sheppard_t(values: list[float], k: int) -> tuple[float, float]:
    """Independent reference: scipy's 95% t interval with variance s² + (1/k)²/12."""
    n = len(values)
    s2 = np.var(values, ddof=1) + (1.0 / k) ** 2 / 12.0
    return scipy_stats.t.interval(0.95, n - 1, loc=np.mean(values), scale=np.sqrt(s2 / n))


def test_a_resolution_adds_sheppards_variance_to_the_t_interval():
    values = [0.25, 0.3125, 0.21875]  # shares of 32 latents
    interval = mean_interval(values, resolution=1 / 32)
    assert (interval.low, interval.high) == pytest.approx(sheppard_t(values, 32), rel=1e-12)
    assert interval.method == "Student t + Sheppard 1/32"
    plain = mean_interval(values)
    assert interval.high - interval.low > plain.high - plain.low


def test_identical_shares_of_latents_give_a_non_zero_width():
    for n in (3, 12):  # from 10 on too: the bootstrap has no spread to resample
        interval = mean_interval([0.5] * n, resolution=0.1)
        assert (interval.low, interval.high) == pytest.approx(sheppard_t([0.5] * n, 10))
        assert interval.low < 0.5 < interval.high and interval.method == "Student t + Sheppard 1/10"


def test_ten_shares_of_latents_get_the_bootstrap_t_of_the_corrected_spread():
    values = np.array([0.5, 0.6, 0.5, 0.4, 0.5, 0.7, 0.5, 0.6, 0.5, 0.4])
    interval = mean_interval(values, resolution=0.1)
    assert interval.method == "bootstrap-t + Sheppard 1/10"
    # reference: t* = (mean* − mean) / se* with se*² = (s*² + 0.1²/12) / n over the same seeded
    # resamples, and the interval mean − t*_(0.975) se, mean − t*_(0.025) se
    mean, rounding = values.mean(), 0.01 / 12
    draws = scipy_stats.bootstrap(
        (values,),
        lambda x, axis=-1: (
            (x.mean(axis=axis) - mean)
            / np.sqrt((x.var(axis=axis, ddof=1) + rounding) / x.shape[axis])
        ),
        n_resamples=stats.BOOTSTRAP_RESAMPLES,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(stats.BOOTSTRAP_SEED),
    ).bootstrap_distribution
    t_low, t_high = np.quantile(draws, [0.025, 0.975])
    se = np.sqrt((values.var(ddof=1) + rounding) / values.size)
    assert (interval.low, interval.high) == pytest.approx((mean - t_high * se, mean - t_low * se))


def test_clipped_keeps_the_interval_inside_the_bounds_and_says_so():
    interval = stats.clipped(mean_interval([0.0, 0.0, 1 / 32], resolution=1 / 32), (0.0, 1.0))
    low, high = sheppard_t([0.0, 0.0, 1 / 32], 32)
    assert low < 0 and (interval.low, interval.high) == (0.0, pytest.approx(high))
    assert interval.method == "Student t + Sheppard 1/32, clipped to [0, 1]"
    inside = stats.clipped(mean_interval([0.4, 0.5, 0.6]), (0.0, 1.0))
    assert (inside.low, inside.high) == pytest.approx(t_reference([0.4, 0.5, 0.6]))
    assert stats.clipped(exact(3.0), (0.0, 1.0)) == exact(3.0)  # not an interval over seeds


def t_reference(values: list[float]) -> tuple[float, float]:
    return scipy_stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )


def test_a_negative_resolution_is_refused():
    with pytest.raises(ValueError, match="resolution must be a finite number ≥ 0"):
        mean_interval([1.0, 2.0], resolution=-0.1)


def _like(values: list[float], n: int) -> np.ndarray:
    """n values with the mean and sample standard deviation of ``values``."""
    z = np.arange(n, dtype=float)
    z = (z - z.mean()) / z.std(ddof=1)
    return np.mean(values) + np.std(values, ddof=1) * z


def test_seeds_to_decide_is_the_least_n_whose_t_interval_leaves_the_threshold():
    values = [0.44, 0.01, 0.48]  # mean 0.31, its t interval on 3 seeds reaches below 0.1
    assert mean_interval(values).low < 0.1
    n = stats.seeds_to_decide(values, 0.1)
    assert n == 9  # checked below against mean_interval itself, Student t up to 9 values
    assert mean_interval(_like(values, n)).low > 0.1
    assert mean_interval(_like(values, n - 1)).low <= 0.1
    # a resolution widens the spread, so it takes more seeds; a mean on the threshold never does
    assert stats.seeds_to_decide(values, 0.1, resolution=0.5) > n
    assert stats.seeds_to_decide([0.0, 0.2], 0.1) is None
    with pytest.raises(ValueError, match="at least 2 finite numbers"):
        stats.seeds_to_decide([0.3], 0.1)
