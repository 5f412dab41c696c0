"""Real run folders -> collect_runs -> figures, verdicts and index.md, end to end.

The runs (conftest ``linear_sweep``) are linear VAEs on pPCA data, whose collapse the linear theory
predicts exactly: the verdicts hold on what training really wrote, not on hand-made numbers.
"""

from __future__ import annotations

from pathlib import Path

from lucas2019.results import collapse_curves, collect_runs, training_curves
from paper_figures import fig5, fig6, fig7, table1
from paper_figures.index import IndexEntry, write_index
from paper_figures.theme import fmt_value


def test_pipeline(linear_sweep, tmp_path: Path) -> None:
    runs = collect_runs(linear_sweep.root)
    assert len(runs) == 10 and (runs["status"] == "missing").sum() == 1
    curves = collapse_curves(runs)
    out = tmp_path / "figures"
    grid = [*linear_sweep.sigma2, linear_sweep.never_started]
    r5, r6 = fig5.render(curves, out, grid, dpi=40), fig6.render(curves, out, grid, dpi=40)
    r7 = fig7.render(runs, linear_sweep.eigenvalues, out, expected=grid, dpi=40)
    rt = table1.render(runs, out)
    assert r5.info["axes"][0]["legend"] == [fmt_value(s) for s in linear_sweep.sigma2]
    largest = runs.loc[runs["run_name"] == "learned/0"].iloc[0]
    assert r6.info["axes"][0]["legend"][0] == f"3 → {largest['sigma2_final']:.3g}"
    never = f"σ²={fmt_value(linear_sweep.never_started)}"
    assert r5.missing == [never] and rt.missing == ["run fixed/9 (missing)"]
    assert r7.missing == [never, "run fixed/9 (missing)"]

    v4 = fig5.verdict(runs, linear_sweep.eigenvalues, measure="active_units", min_steps=200)
    v5 = fig6.verdict(runs, measure="active_units")
    v6 = table1.verdict(runs, training_curves(runs))[1]
    assert (v4.outcome, v5.outcome, v6.outcome) == ("holds", "holds", "holds"), (v4, v5, v6)
    # 0, 1, 2, 3 of 4 latents live, as #{λ_i > σ²} says: trained and predicted agree exactly
    assert "collapse σ²=0.2: 25.0%, σ²=0.4: 50.0%, σ²=0.8: 75.0%, σ²=3: 100.0%" in v4.detail
    assert "mean |predicted − measured| = 0.0%" in v4.detail

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
    assert f"Figure 5: {never}" in index
