"""Numbers in words, shared by index.md, README's verdict table and its prose: a number to three
significant digits, an outcome, another measure's outcome."""

from __future__ import annotations

import math

from paper_figures.claims.judging import OtherMeasure

HOLDS, FAILS, CANNOT_JUDGE = "holds", "fails", "cannot judge"
#: a verdict's outcome in words, by its ``holds`` (True, False, None)
OUTCOMES = {True: HOLDS, False: FAILS, None: CANNOT_JUDGE}


def number(value: float) -> str:
    """Three significant digits; 'inf' / 'n/a' for infinite / undefined values."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def other_measure_note(other: OtherMeasure) -> str:
    """An other measure in words, e.g. 'by active_units: fails (disagrees; spearman_sigma2
    0.94)'."""
    if other.error:
        return f"by {other.measure}: not computed ({other.error})"
    agrees = "agrees" if other.agrees else "disagrees"
    statistics = ", ".join(f"{name} {number(v)}" for name, v in other.statistics.items())
    return f"by {other.measure}: {OUTCOMES[other.outcome]} ({agrees}; {statistics})"
