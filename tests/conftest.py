"""Shared fixtures: compose the package's Hydra configs in-process."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from lucas2019 import trainer
from lucas2019.analytic import training_spectrum
from lucas2019.config import RunConfig, compose_config
from lucas2019.tracking import Tracker
from paper_figures.claims.table import table_hash

# The tests' tensors are tiny: one thread is fastest and immune to a busy second core.
torch.set_num_threads(1)


@pytest.fixture
def compose_train() -> Callable[..., DictConfig]:
    """``compose_train(overrides, config_name="train")`` -> the composed config (no Hydra run)."""

    def _compose(overrides: list[str] = (), config_name: str = "train") -> DictConfig:
        return compose_config(config_name, overrides)

    return _compose


# ---------------------------------------------------------------- real run folders
#: A linear VAE with the analytic ELBO on 10-dimensional pPCA data (training-set eigenvalues
#: ≈ 1.2, 0.55, 0.33, then ≈ 0.1), full batch: training is deterministic, takes about a second,
#: and the latents collapse as the linear theory predicts. Tests of the results table, figures and
#: verdicts read such real run folders, so a renamed metrics.csv column or result.json key breaks
#: them.
LINEAR_RUN = (
    "scale=smoke",
    "dataset=synthetic",
    "dataset.options.dim=10",
    "dataset.options.n_strong=3",
    "dataset.n_train=200",
    "dataset.n_test=50",
    "model=linear_vae",
    "model.objective=analytic",
    "model.latent_dim=4",
    "optim.lr=0.01",
    "trainer.iw_samples=0",
    "trainer.progress=false",
    "torch_threads=1",
)


def _train_linear(run_dir: Path, *overrides: str, tracker: Tracker | None = None) -> dict:
    cfg = compose_config("train", [*LINEAR_RUN, *overrides, f"run_dir={run_dir}"])
    run = RunConfig.from_config(cfg, claims_hash=table_hash())  # as the train command builds it
    return trainer.train(run, tracker=tracker)


@pytest.fixture(scope="session")
def train_linear() -> Callable[..., dict]:
    """``train_linear(run_dir, *overrides, tracker=None)``: train the LINEAR_RUN model with these
    Hydra overrides into ``run_dir`` (resuming from its checkpoint); returns the result dict."""
    return _train_linear


@dataclass(frozen=True)
class LinearSweep:
    """Run folders under ``root``; σ² values in data units²."""

    root: Path
    sigma2: tuple[float, ...]  # fixed σ² of fixed/i, initial σ² of learned/i
    annealed_sigma2: float  # fixed σ² of anneal/0
    never_started: float  # fixed σ² of fixed/9, whose folder holds only config.yaml
    eigenvalues: np.ndarray  # (10,) training-set covariance spectrum, descending
    steps: int


@pytest.fixture(scope="session")
def linear_sweep(tmp_path_factory: pytest.TempPathFactory) -> LinearSweep:
    """A small σ² sweep of real runs (Figures 5-7, Table 1): fixed/0-3 with σ² fixed at 3, 0.8,
    0.4, 0.2 (between the eigenvalues: 0, 1, 2, 3 live latents of 4), learned/0-3 with σ² learned
    from the same values, anneal/0 at fixed σ² 0.4 with the KL weight annealed over the first
    half, and fixed/9, a job that never started. Read only: copy a folder before editing it."""
    root = tmp_path_factory.mktemp("linear_sweep")
    grid, annealed, never_started, steps = (3.0, 0.8, 0.4, 0.2), 0.4, 0.05, 400
    length = [f"trainer.max_steps={steps}", "trainer.eval_every=25"]
    for i, sigma2 in enumerate(grid):
        for mode in ("fixed", "learned"):
            likelihood = [f"likelihood=gaussian_{mode}", f"likelihood.sigma2={sigma2}"]
            _train_linear(root / mode / str(i), *length, *likelihood)
    annealing = [f"likelihood.sigma2={annealed}", f"trainer.kl_anneal_steps={steps // 2}"]
    _train_linear(root / "anneal" / "0", *length, *annealing)
    queued = compose_config(
        "train", [*LINEAR_RUN, *length, f"likelihood.sigma2={never_started}", "run_dir=."]
    )
    (root / "fixed" / "9").mkdir()
    (root / "fixed" / "9" / "config.yaml").write_text(OmegaConf.to_yaml(queued, resolve=True))
    spectrum, _ = training_spectrum(queued)
    return LinearSweep(root, grid, annealed, never_started, spectrum.eigenvalues, steps)


@pytest.fixture(scope="session")
def fixed_sigma2_seeds(linear_sweep: LinearSweep, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed-σ² runs of ``linear_sweep`` (seed 0) and the same four σ² trained with seeds 1
    and 2: a three-seed Figure 5 sweep, ``<root>/fixed/<σ² index>/<seed>``. Read only."""
    root = tmp_path_factory.mktemp("fixed_sigma2_seeds")
    length = [f"trainer.max_steps={linear_sweep.steps}", "trainer.eval_every=25"]
    for i, sigma2 in enumerate(linear_sweep.sigma2):
        shutil.copytree(linear_sweep.root / "fixed" / str(i), root / "fixed" / str(i) / "0")
        for seed in (1, 2):
            fixed = ["likelihood=gaussian_fixed", f"likelihood.sigma2={sigma2}", f"seed={seed}"]
            _train_linear(root / "fixed" / str(i) / str(seed), *length, *fixed)
    return root


class SignalAtStep(Tracker):
    """Sends ``signum`` to this process when the metrics row of ``step`` is logged: a stop at a
    known step."""

    def __init__(self, step: int, signum: int = signal.SIGTERM) -> None:
        self.step, self.signum = step, signum

    def log_metrics(self, row: dict, step: int) -> None:
        if step == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.fixture
def signal_at_step() -> type[SignalAtStep]:
    """``signal_at_step(step, signum=SIGTERM)``: a tracker that stops this process at ``step``."""
    return SignalAtStep
