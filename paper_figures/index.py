"""index.md for a figures folder: the verdict lines, the claim definitions they used, each figure
or table with the claims it tests and its verdicts, and a section listing every missing run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lucas2019.io import atomic_write_text
from paper_figures.claims import CLAIMS, definition_markdown, table_hash
from paper_figures.words import Verdict


@dataclass
class IndexEntry:
    """One figure/table: ``paths`` as returned by its render (``missing`` taken from them when
    they are a ``Rendered``), the claims it tests, its verdicts and free-text notes."""

    title: str
    paths: Sequence[Path]
    claims: Sequence[str] = ()
    verdicts: Sequence[Verdict] = ()
    missing: Sequence[str] | None = None
    notes: Sequence[str] = field(default_factory=tuple)

    def missing_runs(self) -> list[str]:
        """Explicit ``missing`` or, failing that, the ``.missing`` of the rendered paths."""
        if self.missing is not None:
            return list(self.missing)
        return list(getattr(self.paths, "missing", []))


def _link(path: Path, out_dir: Path) -> str:
    """Relative markdown link (image for PNG)."""
    try:
        rel = path.resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        rel = path.resolve().as_posix()
    return f"![{path.stem}]({rel})" if path.suffix == ".png" else f"[{path.name}]({rel})"


def render_index(out_dir: str | os.PathLike, entries: Iterable[IndexEntry]) -> str:
    """The markdown text of index.md (see :func:`write_index`)."""
    out, entries = Path(out_dir), list(entries)
    lines = ["# Figures and claims", "", "## Verdicts", ""]
    verdicts = [v for e in entries for v in e.verdicts]
    lines += [f"- {v.line()}" for v in verdicts] or ["- (no verdicts computed)"]
    lines += _definitions(verdicts)
    for e in entries:
        lines += ["", f"## {e.title}", ""]
        if e.claims:
            tests = [f"{c} ({CLAIMS[c].kind}: {CLAIMS[c].statement})" for c in e.claims]
            lines.append(f"Tests: {'; '.join(tests)}")
            lines.append("")
        lines += [_link(Path(p), out) for p in e.paths]
        lines += [f"- **{v.outcome}** — {v.line()}" for v in e.verdicts]
        lines += [f"- note: {n}" for n in e.notes]
        if e.missing_runs():
            lines.append(f"- missing runs: {', '.join(e.missing_runs())}")
    lines += ["", "## Missing runs", ""]
    missing = [(e.title, m) for e in entries for m in e.missing_runs()]
    lines += [f"- {t}: {m}" for t, m in missing] or ["none"]
    return "\n".join(lines) + "\n"


def _definitions(verdicts: Sequence[Verdict]) -> list[str]:
    """The '## Definitions' section: each definition the verdicts used, once, in their order."""
    used = list(dict.fromkeys(v.definition for v in verdicts))
    if not used:
        return []
    lines = ["", "## Definitions", "", f"The verdicts above used claims table `{table_hash()}`:"]
    for definition in used:
        lines += ["", definition_markdown(definition)]
    return lines


def write_index(out_dir: str | os.PathLike, entries: Iterable[IndexEntry]) -> Path:
    """Write ``out_dir/index.md`` atomically; returns its path."""
    entries = list(entries)
    bad = [type(e).__name__ for e in entries if not isinstance(e, IndexEntry)]
    if bad:
        raise ValueError(
            f"entries must be IndexEntry objects, got {bad}; wrap each render's result as "
            "IndexEntry(title, paths, claims, verdicts)."
        )
    return atomic_write_text(Path(out_dir) / "index.md", render_index(out_dir, entries))
