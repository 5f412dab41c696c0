"""index.md for a figures folder, rendered from its ``verdicts.json``.

index.md opens with one summary table (claim, statement, verdict, the headline statistic with its
interval and n, the threshold, confirmatory or exploratory, the claims table), then one section
per verdict (its criteria, the measures side by side, the numbers per setting, the runs that
block a decision with what each needs, the seeds left out, the notes), one section per figure,
the missing runs and the definitions the verdicts used. Prose is wrapped at :data:`WIDTH`
characters and tables are split so that no line is longer than :data:`MAX_LINE`.

    python -m paper_figures.index gallery/mnist_cpu            # rewrite index.md from verdicts.json
    python -m paper_figures.index gallery/* --check            # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lucas2019.io import atomic_write_text
from paper_figures import verdict_record
from paper_figures.claims.judging import ClaimNumbers
from paper_figures.common import write_or_check
from paper_figures.stats import is_over_seeds
from paper_figures.verdict_record import (
    VERDICTS_JSON,
    CriterionRecord,
    FigureRecord,
    VerdictRecord,
    VerdictsFile,
)
from paper_figures.words import FAILS, HOLDS, number

#: prose is wrapped at this width; no line of index.md is longer than MAX_LINE (a table row,
#: whose cells a markdown viewer wraps)
WIDTH = 100
MAX_LINE = 280
#: at most this many numbers per row of a table of numbers per setting
SETTING_COLUMNS = 6


@dataclass
class IndexEntry:
    """One figure/table: ``paths`` as returned by its render (``missing`` taken from them when
    they are a ``Rendered``), the claims it tests, the numbers of its verdicts and notes."""

    title: str
    paths: Sequence[Path]
    claims: Sequence[str] = ()
    verdicts: Sequence[ClaimNumbers] = ()
    missing: Sequence[str] | None = None
    notes: Sequence[str] = field(default_factory=tuple)

    def missing_runs(self) -> list[str]:
        """Explicit ``missing`` or, failing that, the ``.missing`` of the rendered paths."""
        if self.missing is not None:
            return list(self.missing)
        return list(getattr(self.paths, "missing", []))


def _relative(path: Path, out_dir: Path) -> str:
    try:
        return path.resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def figure_record(entry: IndexEntry, out_dir: str | os.PathLike) -> FigureRecord:
    """The entry as data: its files relative to ``out_dir``."""
    return FigureRecord(
        entry.title,
        tuple(_relative(Path(p), Path(out_dir)) for p in entry.paths),
        tuple(entry.claims),
        tuple(entry.notes),
        tuple(entry.missing_runs()),
    )


# ---------------------------------------------------------------- text helpers


def wrap(text: str, indent: str = "") -> list[str]:
    """``text`` as lines of at most :data:`WIDTH` characters (a word longer than that stays
    whole); continuation lines get ``indent``, the first line none."""
    return textwrap.wrap(
        text,
        WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [""]


def bullet(text: str) -> list[str]:
    """A markdown bullet, wrapped."""
    return wrap(f"- {text}", "  ")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]


def anchor(record: VerdictRecord) -> str:
    """The HTML anchor of a verdict's section, e.g. 'c4a-fig5'."""
    return record.definition.lower().replace("/", "-")


def verdict_cell(record: VerdictRecord) -> str:
    """'holds', 'fails', 'cannot judge: <cause>', with '(would fail as it stands)' when runs
    still moving block it."""
    cell = f"{record.outcome}: {record.cause}" if record.cause else record.outcome
    stands = {HOLDS: "would hold", FAILS: "would fail"}.get(record.as_it_stands, "cannot judge")
    return f"{cell} ({stands} as it stands)" if record.as_it_stands else cell


def design_cell(record: VerdictRecord) -> str:
    """'confirmatory', 'exploratory', or 'exploratory (<why>)' when the record says why."""
    return f"{record.design} ({record.design_why})" if record.design_why else record.design


def headline_cell(record: VerdictRecord) -> str:
    """The headline statistic with its mean and interval, e.g. 'max_gap = 2.1 [2.03, 2.16]' (the
    interval's method is in the verdict's section)."""
    h = record.headline
    if h is None:
        return "—"
    if is_over_seeds(h.method):
        return f"{h.statistic} = {number(h.mean)} [{number(h.low)}, {number(h.high)}]"
    return f"{h.statistic} = {h.interval_text()}"


# ---------------------------------------------------------------- sections


