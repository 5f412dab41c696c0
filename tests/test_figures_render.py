"""Every figure/table renders from a small synthetic table: a non-blank PNG and a PDF, the
expected axis labels and legend entries, and missing runs listed. With several seeds per setting
the drawn mean, its 95% interval (Student t below 10 seeds) and the faint single seeds are checked
against pandas and scipy; with one seed there is no interval."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import stats

from paper_figures import fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8, table1
from paper_figures.theme import LABELS, SEED_LINE, SEED_MARKER, describe, interval_bounds

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


def t_reference(values: np.ndarray) -> tuple[float, float]:
    """scipy's 95% Student-t interval of the mean of ``values``."""
    return stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))


def faint_lines(ax: Axes) -> list:
    """The single-seed lines (or marker sets) of ``ax``: drawn with the seed style's alpha."""
    return [line for line in ax.lines if line.get_alpha() == SEED_LINE["alpha"]]


def mean_lines(ax: Axes) -> list:
    """The opaque data lines of ``ax`` (seaborn's empty legend proxies and axhlines left out)."""
    return [line for line in ax.lines if line.get_alpha() is None and len(line.get_xdata()) > 2]


def band_bounds(ax: Axes, i: int) -> pd.DataFrame:
    """The ``i``-th drawn interval band of ``ax`` as columns x, low, high (one row per x)."""
    xy = pd.DataFrame(ax.collections[i].get_paths()[0].vertices, columns=["x", "y"])
    return xy.groupby("x")["y"].agg(low="min", high="max").reset_index()


def seed_summary(df: pd.DataFrame, by: list[str], y: str) -> pd.DataFrame:
    """Independent reference: per group, the mean of ``y`` and scipy's t-interval."""
    rows = []
    for key, g in df.groupby(by, sort=True):
        values = g[y].to_numpy(float)
        low, high = t_reference(values) if len(values) > 1 else (np.nan, np.nan)
        rows.append((*key, g[y].mean(), low, high))
    return pd.DataFrame(rows, columns=[*by, "mean", "low", "high"])


@pytest.mark.parametrize("n", [2, 3, 9])
def test_the_band_is_the_student_t_interval_below_ten_seeds(n: int) -> None:
    values = np.random.default_rng(n).normal(5.0, 2.0, n)
    assert interval_bounds(values) == pytest.approx(t_reference(values), rel=1e-12)
    assert interval_bounds([*values, np.nan]) == pytest.approx(t_reference(values), rel=1e-12)


def test_the_band_needs_two_values_and_is_a_point_without_spread() -> None:
    assert np.isnan(interval_bounds([3.0])).all() and np.isnan(interval_bounds([])).all()
    assert interval_bounds([2.0, 2.0, 2.0]) == (2.0, 2.0)


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
    assert out.notes == ["lines: one seed per setting (no interval)"] == out.info["texts"][:1]
    for ax in out.figure.axes:  # one seed: no band, one faint line per run under its mean
        assert all(len(p.vertices) == 0 for c in ax.collections for p in c.get_paths())
        assert len(faint_lines(ax)) == len(names) == len(mean_lines(ax))


def seeded_curves(names: list[str], col: str, seeds: int) -> pd.DataFrame:
    """ELBO curves of ``seeds`` runs per value of ``col``, each seed with its own noise."""
    steps = np.arange(0, 200, 10)
    parts = []
    for i, name in enumerate(names):
        for seed in range(seeds):
            rng = np.random.default_rng(10 * i + seed)
            v = -500 - 300 * np.exp(-steps / (30 + 20 * i)) + rng.normal(0, 5, len(steps))
            parts.append(
                pd.DataFrame(
                    {"run_dir": f"{name}/{seed}", col: name, "seed": seed, "step": steps}
                ).assign(metric="elbo", value=v)
            )
    return pd.concat(parts, ignore_index=True)


