"""``python -m lucas2019.reproduce`` end to end at smoke scale on digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lucas2019.config import CONF_DIR
from lucas2019.reproduce import main
from paper_figures import registry
from paper_figures.registry import FIGURES


@pytest.mark.slow
def test_reproduce_runs_everything_renders_every_figure_and_skips_finished_runs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["scale=smoke", "--out", str(out)]) == 0
    figures = out / "figures"
    for name in ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8"):
        assert (figures / f"{name}.png").stat().st_size > 5000
        assert (figures / f"{name}.pdf").exists()
    assert (figures / "table1.md").exists() and (figures / "table1.csv").exists()
    results = sorted((out / "runs").glob("*/*/result.json"))
    assert len(results) == 2 + 3 + 11 + 11 + 8 + 12
    assert all(json.loads(p.read_text())["status"] == "completed" for p in results)
    index = (figures / "index.md").read_text()
    for claim in ("C1", "C2", "C3", "C4", "C5", "C6", "C7"):
        assert f"- {claim}: " in index
    assert (
        "C1: optimal linear-VAE ELBO equals the pPCA MLE log-likelihood for every k: holds" in index
    )
    assert "cannot judge (runs too short" in index  # smoke runs are too short for C4-C7

    stamps = {p: p.stat().st_mtime_ns for p in results}
    capsys.readouterr()
    assert main(["scale=smoke", "--out", str(out), "--only", "fig5_fixed_sigma"]) == 0
    assert "11 runs already completed are skipped" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == stamps[p] for p in results)


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
    assert "C1: optimal linear-VAE ELBO equals the pPCA MLE" in index
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


def test_only_accepts_overrides_after_it_and_rejects_unknown_experiments(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["--only", "fig9", "--figures-only", "--out", str(tmp_path)])
    assert "--only takes experiments from" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # parsed, then stopped by the config check, before any work
        main(["--figures-only", "--only", "table1", "likelihood.sigma2=-1", "--out", str(tmp_path)])
    assert "config key 'likelihood.sigma2' = -1.0 is invalid" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
