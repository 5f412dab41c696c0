"""The claims table: every claim of the claim modules, its fingerprint and its markdown.

:data:`CLAIMS` collects one :class:`~paper_figures.claims.schema.Claim` per claim module, in
:data:`MODULES` order; :data:`DEFINITIONS` every definition by key.

:func:`table_hash` fingerprints the collected definitions together with the measures and the
interval method of :mod:`paper_figures.stats`. The log of definitions in docs/claims.md records
every change with the hash it produced, and a test fails when the table's hash is not the newest
entry's: a threshold cannot change unrecorded, for instance after seeing a result. The claims'
descriptions in that file are generated from this table::

    python -m paper_figures.claims docs/claims.md            # rewrite the generated block
    python -m paper_figures.claims docs/claims.md --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from paper_figures import stats
from paper_figures.claims import c1, c2, c3a, c3b, c4a, c4b, c5, c6, c7, c8
from paper_figures.claims.measures import MEASURES
from paper_figures.claims.schema import Claim, Convergence, Criterion, Definition, fingerprinted
from paper_figures.common import with_generated_block, write_or_check

#: the claim modules, in the table's order
MODULES = (c1, c2, c3a, c3b, c4a, c4b, c5, c6, c7, c8)
#: every claim by id, e.g. CLAIMS['C4a']
CLAIMS: dict[str, Claim] = {m.CLAIM.id: m.CLAIM for m in MODULES}
#: every definition by key, e.g. DEFINITIONS['C4/fig7']
DEFINITIONS: dict[str, Definition] = {d.key: d for c in CLAIMS.values() for d in c.definitions}


#: The model seeds and data subsets (``dataset.subset_seed``) whose runs had been read when the
#: definitions were set (the log in docs/claims.md): a verdict on any of them is exploratory, even
#: when its definition was declared before its runs. Not part of the table's hash: it describes
#: the log, not a definition.
SET_ON_SEEDS: tuple[int, ...] = (0, 1, 2)
SET_ON_SUBSET_SEEDS: tuple[int, ...] = (0,)


def claim_of(definition: Definition) -> Claim:
    """The claim a definition belongs to."""
    return CLAIMS[definition.claim]


# ---------------------------------------------------------------- fingerprint


def canonical_json() -> str:
    """The collected definitions, the measures and the interval method as JSON with sorted keys
    (what :func:`table_hash` fingerprints)."""
    table = {
        "claims": [fingerprinted(c) for c in CLAIMS.values()],
        "measures": MEASURES,
        "interval": {
            "confidence": stats.CONFIDENCE,
            "bootstrap_from": stats.BOOTSTRAP_FROM,
            "bootstrap_resamples": stats.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": stats.BOOTSTRAP_SEED,
            "methods": [stats.STUDENT_T, stats.BOOTSTRAP_T],
            "bounded": "clipped to the statistic's bounds",
            "per_latent": "Sheppard's correction for a resolution of one latent, 1/k",
        },
    }
    return json.dumps(table, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def table_hash() -> str:
    """First 12 hex digits of the SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json().encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- words


def criterion_lines(definition: Definition) -> list[str]:
    """One markdown bullet per requirement: its criteria with thresholds, meanings and reasons."""
    lines = []
    for requirement in definition.requirements:
        ways = [" and ".join(_criterion_text(c) for c in way) for way in requirement.ways]
        lines.append(f"- {requirement.name}: " + "; or ".join(ways))
    return lines


def _criterion_text(criterion: Criterion) -> str:
    """e.g. 'largest_fall ≤ 0.05 (meaning; reason; in [0, 1], known to one latent)'."""
    extra = []
    if criterion.bounds is not None:
        low, high = criterion.bounds
        extra.append(f"in [{low:g}, {high:g}]")
    if criterion.per_latent:
        extra.append("known to one latent, 1/k")
    tail = "; ".join([criterion.meaning, criterion.reason, *extra])
    return f"{criterion.text()} ({tail})"


