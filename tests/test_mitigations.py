"""Collapse mitigations against their definitions: free bits, cyclical annealing, aggressive
encoder training; their config group, their exact resume and extension, and the preset."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from lucas2019 import trainer
from lucas2019.config import (
    CONF_DIR,
    MITIGATION_SCHEMAS,
    TRAIN_KEYS,
    ConfigError,
    RunConfig,
    compose_config,
    validate,
)
from lucas2019.likelihoods import build_likelihood
from lucas2019.mitigations import MITIGATIONS, Mitigation, build_mitigation
from lucas2019.mitigations.aggressive_encoder import (
    encoder_parameters,
    inner_encoder_steps,
    mutual_information_stopped_rising,
)
from lucas2019.mitigations.free_bits import FREE_BITS_VARIANTS, free_bits_kl
from lucas2019.models import build_model, gaussian_kl
from lucas2019.schedules import cyclical_kl_weight
from lucas2019.tracking import Tracker

SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1", "model.latent_dim=4"]
# aggressive runs short enough for tests: inner loops of at most 10 steps, MI every 5 steps
QUICK_AGGRESSIVE = [
    "mitigation=aggressive_encoder",
    "mitigation.check_every=2",
    "mitigation.max_inner_steps=10",
    "mitigation.mi_every=5",
]


# --- free bits ---------------------------------------------------------------------------------


def _kl_with_means(means: list[float], n: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """mu (n, k) with mu_i(x) = ±sqrt(2 m_i) (half each) and logvar 0: latent i has KL m_i for
    every example, so its batch mean is m_i; returns (mu, KL (n, k))."""
    signs = torch.ones(n, 1, dtype=torch.float64)
    signs[::2] = -1.0
    mu = (signs * torch.tensor(means, dtype=torch.float64).mul(2).sqrt()).requires_grad_()
    return mu, gaussian_kl(mu, torch.zeros_like(mu))


def test_free_bits_per_latent_floors_each_latent_and_stops_its_gradient_below_lambda():
    lam, means = 0.5, [0.1, 0.4, 0.9, 2.0]
    mu, kl = _kl_with_means(means)
    term = free_bits_kl(kl, lam, "per_latent")
    assert float(term.detach()) == pytest.approx(sum(max(lam, m) for m in means))
    (grad,) = torch.autograd.grad(term, mu)
    per_latent = grad.abs().sum(0)
    assert torch.all(per_latent[:2] == 0)  # batch-mean KL 0.1 and 0.4 < λ: no pull to the prior
    assert torch.all(per_latent[2:] > 0)
    # above λ the gradient is the plain batch-mean KL's: d/dmu (mu² / 2) / n = mu / n
    torch.testing.assert_close(grad[:, 2:], mu[:, 2:].detach() / mu.shape[0])


def test_free_bits_on_the_total_floors_the_summed_kl():
    lam = 3.0
    for means, below in (([0.1, 0.4, 0.9, 1.0], True), ([0.1, 0.4, 0.9, 2.0], False)):
        mu, kl = _kl_with_means(means)
        term = free_bits_kl(kl, lam, "total")
        assert float(term.detach()) == pytest.approx(max(lam, sum(means)))
        (grad,) = torch.autograd.grad(term, mu)
        if below:  # summed KL 2.4 < λ: no latent gets a gradient, not even the largest
            assert torch.all(grad == 0)
        else:  # 3.4 > λ: every latent with KL gets the plain KL's gradient
            torch.testing.assert_close(grad, mu.detach() / mu.shape[0])


def test_free_bits_rejects_an_unknown_variant():
    _, kl = _kl_with_means([1.0])
    with pytest.raises(ValueError, match="per_latent"):
        free_bits_kl(kl, 0.5, "per_group")


@pytest.mark.parametrize("variant", FREE_BITS_VARIANTS)
def test_the_trainers_free_bits_objective_is_the_elbo_above_lambda_and_rec_alone_below(
    compose_train, tmp_path, variant
):
    cfg = compose_train(
        [*SMOKE, "mitigation=free_bits", f"mitigation.variant={variant}", f"run_dir={tmp_path}"]
    )
    loop, x = _loop(cfg)
    params = list(loop.model.parameters())

    def free_bits_gradients(lambda_nats: float) -> tuple[torch.Tensor, ...]:
        config = dataclasses.replace(loop.mitigation.config, lambda_nats=lambda_nats)
        loop.mitigation = build_mitigation(config)
        torch.manual_seed(0)  # the same reparameterisation noise for every objective
        return torch.autograd.grad(loop.objective(x, beta=1.0)[0], params)

    def elbo_gradients(kl_weight: float) -> tuple[torch.Tensor, ...]:
        torch.manual_seed(0)
        terms = loop.model.loss_terms(x, loop.likelihood)
        return torch.autograd.grad(-(terms["rec"] - kl_weight * terms["kl"]).mean(), params)

    # λ far above every KL: the KL term is the constant λ and only −rec has a gradient;
    # λ below every latent's KL: free bits is the plain ELBO
    for lambda_nats, kl_weight in ((1e6, 0.0), (1e-12, 1.0)):
        pairs = zip(free_bits_gradients(lambda_nats), elbo_gradients(kl_weight), strict=True)
        for a, b in pairs:
            torch.testing.assert_close(a, b)


def _loop(cfg) -> tuple[trainer.TrainingRun, torch.Tensor]:
    """A training loop of ``cfg`` on 32 random rows of digits' dimension, without a run folder."""
    torch.manual_seed(0)
    x = torch.rand(32, 64)
    model = build_model(
        data_dim=64, image_shape=None, **OmegaConf.to_container(cfg.model, resolve=True)
    )
    likelihood = build_likelihood("gaussian_fixed", data_dim=64, sigma2=0.1)
    s = trainer.Settings.from_config(RunConfig.from_config(cfg))
    optimizers = trainer.Optimizers(model.parameters(), likelihood.parameters(), s)
    loop = trainer.TrainingRun(
        s, model, likelihood, optimizers, torch.Generator(), x, None, Path(cfg.run_dir),
        trainer.NullTracker(), trainer._TrainingState(), {}, build_mitigation(s.mitigation),
    )  # fmt: skip
    return loop, x


