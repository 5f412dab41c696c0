"""Each claim's compute function on built per-seed tables: the per-seed statistics, the interval
over seeds, and the outcome (holds, fails, or cannot judge when the interval straddles the
threshold or fewer than the minimum seeds finished)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from paper_figures.claims import DEFINITIONS
from paper_figures.verdicts import (
    compute_c1,
    compute_c2,
    compute_c3,
    compute_c3_encoders,
    compute_c4,
    compute_c5,
    compute_c6,
)
from paper_figures.words import describe

D = 20
LAM = 10.0 * 0.7 ** np.arange(D)  # covariance eigenvalues, descending


def t_interval(values: list[float]) -> tuple[float, float]:
    """Independent reference: scipy's 95% Student-t interval for the mean."""
    sem = scipy_stats.sem(values)
    return scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sem)


# ---------------------------------------------------------------- C1, C2: closed form


def ppca_ll(k: int, sigma2: float | None) -> float:
    """Closed-form mean pPCA log-likelihood (Tipping & Bishop) for S = diag(LAM)."""
    if sigma2 is None:
        s2 = LAM[k:].mean()
        return -0.5 * (D * np.log(2 * np.pi) + np.log(LAM[:k]).sum() + (D - k) * np.log(s2) + D)
    c = np.full(D, sigma2)
    c[:k] = np.maximum(LAM[:k], sigma2)
    return -0.5 * (D * np.log(2 * np.pi) + np.log(c).sum() + (LAM / c).sum())


def sweep(elbo_offset: float = 0.0, ramp: float = 0.0) -> pd.DataFrame:
    rows = []
    for k in range(D):
        ll = ppca_ll(k, None)
        rows.append({"sigma2": None, "n_latent": k, "log_likelihood": ll, "elbo": ll + elbo_offset})
        ll = ppca_ll(k, 1.0) + ramp * k
        rows.append({"sigma2": 1.0, "n_latent": k, "log_likelihood": ll, "elbo": ll})
    return pd.DataFrame(rows)


def test_c1_is_an_exact_closed_form_check():
    good = compute_c1(sweep(), DEFINITIONS["C1/fig2"])
    (gap,) = good.values("max_relative_gap")
    assert good.holds is True and gap < 1e-12 and good.n == 1
    assert good.result("max_relative_gap").interval.method.startswith("exact")
    bad = compute_c1(sweep(elbo_offset=-0.5), DEFINITIONS["C1/fig2"])
    worst = max(0.5 / max(1.0, abs(ppca_ll(k, None))) for k in range(D))
    assert bad.holds is False and bad.values("max_relative_gap") == (pytest.approx(worst),)


def test_c2_measures_the_increments_around_the_plateau():
    c2 = DEFINITIONS["C2/fig2"]
    good = compute_c2(sweep(), LAM, c2)
    kstar = int(np.sum(LAM > 1.0))  # 7
    increments = np.diff([ppca_ll(k, 1.0) for k in range(D)])
    assert good.holds is True and good.by_setting["σ²=1"]["k*"] == kstar
    assert good.values("min_increment_before") == (pytest.approx(increments[:kstar].min()),)
    assert good.values("max_increment_after")[0] < 1e-12
    ramp = compute_c2(sweep(ramp=0.1), LAM, c2)
    assert ramp.holds is False and ramp.values("max_increment_after")[0] > 1e-3
    # linear_vae.sweep form: MLE σ² value in `sigma2`, flag in `sigma2_learned`
    flagged = sweep().assign(sigma2_learned=lambda d: d["sigma2"].isna())
    flagged.loc[flagged["sigma2_learned"], "sigma2"] = 2.5
    assert compute_c1(flagged, DEFINITIONS["C1/fig2"]).holds is True
    assert compute_c2(flagged, LAM, c2).holds is True
    short = compute_c2(sweep().query("n_latent <= 3"), LAM, c2)  # the grid ends before k*
    assert short.holds is None and short.n == 0 and "reaches k*" in short.reason


# ---------------------------------------------------------------- C5: the outcomes over seeds

SIGMA = [10.0, 1.0, 0.1, 0.01, 0.001]
FIXED = [1.0, 0.9, 0.5, 0.1, 0.0]  # collapse falls as σ² falls


