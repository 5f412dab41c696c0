"""README's verdict table, verdict prose and verdict history equal their rendering from the
galleries' verdicts.json files; only galleries of the current claims table are current."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paper_figures.claims.table import table_hash
from paper_figures.index import MAX_LINE, headline_cell, verdict_cell
from paper_figures.verdict_record import BlockingRun, read, write
from paper_figures.verdict_table import (
    BEGIN,
    END,
    HISTORY_BEGIN,
    HISTORY_END,
    PROSE_BEGIN,
    PROSE_END,
    current,
    main,
    read_galleries,
    render_prose,
    update_readme,
)

ROOT = Path(__file__).resolve().parents[1]
VERDICT_FILES = sorted((ROOT / "gallery").glob("*/verdicts.json"))
MARKERS = ((BEGIN, END), (PROSE_BEGIN, PROSE_END), (HISTORY_BEGIN, HISTORY_END))


def _block(text: str, begin: str, end: str) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0]


def test_readme_agrees_with_every_gallery_verdicts_file():
    assert VERDICT_FILES, "no gallery/*/verdicts.json found"
    current_text, generated = update_readme(ROOT / "README.md", VERDICT_FILES)
    assert current_text == generated, (
        "README's verdict blocks are stale: run "
        "`python -m paper_figures.verdict_table README.md gallery/*/verdicts.json`"
    )
    for begin, end in MARKERS:
        assert max(map(len, _block(current_text, begin, end).splitlines())) <= MAX_LINE


def test_each_current_verdict_has_one_bold_row_with_its_headline_and_others_are_history():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table, history = _block(readme, BEGIN, END), _block(readme, HISTORY_BEGIN, HISTORY_END)
    galleries = read_galleries(VERDICT_FILES)
    # the confirmatory gallery is the one computed with the current definitions
    assert current(galleries) == ["mnist_cpu_confirmatory"]
    for name, file in galleries.items():
        for r in file.verdicts:
            h = r.headline
            number = f"{headline_cell(r)}, n = {h.n}, needs {h.needs}"
            if name in current(galleries):
                row = next(line for line in table.splitlines() if f"[{r.definition}][" in line)
                assert f"| **{r.outcome}" in row and f"| {number} |" in row
            else:
                assert f"| {verdict_cell(r)} | {number} |" in history  # unbolded
                assert f"**{r.outcome}" not in history
        if name not in current(galleries):
            assert f"[{name}](gallery/{name}/index.md), computed {file.computed} under" in history


def test_the_prose_says_what_holds_and_what_blocks_the_rest(tmp_path):
    # mnist_cpu's verdicts as if computed under the current table
    galleries = read_galleries([_gallery(tmp_path, "mnist_cpu", table_hash())])
    prose = " ".join(render_prose(galleries).split())
    file = galleries["mnist_cpu"]
    held = [
        r.definition for r in file.verdicts if r.kind == "reproduction" and r.outcome == "holds"
    ]
    assert f"mnist_cpu reproduces {' and '.join(held)};" in prose
    for r in file.verdicts:
        if r.outcome == "cannot judge":
            assert f"{r.definition} cannot judge: {r.cause}" in prose
            for b in r.blocking:
                assert b.needs in prose


def _gallery(tmp_path: Path, name: str, claims_table: str) -> Path:
    file = read(ROOT / "gallery" / "mnist_cpu")
    folder = tmp_path / "gallery" / name
    folder.mkdir(parents=True)
    return write(folder, dataclasses.replace(file, claims_table=claims_table))


def test_check_fails_on_a_stale_readme_and_passes_after_rewriting(tmp_path, capsys):
    new = _gallery(tmp_path, "new", table_hash())
    old = _gallery(tmp_path, "old", "")
    readme = tmp_path / "README.md"
    blocks = "\n".join(f"{b}\n| old | table |\n{e}" for b, e in MARKERS)
    readme.write_text(f"intro\n{blocks}\noutro\n", encoding="utf-8")
    assert main([str(readme), str(new), str(old), "--check"]) == 1
    assert "differ" in capsys.readouterr().err
    assert main([str(readme), str(new), str(old)]) == 0
    assert main([str(readme), str(new), str(old), "--check"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "| old |" not in text
    assert "[new](gallery/new/index.md), computed" in _block(text, BEGIN, END)
    assert "[old](gallery/old/index.md), computed" in _block(text, HISTORY_BEGIN, HISTORY_END)
    assert "**" not in _block(text, HISTORY_BEGIN, HISTORY_END)


def test_a_readme_without_markers_or_a_bad_file_is_one_clear_error(tmp_path, capsys):
    new = _gallery(tmp_path, "new", table_hash())
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main([str(readme), str(new)])
    assert stop.value.code == 2 and "lacks the markers" in capsys.readouterr().err
    new.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit):
        main([str(readme), str(new)])
    assert "is not a verdicts file" in capsys.readouterr().err


def test_the_prose_sums_up_many_blocking_runs_by_the_steps_they_need(tmp_path):
    path = _gallery(tmp_path, "mnist_cpu", table_hash())
    folder = path.parent
    file = read(folder)
    first = next(r for r in file.verdicts if r.outcome == "cannot judge")
    steps = [3005, 6206, 10601, 15417, 38232]
    many = tuple(BlockingRun(f"run{s}", "too short", f"≥ {s} steps", s) for s in steps)
    few = many[:3]
    for blocking, words in [
        (many, "the 5 runs that block it need 3005 to 38232 steps"),
        (few, "the runs that block it need ≥ 3005 steps or ≥ 6206 steps or ≥ 10601 steps"),
    ]:
        changed = dataclasses.replace(first, blocking=blocking)
        verdicts = tuple(changed if r is first else r for r in file.verdicts)
        write(folder, dataclasses.replace(file, verdicts=verdicts))
        prose = " ".join(render_prose(read_galleries([path])).split())
        assert words in prose
