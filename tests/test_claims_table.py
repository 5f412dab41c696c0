"""The claims table: declared once, fingerprinted, and every change logged in docs/claims.md."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import pytest

from paper_figures import stats
from paper_figures.claims import table as claims
from paper_figures.claims.measures import BY_NAME, COLLAPSE_FRACTIONS, COLLAPSE_MEASURES, MEASURES
from paper_figures.claims.schema import IMPLEMENTATION_CHECK, Criterion
from paper_figures.claims.table import CLAIMS, DEFINITIONS, table_hash, update_doc
from paper_figures.registry import FIGURES

DOC = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
ENTRY = re.compile(r"^### (\d{4}-\d{2}-\d{2})(?: \d{2}:\d{2} UTC)?: ", re.MULTILINE)
HASH = re.compile(r"Table hash: `([0-9a-f]{12})`\.?\s*$")


def log_entries(text: str) -> list[tuple[date, str]]:
    """(date, hash) of each entry of the 'Log of definitions' section, in file order."""
    log = text.split("## Log of definitions", 1)[1]
    starts = [m.start() for m in ENTRY.finditer(log)]
    entries = []
    for start, end in zip(starts, [*starts[1:], len(log)], strict=True):
        body = log[start:end].strip()
        found = HASH.search(body)
        assert found, f"log entry without a closing 'Table hash: `<12 hex>`': {body[:80]}"
        entries.append((date.fromisoformat(ENTRY.match(body).group(1)), found.group(1)))
    return entries


def test_the_newest_log_entry_holds_the_tables_hash():
    entries = log_entries(DOC.read_text(encoding="utf-8"))
    assert entries, "docs/claims.md has no entry in its 'Log of definitions'"
    assert [d for d, _ in entries] == sorted(d for d, _ in entries), "log entries out of order"
    assert entries[-1][1] == table_hash(), (
        f"the claims table changed (hash {table_hash()}) without a new entry in docs/claims.md's "
        f"'Log of definitions' (newest: {entries[-1][1]}): add a dated entry saying what changed "
        "and why, ending with the new hash"
    )


def test_changing_a_threshold_or_the_interval_method_changes_the_hash(monkeypatch):
    before = table_hash()
    c5 = CLAIMS["C5"]
    criterion = c5.definitions[0].requirements[0].ways[0][0]
    looser = replace(criterion, threshold=0.4)
    requirement = replace(c5.definitions[0].requirements[0], ways=((looser,),))
    definition = replace(c5.definitions[0], requirements=(requirement,))
    monkeypatch.setitem(CLAIMS, "C5", replace(c5, definitions=(definition,)))
    assert table_hash() != before
    monkeypatch.undo()
    monkeypatch.setattr(stats, "BOOTSTRAP_FROM", 20)
    assert table_hash() != before


def test_the_docs_describe_the_table_as_declared():
    current, generated = update_doc(DOC)
    assert current == generated, (
        "docs/claims.md is stale: run `python -m paper_figures.claims docs/claims.md`"
    )


def test_c1_and_c2_are_implementation_checks_and_closed_form():
    for claim in ("C1", "C2"):
        assert CLAIMS[claim].kind == IMPLEMENTATION_CHECK
        assert all(d.min_seeds == 1 and d.convergence is None for d in CLAIMS[claim].definitions)
    trained = [d for c in CLAIMS if c not in ("C1", "C2") for d in CLAIMS[c].definitions]
    assert list(CLAIMS)[:2] == ["C1", "C2"]  # the closed-form checks come first
    assert all(d.min_seeds == 3 and d.min_steps == 1000 for d in trained)
    assert all(d.convergence is not None for d in trained)  # every trained verdict checks it


def test_collapse_verdicts_judge_by_eps_delta_and_report_every_other_measure():
    collapse = [d for c in ("C4a", "C4b", "C5", "C6") for d in CLAIMS[c].definitions]
    for definition in collapse:
        assert definition.measure == "eps_delta"
        # C4a's statistics count latents: mutual information cannot express them
        expected = set(COLLAPSE_FRACTIONS) if definition.claim == "C4a" else set(COLLAPSE_MEASURES)
        assert {definition.measure, *definition.other_measures} == expected
        assert definition.convergence.escape_factor is not None


def test_every_trained_definition_has_a_band_for_its_measure():
    trained = [d for d in DEFINITIONS.values() if d.convergence is not None]
    assert trained and all(BY_NAME[d.measure].moves for d in trained)
    # the log entry that set them: their declared time is an entry's heading
    headings = {
        f"{day}T{time}Z" if time else day
        for day, time in re.findall(
            r"^### (\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}) UTC)?: ",
            DOC.read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    }
    assert {d.declared for d in DEFINITIONS.values()} <= headings
    # C3a's tolerance and spike size are absolute [nats], and C3b reads the same tolerance
    (gap,) = DEFINITIONS["C3a/fig3"].requirements[0].ways[0]
    assert gap.statistic == "max_gap" and DEFINITIONS["C3b/fig3"].parameter("tolerance") == 0.5
    assert gap.threshold == DEFINITIONS["C3b/fig3"].parameter("tolerance")


def test_every_figure_is_judged_by_definitions_of_the_table():
    used = [k for f in FIGURES for k in f.definitions]
    assert sorted(used) == sorted(DEFINITIONS), "a definition no figure applies, or one twice"
    assert FIGURES[1].claims == ("C1", "C2")


def test_a_bad_direction_or_measure_is_refused():
    with pytest.raises(ValueError, match="direction must be one of"):
        Criterion("x", "a statistic", "=>", 1.0, "why")
    with pytest.raises(ValueError, match="measure must be one of"):
        replace(DEFINITIONS["C4a/fig5"], measure="eps0.01")


def test_the_generated_block_is_rewritten_and_checked(tmp_path, capsys):
    doc = tmp_path / "claims.md"
    doc.write_text(f"intro\n{claims.BEGIN}\nold\n{claims.END}\noutro\n", encoding="utf-8")
    assert claims.main([str(doc), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert claims.main([str(doc)]) == 0 and claims.main([str(doc), "--check"]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "\nold\n" not in text
    assert f"Claims table `{table_hash()}`" in text


def _hash_as_first_declared() -> str:
    """The table's hash recomputed the way it was first declared (one literal in one module):
    every claim's dataclasses.asdict (the computation link dropped), the measures and the
    interval method, as sorted compact JSON."""

    def without_computation(value):
        if isinstance(value, dict):
            return {k: without_computation(v) for k, v in value.items() if k != "compute"}
        if isinstance(value, list | tuple):
            return [without_computation(v) for v in value]
        return value

    table = {
        "claims": [without_computation(asdict(c)) for c in CLAIMS.values()],
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
    text = json.dumps(table, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def test_the_claim_modules_collect_to_the_table_as_logged():
    # The definitions moved from one literal into one module per claim; a definition's link to
    # its computation is not part of what it means. The hash taken over the collected definitions
    # is the one the newest log entry recorded (independently recomputed here).
    assert table_hash() == _hash_as_first_declared() == "fd3072117f07"
    assert all(d.compute is not None for d in DEFINITIONS.values())
