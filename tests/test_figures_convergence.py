"""The convergence criterion on built metric tables: converged, still rising, collapse still
moving, a late escape from the collapsed start; and the verdict reason it gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from paper_figures.claims.convergence import (
    check_run,
    check_runs,
    not_converged_reason,
    total_variance_per_dim,
)
from paper_figures.claims.table import DEFINITIONS

CRITERION = DEFINITIONS["C4a/fig5"].convergence  # ELBO, collapse and escape
STEPS = np.arange(100, 2001, 100)  # 20 evaluations; the last 20% start at step 1600
TOTAL_VARIANCE = 0.05  # data units² per dimension


def metrics(
    elbo: np.ndarray,
    collapse: np.ndarray | float = 0.5,
    sigma2_optimal: np.ndarray | float = 0.01,
    run_dir: str = "run",
) -> pd.DataFrame:
    """A long training-curve table of one run, as results.training_curves writes it."""
    columns = {"elbo": elbo, "collapsed_fraction": collapse, "sigma2_optimal": sigma2_optimal}
    return pd.concat(
        [
            pd.DataFrame({"run_dir": run_dir, "step": STEPS, "metric": m, "value": v})
            for m, v in columns.items()
        ],
        ignore_index=True,
    )


def share(elbo: np.ndarray) -> float:
    """Independent reference: |E(2000) − E(1600)| / |E(2000) − E(100)|."""
    at = dict(zip(STEPS, elbo, strict=True))
    return abs(at[2000] - at[1600]) / abs(at[2000] - at[100])


def test_an_exponential_approach_has_converged():
    elbo = -100 - 500 * np.exp(-STEPS / 300)  # time constant 300 steps of 2,000
    check = check_run(metrics(elbo), CRITERION, TOTAL_VARIANCE)
    assert check.converged and check.why == ""
    assert check.elbo_share == pytest.approx(share(elbo))
    assert check.elbo_share < 0.01 and check.collapse_change == 0.0
    assert check.escape_step == 100  # σ²_optimal 0.01 < 0.95 × 0.05 from the first evaluation


def test_a_still_rising_elbo_has_not_converged():
    elbo = -600 + 0.25 * STEPS  # a straight rise: 400 of 1,900 steps in the window
    check = check_run(metrics(elbo), CRITERION, TOTAL_VARIANCE)
    assert not check.converged
    assert check.elbo_share == pytest.approx(400 / 1900) == pytest.approx(share(elbo))
    assert check.why == "the ELBO made 21% of its change in the last 20% of the steps"


def test_a_flat_curve_whose_jitter_is_below_the_floor_has_converged():
    # every latent collapsed: the ELBO wanders by hundredths of a nat, half of it in the window
    elbo = -2054.6 + np.where(STEPS < 1700, 0.0, 0.01) - 0.01 * (STEPS == 100)
    check = check_run(metrics(elbo, 1.0, TOTAL_VARIANCE), CRITERION, TOTAL_VARIANCE)
    assert check.elbo_share == pytest.approx(0.5) and check.converged
    assert CRITERION.elbo_floor.value == 0.5  # nats: C3a's tolerance


def test_a_collapse_still_moving_in_the_window_has_not_converged():
    elbo = -100 - 500 * np.exp(-STEPS / 300)
    collapse = np.where(STEPS < 1600, 0.50, 0.50 - 0.01 * (STEPS - 1500) / 100)  # 0.49 → 0.45
    check = check_run(metrics(elbo, collapse), CRITERION, TOTAL_VARIANCE)
    assert not check.converged and check.collapse_change == pytest.approx(0.04)
    assert "collapsed fraction moved by 0.04" in check.why


def test_a_late_escape_from_the_collapsed_start_has_not_converged():
    # the model reconstructs by the mean (σ²_optimal = the total variance) until step 1,800
    optimal = np.where(STEPS < 1800, TOTAL_VARIANCE, 0.5 * TOTAL_VARIANCE)
    elbo = np.where(STEPS < 1800, -300.0, -299.9)  # the ELBO barely shows it
    collapse = np.where(STEPS < 1800, 1.0, 0.99)
    check = check_run(metrics(elbo, collapse, optimal), CRITERION, TOTAL_VARIANCE)
    assert check.escape_step == 1800 and not check.converged
    assert check.why.endswith("it escaped its collapsed start only at step 1800")
    # the same run escaping at step 300 has converged; one that never escapes is reported
    early = np.where(STEPS < 300, TOTAL_VARIANCE, 0.5 * TOTAL_VARIANCE)
    assert check_run(metrics(elbo * 0 - 300, 1.0, early), CRITERION, TOTAL_VARIANCE).converged
    never = check_run(metrics(elbo * 0 - 300, 1.0, TOTAL_VARIANCE), CRITERION, TOTAL_VARIANCE)
    assert never.converged and never.escape_step == math.inf
    # without the data's variance the escape is not checked
    assert math.isnan(check_run(metrics(elbo, collapse, optimal), CRITERION).escape_step)


def test_the_reason_names_the_runs_and_suggests_twice_the_longest():
    rising = metrics(-600 + 0.25 * STEPS, run_dir="a")
    settled = metrics(-100 - 500 * np.exp(-STEPS / 300), run_dir="b")
    runs = pd.DataFrame({"run_dir": ["a", "b"], "run_name": ["fig5/σ²=1", "fig5/σ²=10"]})
    checks = check_runs(runs, pd.concat([rising, settled]), CRITERION, TOTAL_VARIANCE)
    assert [c.converged for c in checks.values()] == [False, True]
    assert not_converged_reason(list(checks.values()), CRITERION) == (
        "not converged: 1 runs, fig5/σ²=1 (the ELBO made 21% of its change in the last 20% of the "
        "steps); run them for ≥ 4000 steps (trainer.max_steps=4000)"
    )
    assert not_converged_reason([checks["b"]], CRITERION) == ""
    # a run without any logged ELBO cannot be shown converged
    lost = check_runs(runs.assign(run_dir=["a", "gone"]), rising, CRITERION)["gone"]
    assert not lost.converged and lost.why == "no ELBO logged"


def test_total_variance_per_dimension_is_the_eigenvalue_mean_over_d():
    lam = np.array([3.0, 1.0, 0.0, 0.0])
    assert total_variance_per_dim(lam, 4) == 1.0
    with pytest.raises(ValueError, match="data_dim must be the data's dimension"):
        total_variance_per_dim(lam, 0)
