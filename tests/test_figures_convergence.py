"""The convergence band on built metric tables (how far a run may still move, by whole latents;
a missing window row; the escape from the collapsed start) and the decision against it: a band
that changes the outcome blocks, one that cannot does not, a run still on its collapsed start
blocks where the linear theory has live latents."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from paper_figures.claims.convergence import (
    RunConvergence,
    band_of,
    check_run,
    check_runs,
    total_variance_per_dim,
)
from paper_figures.claims.deciding import settle
from paper_figures.claims.judging import judge
from paper_figures.claims.measures import BY_NAME
from paper_figures.claims.table import DEFINITIONS

C4A = DEFINITIONS["C4a/fig5"]
CRITERION = C4A.convergence  # band and escape
MOVES = BY_NAME["eps_delta"].moves  # the collapsed fraction
STEPS = np.arange(0, 2001, 100)  # step 0 is logged; the last 20% start at step 1600
TOTAL_VARIANCE = 0.05  # data units² per dimension
K = 32


def metrics(
    elbo: np.ndarray,
    collapse: np.ndarray | float = 0.5,
    sigma2_optimal: np.ndarray | float = 0.01,
    run_dir: str = "run",
    steps: np.ndarray = STEPS,
) -> pd.DataFrame:
    """A long training-curve table of one run, as results.training_curves writes it."""
    columns = {"elbo": elbo, "collapsed_fraction": collapse, "sigma2_optimal": sigma2_optimal}
    return pd.concat(
        [
            pd.DataFrame({"run_dir": run_dir, "step": steps, "metric": m, "value": v})
            for m, v in columns.items()
        ],
        ignore_index=True,
    )


SETTLED_ELBO = -100 - 500 * np.exp(-STEPS / 300)


def test_the_band_is_three_times_the_windows_move_in_whole_latents():
    assert CRITERION.band_factor.value == 3.0 and CRITERION.window.value == 0.2
    # one latent of 32 crossed ε in the window: 3 latents may still cross
    assert band_of(-1 / K, 3.0, True, K) == pytest.approx(-3 / K)
    # a tenth of a latent (a mean over runs) still rounds up to a whole latent
    assert band_of(0.1 / K, 3.0, True, K) == pytest.approx(1 / K)
    assert band_of(0.0, 3.0, True, K) == 0.0
    assert band_of(-0.25, 3.0, False, K) == pytest.approx(-0.75)  # nats are not rounded
    # a fraction stops at its bounds: from 0.79 it can rise by 0.21 at most, fall by 0.79
    assert band_of(0.35, 3.0, True, K, last=0.79) == pytest.approx(0.21)
    assert band_of(-0.35, 3.0, True, K, last=0.79) == pytest.approx(-0.79)
    assert band_of(0.35, 3.0, False, K, last=0.79) == pytest.approx(1.05)  # nats: no bounds


def test_a_run_still_collapsing_has_a_band_in_its_direction():
    collapse = np.where(STEPS < 1600, 0.50, 0.50 + (STEPS - 1600) / 400 * 2 / K)  # +2 latents
    check = check_run(metrics(SETTLED_ELBO, collapse), CRITERION, MOVES, TOTAL_VARIANCE, k=K)
    assert check.window_start == 1600 and check.steps == 2000
    assert check.band == {"collapsed_fraction": pytest.approx(6 / K)}
    assert check.moving and check.missing == "" and check.converged
    assert check.escape_step == 0  # σ²_optimal 0.01 < 0.95 × 0.05 from step 0
    flat = check_run(metrics(SETTLED_ELBO), CRITERION, MOVES, TOTAL_VARIANCE, k=K)
    assert flat.band == {"collapsed_fraction": 0.0} and not flat.moving


def test_a_missing_window_row_is_reported_not_skipped():
    curves = metrics(SETTLED_ELBO)
    no_row = curves[~((curves["metric"] == "collapsed_fraction") & (curves["step"] == 1600))]
    check = check_run(no_row, CRITERION, MOVES, TOTAL_VARIANCE, k=K)
    assert check.missing == "no collapsed_fraction logged at step 1600"
    assert check.band == {}
    runs = pd.DataFrame({"run_dir": ["run", "gone"], "latent_dim": [K, K]})
    lost = check_runs(runs, curves, CRITERION, MOVES)["gone"]
    assert lost.missing == "no ELBO logged"


def test_the_escape_from_the_collapsed_start():
    late = np.where(STEPS < 1800, TOTAL_VARIANCE, 0.5 * TOTAL_VARIANCE)
    check = check_run(metrics(SETTLED_ELBO, 1.0, late), CRITERION, MOVES, TOTAL_VARIANCE, k=K)
    assert check.escape_step == 1800
    never = check_run(
        metrics(SETTLED_ELBO, 1.0, TOTAL_VARIANCE), CRITERION, MOVES, TOTAL_VARIANCE, k=K
    )
    assert never.escape_step == math.inf
    assert math.isnan(check_run(metrics(SETTLED_ELBO), CRITERION, MOVES, k=K).escape_step)


def test_total_variance_per_dimension_is_the_eigenvalue_mean_over_d():
    lam = np.array([3.0, 1.0, 0.0, 0.0])
    assert total_variance_per_dim(lam, 4) == 1.0
    with pytest.raises(ValueError, match="data_dim must be the data's dimension"):
        total_variance_per_dim(lam, 0)


# ---------------------------------------------------------------- the decision


def numbers_with(checks: list[RunConvergence], falls: list[float]):
    """C4a's numbers from per-seed largest falls (rises fixed at 0.8), with the runs' checks."""
    per_seed = {s: {"largest_fall": f, "overall_rise": 0.8} for s, f in enumerate(falls)}
    numbers = judge(C4A, per_seed)
    return numbers.__class__(**{**numbers.__dict__, "convergence": tuple(checks)})


def run(name: str, band: float, escape: float = 100.0) -> RunConvergence:
    return RunConvergence(name, name, 2000.0, 1600.0, {"collapsed_fraction": band}, escape)


def falls_with(moved, base: list[float], effect: dict[str, tuple[int, float]]) -> list[float]:
    """The per-seed falls when the ``moved`` runs sit at their band's end: each run adds its
    effect to one seed's fall (an independent re-statement of what moving it does)."""
    falls = list(base)
    for check in moved:
        seed, delta = effect[check.run_dir]
        falls[seed] += delta
    return falls