def test_fig3_draws_the_seed_mean_its_t_interval_and_each_seed(tmp_path: Path) -> None:
    curves = seeded_curves(["analytic", "stochastic"], "objective", seeds=3)
    out = fig3.render(curves, -500.0, tmp_path, dpi=DPI)
    check_image(out, "fig3")
    left, gap = out.figure.axes
    expected = seed_summary(curves, ["objective", "step"], "value")
    for i, (_, want) in enumerate(expected.groupby("objective", sort=True)):
        line = mean_lines(left)[i]
        np.testing.assert_allclose(line.get_xdata(), want["step"])
        np.testing.assert_allclose(line.get_ydata(), want["mean"], rtol=1e-12)
        band = band_bounds(left, i)
        np.testing.assert_allclose(band["low"], want["low"], rtol=1e-9)
        np.testing.assert_allclose(band["high"], want["high"], rtol=1e-9)
    runs = {tuple(g["value"]) for _, g in curves.groupby("run_dir")}
    assert {tuple(line.get_ydata()) for line in faint_lines(left)} == runs
    assert len(faint_lines(gap)) == 6 and len(mean_lines(gap)) == 2
    assert (
        "mean over 3 seeds per setting" in out.notes[0]
        and "95% interval of that mean (Student t)" in out.notes[0]
    )
    assert out.info["texts"] == out.notes


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
    assert out.notes == ["lines: one seed per setting (no interval)"]


def test_fig5_draws_the_seed_mean_its_t_interval_and_each_seed(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    seeds = []
    for seed in range(3):
        part = collapse_table([10.0, 0.01]).assign(sigma2_mode="fixed", seed=seed)
        part["run_dir"] += f"/{seed}"
        part["collapsed_fraction"] = np.clip(part["collapsed_fraction"] + rng.normal(0, 0.1), 0, 1)
        seeds.append(part)
    curves = pd.concat(seeds, ignore_index=True)
    out = fig5.render(curves, tmp_path, dpi=DPI)
    check_image(out, "fig5")
    (ax,) = out.figure.axes
    curves["pct"] = 100 * curves["collapsed_fraction"]
    expected = seed_summary(curves, ["sigma2", "eps"], "pct")
    # lines in legend order: the largest σ² first
    for i, (_, want) in enumerate(expected.groupby(-expected["sigma2"], sort=True)):
        np.testing.assert_allclose(mean_lines(ax)[i].get_ydata(), want["mean"], rtol=1e-12)
        band = band_bounds(ax, i)
        # a percentage's band stops at 0 and 100
        clipped = want[["low", "high"]].clip(0, 100)
        np.testing.assert_allclose(band[["low", "high"]], clipped, rtol=1e-9)
    assert len(faint_lines(ax)) == 6
    assert out.notes[0].startswith("lines: mean over 3 seeds per setting")


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
            "collapse_integrated": [1.0, 0.9, 0.2],
        }
    )
    out = fig7.render(
        runs, LAM, tmp_path, expected=[10.0, 1.0, 0.1, 0.01], dpi=DPI, unconverged=["b"]
    )
    check_image(out, "fig7")
    (ax,) = out.info["axes"]
    assert ax["xscale"] == "log" and ax["xlabel"] == LABELS["sigma2"]
    assert ax["ylabel"] == LABELS["latents"]
    labels = [label for _, label, _ in fig7.MEASURES]
    assert ax["legend"] == [fig7.THEORY, fig7.UNCONVERGED, *labels]
    assert out.missing == ["σ²=0.01"]
    assert fig7.predicted_live(LAM, [10.0, 2.5, 1.0, 0.1], 2).tolist() == [0, 1, 2, 2]
    assert out.notes == [
        "markers: one seed per setting (no interval)",
        "crossed out: 1 runs not converged",
    ]
    # run b is crossed out at each measure's value: 3·(1 − 0.6), 1 active unit, 3·(1 − 0.9)
    crosses = [line for line in out.figure.axes[0].lines if line.get_marker() == "x"]
    crossed = sorted(float(y) for line in crosses for y in line.get_ydata())
    assert crossed == pytest.approx([0.3, 1.0, 1.2])


