"""Figure 1: the pPCA log-likelihood around a zero column of W, for two values of σ².

Input: the table of ``linear_vae.landscape`` — columns ``sigma2_label`` (optional), ``sigma2``,
``a``, ``b`` (coefficients of the column along two eigenvectors) and ``log_likelihood``
[nats per example]. The origin is a saddle while σ² is below the directions' eigenvalues and a
local maximum once σ² exceeds them (collapse as a stable optimum).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from paper_figures.common import missing_values, require_columns
from paper_figures.theme import LABELS, Rendered, fmt_value, new_figure, note_missing, savefig

COLUMNS = ("sigma2", "a", "b", "log_likelihood")


def combine(panels: Mapping[str, tuple[float, pd.DataFrame]]) -> pd.DataFrame:
    """Stack ``{label: (σ², linear_vae.landscape(...) table)}`` into the input of :func:`render`
    (adds columns ``sigma2_label`` and ``sigma2``)."""
    parts = []
    for label, (s2, df) in panels.items():
        require_columns(df, ["a", "b", "log_likelihood"], f"panels[{label!r}]", "landscape()")
        parts.append(df.assign(sigma2_label=str(label), sigma2=float(s2)))
    if not parts:
        raise ValueError("panels is empty; pass {label: (sigma2, landscape table)}.")
    return pd.concat(parts, ignore_index=True)


def _panels(landscape: pd.DataFrame) -> list[tuple[str, float, pd.DataFrame]]:
    """(label, σ², grid with index b and columns a) for each σ² in the table, by σ²."""
    df = landscape.copy()
    if "sigma2_label" not in df.columns:
        df["sigma2_label"] = [f"σ² = {fmt_value(s)}" for s in df["sigma2"]]
    out = []
    for (label, s2), grp in df.groupby(["sigma2_label", "sigma2"], sort=False):
        grid = grp.pivot_table(index="b", columns="a", values="log_likelihood", aggfunc="mean")
        out.append((str(label), float(s2), grid.sort_index().sort_index(axis=1)))
    return sorted(out, key=lambda p: p[1])


def origin_type(grid: pd.DataFrame) -> str:
    """'local maximum', 'saddle' or 'local minimum' of the surface at a = b = 0 (in this plane),
    from the signs of the second differences along a and along b at the grid point nearest 0."""
    a, b = grid.columns.to_numpy(float), grid.index.to_numpy(float)
    i, j = int(np.argmin(np.abs(b))), int(np.argmin(np.abs(a)))
    if not (0 < i < len(b) - 1 and 0 < j < len(a) - 1):
        return "unknown (origin on the grid edge)"
    z = grid.to_numpy(float)
    curv_a = z[i, j - 1] + z[i, j + 1] - 2 * z[i, j]
    curv_b = z[i - 1, j] + z[i + 1, j] - 2 * z[i, j]
    if curv_a < 0 and curv_b < 0:
        return "local maximum"
    if curv_a > 0 and curv_b > 0:
        return "local minimum"
    return "saddle"


def origin_types(landscape: pd.DataFrame) -> dict[str, str]:
    """:func:`origin_type` for each σ² panel, keyed by its label."""
    require_columns(landscape, COLUMNS, "landscape", "linear_vae.landscape() output")
    return {label: origin_type(grid) for label, _, grid in _panels(landscape)}


def render(
    landscape: pd.DataFrame,
    out_dir: str | os.PathLike,
    expected: Sequence[float] | None = None,
    dpi: int = 150,
) -> Rendered:
    """Draw one contour panel per σ² side by side; write fig1.png/.pdf; return the paths.

    ``expected``: σ² values that should be present (absent ones are listed and noted).
    """
    require_columns(landscape, COLUMNS, "landscape", "linear_vae.landscape() output")
    panels = _panels(landscape)
    if not panels:
        raise ValueError("landscape has no rows; pass the output of linear_vae.landscape().")
    missing = missing_values([p[1] for p in panels], expected, "σ²=")
    fig, axes = new_figure(len(panels), width=4.0, height=3.4)
    for ax, (label, _s2, grid) in zip(axes, panels, strict=True):
        a, b, z = grid.columns.to_numpy(float), grid.index.to_numpy(float), grid.to_numpy(float)
        filled = ax.contourf(a, b, z, levels=20, cmap="viridis")
        ax.contour(a, b, z, levels=10, colors="white", linewidths=0.4)
        fig.colorbar(filled, ax=ax, label=LABELS["loglik"])
        ax.plot([0], [0], marker="x", color="red", markersize=7, label="zero column (collapsed)")
        ax.set_title(f"{label}: origin is a {origin_type(grid)}")
        ax.set_xlabel("a: weight along eigenvector u_i [data units]")
        ax.set_ylabel("b: weight along eigenvector u_j [data units]")
        ax.legend(loc="upper right", fontsize=6)
    note_missing(fig, missing)
    return Rendered(savefig(fig, out_dir, "fig1", dpi=dpi), fig, missing)