def runs(collapse_by_seed: list[list[float]], mode: str = "fixed", steps: int = 2000):
    """collect_runs-like rows: one run per seed and σ² of SIGMA with these collapsed fractions."""
    rows = [
        {
            "run_dir": f"{mode}/{s}/{seed}",
            "sigma2": s,
            "sigma2_mode": mode,
            "seed": seed,
            "status": "completed",
            "step": steps,
            "latent_dim": 10,
            "collapse_integrated": c,
            "active_units": round(10 * (1 - c)),
        }
        for seed, collapse in enumerate(collapse_by_seed)
        for s, c in zip(SIGMA, collapse, strict=True)
    ]
    return pd.DataFrame(rows)


def runs_c5(learned_scale: list[float]) -> pd.DataFrame:
    """Fixed runs with FIXED collapse and learned runs whose collapse is FIXED × the seed's
    scale, so that the seed's reduction is exactly 1 − scale."""
    n = len(learned_scale)
    learned = [[f * c for c in FIXED] for f in learned_scale]
    return pd.concat([runs([FIXED] * n), runs(learned, "learned")], ignore_index=True)


@pytest.mark.parametrize(
    ("scale", "holds"),
    [
        ([0.20, 0.22, 0.18], True),  # reduction 0.80 ± 0.05: above 0.5
        ([0.90, 0.88, 0.92], False),  # reduction 0.10 ± 0.05: below 0.5
        ([0.70, 0.30, 0.45], None),  # reduction 0.52, interval (0.02, 1.0): straddles 0.5
    ],
    ids=["holds", "fails", "straddles"],
)
def test_c5_outcome_follows_the_interval_of_the_per_seed_reduction(scale, holds):
    numbers = compute_c5(runs_c5(scale), DEFINITIONS["C5/fig6"])
    reduction = [1 - f for f in scale]
    assert numbers.seeds == (0, 1, 2) and numbers.values("reduction") == pytest.approx(reduction)
    interval = numbers.result("reduction").interval
    assert (interval.low, interval.high) == pytest.approx(t_interval(reduction))
    assert (interval.n, interval.method) == (3, "Student t")
    assert numbers.result("reduction").holds is holds and numbers.holds is holds
    # the learned run from the largest initial σ² keeps FIXED[0] × scale
    assert numbers.values("left_at_largest") == pytest.approx(scale)


def test_two_seeds_cannot_judge_however_clear_they_are():
    numbers = compute_c5(runs_c5([0.2, 0.2]), DEFINITIONS["C5/fig6"])
    assert numbers.holds is None and numbers.n == 2
    assert numbers.reason == "fewer than 3 seeds finished: 2 (seed 0, 1)"
    assert numbers.values("reduction") == pytest.approx([0.8, 0.8])  # still computed
    assert numbers.result("reduction").interval is None


def test_c5_leaves_out_a_seed_with_a_missing_run_and_says_which():
    table = runs_c5([0.2, 0.22, 0.18, 0.2])
    unfinished = (
        (table["seed"] == 3) & (table["sigma2"] == 0.01) & (table["sigma2_mode"] == "learned")
    )
    table.loc[unfinished, "status"] = "failed"
    numbers = compute_c5(table, DEFINITIONS["C5/fig6"])
    assert numbers.seeds == (0, 1, 2) and numbers.holds is True
    assert numbers.left_out == {3: "no completed run for sigma2_mode=learned, σ²=0.01"}


def test_c5_needs_to_tell_fixed_from_learned():
    with pytest.raises(ValueError, match="sigma2_mode"):
        compute_c5(runs_c5([0.2] * 3).drop(columns="sigma2_mode"), DEFINITIONS["C5/fig6"])


# ---------------------------------------------------------------- C4


def test_c4_rises_and_tracks_on_every_seed():
    noisy = [[min(1.0, c + d) for c in FIXED] for d in (0.0, 0.01, 0.03)]
    numbers = compute_c4(runs(noisy), LAM, DEFINITIONS["C4/fig5"])
    assert numbers.holds is True and numbers.n == 3
    assert numbers.values("spearman_sigma2") == pytest.approx([1.0, 1.0, 1.0])
    assert numbers.values("overall_rise") == pytest.approx([1.0, 0.99, 0.97])
    # predicted collapsed fraction at σ² = 1: k = 10, #{λ > 1} = 7 → 0.3
    assert numbers.by_setting["σ²=1"]["predicted"] == pytest.approx(0.3)
    assert numbers.by_setting["σ²=1"]["collapse"] == pytest.approx(np.mean([0.9, 0.91, 0.93]))


