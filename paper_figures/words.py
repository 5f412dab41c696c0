"""The numbers behind a verdict (:class:`~paper_figures.judging.ClaimNumbers`) in words: one
index.md line per verdict, with each criterion's interval, method and n, or why it cannot judge."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from paper_figures.claims import Criterion, Definition, claim_of
from paper_figures.judging import ClaimNumbers, CriterionResult

OUTCOMES = {True: "holds", False: "fails", None: "cannot judge"}
_MET = {True: "met", False: "not met", None: "straddles the threshold"}


@dataclass(frozen=True)
class Verdict:
    """A verdict in words: the ``definition`` applied, ``holds`` (True / False / None = cannot
    judge) and the ``detail`` that gives the numbers behind it."""

    definition: Definition
    holds: bool | None
    detail: str

    @property
    def claim(self) -> str:
        """The claim id, e.g. 'C4'."""
        return self.definition.claim

    @property
    def statement(self) -> str:
        """The claim's one-line statement, prefixed by its kind (e.g. 'implementation check')."""
        claim = claim_of(self.definition)
        return f"{claim.kind}: {claim.statement}"

    @property
    def outcome(self) -> str:
        """'holds', 'fails' or 'cannot judge'."""
        return OUTCOMES[self.holds]

    def line(self) -> str:
        """One line: '<claim>: <kind>: <statement>: <outcome> (<detail>)'."""
        return f"{self.claim}: {self.statement}: {self.outcome} ({self.detail})"

    def __str__(self) -> str:
        return self.line()


def number(value: float) -> str:
    """Three significant digits; 'inf' / 'n/a' for infinite / undefined values."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _criterion(result: CriterionResult, seeds: tuple) -> str:
    c: Criterion = result.criterion
    needs = c.text().removeprefix(c.statistic).strip()
    if result.interval is None:
        values = ", ".join(
            f"{number(v)} (seed {s})" for s, v in zip(seeds, result.values, strict=True)
        )
        return f"{c.statistic} {values or 'not computed'}, needs {needs}"
    return f"{c.statistic} = {result.interval}, needs {needs}: {_MET[result.holds]}"


def _requirements(numbers: ClaimNumbers) -> str:
    by_criterion = {r.criterion: r for r in numbers.results}
    parts = []
    for requirement in numbers.definition.requirements:
        ways = [
            " and ".join(_criterion(by_criterion[c], numbers.seeds) for c in way)
            for way in requirement.ways
        ]
        parts.append(f"{requirement.name}: " + "; or ".join(ways))
    return "; ".join(parts)


def _settings(by_setting: Mapping[str, Mapping[str, float]]) -> str:
    return "; ".join(
        f"{setting}: " + ", ".join(f"{name} {number(v)}" for name, v in quantities.items())
        for setting, quantities in by_setting.items()
    )


def detail(numbers: ClaimNumbers) -> str:
    """The detail of a verdict: why it cannot judge (if so: too few seeds, runs not converged),
    its definition, each criterion with the interval over seeds (or the per-seed values when
    there are too few), the notes (other measures, findings), the seeds left out and why, the
    runs too short, and the numbers per setting (means over the judged seeds)."""
    d = numbers.definition
    parts = [numbers.reason] if numbers.reason else []
    parts.append(f"definition {d.key}, measure {d.measure}")
    if numbers.seeds:
        parts.append(_requirements(numbers))
    parts += numbers.notes
    if numbers.left_out and d.min_seeds > 1:  # a closed form's reason is already the first part
        parts.append(
            "left out: " + ", ".join(f"seed {s} ({why})" for s, why in numbers.left_out.items())
        )
    if numbers.too_short:
        parts.append(
            f"{len(numbers.too_short)} runs shorter than {d.min_steps} steps, e.g. "
            + numbers.too_short[0]
        )
    if numbers.by_setting:
        parts.append(_settings(numbers.by_setting))
    return "; ".join(parts)


def describe(numbers: ClaimNumbers) -> Verdict:
    """The verdict in words."""
    return Verdict(numbers.definition, numbers.holds, detail(numbers))
