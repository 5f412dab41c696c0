"""One look for every figure: Agg backend, seaborn theme, palettes, axis labels, atomic saving,
how runs over seeds are drawn (the mean with the verdicts' 95% interval, each seed faintly), and
:func:`describe`, which lists a figure's axis labels and legend entries (used by tests)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from lucas2019.io import atomic_write
from paper_figures import stats

#: axis labels with units, shared by all figures
LABELS: dict[str, str] = {
    "loglik": "log p(x) per example [nats]",
    "elbo": "ELBO per example [nats]",
    "gap": "|pPCA MLE − ELBO| [nats] (log scale)",
    "sigma2": "σ² (observation noise variance)",
    "eps": "ε [nats]",
    "collapsed": "collapsed latents [%]",
    "n_latent": "latent size k [dimensions]",
    "step": "training step [optimiser updates]",
    "latents": "latent dimensions [count]",
}
PALETTE = "colorblind"
SEQUENTIAL = "viridis"
DEFAULT_DPI = 150
#: legend to the right of the axes (saved with bbox_inches="tight")
LEGEND_OUTSIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
MLE_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.2}
#: a single seed's line or marker: thin and faint, so the mean stands out and the spread shows
SEED_LINE: dict[str, Any] = {"linewidth": 0.5, "alpha": 0.3}
SEED_MARKER: dict[str, Any] = {"markersize": 3, "alpha": 0.3, "linestyle": "none"}


def set_theme() -> None:
    """Apply the package's seaborn theme (paper context, white grid, colour-blind palette)."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE)


def new_figure(ncols: int = 1, width: float = 4.2, height: float = 3.2) -> tuple[Figure, Any]:
    """A themed figure with ``ncols`` panels side by side (each ``width`` × ``height`` inches)."""
    set_theme()
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def fmt_value(x: float) -> str:
    """Compact label for a σ² or k value, e.g. 0.001 -> '0.001', 30.0 -> '30'."""
    return f"{float(x):g}"


def log_palette(values: Iterable[float], cmap: str = SEQUENTIAL) -> dict[float, tuple]:
    """Colour for each positive value on a log scale (small = dark, large = bright)."""
    vals = sorted({float(v) for v in values})
    if not vals:
        return {}
    lo, hi = min(vals), max(vals)
    norm = LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10)
    cm = matplotlib.colormaps[cmap]
    return {v: cm(0.9 * norm(v)) for v in vals}


def interval_bounds(values: Any, bounds: tuple[float, float] | None = None) -> tuple[float, float]:
    """``(low, high)`` of :func:`paper_figures.stats.mean_interval` over the finite ``values``
    (one per seed): the interval the verdicts judge by, clipped to ``bounds`` (the values the
    quantity can take, e.g. (0, 100) for a percentage) when given; (NaN, NaN) for fewer than 2
    values.

    Seaborn's ``errorbar`` for every band, and Figure 7's error bars.
    """
    x = finite(values)
    if x.size < 2:
        return np.nan, np.nan
    interval = stats.mean_interval(x)
    if bounds is not None:
        interval = stats.clipped(interval, bounds)
    return interval.low, interval.high


def lineplot_seeds(
    ax: Axes,
    data: pd.DataFrame,
    x: str,
    y: str,
    bounds: tuple[float, float] | None = None,
    **line_kws: Any,
) -> None:
    """Each run (``data.run_dir``, one per seed) as a faint line, then the mean over runs per
    ``x`` (per hue when ``line_kws`` has one) with its :func:`interval_bounds` band, clipped to
    ``bounds`` when the quantity has them.

    ``line_kws`` go to ``seaborn.lineplot`` for both layers (``hue``, ``hue_order``, ``palette``,
    ``color``, ``linestyle``...), except ``label``, ``legend`` and ``linewidth``, which only the
    mean gets. With one run per setting there is no band and the faint line hides under the mean.
    """
    faint = {k: v for k, v in line_kws.items() if k not in ("label", "legend", "linewidth")}
    sns.lineplot(
        data=data, x=x, y=y, units="run_dir", estimator=None, legend=False, ax=ax,
        **faint, **SEED_LINE,
    )  # fmt: skip
    band = partial(interval_bounds, bounds=bounds)
    sns.lineplot(data=data, x=x, y=y, estimator="mean", errorbar=band, ax=ax, **line_kws)