# --- cyclical annealing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.0),  # every cycle starts at beta0
        (1, 0.2),  # τ = 0.1, τ / R = 0.2
        (4, 0.8),
        (5, 1.0),  # the ramp ends at R = 0.5 of the cycle
        (9, 1.0),
        (10, 0.0),  # the second cycle
        (13, 0.6),
        (19, 1.0),
        (20, 1.0),  # after the two cycles: beta, also far beyond (an extended run)
        (1000, 1.0),
    ],
)
def test_cyclical_weight_at_hand_computed_steps(step, expected):
    weight = cyclical_kl_weight(step, cycles=2, cycle_steps=10, ramp_ratio=0.5)
    assert weight == pytest.approx(expected, abs=1e-12)


def test_cyclical_weight_rises_from_beta0_to_beta_and_a_ratio_of_one_ramps_the_whole_cycle():
    # beta0 0.2, beta 2: at τ = 0.2 of a cycle with R = 0.5, 0.2 + 1.8 · 0.4 = 0.92
    assert cyclical_kl_weight(2, 3, 10, 0.5, beta=2.0, beta0=0.2) == pytest.approx(0.92)
    assert cyclical_kl_weight(5, 1, 10, 1.0) == pytest.approx(0.5)
    assert cyclical_kl_weight(9, 1, 10, 1.0) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"step": -1}, "step"),
        ({"cycles": 0}, "cycles"),
        ({"cycle_steps": 2.5}, "cycle_steps"),
        ({"ramp_ratio": 0.0}, "ramp_ratio"),
        ({"ramp_ratio": 1.5}, "ramp_ratio"),
        ({"beta": -1.0}, "beta"),
    ],
)
def test_cyclical_weight_rejects_bad_arguments(kwargs, match):
    arguments = {"step": 0, "cycles": 2, "cycle_steps": 10, "ramp_ratio": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        cyclical_kl_weight(**arguments)


def test_a_cyclical_run_logs_the_schedules_weights(compose_train, tmp_path):
    cfg = compose_train(
        [
            *SMOKE,
            "mitigation=cyclical_annealing",
            "mitigation.cycles=2",
            "mitigation.cycle_steps=10",
            "trainer.max_steps=25",
            "trainer.eval_every=1",
            f"run_dir={tmp_path}",
        ]
    )
    trainer.train(RunConfig.from_config(cfg))
    logged = pd.read_csv(tmp_path / "metrics.csv").set_index("step")["beta"]
    # the row at step s holds the weight of the step just taken, step s - 1 (0-based); the row
    # at step 0, of the initial model, the weight of the first step
    expected = [cyclical_kl_weight(max(s - 1, 0), 2, 10, 0.5) for s in logged.index]
    np.testing.assert_allclose(logged.to_numpy(), expected, atol=1e-12)
    assert logged[4] == pytest.approx(0.6) and logged[11] == 0.0 and logged[25] == 1.0


# --- aggressive encoder training ---------------------------------------------------------------


def _scripted(values: list[float]):
    """An encoder_step that returns ``values`` in turn, and the list of calls made."""
    calls: list[float] = []

    def step() -> float:
        calls.append(values[len(calls)])
        return calls[-1]

    return step, calls


def test_the_inner_loop_stops_at_the_first_check_that_does_not_improve():
    # windows of 3: means 5, 3, 2, then 2 again (not lower): the loop stops after 12 steps
    values = [6, 5, 4, 4, 3, 2, 3, 2, 1, 2, 2, 2, 0, 0, 0]
    step, calls = _scripted(values)
    assert inner_encoder_steps(step, check_every=3, max_inner_steps=100) == 12
    assert len(calls) == 12


def test_the_inner_loop_stops_at_its_maximum_while_still_improving():
    step, calls = _scripted([10.0 - i for i in range(20)])
    assert inner_encoder_steps(step, check_every=2, max_inner_steps=7) == 7
    assert len(calls) == 7


def test_the_inner_loop_stops_at_a_non_finite_objective_without_counting_it():
    step, calls = _scripted([3.0, 2.0, float("nan"), 1.0])
    assert inner_encoder_steps(step, check_every=5, max_inner_steps=10) == 2
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("history", "patience", "min_rise", "stopped"),
    [
        ([0.1, 0.5, 0.9], 1, 0.0, False),
        ([0.1, 0.5, 0.9, 0.8], 1, 0.0, True),  # below the one before: He et al.'s rule
        ([0.1, 0.5, 0.9, 0.9], 1, 0.0, True),  # equal is not a rise
        ([0.3], 1, 0.0, False),  # a first value has nothing to rise from
        ([0.1, 0.9, 0.5, 0.95], 2, 0.0, False),  # the last check rose
        ([0.1, 0.9, 0.5, 0.4], 2, 0.0, True),  # two falls in a row
        ([0.1, 0.9, 0.5, 0.8], 2, 0.0, False),  # a fall, then a rise: not two in a row
        ([0.1, 0.9], 2, 0.0, False),
        # the creep seen at σ² = 0.1 on MNIST: rises of 0.05 nats go on at 0, end at 0.1
        ([6.37, 6.42, 6.47], 1, 0.0, False),
        ([6.37, 6.42, 6.47], 1, 0.1, True),
        ([6.37, 6.42, 6.47], 2, 0.1, True),
        ([6.0, 6.42, 6.47], 2, 0.1, False),  # the check before the last rose by 0.42
        ([6.37, 6.5], 1, 0.1, False),  # a rise of 0.13 ≥ 0.1 goes on
    ],
)
def test_the_aggressive_phase_ends_after_patience_checks_that_rose_by_less_than_min_rise(
    history, patience, min_rise, stopped
):
    assert mutual_information_stopped_rising(history, patience, min_rise) is stopped