def _preamble(file: VerdictsFile) -> list[str]:
    if file.claims_table:
        table_text = f"with claims table `{file.claims_table}` (its definitions are at the end)"
    else:
        table_text = "before the claims table existed, under the definitions of that time"
    lines = wrap(
        f"Verdicts computed on {file.computed} {table_text}. Every number is in "
        f"[{VERDICTS_JSON}]({VERDICTS_JSON}); this page is rendered from it."
    )
    if file.migrated:
        lines += ["", *wrap(file.migrated)]
    return lines


def summary(file: VerdictsFile) -> list[str]:
    """The summary table: one row per verdict."""
    rows = []
    for r in file.verdicts:
        h = r.headline
        rows.append(
            [
                f"[{r.definition}](#{anchor(r)})",
                r.statement,
                verdict_cell(r),
                headline_cell(r),
                str(h.n) if h else "—",
                h.needs if h else "—",
                design_cell(r),
                f"`{file.claims_table}`" if file.claims_table else "none",
            ]
        )
    header = [
        "claim",
        "statement",
        "verdict",
        "headline, mean [95% interval]",
        "n",
        "threshold",
        "design",
        "claims table",
    ]
    return table(header, rows)


def _criteria(criteria: Sequence[CriterionRecord]) -> list[str]:
    rows, previous = [], None
    for c in criteria:
        way = (c.requirement, c.way)
        joint = "" if way != previous else " (and)"
        alternative = " (or)" if c.way and way != previous else ""
        previous = way
        rows.append(
            [
                f"{c.requirement}{alternative}{joint}",
                c.statistic,
                c.needs,
                c.interval_text(),
                str(c.n),
                ", ".join(map(number, c.values)) or "—",
                c.outcome,
            ]
        )
    header = [
        "requirement",
        "statistic",
        "needs",
        "mean [95% interval]",
        "n",
        "per seed",
        "outcome",
    ]
    return table(header, rows)


def _measures(r: VerdictRecord) -> list[str]:
    if not r.measures:
        return []
    names = [f"{r.measure} (primary)", *(m.measure for m in r.measures)]
    agrees = ["—", *("" if m.agrees is None else "yes" if m.agrees else "no" for m in r.measures)]
    rows = [["verdict", r.outcome, *(m.outcome for m in r.measures)], ["agrees", *agrees]]
    for c in r.criteria:
        mean = c.mean if c.method else float("nan")
        others = [
            number(m.statistics[c.statistic]) if c.statistic in m.statistics else "—"
            for m in r.measures
        ]
        rows.append([c.statistic, number(mean), *others])
    lines = ["", "The measures side by side (statistics: means over the judged seeds):", ""]
    lines += table(["", *names], rows)
    why = [line for m in r.measures if m.why for line in bullet(f"{m.measure}: {m.why}")]
    return [*lines, "", *why] if why else lines


def _settings(r: VerdictRecord) -> list[str]:
    if not r.by_setting:
        return []
    quantities = list(dict.fromkeys(q for s in r.by_setting.values() for q in s))
    lines = ["", "Per setting (means over the judged seeds):"]
    for start in range(0, len(quantities), SETTING_COLUMNS):
        chunk = quantities[start : start + SETTING_COLUMNS]
        rows = [
            [setting, *(number(values[q]) if q in values else "—" for q in chunk)]
            for setting, values in r.by_setting.items()
        ]
        lines += ["", *table(["setting", *chunk], rows)]
    return lines


def verdict_section(r: VerdictRecord) -> list[str]:
    """One verdict: what it is, its criteria, measures, settings, blockers, seeds, notes."""
    lines = ["", f'<a id="{anchor(r)}"></a>', "", f"## {r.definition} ({r.kind})", ""]
    lines += [*wrap(f"*{r.statement}*"), ""]
    design = design_cell(r)
    head = f"{design[:1].upper()}{design[1:]}; measure {r.measure}. Outcome: **{r.outcome}**"
    # the runs a long reason names are listed below, each with what it needs
    reason = f"{r.cause} (listed below)" if r.blocking else r.reason
    lines += wrap(f"{head}: {reason}." if reason else f"{head}.")
    judged = ", ".join(r.seeds) or "none"
    lines += [
        "",
        *wrap(
            f"Judged seeds: {judged}. Runs or tables read: {len(r.runs)} (listed in "
            f"{VERDICTS_JSON})."
        ),
    ]
    if r.criteria:
        lines += ["", *_criteria(r.criteria)]
    lines += _measures(r)
    lines += _settings(r)
    if r.blocking:
        lines += ["", f"Runs that block a decision ({len(r.blocking)}), with what each needs:", ""]
        for b in r.blocking:
            lines += bullet(f"`{b.run}`: {b.why}; needs {b.needs}")
    if r.left_out:
        lines += ["", "Seeds left out:", ""]
        for seed, why in r.left_out.items():
            lines += bullet(f"seed {seed}: {why}")
    if r.notes:
        lines += ["", "Notes:", ""]
        for note in r.notes:
            lines += bullet(note)
    return lines


