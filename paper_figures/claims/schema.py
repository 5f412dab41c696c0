"""The claims table's types: a :class:`Claim` with its :class:`Definition` of each verdict, and
the criteria, requirements, parameters and convergence rule a definition is made of.

A definition also names its computation (``compute``: evidence in, the numbers behind the
verdict out); that link is not part of the table's fingerprint
(:func:`paper_figures.claims.table.table_hash`), which covers what a verdict means, not the code
that computes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paper_figures.claims.measures import MEASURES

if TYPE_CHECKING:
    from paper_figures.claims.evidence import Evidence
    from paper_figures.claims.judging import ClaimNumbers

REPRODUCTION = "reproduction"
IMPLEMENTATION_CHECK = "implementation check"
BEYOND_THE_PAPER = "beyond the paper"
KINDS = (REPRODUCTION, IMPLEMENTATION_CHECK, BEYOND_THE_PAPER)
#: a criterion's direction: the statistic must stand in this relation to the threshold
DIRECTIONS = (">", ">=", "<", "<=")


#: a definition's computation: the evidence a figure reads in, its verdict's numbers out
Computation = Callable[["Evidence", "Definition"], "ClaimNumbers"]


@dataclass(frozen=True)
class Criterion:
    """One per-seed statistic (``statistic``, what it is in ``meaning``, with units) and the side
    of ``threshold`` on which the claim holds (``direction``: ``statistic direction threshold``).

    ``bounds``: the values the statistic can take (its interval over seeds is clipped to them;
    None: unbounded). ``per_latent``: the statistic counts latents as a share of k, so it is
    known only to one latent, 1/k (the interval adds that rounding's variance, Sheppard's
    correction, so identical seeds do not give an interval of zero width)."""

    statistic: str
    meaning: str
    direction: str
    threshold: float
    reason: str
    bounds: tuple[float, float] | None = None
    per_latent: bool = False

    def __post_init__(self) -> None:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(
                f"criterion {self.statistic!r}: bounds must be (low, high) with low < high, "
                f"got {self.bounds!r}."
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"criterion {self.statistic!r}: direction must be one of {DIRECTIONS}, "
                f"got {self.direction!r}."
            )

    def text(self) -> str:
        """e.g. 'spearman_sigma2 ≥ 0.9'."""
        symbol = {">=": "≥", "<=": "≤"}.get(self.direction, self.direction)
        return f"{self.statistic} {symbol} {self.threshold:g}"


@dataclass(frozen=True)
class Requirement:
    """A part of a claim (e.g. 'rises'): met when every criterion of one of its ``ways`` is."""

    name: str
    ways: tuple[tuple[Criterion, ...], ...]


def requires(name: str, *criteria: Criterion) -> Requirement:
    """A requirement met in one way: every one of ``criteria``."""
    return Requirement(name, (tuple(criteria),))


def either(name: str, *ways: tuple[Criterion, ...]) -> Requirement:
    """A requirement met in any of several ``ways`` (each a tuple of criteria, all needed)."""
    return Requirement(name, tuple(ways))


@dataclass(frozen=True)
class Parameter:
    """A number a statistic is computed with (not a threshold the verdict compares against)."""

    name: str
    value: float
    reason: str


@dataclass(frozen=True)
class Convergence:
    """How far a run read by a verdict may still move, judged on its metrics.csv, and whether
    that movement could change the verdict.

    Each run's *band*: over the last ``window`` share of its logged steps its measure moved by
    Δ (the change of its metrics.csv curve from the window's first logged step to the last); it
    may still move by ``band_factor`` × Δ in the same direction (a measure counting latents
    rounded up to whole latents, and kept within its bounds). The verdict's statistics are
    computed again with each run at the far end of its band, alone and all together; the verdict
    holds or fails only when every one of those outcomes is the same. With ``escape_factor``
    (not None), a run escapes its collapsed start at the first evaluation where the closed-form
    optimal σ² (the E_q squared error per dimension) is below ``escape_factor`` × the data's total
    variance per dimension; a run that never escaped although the linear theory has live latents
    at its σ² (#{λ_i > σ²} > 0) is still on the collapsed start: it blocks the verdict.
    """

    window: Parameter
    band_factor: Parameter
    escape_factor: Parameter | None = None

    def parameters(self) -> tuple[Parameter, ...]:
        """Every parameter that is set, in declaration order."""
        named = (self.window, self.band_factor, self.escape_factor)
        return tuple(p for p in named if p is not None)


@dataclass(frozen=True)
class Definition:
    """How one verdict on a claim is computed.

    Attributes:
        key: '<claim>/<figure>', e.g. 'C4/fig7'.
        judged_on: the runs or tables it reads.
        measure: the primary measure the statistics are computed from (a :data:`MEASURES` name),
            and ``measure_reason``.
        requirements: all must be met for the claim to hold (see :class:`Requirement`).
        min_steps: runs shorter than this [training steps] are not judged; ``min_steps_reason``.
        min_seeds: fewer judged seeds than this give "cannot judge"; 1 for a closed-form
            computation, which has no seeds; ``min_seeds_reason``.
        parameters: numbers the statistics are computed with.
        other_measures: measures reported beside the primary one, each with the outcome the
            definition would have under it and whether that agrees.
        convergence: when a run it reads counts as converged (None: nothing is trained); a
            verdict reading an unconverged run cannot judge.
        declared: when the definition was set in its current form: the ISO 8601 UTC time of
            its entry in the log of definitions (a date alone: the end of that day, UTC).
        compute: ``compute(evidence, definition) -> ClaimNumbers``, the claim module's
            computation of this definition; not fingerprinted (:func:`fingerprinted`).
    """

    key: str
    judged_on: str
    measure: str
    measure_reason: str
    requirements: tuple[Requirement, ...]
    min_steps: int
    min_steps_reason: str
    min_seeds: int
    min_seeds_reason: str
    parameters: tuple[Parameter, ...] = ()
    other_measures: tuple[str, ...] = ()
    convergence: Convergence | None = None
    declared: str = "2026-11-29"
    compute: Computation | None = dataclasses.field(
        default=None, compare=False, repr=False, metadata={"fingerprinted": False}
    )

    def __post_init__(self) -> None:
        unknown = [m for m in (self.measure, *self.other_measures) if m not in MEASURES]
        if unknown:
            raise ValueError(
                f"{self.key}: measure must be one of {list(MEASURES)}, got {unknown[0]!r}."
            )

    @property
    def claim(self) -> str:
        """The claim id, e.g. 'C4'."""
        return self.key.split("/")[0]

    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion of every requirement, in order."""
        return tuple(c for r in self.requirements for way in r.ways for c in way)

    def parameter(self, name: str) -> float:
        """The value of parameter ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p.value
        raise KeyError(f"{self.key} has no parameter {name!r}; it has {self.parameters}.")


@dataclass(frozen=True)
class Claim:
    """A claim: ``id`` (C1-C7), one-line ``statement``, ``kind`` (see :data:`KINDS`) with its
    ``kind_reason``, and the ``definitions`` of its verdicts."""

    id: str
    statement: str
    kind: str
    kind_reason: str
    definitions: tuple[Definition, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}.")
        stray = [d.key for d in self.definitions if d.claim != self.id]
        if stray:
            raise ValueError(f"claim {self.id}: definitions {stray} belong to another claim.")


def fingerprinted(value: object) -> object:
    """``value`` as plain JSON data: a dataclass as a dict of its fields (those whose metadata
    says ``fingerprinted: False`` left out), tuples and lists as lists, anything else as is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: fingerprinted(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("fingerprinted", True)
        }
    if isinstance(value, list | tuple):
        return [fingerprinted(v) for v in value]
    return value