def test_fig7_marks_the_seed_mean_with_its_t_interval_and_each_seed(tmp_path: Path) -> None:
    runs = pd.DataFrame(
        {
            "run_dir": [f"{s}/{seed}" for s in (10.0, 1.0) for seed in range(3)] + ["c/0"],
            "sigma2": [10.0] * 3 + [1.0] * 3 + [0.1],
            "status": "completed",
            "latent_dim": 3,
            "active_units": [0, 1, 0, 1, 2, 2, 3],
            "collapsed_fraction": [1.0, 0.7, 0.9, 0.6, 0.3, 0.4, 0.0],
            "collapse_integrated": [1.0, 0.9, 0.95, 0.8, 0.5, 0.6, 0.1],
        }
    )
    out = fig7.render(runs, LAM, tmp_path, dpi=DPI)
    (ax,) = out.figure.axes
    runs["alive"] = 3 * (1 - runs["collapsed_fraction"])
    runs["integrated"] = 3 * (1 - runs["collapse_integrated"])
    columns = [column for column, _, _ in fig7.MEASURES]
    for container, column in zip(ax.containers, columns, strict=True):
        want = seed_summary(runs, ["sigma2"], column)
        marker, _, (bars,) = container.lines
        assert marker.get_ydata() == pytest.approx(want["mean"].to_numpy(), rel=1e-12)
        drawn = [[seg[0][1], seg[1][1]] for seg in bars.get_segments() if len(seg)]
        reference = want.dropna()  # σ² = 0.1 has one run: no bar
        # a count of the k = 3 latents: its bar stops at 0 and 3
        np.testing.assert_allclose(drawn, reference[["low", "high"]].clip(0, 3), rtol=1e-9)
    faint = [line for line in ax.lines if line.get_alpha() == SEED_MARKER["alpha"]]
    assert [len(line.get_xdata()) for line in faint] == [len(runs)] * 3  # every run, per measure
    assert out.notes[0].startswith("markers: mean over 1–3 seeds per setting; error bars: 95%")


def test_fig8_draws_the_seed_mean_of_each_rule_and_initial_sigma2(tmp_path: Path) -> None:
    steps = np.arange(0, 110, 10)
    parts = []
    for rule in ("learned", "optimal"):
        for init in (10.0, 0.1):
            for seed in range(3):
                rng = np.random.default_rng(seed)
                trace = init * np.exp(-steps / 50) + 0.05 + rng.uniform(0, 0.02, len(steps))
                metrics = {"sigma2": trace, "sigma2_optimal": trace / 2, "active_units": 2 + seed}
                for metric, value in metrics.items():
                    parts.append(
                        pd.DataFrame({"step": steps, "value": value}).assign(
                            run_dir=f"{rule}/{init}/{seed}",
                            sigma2=init,
                            sigma2_rule=rule,
                            metric=metric,
                        )
                    )
    curves = pd.concat(parts, ignore_index=True)
    out = fig8.render(curves, 0.05, tmp_path, expected=(10.0, 0.1), dpi=DPI)
    top_learned = out.figure.axes[0]
    learned = curves.loc[curves["sigma2_rule"] == "learned"]
    for metric, style in (("sigma2", "-"), ("sigma2_optimal", ":")):
        want = learned.loc[learned["metric"] == metric].groupby(["sigma2", "step"])["value"]
        drawn = [line for line in mean_lines(top_learned) if line.get_linestyle() == style]
        for line, init in zip(drawn, (10.0, 0.1), strict=True):  # largest initial σ² first
            assert line.get_ydata() == pytest.approx(want.mean()[init].to_numpy(), rel=1e-12)
    assert [line.get_label() for line in mean_lines(top_learned)][::2] == ["σ²₀ = 10", "σ²₀ = 0.1"]
    assert len(faint_lines(top_learned)) == 6 and out.missing == []
    assert out.notes[0].startswith("lines: mean over 3 seeds per setting")


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
    assert fixed["elbo_n"] == 2 and fixed["elbo_mean"] == pytest.approx(-305.0)
    assert fixed["elbo_sd"] == pytest.approx(np.std([-300.0, -310.0], ddof=1))
    assert fixed["collapse_pct_eps0.01_mean"] == pytest.approx(85.0)
    assert set(csv["setting"]) == {"fixed σ²", "learned σ²", "KL annealing (fixed σ²)"}
    learned = csv.loc[csv["setting"] == "learned σ²"].iloc[0]  # one seed: n = 1, no sd
    assert learned["elbo_n"] == 1 and np.isnan(learned["elbo_sd"])
    md = (tmp_path / "table1.md").read_text()
    assert "| setting | dataset | sigma2 |" in md and "learned σ², σ²=10" in md
    assert "| -305 ± 7.1 (n=2) |" in md and "| -250 ± – (n=1) |" in md
    assert out.missing == ["learned σ², σ²=10", "run x (incomplete)"]


