"""One look for every figure: Agg backend, seaborn theme, palettes, axis labels, atomic saving,
and :func:`describe`, which lists a figure's axis labels and legend entries (used by tests)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from lucas2019.io import atomic_write

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
