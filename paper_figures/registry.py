"""The figure registry: which experiments each figure reads, its title, the claim definitions it
is judged by, how it is drawn.

``python -m lucas2019.reproduce`` runs the experiments of :data:`DEFAULT_EXPERIMENTS` (those of
the default figures; ``--only`` takes any of :data:`EXPERIMENTS`, both derived from
:data:`FIGURES`) and writes one index.md entry per figure whose experiment has runs. Each entry's
verdicts come from its definitions' own computations
(:attr:`~paper_figures.claims.schema.Definition.compute`), called on the figure's
:class:`~paper_figures.claims.evidence.Evidence`. Adding a figure is a module in paper_figures/
(``render``) and one :class:`Figure` here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pandas as pd

from lucas2019 import results
from paper_figures import fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8, fig9, table1
from paper_figures.claims.deciding import decide
from paper_figures.claims.evidence import Evidence, Inputs
from paper_figures.claims.judging import ClaimNumbers
from paper_figures.claims.table import DEFINITIONS
from paper_figures.index import IndexEntry

__all__ = ["DEFAULT_EXPERIMENTS", "EXPERIMENTS", "FIGURES", "Drawn", "Figure", "Inputs"]


class Drawn(NamedTuple):
    """A figure's index.md material besides its verdicts: its render's paths (a ``Rendered``)
    and notes."""

    paths: Sequence[Path]
    notes: Sequence[str] = ()


#: ``draw(evidence, runs, verdicts, out_dir) -> Drawn``: ``runs`` is the figure's own experiment's
#: table (None for analytic figures), ``verdicts`` the numbers of its definitions, in order
Draw = Callable[[Evidence, pd.DataFrame | None, Sequence[ClaimNumbers], Path], Drawn]


@dataclass(frozen=True)
class Figure:
    """One registry entry.

    Attributes:
        title: its heading in index.md.
        definitions: the keys of the claims-table definitions its verdicts apply, in order.
        experiment: the sweep it draws (a conf/experiment preset), or None for the figures drawn
            from the analytic tables alone; the figure is drawn when this one has runs.
        draw: how it is drawn (:data:`Draw`).
        reads: the other experiments its verdicts and drawing read, after its own (their rows
            follow the experiment's in the evidence).
        default: whether ``reproduce`` runs its experiment without ``--only`` (False for a
            figure whose sweep the default job's time budget leaves out).
    """

    title: str
    definitions: tuple[str, ...]
    experiment: str | None
    draw: Draw
    reads: tuple[str, ...] = ()
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

    def evidence(self, inputs: Inputs) -> Evidence:
        """What its verdicts read: the rows of its experiment and of those it ``reads`` that have
        runs, in that order."""
        if self.experiment is None:
            return Evidence(inputs)
        if not self.reads:
            return Evidence(inputs, inputs.runs.get(self.experiment))
        names = (self.experiment, *self.reads)
        tables = [inputs.runs[n] for n in names if n in inputs.runs]
        return Evidence(inputs, pd.concat(tables, ignore_index=True) if tables else None)


def _fig1(evidence: Evidence, _runs: None, _verdicts: Sequence[ClaimNumbers], out: Path) -> Drawn:
    analytic = evidence.inputs.analytic
    stationary = pd.read_csv(analytic / "stationary_points.csv")
    notes = [
        f"{r.sigma2_label} (σ² = {r.sigma2:.3g}): the zero column is a {r.label}"
        for r in stationary.itertuples()
    ]
    return Drawn(fig1.render(pd.read_csv(analytic / "landscape.csv"), out), notes)


def _fig2(evidence: Evidence, _runs: None, _verdicts: Sequence[ClaimNumbers], out: Path) -> Drawn:
    return Drawn(fig2.render(evidence.by_k, out, eigenvalues=evidence.eigenvalues))


def _training(
    module: ModuleType,
    evidence: Evidence,
    _runs: pd.DataFrame,
    _verdicts: Sequence[ClaimNumbers],
    out: Path,
) -> Drawn:
    """Figures 3 and 4: ELBO against step, next to the pPCA MLE."""
    mle = evidence.mle["log_likelihood"]
    return Drawn(
        module.render(evidence.curves, mle, out),
        [f"pPCA MLE (learned σ²) = {mle:.4f} nats, training set"],
    )


def _swept_sigma2(runs: pd.DataFrame) -> list[float]:
    """The σ² values the runs were configured with, largest first: those a figure expects."""
    return sorted(pd.to_numeric(runs["sigma2"], errors="coerce").dropna().unique(), reverse=True)


def _unconverged(verdicts: Sequence[ClaimNumbers]) -> list[str]:
    """The run folders a figure's verdicts found unconverged."""
    return [c.run_dir for numbers in verdicts for c in numbers.convergence if not c.converged]


#: where the collapse figures' numbers come from
TRAINING_SET_NOTE = (
    "collapse, ELBO and MI are measured on the training set; the verdicts give the held-out "
    "numbers beside them"
)


def _collapse(
    module: ModuleType,
    _evidence: Evidence,
    runs: pd.DataFrame,
    _verdicts: Sequence[ClaimNumbers],
    out: Path,
) -> Drawn:
    """Figures 5 and 6: collapse against ε, one curve per σ²."""
    rendered = module.render(results.collapse_curves(runs), out, expected=_swept_sigma2(runs))
    return Drawn(rendered, [TRAINING_SET_NOTE])


def _fig7(
    evidence: Evidence, runs: pd.DataFrame, verdicts: Sequence[ClaimNumbers], out: Path
) -> Drawn:
    rendered = fig7.render(
        runs,
        evidence.eigenvalues,
        out,
        expected=_swept_sigma2(runs),
        unconverged=_unconverged(verdicts),
    )
    return Drawn(rendered, [TRAINING_SET_NOTE])


def _table1(
    _evidence: Evidence, runs: pd.DataFrame, _verdicts: Sequence[ClaimNumbers], out: Path
) -> Drawn:
    return Drawn(table1.render(runs, out))


def _fig8(
    evidence: Evidence, _runs: pd.DataFrame, _verdicts: Sequence[ClaimNumbers], out: Path
) -> Drawn:
    mle = evidence.mle
    k = int(mle["n_latent"])
    return Drawn(
        fig8.render(evidence.curves, mle["sigma2"], out, mle_label=f"pPCA σ²_MLE (k = {k})"),
        [f"linear theory: pPCA σ²_MLE = {mle['sigma2']:.4g} at k = {k}"],
    )


def _fig9(
    evidence: Evidence, _runs: pd.DataFrame, verdicts: Sequence[ClaimNumbers], out: Path
) -> Drawn:
    # the evidence holds the mitigation runs, the plain fixed-σ² runs of Figure 5 that C8 judges
    # them against, and the learned-σ² runs of Figure 6 drawn beside them
    notes = [
        "live latents, active units and MI are measured on the training set, log p(x) "
        "(importance-weighted) on the held-out set"
    ]
    if "fig5_fixed_sigma" not in evidence.inputs.runs:
        notes.append("no fig5_fixed_sigma runs: `--only fig5_fixed_sigma` runs the reference")
    return Drawn(fig9.render(evidence.runs, out, unconverged=_unconverged(verdicts)), notes)


# In index.md order.
FIGURES: tuple[Figure, ...] = (
    Figure("Figure 1: pPCA landscape around a zero column", (), None, _fig1),
    Figure("Figure 2: log marginal likelihood against k", ("C1/fig2", "C2/fig2"), None, _fig2),
    Figure(
        "Figure 3: linear VAE training",
        ("C3a/fig3", "C3b/fig3"),
        "fig3_linear_vae",
        partial(_training, fig3),
    ),
    Figure(
        "Figure 4: linear decoder, three encoders",
        ("C3a/fig4",),
        "fig4_encoders",
        partial(_training, fig4),
    ),
    Figure(
        "Figure 5: collapse against ε, fixed σ²",
        ("C4a/fig5",),
        "fig5_fixed_sigma",
        partial(_collapse, fig5),
    ),
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
        partial(_collapse, fig6),
        reads=("fig5_fixed_sigma",),  # C5 pairs the learned-σ² runs with the fixed-σ² ones
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
        reads=("fig5_fixed_sigma", "fig6_learned_sigma"),
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


def entry(figure: Figure, inputs: Inputs, out_dir: Path) -> IndexEntry | None:
    """Draw ``figure`` into ``out_dir`` with each verdict computed by its definition's
    computation on the figure's evidence; its index.md entry, or None when its experiment has no
    runs."""
    runs = None if figure.experiment is None else inputs.runs.get(figure.experiment)
    if figure.experiment is not None and runs is None:
        return None
    evidence = figure.evidence(inputs)
    verdicts = [decide(d, evidence) for d in map(DEFINITIONS.get, figure.definitions)]
    drawn = figure.draw(evidence, runs, verdicts, out_dir)
    notes = [*getattr(drawn.paths, "notes", []), *drawn.notes]  # the band's caption first
    return IndexEntry(figure.title, drawn.paths, figure.claims, verdicts, notes=notes)


def index_entries(inputs: Inputs, out_dir: Path) -> list[IndexEntry]:
    """:func:`entry` of every figure whose experiment has runs (and of the analytic ones), in
    :data:`FIGURES` order."""
    entries = (entry(figure, inputs, out_dir) for figure in FIGURES)
    return [e for e in entries if e is not None]