@pytest.mark.parametrize(
    ("name", "options", "encoder"),
    [
        ("mlp_vae", {}, ("encoder.", "mu_head.", "logvar_head.")),
        ("linear_vae", {"objective": "analytic"}, ("V", "log_D")),
        (
            "linear_decoder",
            {"encoder": "mlp", "encoder_hidden": [8]},
            ("trunk.", "mu_head.", "logvar_head."),
        ),
    ],
)
def test_encoder_parameters_are_the_ones_the_encoder_uses(name, options, encoder):
    model = build_model(name, data_dim=6, image_shape=None, latent_dim=3, **options)
    found = {id(p) for p in encoder_parameters(model, torch.rand(2, 6))}
    names = {n for n, p in model.named_parameters() if id(p) in found}
    assert names and all(n.startswith(encoder) for n in names), names
    assert all(n.startswith(encoder) == (n in names) for n, _ in model.named_parameters())


def test_aggressive_steps_train_the_encoder_alone_then_the_decoder_once(compose_train, tmp_path):
    length = ["trainer.max_steps=3", "mitigation.mi_every=100"]  # no MI check: always aggressive
    cfg = compose_train([*SMOKE, *QUICK_AGGRESSIVE, *length, f"run_dir={tmp_path}"])
    result = trainer.train(RunConfig.from_config(cfg))
    assert result["aggressive_end_step"] is None and result["inner_encoder_steps"] >= 3
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    model = build_model(
        data_dim=64, image_shape=None, **OmegaConf.to_container(cfg.model, resolve=True)
    )
    encoder = {id(p) for p in encoder_parameters(model, torch.rand(2, 64))}
    adam = payload["optimizers"]["model"]["state"]
    # Adam counts each parameter's own updates: the encoder's are the inner steps, the decoder's
    # the three outer steps
    for index, p in enumerate(model.parameters()):
        expected = result["inner_encoder_steps"] if id(p) in encoder else 3
        assert int(adam[index]["step"]) == expected