def outcome_of(base, effect):
    return lambda moved: (
        judge(
            C4A,
            {
                s: {"largest_fall": f, "overall_rise": 0.8}
                for s, f in enumerate(falls_with(moved, base, effect))
            },
        ).holds
    )


RUNS = pd.DataFrame(
    {
        "run_dir": ["a", "b", "c"],
        "sigma2": [1.0, 1.0, 20.0],
        "sigma2_final": [1.0, 1.0, 20.0],
        "latent_dim": [K, K, K],
    }
)
LAM = np.array([10.0, 5.0, 2.0, 0.5, 0.1])


def test_a_band_that_cannot_change_the_outcome_does_not_block():
    base = [0.0, 0.005, 0.01]  # falls far below 0.05: C4a holds
    checks = [run("a", 1 / K), run("b", 0.0), run("c", 0.0)]
    effect = {"a": (0, 0.005)}  # a little more fall in seed 0: still far below
    numbers = numbers_with(checks, base)
    assert numbers.holds is True
    decided = settle(numbers, RUNS, LAM, outcome_of(base, effect))
    assert decided.holds is True and not decided.blocked and decided.as_it_stands is None


def test_a_band_that_changes_the_outcome_blocks_and_names_only_that_run():
    base = [0.03, 0.03, 0.03]  # interval well below 0.05 with the 1/k rounding: holds
    checks = [run("a", 3 / K), run("b", 1 / K), run("c", 0.0)]
    effect = {"a": (0, 3 / K), "b": (1, 1 / K / 10)}  # a's three latents lift seed 0's fall
    numbers = numbers_with(checks, base)
    assert numbers.holds is True
    outcome = outcome_of(base, effect)
    assert outcome([checks[0]]) is not True and outcome([checks[1]]) is True
    decided = settle(numbers, RUNS, LAM, outcome)
    assert decided.holds is None and decided.as_it_stands is True
    assert [c.run_dir for c in decided.convergence if c.blocks] == ["a"]
    assert decided.reason.startswith("not converged: 1 of 3 runs could still change it, a (")
    assert decided.reason.endswith("as it stands it would hold")


def test_runs_that_change_it_only_together_are_all_named():
    base = [0.03, 0.03, 0.03]
    checks = [run("a", 1 / K), run("b", 1 / K), run("c", 0.0)]
    # each alone lifts every seed a little; together they cross the threshold
    effect = {"a": (0, 0.012), "b": (0, 0.012)}

    def outcome(moved):
        lift = 0.012 * len(moved)
        falls = [f + lift for f in base]
        return judge(
            C4A, {s: {"largest_fall": f, "overall_rise": 0.8} for s, f in enumerate(falls)}
        ).holds

    assert outcome([checks[0]]) is True and outcome(checks[:2]) is not True
    decided = settle(numbers_with(checks, base), RUNS, LAM, outcome)
    assert sorted(c.run_dir for c in decided.convergence if c.blocks) == ["a", "b"]
    del effect


def test_a_run_still_on_its_collapsed_start_blocks_where_the_theory_has_live_latents():
    base = [0.0, 0.0, 0.0]
    never = math.inf
    checks = [run("a", 0.0, escape=never), run("b", 0.0), run("c", 0.0, escape=never)]
    numbers = numbers_with(checks, base)
    decided = settle(numbers, RUNS, LAM, lambda moved: numbers.holds)
    blocked = {c.run_dir: c.blocks for c in decided.convergence if c.blocks}
    # σ² = 1: three eigenvalues above it; σ² = 20 is above every eigenvalue, so c is at its optimum
    assert blocked == {
        "a": "still on the collapsed start: the linear theory keeps 3 live latents at σ²=1"
    }
    assert decided.holds is None and decided.as_it_stands is True
