"""``python -m lucas2019.reproduce`` end to end at smoke scale on digits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lucas2019 import reproduce, results
from lucas2019.config import CONF_DIR
from lucas2019.reproduce import RUNS_CSV_COLUMNS, main, write_runs_table
from lucas2019.run_schema import CONFIG_COLUMNS
from paper_figures import registry
from paper_figures.claims.table import table_hash
from paper_figures.registry import FIGURES
from paper_figures.verdict_record import read, verdicts_file, write


@pytest.mark.slow
def test_reproduce_runs_everything_renders_every_figure_and_skips_finished_runs(tmp_path, capsys):
    out = tmp_path / "out"
    # one judging: the rounds that extend blocking runs are tests/test_until_decided.py's
    assert main(["scale=smoke", "--out", str(out), "--no-until-decided"]) == 0
    figures = out / "figures"
    for name in ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8"):
        assert (figures / f"{name}.png").stat().st_size > 5000
        assert (figures / f"{name}.pdf").exists()
    assert (figures / "table1.md").exists() and (figures / "table1.csv").exists()
    runs = sorted((out / "runs").glob("*/*/result.json"))
    assert len(runs) == 3 * (2 + 3 + 11 + 11 + 8 + 12)  # three seeds of every setting
    assert all(json.loads(p.read_text())["status"] == "completed" for p in runs)
    table = pd.read_csv(out / "runs.csv")
    assert len(table) == len(runs) and (table["status"] == "completed").all()
    setting = [c.name for c in CONFIG_COLUMNS if c.name != "seed"]
    per_setting = table.groupby(setting, dropna=False)["seed"]
    assert (per_setting.nunique() == 3).all() and len(per_setting) == len(runs) // 3
    index = (figures / "index.md").read_text()
    rows = index.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()[2:]
    judged = [r.definition for r in read(figures).verdicts]
    assert [row.split("](")[0] for row in rows] == [f"| [{key}" for key in judged]
    assert {key.split("/")[0] for key in judged} == {
        "C1",
        "C2",
        "C3a",
        "C3b",
        "C4a",
        "C4b",
        "C5",
        "C6",
        "C7",
    }
    assert rows[0].startswith("| [C1/fig2](#c1-fig2) | optimal linear-VAE ELBO equals the pPCA")
    # runs started after the definitions' log entries, but on the seeds and data subset the
    # definitions were set on
    assert table["started_utc"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    subset = "data subset 0 is one the definitions were set on"
    assert "| holds |" in rows[0] and f"| exploratory ({subset}) | `{table_hash()}` |" in rows[0]
    # too short to judge a seed (smoke scale), so the data subset is every verdict's one reason
    assert all(f"| exploratory ({subset}) |" in row for row in rows)
    assert "| cannot judge: runs too short (< 1000 steps) |" in index  # too short for C3-C7

    stamps = {p: p.stat().st_mtime_ns for p in runs}
    capsys.readouterr()
    again = ["scale=smoke", "--out", str(out), "--only", "fig5_fixed_sigma", "--no-until-decided"]
    assert main(again) == 0
    assert "33 runs already completed are skipped" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == stamps[p] for p in runs)


def test_runs_csv_has_one_row_per_run_folder_without_list_columns(linear_sweep, tmp_path):
    shutil.copytree(linear_sweep.root, tmp_path / "runs" / "linear_sweep")
    path = write_runs_table(tmp_path)
    assert path == tmp_path / "runs.csv"
    table = pd.read_csv(path)
    expected = results.collect_runs(tmp_path / "runs")
    assert list(table.columns) == list(RUNS_CSV_COLUMNS)
    assert {"experiment", "seed", "run_name"} <= set(table.columns)
    assert not {"run_dir", "collapse_curve", "collapse_eps", "kl_per_latent"} & set(table.columns)
    assert sorted(table["run_name"]) == sorted(expected["run_name"])
    assert len(table) == 2 * len(linear_sweep.sigma2) + 2  # fixed, learned, anneal, queued
    by_name = table.set_index("run_name")
    for _, run in expected.iterrows():
        assert by_name.loc[run["run_name"], "elbo"] == pytest.approx(run["elbo"], nan_ok=True)
    assert not list(tmp_path.glob(".runs.csv.*"))  # no temporary file left behind


def test_a_seed_sweep_reaches_the_experiments_and_a_data_sweep_is_refused(
    monkeypatch, tmp_path, capsys
):
    calls = {}

    def record(name: str, overrides: list[str], *_) -> bool:
        calls[name] = overrides
        return True

    monkeypatch.setattr(reproduce, "run_analytic", lambda o, out: record("analytic", o))
    monkeypatch.setattr(reproduce, "run_experiment", record)
    index = tmp_path / "index.md"
    write(tmp_path, verdicts_file([]))
    monkeypatch.setattr(reproduce, "render_figures", lambda *_: index)
    argv = ["scale=smoke", "seed=0,1,2,3,4", "--only", "table1", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert calls == {"analytic": ["scale=smoke"], "table1": ["scale=smoke", "seed=0,1,2,3,4"]}
    with pytest.raises(SystemExit):
        main(["dataset.subset_seed=0,1", "--out", str(tmp_path)])
    assert "Run reproduce once per value" in capsys.readouterr().err


def test_the_analytic_tables_follow_subset_seed_not_seed(tmp_path):
    from lucas2019 import data
    from lucas2019.config import compose_config

    out = reproduce.run_analytic(["scale=smoke", "seed=2", "dataset.subset_seed=1"], tmp_path)
    eigenvalues = pd.read_csv(out / "spectrum.csv")["eigenvalue"].to_numpy()
    cfg = compose_config("train", ["scale=smoke", "dataset.subset_seed=1", "run_dir=/unused"])
    x_train = data.load_for_run(cfg.dataset)[1].astype(float)
    expected = np.sort(np.linalg.eigvalsh(np.cov(x_train.T, bias=True)))[::-1]
    np.testing.assert_allclose(eigenvalues, expected[: len(eigenvalues)], atol=1e-10)


def test_figures_list_sweeps_that_never_ran(compose_train, tmp_path):
    from lucas2019.analytic import run_analysis
    from lucas2019.reproduce import EXPERIMENTS, render_figures

    cfg = compose_train(
        [
            "dataset=synthetic",
            "dataset.options.dim=8",
            "analytic.latent_dim=4",
            "analytic.landscape_points=5",
            f"run_dir={tmp_path}",
        ],
        config_name="analytic",
    )
    run_analysis(cfg, tmp_path / "analytic")
    index = render_figures(tmp_path, EXPERIMENTS).read_text()
    missing = index.split("## Missing runs")[1]
    for name in EXPERIMENTS:
        assert f"every run of {name} (its sweep never ran)" in missing
    rows = index.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| [C1/fig2](#c1-fig2)",
        "| [C2/fig2](#c2-fig2)",
    ]
    assert (
        "| optimal linear-VAE ELBO equals the pPCA MLE log-likelihood for every k | holds |"
        in rows[0]
    )
    # no run read, but the analytic tables are of the data subset the definitions were set on
    assert "| exploratory (data subset 0 is one the definitions were set on) |" in rows[0]
    drawn = [f.title for f in FIGURES if f"## {f.title}" in index]
    assert drawn == [f.title for f in FIGURES if f.experiment is None]  # only the analytic ones


def test_reproduce_runs_the_figure_registrys_experiments_each_a_training_preset():
    from lucas2019.reproduce import EXPERIMENTS

    assert EXPERIMENTS is registry.EXPERIMENTS
    assert set(EXPERIMENTS) == {f.experiment for f in FIGURES} - {None}
    for name in EXPERIMENTS:
        preset = Path(CONF_DIR) / "experiment" / f"{name}.yaml"
        assert preset.is_file() and "entry: analytic" not in preset.read_text(), name
    assert len({f.title for f in FIGURES}) == len(FIGURES)
    # without --only every experiment runs but those of figures left out of the default job
    default = {f.experiment for f in FIGURES if f.default} - {None}
    assert set(registry.DEFAULT_EXPERIMENTS) == default
    assert "mitigations" in EXPERIMENTS and "mitigations" not in registry.DEFAULT_EXPERIMENTS


def test_only_defaults_to_the_default_experiments_and_accepts_mitigations(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(reproduce, "run_analytic", lambda *_: None)
    monkeypatch.setattr(reproduce, "run_experiment", lambda name, *_: ran.append(name) or True)
    index = tmp_path / "index.md"
    write(tmp_path, verdicts_file([]))
    monkeypatch.setattr(reproduce, "render_figures", lambda *_: index)
    assert main(["scale=smoke", "--out", str(tmp_path)]) == 0
    assert ran == list(registry.DEFAULT_EXPERIMENTS)
    ran.clear()
    assert main(["scale=smoke", "--only", "mitigations", "--out", str(tmp_path)]) == 0
    assert ran == ["mitigations"]


def test_only_accepts_overrides_after_it_and_rejects_unknown_experiments(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["--only", "fig9", "--figures-only", "--out", str(tmp_path)])
    assert "--only takes experiments from" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # parsed, then stopped by the config check, before any work
        main(["--figures-only", "--only", "table1", "likelihood.sigma2=-1", "--out", str(tmp_path)])
    assert "config key 'likelihood.sigma2' = -1.0 is invalid" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_figures_only_computes_missing_analytic_tables(monkeypatch, tmp_path, capsys):
    """Runs made with ``train -m`` come without analytic tables: reproduce computes them."""
    computed = []
    monkeypatch.setattr(reproduce, "run_analytic", lambda o, out: computed.append((o, out)))
    index = tmp_path / "index.md"
    write(tmp_path, verdicts_file([]))
    monkeypatch.setattr(reproduce, "render_figures", lambda *_: index)
    assert main(["scale=smoke", "--figures-only", "--out", str(tmp_path)]) == 0
    assert computed == [(["scale=smoke"], tmp_path / "analytic")]
    assert "no analytic tables in" in capsys.readouterr().out
    (tmp_path / "analytic").mkdir()
    (tmp_path / "analytic" / "spectrum.csv").write_text("eigenvalue\n1\n")
    assert main(["scale=smoke", "--figures-only", "--out", str(tmp_path)]) == 0
    assert len(computed) == 1  # present: not computed again
