"""index.md lists each figure, its claim, the verdict lines and a missing-runs section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paper_figures.claims import DEFINITIONS, table_hash
from paper_figures.index import IndexEntry, write_index
from paper_figures.theme import Rendered
from paper_figures.words import Verdict


def test_write_index(tmp_path: Path) -> None:
    fig5 = Rendered([tmp_path / "fig5.png", tmp_path / "fig5.pdf"], None, ["σ²=30"])
    v4 = Verdict(DEFINITIONS["C4a/fig5"], True, "spearman_sigma2 = 0.98")
    v1 = Verdict(DEFINITIONS["C1/fig2"], None, "no sweep")
    path = write_index(
        tmp_path,
        [
            IndexEntry("Figure 5: collapse vs ε", fig5, claims=["C4a"], verdicts=[v4]),
            IndexEntry("Figure 2", [tmp_path / "fig2.png"], ["C1"], [v1], missing=[]),
        ],
    )
    text = path.read_text()
    assert path == tmp_path / "index.md"
    assert "![fig5](fig5.png)" in text and "[fig5.pdf](fig5.pdf)" in text
    verdicts = text.split("## Verdicts\n\n")[1].split("\n\n")[0].splitlines()
    assert verdicts == [f"- {v4.line()}", f"- {v1.line()}"]
    assert v1.line() == (
        "C1: implementation check: optimal linear-VAE ELBO equals the pPCA MLE log-likelihood "
        "for every k: cannot judge (no sweep)"
    )
    assert "Tests: C4a (reproduction: collapse rises monotonically" in text
    definitions = text.split("## Definitions")[1].split("\n## ")[0]
    assert f"claims table `{table_hash()}`" in definitions
    assert definitions.index("**C4a/fig5**") < definitions.index("**C1/fig2**")
    missing = text.split("## Missing runs")[1]
    assert "Figure 5: collapse vs ε: σ²=30" in missing and "Figure 2:" not in missing


def test_write_index_no_missing_and_bad_entry(tmp_path: Path) -> None:
    text = write_index(tmp_path, [IndexEntry("T", [tmp_path / "t.md"])]).read_text()
    assert text.rstrip().endswith("none")
    with pytest.raises(ValueError, match="IndexEntry"):
        write_index(tmp_path, [{"title": "x"}])


def test_the_figure_registry_imports_without_torch() -> None:
    code = "import sys, paper_figures.registry; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
