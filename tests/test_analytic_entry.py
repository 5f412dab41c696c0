"""``python -m lucas2019.analytic``: the tables it writes agree with the linear theory."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lucas2019.analytic import run_analysis


@pytest.fixture
def analytic_dir(compose_train, tmp_path):
    cfg = compose_train(
        [
            "dataset=synthetic",
            "dataset.options.dim=12",
            "dataset.n_train=400",
            "analytic.latent_dim=8",
            "analytic.reference_k=4",
            "analytic.landscape_points=11",
            f"run_dir={tmp_path}",
        ],
        config_name="analytic",
    )
    run_analysis(cfg, tmp_path)
    return tmp_path


def test_tables_are_consistent_with_the_theory(analytic_dir):
    spectrum = pd.read_csv(analytic_dir / "spectrum.csv")["eigenvalue"].to_numpy()
    assert np.all(np.diff(spectrum) <= 0) and len(spectrum) == 12
    by_k = pd.read_csv(analytic_dir / "likelihood_vs_k.csv")
    np.testing.assert_allclose(by_k["elbo"], by_k["log_likelihood"], rtol=1e-10)  # C1
    learned = by_k[by_k["sigma2_learned"]].sort_values("n_latent")["log_likelihood"].to_numpy()
    assert np.all(np.diff(learned) > 0)  # more latents, higher MLE likelihood
    sweep = pd.read_csv(analytic_dir / "sigma2_sweep.csv")
    for row in sweep.itertuples():
        assert row.n_collapsed == np.sum(spectrum[:8] <= row.sigma2)
    diagnostics = pd.read_csv(analytic_dir / "collapse_diagnostics.csv")
    assert len(diagnostics) == 8 * len(sweep)


def test_landscape_is_a_saddle_below_and_a_maximum_above(analytic_dir):
    points = pd.read_csv(analytic_dir / "stationary_points.csv")
    assert list(points["label"]) == ["saddle", "global maximum"]
    landscape = pd.read_csv(analytic_dir / "landscape.csv")
    for (_, grid), label in zip(
        landscape.groupby("sigma2", sort=False), ("saddle", "maximum"), strict=True
    ):
        origin = grid.loc[(grid["a"] == 0) & (grid["b"] == 0), "log_likelihood"].item()
        along_a = grid.loc[(grid["b"] == 0) & (grid["a"] != 0), "log_likelihood"].max()
        assert (along_a > origin) == (label == "saddle")
        assert grid["log_likelihood"].max() >= origin


def test_result_json_summarises_the_dataset(analytic_dir):
    result = json.loads((analytic_dir / "result.json").read_text())
    assert result["status"] == "completed" and result["data_dim"] == 12
    assert result["implied_sigma2"] == {"mse_sum": 0.5, "mse_mean": 6.0}


def test_command_line_entry_point_writes_the_tables(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "lucas2019.analytic", f"hydra.run.dir={tmp_path}"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    for name in (
        "spectrum",
        "likelihood_vs_k",
        "sigma2_sweep",
        "collapse_diagnostics",
        "landscape",
        "stationary_points",
    ):
        assert (tmp_path / f"{name}.csv").stat().st_size > 0


@pytest.mark.parametrize("experiment", ["fig1_landscape", "fig2_likelihood_vs_k"])
def test_analytic_presets_compose(compose_train, experiment):
    from lucas2019.config import validate_analytic

    cfg = compose_train([f"experiment={experiment}"], config_name="analytic")
    validate_analytic(cfg)
    assert cfg.experiment.name == experiment
