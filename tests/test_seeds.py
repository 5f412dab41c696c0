"""Two seeds: ``seed`` varies the initialisation and noise, ``dataset.subset_seed`` the data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lucas2019 import data, trainer
from lucas2019.config import RunConfig, compose_config
from lucas2019.run_folder import DATA_KEY, FINGERPRINT_KEY

SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1"]


def _arrays(*overrides: str) -> tuple[np.ndarray, np.ndarray | None]:
    cfg = compose_config("train", [*SMOKE, *overrides, "run_dir=/tmp/unused"])
    return data.load_for_run(cfg.dataset)[1:]


@pytest.mark.parametrize(
    "dataset",
    [
        ["dataset=digits"],
        ["dataset=digits", "dataset.preprocess=dequantize_logit"],  # noise drawn at load time
        ["dataset=synthetic", "dataset.options.dim=8"],  # the samples themselves are drawn
    ],
)
def test_the_model_seed_leaves_the_data_alone_and_subset_seed_resamples_them(dataset):
    x_train, x_test = _arrays(*dataset)
    for seed in (1, 2):
        other_train, other_test = _arrays(*dataset, f"seed={seed}")
        np.testing.assert_array_equal(other_train, x_train)
        np.testing.assert_array_equal(other_test, x_test)
    resampled, _ = _arrays(*dataset, "dataset.subset_seed=1")
    assert resampled.shape == x_train.shape and not np.array_equal(resampled, x_train)


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_subset_seed_0_gives_the_data_seed_0_gave_before_the_split(scale):
    """The one-seed runs keep their data: subset_seed = 0 draws what load and training_arrays
    drew with seed = 0 when the model seed also picked the subset."""
    cfg = compose_config("train", [f"scale={scale}", "run_dir=/tmp/unused"])
    x_train, x_test = data.load_for_run(cfg.dataset)[1:]
    before = data.training_arrays(
        data.load("digits", seed=0), n_train=cfg.dataset.n_train, n_test=cfg.dataset.n_test, seed=0
    )
    np.testing.assert_array_equal(x_train, before[0])
    np.testing.assert_array_equal(x_test, before[1])


def test_seeds_train_different_initialisations_on_identical_data(tmp_path):
    """Runs of seeds 0, 1, 2 (0 steps: the checkpoint holds the initial model) record the same
    data hash and different initial weights; subset_seed = 1 records another hash."""

    def start(*overrides: str) -> tuple[str, dict]:
        run_dir = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        cfg = compose_config(
            "train", [*SMOKE, "trainer.max_steps=0", *overrides, f"run_dir={run_dir}"]
        )
        result = trainer.train(RunConfig.from_config(cfg))
        weights = torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]
        return result[FINGERPRINT_KEY][DATA_KEY], weights

    (hash0, weights0), *others = [start(f"seed={s}") for s in (0, 1, 2)]
    for data_hash, weights in others:
        assert data_hash == hash0
        assert not all(torch.equal(weights[k], weights0[k]) for k in weights0)
    assert start("dataset.subset_seed=1")[0] != hash0
