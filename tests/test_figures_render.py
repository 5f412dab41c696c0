"""Every figure/table renders from a small synthetic table: a non-blank PNG and a PDF, the
expected axis labels and legend entries, and missing runs listed."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from paper_figures import fig1, fig2, fig3, fig4, fig5, fig6, fig7, table1
from paper_figures.theme import LABELS, describe

DPI = 40
LAM = np.array([3.0, 2.0, 0.5])


def check_image(paths: list[Path], stem: str) -> None:
    """PNG and PDF exist; the PNG is not blank."""
    names = sorted(p.name for p in paths)
    assert names == [f"{stem}.pdf", f"{stem}.png"]
    png = next(p for p in paths if p.suffix == ".png")
    assert png.stat().st_size > 3000
    assert next(p for p in paths if p.suffix == ".pdf").stat().st_size > 1000
    img = mpimg.imread(png)
    assert img.ndim == 3 and float(img[..., :3].var()) > 1e-3


def landscape() -> pd.DataFrame:
    """pPCA log-likelihood with one W column a·e1 + b·e3, S = diag(LAM), two σ² values."""
    grid = np.linspace(-1.0, 1.0, 21)
    rows = []
    for label, s2 in [("below λ", 1.0), ("above λ", 4.0)]:
        for a in grid:
            for b in grid:
                w = np.array([a, 0.0, b])
                c = np.outer(w, w) + s2 * np.eye(3)
                ll = -0.5 * (
                    3 * np.log(2 * np.pi)
                    + np.linalg.slogdet(c)[1]
                    + np.trace(np.linalg.solve(c, np.diag(LAM)))
                )
                rows.append(
                    {"sigma2_label": label, "sigma2": s2, "a": a, "b": b, "log_likelihood": ll}
                )
    return pd.DataFrame(rows)


def test_fig1(tmp_path: Path) -> None:
    df = landscape()
    parts = {
        lab: (g["sigma2"].iloc[0], g[["a", "b", "log_likelihood"]])
        for lab, g in df.groupby("sigma2_label", sort=False)
    }
    pd.testing.assert_frame_equal(fig1.combine(parts)[df.columns], df)
    assert fig1.origin_types(df) == {"below λ": "saddle", "above λ": "local maximum"}
    out = fig1.render(df, tmp_path, expected=[1.0, 4.0, 0.1], dpi=DPI)
    check_image(out, "fig1")
    axes = out.info["axes"]
    assert [a["title"] for a in axes[:2]] == [
        "below λ: origin is a saddle",
        "above λ: origin is a local maximum",
    ]
    assert LABELS["loglik"] in [a["ylabel"] for a in axes]  # colour bars
    assert out.missing == ["σ²=0.1"] and "σ²=0.1" in out.info["texts"][0]


def sweep_table() -> pd.DataFrame:
    lam = 10.0 * 0.7 ** np.arange(12)
    rows = []
    for k in range(12):
        s2 = lam[k:].mean()
        ll = -0.5 * (12 * np.log(2 * np.pi) + np.log(lam[:k]).sum() + (12 - k) * np.log(s2) + 12)
        rows.append({"sigma2": None, "n_latent": k, "log_likelihood": ll, "elbo": ll})
        c = np.full(12, 1.0)
        c[:k] = np.maximum(lam[:k], 1.0)
        llf = -0.5 * (12 * np.log(2 * np.pi) + np.log(c).sum() + (lam / c).sum())
        rows.append({"sigma2": 1.0, "n_latent": k, "log_likelihood": llf, "elbo": np.nan})
    return pd.DataFrame(rows), lam


def test_fig2(tmp_path: Path) -> None:
    df, lam = sweep_table()
    out = fig2.render(df, tmp_path, eigenvalues=lam, expected=["learned σ² (MLE)"], dpi=DPI)
    check_image(out, "fig2")
    (ax,) = out.info["axes"]
    assert ax["xlabel"] == LABELS["n_latent"] and ax["ylabel"] == LABELS["loglik"]
    assert ax["legend"] == [
        "learned σ² (MLE): log p(x)",
        "learned σ² (MLE): optimal ELBO",
        "fixed σ² = 1: log p(x)",
        "λ_k = σ² (k* = 7)",
    ]
    assert out.missing == []
    assert [v.outcome for v in fig2.verdict(df, lam)] == ["holds", "holds"]


def train_curves(groups: dict[str, str], col: str) -> pd.DataFrame:
    steps = np.arange(0, 400, 4)
    rng = np.random.default_rng(1)
    parts = []
    for i, name in enumerate(groups):
        v = -500 - 300 * np.exp(-steps / (30 + 20 * i)) + rng.normal(0, i, len(steps))
        parts.append(
            pd.DataFrame(
                {"run_dir": f"run{i}", col: name, "step": steps, "metric": "elbo", "value": v}
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize(
    ("module", "col", "names", "title"),
    [
        (fig3, "objective", ["analytic", "stochastic"], "ELBO"),
        (fig4, "encoder", ["deep_linear", "linear"], "encoder"),
    ],
)
def test_fig3_fig4(tmp_path: Path, module, col: str, names: list[str], title: str) -> None:
    out = module.render(train_curves(dict.fromkeys(names), col), -500.0, tmp_path, dpi=DPI)
    stem = module.__name__.split(".")[-1]
    check_image(out, stem)
    left, right = out.info["axes"]
    assert left["xlabel"] == LABELS["step"] and left["ylabel"] == LABELS["elbo"]
    assert right["ylabel"] == LABELS["gap"] and right["yscale"] == "log"
    assert left["legend_title"] == title
    assert left["legend"] == [*names, "pPCA MLE log p(x)"]
    assert out.missing == ([] if module is fig3 else ["encoder=mlp"])


def collapse_table(sigmas: list[float], learned: bool = False) -> pd.DataFrame:
    eps = np.linspace(0, 2, 11)
    parts = []
    for s in sigmas:
        base = np.clip(0.2 * np.log10(s) + 0.5, 0, 1)
        parts.append(
            pd.DataFrame(
                {
                    "run_dir": f"r{s}",
                    "sigma2": s,
                    "status": "completed",
                    "step": 2000,
                    "eps": eps,
                    "sigma2_final": s / 3 if learned else s,
                    "collapsed_fraction": np.clip(base + 0.2 * eps, 0, 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_fig5(tmp_path: Path) -> None:
    fixed = collapse_table([10.0, 1.0, 0.01]).assign(sigma2_mode="fixed")
    learned = collapse_table([0.1], learned=True).assign(sigma2_mode="learned")
    both = pd.concat([fixed, learned], ignore_index=True)
    out = fig5.render(both, tmp_path, expected=[10, 1, 0.1, 0.01], dpi=DPI)
    check_image(out, "fig5")
    (ax,) = out.info["axes"]
    assert ax["xlabel"] == LABELS["eps"] and ax["ylabel"] == LABELS["collapsed"]
    assert ax["legend_title"] == "fixed σ²" and ax["legend"] == ["10", "1", "0.01"]
    assert "2000 steps" in ax["title"]
    assert out.missing == ["σ²=0.1"]


def test_fig6_lists_unfinished_runs(tmp_path: Path) -> None:
    df = collapse_table([10.0, 1.0], learned=True)
    df.loc[df["sigma2"] == 1.0, "status"] = "diverged"
    out = fig6.render(df, tmp_path, expected=[10, 1], dpi=DPI)
    check_image(out, "fig6")
    (ax,) = out.info["axes"]
    assert ax["legend"] == ["10 → 3.33"] and ax["legend_title"] == "initial σ² → learned σ²"
    assert out.missing == ["σ²=1", "run r1.0 (diverged)"]


def test_fig7(tmp_path: Path) -> None:
    runs = pd.DataFrame(
        {
            "run_dir": ["a", "b", "c"],
            "sigma2": [10.0, 1.0, 0.1],
            "status": "completed",
            "latent_dim": 3,
            "active_units": [0, 1, 3],
            "collapsed_fraction": [1.0, 0.6, 0.0],
        }
    )
    out = fig7.render(runs, LAM, tmp_path, expected=[10.0, 1.0, 0.1, 0.01], dpi=DPI)
    check_image(out, "fig7")
    (ax,) = out.info["axes"]
    assert ax["xscale"] == "log" and ax["xlabel"] == LABELS["sigma2"]
    assert ax["ylabel"] == LABELS["latents"]
    assert ax["legend"] == [fig7.THEORY, fig7.ACTIVE, fig7.ALIVE]
    assert out.missing == ["σ²=0.01"]
    assert fig7.predicted_live(LAM, [10.0, 2.5, 1.0, 0.1], 2).tolist() == [0, 1, 2, 2]


def test_table1(tmp_path: Path) -> None:
    runs = pd.DataFrame(
        {
            "run_dir": ["f1", "f2", "l1", "a1", "x"],
            "dataset": "mnist",
            "likelihood": ["gaussian_fixed"] * 2
            + ["gaussian_learned", "gaussian_fixed"] * 1
            + ["gaussian_fixed"],
            "sigma2": [1.0, 1.0, 1.0, 1.0, 10.0],
            "kl_anneal_steps": [0, 0, 0, 500, 0],
            "status": ["completed"] * 4 + ["incomplete"],
            "step": 2000,
            "elbo": [-300.0, -310.0, -250.0, -305.0, np.nan],
            "collapsed_fraction": [0.8, 0.9, 0.2, 0.85, np.nan],
        }
    )
    out = table1.render(runs, tmp_path, expected=[("fixed σ²", 1.0), ("learned σ²", 10.0)])
    assert sorted(p.name for p in out) == ["table1.csv", "table1.md"]
    csv = pd.read_csv(tmp_path / "table1.csv")
    fixed = csv.loc[csv["setting"] == "fixed σ²"].iloc[0]
    assert fixed["n_runs"] == 2 and fixed["elbo"] == pytest.approx(-305.0)
    assert fixed["collapse_pct_eps0.01"] == pytest.approx(85.0)
    assert set(csv["setting"]) == {"fixed σ²", "learned σ²", "KL annealing (fixed σ²)"}
    md = (tmp_path / "table1.md").read_text()
    assert "| setting | dataset | sigma2 |" in md and "learned σ², σ²=10" in md
    assert out.missing == ["learned σ², σ²=10", "run x (incomplete)"]


def test_bad_input_names_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="landscape lacks columns"):
        fig1.render(pd.DataFrame({"a": [0.0]}), tmp_path)
    with pytest.raises(ValueError, match="mle"):
        fig3.render(train_curves({"analytic": ""}, "objective"), float("nan"), tmp_path)
    assert describe(None) == {"axes": [], "texts": []}
