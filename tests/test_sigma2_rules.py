"""σ²'s own optimiser, the learned ↔ closed-form switch, its logging, and the C7 verdict/figure."""

from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from lucas2019 import results, trainer
from lucas2019.config import ConfigError, validate
from lucas2019.likelihoods import build_likelihood
from lucas2019.tracking import Tracker
from paper_figures import fig8
from paper_figures.claims.c7 import compute as compute_c7
from paper_figures.claims.table import DEFINITIONS

# The conftest's linear VAE (analytic ELBO, full batch) trains deterministically, so the σ² a step
# used can be checked against quantities computed along another code path.
EVERY_STEP = "trainer.eval_every=1"


def metrics_of(train_linear, run_dir, *overrides) -> pd.DataFrame:
    """metrics.csv of a linear run evaluated after every step."""
    train_linear(run_dir, EVERY_STEP, *overrides)
    return pd.read_csv(run_dir / "metrics.csv")


def model_state(run_dir) -> dict:
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]


# ---------------------------------------------------------------- the closed-form σ²


def test_closed_form_sigma2_is_the_batch_optimum_at_every_step(train_linear, tmp_path):
    m = metrics_of(train_linear, tmp_path, "likelihood=gaussian_optimal", "trainer.max_steps=30")
    stepped = m[m["step"] >= 1]  # the rows after a step (step 0: the initial model, no batch)
    # The σ² a step used is that step's batch E_q MSE (rounding: float32 sums in two orders).
    np.testing.assert_allclose(stepped["sigma2"], stepped["sigma2_optimal_batch"], rtol=1e-5)
    # Independent path: full batch, so step t's batch optimum is the one that the evaluation
    # after step t - 1 (at step 0: of the initial model) computed from the same parameters
    # (metrics.evaluate, not the train step).
    np.testing.assert_allclose(m["sigma2_optimal_batch"][1:], m["sigma2_optimal"][:-1], rtol=1e-5)
    assert m["sigma2"].iloc[-1] < 0.8 * stepped["sigma2"].iloc[0]  # σ² follows the improving fit


# ---------------------------------------------------------------- σ²'s own optimiser


