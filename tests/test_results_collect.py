"""collect_runs / tidy / collapse_curves / training_curves on real run folders, some of them
damaged on purpose."""

from __future__ import annotations

import json
import shutil
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


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


@pytest.fixture
def root(linear_sweep, tmp_path: Path) -> Path:
    """Six run folders made from real runs: completed, diverged, learned σ², config only,
    running (metrics only), corrupt result.json."""
    sources = {"0": "fixed/0", "1": "fixed/1", "2": "learned/2", "3": "fixed/9", "4": "fixed/3"}
    for name, source in sources.items():
        shutil.copytree(linear_sweep.root / source, tmp_path / "multirun" / name)
    multirun = tmp_path / "multirun"
    diverged = read_result(multirun / "1") | {"status": "diverged"}
    (multirun / "1" / "result.json").write_text(json.dumps(diverged))
    (multirun / "4" / "result.json").unlink()  # still running
    cfg = yaml.safe_load((multirun / "4" / "config.yaml").read_text())
    cfg["trainer"]["kl_anneal_steps"] = "${halve:${trainer.max_steps}}"
    (multirun / "4" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (multirun / "5").mkdir()
    shutil.copy(multirun / "0" / "config.yaml", multirun / "5" / "config.yaml")
    (multirun / "5" / "result.json").write_text("{not json")
    (multirun / "0" / ".hydra").mkdir()  # Hydra's own copy of the config is not a run
    shutil.copy(multirun / "0" / "config.yaml", multirun / "0" / ".hydra" / "config.yaml")
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
    result = read_result(root / "multirun" / "2")
    assert row["sigma2"] == 0.4 and row["sigma2_final"] == result["sigma2"] != 0.4
    assert row["sigma2_mode"] == "learned" and row["likelihood"] == "gaussian_learned"
    assert row["dataset"] == "synthetic" and row["model"] == "linear_vae"
    assert row["experiment"] is None and row["objective"] == "analytic"
    assert row["latent_dim"] == 4 and row["seed"] == 0 and row["kl_anneal_steps"] == 0
    assert row["elbo"] == result["elbo"] and row["active_units"] == result["active_units"]
    assert row["kl_per_latent"] == result["kl_per_latent"] and len(row["kl_per_latent"]) == 4
    metrics = pd.read_csv(root / "multirun" / "4" / "metrics.csv")
    assert df.set_index("run_name").loc["multirun/4", "step"] == metrics["step"].iloc[-1]
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
    finished = ("0", "1", "2")
    assert set(elbo["value"]) == {read_result(root / "multirun" / n)["elbo"] for n in finished}
    curves = collapse_curves(df)
    result = read_result(root / "multirun" / "0")
    assert len(curves) == 3 * len(result["collapse_eps"])
    one = curves.loc[curves["sigma2"] == 3.0].sort_values("eps")
    assert one["collapsed_fraction"].tolist() == result["collapse_curve"]
    tc = training_curves(root)
    assert set(tc["run_dir"].map(lambda p: Path(p).name)) == {"0", "1", "2", "4"}
    running = tc.loc[(tc["metric"] == "elbo") & (tc["status"] == "incomplete")]
    metrics = pd.read_csv(root / "multirun" / "4" / "metrics.csv")
    assert running["value"].tolist() == metrics["elbo"].tolist()
    assert set(tc["metric"]) == set(metrics.columns) - {"step"} and tc["value"].notna().all()


def test_bad_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="root"):
        collect_runs(tmp_path / "nope")
    empty = collect_runs(tmp_path)
    assert empty.empty and "status" in empty.columns
    with pytest.raises(ValueError, match="collect_runs"):
        tidy(pd.DataFrame({"x": [1]}))
