"""The trainer: resume after SIGKILL or a stop signal, divergence, bad configs, real training."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lucas2019 import data, trainer
from lucas2019.config import ConfigError, RunConfig, validate

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1"]


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    overrides = [
        *SMOKE,
        "trainer.max_steps=800",
        "trainer.checkpoint_every=25",
        "trainer.eval_every=100",
        "optim.batch_size=64",
    ]
    command = [sys.executable, "-m", "lucas2019.train", *overrides]
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    subprocess.run(
        [*command, f"hydra.run.dir={reference}"], check=True, cwd=tmp_path, capture_output=True
    )

    process = subprocess.Popen(
        [*command, f"hydra.run.dir={resumed}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (resumed / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (resumed / "result.json").exists(), "the run finished before it could be killed"
    killed_at = torch.load(resumed / "checkpoint.pt", weights_only=False)["step"]
    assert 0 < killed_at < 800

    subprocess.run(
        [*command, f"hydra.run.dir={resumed}"], check=True, cwd=tmp_path, capture_output=True
    )
    a, b = read_result(reference), read_result(resumed)
    assert b["status"] == "completed" and b["step"] == 800
    np.testing.assert_allclose(b["elbo"], a["elbo"], rtol=1e-6)
    np.testing.assert_allclose(b["kl_per_latent"], a["kl_per_latent"], rtol=1e-6, atol=1e-9)
    metrics_a = pd.read_csv(reference / "metrics.csv").drop(columns="wall_time_s")
    metrics_b = pd.read_csv(resumed / "metrics.csv").drop(columns="wall_time_s")
    pd.testing.assert_frame_equal(metrics_a, metrics_b, rtol=1e-6)
    state_a = torch.load(reference / "checkpoint.pt", weights_only=False)["model"]
    state_b = torch.load(resumed / "checkpoint.pt", weights_only=False)["model"]
    for key in state_a:
        torch.testing.assert_close(state_b[key], state_a[key], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_stop_signal_checkpoints_and_a_rerun_resumes(
    signal_at_step, compose_train, tmp_path, signum
):
    overrides = [
        *SMOKE,
        "trainer.max_steps=60",
        "trainer.eval_every=20",
        "trainer.checkpoint_every=1000",
        "model.latent_dim=4",
    ]
    reference = trainer.train(
        RunConfig.from_config(compose_train([*overrides, f"run_dir={tmp_path / 'ref'}"]))
    )
    cfg = compose_train([*overrides, f"run_dir={tmp_path / 'run'}"])
    with pytest.raises(trainer.Preempted, match="rerun the same command"):
        trainer.train(RunConfig.from_config(cfg), tracker=signal_at_step(20, signum))
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert saved["step"] == 20 and not (tmp_path / "run" / "result.json").exists()
    resumed = trainer.train(RunConfig.from_config(cfg))
    assert resumed["step"] == 60
    np.testing.assert_allclose(resumed["elbo"], reference["elbo"], rtol=1e-6)


def test_divergence_stops_with_status_and_keeps_last_good_checkpoint(
    compose_train, tmp_path, monkeypatch
):
    cfg = compose_train(
        [
            *SMOKE,
            "trainer.max_steps=40",
            "trainer.eval_every=10",
            "trainer.checkpoint_every=10",
            f"run_dir={tmp_path}",
        ]
    )
    # The KL weight turns NaN at step 25, so the 26th loss is NaN: the run must stop there.
    monkeypatch.setattr(
        trainer.TrainingRun, "kl_weight", lambda self, step: float("nan") if step >= 25 else 1.0
    )
    result = trainer.train(RunConfig.from_config(cfg))
    assert result["status"] == "diverged" and result["step"] == 25
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 20
    assert list(pd.read_csv(tmp_path / "metrics.csv")["step"]) == [0, 10, 20]
    assert read_result(tmp_path)["status"] == "diverged"


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("likelihood.sigma2=-1", "likelihood.sigma2"),
        ("likelihood.sigma2=0", "likelihood.sigma2"),
        ("optim.lr=0", "optim.lr"),
        ("model.name=transformer", "model.name"),
        ("likelihood.name=poisson", "likelihood.name"),
        ("model=linear_vae", "model.latent_dim"),  # latent 32 ... made too large below
    ],
)
def test_bad_config_is_rejected_before_any_data_is_loaded(
    compose_train, tmp_path, monkeypatch, override, key
):
    extra = ["model.latent_dim=65"] if override == "model=linear_vae" else []
    cfg = compose_train([*SMOKE, override, *extra, f"run_dir={tmp_path}"])

    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the config was checked")

    monkeypatch.setattr(data, "load", no_loading)
    with pytest.raises(ConfigError, match=f"'{key}'"):
        trainer.train(RunConfig.from_config(cfg))
    assert not (tmp_path / "config.yaml").exists()


def test_validate_message_says_value_and_fix(compose_train):
    with pytest.raises(ConfigError) as error:
        validate(compose_train(["likelihood.sigma2=-0.5"]))
    message = str(error.value)
    assert "-0.5" in message and "> 0" in message and "likelihood.sigma2=<value>" in message


def test_linear_vae_training_reaches_the_analytic_optimum_and_collapse_rule(
    compose_train, tmp_path
):
    from linear_vae import ppca_mle

    sigma2 = 0.5
    cfg, spectrum = linear_vae_on_synthetic(
        compose_train, tmp_path, 6, f"likelihood.sigma2={sigma2}"
    )
    result = trainer.train(RunConfig.from_config(cfg))
    optimum = ppca_mle(spectrum, 6, sigma2=sigma2)
    assert result["elbo"] == pytest.approx(optimum.log_likelihood, rel=1e-3)
    collapsed = int(np.sum(np.asarray(result["kl_per_latent"]) < 1e-3))
    assert collapsed == optimum.n_collapsed


def test_linear_vae_with_learned_sigma2_recovers_the_mle_sigma2(compose_train, tmp_path):
    from linear_vae import ppca_mle

    cfg, spectrum = linear_vae_on_synthetic(
        compose_train, tmp_path, 4, "likelihood=gaussian_learned", "likelihood.sigma2=1.0"
    )
    result = trainer.train(RunConfig.from_config(cfg))
    optimum = ppca_mle(spectrum, 4)
    assert result["sigma2"] == pytest.approx(optimum.sigma2, rel=1e-3)
    assert result["elbo"] == pytest.approx(optimum.log_likelihood, rel=1e-3)


def linear_vae_on_synthetic(compose_train, run_dir, latent_dim, *overrides):
    """A linear VAE on 500 synthetic examples (d = 10, 3 strong directions), lr 0.02, 3000 steps,
    and the pPCA spectrum of exactly its training data."""
    from linear_vae import Spectrum

    cfg = compose_train(
        [
            "dataset=synthetic",
            "dataset.options.dim=10",
            "dataset.options.n_strong=3",
            "dataset.n_train=500",
            "dataset.n_test=100",
            "model=linear_vae",
            f"model.latent_dim={latent_dim}",
            "optim.lr=0.02",
            "trainer.max_steps=3000",
            "trainer.eval_every=1000",
            "trainer.iw_samples=0",
            "trainer.progress=false",
            f"run_dir={run_dir}",
            *overrides,
        ]
    )
    x_train, _ = data.training_arrays(
        data.load("synthetic", dim=10, n_strong=3, seed=0), n_train=500, n_test=100, seed=0
    )
    return cfg, Spectrum.from_data(x_train.astype(np.float64))


def test_deep_vae_on_digits_collapses_more_with_a_larger_fixed_sigma2(compose_train, tmp_path):
    collapsed = {}
    for sigma2 in (10.0, 0.01):
        cfg = compose_train(
            [
                *SMOKE,
                "model=mlp_vae",
                "model.latent_dim=16",
                f"likelihood.sigma2={sigma2}",
                "trainer.max_steps=150",
                "trainer.eval_every=150",
                f"run_dir={tmp_path / str(sigma2)}",
            ]
        )
        result = trainer.train(RunConfig.from_config(cfg))
        collapsed[sigma2] = (result["collapsed_fraction"], result["active_units"])
    assert collapsed[10.0][0] > collapsed[0.01][0]
    assert collapsed[10.0][1] < collapsed[0.01][1]


def test_result_reports_the_closed_form_optimal_sigma2(compose_train, tmp_path):
    cfg = compose_train([*SMOKE, "likelihood=gaussian_learned", f"run_dir={tmp_path}"])
    result = trainer.train(RunConfig.from_config(cfg))
    # Learned from 1 for 40 steps at lr 5e-4, σ² can barely move; the optimum is the E_q MSE.
    assert result["sigma2"] == pytest.approx(1.0, rel=0.05)
    assert 0 < result["sigma2_optimal"] < 0.5


def test_conv_vae_trains_on_a_celeba_folder_end_to_end(compose_train, tmp_path):
    from PIL import Image

    faces = tmp_path / "img_align_celeba"
    faces.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):  # 40 x 32 RGB "faces": centre-cropped to 32 x 32, resized to 16 x 16
        Image.fromarray(rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)).save(
            faces / f"{i + 1:06d}.png"
        )
    cfg = compose_train(
        [
            *SMOKE,
            "dataset=celeba",
            f"dataset.root={faces}",
            "dataset.options.image_size=16",
            "dataset.n_train=16",
            "dataset.n_test=8",
            "model=conv_vae",
            "model.latent_dim=4",
            "trainer.max_steps=5",
            "trainer.eval_every=5",
            f"run_dir={tmp_path / 'run'}",
        ]
    )
    result = trainer.train(RunConfig.from_config(cfg))
    assert result["status"] == "completed" and result["step"] == 5
    assert result["data_dim"] == 3 * 16 * 16 and result["n_train"] == 16 and result["n_test"] == 8
    assert len(result["kl_per_latent"]) == 4


def test_the_optimisers_foreach_adam_takes_the_for_loop_adams_steps_exactly(
    compose_train, tmp_path
):
    """The trainer's Adam updates all parameters per kernel (foreach); it must take the very steps
    of PyTorch's per-parameter loop, so runs keep their numbers (learned σ²: both optimisers)."""
    cfg = compose_train([*SMOKE, "likelihood=gaussian_learned", f"hydra.run.dir={tmp_path}"])
    cfg.run_dir = str(tmp_path)
    loop = trainer.prepare(RunConfig.from_config(cfg), tmp_path).training
    assert all(o.defaults["foreach"] for o in loop.optimizers.all)
    modules = (loop.model, loop.likelihood)
    start = [copy.deepcopy(m.state_dict()) for m in modules]  # state_dict shares the tensors
    x = loop.next_batch()

    def train(optimizers) -> list[torch.Tensor]:
        for m, state in zip(modules, start, strict=True):
            m.load_state_dict(state)
        torch.manual_seed(0)
        for _ in range(30):
            for o in optimizers:
                o.zero_grad(set_to_none=True)
            loop.objective(x, 1.0)[0].backward()
            for o in optimizers:
                o.step()
        return [p.detach().clone() for m in modules for p in m.parameters()]

    foreach = train(loop.optimizers.all)
    per_parameter = [
        torch.optim.Adam(loop.model.parameters(), lr=loop.s.lr, foreach=False),
        torch.optim.Adam(loop.likelihood.parameters(), lr=loop.s.sigma2_lr, foreach=False),
    ]
    looped = train(per_parameter)
    assert len(foreach) == len(looped) > 2
    assert not torch.equal(foreach[0], start[0][next(iter(start[0]))])  # it trained
    assert all(torch.equal(a, b) for a, b in zip(foreach, looped, strict=True))