def test_the_aggressive_phase_ends_by_its_rule_and_is_recorded(compose_train, tmp_path):
    length = ["trainer.max_steps=40", "trainer.eval_every=5"]
    collapsing = "likelihood.sigma2=10"  # MI soon stops rising
    cfg = compose_train([*SMOKE, *QUICK_AGGRESSIVE, *length, collapsing, f"run_dir={tmp_path}"])
    result = trainer.train(RunConfig.from_config(cfg))
    history = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["mitigation"]["mi_history"]
    rule = cfg.mitigation.mi_patience, cfg.mitigation.mi_min_rise
    assert rule == (1, 0.1)
    stops = [
        mutual_information_stopped_rising(history[:j], *rule) for j in range(1, len(history) + 1)
    ]
    first = stops.index(True)  # the first check (every 5 steps) at which the rule fires
    assert result["aggressive_end_step"] == 5 * (first + 1) < 40
    assert len(history) == first + 1  # no MI checks once the phase is over
    metrics = pd.read_csv(tmp_path / "metrics.csv").set_index("step")["inner_encoder_steps"]
    ended = result["aggressive_end_step"]
    assert metrics[ended] == result["inner_encoder_steps"] > 0
    assert (metrics[metrics.index >= ended] == metrics[ended]).all()  # joint steps from then on


# --- resume and extension ----------------------------------------------------------------------

MITIGATION_RUNS = {
    "free_bits": ["mitigation=free_bits"],
    "free_bits_total": ["mitigation=free_bits_total"],
    "cyclical_annealing": ["mitigation=cyclical_annealing", "mitigation.cycle_steps=8"],
    "aggressive_encoder": [*QUICK_AGGRESSIVE, "mitigation.mi_patience=2"],
}


class StopAtStep(Tracker):
    """Sends SIGTERM to this process when the evaluation row for ``step`` is logged."""

    def __init__(self, step: int) -> None:
        self.step = step

    def log_metrics(self, row: dict, step: int) -> None:
        if step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _assert_same_run(a: dict, b: dict, folder_a: Path, folder_b: Path) -> None:
    for key in ("elbo", "kl", "aggressive_end_step", "inner_encoder_steps"):
        np.testing.assert_allclose(
            np.asarray(b[key], dtype=float), np.asarray(a[key], dtype=float), rtol=1e-6
        )
    np.testing.assert_allclose(b["kl_per_latent"], a["kl_per_latent"], rtol=1e-6, atol=1e-9)
    rows_a = pd.read_csv(folder_a / "metrics.csv").drop(columns="wall_time_s")
    rows_b = pd.read_csv(folder_b / "metrics.csv").drop(columns="wall_time_s")
    pd.testing.assert_frame_equal(rows_a, rows_b, rtol=1e-6)