def test_c4_fails_when_collapse_does_not_rise_and_straddles_with_one_odd_seed():
    zigzag = [0.0, 0.9, 0.1, 1.0, 0.5]
    fails = compute_c4(runs([zigzag] * 3), LAM, DEFINITIONS["C4/fig5"])
    assert fails.holds is False and fails.values("spearman_sigma2")[0] < 0.9
    odd = compute_c4(runs([FIXED, FIXED, zigzag]), LAM, DEFINITIONS["C4/fig5"])
    assert odd.result("spearman_sigma2").holds is None and odd.holds is None


def test_c4_monotone_with_heavy_ties_rises_through_its_second_way():
    ties = [1.0, 1.0, 1.0, 0.0, 0.0]
    numbers = compute_c4(runs([ties] * 3), LAM, DEFINITIONS["C4/fig5"])
    assert numbers.values("spearman_sigma2")[0] == pytest.approx(np.sqrt(0.75))  # < 0.9
    assert numbers.values("largest_drop") == (0.0, 0.0, 0.0)
    assert numbers.result("largest_drop").holds and numbers.result("overall_rise").holds


def test_c4_runs_too_short_and_learned_rows_are_not_judged():
    short = compute_c4(runs([FIXED] * 3, steps=100), LAM, DEFINITIONS["C4/fig5"])
    assert short.holds is None and short.n == 0 and len(short.too_short) == 15
    assert short.reason == "runs too short (< 1000 steps); fewer than 3 seeds finished: 0"
    mixed = pd.concat([runs([FIXED] * 3), runs([[0.0, 1.0, 0.0, 1.0, 0.0]] * 3, "learned")])
    assert compute_c4(mixed, LAM, DEFINITIONS["C4/fig5"]).holds is True  # learned rows ignored
    by_units = compute_c4(runs([FIXED] * 3), LAM, DEFINITIONS["C4/fig7"])
    assert by_units.by_setting["σ²=1"]["collapse"] == pytest.approx(0.9)  # 1 − 1/10


# ---------------------------------------------------------------- C3


def curves(group: str, noise: dict[str, float], end_gap: float = 0.0, seeds: int = 3):
    """ELBO curves approaching −500 − end_gap, one run per seed and value of ``group``."""
    rng = np.random.default_rng(0)
    steps = np.arange(0, 1000, 5)
    frames = []
    for seed in range(seeds):
        for name, sd in noise.items():
            value = (
                -500 - end_gap - 300 * np.exp(-steps / 80) + sd * rng.standard_normal(len(steps))
            )
            frames.append(
                pd.DataFrame(
                    {"run_dir": f"{name}/{seed}", group: name, "seed": seed, "step": steps}
                ).assign(metric="elbo", value=value)
            )
    return pd.concat(frames, ignore_index=True)


def test_c3_reaches_the_mle_and_the_analytic_curve_is_quieter():
    c3 = replace(DEFINITIONS["C3/fig3"], min_steps=0)
    good = compute_c3(curves("objective", {"analytic": 0.0, "stochastic": 2.0}), -500.0, c3)
    assert good.holds is True and good.n == 3
    assert all(g < 0.005 for g in good.values("max_relative_gap"))  # median of noise sd 2
    assert all(
        d == pytest.approx(-2.0 * np.sqrt(2), rel=0.3) for d in good.values("noise_difference")
    )
    noisier = compute_c3(curves("objective", {"analytic": 2.0, "stochastic": 0.0}), -500.0, c3)
    assert noisier.holds is False and noisier.result("noise_difference").holds is False
    far = compute_c3(curves("objective", {"analytic": 0.0, "stochastic": 2.0}, 50), -500.0, c3)
    assert far.holds is False and far.values("max_relative_gap") == pytest.approx([0.1] * 3, 0.02)
    only = curves("objective", {"analytic": 0.0})
    alone = compute_c3(only, -500.0, c3)
    assert alone.holds is None and alone.left_out[0] == "no completed run for objective=stochastic"
    full_length = compute_c3(
        curves("objective", {"analytic": 0, "stochastic": 2}), -500.0, DEFINITIONS["C3/fig3"]
    )
    assert full_length.holds is None and len(full_length.too_short) == 6  # 995 < 1000 steps