def definition_markdown(definition: Definition) -> str:
    """A definition in markdown: what it is judged on, its measure, requirements, parameters,
    minimum length and seeds, each with its reason."""
    claim = claim_of(definition)
    if definition.min_seeds == 1:
        amount = [f"- one computation, no seeds ({definition.min_seeds_reason})"]
    else:
        amount = [
            f"- at least {definition.min_steps} training steps ({definition.min_steps_reason})",
            f"- at least {definition.min_seeds} seeds ({definition.min_seeds_reason})",
        ]
    lines = [
        f"**{definition.key}** ({claim.kind}): {claim.statement}.",
        "",
        f"- judged on: {definition.judged_on}",
        f"- measure: {MEASURES[definition.measure]} ({definition.measure_reason})",
        *criterion_lines(definition),
        *[f"- parameter {p.name} = {p.value:g} ({p.reason})" for p in definition.parameters],
        *_other_measure_lines(definition),
        *_convergence_lines(definition.convergence),
        *amount,
        f"- declared: {definition.declared} (its entry in the log of definitions)",
    ]
    return "\n".join(lines)


def _other_measure_lines(definition: Definition) -> list[str]:
    """One bullet naming the measures reported beside the primary one (none: no bullet)."""
    if not definition.other_measures:
        return []
    names = ", ".join(definition.other_measures)
    return [
        f"- also reported: {names}, each with the outcome under it and whether that agrees "
        "(a measure that is not a fraction of the latents takes part in rank statistics only)"
    ]


def _convergence_lines(convergence: Convergence | None) -> list[str]:
    """The convergence rule as bullets (none for closed-form definitions)."""
    if convergence is None:
        return []
    window = f"the last {convergence.window.value:.0%} of its logged steps"
    parts = [
        f"each run read may still move {convergence.band_factor.value:g} × what its measure moved "
        f"over {window}, in the same direction (whole latents for a count of latents, within "
        "the measure's bounds; a held-out log p(x) by its training ELBO's band); the statistics "
        "are computed again with each run at the end of its band, alone and all together, and "
        "the verdict holds or fails only when all those outcomes agree"
    ]
    if convergence.escape_factor is not None:
        parts.append(
            "a run that never escaped its collapsed start (optimal σ² below "
            f"{convergence.escape_factor.value:g} × the data's total variance per dimension) "
            "although #{λ_i > σ²} > 0 blocks it"
        )
    return [
        "- converged when: " + "; ".join(parts) + "; otherwise cannot judge: not converged, "
        "naming the runs whose movement could change the outcome and the outcome as it stands",
        *[f"  - {p.name} = {p.value:g} ({p.reason})" for p in convergence.parameters()],
    ]


def table_markdown() -> str:
    """Every claim and definition of the table in markdown, with the table's hash."""
    parts = [f"Claims table `{table_hash()}`."]
    for claim in CLAIMS.values():
        parts.append(f"### {claim.id}")
        parts.append(f"Kind: {claim.kind} ({claim.kind_reason}).")
        parts += [definition_markdown(d) for d in claim.definitions]
    return "\n\n".join(parts)


BEGIN = "<!-- claims table: generated by `python -m paper_figures.claims`; do not edit -->"
END = "<!-- /claims table -->"


def update_doc(doc: str | Path) -> tuple[str, str]:
    """(current text of ``doc``, its text with :func:`table_markdown` between BEGIN and END)."""
    return with_generated_block(doc, BEGIN, END, table_markdown())


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with --check, verify) the generated claims block of a markdown file."""
    parser = argparse.ArgumentParser(prog="python -m paper_figures.claims")
    parser.add_argument("doc", type=Path, help="markdown file holding the markers")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        current, generated = update_doc(args.doc)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return write_or_check(args.doc, current, generated, args.check, "the claims block is stale")