@pytest.mark.parametrize("mitigation", list(MITIGATION_RUNS))
def test_a_stopped_and_resumed_run_equals_an_uninterrupted_one(compose_train, tmp_path, mitigation):
    overrides = [*SMOKE, *MITIGATION_RUNS[mitigation], "trainer.max_steps=30"]
    overrides += ["trainer.eval_every=5", "trainer.checkpoint_every=1000"]
    reference = trainer.train(
        RunConfig.from_config(compose_train([*overrides, f"run_dir={tmp_path / 'ref'}"]))
    )
    cfg = compose_train([*overrides, f"run_dir={tmp_path / 'run'}"])
    with pytest.raises(trainer.Preempted):
        trainer.train(RunConfig.from_config(cfg), tracker=StopAtStep(10))
    resumed = trainer.train(RunConfig.from_config(cfg))
    _assert_same_run(reference, resumed, tmp_path / "ref", tmp_path / "run")
    if mitigation == "aggressive_encoder":  # its end (patience 2) needs the MI checks before it
        assert reference["aggressive_end_step"] > 10


@pytest.mark.parametrize("mitigation", ["cyclical_annealing", "aggressive_encoder"])
def test_an_extended_run_keeps_its_schedule_and_equals_an_uninterrupted_one(
    compose_train, tmp_path, mitigation
):
    def config(steps: int, name: str):
        overrides = [*SMOKE, *MITIGATION_RUNS[mitigation], "trainer.eval_every=5"]
        return compose_train(
            [*overrides, f"trainer.max_steps={steps}", f"run_dir={tmp_path / name}"]
        )

    reference = trainer.train(RunConfig.from_config(config(30, "reference")))
    assert trainer.train(RunConfig.from_config(config(15, "extended")))["step"] == 15
    extended = trainer.train(RunConfig.from_config(config(30, "extended")))
    assert extended["extended_from"] == 15
    _assert_same_run(reference, extended, tmp_path / "reference", tmp_path / "extended")


# --- the config group and the preset -----------------------------------------------------------

MITIGATION_OPTIONS = sorted(p.stem for p in (Path(CONF_DIR) / "mitigation").glob("*.yaml"))


def test_each_mitigation_has_its_own_node_a_conf_file_and_a_table_row_per_key():
    assert set(MITIGATION_SCHEMAS) == set(MITIGATIONS)
    assert set(MITIGATION_OPTIONS) >= set(MITIGATIONS)
    for name, schema in MITIGATION_SCHEMAS.items():
        assert issubclass(MITIGATIONS[name], Mitigation) and MITIGATIONS[name].name == name
        fields = {f.name for f in dataclasses.fields(schema)}
        assert "name" in fields and schema().name == name
        assert {f"mitigation.{k}" for k in fields} <= set(TRAIN_KEYS)
    # every mitigation row of the table is some node's key: no row outlives its mitigation
    node_keys = {
        f.name for schema in MITIGATION_SCHEMAS.values() for f in dataclasses.fields(schema)
    }
    assert {k.removeprefix("mitigation.") for k in TRAIN_KEYS if k.startswith("mitigation.")} == (
        node_keys
    )


STEP_HOOKS = ("before_step", "held_in_joint_step", "after_step", "state_dict", "load_state_dict")


@pytest.mark.parametrize("name", list(MITIGATIONS))
def test_a_mitigation_with_step_hooks_says_why_it_does_not_stack(name):
    """The stacked loop calls only the KL-weight and loss hooks: any other hook must refuse."""
    cls = MITIGATIONS[name]
    own_hooks = [h for h in STEP_HOOKS if getattr(cls, h) is not getattr(Mitigation, h)]
    assert (cls.stack_refusal is not None) == bool(own_hooks), (name, own_hooks)


@pytest.mark.parametrize("option", MITIGATION_OPTIONS)
def test_every_mitigation_option_composes_validates_and_holds_only_its_keys(compose_train, option):
    cfg = compose_train([f"mitigation={option}", "run_dir=/tmp/unused"])
    validate(cfg)
    node = cfg.mitigation
    assert set(node) == {f.name for f in dataclasses.fields(MITIGATION_SCHEMAS[node.name])}