def seeds_per_setting(data: pd.DataFrame, by: str | Sequence[str]) -> list[int]:
    """Number of runs (distinct ``run_dir``) in each group of ``by``, one count per group."""
    return data.groupby(by, sort=True)["run_dir"].nunique().astype(int).tolist()


def seeds_caption(counts: Iterable[int], mean_as: str = "lines", interval_as: str = "bands") -> str:
    """One sentence saying what a figure's ``mean_as`` and ``interval_as`` are, with the number
    of seeds per setting (``counts``, e.g. from :func:`seeds_per_setting`)."""
    counts = sorted({int(c) for c in counts})
    if not counts or counts[-1] <= 1:
        return f"{mean_as}: one seed per setting (no interval)"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    cut = stats.BOOTSTRAP_FROM  # the verdicts' interval switches method at this many seeds
    if counts[-1] < cut:
        method = stats.STUDENT_T
    elif counts[0] >= cut:
        method = stats.BOOTSTRAP_T
    else:
        method = f"{stats.STUDENT_T} below {cut} seeds, {stats.BOOTSTRAP_T} from {cut} on"
    return (
        f"{mean_as}: mean over {n} seeds per setting; {interval_as}: {stats.CONFIDENCE:.0%} "
        f"interval of that mean ({method}); faint: the single seeds"
    )


def note_seeds(fig: Figure, caption: str) -> None:
    """Write ``caption`` (see :func:`seeds_caption`) just above ``fig``'s top edge, where no
    title or legend sits (the saved image grows to include it)."""
    fig.text(0.01, 1.0, caption, fontsize=6, color="dimgray", va="bottom")


def note_missing(fig: Figure, missing: Sequence[str], limit: int = 8) -> None:
    """Write the list of missing runs at the bottom of ``fig`` (nothing when the list is empty)."""
    if not missing:
        return
    shown = ", ".join(missing[:limit])
    more = f" and {len(missing) - limit} more" if len(missing) > limit else ""
    fig.text(0.01, 0.005, f"missing runs: {shown}{more}", fontsize=6, color="firebrick")


def savefig(
    fig: Figure,
    out_dir: str | os.PathLike,
    stem: str,
    dpi: int = DEFAULT_DPI,
    formats: Sequence[str] = ("png", "pdf"),
) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for each format, atomically; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    paths = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        save = lambda tmp, f=fmt: fig.savefig(tmp, format=f, dpi=dpi, bbox_inches="tight")  # noqa: E731
        atomic_write(path, save)
        paths.append(path)
    plt.close(fig)
    return paths


def describe(fig: Figure | None) -> dict[str, Any]:
    """Axis labels, titles, scales and legend entries of every axes in ``fig``, plus figure texts.

    Returns ``{"axes": [{"xlabel", "ylabel", "title", "xscale", "yscale", "legend_title",
    "legend"}...], "texts": [...]}``; colour-bar axes are included (their label is the ylabel).
    """
    if fig is None:
        return {"axes": [], "texts": []}
    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        axes.append(
            {
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "title": ax.get_title(),
                "xscale": ax.get_xscale(),
                "yscale": ax.get_yscale(),
                "legend_title": legend.get_title().get_text() if legend else "",
                "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            }
        )
    return {"axes": axes, "texts": [t.get_text() for t in fig.texts]}


class Rendered(list):
    """The paths a ``render`` wrote (it *is* that ``list[Path]``), with the drawn figure,
    the missing runs (``missing``: list of str) and any notes attached."""

    def __init__(
        self,
        paths: Iterable[Path],
        figure: Figure | None = None,
        missing: Iterable[str] = (),
        notes: Iterable[str] = (),
    ) -> None:
        super().__init__(paths)
        self.figure = figure
        self.missing = list(missing)
        self.notes = list(notes)

    @property
    def info(self) -> dict[str, Any]:
        """:func:`describe` of the figure (empty for tables)."""
        return describe(self.figure)


def finite(values: Any) -> np.ndarray:
    """Float array of ``values`` with non-finite entries dropped."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]