def test_c3_encoders_none_above_and_each_close():
    c3 = replace(DEFINITIONS["C3/fig4"], min_steps=0)
    two = curves("encoder", {"linear": 0.0, "mlp": 0.0})
    good = compute_c3_encoders(two, -500.0, ["linear", "mlp"], c3)
    tail = np.arange(0, 1000, 5)[-40:]  # the last fifth of the logged steps
    below = 300 * np.median(np.exp(-tail / 80)) / 500  # how far the noiseless tail stays below
    assert good.holds is True and good.values("max_excess") == pytest.approx([-below] * 3)
    beaten = compute_c3_encoders(two, -520.0, ["linear", "mlp"], c3)
    assert beaten.holds is False and beaten.values("max_excess") == pytest.approx(
        [(20 - 500 * below) / 520] * 3
    )
    missing = compute_c3_encoders(two, -500.0, ["linear", "deep_linear", "mlp"], c3)
    assert missing.holds is None and missing.n == 0


# ---------------------------------------------------------------- C6


def runs_c6(final_annealed_au: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per seed, an annealed run (80 active units of 100 at the end of annealing, then
    ``final_annealed_au``) and a run without annealing (20 active units)."""
    rows, frames = [], []
    steps = np.arange(0, 2001, 100)
    for seed, final in enumerate(final_annealed_au):
        for name, anneal, au in (("anneal", 500, final), ("plain", 0, 20)):
            rows.append(
                {
                    "run_dir": f"{name}/{seed}",
                    "sigma2": 1.0,
                    "likelihood": "gaussian_fixed",
                    "kl_anneal_steps": anneal,
                    "latent_dim": 100,
                    "seed": seed,
                    "status": "completed",
                    "step": 2000,
                    "active_units": au,
                }
            )
        units = np.where(steps <= 500, 80, np.linspace(80, final, len(steps)))
        frames.append(
            pd.DataFrame(
                {"run_dir": f"anneal/{seed}", "step": steps, "metric": "active_units"}
            ).assign(value=units)
        )
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)


def test_c6_annealing_only_delays_collapse():
    good = compute_c6(*runs_c6([22, 20, 24]), DEFINITIONS["C6/table1"])
    assert good.holds is True
    # collapse 0.2 at the end of annealing, final 1 − AU/100, 0.8 without annealing
    assert good.values("min_rebound") == pytest.approx([0.58, 0.60, 0.56])
    assert good.values("max_final_gap") == pytest.approx([0.02, 0.0, 0.04])
    setting = good.by_setting["gaussian_fixed, σ²=1"]
    assert setting["at end of annealing"] == pytest.approx(0.2)
    assert setting["end of annealing (step)"] == 500
    kept = compute_c6(*runs_c6([70, 72, 68]), DEFINITIONS["C6/table1"])
    assert kept.holds is False and kept.values("max_final_gap") == pytest.approx([0.5, 0.52, 0.48])


def test_c6_does_not_judge_settings_where_annealing_lowered_nothing():
    table, curves_ = runs_c6([22, 22, 22])
    flat = curves_.assign(value=20)  # as collapsed during annealing as without: nothing to delay
    numbers = compute_c6(table, flat, DEFINITIONS["C6/table1"])
    assert numbers.holds is None and numbers.n == 0
    assert numbers.by_setting["gaussian_fixed, σ²=1"]["judged"] == 0.0
    assert set(numbers.left_out) == {0, 1, 2}


# ---------------------------------------------------------------- words


def test_the_verdict_line_keeps_its_shape_and_carries_interval_and_n():
    numbers = compute_c5(runs_c5([0.2, 0.22, 0.18]), DEFINITIONS["C5/fig6"])
    verdict = describe(numbers)
    head = (
        "C5: reproduction: learning σ² removes most of the collapse; a large initial σ² leaves some"
    )
    assert verdict.line().startswith(f"{head}: holds (definition C5/fig6")
    assert str(numbers.result("reduction").interval) in verdict.detail
    assert "(Student t, n = 3)" in str(numbers.result("reduction").interval)
    c1 = describe(compute_c1(sweep(), DEFINITIONS["C1/fig2"]))
    assert c1.statement.startswith("implementation check: optimal linear-VAE ELBO")
