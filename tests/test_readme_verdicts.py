"""README's verdict table equals the galleries' computed verdicts, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

from paper_figures.verdict_table import BEGIN, END, main, read_verdicts, update_readme

ROOT = Path(__file__).resolve().parents[1]
GALLERY_INDEXES = sorted((ROOT / "gallery").glob("*/index.md"))


def test_readme_agrees_with_every_gallery_index():
    assert GALLERY_INDEXES, "no gallery/*/index.md found"
    current, generated = update_readme(ROOT / "README.md", GALLERY_INDEXES)
    assert current == generated, (
        "README's verdict table is stale: run "
        "`python -m paper_figures.verdict_table README.md gallery/*/index.md`"
    )


def test_every_gallery_verdict_appears_in_the_readme_with_its_outcome():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    for index in GALLERY_INDEXES:
        for v in read_verdicts(index):
            numbers = v.numbers.replace("|", "\\|")  # a markdown cell escapes its pipes
            row = f"| {v.claim} | {v.statement} | [{v.gallery}]"
            assert row in block and f"**{v.outcome}** | {numbers} |" in block


INDEX = """# Figures and claims

## Verdicts

- C4: collapse rises: holds (ρ = 0.98)
- C7: a claim: with a colon (fails = it was slow): fails (answer: speed (6.6%))
- C5: too short to say: cannot judge

## Figure 1
- C9: not a verdict section line: holds (x)
"""


def _gallery(tmp_path: Path, text: str = INDEX) -> Path:
    index = tmp_path / "gallery" / "toy" / "index.md"
    index.parent.mkdir(parents=True)
    index.write_text(text, encoding="utf-8")
    return index


def test_lines_are_split_at_the_outcome_even_when_the_statement_holds_colons(tmp_path):
    verdicts = read_verdicts(_gallery(tmp_path))
    assert [(v.claim, v.outcome) for v in verdicts] == [
        ("C4", "holds"),
        ("C7", "fails"),
        ("C5", "cannot judge"),
    ]
    assert verdicts[1].statement == "a claim: with a colon (fails = it was slow)"
    assert verdicts[1].numbers == "answer: speed (6.6%)"
    assert verdicts[2].numbers == "" and verdicts[0].gallery == "toy"


def test_a_verdict_line_without_an_outcome_is_an_error(tmp_path):
    index = _gallery(tmp_path, "## Verdicts\n\n- C4: collapse rises: maybe (ρ = 0.98)\n")
    with pytest.raises(ValueError, match="without an outcome"):
        read_verdicts(index)


def test_check_fails_on_a_stale_table_and_passes_after_rewriting(tmp_path, capsys):
    index = _gallery(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\n| old | table |\n{END}\noutro\n", encoding="utf-8")
    assert main([str(readme), str(index), "--check"]) == 1
    assert "differs" in capsys.readouterr().err
    assert main([str(readme), str(index)]) == 0
    assert main([str(readme), str(index), "--check"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "| old |" not in text
    assert "| C7 | a claim: with a colon (fails = it was slow) |" in text


def test_each_row_names_the_claims_table_its_gallery_used(tmp_path):
    """A gallery whose index.md names its claims table shows that hash; an older one says it
    was computed before the table existed."""
    declared = INDEX.replace(
        "## Figure 1",
        "## Definitions\n\nThe verdicts above used claims table `abc123def456`:\n\n## Figure 1",
    )
    old = {v.definitions for v in read_verdicts(_gallery(tmp_path / "old"))}
    new = {v.definitions for v in read_verdicts(_gallery(tmp_path / "new", declared))}
    assert old == {"none (computed before the claims table)"}
    assert new == {"claims table `abc123def456`"}