def _link(path: str) -> str:
    name = Path(path).name
    return f"![{Path(path).stem}]({path})" if path.endswith(".png") else f"[{name}]({path})"


def figure_section(f: FigureRecord, claims: dict[str, str]) -> list[str]:
    """One figure: the claims it tests, its files, its notes and missing runs."""
    lines = ["", f"## {f.title}", ""]
    if f.claims:
        lines += wrap("Tests: " + "; ".join(f"{c} ({claims.get(c, '')})" for c in f.claims))
        lines.append("")
    lines += [_link(p) for p in f.files]
    for note in f.notes:
        lines += bullet(f"note: {note}")
    if f.missing:
        lines += bullet(f"missing runs: {', '.join(f.missing)}")
    return lines


def _definitions(file: VerdictsFile) -> list[str]:
    if not file.definitions:
        return []
    lines = ["", "## Definitions", ""]
    lines += wrap(f"The verdicts above used claims table `{file.claims_table}`:")
    for text in file.definitions.values():
        lines.append("")
        for line in text.splitlines():
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            lines += wrap(line, indent) if line.lstrip().startswith("- ") else wrap(line)
    return lines


def render_index(file: VerdictsFile) -> str:
    """The markdown text of index.md from a folder's verdicts."""
    lines = ["# Figures and claims", "", *_preamble(file), "", "## Summary", ""]
    lines += summary(file) if file.verdicts else ["(no verdicts computed)"]
    for r in file.verdicts:
        lines += verdict_section(r)
    claims = {r.claim: f"{r.kind}: {r.statement}" for r in file.verdicts}
    for f in file.figures:
        lines += figure_section(f, claims)
    lines += ["", "## Missing runs", ""]
    missing = [(f.title, m) for f in file.figures for m in f.missing]
    lines += [line for t, m in missing for line in bullet(f"{t}: {m}")] or ["none"]
    lines += _definitions(file)
    return "\n".join(lines) + "\n"


def write_index(
    out_dir: str | os.PathLike,
    entries: Iterable[IndexEntry],
    started: Mapping[str, object] | None = None,
    data_subsets: Sequence[object] = (),
) -> Path:
    """Write ``out_dir/verdicts.json`` from the entries' verdicts, then ``out_dir/index.md``
    rendered from it; returns index.md's path. A verdict is confirmatory when every run it read
    started after its definition's log entry (``started``: run_dir -> the run table's
    ``started_utc``; a run not in it has no recorded start) and neither its seeds nor the runs'
    ``data_subsets`` (their ``dataset.subset_seed`` values) are ones the definitions were set on
    (:func:`verdict_record.design_of`)."""
    entries = list(entries)
    bad = [type(e).__name__ for e in entries if not isinstance(e, IndexEntry)]
    if bad:
        raise ValueError(
            f"entries must be IndexEntry objects, got {bad}; wrap each render's result as "
            "IndexEntry(title, paths, claims, verdicts)."
        )
    out, started = Path(out_dir), started or {}
    records = [
        verdict_record.record(
            n,
            verdict_record.design_of(
                n.definition, verdict_record.started_of(n, started), n.seeds, data_subsets
            ),
        )
        for e in entries
        for n in e.verdicts
    ]
    figures = [figure_record(e, out) for e in entries]
    verdict_record.write(out, verdict_record.verdicts_file(records, figures))
    return rerender(out)


def rerender(folder: str | os.PathLike) -> Path:
    """Rewrite ``folder/index.md`` from ``folder/verdicts.json``; returns its path."""
    folder = Path(folder)
    return atomic_write_text(folder / "index.md", render_index(verdict_record.read(folder)))


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with --check, verify) each folder's index.md from its verdicts.json."""
    parser = argparse.ArgumentParser(prog="python -m paper_figures.index")
    parser.add_argument("folder", type=Path, nargs="+", help="folders holding verdicts.json")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    status = 0
    for folder in args.folder:
        index = folder / "index.md"
        try:
            generated = render_index(verdict_record.read(folder))
            current = index.read_text(encoding="utf-8") if index.exists() else ""
        except (OSError, ValueError) as error:
            parser.error(str(error))
        stale = f"{index} differs from its {VERDICTS_JSON}"
        status |= write_or_check(index, current, generated, args.check, stale)
    return status


if __name__ == "__main__":
    sys.exit(main())
