"""verdicts.json holds every number of every verdict and round-trips; index.md is rendered from
it: a summary table, one section per verdict, the figures, the missing runs, the definitions."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paper_figures.claims.c1 import compute as compute_c1
from paper_figures.claims.judging import judge
from paper_figures.claims.table import DEFINITIONS, table_hash
from paper_figures.index import MAX_LINE, IndexEntry, main, render_index, write_index
from paper_figures.theme import Rendered
from paper_figures.verdict_record import (
    CONFIRMATORY,
    EXPLORATORY,
    declare,
    design_of,
    dumps,
    loads,
    read,
    record,
)

ROOT = Path(__file__).resolve().parents[1]
GALLERIES = sorted(p.parent for p in (ROOT / "gallery").glob("*/verdicts.json"))
SUMMARY_HEADER = (
    "| claim | statement | verdict | headline, mean [95% interval] | n | threshold | design "
    "| claims table |"
)


def _c4a(values: dict[int, float | str]):
    """C4a judged on hand-given per-seed statistics (a seed's str is why it was left out)."""
    per_seed = {
        s: v if isinstance(v, str) else {"largest_fall": v}
        for s, v in values.items()
    }
    return judge(DEFINITIONS["C4a/fig5"], per_seed, by_setting={"σ²=1": {"AU": math.inf}})


def _sweep() -> pd.DataFrame:
    k = np.arange(1, 6)
    return pd.DataFrame(
        {"n_latent": k, "sigma2": 0.1, "sigma2_learned": True, "elbo": -k, "log_likelihood": -k}
    )


def test_write_index_opens_with_one_summary_row_per_verdict(tmp_path: Path) -> None:
    fig5 = Rendered([tmp_path / "fig5.png", tmp_path / "fig5.pdf"], None, ["σ²=30"])
    c4a = _c4a({0: 0.01, 1: 0.02, 2: 0.03, 3: "no completed run for σ²=30"})
    c1 = compute_c1(_sweep(), DEFINITIONS["C1/fig2"])
    path = write_index(
        tmp_path,
        [
            IndexEntry("Figure 5: collapse vs ε", fig5, claims=["C4a"], verdicts=[c4a]),
            IndexEntry("Figure 2", [tmp_path / "fig2.png"], ["C1"], [c1], missing=[]),
        ],
    )
    text = path.read_text()
    assert path == tmp_path / "index.md" and (tmp_path / "verdicts.json").exists()
    summary = text.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()
    assert summary[0] == SUMMARY_HEADER and len(summary) == 2 + 2
    interval = c4a.result("largest_fall").interval
    row = summary[2].split(" | ")
    assert (
        row[0] == "| [C4a/fig5](#c4a-fig5)"
        and row[1] == "collapse rises monotonically with fixed σ²"
    )
    assert row[2] == "cannot judge" and row[4:7] == ["3", "≤ 0.05", EXPLORATORY]
    assert (
        row[3] == f"largest_fall = {interval.mean:.3g} [{interval.low:.3g}, {interval.high:.3g}]"
    )
    assert row[7] == f"`{table_hash()}` |"
    assert summary[3].startswith("| [C1/fig2](#c1-fig2) | optimal linear-VAE ELBO")
    section = text.split('<a id="c4a-fig5"></a>')[1].split("<a id=")[0]
    assert "| rises | largest_fall | ≤ 0.05 |" in section
    assert (
        "| rises (and) | overall_rise | ≥ 0.05 | n/a | 0 | n/a, n/a, n/a | not computed |"
        in section
    )
    assert "- seed 3: no completed run for σ²=30" in section and "| σ²=1 | inf |" in section
    assert "![fig5](fig5.png)" in text and "[fig5.pdf](fig5.pdf)" in text
    assert "Figure 5: collapse vs ε: σ²=30" in text.split("## Missing runs")[1]
    definitions = text.split("## Definitions")[1]
    assert f"claims table `{table_hash()}`" in definitions
    assert definitions.index("**C4a/fig5**") < definitions.index("**C1/fig2**")
    assert max(map(len, text.splitlines())) <= MAX_LINE


def test_a_verdict_that_cannot_judge_lists_its_blocking_runs_with_what_they_need(tmp_path):
    from paper_figures.claims.convergence import RunConvergence

    numbers = _c4a({0: 0.01, 1: 0.02, 2: 0.03})
    stuck = RunConvergence("runs/a", "a", 2000, 1600, {}, 100, blocks="its band could change it")
    numbers = dataclasses.replace(
        numbers,
        holds=None,
        reason="not converged: 1 of 1 runs could change the outcome, a (...)",
        convergence=(stuck,),
        as_it_stands=False,
    )
    r = record(numbers)
    (blocking,) = r.blocking
    assert blocking.needs == "more than 2000 steps"
    assert r.cause == "not converged: 1 of 1 runs could change the outcome" and r.runs == ("a",)
    assert r.as_it_stands == "fails"
    write_index(tmp_path, [IndexEntry("Figure 5", [], ["C4a"], [numbers])])
    text = (tmp_path / "index.md").read_text()
    assert (
        "| cannot judge: not converged: 1 of 1 runs could change the outcome (would fail as it "
        "stands) |" in text
    )
    assert "- `a`: not converged: its band could change it; needs more than 2000 steps" in text


def test_the_verdicts_file_round_trips_with_infinities_and_undefined_values(tmp_path):
    numbers = _c4a({0: 0.01, 1: math.nan, 2: 0.03, 3: "left out"})
    write_index(tmp_path, [IndexEntry("Figure 5", [], ["C4a"], [numbers])])
    text = (tmp_path / "verdicts.json").read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    file = loads(text)
    assert dumps(file) == text
    (r,) = file.verdicts
    assert r.by_setting == {"σ²=1": {"AU": math.inf}} and math.isnan(r.criteria[0].values[1])
    assert r.criteria[0].values[::2] == (0.01, 0.03) and r.left_out == {"3": "left out"}
    assert file.claims_table == table_hash() and file.definitions.keys() == {"C4a/fig5"}


@pytest.mark.parametrize("gallery", GALLERIES, ids=lambda p: p.name)
def test_each_gallery_index_is_its_verdicts_file_rendered(gallery: Path) -> None:
    text = (gallery / "verdicts.json").read_text(encoding="utf-8")
    file = loads(text)
    assert dumps(file) == text
    index = (gallery / "index.md").read_text(encoding="utf-8")
    assert index == render_index(file), (
        f"run `python -m paper_figures.index gallery/{gallery.name}`"
    )
    assert max(map(len, index.splitlines())) <= MAX_LINE
    summary = index.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()
    assert summary[0] == SUMMARY_HEADER and len(summary) == 2 + len(file.verdicts)


def test_a_definition_declared_before_the_runs_is_confirmatory(tmp_path):
    definition = DEFINITIONS["C4a/fig5"]
    assert design_of(definition, tmp_path) == EXPLORATORY  # nothing declared
    declare(tmp_path)
    assert design_of(definition, tmp_path) == CONFIRMATORY
    changed = dataclasses.replace(definition, min_steps=definition.min_steps + 1)
    assert design_of(changed, tmp_path) == EXPLORATORY  # changed after the runs
    # runs on seeds or a data subset the definitions were set on stay exploratory
    assert design_of(definition, tmp_path, seeds=(3, 4, 5), data_subsets=(1,)) == CONFIRMATORY
    assert design_of(definition, tmp_path, seeds=(2.0, 3, 4), data_subsets=(1,)) == EXPLORATORY
    assert design_of(definition, tmp_path, seeds=(3, 4, 5), data_subsets=(0,)) == EXPLORATORY


def test_a_bad_verdicts_file_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "verdicts.json").write_text('{"format": 99}')
    with pytest.raises(ValueError, match=r"is not a verdicts file .*format 99"):
        read(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    assert stop.value.code == 2 and "not a verdicts file" in capsys.readouterr().err


def test_check_fails_on_a_stale_index_and_passes_after_rewriting(tmp_path, capsys):
    write_index(tmp_path, [IndexEntry("Figure 5", [], ["C4a"], [_c4a({0: 0.9})])])
    (tmp_path / "index.md").write_text("stale\n")
    assert main([str(tmp_path), "--check"]) == 1 and "differs" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 0 and main([str(tmp_path), "--check"]) == 0


def test_write_index_rejects_other_entries(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="IndexEntry"):
        write_index(tmp_path, [{"title": "x"}])


def test_the_figure_registry_imports_without_torch() -> None:
    code = "import sys, paper_figures.registry; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
