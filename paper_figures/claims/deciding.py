"""Whether what the runs could still do changes a verdict: convergence judged against the
decision (the definition's :class:`~paper_figures.claims.schema.Convergence`).

A definition's computation gives the outcome as the runs stand, with each run's band
(:mod:`paper_figures.claims.convergence`). :func:`decide` computes the outcome again with each
moving run at the far end of its band, alone and all together, on a copy of the evidence whose
runs table and curves carry the moved values. The verdict holds or fails only when every one of
those outcomes equals the outcome as it stands; otherwise it cannot judge, names only the runs
whose movement changes the outcome, and keeps the outcome as it stands beside its reason. A run
whose band is unknown (a curve missing at the window's first step) or that never left its
collapsed start although the linear theory has live latents at its σ² blocks it whatever its
band.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

import linear_vae
from paper_figures.claims.convergence import RunConvergence
from paper_figures.claims.evidence import Evidence
from paper_figures.claims.judging import ClaimNumbers
from paper_figures.claims.measures import BY_NAME, LATENT_DIM, Move
from paper_figures.claims.schema import Definition
from paper_figures.theme import fmt_value
from paper_figures.words import OUTCOMES

#: the runs-table columns of a learned σ²'s final value and of the configured σ²
_FINAL_SIGMA2, _SIGMA2 = "sigma2_final", "sigma2"


def decide(definition: Definition, evidence: Evidence) -> ClaimNumbers:
    """The verdict of ``definition`` on ``evidence``: its computation, then the runs that could
    change its outcome (see the module's docstring)."""
    numbers = definition.compute(evidence, definition)
    if definition.convergence is None or not numbers.convergence:
        return numbers
    # the outcome alone: no other measures, no convergence checks inside
    bare = dataclasses.replace(definition, other_measures=(), convergence=None)

    def outcome(moved: Sequence[RunConvergence]) -> bool | None:
        return bare.compute(moved_evidence(evidence, moved, definition), bare).holds

    return settle(numbers, evidence.runs, evidence.eigenvalues, outcome)


def settle(
    numbers: ClaimNumbers,
    runs: pd.DataFrame,
    eigenvalues: Sequence[float] | None,
    outcome: Callable[[Sequence[RunConvergence]], bool | None],
) -> ClaimNumbers:
    """``numbers`` with each run's ``blocks`` set and, when some run blocks, the outcome cannot
    judge (``as_it_stands`` keeps the outcome of the numbers as they are). ``runs``: the rows the
    verdict read (``run_dir``, ``sigma2``/``sigma2_final``, ``latent_dim``); ``outcome(moved)``:
    the outcome with the ``moved`` runs at the end of their bands."""
    rows = runs.drop_duplicates("run_dir").set_index("run_dir") if len(runs) else runs
    checks = [
        dataclasses.replace(c, blocks=_stuck(c, rows, eigenvalues)) for c in numbers.convergence
    ]
    stands = numbers.holds
    moving = [c for c in checks if c.moving and not c.blocks]
    changes = {c.run_dir for c in moving if outcome([c]) != stands}
    if not changes and len(moving) > 1 and outcome(moving) != stands:
        changes = {c.run_dir for c in moving}  # only together
    checks = [
        dataclasses.replace(c, blocks=_could_change(c, stands)) if c.run_dir in changes else c
        for c in checks
    ]
    blocking = [c for c in checks if c.blocks]
    if not blocking:
        return dataclasses.replace(numbers, convergence=tuple(checks))
    shown = ", ".join(f"{c.name} ({c.blocks})" for c in blocking[:3])
    more = f" and {len(blocking) - 3} more" if len(blocking) > 3 else ""
    reason = (
        f"not converged: {len(blocking)} of {len(checks)} runs could change the outcome, "
        f"{shown}{more}; as it stands it would {_verb(stands)}"
    )
    return dataclasses.replace(
        numbers,
        holds=None,
        reason="; ".join(r for r in (reason, numbers.reason) if r),
        convergence=tuple(checks),
        as_it_stands=stands,
    )


def _verb(outcome: bool | None) -> str:
    """'hold', 'fail' or 'cannot judge' for an outcome."""
    return {True: "hold", False: "fail", None: OUTCOMES[None]}[outcome]


def _could_change(check: RunConvergence, stands: bool | None) -> str:
    """Why a moving run blocks: how far it may still move."""
    moves = ", ".join(f"{column} by {fmt_value(v)}" for column, v in check.band.items() if v)
    return f"its {moves} may still move, which changes the outcome from {OUTCOMES[stands]}"


def _stuck(check: RunConvergence, rows: pd.DataFrame, eigenvalues: Sequence[float] | None) -> str:
    """Why a run blocks whatever its band ('' when it does not): an unknown band, or still on
    the collapsed start where the linear theory has live latents."""
    if check.missing:
        return check.missing
    if check.escape_step != math.inf or eigenvalues is None or check.run_dir not in rows.index:
        return ""
    row = rows.loc[check.run_dir]
    sigma2 = pd.to_numeric(row.get(_FINAL_SIGMA2, math.nan), errors="coerce")
    if not np.isfinite(sigma2):
        sigma2 = pd.to_numeric(row.get(_SIGMA2, math.nan), errors="coerce")
    k = pd.to_numeric(row.get(LATENT_DIM, math.nan), errors="coerce")
    if not (np.isfinite(sigma2) and np.isfinite(k)):
        return ""
    live = int(linear_vae.n_live(eigenvalues, float(sigma2), int(k)))
    if live == 0:
        return ""
    return (
        f"still on the collapsed start: the linear theory keeps {live} live latents at "
        f"σ²={fmt_value(float(sigma2))}"
    )


def moved_evidence(
    evidence: Evidence, moved: Sequence[RunConvergence], definition: Definition
) -> Evidence:
    """A copy of ``evidence`` with each of the ``moved`` runs at the end of its band: its
    runs-table columns moved by their bands, and its curves of the same quantities moved over
    its window (collapsed fractions kept within [0, 1])."""
    moves = {m.column: m for m in BY_NAME[definition.measure].moves}
    runs = evidence.runs.copy()
    curves = evidence.curves.copy()
    for check in moved:
        in_run = runs["run_dir"] == check.run_dir
        in_curve = (curves["run_dir"] == check.run_dir) & (curves["step"] >= check.window_start)
        for column, band in check.band.items():
            move = moves[column]
            runs.loc[in_run, column] = _moved(runs.loc[in_run, column], band, move)
            rows = in_curve & (curves["metric"] == move.curve)
            curves.loc[rows, "value"] = _moved(curves.loc[rows, "value"], band, move)
    copy = dataclasses.replace(evidence, runs=runs)
    copy.__dict__["curves"] = curves  # the cached curves, moved
    return copy


def _moved(values: pd.Series, band: float, move: Move) -> pd.Series:
    """``values`` moved by ``band``; a collapsed fraction kept within [0, 1]."""
    out = pd.to_numeric(values, errors="coerce") + band
    return out.clip(0.0, 1.0) if move.per_latent else out
