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
    design_of,
    dumps,
    loads,
    read,
    record,
    started_of,
)

ROOT = Path(__file__).resolve().parents[1]
GALLERIES = sorted(p.parent for p in (ROOT / "gallery").glob("*/verdicts.json"))
SUMMARY_HEADER = (
    "| claim | statement | verdict | headline, mean [95% interval] | n | threshold | design "
    "| claims table |"
)


def _c4a(values: dict[int, float | str]):
    """C4a judged on hand-given per-seed statistics (a seed's str is why it was left out)."""
    per_seed = {s: v if isinstance(v, str) else {"largest_fall": v} for s, v in values.items()}
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
    seeds_why = "seeds 0, 1, 2 are ones the definitions were set on"
    # overall_rise was not given: the cell says what is missing
    assert row[2] == "cannot judge: a statistic without a value on enough seeds"
    assert row[4:7] == ["3", "≤ 0.05", f"{EXPLORATORY} ({seeds_why})"]
    assert row[3] == f"largest_fall = {interval.mean:.3g} [{interval.low:.3g}, {interval.high:.3g}]"
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
        reason="not converged: 1 of 1 runs could still change it, a (...)",
        convergence=(stuck,),
        as_it_stands=False,
    )
    r = record(numbers)
    (blocking,) = r.blocking
    assert blocking.needs == "more than 2000 steps"
    assert r.cause == "not converged: 1 of 1 runs could still change it" and r.runs == ("a",)
    assert r.as_it_stands == "fails"
    write_index(tmp_path, [IndexEntry("Figure 5", [], ["C4a"], [numbers])])
    text = (tmp_path / "index.md").read_text()
    assert (
        "| cannot judge: not converged: 1 of 1 runs could still change it (would fail as it "
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


def _runs_table(started: list[str | None], seeds=(3, 4, 5), subset=1) -> pd.DataFrame:
    """A synthetic run table: one run per (seed, start), its first start ``started_utc``."""
    return pd.DataFrame(
        {
            "run_dir": [f"runs/fig5/{i}" for i in range(len(started))],
            "seed": [seeds[i % len(seeds)] for i in range(len(started))],
            "subset_seed": subset,
            "started_utc": started,
        }
    )


def _judged_on(numbers, runs: pd.DataFrame):
    """``numbers`` as computed from ``runs``: one converged check per run (the runs it read)."""
    from paper_figures.claims.convergence import RunConvergence

    checks = tuple(RunConvergence(d, d, 2000, 0.0, 0.0, 10, True, "") for d in runs["run_dir"])
    return dataclasses.replace(numbers, convergence=checks)


DEFINITION = dataclasses.replace(DEFINITIONS["C4a/fig5"], declared="2026-12-07T09:20Z")
AFTER, BEFORE = "2026-12-07T09:21:00Z", "2026-12-07T09:19:59Z"


def _design(runs: pd.DataFrame, seeds=(3, 4, 5), subsets=(1,)):
    started = dict(zip(runs["run_dir"], runs["started_utc"], strict=True))
    numbers = _judged_on(_c4a({s: 0.95 for s in seeds}), runs)
    return design_of(DEFINITION, started_of(numbers, started), seeds, subsets)


def test_runs_started_after_the_log_entry_on_unseen_seeds_and_data_are_confirmatory():
    design = _design(_runs_table([AFTER] * 6))
    assert (design.design, design.why, design.notes) == (CONFIRMATORY, "", ())
    # a date alone declares the end of that day: a run later that day came before it
    dated = dataclasses.replace(DEFINITION, declared="2026-12-07")
    assert design_of(dated, [AFTER], (3,), (1,)).why == (
        "1 run started before the definition's log entry (2026-12-07)"
    )
    assert design_of(dated, ["2026-12-08T00:00:01Z"], (3,), (1,)).design == CONFIRMATORY


def test_runs_started_before_the_log_entry_make_it_exploratory_and_say_so_in_the_notes():
    design = _design(_runs_table([AFTER, BEFORE, BEFORE, AFTER, DEFINITION.declared, AFTER]))
    assert design.design == EXPLORATORY
    # started exactly at the entry's time did not start after it
    assert design.why == "3 runs started before the definition's log entry (2026-12-07 09:20 UTC)"
    assert design.notes == (
        "3 of the 6 runs read started before the definition's log entry (2026-12-07 09:20 UTC): "
        "it may have been set after seeing them",
    )


def test_runs_without_a_recorded_start_are_exploratory():
    runs = _runs_table([AFTER, None, math.nan, "not a time"])
    assert _design(runs).why == "3 runs without a recorded start"
    numbers = _judged_on(_c4a({3: 0.9}), runs)
    assert started_of(numbers, {}) == [None] * 4  # runs missing from the table have none


def test_seeds_or_data_the_definitions_were_set_on_are_exploratory():
    runs = _runs_table([AFTER] * 3)
    assert _design(runs, seeds=(2.0, 3, 4)).why == "seed 2 is one the definitions were set on"
    assert (
        _design(runs, seeds=(0, 1, 2)).why == "seeds 0, 1, 2 are ones the definitions were set on"
    )
    assert _design(runs, subsets=(0, 1)).why == "data subset 0 is one the definitions were set on"
    every = design_of(DEFINITION, [BEFORE, None], (0, 5), (0,))
    assert every.why == (
        "1 run started before the definition's log entry (2026-12-07 09:20 UTC); 1 run without a "
        "recorded start; seed 0 is one the definitions were set on; data subset 0 is one the "
        "definitions were set on"
    )
    # a closed form reads no run: its seeds and data decide
    assert design_of(DEFINITIONS["C1/fig2"], [], (), (1,)).design == CONFIRMATORY


def test_an_exploratory_verdict_says_why_in_its_file_index_md_and_readme(tmp_path):
    from paper_figures.verdict_table import render_table

    # C4a/fig5 as the table declares it: at 08:40 UTC on 2026-12-07; one run started before
    runs = _runs_table(["2026-12-07T08:30:00Z", AFTER, AFTER], seeds=(0, 1, 2))
    falls = {s: {"largest_fall": f, "overall_rise": 0.8} for s, f in enumerate((0.01, 0.02, 0.03))}
    numbers = _judged_on(judge(DEFINITIONS["C4a/fig5"], falls), runs)
    started = dict(zip(runs["run_dir"], runs["started_utc"], strict=True))
    write_index(tmp_path, [IndexEntry("Figure 5", [], ["C4a"], [numbers])], started, [1])
    (r,) = read(tmp_path).verdicts
    why = (
        "1 run started before the definition's log entry (2026-12-07 08:40 UTC); seeds 0, 1, 2 "
        "are ones the definitions were set on"
    )
    assert r.design == EXPLORATORY and r.design_why == why
    assert any("started before the definition's log entry" in n for n in r.notes)
    text = (tmp_path / "index.md").read_text()
    summary = text.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()
    assert summary[2].split(" | ")[6] == f"exploratory ({why})"
    assert f"Exploratory ({why}); measure" in " ".join(text.split())
    readme = render_table({tmp_path.name: read(tmp_path)})
    assert f"**holds**, exploratory ({why})" in readme


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


def test_a_share_of_latents_gets_sheppards_interval_clipped_and_the_index_names_it(tmp_path):
    from scipy import stats as scipy_stats

    per_seed = {s: {"reduction": r, "left_at_largest": 0.0} for s, r in enumerate([0.7, 0.8, 0.9])}
    numbers = judge(DEFINITIONS["C5/fig6"], per_seed, k=32)
    left = numbers.result("left_at_largest").interval
    # identical seeds: the t interval of variance (1/32)²/12, its lower end clipped at 0
    half = scipy_stats.t.ppf(0.975, 2) * math.sqrt((1 / 32) ** 2 / 12 / 3)
    assert (left.low, left.high) == (0.0, pytest.approx(half))
    assert left.method == "Student t + Sheppard 1/32, clipped to [0, 1]"
    assert numbers.result("reduction").interval.method == "Student t"  # neither bounded nor a share
    without_k = judge(DEFINITIONS["C5/fig6"], per_seed).result("left_at_largest").interval
    assert (without_k.low, without_k.high, without_k.method) == (
        0.0,
        0.0,
        "Student t, clipped to [0, 1]",
    )
    write_index(tmp_path, [IndexEntry("Figure 6", [], ["C5"], [numbers])])
    file = read(tmp_path / "verdicts.json")
    (criterion,) = [c for c in file.verdicts[0].criteria if c.statistic == "left_at_largest"]
    assert criterion.method == left.method
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert f"0 [0, {half:.3g}] (Student t + Sheppard 1/32, clipped to [0, 1])" in index
    assert "0.8 [0.552, 1.05] |" in index  # a plain t interval reads as before