def test_the_fingerprint_keeps_the_flat_nodes_keys_null_where_the_chosen_node_lacks_them(
    compose_train,
):
    """Run folders written when one node held every mitigation's keys (null where unused) keep
    their fingerprint: those keys are listed, null, whatever the chosen node."""
    from lucas2019.config import result_config

    flat = {
        "lambda_nats", "variant", "cycles", "cycle_steps", "ramp_ratio", "check_every",
        "max_inner_steps", "mi_every", "mi_patience",
    }  # fmt: skip
    # mi_min_rise came after the flat node: only the aggressive encoder's runs list it
    for option in MITIGATION_OPTIONS:
        cfg = compose_train([f"mitigation={option}", "run_dir=/tmp/unused"])
        values = result_config(cfg)
        mitigation = {
            k.removeprefix("mitigation."): v
            for k, v in values.items()
            if k.startswith("mitigation.")
        }
        own = {k: cfg.mitigation[k] for k in cfg.mitigation}
        assert mitigation == {**dict.fromkeys(flat), **own}
        assert ("mi_min_rise" in mitigation) == (option == "aggressive_encoder")


def test_the_default_is_no_mitigation(compose_train):
    assert compose_train(["run_dir=/tmp/unused"]).mitigation.name == "none"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["mitigation=free_bits", "mitigation.variant=per_group"], "mitigation.variant"),
        (["mitigation=cyclical_annealing", "mitigation.ramp_ratio=0"], "mitigation.ramp_ratio"),
        (
            ["mitigation=cyclical_annealing", "trainer.kl_anneal_steps=100"],
            "trainer.kl_anneal_steps",
        ),
        (["mitigation=aggressive_encoder", "mitigation.check_every=200"], "mitigation.check_every"),
    ],
)
def test_mitigation_mistakes_name_the_key(compose_train, overrides, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate(compose_train([*overrides, "run_dir=/tmp/unused"]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["mitigation=free_bits", "mitigation.cycles=3"], "cycles"),  # another mitigation's key
        (["mitigation.mi_every=5"], "mi_every"),  # no mitigation has no keys
        (["mitigation=free_bits", "mitigation.lambda_nats=null"], "lambda_nats"),
    ],
)
def test_a_key_the_chosen_mitigation_lacks_fails_at_composition(compose_train, overrides, key):
    with pytest.raises(ConfigCompositionException) as error:
        compose_train([*overrides, "run_dir=/tmp/unused"])
    assert key in str(error.value.__cause__ or error.value)


PAPER_GRID = Path(CONF_DIR, "sweep", "paper_sigma2_grid.yaml")


def _preset_sweep() -> dict[str, list[str]]:
    cfg = compose_config("train", ["experiment=mitigations"], return_hydra_config=True)
    return {k: str(v).split(",") for k, v in cfg.hydra.sweeper.params.items()}


def test_the_preset_crosses_each_mitigation_with_a_subset_of_the_papers_grid_and_the_seeds():
    sweep = _preset_sweep()
    assert list(sweep) == ["seed", "mitigation", "likelihood.sigma2"]
    assert set(sweep["mitigation"]) == set(MITIGATION_OPTIONS) - {"none"}
    paper = yaml.safe_load(PAPER_GRID.read_text())["likelihood.sigma2"].split(",")
    grid = [float(s) for s in sweep["likelihood.sigma2"]]
    # values of the paper's grid, which the plain fig5 runs C8 compares with are trained on,
    # spanning at least three decades (every latent collapsed to none, on MNIST and digits)
    assert set(sweep["likelihood.sigma2"]) <= set(paper)
    assert len(grid) >= 3 and max(grid) / min(grid) >= 1e3


def test_every_run_of_the_preset_validates_and_each_mitigation_trains_at_smoke(
    compose_train, tmp_path
):
    sweep = _preset_sweep()
    for mitigation in sweep["mitigation"]:
        preset = ["experiment=mitigations", f"mitigation={mitigation}"]
        for sigma2 in sweep["likelihood.sigma2"]:
            validate(compose_train([*preset, f"likelihood.sigma2={sigma2}", "run_dir=/x"]))
        run_dir = tmp_path / mitigation
        smoke = ["scale=smoke", "trainer.progress=false", f"run_dir={run_dir}"]
        cfg = compose_train([*preset, *smoke])
        result = trainer.train(RunConfig.from_config(cfg))
        assert result["status"] == "completed" and result["experiment"] == "mitigations"
        recorded = json.loads((run_dir / "result.json").read_text())["fingerprint"]
        assert recorded["mitigation.name"] == cfg.mitigation.name
