"""σ²'s own optimiser, the learned ↔ closed-form switch, its logging, and the C7 verdict/figure."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
import torch

from lucas2019 import results, trainer
from lucas2019.config import ConfigError, validate
from lucas2019.likelihoods import build_likelihood
from lucas2019.tracking import Tracker
from paper_figures import fig8
from paper_figures.verdicts import verdict_c7

# A linear VAE with the analytic ELBO, full batch: training is deterministic, so the σ² a step
# used can be checked against quantities computed along another code path.
LINEAR = [
    "dataset=synthetic",
    "dataset.options.dim=10",
    "dataset.options.n_strong=3",
    "dataset.n_train=200",
    "dataset.n_test=50",
    "model=linear_vae",
    "model.objective=analytic",
    "model.latent_dim=4",
    "optim.lr=0.01",
    "trainer.eval_every=1",
    "trainer.iw_samples=0",
    "trainer.progress=false",
    "torch_threads=1",
]


def train_linear(compose_train, run_dir, *overrides) -> tuple[dict, pd.DataFrame]:
    result = trainer.train(compose_train([*LINEAR, f"run_dir={run_dir}", *overrides]))
    return result, pd.read_csv(run_dir / "metrics.csv")


def model_state(run_dir) -> dict:
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]


# ---------------------------------------------------------------- the closed-form σ²


def test_closed_form_sigma2_is_the_batch_mse_at_every_step(compose_train, tmp_path):
    _, m = train_linear(
        compose_train, tmp_path, "likelihood=gaussian_optimal", "trainer.max_steps=30"
    )
    # The σ² a step used is that step's batch E_q MSE (rounding: float32 sums in two orders).
    np.testing.assert_allclose(m["sigma2"], m["batch_mse"], rtol=1e-5)
    # Independent path: full batch, so step t's batch MSE is the E_q MSE that the evaluation
    # after step t - 1 computed from the same parameters (metrics.evaluate, not the train step).
    np.testing.assert_allclose(m["batch_mse"][1:], m["sigma2_optimal"][:-1], rtol=1e-5)
    assert m["sigma2"].iloc[-1] < 0.8 * m["sigma2"].iloc[0]  # σ² follows the improving fit


# ---------------------------------------------------------------- σ²'s own optimiser


def test_zero_sigma2_lr_holds_sigma2_and_leaves_every_other_update_unchanged(
    compose_train, tmp_path
):
    steps = "trainer.max_steps=40"
    _, fixed = train_linear(
        compose_train, tmp_path / "fixed", steps, "likelihood=gaussian_fixed", "likelihood.sigma2=2"
    )
    _, held = train_linear(
        compose_train,
        tmp_path / "held",
        steps,
        "likelihood=gaussian_learned",
        "likelihood.sigma2=2",
        "likelihood.sigma2_lr=0",
    )
    assert (held["sigma2"] == 2.0).all()
    a, b = model_state(tmp_path / "fixed"), model_state(tmp_path / "held")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0)
    cols = ["elbo", "rec", "kl", "batch_mse", "active_units"]
    pd.testing.assert_frame_equal(held[cols], fixed[cols], rtol=1e-12)


def test_sigma2_lr_changes_the_sigma2_trajectory_and_defaults_to_the_model_lr(
    compose_train, tmp_path
):
    runs = {
        name: train_linear(
            compose_train,
            tmp_path / name,
            "trainer.max_steps=20",
            "likelihood=gaussian_learned",
            "likelihood.sigma2=2",
            *extra,
        )[1]
        for name, extra in {
            "default": [],
            "same": ["likelihood.sigma2_lr=0.01"],
            "fast": ["likelihood.sigma2_lr=0.1"],
        }.items()
    }
    pd.testing.assert_frame_equal(
        runs["same"].drop(columns="wall_time_s"), runs["default"].drop(columns="wall_time_s")
    )
    # Adam moves log σ² by about its lr per step while the gradient keeps its sign.
    drop_default = math.log(2.0 / runs["default"]["sigma2"].iloc[-1])
    drop_fast = math.log(2.0 / runs["fast"]["sigma2"].iloc[-1])
    assert drop_default == pytest.approx(20 * 0.01, rel=0.1)
    assert drop_fast == pytest.approx(20 * 0.1, rel=0.1)


def test_sgd_sigma2_step_is_minus_lr_times_the_closed_form_gradient(compose_train, tmp_path):
    lr, s0, floor = 1e-3, 2.0, 1e-6
    _, m = train_linear(
        compose_train,
        tmp_path,
        "trainer.max_steps=1",
        "likelihood=gaussian_learned",
        f"likelihood.sigma2={s0}",
        "likelihood.sigma2_optim=sgd",
        f"likelihood.sigma2_lr={lr}",
    )
    d, mse = 10, float(m["batch_mse"].iloc[0])
    # −ELBO per example = d·mse/(2σ²) + (d/2)·log σ² + ...; σ² = m + (σ²₀ − m)·e^θ, θ₀ = 0.
    grad_theta = (s0 - floor) * 0.5 * (d / s0 - d * mse / s0**2)
    expected = floor + (s0 - floor) * math.exp(-lr * grad_theta)
    assert float(m["sigma2"].iloc[0]) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- switching rules


def test_learned_then_optimal_switches_at_the_configured_step(compose_train, tmp_path):
    _, m = train_linear(
        compose_train,
        tmp_path,
        "trainer.max_steps=20",
        "likelihood=gaussian_learned",
        "likelihood.sigma2=2",
        "likelihood.sigma2_switch_step=10",
        "likelihood.sigma2_switch_to=optimal",
    )
    before, after = m[m["step"] <= 10], m[m["step"] > 10]
    assert (before["sigma2"] > 1.5).all()  # learned at lr 0.01: still near 2
    np.testing.assert_allclose(after["sigma2"], after["batch_mse"], rtol=1e-5)


def test_optimal_then_learned_continues_from_the_last_closed_form_value(compose_train, tmp_path):
    _, m = train_linear(
        compose_train,
        tmp_path,
        "trainer.max_steps=20",
        "likelihood=gaussian_optimal",
        "likelihood.sigma2_switch_step=10",
        "likelihood.sigma2_switch_to=learned",
        "likelihood.sigma2_lr=0.01",
    )
    last_closed_form = float(m.loc[m["step"] == 10, "sigma2"].iloc[0])
    first_learned = float(m.loc[m["step"] == 11, "sigma2"].iloc[0])
    # One Adam step moves log σ² by at most ~lr from where the closed form left it.
    assert abs(math.log(first_learned / last_closed_form)) <= 0.0101
    learned = m[m["step"] > 10]
    assert not np.allclose(learned["sigma2"], learned["batch_mse"], rtol=1e-3)


class StopAtStep(Tracker):
    """Sends SIGTERM to this process when the evaluation row of ``step`` is logged."""

    def __init__(self, step: int) -> None:
        self.step = step

    def log_metrics(self, row: dict, step: int) -> None:
        if step == self.step:
            os.kill(os.getpid(), 15)


@pytest.mark.parametrize(
    ("start", "switch_to", "stop_at"),
    [("gaussian_optimal", "learned", 14), ("gaussian_learned", "optimal", 10)],
)
def test_a_run_stopped_around_the_switch_resumes_identically(
    compose_train, tmp_path, start, switch_to, stop_at
):
    overrides = [
        *LINEAR,
        "trainer.max_steps=24",
        "trainer.eval_every=2",
        f"likelihood={start}",
        "likelihood.sigma2_switch_step=10",
        f"likelihood.sigma2_switch_to={switch_to}",
    ]
    reference = trainer.train(compose_train([*overrides, f"run_dir={tmp_path / 'ref'}"]))
    cfg = compose_train([*overrides, f"run_dir={tmp_path / 'run'}"])
    with pytest.raises(trainer.Preempted):
        trainer.train(cfg, tracker=StopAtStep(stop_at))
    resumed = trainer.train(cfg)
    assert resumed["elbo"] == pytest.approx(reference["elbo"], rel=1e-12)
    assert resumed["sigma2"] == pytest.approx(reference["sigma2"], rel=1e-12)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "run" / "metrics.csv").drop(columns="wall_time_s"),
        pd.read_csv(tmp_path / "ref" / "metrics.csv").drop(columns="wall_time_s"),
    )


def test_switch_mode_keeps_sigma2_continuous_and_survives_a_state_dict_round_trip():
    lik = build_likelihood("gaussian_optimal", 3, sigma2=2.0, min_sigma2=1e-3).double()
    sq_err = torch.tensor([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], dtype=torch.float64)
    lik.expected_log_prob_from_sq_err(sq_err)  # training mode: σ² = 0.2 is remembered
    lik.switch_mode("learned")
    assert lik.sigma2().item() == pytest.approx(0.2, rel=1e-12)
    with torch.no_grad():
        lik.theta.add_(0.5)
    moved = lik.sigma2().item()
    fresh = build_likelihood("gaussian_optimal", 3, sigma2=2.0, min_sigma2=1e-3).double()
    fresh.load_state_dict(lik.state_dict())
    assert fresh.mode == "learned" and fresh.sigma2().item() == pytest.approx(moved, rel=1e-12)
    with pytest.raises(ValueError, match="between 'learned' and 'optimal'"):
        build_likelihood("gaussian_fixed", 3).switch_mode("optimal")


# ---------------------------------------------------------------- config checks


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        (["likelihood.sigma2_lr=-1", "likelihood=gaussian_learned"], "sigma2_lr", ">= 0"),
        (["likelihood.sigma2_lr=0.1"], "sigma2_lr", "only with a learned σ²"),
        (["likelihood.sigma2_optim=rmsprop", "likelihood=gaussian_learned"], "sigma2_optim", "sgd"),
        (["likelihood.sigma2_optim=sgd"], "sigma2_optim", "no σ² parameter"),
        (["likelihood.sigma2_switch_to=optimal"], "sigma2_switch_to", "gaussian_fixed"),
        (
            ["likelihood=gaussian_learned", "likelihood.sigma2_switch_to=optimal"],
            "sigma2_switch_step",
            "set together",
        ),
        (
            [
                "likelihood=gaussian_optimal",
                "likelihood.sigma2_switch_to=learned",
                "likelihood.sigma2_switch_step=999999",
            ],
            "sigma2_switch_step",
            "trainer.max_steps",
        ),
        (["likelihood=gaussian_optimal", "likelihood.sigma2=1e-7"], "likelihood.sigma2", "above"),
    ],
)
def test_bad_sigma2_rule_keys_are_named(compose_train, overrides, key, hint):
    with pytest.raises(ConfigError, match=key) as error:
        validate(compose_train(overrides))
    assert hint in str(error.value)


def test_experiment_preset_sweeps_initial_sigma2_by_rule(compose_train):
    cfg = compose_train(
        ["experiment=sigma2_dynamics", "sigma2_rule=learned_then_optimal"], config_name="train"
    )
    validate(cfg)
    assert cfg.likelihood.name == "gaussian_learned"
    assert cfg.likelihood.sigma2_switch_step == cfg.trainer.max_steps // 2
    assert compose_train(["sigma2_rule=optimal"]).likelihood.name == "gaussian_optimal"
    assert compose_train(["sigma2_rule=learned_fast"]).likelihood.sigma2_lr == 0.05


# ---------------------------------------------------------------- labels, verdict, figure


@pytest.mark.parametrize(
    ("row", "label"),
    [
        ({"likelihood": "gaussian_fixed"}, "fixed"),
        ({"likelihood": "bernoulli"}, None),
        ({"likelihood": "gaussian_learned", "lr": 5e-4}, "learned (adam, lr 0.0005)"),
        (
            {
                "likelihood": "gaussian_learned",
                "lr": 5e-4,
                "sigma2_lr": 0.05,
                "sigma2_optim": "sgd",
            },
            "learned (sgd, lr 0.05)",
        ),
        (
            {
                "likelihood": "gaussian_learned",
                "lr": 5e-4,
                "sigma2_switch_to": "optimal",
                "sigma2_switch_step": 1000.0,
            },
            "learned (adam, lr 0.0005) → optimal at step 1000",
        ),
    ],
)
def test_sigma2_rule_labels(row, label):
    assert results.sigma2_rule(row) == label


def dynamics_tables(rules: dict[str, dict], steps: int = 2000):
    """Runs and curves of a sigma2_dynamics sweep. Per rule: ``elbo`` (from σ² 10, from 0.01),
    ``reach`` (step where σ² meets its optimum 0.05), optional ``switch`` step; active units are
    0 before a switch and 50 otherwise."""
    runs, curves = [], []
    for rule, spec in rules.items():
        for s0, elbo in zip((10.0, 0.01), spec["elbo"], strict=True):
            run_dir = f"{rule}/{s0}"
            runs.append(
                {
                    "run_dir": run_dir,
                    "sigma2": s0,
                    "sigma2_rule": rule,
                    "sigma2_switch_step": spec.get("switch"),
                    "status": "completed",
                    "step": steps,
                    "active_units": 50.0,
                    "elbo": elbo,
                }
            )
            for step in range(100, steps + 1, 100):
                s2 = 0.05 if step >= spec["reach"] else s0
                units = 0.0 if step <= spec.get("switch", 0) else 50.0
                for metric, value in (
                    ("sigma2", s2),
                    ("sigma2_optimal", 0.05),
                    ("active_units", units),
                ):
                    curves.append({"run_dir": run_dir, "step": step, "metric": metric})
                    curves[-1]["value"] = value
    return pd.DataFrame(runs), pd.DataFrame(curves)


SLOW, FAST, OPTIMAL = "learned (adam, lr 0.0005)", "learned (adam, lr 0.05)", "optimal"
SWITCH = f"{SLOW} → optimal at step 1000"
NEVER = 10**9


def test_verdict_c7_says_optimiser_speed_when_a_fast_sigma2_closes_the_gap():
    runs, curves = dynamics_tables(
        {
            SLOW: {"elbo": (-1000.0, 700.0), "reach": NEVER},
            FAST: {"elbo": (650.0, 770.0), "reach": 200},
            OPTIMAL: {"elbo": (770.0, 770.0), "reach": 100},
            SWITCH: {"elbo": (500.0, 700.0), "reach": 1100, "switch": 1000},
        }
    )
    v = verdict_c7(runs, curves, min_steps=1000)
    assert v.holds is False and "answer: optimiser speed" in v.detail
    assert f"{FAST} 7.1%" in v.detail  # (770 − 650) / (700 + 1000) of the gap is left
    assert "never (slow)" in v.detail and "by 10% of training (fast)" in v.detail
    assert "initial σ² has no effect" in v.detail
    assert "AU 0 at the switch (step 1000), 50 at the end" in v.detail


def test_verdict_c7_says_local_optimum_when_the_gap_stays_with_a_fast_sigma2():
    runs, curves = dynamics_tables(
        {
            SLOW: {"elbo": (-1000.0, 700.0), "reach": NEVER},
            FAST: {"elbo": (-500.0, 700.0), "reach": 200},
        }
    )
    v = verdict_c7(runs, curves)
    assert v.holds is True and "answer: local optimum" in v.detail and "70.6%" in v.detail


def test_verdict_c7_cannot_judge_without_fast_and_slow_rules_or_a_gap():
    late = {SLOW: {"elbo": (-1000.0, 700.0), "reach": NEVER}, FAST: {"elbo": (0, 1), "reach": 1500}}
    assert "needs a slow and a fast" in verdict_c7(*dynamics_tables(late)).detail
    no_gap = {SLOW: {"elbo": (710.0, 700.0), "reach": NEVER}, FAST: {"elbo": (0, 1), "reach": 10}}
    assert "no ELBO gap" in verdict_c7(*dynamics_tables(no_gap)).detail
    runs, curves = dynamics_tables(late)
    assert "too short" in verdict_c7(runs, curves, min_steps=5000).detail


def test_fig8_draws_one_column_per_rule_and_lists_missing_initial_values(tmp_path):
    runs, curves = dynamics_tables(
        {SLOW: {"elbo": (0.0, 1.0), "reach": NEVER}, OPTIMAL: {"elbo": (1.0, 1.0), "reach": 100}}
    )
    curves = curves.merge(runs[["run_dir", "sigma2", "sigma2_rule"]])
    rendered = fig8.render(curves, 0.04, tmp_path, mle_label="pPCA σ²_MLE (k = 4)")
    assert (tmp_path / "fig8.png").stat().st_size > 5000
    info = rendered.info["axes"]
    assert [a["title"] for a in info[:2]] == [SLOW, OPTIMAL]
    assert info[0]["yscale"] == "log" and info[2]["ylabel"] == "active units [count]"
    assert info[1]["legend"] == ["σ²₀ = 10", "σ²₀ = 0.01", "pPCA σ²_MLE (k = 4)"]
    assert rendered.missing == [f"{SLOW}, σ²=1", f"{OPTIMAL}, σ²=1"]
