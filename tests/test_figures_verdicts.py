"""Each claim's compute function on built per-seed tables and curves: the per-seed statistics,
the interval over seeds, and the outcome (holds, fails, or cannot judge when the interval
straddles the threshold, fewer than the minimum seeds finished, a learned σ² could not reach the
pPCA MLE σ², or a run had not converged)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

import linear_vae
from lucas2019 import analytic
from lucas2019.reproduce import _mle_row
from paper_figures.claims.c1 import compute as compute_c1
from paper_figures.claims.c2 import compute as compute_c2
from paper_figures.claims.c3a import compute_fig3 as compute_c3a
from paper_figures.claims.c3a import compute_fig4 as compute_c3_encoders
from paper_figures.claims.c3b import compute as compute_c3b
from paper_figures.claims.c4a import compute as compute_c4a
from paper_figures.claims.c4b import compute as compute_c4b
from paper_figures.claims.c5 import compute as compute_c5
from paper_figures.claims.c5 import ppca_mle_sigma2, sigma2_reach
from paper_figures.claims.c6 import compute as compute_c6
from paper_figures.claims.deciding import decide
from paper_figures.claims.elbo_runs import steps_to_tolerance
from paper_figures.claims.evidence import Evidence, Inputs
from paper_figures.claims.table import DEFINITIONS
from paper_figures.stats import seeds_to_decide
from paper_figures.theme import fmt_value
from paper_figures.verdict_record import record

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


# ---------------------------------------------------------------- built runs and curves

SIGMA = [10.0, 1.0, 0.1, 0.01, 0.001]
FIXED = [1.0, 0.9, 0.5, 0.1, 0.0]  # collapse falls as σ² falls
K = 10
EVALUATIONS = np.arange(100, 2001, 100)


def runs(
    collapse_by_seed: list[list[float]],
    mode: str = "fixed",
    steps: int = 2000,
    sigma2_optimal: float | None = None,
    sigma: list[float] = SIGMA,
    k: int = K,
) -> pd.DataFrame:
    """collect_runs-like rows: one run per seed and σ² of SIGMA whose collapsed fraction is the
    given one under every measure (MI 5 nats per live share). A learned σ² starts at its optimum
    unless ``sigma2_optimal`` says where the optimum ended."""
    rows = [
        {
            "run_dir": f"{mode}/{s}/{seed}",
            "sigma2": s,
            "sigma2_mode": mode,
            "seed": seed,
            "status": "completed",
            "step": steps,
            "lr": 5e-4,
            "sigma2_optimal": s if sigma2_optimal is None else sigma2_optimal,
            "latent_dim": k,
            "collapsed_fraction": c,
            "collapse_integrated": c,
            "active_units": round(k * (1 - c)),
            "mutual_information": 5.0 * (1 - c),
        }
        for seed, collapse in enumerate(collapse_by_seed)
        for s, c in zip(sigma, collapse, strict=True)
    ]
    return pd.DataFrame(rows)


def settled(table: pd.DataFrame) -> pd.DataFrame:
    """Converged curves for every run of ``table``: the ELBO approaches its end with a time
    constant of 200 steps; the collapse measures sit at their final values."""
    frames = []
    for _, run in table.drop_duplicates("run_dir").iterrows():
        metrics = {
            "elbo": -100 - 500 * np.exp(-EVALUATIONS / 200),
            "collapsed_fraction": run["collapsed_fraction"],
            "active_units": run["active_units"],
        }
        for metric, value in metrics.items():
            frames.append(
                pd.DataFrame(
                    {"run_dir": run["run_dir"], "step": EVALUATIONS, "value": value}
                ).assign(metric=metric)
            )
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- C5: the outcomes over seeds


def runs_c5(learned_scale: list[float]) -> pd.DataFrame:
    """Fixed runs with FIXED collapse and learned runs whose collapse is FIXED × the seed's
    scale, so that the seed's reduction is exactly 1 − scale. σ² learns at 0.1, so from every
    initial σ² of SIGMA it could reach the MLE σ² of LAM in half of 2,000 steps."""
    n = len(learned_scale)
    learned = [[f * c for c in FIXED] for f in learned_scale]
    table = pd.concat([runs([FIXED] * n), runs(learned, "learned")], ignore_index=True)
    return table.assign(lr=0.1)


def c5(table: pd.DataFrame, key: str = "C5/fig6"):
    return compute_c5(table, settled(table), DEFINITIONS[key], LAM)


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
    numbers = c5(runs_c5(scale))
    reduction = [1 - f for f in scale]
    assert numbers.seeds == (0, 1, 2) and numbers.values("reduction") == pytest.approx(reduction)
    interval = numbers.result("reduction").interval
    assert (interval.low, interval.high) == pytest.approx(t_interval(reduction))
    assert (interval.n, interval.method) == (3, "Student t")
    assert numbers.result("reduction").holds is holds and numbers.holds is holds
    # the learned run from the largest initial σ² keeps FIXED[0] × scale
    assert numbers.values("left_at_largest") == pytest.approx(scale)
    if holds is None:  # the reason names the interval and the seeds that would decide it
        mean, low, high = (fmt_value(v) for v in (np.mean(reduction), *t_interval(reduction)))
        assert numbers.reason.startswith("the interval straddles the threshold; reduction = ")
        assert (
            f"reduction = {mean} [{low}, {high}] against >= 0.5 (about "
            f"{seeds_to_decide(reduction, 0.5)} seeds would decide it if its mean and spread "
            "stayed)"
        ) in numbers.reason
    else:
        assert numbers.reason == ""


def test_two_seeds_cannot_judge_however_clear_they_are():
    numbers = c5(runs_c5([0.2, 0.2]))
    assert numbers.holds is None and numbers.n == 2
    assert numbers.reason == "fewer than 3 seeds judged: 2 (seed 0, 1)"
    assert numbers.values("reduction") == pytest.approx([0.8, 0.8])  # still computed
    assert numbers.result("reduction").interval is None


def test_c5_leaves_out_a_seed_with_a_missing_run_and_says_which():
    table = runs_c5([0.2, 0.22, 0.18, 0.2])
    unfinished = (
        (table["seed"] == 3) & (table["sigma2"] == 0.01) & (table["sigma2_mode"] == "learned")
    )
    table.loc[unfinished, "status"] = "failed"
    numbers = c5(table)
    assert numbers.seeds == (0, 1, 2) and numbers.holds is True
    assert numbers.left_out == {3: "no completed run for sigma2_mode=learned, σ²=0.01"}


def test_c5_needs_to_tell_fixed_from_learned():
    with pytest.raises(ValueError, match="sigma2_mode"):
        c5(runs_c5([0.2] * 3).drop(columns="sigma2_mode"))


def test_the_mle_sigma2_of_c5_is_the_learned_row_of_the_analytic_table():
    spectrum = linear_vae.Spectrum.from_covariance(np.diag(LAM), np.zeros(D), 1000)
    by_k = analytic.likelihood_vs_k(spectrum, k_max=15, reference_k=5)
    at_k = pd.DataFrame({"latent_dim": [K, K, K + 2]})  # median k = K
    table = _mle_row(by_k, LAM, at_k)
    assert ppca_mle_sigma2(at_k, LAM) == pytest.approx(table["sigma2"], rel=1e-12)
    assert ppca_mle_sigma2(at_k, LAM) == pytest.approx(LAM[K:].sum() / (D - K), rel=1e-12)
    # rank-deficient data: k at or beyond the rank reads the largest learnable k, rank − 1
    low_rank = np.concatenate([LAM[:6], np.zeros(D - 6)])
    spectrum = linear_vae.Spectrum.from_covariance(np.diag(low_rank), np.zeros(D), 1000)
    by_k = analytic.likelihood_vs_k(spectrum, k_max=15, reference_k=3)
    assert ppca_mle_sigma2(at_k, low_rank) == pytest.approx(
        _mle_row(by_k, low_rank, at_k)["sigma2"], rel=1e-12
    )
    assert ppca_mle_sigma2(at_k, low_rank) == pytest.approx(LAM[5] / (D - 5), rel=1e-12)


def test_c5_reach_from_the_mle_sigma2_limits_reduction_not_left_at_largest():
    # σ²_MLE of LAM at k = 10 is 0.0915; at lr 4e-3 for 2,000 steps Adam moves log σ² by at most
    # lr · steps · reach_share = 4 in half of training: enough from σ² = 1, 0.1, 0.01 (|log| ≤
    # 2.4), not from 10 (4.69) or 0.001 (4.52)
    table = runs_c5([0.2, 0.22, 0.18]).assign(lr=4e-3)
    mle = LAM[K:].mean()
    learned = table["sigma2_mode"] == "learned"
    reach = sigma2_reach(table.loc[learned], 0.5, mle)
    assert reach["budget"].tolist() == pytest.approx([4.0] * 15)
    by_sigma2 = reach.assign(sigma2=table["sigma2"]).groupby("sigma2").first()
    want = np.abs(np.log(np.array(sorted(SIGMA)) / mle))
    assert by_sigma2["needed"].to_numpy() == pytest.approx(want)
    assert by_sigma2["reachable"].tolist() == [False, True, True, True, False]
    assert by_sigma2.loc[10.0, "steps"] == pytest.approx(np.log(10.0 / mle) / (4e-3 * 0.5))
    assert sigma2_reach(table.loc[~learned], 0.5, mle)["reachable"].all()  # a fixed σ² never moves
    # the final optimal σ² plays no part: a run that ended anywhere has the same reach
    ended = table.assign(sigma2_optimal=1e-6)
    assert c5(ended).values("reduction") == c5(table).values("reduction")
    numbers = c5(table)
    # 'removes most' over σ² = 1, 0.1, 0.01: 1 − scale × (0.9 + 0.5 + 0.1) / (0.9 + 0.5 + 0.1)
    assert numbers.values("reduction") == pytest.approx([0.8, 0.78, 0.82])
    # 'leaves some' from σ² = 10, unreachable, where the learned run keeps 1.0 × the scale
    assert numbers.values("left_at_largest") == pytest.approx([0.2, 0.22, 0.18])
    assert "σ²=10" in numbers.by_setting and "σ²=0.001" not in numbers.by_setting
    (unreachable,) = [n for n in numbers.notes if "cannot judge from initial" in n]
    assert unreachable.startswith(
        "'removes most' cannot judge from initial σ²=0.001 (log σ² must move 4.52, Adam can 4; "
        "needs ≥ 2259 steps); σ²=10 (log σ² must move 4.69, Adam can 4; needs ≥ 2348 steps)"
    )
    assert "'leaves some' reads the largest initial σ² all the same" in unreachable
    # the runs read: every reachable σ² and the learned run from σ² = 10, not σ² = 0.001's
    read = {c.run_dir for c in numbers.convergence}
    assert "learned/10.0/0" in read and "fixed/10.0/0" not in read
    assert not any("/0.001/" in r for r in read)
    # when no initial σ² could reach the MLE σ², 'removes most' cannot judge on any seed, while
    # 'leaves some' is still judged
    nowhere = c5(table.assign(lr=1e-5))
    assert nowhere.holds is None and nowhere.n == 3
    assert nowhere.result("reduction").interval is None
    assert nowhere.values("left_at_largest") == pytest.approx([0.2, 0.22, 0.18])
    assert nowhere.reason == (
        "a statistic without a value on enough seeds; reduction has a value on 0 of 3 seeds "
        "(needs 3)"
    )


def test_c5_runs_its_reach_rule_cannot_read_block_it_with_the_steps_they_need():
    """The learned runs from σ² = 0.001 and 10 (4e-3 learning rate, 2,000 steps) are short of
    the MLE σ²; they block only a verdict that cannot judge, each needing the length at which
    |log σ²_init − log σ²_MLE| ≤ lr · steps · reach_share."""
    table = runs_c5([0.2, 0.22, 0.18]).assign(lr=4e-3)
    mle = LAM[K:].mean()
    decided = c5(table)
    assert decided.holds is True and record(decided).blocking == ()
    learned = table.loc[table["sigma2_mode"] == "learned"]
    far = learned.loc[learned["sigma2"].isin([0.001, 10.0])]
    assert {r.name: r.steps for r in decided.short_runs} == {
        run: math.ceil(abs(np.log(s / mle)) / (4e-3 * 0.5))
        for run, s in zip(far["run_dir"], far["sigma2"], strict=True)
    }
    (first,) = [r for r in decided.short_runs if r.name == "learned/10.0/0"]
    assert first.why == f"its σ² from 10 cannot reach the pPCA MLE σ² = {mle:.3g} in 2000 steps"
    # when no initial σ² is within reach, every learned run blocks, with the steps it needs
    nowhere = c5(table.assign(lr=1e-5))
    blocking = record(nowhere).blocking
    assert len(blocking) == len(learned) and all(b.steps > 2000 for b in blocking)
    assert {b.run: b.steps for b in blocking} == {r.name: r.steps for r in nowhere.short_runs}
    assert all(b.needs == f"≥ {b.steps} steps" for b in blocking)


def test_c5_needs_the_eigenvalues_for_its_reach_rule():
    table = runs_c5([0.2] * 3)
    with pytest.raises(ValueError, match="needs the data-covariance eigenvalues"):
        compute_c5(table, settled(table), DEFINITIONS["C5/fig6"])


def test_c5_left_at_largest_interval_adds_one_latent_and_is_clipped():
    # identical seeds: the interval of a share of K latents has the width of one latent's
    # rounding (Sheppard), clipped at 0
    table = runs_c5([0.02, 0.02, 0.02])
    result = c5(table).result("left_at_largest")
    n, se = 3, np.sqrt((1 / K) ** 2 / 12 / 3)
    half = scipy_stats.t.ppf(0.975, n - 1) * se
    assert (result.interval.low, result.interval.high) == pytest.approx((0.0, 0.02 + half))
    assert result.interval.method == f"Student t + Sheppard 1/{K}, clipped to [0, 1]"
    assert result.holds is None  # 0.02 ± 0.036 straddles 0.05


# ---------------------------------------------------------------- C4a, C4b

#: a grid with five σ² of partial collapse at K_C4A = 40 latents on LAM (all but σ² = 10); 40
#: latents keep the one-latent resolution (±0.018 on three seeds) well inside C4a's 0.05
SIGMA_C4A = [10.0, 5.0, 2.0, 1.0, 0.5, 0.1]
K_C4A = 40
RISING = [1.0, 0.8, 0.5, 0.3, 0.1, 0.0]  # collapse falls as σ² falls


def runs_c4a(collapse_by_seed: list[list[float]], **kwargs) -> pd.DataFrame:
    return runs(collapse_by_seed, sigma=SIGMA_C4A, k=K_C4A, **kwargs)


def c4a(table: pd.DataFrame, key: str = "C4a/fig5"):
    return compute_c4a(table, settled(table), DEFINITIONS[key], LAM)


def test_c4a_judges_the_range_of_partial_collapse_by_its_falls_and_rise():
    from paper_figures.claims.c4a import partial_collapse

    live = [min(K, int((LAM > s).sum())) for s in SIGMA_C4A]  # independent count
    assert live == [0, 2, 5, 7, 9, 10]
    assert list(partial_collapse(SIGMA_C4A, LAM, K)) == [0 < n < K for n in live]
    assert list(partial_collapse(SIGMA_C4A, LAM, K_C4A)) == [False] + [True] * 5
    noisy = [[min(1.0, c + d) for c in RISING] for d in (0.0, 0.01, 0.03)]
    numbers = c4a(runs_c4a(noisy))
    assert numbers.holds is True and numbers.n == 3
    # over σ² = 0.1, 0.5, 1, 2, 5 (ascending): collapse 0, 0.1, 0.3, 0.5, 0.8 (+ the offset)
    assert numbers.values("largest_fall") == pytest.approx([0.0, 0.0, 0.0])
    assert numbers.values("overall_rise") == pytest.approx([0.8, 0.8, 0.8])
    assert numbers.by_setting["σ²=1"]["(ε, δ)"] == pytest.approx(np.mean([0.3, 0.31, 0.33]))
    others = [n for n in numbers.notes if n.startswith("by ")]
    assert [n.split(":")[0] for n in others] == ["by active_units", "by integrated"]


def test_c4a_fails_on_a_fall_in_the_middle_whatever_the_ends():
    # the grid's ends pinned at 100% and 0% collapse; the middle falls from σ² = 1 to 2
    middle_fall = [1.0, 0.9, 0.2, 0.6, 0.1, 0.0]
    fails = c4a(runs_c4a([middle_fall] * 3))
    assert fails.holds is False
    assert fails.values("largest_fall") == pytest.approx([0.4, 0.4, 0.4])
    one_odd = c4a(runs_c4a([RISING, RISING, middle_fall]))
    assert one_odd.result("largest_fall").holds is None and one_odd.holds is None


def test_c4a_says_when_another_measure_disagrees_with_eps_delta():
    table = runs_c4a([RISING] * 3)
    table["active_units"] = [0, 20, 0, 20, 0, 20] * 3  # active units do not rise with σ²
    numbers = c4a(table)
    assert numbers.holds is True
    (by_units,) = [n for n in numbers.notes if n.startswith("by active_units")]
    assert by_units.startswith("by active_units: fails (disagrees; largest_fall 0.5")


def test_c4a_leaves_out_a_seed_with_too_few_sigma2_of_partial_collapse():
    numbers = c4a(runs([FIXED] * 3))  # SIGMA has one σ² of partial collapse at K = 10
    assert numbers.holds is None and numbers.n == 0
    assert set(numbers.left_out.values()) == {
        "only 1 σ² values where partial collapse is predicted (need ≥ 3)"
    }


def test_c4a_runs_too_short_and_learned_rows_are_not_judged():
    short = c4a(runs_c4a([RISING] * 3, steps=100))
    assert short.holds is None and short.n == 0 and len(short.too_short) == 18
    assert short.reason.startswith("runs too short (< 1000 steps); fewer than 3 seeds judged: 0; ")
    zigzag = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    mixed = pd.concat(
        [
            runs_c4a([RISING] * 3),
            runs_c4a([zigzag] * 3, mode="learned"),
        ]
    )
    assert c4a(mixed).holds is True  # learned rows ignored


# predicted live latents at SIGMA for k = 10: #{λ_i > σ²} = 0, 7, 13, 15, 20, capped at k
PREDICTED = [0, 7, 10, 10, 10]


@pytest.mark.parametrize(
    ("collapse", "error", "holds", "finding"),
    [
        ([1.0, 0.3, 0.0, 0.0, 0.0], 0.0, True, "keeps the predicted number"),
        # 0, 5, 6, 8, 10 live: 2, 4 and 2 fewer than predicted at σ² = 1, 0.1, 0.01
        (
            [1.0, 0.5, 0.4, 0.2, 0.0],
            8 / 50,
            None,
            "keeps fewer live latents than predicted at "
            "σ²=0.01, σ²=0.1, σ²=1 (by up to 4 of k = 10, at σ²=0.1)",
        ),
        # 4, 10, 10, 10, 10 live: 4 and 3 more than predicted at σ² = 10 and 1
        (
            [0.6, 0.0, 0.0, 0.0, 0.0],
            7 / 50,
            None,
            "keeps more live latents than predicted at "
            "σ²=1, σ²=10 (by up to 4 of k = 10, at σ²=10)",
        ),
    ],
    ids=["levels match", "keeps fewer", "keeps more"],
)
def test_c4b_compares_the_level_of_live_latents_with_the_prediction(
    collapse, error, holds, finding
):
    live = [K * (1 - c) for c in collapse]
    numbers = compute_c4b(
        runs([collapse] * 3), settled(runs([collapse] * 3)), DEFINITIONS["C4b/fig7"], LAM
    )
    assert numbers.values("mean_level_error") == pytest.approx([error] * 3)
    # three identical seeds, known to one latent of k = 10: Sheppard's variance (1/10)²/12 gives
    # the interval ± t · 0.0167 = ± 0.072, clipped to [0, 1]; an error of 0.14 or 0.16 then
    # straddles the threshold 0.1, so the level cannot be judged on three seeds at this k
    half = scipy_stats.t.ppf(0.975, 2) * np.sqrt((1 / K) ** 2 / 12 / 3)
    interval = numbers.result("mean_level_error").interval
    assert (interval.low, interval.high) == pytest.approx((max(0.0, error - half), error + half))
    assert numbers.holds is holds
    predicted = {f"σ²={s:g}": p for s, p in zip(SIGMA, PREDICTED, strict=True)}
    assert {s: q["predicted live"] for s, q in numbers.by_setting.items()} == predicted
    assert {s: q["live (ε, δ)"] for s, q in numbers.by_setting.items()} == pytest.approx(
        {f"σ²={s:g}": m for s, m in zip(SIGMA, live, strict=True)}
    )
    assert any(finding in n for n in numbers.notes)
    (mi,) = [n for n in numbers.notes if n.startswith("by mutual_information")]
    assert (
        mi == "by mutual_information: not computed (not a count of latents, so it has no level "
        "to compare)"
    )


def test_a_run_whose_band_could_change_c4a_blocks_it_and_a_settled_one_does_not():
    table = runs_c4a([RISING] * 3)
    curves = settled(table)
    definition = DEFINITIONS["C4a/fig5"]
    inputs = Inputs(Path("."), LAM, pd.DataFrame(), {"fig5_fixed_sigma": table}, lambda r: None)
    evidence = Evidence(inputs, table)
    evidence.__dict__["curves"] = curves
    assert decide(definition, evidence).holds is True  # nothing moves
    # seed 2's σ² = 2 run lost 0.2 of its collapse in the window: 3 × that, 0.6, may still go,
    # which puts a fall of 0.3 into its middle (0.3 at σ² = 1, 0.5 − 0.6 → 0 at σ² = 2)
    moving = (curves["run_dir"] == "fixed/2.0/2") & (curves["metric"] == "collapsed_fraction")
    curves.loc[moving, "value"] = np.where(curves.loc[moving, "step"] <= 1600, 0.7, 0.5)
    # seed 0's σ² = 10 run (everything collapsed) moved a little: no outcome changes with it
    calm = (curves["run_dir"] == "fixed/10.0/0") & (curves["metric"] == "collapsed_fraction")
    curves.loc[calm, "value"] = np.where(curves.loc[calm, "step"] <= 1600, 0.97, 1.0)
    evidence = Evidence(inputs, table)
    evidence.__dict__["curves"] = curves
    numbers = decide(definition, evidence)
    assert numbers.holds is None and numbers.as_it_stands is True
    blocking = [c for c in numbers.convergence if c.blocks]
    assert [c.run_dir for c in blocking] == ["fixed/2.0/2"]
    # 0.6 down from 0.5 stops at 0: a fraction moves no farther than its bounds
    assert blocking[0].band == {"collapsed_fraction": pytest.approx(-0.5)}
    assert numbers.reason.startswith("not converged: 1 of 18 runs could still change it")
    assert numbers.reason.endswith("as it stands it would hold")
    rec = record(numbers)
    assert rec.outcome == "cannot judge" and rec.as_it_stands == "holds"
    (blocker,) = rec.blocking
    assert blocker.run == "fixed/2.0/2" and blocker.needs == "more than 2000 steps"


# ---------------------------------------------------------------- C3a, C3b

STEPS = np.arange(0, 1000, 5)


def curves(
    group: str,
    noise: dict[str, float],
    end_gap: float = 0.0,
    seeds: int = 3,
    tau: dict[str, float] | None = None,
):
    """ELBO curves approaching −500 − end_gap with time constant ``tau`` (80 steps unless
    given), one run per seed and value of ``group``."""
    rng = np.random.default_rng(0)
    frames = []
    for seed in range(seeds):
        for name, sd in noise.items():
            time = (tau or {}).get(name, 80.0)
            value = (
                -500 - end_gap - 300 * np.exp(-STEPS / time) + sd * rng.standard_normal(len(STEPS))
            )
            frames.append(
                pd.DataFrame(
                    {"run_dir": f"{name}/{seed}", group: name, "seed": seed, "step": STEPS}
                ).assign(metric="elbo", value=value)
            )
    return pd.concat(frames, ignore_index=True)


C3A = replace(DEFINITIONS["C3a/fig3"], min_steps=0)
#: how far the noiseless curve's final ELBO (median of the last fifth) stays below its limit
BELOW = 300 * np.median(np.exp(-STEPS[-40:] / 80))
C3B = replace(DEFINITIONS["C3b/fig3"], min_steps=0)


def test_c3a_reaches_the_mle_within_the_tolerance_in_nats():
    good = compute_c3a(curves("objective", {"analytic": 0.0, "stochastic": 0.1}), -500.0, C3A)
    assert good.holds is True and good.n == 3
    assert all(g < 0.2 for g in good.values("max_gap"))  # median of a noise sd of 0.1
    far = compute_c3a(curves("objective", {"analytic": 0.0, "stochastic": 0.0}, 2.0), -500.0, C3A)
    assert far.holds is False and far.values("max_gap") == pytest.approx([2.0 + BELOW] * 3)
    only = compute_c3a(curves("objective", {"analytic": 0.0}), -500.0, C3A)
    assert only.holds is None and only.left_out[0] == "no completed run for objective=stochastic"
    full_length = compute_c3a(
        curves("objective", {"analytic": 0, "stochastic": 0}), -500.0, DEFINITIONS["C3a/fig3"]
    )
    assert full_length.holds is None and len(full_length.too_short) == 6  # 995 < 1000 steps


def test_c3a_fails_on_a_spike_even_when_the_end_is_at_the_optimum():
    table = curves("objective", {"analytic": 0.0, "stochastic": 0.0})
    spike = (table["run_dir"].str.startswith("analytic")) & (table["step"] == 600)
    table.loc[spike, "value"] -= 110.0  # one evaluation 110 nats down, then back
    numbers = compute_c3a(table, -500.0, C3A)
    assert numbers.values("max_gap") == pytest.approx([BELOW] * 3)
    drop = 110.0 + 300 * (np.exp(-600 / 80) - np.exp(-595 / 80))  # the spike and the climb
    assert numbers.values("max_drop") == pytest.approx([drop] * 3)
    assert numbers.result("max_drop").holds is False and numbers.holds is False


def test_steps_to_tolerance_is_where_the_curve_enters_the_band_for_good():
    visit = pd.DataFrame({"step": [0, 10, 20, 30, 40], "value": [-10, -0.2, -3, -0.3, -0.1]})
    assert steps_to_tolerance(visit, 0.0, 0.5) == 30  # the visit at 10 does not count
    assert steps_to_tolerance(visit.iloc[:3], 0.0, 0.5) == np.inf  # it ends outside


def test_c3b_the_analytic_objective_gets_there_first():
    # 300 e^(−t/τ) ≤ 0.5 from t = τ ln 600: 511.7 (τ = 80) and 1023.5 (τ = 160) → steps 515, 1025
    slow = {"stochastic": 160.0}
    table = curves("objective", {"analytic": 0.0, "stochastic": 0.0}, tau=slow)
    extended = np.arange(1000, 1500, 5)
    tails = [
        pd.DataFrame(
            {
                "run_dir": f"stochastic/{seed}",
                "objective": "stochastic",
                "seed": seed,
                "step": extended,
                "metric": "elbo",
                "value": -500 - 300 * np.exp(-extended / 160),
            }
        )
        for seed in range(3)
    ]
    table = pd.concat([table, *tails], ignore_index=True)
    noise = {"stochastic": {"elbo_std": 0.7, "grad_std_norm": 12.0}}
    numbers = compute_c3b(table, -500.0, C3B, noise)
    assert numbers.values("step_difference") == (1025 - 515,) * 3
    assert numbers.holds is True
    assert numbers.by_setting["analytic"]["steps to the tolerance"] == 515
    assert any("elbo_std 0.7, grad_std_norm 12 " in f"{n} " for n in numbers.notes)
    # the other way round the analytic objective is slower, and the claim fails
    swapped = compute_c3b(
        curves("objective", {"analytic": 0.0, "stochastic": 0.0}, tau={"analytic": 100.0}),
        -500.0,
        C3B,
    )
    assert swapped.holds is False
    assert swapped.values("step_difference") == (515 - 640,) * 3  # 100 ln 600 = 639.7


def test_c3b_counts_a_run_that_never_arrives_as_arriving_after_its_end():
    table = curves("objective", {"analytic": 0.0, "stochastic": 0.0})
    table.loc[table["run_dir"] == "stochastic/1", "value"] -= 2.0
    numbers = compute_c3b(table, -500.0, C3B)
    # seeds 0 and 2 arrive together (step 515); seed 1's stochastic run never does: it counts
    # as arriving at step 1000, one evaluation after its last (995), a lower bound
    assert numbers.values("step_difference") == (0.0, 1000 - 515, 0.0)
    assert numbers.by_setting["stochastic"]["steps to the tolerance"] == np.inf
    assert "the stochastic run never stays within 0.5 nats of the MLE (seed 1)" in numbers.notes[0]
    table.loc[table["run_dir"] == "analytic/1", "value"] -= 2.0
    neither = compute_c3b(table, -500.0, C3B)
    assert neither.seeds == (0, 2) and neither.holds is None
    assert neither.left_out == {1: "neither run stays within 0.5 nats of the MLE"}


def test_c3_encoders_none_above_and_each_close_in_nats():
    c3 = replace(DEFINITIONS["C3a/fig4"], min_steps=0)
    two = curves("encoder", {"linear": 0.0, "mlp": 0.0})
    good = compute_c3_encoders(two, -500.0, ["linear", "mlp"], c3)
    assert good.holds is True and good.values("max_excess") == pytest.approx([-BELOW] * 3)
    assert good.values("max_shortfall") == pytest.approx([BELOW] * 3)
    beaten = compute_c3_encoders(two, -520.0, ["linear", "mlp"], c3)
    assert beaten.holds is False and beaten.values("max_excess") == pytest.approx([20 - BELOW] * 3)
    # 2 nats short is 0.4% of |MLE| (within the former relative 5%) but four times C3a's
    # tolerance of 0.5 nats: it fails now
    short = compute_c3_encoders(
        curves("encoder", {"linear": 0.0, "mlp": 0.0}, 2.0), -500.0, ["linear", "mlp"], c3
    )
    assert short.holds is False
    assert short.values("max_shortfall") == pytest.approx([2.0 + BELOW] * 3)
    missing = compute_c3_encoders(two, -500.0, ["linear", "deep_linear", "mlp"], c3)
    assert missing.holds is None and missing.n == 0


# ---------------------------------------------------------------- C6


def runs_c6(final_annealed_au: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per seed, an annealed run (80 active units of 100 at the end of annealing, then
    ``final_annealed_au`` by step 1000) and a run without annealing (20 active units)."""
    rows, frames = [], []
    steps = np.arange(100, 2001, 100)
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
                    "collapsed_fraction": 1 - au / 100,
                }
            )
            units = np.full(len(steps), float(au))
            if anneal:
                units = np.interp(steps, [500, 1000], [80, final])
            metrics = {
                "active_units": units,
                "collapsed_fraction": 1 - units / 100,
                "elbo": -100 - 500 * np.exp(-steps / 200),
            }
            for metric, value in metrics.items():
                frames.append(
                    pd.DataFrame(
                        {"run_dir": f"{name}/{seed}", "step": steps, "metric": metric}
                    ).assign(value=value)
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
    assert any(n.startswith("by active_units: fails (agrees") for n in kept.notes)
    assert any(n.startswith("by integrated: not computed") for n in kept.notes)


def test_c6_does_not_judge_settings_where_annealing_lowered_nothing():
    table, curves_ = runs_c6([22, 22, 22])
    flat = curves_.copy()
    flat.loc[flat["metric"] == "active_units", "value"] = 20  # as collapsed during annealing
    flat.loc[flat["metric"] == "collapsed_fraction", "value"] = 0.8  # as without: nothing to delay
    numbers = compute_c6(table, flat, DEFINITIONS["C6/table1"])
    assert numbers.holds is None and numbers.n == 0
    assert numbers.by_setting["gaussian_fixed, σ²=1"]["judged"] == 0.0
    assert set(numbers.left_out) == {0, 1, 2}


# ---------------------------------------------------------------- words


def test_the_record_carries_every_criterion_with_interval_n_and_the_other_measures():
    numbers = c5(runs_c5([0.2, 0.22, 0.18]))
    r = record(numbers)
    assert (r.claim, r.definition, r.outcome, r.kind) == ("C5", "C5/fig6", "holds", "reproduction")
    assert r.statement.startswith("learning σ² removes most of the collapse")
    interval = numbers.result("reduction").interval
    (reduction,) = [c for c in r.criteria if c.statistic == "reduction"]
    assert (reduction.mean, reduction.low, reduction.high) == (
        interval.mean,
        interval.low,
        interval.high,
    )
    assert reduction.n == 3 and reduction.method == "Student t" and reduction.outcome == "met"
    assert reduction.values == numbers.values("reduction") and r.seeds == ("0", "1", "2")
    assert [m.measure for m in r.measures] == list(numbers.definition.other_measures)
    assert not any(n.startswith("by ") for n in r.notes)  # those are the measures' records
    assert set(r.notes) == {n for n in numbers.notes if not n.startswith("by ")}
    c1 = record(compute_c1(sweep(), DEFINITIONS["C1/fig2"]))
    assert c1.kind == "implementation check" and c1.runs == ("likelihood_vs_k.csv",)


def test_a_linear_vae_run_is_named_by_its_folder_where_the_curves_carry_it():
    from paper_figures.claims.elbo_runs import per_run

    table = curves("objective", {"analytic": 0.0, "stochastic": 0.0})
    plain = per_run(table, "objective", -500.0)
    assert set(plain["run_name"]) >= {"analytic, seed 0", "stochastic, seed 2"}
    # the run table's name ('<experiment>/<folder>') is what reproduce extends a run by
    named = table.assign(run_name="fig3_linear_vae/" + table["run_dir"].astype(str))
    assert list(per_run(named, "objective", -500.0)["run_name"]) == [
        f"fig3_linear_vae/{d}" for d in sorted(table["run_dir"].unique())
    ]