def test_zero_sigma2_lr_holds_sigma2_and_leaves_every_other_update_unchanged(
    train_linear, tmp_path
):
    steps = "trainer.max_steps=40"
    fixed = metrics_of(
        train_linear, tmp_path / "fixed", steps, "likelihood=gaussian_fixed", "likelihood.sigma2=2"
    )
    held = metrics_of(
        train_linear,
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
    cols = ["elbo", "rec", "kl", "sigma2_optimal_batch", "active_units"]
    pd.testing.assert_frame_equal(held[cols], fixed[cols], rtol=1e-12)


def test_sigma2_lr_changes_the_sigma2_trajectory_and_defaults_to_the_model_lr(
    train_linear, tmp_path
):
    runs = {
        name: metrics_of(
            train_linear,
            tmp_path / name,
            "trainer.max_steps=20",
            "likelihood=gaussian_learned",
            "likelihood.sigma2=2",
            *extra,
        )
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


def test_sgd_sigma2_step_is_minus_lr_times_the_closed_form_gradient(train_linear, tmp_path):
    lr, s0, floor = 1e-3, 2.0, 1e-6
    m = metrics_of(
        train_linear,
        tmp_path,
        "trainer.max_steps=1",
        "likelihood=gaussian_learned",
        f"likelihood.sigma2={s0}",
        "likelihood.sigma2_optim=sgd",
        f"likelihood.sigma2_lr={lr}",
    )
    after = m[m["step"] == 1].iloc[0]  # the row after the one step (the first is step 0)
    d, mse = 10, float(after["sigma2_optimal_batch"])
    # −ELBO per example = d·mse/(2σ²) + (d/2)·log σ² + ...; σ² = m + (σ²₀ − m)·e^θ, θ₀ = 0.
    grad_theta = (s0 - floor) * 0.5 * (d / s0 - d * mse / s0**2)
    expected = floor + (s0 - floor) * math.exp(-lr * grad_theta)
    assert float(after["sigma2"]) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- switching rules


def test_learned_then_optimal_switches_at_the_configured_step(train_linear, tmp_path):
    m = metrics_of(
        train_linear,
        tmp_path,
        "trainer.max_steps=20",
        "likelihood=gaussian_learned",
        "likelihood.sigma2=2",
        "likelihood.sigma2_switch_step=10",
        "likelihood.sigma2_switch_to=optimal",
    )
    before, after = m[m["step"] <= 10], m[m["step"] > 10]
    assert (before["sigma2"] > 1.5).all()  # learned at lr 0.01: still near 2
    np.testing.assert_allclose(after["sigma2"], after["sigma2_optimal_batch"], rtol=1e-5)


def test_optimal_then_learned_continues_from_the_last_closed_form_value(train_linear, tmp_path):
    m = metrics_of(
        train_linear,
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
    assert not np.allclose(learned["sigma2"], learned["sigma2_optimal_batch"], rtol=1e-3)


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
    train_linear, tmp_path, start, switch_to, stop_at
):
    overrides = [
        "trainer.max_steps=24",
        "trainer.eval_every=2",
        f"likelihood={start}",
        "likelihood.sigma2_switch_step=10",
        f"likelihood.sigma2_switch_to={switch_to}",
    ]
    reference = train_linear(tmp_path / "ref", *overrides)
    with pytest.raises(trainer.Preempted):
        train_linear(tmp_path / "run", *overrides, tracker=StopAtStep(stop_at))
    resumed = train_linear(tmp_path / "run", *overrides)
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
        (["likelihood.sigma2_lr=0.1"], "sigma2_lr", "null unless σ² is learned"),
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


RULES = ("learned", "learned_fast", "optimal", "learned_then_optimal")
INITIAL = (10.0, 0.1)  # data units²; the optimum is ≈ 0.09
STEPS = 300
SLOW, FAST, OPTIMAL = "learned (adam, lr 0.01)", "learned (adam, lr 0.05)", "optimal"
SWITCH = f"{SLOW} → optimal at step {STEPS // 2}"


@pytest.fixture(scope="module")
def rule_sweep(train_linear, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """collect_runs and training_curves of real runs of every σ² rule from each initial σ²
    (linear VAE at optim.lr 0.01, 300 steps, evaluated every 15)."""
    root = tmp_path_factory.mktemp("sigma2_rules")
    for rule in RULES:
        for sigma2 in INITIAL:
            train_linear(
                root / rule / f"{sigma2:g}",
                f"sigma2_rule={rule}",
                f"likelihood.sigma2={sigma2}",
                f"trainer.max_steps={STEPS}",
                "trainer.eval_every=15",
            )
    runs = results.collect_runs(root)
    return runs, results.training_curves(runs)


def run_of(runs: pd.DataFrame, rule: str, sigma2: float) -> pd.Series:
    """The collect_runs row of one rule's run from initial σ² ``sigma2``."""
    return runs.loc[(runs["sigma2_rule"] == rule) & (runs["sigma2"] == sigma2)].iloc[0]


def elbo_gap(runs: pd.DataFrame, rule: str) -> float:
    """ELBO from the smallest initial σ² minus ELBO from the largest [nats per example]."""
    return run_of(runs, rule, min(INITIAL))["elbo"] - run_of(runs, rule, max(INITIAL))["elbo"]


# The runs are 300 steps long, shorter than the definition's 1,000.
C7 = replace(DEFINITIONS["C7/fig8"], min_steps=0)


def as_three_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs' rows repeated as seeds 0, 1 and 2 (same folders): identical seeds."""
    return pd.concat([runs.assign(seed=seed) for seed in range(3)], ignore_index=True)


def test_verdict_c7_on_real_runs_says_optimiser_speed(rule_sweep):
    """In a linear VAE nothing is a local optimum: a fast σ² closes the slow rule's gap."""
    runs, curves = rule_sweep
    assert set(runs["sigma2_rule"]) == {SLOW, FAST, OPTIMAL, SWITCH}
    assert elbo_gap(runs, SLOW) > 1.0  # from σ² = 10 at lr 0.01, σ² is still far too large
    left = elbo_gap(runs, FAST) / elbo_gap(runs, SLOW)
    one_seed = compute_c7(runs, curves, C7)
    assert (one_seed.holds, one_seed.values("share_left")) == (None, (pytest.approx(left),))
    numbers = compute_c7(as_three_seeds(runs), curves, C7)
    assert numbers.holds is False and left < 0.5
    assert numbers.values("share_left") == pytest.approx([left] * 3)
    rules = numbers.by_setting
    assert set(rules) == {
        f"{SLOW} (slow)",
        f"{FAST} (fast)",
        f"{OPTIMAL} (reference)",
        f"{SWITCH} (switches)",
    }
    reached_by = "σ² near its optimum by (share of training)"
    assert (
        rules[f"{SLOW} (slow)"][reached_by] == np.inf and rules[f"{FAST} (fast)"][reached_by] <= 0.5
    )
    assert rules[f"{OPTIMAL} (reference)"]["ELBO gap"] == 0.0  # the closed form forgets its start
    big = run_of(runs, SWITCH, max(INITIAL))
    units = curves.loc[(curves["run_dir"] == big["run_dir"]) & (curves["metric"] == "active_units")]
    at_switch = units.loc[units["step"] <= STEPS // 2, "value"].iloc[-1]
    assert (at_switch, big["active_units"]) == (0, 4)  # the closed form revives every latent
    switch = rules[f"{SWITCH} (switches)"]
    assert (switch["AU from largest σ² at the switch"], switch["AU from largest σ²"]) == (0, 4)


def test_verdict_c7_says_local_optimum_when_the_gap_stays_with_a_fast_sigma2(rule_sweep):
    runs, curves = rule_sweep
    runs = runs.copy()
    # the fast rule's run from σ² = 10 ends 70% of the slow rule's gap below its partner
    big = (runs["sigma2_rule"] == FAST) & (runs["sigma2"] == max(INITIAL))
    small_elbo = run_of(runs, FAST, min(INITIAL))["elbo"]
    runs.loc[big, "elbo"] = small_elbo - 0.7 * elbo_gap(runs, SLOW)
    numbers = compute_c7(as_three_seeds(runs), curves, C7)
    assert numbers.holds is True and numbers.values("share_left") == pytest.approx([0.7] * 3)


def test_verdict_c7_cannot_judge_without_fast_and_slow_rules_or_a_gap(rule_sweep):
    runs, curves = rule_sweep
    without_fast = as_three_seeds(runs.loc[runs["sigma2_rule"] != FAST])
    numbers = compute_c7(without_fast, curves, C7)
    assert numbers.holds is None and numbers.n == 0
    assert numbers.left_out == dict.fromkeys(range(3), "needs a slow and a fast σ² rule")
    no_gap = runs.copy()
    slow_big = (no_gap["sigma2_rule"] == SLOW) & (no_gap["sigma2"] == max(INITIAL))
    no_gap.loc[slow_big, "elbo"] = run_of(runs, SLOW, min(INITIAL))["elbo"] + 0.1
    numbers = compute_c7(as_three_seeds(no_gap), curves, C7)
    assert numbers.left_out[0] == "the slow rule shows no ELBO gap to explain"
    too_short = compute_c7(as_three_seeds(runs), curves, replace(C7, min_steps=STEPS + 1))
    assert too_short.n == 0 and len(too_short.too_short) == 3 * len(RULES) * len(INITIAL)
    assert too_short.reason.startswith(
        "runs too short (< 301 steps); fewer than 3 seeds judged: 0; "
    )


def test_fig8_draws_one_column_per_rule_and_lists_missing_initial_values(rule_sweep, tmp_path):
    _, curves = rule_sweep
    expected = (10.0, 1.0, 0.1)
    rendered = fig8.render(
        curves, 0.09, tmp_path, mle_label="pPCA σ²_MLE (k = 4)", expected=expected
    )
    assert (tmp_path / "fig8.png").stat().st_size > 5000
    rules = sorted((SLOW, FAST, OPTIMAL, SWITCH))
    info = rendered.info["axes"]
    assert [a["title"] for a in info[: len(rules)]] == rules
    assert info[0]["yscale"] == "log" and info[len(rules)]["ylabel"] == "active units [count]"
    legend = info[len(rules) - 1]["legend"]  # on the last column
    assert legend == ["σ²₀ = 10", "σ²₀ = 0.1", "pPCA σ²_MLE (k = 4)"]
    assert rendered.missing == [f"{rule}, σ²=1" for rule in rules]
