"""Every config and preset composes; bad overrides fail with the key's path; real multiruns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from lucas2019.config import CONF_DIR, ConfigError, compose_config, validate

CONF = Path(CONF_DIR)
TRAIN_EXPERIMENTS = sorted(
    p.stem for p in (CONF / "experiment").glob("*.yaml") if "entry: analytic" not in p.read_text()
)
GROUPS = {
    g: sorted(p.stem for p in (CONF / g).glob("*.yaml"))
    for g in ("dataset", "model", "likelihood", "optim", "logger", "scale")
}


def test_the_paper_presets_exist():
    for name in (
        "fig3_linear_vae",
        "fig4_encoders",
        "fig5_fixed_sigma",
        "fig6_learned_sigma",
        "table1",
        "fig5_fixed_sigma_celeba",
        "fig6_learned_sigma_celeba",
        "table1_celeba",
    ):
        assert name in TRAIN_EXPERIMENTS


@pytest.mark.parametrize(("group", "option"), [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_group_option_composes_and_validates(compose_train, group, option):
    overrides = [f"{group}={option}"]
    if group == "model" and option.startswith("linear"):
        overrides.append("model.latent_dim=16")  # digits has d = 64
    if option == "paper":
        overrides.append("dataset=mnist")  # it holds out 1,000 images; digits' test split has 300
    cfg = compose_train([*overrides, "run_dir=/tmp/unused"])
    validate(cfg)
    assert cfg[group].name if group != "scale" else cfg.scale == option


@pytest.mark.parametrize("experiment", TRAIN_EXPERIMENTS)
def test_every_experiment_preset_composes_with_its_sweep(compose_train, experiment):
    with_hydra = _compose_with_hydra(compose_train, [f"experiment={experiment}"])
    assert with_hydra.experiment.name == experiment
    params = with_hydra.hydra.sweeper.params
    assert params, f"{experiment} declares no sweep"
    cfg = compose_train([f"experiment={experiment}", "run_dir=/tmp/unused"])
    validate(cfg)


def _compose_with_hydra(compose_train, overrides):
    return compose_config("train", overrides, return_hydra_config=True)


PAPER_SIGMA2_GRID = [30, 10, 3, 1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0001]  # Figs. 5, 6


@pytest.mark.parametrize(
    "experiment",
    [
        "fig5_fixed_sigma",
        "fig6_learned_sigma",
        "fig5_fixed_sigma_celeba",
        "fig6_learned_sigma_celeba",
    ],
)
def test_the_sigma2_presets_sweep_the_papers_grid(compose_train, experiment):
    params = _compose_with_hydra(compose_train, [f"experiment={experiment}"]).hydra.sweeper.params
    assert list(params) == ["seed", "likelihood.sigma2"]
    assert [float(v) for v in params["likelihood.sigma2"].split(",")] == PAPER_SIGMA2_GRID


@pytest.mark.parametrize("experiment", TRAIN_EXPERIMENTS)
def test_every_training_preset_sweeps_three_seeds_first_from_one_list(compose_train, experiment):
    params = _compose_with_hydra(compose_train, [f"experiment={experiment}"]).hydra.sweeper.params
    assert next(iter(params)) == "seed" and params["seed"] == "0,1,2"
    preset = (CONF / "experiment" / f"{experiment}.yaml").read_text()
    assert "seed:" not in preset  # the list lives in conf/sweep/seeds.yaml only


# The model of every MNIST preset at the cpu scale before digits got its own model size: the
# MNIST gallery must compose exactly as it did.
MNIST_CPU_MODELS = {
    "fig3_linear_vae": {"name": "linear_vae", "latent_dim": 32},
    "fig4_encoders": {"name": "linear_decoder", "latent_dim": 32, "encoder_hidden": []},
    "fig5_fixed_sigma": {"name": "mlp_vae", "latent_dim": 200, "encoder_hidden": [256, 128]},
    "fig6_learned_sigma": {"name": "mlp_vae", "latent_dim": 200, "decoder_hidden": [128, 256]},
    "table1": {"name": "mlp_vae", "latent_dim": 200, "encoder_hidden": [256, 128]},
    "sigma2_dynamics": {"name": "mlp_vae", "latent_dim": 200, "decoder_hidden": [128, 256]},
}


@pytest.mark.parametrize(("experiment", "model"), MNIST_CPU_MODELS.items())
def test_mnist_models_are_unchanged_and_digits_gets_a_model_fitted_to_64_dimensions(
    compose_train, experiment, model
):
    mnist = compose_train([f"experiment={experiment}", "dataset=mnist", "scale=cpu"])
    assert {k: mnist.model[k] for k in model} == model
    assert list(mnist.widths.encoder) == [256, 128] and list(mnist.widths.decoder) == [128, 256]
    for scale in GROUPS["scale"]:
        digits = compose_train([f"experiment={experiment}", f"scale={scale}"])
        assert digits.model.latent_dim == 32
        assert list(digits.widths.encoder) == [128, 64] and list(digits.widths.decoder) == [64, 128]
    deep = compose_train(["model=linear_decoder_mlp", "dataset=mnist"])
    assert list(deep.model.encoder_hidden) == [256, 128]


def test_the_analytic_tables_default_to_the_papers_grid(compose_train):
    cfg = compose_train([f"run_dir={CONF}"], config_name="analytic")
    assert list(cfg.analytic.sigma2_grid) == PAPER_SIGMA2_GRID
    assert "30,10,3,1,0.3" not in "".join(p.read_text() for p in (CONF / "experiment").iterdir())


def test_scale_sets_steps_and_experiment_keeps_them(compose_train):
    smoke = compose_train(["experiment=fig5_fixed_sigma", "scale=smoke"])
    paper = compose_train(["experiment=fig5_fixed_sigma", "scale=paper"])
    assert smoke.trainer.max_steps < paper.trainer.max_steps == 20000
    assert (
        paper.optim.lr == 5e-4 and paper.dataset.n_train == 1000 and paper.optim.batch_size is None
    )


def test_a_misspelt_key_fails_at_composition_with_its_path(compose_train):
    with pytest.raises(ConfigCompositionException) as error:
        compose_train(["trainer.max_stepz=5"])
    assert "max_stepz" in str(error.value.__cause__ or error.value)


def test_a_wrongly_typed_value_fails_at_composition(compose_train):
    with pytest.raises(ConfigCompositionException):
        compose_train(["trainer.max_steps=many"])


def test_a_negative_sigma2_fails_validation_with_its_path(compose_train):
    with pytest.raises(ConfigError, match=r"'likelihood\.sigma2' = -1"):
        validate(compose_train(["likelihood.sigma2=-1"]))


def test_linear_latent_larger_than_data_dim_is_rejected(compose_train):
    with pytest.raises(ConfigError, match="at most the data dimension d = 64"):
        validate(compose_train(["model=linear_vae", "model.latent_dim=100"]))


def test_cfg_job_prints_the_composed_config(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "lucas2019.train", "experiment=fig5_fixed_sigma", "--cfg", "job"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    cfg = OmegaConf.create(out.stdout)
    assert cfg.experiment.name == "fig5_fixed_sigma" and cfg.likelihood.name == "gaussian_fixed"


def test_help_lists_groups_and_examples(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "lucas2019.train", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    for text in (
        "dataset: celeba, digits, mnist, synthetic",
        "likelihood:",
        "experiment:",
        "-m experiment=fig5_fixed_sigma",
        "hydra/launcher=slurm",
    ):
        assert text in out


def _multirun(tmp_path: Path, launcher: str) -> list[dict]:
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        "experiment=fig5_fixed_sigma",
        "scale=smoke",
        "likelihood.sigma2=10,0.01",
        "seed=0",  # the command line wins over the preset's seeds
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={sweep}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted(sweep.glob("*/result.json"))
    assert [p.parent.name for p in results] == [
        "0_likelihood.sigma2=10,seed=0",
        "1_likelihood.sigma2=0.01,seed=0",
    ]
    return [json.loads(p.read_text()) for p in results]


@pytest.mark.parametrize("launcher", ["local_parallel", "submitit_local"])
def test_a_real_multirun_writes_one_run_folder_per_job(tmp_path, launcher):
    results = _multirun(tmp_path, launcher)
    assert [r["status"] for r in results] == ["completed", "completed"]
    assert [r["sigma2"] for r in results] == pytest.approx([10, 0.01])
    assert all(r["step"] == 40 for r in results)  # scale=smoke


def test_one_failing_job_does_not_stop_the_sweep_and_is_reported(tmp_path):
    """σ² = -1 passes composition, fails in its job; the other job completes; the sweep's
    summary names the failure, its error and log, and the launch exits 1."""
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        "scale=smoke",
        "likelihood.sigma2=-1,0.5",
        f"hydra.sweep.dir={sweep}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    bad_dir = sweep / "0_likelihood.sigma2=-1"
    failed = json.loads((bad_dir / "result.json").read_text())
    assert failed["status"] == "failed" and "likelihood.sigma2" in failed["error"]
    assert failed["logs"] == [str(bad_dir / "train.log")]
    assert "ConfigError" in (bad_dir / "train.log").read_text()  # the traceback is logged
    ok = json.loads((sweep / "1_likelihood.sigma2=0.5" / "result.json").read_text())
    assert ok["status"] == "completed"

    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert summary["n_jobs"] == 2
    assert summary["counts"] == {
        "completed": 1,
        "diverged": 0,
        "failed": 1,
        "unfinished": 0,
        "refused": 0,
    }
    job = summary["jobs"][0]
    assert job["status"] == "failed" and job["overrides"] == ["scale=smoke", "likelihood.sigma2=-1"]
    assert job["error"] == failed["error"] and job["logs"] == failed["logs"]
    assert summary["jobs"][1]["sigma2"] == 0.5
    printed = done.stdout
    assert f"sweep {sweep}: 2 jobs, 1 completed, 0 diverged, 1 failed, 0 unfinished" in printed
    assert f"FAILED: scale=smoke likelihood.sigma2=-1\n    run folder: {bad_dir}" in printed
    assert f"log: {bad_dir / 'train.log'}" in printed
    assert "sweep summary" not in (bad_dir / "train.log").read_text()  # printed, not logged


@pytest.mark.parametrize(
    ("script", "config"), [("lucas2019-train", "train"), ("lucas2019-analytic", "analytic")]
)
def test_console_scripts_find_the_configs(tmp_path, script, config):
    executable = Path(sys.executable).parent / script
    if not executable.exists():
        pytest.skip(f"{script} is not installed in this environment (pip install -e .)")
    out = subprocess.run(
        [str(executable), "--cfg", "job"], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert OmegaConf.create(out).dataset.name == "digits"


def test_a_test_split_larger_than_digits_has_is_rejected(compose_train):
    with pytest.raises(ConfigError, match=r"at most 300: the digits test split has 300 images"):
        validate(compose_train(["scale=paper"]))  # paper scale holds out 1,000 (fine for MNIST)
    validate(compose_train(["scale=paper", "dataset=mnist"]))
