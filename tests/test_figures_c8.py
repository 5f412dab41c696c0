"""Claim C8 and Figure 9 on built run tables: the plain fixed-σ² frontier on a hand-computed
example (a run between plain points, a run beyond every plain one), the outcome over seeds
(holds, fails, straddles, too few seeds, a run not converged), the effective σ² against the exact
inverse of a monotone curve and against the isotonic fit of a non-monotone one worked by hand,
and the figure's frontier, markers and table against numpy and scipy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from test_figures_verdicts import LAM, settled, t_interval

from paper_figures import fig9
from paper_figures.claims import c8 as claim_c8
from paper_figures.claims import effective_sigma2
from paper_figures.claims.c8 import compute as compute_c8
from paper_figures.claims.deciding import decide
from paper_figures.claims.effective_sigma2 import ABOVE, BELOW, EffectiveSigma2
from paper_figures.claims.evidence import Evidence
from paper_figures.claims.table import DEFINITIONS
from paper_figures.registry import FIGURES, Inputs, entry

C8 = DEFINITIONS["C8/fig9"]
K = 10
PLAIN_SIGMA = [10.0, 1.0, 0.1, 0.01, 0.001]
PLAIN_LIVE = [0.0, 3.0, 5.0, 7.0, 8.0]
PLAIN_LOG_PX = [-300.0, -250.0, -180.0, -200.0, -220.0]
# F(L) = max{P_j : L_j ≥ L}: -180 up to L = 5, -200 up to 7, -220 up to 8 and beyond it
MITIGATIONS = [
    ("free_bits", "per_latent"),
    ("free_bits", "total"),
    ("cyclical_annealing", None),
    ("aggressive_encoder", None),
]
MITIGATION_SIGMA = [10.0, 0.1, 0.001]
#: where every mitigation run sits unless told otherwise: 4 live latents, 10 nats below F(4)
USUAL = (4.0, -190.0)


def run(seed: int, sigma2: float, live: float, log_px: float, **config: object) -> dict:
    """One collect_runs-like row: ``live`` latents of K by every measure, MI 0.5 nats each."""
    mitigation = config.get("mitigation", "none")
    variant = config.get("variant")
    mode = config.get("mode", "fixed")
    return {
        "run_dir": f"{mitigation}-{variant}-{mode}/{sigma2:g}/{seed}",
        "mitigation": mitigation,
        "free_bits_variant": variant,
        "sigma2_mode": mode,
        "kl_anneal_steps": 0,
        "sigma2": sigma2,
        "seed": seed,
        "status": "completed",
        "step": 2000,
        "latent_dim": K,
        "collapsed_fraction": 1 - live / K,
        "active_units": live,
        "mutual_information": 0.5 * live,
        "log_px_test": log_px,
    }


def table(seeds: int, placed: dict | None = None) -> pd.DataFrame:
    """Per seed: the plain runs, and every mitigation at each σ² of MITIGATION_SIGMA at USUAL,
    except ``placed``: (mitigation, variant, σ²) -> [(live, log p(x)) per seed]."""
    rows = []
    for seed in range(seeds):
        for s, live, log_px in zip(PLAIN_SIGMA, PLAIN_LIVE, PLAIN_LOG_PX, strict=True):
            rows.append(run(seed, s, live, log_px))
        for mitigation, variant in MITIGATIONS:
            for s in MITIGATION_SIGMA:
                where = (placed or {}).get((mitigation, variant, s))
                live, log_px = where[seed] if where else USUAL
                rows.append(run(seed, s, live, log_px, mitigation=mitigation, variant=variant))
    return pd.DataFrame(rows)


def with_best(advantages: list[float]) -> pd.DataFrame:
    """Per seed, free bits per latent at every σ² of its grid keeps 4 live latents (F = -180)
    with the seed's given advantage over the frontier, so that is its mean advantage; every
    other mitigation run is 10 nats below the frontier."""
    place = [(4.0, -180.0 + a) for a in advantages]
    return table(len(advantages), {("free_bits", "per_latent", s): place for s in MITIGATION_SIGMA})


def c8(runs: pd.DataFrame):
    return compute_c8(runs, settled(runs), C8, LAM)


# ---------------------------------------------------------------- the frontier


def test_the_frontier_is_the_best_plain_run_keeping_at_least_as_many_live_latents():
    live = [0.0, 4.0, 5.0, 6.0, 7.5, 9.0]
    want = [-180.0, -180.0, -180.0, -200.0, -220.0, -220.0]  # 9 is beyond 8: F(8)
    assert claim_c8.frontier(PLAIN_LIVE, PLAIN_LOG_PX, live).tolist() == want
    with pytest.raises(ValueError, match="one value per plain run"):
        claim_c8.frontier([], [], [1.0])


def test_c8_scores_each_mitigation_run_against_its_seeds_frontier():
    placed = {
        ("free_bits", "per_latent", 0.1): [(6.0, -195.0)] * 3,  # between plain points: F = -200
        ("aggressive_encoder", None, 10.0): [(9.0, -218.0)] * 3,  # beyond them: F(8) = -220
        ("free_bits", "total", 0.001): [(8.0, -225.0)] * 3,  # on a plain point: F = -220
    }
    numbers = c8(table(3, placed))
    # each mitigation's mean over its three σ² (the other runs sit 10 nats below F(4) = -180):
    # free_bits (5 − 10 − 10) / 3 = -5, aggressive_encoder (2 − 20) / 3 = -6, free_bits_total
    # (-5 − 20) / 3, cyclical_annealing -10; the largest is free bits': -5
    assert numbers.values("best_mean_advantage") == pytest.approx([-5.0] * 3)
    assert numbers.holds is True  # one run 5 nats above the frontier does not make a mitigation
    means = {m: numbers.by_setting[f"{m}, mean over its σ²"]["advantage"] for m in MEANS}
    assert means == pytest.approx(MEANS)
    between = numbers.by_setting["free_bits, σ²=0.1"]
    assert (between["plain frontier"], between["advantage"]) == pytest.approx((-200.0, 5.0))
    beyond = numbers.by_setting["aggressive_encoder, σ²=10"]
    assert (beyond["live (ε, δ)"], beyond["plain frontier"]) == pytest.approx((9.0, -220.0))
    assert numbers.by_setting["free_bits_total, σ²=0.001"]["advantage"] == pytest.approx(-5.0)
    (best,) = [n for n in numbers.notes if n.startswith("mean advantage")]
    assert "aggressive_encoder -6 (best run 2 at σ²=10, seed 0)" in best
    assert "free_bits -5 (best run 5 at σ²=0.1, seed 0)" in best
    assert "free_bits_total -8.33 (best run -5 at σ²=0.001, seed 0)" in best


MEANS = {
    "free_bits": -5.0,
    "aggressive_encoder": -6.0,
    "free_bits_total": -25.0 / 3,
    "cyclical_annealing": -10.0,
}


def test_c8_judges_a_mean_per_mitigation_not_its_best_run():
    # one free-bits run 20 nats above the frontier on each seed: the largest advantage of any run
    # (the former statistic) is 20, far above the margin; free bits' mean over its grid is
    # (20 − 10 − 10) / 3 = 0, within it
    lucky = table(3, {("free_bits", "per_latent", 10.0): [(4.0, -160.0)] * 3})
    numbers = c8(lucky)
    assert numbers.values("best_mean_advantage") == pytest.approx([0.0] * 3, abs=1e-12)
    advantage = numbers.by_setting["free_bits, σ²=10"]["advantage"]
    assert advantage == pytest.approx(20.0)
    assert numbers.holds is True


# ---------------------------------------------------------------- the outcome over seeds


@pytest.mark.parametrize(
    ("advantages", "holds"),
    [
        ([-2.0, -2.1, -1.9], True),  # -2 ± 0.25: below 1 nat
        ([5.0, 5.2, 4.8], False),  # 5 ± 0.5: above it
        ([0.0, 2.0, 1.2], None),  # interval (-1.4, 3.5): straddles 1
    ],
    ids=["holds", "fails", "straddles"],
)
def test_c8_outcome_follows_the_interval_of_the_per_seed_best_mean_advantage(advantages, holds):
    numbers = c8(with_best(advantages))
    assert numbers.seeds == (0, 1, 2) and numbers.values("best_mean_advantage") == pytest.approx(
        advantages
    )
    interval = numbers.result("best_mean_advantage").interval
    assert (interval.low, interval.high) == pytest.approx(t_interval(advantages))
    assert numbers.holds is holds
    assert numbers.reason.startswith("the interval straddles the threshold") is (holds is None)
    (units,) = [n for n in numbers.notes if n.startswith("by active_units")]
    assert units.startswith(f"by active_units: {verdict_outcome(holds)} (agrees")


def verdict_outcome(holds: bool | None) -> str:
    return {True: "holds", False: "fails", None: "cannot judge"}[holds]


def test_c8_with_two_seeds_cannot_judge_and_a_missing_run_leaves_its_seed_out():
    two = c8(with_best([-2.0, -2.0]))
    assert two.holds is None and two.reason == "fewer than 3 seeds judged: 2 (seed 0, 1)"
    assert two.values("best_mean_advantage") == pytest.approx([-2.0, -2.0])
    runs = with_best([-2.0, -2.1, -1.9, -2.0])
    gone = (runs["seed"] == 3) & (runs["free_bits_variant"] == "total") & (runs["sigma2"] == 0.1)
    runs.loc[gone, "status"] = "failed"
    numbers = c8(runs)
    assert numbers.seeds == (0, 1, 2) and numbers.holds is True
    assert numbers.left_out == {3: "no completed run for method=free_bits_total, σ²=0.1"}
    plain_gone = (runs["seed"] == 3) & (runs["mitigation"] == "none") & (runs["sigma2"] == 10)
    runs.loc[plain_gone, "step"] = 10  # a plain run too short leaves its seed out as well
    assert "plain fixed σ², σ²=10" in c8(runs).left_out[3]


def test_c8_ignores_learned_runs_and_needs_held_out_log_px():
    runs = with_best([-2.0, -2.1, -1.9])
    learned = [run(s, 1.0, 10.0, 0.0, mode="learned") for s in range(3)]  # far above: not judged
    assert c8(pd.concat([runs, pd.DataFrame(learned)], ignore_index=True)).holds is True
    runs.loc[runs["seed"] == 2, "log_px_test"] = math.nan  # trainer.iw_samples = 0
    numbers = c8(runs)
    assert numbers.seeds == (0, 1) and "trainer.iw_samples > 0" in numbers.left_out[2]


def test_c8_checks_the_convergence_of_the_mitigation_runs_too():
    runs = with_best([-2.0, -2.1, -1.9])
    curves = settled(runs)
    late = "cyclical_annealing-None-fixed/0.1/1"
    rising = (curves["run_dir"] == late) & (curves["metric"] == "elbo")
    curves.loc[rising, "value"] = -600 + 0.25 * curves.loc[rising, "step"]  # a straight rise
    evidence = Evidence(Inputs(Path("."), LAM, pd.DataFrame(), {}, lambda r: None), runs)
    evidence.__dict__["curves"] = curves
    numbers = decide(C8, evidence)
    assert len(numbers.convergence) == 3 * (5 + 12)  # every plain and mitigation run
    # its held-out log p(x) may still rise with its ELBO, 3 × 100 nats: enough to beat the frontier
    (blocking,) = [c for c in numbers.convergence if c.blocks]
    assert blocking.run_dir == late and blocking.band["log_px_test"] == pytest.approx(300.0)
    assert numbers.holds is None and numbers.as_it_stands is True
    assert numbers.reason.startswith(f"not converged: 1 of 51 runs could still change it, {late}")


def test_c8_reports_the_effective_sigma2_of_each_mitigation_setting():
    numbers = c8(with_best([-2.0, -2.1, -1.9]))
    (effective,) = [n for n in numbers.notes if n.startswith("effective σ²")]
    # 4 live latents: halfway between σ² = 1 (3 live) and 0.1 (5 live) on log σ²
    want = f"free_bits, σ²=10: {math.sqrt(0.1):.3g} [{math.sqrt(0.1):.3g}, {math.sqrt(0.1):.3g}]"
    assert want in effective


# ---------------------------------------------------------------- effective σ²


def test_effective_sigma2_inverts_a_monotone_curve_exactly():
    # L = 4 − 2 log10 σ² on the grid, every seed ± 0.5 around it: the pooled fit is the curve
    grid = np.array([1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0])
    sigma2 = np.tile(grid, 3)
    live = np.concatenate([4 - 2 * np.log10(grid) + d for d in (-0.5, 0.0, 0.5)])
    fit = effective_sigma2.fit(sigma2, live)
    assert fit.at(grid) == pytest.approx(4 - 2 * np.log10(grid), rel=1e-12)
    for count in (7.0, 5.0, 3.3, 0.2):
        exact = 10 ** ((4 - count) / 2)
        found = fit.invert(count)
        assert found.is_point and found.low == pytest.approx(exact, rel=1e-12)


def test_effective_sigma2_reads_the_isotonic_fit_of_a_non_monotone_curve():
    # live 10, 4, 6, 0 at σ² 0.001, 0.01, 0.1, 1: pooling the violation gives 10, 5, 5, 0
    fit = effective_sigma2.fit([0.001, 0.01, 0.1, 1.0], [10.0, 4.0, 6.0, 0.0])
    assert fit.live.tolist() == pytest.approx([10.0, 5.0, 5.0, 0.0])
    assert fit.invert(5.0) == EffectiveSigma2(pytest.approx(0.01), pytest.approx(0.1))
    assert str(fit.invert(5.0)) == "0.01 to 0.1 (flat fit)"
    assert fit.invert(7.5).low == pytest.approx(10**-2.5, rel=1e-12)  # halfway from 10 to 5
    assert fit.invert(2.5).high == pytest.approx(10**-0.5, rel=1e-12)  # halfway from 5 to 0
    below, above = fit.invert(11.0), fit.invert(-1.0)
    assert (below.where, below.high) == (BELOW, pytest.approx(0.001))
    assert (above.where, above.low) == (ABOVE, pytest.approx(1.0))
    assert str(below) == "below the smallest σ² (0.001)"
    with pytest.raises(ValueError, match="one pair per plain run"):
        effective_sigma2.fit([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="σ² > 0"):
        effective_sigma2.fit([0.0], [1.0])


def test_effective_sigma2_over_seeds_is_a_geometric_mean_with_the_t_interval_of_log():
    values = [EffectiveSigma2(s, s) for s in (0.1, 0.2, 0.4)]
    interval = effective_sigma2.log_interval(values)
    logs = np.log([0.1, 0.2, 0.4])
    assert (interval.low, interval.high) == pytest.approx(t_interval(list(logs)))
    words = effective_sigma2.over_seeds(values, [0, 1, 2])
    assert words.startswith(f"{0.2:.3g} [{math.exp(interval.low):.3g}, ")
    flat = EffectiveSigma2(0.01, 0.1)
    assert effective_sigma2.log_interval([*values[:2], flat]) is None
    mixed = effective_sigma2.over_seeds([values[0], flat], [0, 1])
    assert mixed == "seed 0: 0.1; seed 1: 0.01 to 0.1 (flat fit)"


# ---------------------------------------------------------------- Figure 9


def test_fig9_draws_each_methods_advantage_over_its_seeds_frontier_per_sigma2(tmp_path):
    runs = with_best([-2.0, -2.1, -1.9])
    # seed 1's plain run at σ² = 0.1 is 30 nats worse: its frontier at L = 4 drops to -200
    runs.loc[(runs["seed"] == 1) & (runs["mitigation"] == "none") & (runs["sigma2"] == 0.1),
             "log_px_test"] = -210.0  # fmt: skip
    learned = pd.DataFrame([run(s, 0.1, 6.0 + s, -170.0, mode="learned") for s in range(3)])
    late = "free_bits-per_latent-fixed/0.1/2"
    out = fig9.render(
        pd.concat([runs, learned], ignore_index=True), tmp_path, dpi=40, unconverged=[late]
    )
    assert sorted(p.name for p in out) == ["fig9.csv", "fig9.md", "fig9.pdf", "fig9.png"]
    assert (tmp_path / "fig9.png").stat().st_size > 3000
    axes = out.figure.axes
    assert [ax.get_title() for ax in axes] == [f"σ² = {s:g}" for s in MITIGATION_SIGMA]
    assert axes[0].get_yscale() == "linear" and "plain frontier" in axes[0].get_ylabel()
    ticks = [t.get_text() for t in axes[1].get_xticklabels()]
    assert ticks == [claim_c8.LEARNED, "aggressive_encoder", "cyclical_annealing",
                     "free_bits", "free_bits_total"]  # fmt: skip
    # F(4) is -180 for seeds 0 and 2 and -200 for seed 1 (its σ² = 0.1 run is worse)
    frontier = np.array([-180.0, -200.0, -180.0])
    best = np.array([-180.0 + a for a in (-2.0, -2.1, -1.9)]) - frontier
    means = {line.get_xdata()[0]: line for c in axes[1].containers for line in c.lines[:1]}
    assert means[3].get_ydata() == pytest.approx([best.mean()])  # free bits per latent
    (_, _, (bar,)) = axes[1].containers[3]
    low, high = t_interval(list(best))
    assert bar.get_segments()[0][:, 1] == pytest.approx([low, high])
    usual = USUAL[1] - frontier  # every other run: 10 nats below its seed's F(4)
    assert means[2].get_ydata() == pytest.approx([usual.mean()])
    (crossed,) = [line for line in axes[1].lines if line.get_label() == fig9.UNCONVERGED]
    assert crossed.get_ydata() == pytest.approx([best[2]])
    (zero,) = [line for line in axes[1].lines if line.get_label() == fig9.FRONTIER]
    (margin,) = [line for line in axes[1].lines if line.get_label() == fig9.MARGIN_LABEL]
    assert zero.get_ydata()[0] == 0 and margin.get_ydata()[0] == C8.criteria()[0].threshold
    csv = pd.read_csv(tmp_path / "fig9.csv")
    y = np.array([-180.0 + a for a in (-2.0, -2.1, -1.9)])
    row = csv.loc[(csv["method"] == "free_bits") & (csv["sigma2"] == 0.1)].iloc[0]
    assert (row["log_px_test_low"], row["log_px_test_high"]) == pytest.approx(t_interval(list(y)))
    assert row["sigma2_eff"] == pytest.approx(math.sqrt(0.1))  # 4 live: between σ² 1 and 0.1
    plain = csv.loc[(csv["method"] == claim_c8.PLAIN) & (csv["sigma2"] == 0.1)].iloc[0]
    values = [-180.0, -210.0, -180.0]
    assert plain["log_px_test_mean"] == pytest.approx(np.mean(values))
    assert plain["log_px_test_high"] == pytest.approx(
        np.mean(values) + scipy_stats.t.ppf(0.975, 2) * scipy_stats.sem(values)
    )
    assert math.isnan(plain["sigma2_eff"])  # reported for the mitigations only
    assert "| free_bits | 0.1 | 3 |" in (tmp_path / "fig9.md").read_text()


def test_fig9_lists_missing_runs_and_leaves_out_runs_without_log_px(tmp_path: Path) -> None:
    runs = with_best([-2.0, -2.1, -1.9])
    runs.loc[runs["run_dir"] == "cyclical_annealing-None-fixed/10/0", "status"] = "failed"
    runs = runs.loc[~((runs["mitigation"] == "aggressive_encoder") & (runs["sigma2"] == 10))]
    runs.loc[runs["run_dir"] == "free_bits-total-fixed/0.1/2", "log_px_test"] = math.nan
    out = fig9.render(runs, tmp_path, dpi=40)
    assert out.missing == [
        "run cyclical_annealing-None-fixed/10/0 (failed)",
        "aggressive_encoder, σ²=10",
    ]
    assert "1 completed runs without held-out log p(x)" in " ".join(out.notes)
    with pytest.raises(ValueError, match="log_px_test"):
        fig9.render(runs.drop(columns="log_px_test"), tmp_path)


def test_the_registry_draws_figure_9_and_judges_c8_from_the_run_folders(tmp_path: Path) -> None:
    runs = with_best([-2.0, -2.1, -1.9])
    runs["run_dir"] = [str(tmp_path / r) for r in runs["run_dir"]]
    for run_dir, curve in settled(runs).groupby("run_dir"):
        Path(run_dir).mkdir(parents=True)
        wide = curve.pivot(index="step", columns="metric", values="value").reset_index()
        wide.to_csv(Path(run_dir) / "metrics.csv", index=False)
    plain = runs["mitigation"] == "none"
    (figure,) = [f for f in FIGURES if f.definitions == ("C8/fig9",)]
    assert figure.experiment == "mitigations" and figure.default is False
    both = {"mitigations": runs.loc[~plain], "fig5_fixed_sigma": runs.loc[plain]}
    drawn = entry(figure, Inputs(tmp_path, LAM, pd.DataFrame(), both, lambda _: None), tmp_path)
    (verdict,) = drawn.verdicts
    assert verdict.holds is True and verdict.result("best_mean_advantage").interval.mean == -2
    assert (tmp_path / "fig9.png").exists()
    only = {"mitigations": runs.loc[~plain]}
    alone = entry(
        figure, Inputs(tmp_path, LAM, pd.DataFrame(), only, lambda _: None), tmp_path / "alone"
    )
    assert alone.verdicts[0].holds is None and any("fig5_fixed_sigma" in n for n in alone.notes)
