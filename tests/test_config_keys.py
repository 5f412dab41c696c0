"""The per-key table: it covers every schema key, validation reads it, and the result keys."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from lucas2019.config import (
    ANALYTIC_KEYS,
    MITIGATION_SCHEMAS,
    MODEL_SCHEMAS,
    TRAIN_KEYS,
    AnalyticConfig,
    ConfigError,
    Effect,
    RunConfig,
    TrainConfig,
    compose_config,
    job_values,
    result_config,
    validate,
)
from lucas2019.models import MODELS, model_options


def _schema_keys(schema: type, prefix: str = "") -> set[str]:
    keys = set()
    for f in dataclasses.fields(schema):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default) and f.name != "options":
            keys |= _schema_keys(type(default), f"{prefix}{f.name}.")
        elif f.name not in ("model", "mitigation"):  # nodes chosen by their config group
            keys.add(f"{prefix}{f.name}")
    return keys


def test_the_table_has_exactly_the_schema_keys():
    model_keys = {f"model.{f.name}" for s in MODEL_SCHEMAS.values() for f in dataclasses.fields(s)}
    mitigation_keys = {
        f"mitigation.{f.name}" for s in MITIGATION_SCHEMAS.values() for f in dataclasses.fields(s)
    }
    assert set(TRAIN_KEYS) == _schema_keys(TrainConfig) | model_keys | mitigation_keys
    assert set(ANALYTIC_KEYS) == _schema_keys(AnalyticConfig)


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_node_holds_exactly_its_constructor_options(name):
    fields = {f.name for f in dataclasses.fields(MODEL_SCHEMAS[name])}
    assert fields == {"name", "latent_dim", *model_options(name)}
    assert MODEL_SCHEMAS[name]().name == name


def test_result_config_leaves_out_bookkeeping_and_length_and_keeps_what_decides_the_result():
    cfg = compose_config("train", ["run_dir=/tmp/unused"])
    keys = result_config(cfg)
    for left_out in (
        "trainer.max_steps",
        "trainer.eval_every",
        "trainer.checkpoint_every",
        "trainer.progress",
        "logger.mode",
        "run_dir",
        "torch_threads",
        "dataset.root",
        "widths.encoder",
    ):
        assert left_out not in keys
    assert keys["likelihood.sigma2"] == 1.0
    assert keys["model.encoder_hidden"] == [128, 64]  # digits' widths, through the model
    assert keys["seed"] == 0
    assert all(TRAIN_KEYS[k].effect is Effect.RESULT for k in keys)
    changed = result_config(compose_config("train", ["likelihood.sigma2=0.01", "run_dir=/x"]))
    assert {k for k in keys if keys[k] != changed[k]} == {"likelihood.sigma2"}


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("likelihood.sigma2=-1", "likelihood.sigma2", "a finite number > 0"),
        ("optim.lr=0", "optim.lr", "a finite number > 0"),
        ("trainer.delta=1.5", "trainer.delta", "[0, 1)"),
        ("dataset.n_train=0", "dataset.n_train", "a positive integer or null"),
        ("trainer.eval_every=0", "trainer.eval_every", "a positive integer"),
        ("likelihood.name=laplace", "likelihood.name", "one of"),
        ("logger.mode=sometimes", "logger.mode", "one of"),
        ("widths.encoder=[0]", "widths.encoder", "positive layer widths"),
    ],
)
def test_validation_names_the_key_the_value_and_what_is_allowed(override, key, words):
    cfg = compose_config("train", [override, "run_dir=/tmp/unused"])
    with pytest.raises(ConfigError) as error:
        validate(cfg)
    assert f"'{key}'" in str(error.value) and words in str(error.value)


def test_a_key_outside_the_table_is_rejected():
    # The schema already stops this at composition; a config built by hand has no schema.
    cfg = OmegaConf.create(OmegaConf.to_container(compose_config("train", ["run_dir=/x"])))
    cfg.trainer.unknown_knob = 3
    with pytest.raises(ConfigError, match=r"'trainer\.unknown_knob' is not a key"):
        validate(cfg)


def test_a_linear_encoder_with_hidden_layers_is_rejected():
    cfg = compose_config(
        "train",
        ["model=linear_decoder_linear", "model.encoder_hidden=[8]", "run_dir=/tmp/unused"],
    )
    with pytest.raises(ConfigError, match=r"model\.encoder_hidden"):
        validate(cfg)


def test_sweep_folder_names_leave_out_exactly_the_keys_that_leave_the_result_alone():
    """A sweep's job folders are named by their overrides less conf/train.yaml's exclude_keys:
    a key that changes the result must name the folder, and one that does not must not (so a
    rerun with another cadence or logger finds the same folders)."""
    hydra = compose_config("train", ["run_dir=/x"], return_hydra_config=True).hydra
    excluded = set(hydra.job.config.override_dirname.exclude_keys)
    keys = {k for k in excluded if k in TRAIN_KEYS}
    # Table 1 anneals over half of max_steps: a longer sweep must find its annealed runs (and
    # refuse them with the reason), so the annealing length stays out of the name too
    assert all(
        TRAIN_KEYS[k].effect is not Effect.RESULT for k in keys - {"trainer.kl_anneal_steps"}
    )
    overridable = {
        k
        for k, key in TRAIN_KEYS.items()
        if key.effect is not Effect.RESULT
        and k != "run_dir"  # set by Hydra, never an override
        and not k.startswith(("widths.", "experiment."))  # set by the scale and experiment groups
    }
    assert overridable <= keys
    # the rest are config groups and launcher keys, which hold no result-deciding value
    assert excluded - keys == {
        "experiment",
        "logger",
        "hydra/launcher",
        "hydra.launcher.n_jobs",
    }


def test_a_run_config_holds_what_the_config_resolves_to_and_moves_with_max_steps(tmp_path):
    """RunConfig: the one validation, the resolved values and config.yaml's text as OmegaConf
    writes them, the fingerprint's keys, and those keys at another run length as a config
    composed at that length has them (the σ² switch follows trainer.max_steps)."""
    rule = ["sigma2_rule=learned_then_optimal", "trainer.max_steps=40", f"run_dir={tmp_path}"]
    cfg = compose_config("train", rule)
    run = RunConfig.from_config(cfg, claims_hash="h")
    assert run.values == OmegaConf.to_container(cfg, resolve=True)
    assert run.yaml == OmegaConf.to_yaml(cfg, resolve=True)
    assert run.result == result_config(cfg) and run.max_steps == 40 and run.claims_hash == "h"
    assert run.job == job_values(cfg)  # as the launcher plans with it
    longer = compose_config("train", [*rule, "trainer.max_steps=80"])
    assert run.result_at(80) == result_config(longer)
    switch = "likelihood.sigma2_switch_step"  # half of trainer.max_steps
    assert (run.result[switch], run.result_at(80)[switch]) == (20, 40)
    with pytest.raises(ConfigError, match=r"likelihood\.sigma2"):
        RunConfig.from_config(compose_config("train", ["likelihood.sigma2=-1", "run_dir=."]))
