"""Each claim's verdict says 'holds' on a table built to hold and 'fails' on one built to fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_figures.verdicts import (
    Verdict,
    verdict_c1,
    verdict_c2,
    verdict_c3,
    verdict_c3_encoders,
    verdict_c4,
    verdict_c5,
    verdict_c6,
)

D = 20
LAM = 10.0 * 0.7 ** np.arange(D)  # covariance eigenvalues, descending


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


def test_verdict_line_and_outcomes() -> None:
    v = Verdict("C4", "collapse rises", True, "Spearman ρ = 0.98")
    assert v.line() == "C4: collapse rises: holds (Spearman ρ = 0.98)"
    assert Verdict("C1", "s", None, "d").outcome == "cannot judge"
    assert Verdict("C1", "s", False, "d").to_dict()["outcome"] == "fails"
    with pytest.raises(ValueError, match="claim"):
        Verdict("C9", "s", True, "d")


def test_c1_c2_on_closed_form_sweep() -> None:
    assert verdict_c1(sweep()).outcome == "holds"
    assert verdict_c1(sweep(elbo_offset=-0.5)).outcome == "fails"
    good = verdict_c2(sweep(), LAM)
    assert good.outcome == "holds", good.detail
    kstar = int(np.sum(LAM > 1.0))  # 7
    assert f"plateau predicted at k={kstar}" in good.detail
    assert verdict_c2(sweep(ramp=0.1), LAM).outcome == "fails"
    # linear_vae.sweep form: MLE σ² value in `sigma2`, flag in `sigma2_learned`
    flagged = sweep().assign(sigma2_learned=lambda d: d["sigma2"].isna())
    flagged.loc[flagged["sigma2_learned"], "sigma2"] = 2.5
    assert verdict_c1(flagged).outcome == "holds"
    assert verdict_c2(flagged, LAM).outcome == "holds"
    short = sweep().query("n_latent <= 3")
    assert verdict_c2(short, LAM).outcome == "cannot judge"


def curves(noise_analytic: float, noise_stoch: float, end_gap: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    steps = np.arange(0, 1000, 5)
    rows = []
    for obj, noise in [("analytic", noise_analytic), ("stochastic", noise_stoch)]:
        value = -500 - end_gap - 300 * np.exp(-steps / 80) + noise * rng.standard_normal(len(steps))
        rows.append(
            pd.DataFrame(
                {
                    "run_dir": f"r_{obj}",
                    "objective": obj,
                    "step": steps,
                    "metric": "elbo",
                    "value": value,
                }
            )
        )
    return pd.concat(rows)


def test_c3() -> None:
    assert verdict_c3(curves(0.0, 2.0), mle=-500.0).outcome == "holds"
    assert verdict_c3(curves(2.0, 0.0), mle=-500.0).outcome == "fails"  # analytic noisier
    assert verdict_c3(curves(0.0, 2.0, end_gap=50), mle=-500.0).outcome == "fails"  # far off
    assert verdict_c3(curves(0.0, 2.0), mle=-500.0, min_steps=5000).outcome == "cannot judge"
    only = curves(0.0, 2.0).query("objective == 'analytic'")
    assert verdict_c3(only, mle=-500.0).outcome == "cannot judge"


def test_c3_encoders() -> None:
    c = curves(0.0, 0.0).assign(
        encoder=lambda d: d["objective"].map({"analytic": "linear", "stochastic": "mlp"})
    )
    assert verdict_c3_encoders(c, -500.0, expected=["linear", "mlp"]).outcome == "holds"
    assert verdict_c3_encoders(c, -520.0, expected=["linear", "mlp"]).outcome == "fails"  # beats
    assert verdict_c3_encoders(c, -500.0).outcome == "cannot judge"  # deep_linear missing


SIGMA = [10.0, 1.0, 0.1, 0.01, 0.001]


def runs_c4(collapse: list[float], steps: int = 2000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_dir": [f"r{i}" for i in range(len(SIGMA))],
            "sigma2": SIGMA,
            "status": "completed",
            "step": steps,
            "latent_dim": 10,
            "sigma2_mode": "fixed",
            "collapse_integrated": collapse,
            "active_units": [round(10 * (1 - c)) for c in collapse],
            "collapsed_fraction": collapse,
        }
    )


def test_c4() -> None:
    rising = [1.0, 0.9, 0.5, 0.1, 0.0]  # collapse falls as σ² falls
    good = verdict_c4(runs_c4(rising), LAM)
    assert good.outcome == "holds", good.detail
    assert "Spearman ρ(σ², collapse) = 1.00" in good.detail
    assert verdict_c4(runs_c4([0.0, 0.9, 0.1, 1.0, 0.5]), LAM).outcome == "fails"
    short = verdict_c4(runs_c4(rising, steps=100), LAM, min_steps=1000)
    assert short.outcome == "cannot judge" and "too short" in short.detail
    miss = verdict_c4(runs_c4(rising), LAM, expected=[*SIGMA, 30.0])
    assert miss.outcome == "cannot judge" and "30" in miss.detail
    au = verdict_c4(runs_c4(rising), LAM, measure="active_units")
    assert au.outcome == "holds" and "active units" in au.detail
    # monotone with heavy ties (ρ < 0.9) still rises
    ties = verdict_c4(runs_c4([1.0, 1.0, 1.0, 0.0, 0.0]), None)
    assert ties.outcome == "holds", ties.detail


def runs_c5(learned: list[float]) -> pd.DataFrame:
    fixed = runs_c4([1.0, 0.9, 0.5, 0.1, 0.0])
    lr = runs_c4(learned).assign(sigma2_mode="learned", run_dir=lambda d: "L" + d["run_dir"])
    return pd.concat([fixed, lr], ignore_index=True)


def test_c5() -> None:
    good = verdict_c5(runs_c5([0.4, 0.1, 0.05, 0.0, 0.0]))
    assert good.outcome == "holds", good.detail
    assert verdict_c5(runs_c5([1.0, 0.9, 0.5, 0.1, 0.0])).outcome == "fails"  # nothing removed
    assert verdict_c5(runs_c5([0.0, 0.0, 0.0, 0.0, 0.0])).outcome == "fails"  # nothing left
    only_fixed = runs_c5([0.0] * 5).query("sigma2_mode == 'fixed'")
    assert verdict_c5(only_fixed).outcome == "cannot judge"
    with pytest.raises(ValueError, match="sigma2_mode"):
        verdict_c5(runs_c5([0.0] * 5).drop(columns="sigma2_mode"))
    # C4 ignores the learned rows mixed into the same table
    assert verdict_c4(runs_c5([0.0, 1.0, 0.0, 1.0, 0.0]), LAM).outcome == "holds"


def runs_c6(final_annealed_au: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame(
        {
            "run_dir": ["anneal", "plain"],
            "sigma2": [1.0, 1.0],
            "likelihood": "gaussian_fixed",
            "kl_anneal_steps": [500, 0],
            "latent_dim": 100,
            "status": "completed",
            "step": 2000,
            "active_units": [final_annealed_au, 20],
            "collapsed_fraction": [1 - final_annealed_au / 100, 0.8],
        }
    )
    steps = np.arange(0, 2001, 100)
    au = np.where(steps <= 500, 80, np.linspace(80, final_annealed_au, len(steps)))
    curves_ = pd.DataFrame(
        {"run_dir": "anneal", "step": steps, "metric": "active_units", "value": au}
    )
    return runs, curves_


def test_c6() -> None:
    good = verdict_c6(*runs_c6(22))
    assert good.outcome == "holds", good.detail
    assert "20.0%" in good.detail  # collapse at end of annealing: 1 - 80/100
    assert verdict_c6(*runs_c6(70)).outcome == "fails"  # annealing prevented collapse for good
    runs, cur = runs_c6(22)
    assert verdict_c6(runs.iloc[[1]], cur).outcome == "cannot judge"


def test_c6_does_not_judge_settings_where_annealing_lowered_nothing() -> None:
    runs, curves_ = runs_c6(22)
    # During annealing the run was as collapsed as the plain one (20 active units): nothing to
    # delay, so this setting neither supports nor refutes C6.
    flat = curves_.assign(value=20)
    assert verdict_c6(runs, flat).outcome == "cannot judge"
    assert "not judged" in verdict_c6(runs, flat).detail
