"""Run folders -> collect_runs -> figures, verdicts and index.md, end to end (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from lucas2019.results import collapse_curves, collect_runs, training_curves
from paper_figures import fig5, fig6, fig7, table1
from paper_figures.index import IndexEntry, write_index

K = 10
EPS = list(np.linspace(0, 2, 5))
LAM = 2.0 ** -np.arange(-3, 20, 1.0)  # 8, 4, 2, 1, 0.5, ...


def make_run(root: Path, name: str, sigma2: float, mode: str, au: int, anneal: int = 0) -> None:
    d = root / name
    d.mkdir(parents=True)
    cfg = {
        "experiment": {"name": "sweep"},
        "dataset": {"name": "mnist"},
        "model": {"name": "mlp_vae", "latent_dim": K},
        "likelihood": {"name": f"gaussian_{mode}", "sigma2": sigma2},
        "trainer": {"max_steps": 300, "kl_anneal_steps": anneal},
        "seed": 0,
    }
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    frac = 1 - au / K
    result = {
        "status": "completed",
        "step": 300,
        "elbo": -100.0 - sigma2,
        "sigma2": sigma2 if mode == "fixed" else sigma2 / 2,
        "active_units": au,
        "collapsed_fraction": frac,
        "collapse_eps": EPS,
        "collapse_curve": [min(1.0, frac + 0.1 * e) for e in EPS],
    }
    (d / "result.json").write_text(json.dumps(result))
    steps = np.arange(0, 301, 50)
    active = np.where(steps <= anneal, K, au) if anneal else np.full(len(steps), au)
    pd.DataFrame({"step": steps, "elbo": -100.0, "active_units": active}).to_csv(
        d / "metrics.csv", index=False
    )


def test_pipeline(tmp_path: Path) -> None:
    runs_root = tmp_path / "runs"
    for i, (s2, au) in enumerate([(10.0, 0), (1.0, 3), (0.1, 8), (0.01, 10)]):
        make_run(runs_root, f"fixed/{i}", s2, "fixed", au)
        make_run(runs_root, f"learned/{i}", s2, "learned", min(K, au + 6))
    make_run(runs_root, "anneal/0", 1.0, "fixed", 3, anneal=100)
    (runs_root / "fixed/9").mkdir()
    (runs_root / "fixed/9/config.yaml").write_text(yaml.safe_dump({"seed": 1}))
    runs = collect_runs(runs_root)
    assert len(runs) == 10 and (runs["status"] == "missing").sum() == 1
    curves = collapse_curves(runs)
    out = tmp_path / "figures"
    grid = [10.0, 1.0, 0.1, 0.01, 0.001]
    r5, r6 = fig5.render(curves, out, grid, dpi=40), fig6.render(curves, out, grid, dpi=40)
    r7 = fig7.render(runs, LAM, out, expected=grid, dpi=40)
    rt = table1.render(runs, out)
    assert r5.info["axes"][0]["legend"] == ["10", "1", "0.1", "0.01"]
    assert r6.info["axes"][0]["legend"][0] == "10 → 5"
    assert r5.missing == ["σ²=0.001"] and r7.missing == ["σ²=0.001"]
    assert rt.missing == ["run fixed/9 (missing)"]
    v4 = fig5.verdict(runs, LAM, measure="active_units", min_steps=200)
    v5 = fig6.verdict(runs, measure="active_units")
    v6 = table1.verdict(runs, training_curves(runs))[1]
    assert (v4.outcome, v5.outcome, v6.outcome) == ("holds", "holds", "holds"), (v4, v5, v6)
    index = write_index(
        out,
        [
            IndexEntry("Figure 5", r5, ["C4"], [v4]),
            IndexEntry("Figure 6", r6, ["C5"], [v5]),
            IndexEntry("Figure 7", r7, ["C4"]),
            IndexEntry("Table 1", rt, ["C5", "C6"], [v6]),
        ],
    ).read_text()
    assert "![fig7](fig7.png)" in index and "[table1.md](table1.md)" in index
    assert "C6: KL annealing only delays collapse: holds" in index
    assert "Figure 5: σ²=0.001" in index