def test_table1_cells_are_mean_sd_and_n_over_seeds(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    settings = [("gaussian_fixed", 10.0), ("gaussian_fixed", 1.0), ("gaussian_learned", 1.0)]
    runs = pd.DataFrame(
        [
            {
                "run_dir": f"{lik}/{s2}/{seed}",
                "dataset": "digits",
                "likelihood": lik,
                "sigma2": s2,
                "kl_anneal_steps": 0,
                "status": "completed",
                "step": 1000 + 10 * seed,
                "seed": seed,
                "elbo": rng.normal(-300, 5),
                "elbo_test": np.nan if seed == 2 else rng.normal(-310, 5),
                "collapsed_fraction": rng.uniform(),
                "active_units": rng.integers(0, 10),
            }
            for lik, s2 in settings
            for seed in range(3)
        ]
    )
    table1.render(runs, tmp_path)
    csv = pd.read_csv(tmp_path / "table1.csv").set_index(["setting", "sigma2"])
    runs["collapse_pct"] = 100 * runs["collapsed_fraction"]
    runs["setting"] = runs["likelihood"].str.removeprefix("gaussian_") + " σ²"
    reference = runs.groupby(["setting", "sigma2"])
    shown_as = {"elbo": "elbo", "elbo_test": "elbo_test", "collapse_pct": "collapse_pct_eps0.01"}
    for column, shown in {**shown_as, "active_units": "active_units"}.items():
        want = reference[column].agg(["mean", "std", "count"])
        got = csv[[f"{shown}_mean", f"{shown}_sd", f"{shown}_n"]].loc[want.index]
        np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-12)
    assert (csv["elbo_test_n"] == 2).all() and (csv["elbo_n"] == 3).all()
    # the train − test gap is summarised per run, over the runs that have both ELBOs
    gap = (runs["elbo"] - runs["elbo_test"]).groupby([runs["setting"], runs["sigma2"]])
    want = gap.agg(["mean", "std", "count"])
    got = csv[["elbo_train_minus_test_mean", "elbo_train_minus_test_sd"]].loc[want.index]
    np.testing.assert_allclose(got.to_numpy(float), want[["mean", "std"]].to_numpy(float))
    assert (csv.loc[want.index, "elbo_train_minus_test_n"] == 2).all()
    assert (csv["steps"] == 1000).all()  # the shortest seed
    md = (tmp_path / "table1.md").read_text()
    cell = table1.mean_sd_cell(*csv.loc[("fixed σ²", 10.0), ["elbo_mean", "elbo_sd", "elbo_n"]])
    assert cell.endswith("(n=3)") and f"| {cell} |" in md
    assert "mean ± sample sd over seeds" in md


def test_bad_input_names_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="landscape lacks columns"):
        fig1.render(pd.DataFrame({"a": [0.0]}), tmp_path)
    with pytest.raises(ValueError, match="mle"):
        fig3.render(train_curves({"analytic": ""}, "objective"), float("nan"), tmp_path)
    with pytest.raises(ValueError, match=r"curves lacks columns \['run_dir'\]"):
        fig5.render(collapse_table([1.0]).drop(columns="run_dir"), tmp_path)
    assert describe(None) == {"axes": [], "texts": []}
