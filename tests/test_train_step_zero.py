"""metrics.csv's first row is the evaluation of the initial model at step 0, logged once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from lucas2019 import data, stacked, trainer
from lucas2019.config import RunConfig
from lucas2019.models import build_model

SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1", "model.latent_dim=4"]
LENGTH = ["trainer.max_steps=40", "trainer.eval_every=20", "trainer.checkpoint_every=1000"]


def initial_kl(cfg) -> float:
    """KL(q(z | x) || N(0, I)) of the untrained encoder, nats per example, mean over the training
    set: the model built afresh with the run's seed, the closed form in NumPy."""
    dataset, x_train, _ = data.load_for_run(OmegaConf.to_container(cfg.dataset, resolve=True))
    torch.manual_seed(int(cfg.seed))
    model = build_model(
        data_dim=dataset.dim,
        image_shape=dataset.image_shape,
        **OmegaConf.to_container(cfg.model, resolve=True),
    )
    x = torch.as_tensor(x_train)
    model.set_data_mean(x.mean(dim=0))
    with torch.no_grad():
        mu, logvar = (t.double().numpy() for t in model.eval().encode(x))
    return float(np.mean(0.5 * np.sum(np.exp(logvar) + mu**2 - 1.0 - logvar, axis=1)))


def test_the_first_row_is_the_untrained_model_at_step_0(compose_train, tmp_path):
    cfg = compose_train([*SMOKE, *LENGTH, "seed=3", f"run_dir={tmp_path}"])
    trainer.train(RunConfig.from_config(cfg))
    rows = pd.read_csv(tmp_path / "metrics.csv")
    assert list(rows["step"]) == [0, 20, 40]
    first = rows.iloc[0]
    np.testing.assert_allclose(first["kl"], initial_kl(cfg), rtol=1e-5)
    assert first["kl"] != rows.iloc[1]["kl"]  # training moved the encoder after step 0
    assert np.isnan(first["sigma2_optimal_batch"])  # no batch before the first step
    assert first["beta"] == 1.0 and first["inner_encoder_steps"] == 0


def test_a_resumed_run_logs_step_0_once(signal_at_step, compose_train, tmp_path):
    cfg = compose_train([*SMOKE, *LENGTH, f"run_dir={tmp_path}"])
    with pytest.raises(trainer.Preempted):
        trainer.train(RunConfig.from_config(cfg), tracker=signal_at_step(20))
    assert list(pd.read_csv(tmp_path / "metrics.csv")["step"]) == [0, 20]
    trainer.train(RunConfig.from_config(cfg))
    assert list(pd.read_csv(tmp_path / "metrics.csv")["step"]) == [0, 20, 40]
    extended = compose_train([*SMOKE, *LENGTH, "trainer.max_steps=60", f"run_dir={tmp_path}"])
    trainer.train(RunConfig.from_config(extended))
    assert list(pd.read_csv(tmp_path / "metrics.csv")["step"]) == [0, 20, 40, 60]


def test_stacked_members_log_step_0_as_their_separate_runs(compose_train, tmp_path):
    grid = [(1.0, 0), (0.1, 1)]
    member = [*SMOKE, *LENGTH]
    cfgs = [
        compose_train(
            [*member, f"likelihood.sigma2={s}", f"seed={seed}", f"run_dir={tmp_path / str(s)}"]
        )
        for s, seed in grid
    ]
    stacked.train_group([stacked.Member(RunConfig.from_config(cfg)) for cfg in cfgs])
    for cfg in cfgs:
        rows = pd.read_csv(Path(cfg.run_dir) / "metrics.csv")
        assert list(rows["step"]) == [0, 20, 40]
        np.testing.assert_allclose(rows.iloc[0]["kl"], initial_kl(cfg), rtol=1e-5)
