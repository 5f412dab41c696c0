"""collect_runs / tidy / collapse_curves / training_curves on fake run folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lucas2019.results import (
    collapse_curves,
    collect_runs,
    integrated_collapse,
    tidy,
    training_curves,
)

EPS = [0.0, 0.5, 1.0, 1.5, 2.0]


def _config(sigma2: float, likelihood: str = "gaussian_fixed", anneal: int = 0) -> dict:
    return {
        "experiment": {"name": "fig5"},
        "dataset": {"name": "mnist"},
        "model": {"name": "mlp_vae", "latent_dim": 4},
        "likelihood": {"name": likelihood, "sigma2": sigma2},
        "trainer": {"max_steps": 100, "kl_anneal_steps": anneal, "beta0": 0.0},
        "seed": 3,
    }


def _result(sigma2_final: float, curve: list[float], status: str = "completed") -> dict:
    return {
        "status": status,
        "step": 100,
        "elbo": -123.5,
        "elbo_test": -130.0,
        "rec": -100.0,
        "kl": 23.5,
        "mse": 0.1,
        "sigma2": sigma2_final,
        "active_units": 2,
        "collapsed_fraction": curve[1],
        "kl_per_latent": [1.0, 0.5, 0.0, 0.0],
        "collapse_eps": EPS,
        "collapse_curve": curve,
        "log_px_test": None,
        "latent_dim": 4,
        "data_dim": 784,
        "n_train": 1000,
        "wall_time_s": 12.0,
        "versions": {"torch": "x"},
        "overrides": ["likelihood.sigma2=1"],
        "experiment": "fig5",
    }


def _metrics(path: Path, n: int = 5) -> None:
    steps = np.arange(n) * 10
    pd.DataFrame(
        {
            "step": steps,
            "elbo": -200 + steps,
            "rec": -150 + steps,
            "kl": 50.0,
            "beta": 1.0,
            "sigma2": 1.0,
            "collapsed_fraction": 0.5,
            "active_units": 2,
            "elbo_test": np.nan,
            "wall_time_s": steps / 10,
        }
    ).to_csv(path / "metrics.csv", index=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Six run folders: completed, diverged, learned σ², config only, running, corrupt json."""
    specs = {
        "multirun/0": (_config(1.0), _result(1.0, [0.5, 0.5, 0.75, 1.0, 1.0])),
        "multirun/1": (_config(10.0), _result(10.0, [1.0] * 5, status="diverged")),
        "multirun/2": (_config(0.1, "gaussian_learned"), _result(0.05, [0.0] * 5)),
        "multirun/3": (_config(0.01), None),
        "multirun/4": (_config(0.001), None),
        "multirun/5": (_config(3.0), "{not json"),
    }
    for name, (cfg, result) in specs.items():
        d = tmp_path / name
        d.mkdir(parents=True)
        (d / "config.yaml").write_text(yaml.safe_dump(cfg))
        (d / ".hydra").mkdir()
        (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
        if isinstance(result, dict):
            (d / "result.json").write_text(json.dumps(result))
            _metrics(d)
        elif isinstance(result, str):
            (d / "result.json").write_text(result)
    _metrics(tmp_path / "multirun/4", n=3)  # still running: metrics but no result
    cfg = _config(0.001)
    cfg["trainer"]["kl_anneal_steps"] = "${halve:${trainer.max_steps}}"
    (tmp_path / "multirun/4/config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def test_collect_runs_one_row_per_run_with_status(root: Path) -> None:
    df = collect_runs(root)
    assert len(df) == 6  # .hydra folders are not runs
    status = dict(zip(df["run_name"], df["status"], strict=True))
    assert status == {
        "multirun/0": "completed",
        "multirun/1": "diverged",
        "multirun/2": "completed",
        "multirun/3": "missing",
        "multirun/4": "incomplete",
        "multirun/5": "corrupt",
    }
    row = df.set_index("run_name").loc["multirun/2"]
    assert row["sigma2"] == 0.1 and row["sigma2_final"] == 0.05
    assert row["sigma2_mode"] == "learned" and row["likelihood"] == "gaussian_learned"
    assert row["experiment"] == "fig5" and row["dataset"] == "mnist" and row["model"] == "mlp_vae"
    assert row["latent_dim"] == 4 and row["seed"] == 3 and row["kl_anneal_steps"] == 0
    assert row["elbo"] == -123.5 and row["active_units"] == 2
    assert row["kl_per_latent"] == [1.0, 0.5, 0.0, 0.0]
    assert df.set_index("run_name").loc["multirun/4", "step"] == 20  # last logged step
    assert "result.json" in df.set_index("run_name").loc["multirun/5", "error"]
    assert "kl_anneal_steps" in df.set_index("run_name").loc["multirun/4", "error"]
    assert pd.isna(df.set_index("run_name").loc["multirun/0", "error"])


def test_a_failed_job_keeps_its_status_and_error(tmp_path: Path) -> None:
    """lucas2019.train writes only result.json for a job that failed before training."""
    d = tmp_path / "0_likelihood.sigma2=-1"
    d.mkdir()
    failed = {"status": "failed", "error": "ConfigError('likelihood.sigma2')", "traceback": "..."}
    (d / "result.json").write_text(json.dumps(failed))
    row = collect_runs(tmp_path).iloc[0]
    assert row["status"] == "failed" and row["error"] == "ConfigError('likelihood.sigma2')"
    assert row["sigma2"] is None and pd.isna(row["elbo"])


def test_integrated_collapse_is_trapezoid_mean() -> None:
    # trapezoid of [0.5, 0.5, 0.75, 1, 1] on step 0.5 = 0.5*(0.5+0.625+0.875+1) = 1.5; / 2
    assert integrated_collapse(EPS, [0.5, 0.5, 0.75, 1.0, 1.0]) == pytest.approx(0.75)
    assert np.isnan(integrated_collapse(EPS, [0.1, 0.2]))
    assert np.isnan(integrated_collapse(None, None))


def test_long_tables(root: Path) -> None:
    df = collect_runs(root)
    long = tidy(df)
    elbo = long.loc[long["metric"] == "elbo"]
    assert len(elbo) == 3 and set(elbo["value"]) == {-123.5}
    curves = collapse_curves(df)
    assert len(curves) == 3 * len(EPS)
    one = curves.loc[curves["sigma2"] == 1.0].sort_values("eps")
    assert one["collapsed_fraction"].tolist() == [0.5, 0.5, 0.75, 1.0, 1.0]
    tc = training_curves(root)
    assert set(tc["run_dir"].map(lambda p: Path(p).name)) == {"0", "1", "2", "4"}
    last = tc.loc[(tc["metric"] == "elbo") & (tc["status"] == "incomplete"), "value"].max()
    assert last == -180
    assert "elbo_test" not in set(tc["metric"])  # all-NaN column leaves no rows


def test_bad_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="root"):
        collect_runs(tmp_path / "nope")
    empty = collect_runs(tmp_path)
    assert empty.empty and "status" in empty.columns
    with pytest.raises(ValueError, match="collect_runs"):
        tidy(pd.DataFrame({"x": [1]}))
