"""The figure registry: which experiment each figure draws, its title, the claim definitions it
is judged by, how it is drawn.

``python -m lucas2019.reproduce`` runs the experiments of :data:`DEFAULT_EXPERIMENTS` (those of
the default figures; ``--only`` takes any of :data:`EXPERIMENTS`, both derived from
:data:`FIGURES`) and writes one index.md entry per figure whose experiment has runs. Adding a
figure is a module in paper_figures/ (``render``), its definitions in the claims table
(:mod:`paper_figures.claims`) and one :class:`Figure` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np
import pandas as pd

from lucas2019 import results
from paper_figures import fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8, fig9, table1, verdicts
from paper_figures.claims import DEFINITIONS, Definition
from paper_figures.index import IndexEntry
from paper_figures.judging import ClaimNumbers


@dataclass(frozen=True)
class Inputs:
    """What the figures are drawn from.

    Attributes:
        analytic: the folder of the analytic tables (``python -m lucas2019.analytic``).
        eigenvalues: the training data's covariance eigenvalues (spectrum.csv), descending.
        by_k: Figure 2's table (likelihood_vs_k.csv).
        runs: experiment name -> its ``collect_runs`` table, for the experiments with runs.
        ppca_mle: runs -> the learned-σ² pPCA row of ``by_k`` at the runs' latent size
            (``n_latent``, ``sigma2`` [data units²], ``log_likelihood`` [nats per example]).
    """

    analytic: Path
    eigenvalues: np.ndarray
    by_k: pd.DataFrame
    runs: Mapping[str, pd.DataFrame]
    ppca_mle: Callable[[pd.DataFrame], pd.Series]


class Drawn(NamedTuple):
    """A figure's index.md material: its render's paths (a ``Rendered``), the numbers of its
    verdicts and notes."""

    paths: Sequence[Path]
    verdicts: Sequence[ClaimNumbers] = ()
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class Figure:
    """One registry entry.

    Attributes:
        title: its heading in index.md.
        definitions: the keys of the claims-table definitions its verdicts apply, in order.
        experiment: the sweep it draws (a conf/experiment preset), or None for the figures drawn
            from the analytic tables alone.
        draw: ``draw(inputs, runs, out_dir, definitions) -> Drawn``; ``runs`` is the
            experiment's table (None for analytic figures), ``definitions`` those named above.
        default: whether ``reproduce`` runs its experiment without ``--only`` (False for a
            figure whose sweep the default job's time budget leaves out).
    """

    title: str
    definitions: tuple[str, ...]
    experiment: str | None
    draw: Callable[[Inputs, pd.DataFrame | None, Path, tuple[Definition, ...]], Drawn]
    default: bool = True

    def __post_init__(self) -> None:
        unknown = [k for k in self.definitions if k not in DEFINITIONS]
        if unknown:
            raise ValueError(
                f"{self.title}: definitions {unknown} are not in the claims table; "
                f"known: {list(DEFINITIONS)}."
            )

    @property
    def claims(self) -> tuple[str, ...]:
        """The claims it tests, from its definitions."""
        return tuple(dict.fromkeys(DEFINITIONS[k].claim for k in self.definitions))


def _fig1(inputs: Inputs, _runs: None, out: Path, _definitions: tuple[Definition, ...]) -> Drawn:
    stationary = pd.read_csv(inputs.analytic / "stationary_points.csv")
    notes = [
        f"{r.sigma2_label} (σ² = {r.sigma2:.3g}): the zero column is a {r.label}"
        for r in stationary.itertuples()
    ]
    return Drawn(fig1.render(pd.read_csv(inputs.analytic / "landscape.csv"), out), notes=notes)


def _fig2(inputs: Inputs, _runs: None, out: Path, definitions: tuple[Definition, ...]) -> Drawn:
    c1, c2 = definitions
    return Drawn(
        fig2.render(inputs.by_k, out, eigenvalues=inputs.eigenvalues),
        [
            verdicts.compute_c1(inputs.by_k, c1),
            verdicts.compute_c2(inputs.by_k, inputs.eigenvalues, c2),
        ],
    )


def _training(
    module: ModuleType,
    judge: Callable[
        [pd.DataFrame, pd.DataFrame, float, tuple[Definition, ...]], list[ClaimNumbers]
    ],
    inputs: Inputs,
    runs: pd.DataFrame,
    out: Path,
    definitions: tuple[Definition, ...],
) -> Drawn:
    """Figures 3 and 4: ELBO against step, next to the pPCA MLE, judged by
    ``judge(runs, curves, mle, definitions)``."""
    mle = inputs.ppca_mle(runs)["log_likelihood"]
    curves = results.training_curves(runs)
    return Drawn(
        module.render(curves, mle, out),
        judge(runs, curves, mle, definitions),
        [f"pPCA MLE (learned σ²) = {mle:.4f} nats, training set"],
    )


def _c3_objectives(
    runs: pd.DataFrame, curves: pd.DataFrame, mle: float, definitions: tuple[Definition, ...]
) -> list[ClaimNumbers]:
    c3a, c3b = definitions
    return [
        verdicts.compute_c3a(curves, mle, c3a),
        verdicts.compute_c3b(curves, mle, c3b, noise=_objective_noise(runs)),
    ]


def _objective_noise(runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per objective, the spread of the objective [nats] and of its gradient over fresh draws at
    the final parameters (result.json), averaged over the seeds that report it."""
    noise = {}
    for objective, rows in runs.groupby("objective"):
        spreads = {}
        for column, name in (
            ("objective_elbo_std", "ELBO std [nats]"),
            ("objective_grad_std", "gradient std (root of summed variances)"),
        ):
            values = pd.to_numeric(rows.get(column), errors="coerce").dropna()
            if not values.empty:
                spreads[f"{name}, mean of {len(values)} seeds"] = float(values.mean())
        if spreads:
            noise[str(objective)] = spreads
    return noise


def _c3_encoders(
    _runs: pd.DataFrame, curves: pd.DataFrame, mle: float, definitions: tuple[Definition, ...]
) -> list[ClaimNumbers]:
    (c3a,) = definitions
    return [verdicts.compute_c3_encoders(curves, mle, fig4.EXPECTED, c3a)]


def _swept_sigma2(runs: pd.DataFrame) -> list[float]:
    """The σ² values the runs were configured with, largest first: those a figure expects."""
    return sorted(pd.to_numeric(runs["sigma2"], errors="coerce").dropna().unique(), reverse=True)


#: where the collapse figures' numbers come from
TRAINING_SET_NOTE = (
    "collapse, ELBO and MI are measured on the training set; the verdicts give the held-out "
    "numbers beside them"
)


def _fig5(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    (c4a,) = definitions
    curves = results.training_curves(runs)
    return Drawn(
        fig5.render(results.collapse_curves(runs), out, expected=_swept_sigma2(runs)),
        [verdicts.compute_c4a(runs, curves, inputs.eigenvalues, c4a)],
        [TRAINING_SET_NOTE],
    )


def _fig7(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    (c4b,) = definitions
    numbers = verdicts.compute_c4b(runs, results.training_curves(runs), inputs.eigenvalues, c4b)
    unconverged = [c.run_dir for c in numbers.convergence if not c.converged]
    return Drawn(
        fig7.render(
            runs, inputs.eigenvalues, out, expected=_swept_sigma2(runs), unconverged=unconverged
        ),
        [numbers],
        [TRAINING_SET_NOTE],
    )


def _fig6(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    (c5,) = definitions
    # C5 compares the learned-σ² runs with the fixed-σ² ones where those ran
    fixed = inputs.runs.get("fig5_fixed_sigma")
    both = pd.concat([r for r in (fixed, runs) if r is not None], ignore_index=True)
    curves = results.training_curves(both)
    return Drawn(
        fig6.render(results.collapse_curves(runs), out, expected=_swept_sigma2(runs)),
        [verdicts.compute_c5(both, curves, c5, inputs.eigenvalues)],
        [TRAINING_SET_NOTE],
    )


def _table1(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    c5, c6 = definitions
    curves = results.training_curves(runs)
    return Drawn(
        table1.render(runs, out),
        [
            verdicts.compute_c5(runs, curves, c5, inputs.eigenvalues),
            verdicts.compute_c6(runs, curves, c6, inputs.eigenvalues),
        ],
    )


def _fig8(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    (c7,) = definitions
    mle = inputs.ppca_mle(runs)
    curves = results.training_curves(runs)
    k = int(mle["n_latent"])
    return Drawn(
        fig8.render(curves, mle["sigma2"], out, mle_label=f"pPCA σ²_MLE (k = {k})"),
        [verdicts.compute_c7(runs, curves, c7, inputs.eigenvalues)],
        [f"linear theory: pPCA σ²_MLE = {mle['sigma2']:.4g} at k = {k}"],
    )


def _fig9(
    inputs: Inputs, runs: pd.DataFrame, out: Path, definitions: tuple[Definition, ...]
) -> Drawn:
    (c8,) = definitions
    # C8 judges the mitigation runs against the plain fixed-σ² runs of Figure 5; the learned-σ²
    # runs of Figure 6 are drawn beside them
    plain, learned = (inputs.runs.get(n) for n in ("fig5_fixed_sigma", "fig6_learned_sigma"))
    judged = pd.concat([r for r in (runs, plain) if r is not None], ignore_index=True)
    numbers = verdicts.compute_c8(judged, results.training_curves(judged), c8, inputs.eigenvalues)
    unconverged = [c.run_dir for c in numbers.convergence if not c.converged]
    drawn = pd.concat([r for r in (judged, learned) if r is not None], ignore_index=True)
    notes = [
        "live latents, active units and MI are measured on the training set, log p(x) "
        "(importance-weighted) on the held-out set"
    ]
    if plain is None:
        notes.append("no fig5_fixed_sigma runs: `--only fig5_fixed_sigma` runs the reference")
    return Drawn(fig9.render(drawn, out, unconverged=unconverged), [numbers], notes)


# In index.md order.
FIGURES: tuple[Figure, ...] = (
    Figure("Figure 1: pPCA landscape around a zero column", (), None, _fig1),
    Figure("Figure 2: log marginal likelihood against k", ("C1/fig2", "C2/fig2"), None, _fig2),
    Figure(
        "Figure 3: linear VAE training",
        ("C3a/fig3", "C3b/fig3"),
        "fig3_linear_vae",
        partial(_training, fig3, _c3_objectives),
    ),
    Figure(
        "Figure 4: linear decoder, three encoders",
        ("C3a/fig4",),
        "fig4_encoders",
        partial(_training, fig4, _c3_encoders),
    ),
    Figure("Figure 5: collapse against ε, fixed σ²", ("C4a/fig5",), "fig5_fixed_sigma", _fig5),
    Figure(
        "Figure 7 (beyond the paper): linear prediction vs measured live latents",
        ("C4b/fig7",),
        "fig5_fixed_sigma",
        _fig7,
    ),
    Figure(
        "Figure 6: collapse against ε, learned σ² from each initial value",
        ("C5/fig6",),
        "fig6_learned_sigma",
        _fig6,
    ),
    Figure(
        "Table 1: fixed vs learned σ², and KL annealing",
        ("C5/table1", "C6/table1"),
        "table1",
        _table1,
    ),
    Figure(
        "Figure 8 (beyond the paper): σ² trajectories under each σ² rule",
        ("C7/fig8",),
        "sigma2_dynamics",
        _fig8,
    ),
    Figure(
        "Figure 9 (beyond the paper): each collapse mitigation's held-out log p(x) advantage over "
        "the plain fixed-σ² frontier",
        ("C8/fig9",),
        "mitigations",
        _fig9,
        default=False,  # 4 mitigations × 3 σ² × seeds: beyond the default job's time budget
    ),
)
# The experiments reproduce can run, in this order: each figure's, once.
EXPERIMENTS: tuple[str, ...] = tuple(
    dict.fromkeys(f.experiment for f in FIGURES if f.experiment is not None)
)
# Those it runs without --only: the experiments of the default figures.
DEFAULT_EXPERIMENTS: tuple[str, ...] = tuple(
    dict.fromkeys(f.experiment for f in FIGURES if f.experiment is not None and f.default)
)


def index_entries(inputs: Inputs, out_dir: Path) -> list[IndexEntry]:
    """Draw every figure whose experiment has runs (and the analytic ones) into ``out_dir``;
    one index.md entry each, in :data:`FIGURES` order."""
    entries = []
    for figure in FIGURES:
        runs = None if figure.experiment is None else inputs.runs.get(figure.experiment)
        if figure.experiment is not None and runs is None:
            continue
        definitions = tuple(DEFINITIONS[k] for k in figure.definitions)
        drawn = figure.draw(inputs, runs, out_dir, definitions)
        entries.append(
            IndexEntry(
                figure.title,
                drawn.paths,
                figure.claims,
                drawn.verdicts,
                notes=[*getattr(drawn.paths, "notes", []), *drawn.notes],  # the band's caption
            )
        )
    return entries
