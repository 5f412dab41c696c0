"""Every run records the claims table, the code and the time of its first start, and keeps them
when it is resumed or extended, trained on its own or stacked."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lucas2019 import provenance, stacked, trainer
from lucas2019.config import RunConfig
from lucas2019.results import collect_runs
from paper_figures.claims.table import table_hash

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1", "model.latent_dim=4"]
LENGTH = ["trainer.max_steps=40", "trainer.eval_every=20", "trainer.checkpoint_every=1000"]
FIRST = {
    "claims_hash": "table-then",
    "git_commit": "commit-then",
    "started_utc": "2026-01-02T03:04:05Z",
}


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def parse_utc(text: str) -> datetime.datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def head_commit() -> str | None:
    """This checkout's commit, None outside a git checkout."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def test_a_smoke_run_records_its_provenance_and_the_run_table_carries_it(linear_sweep):
    table = collect_runs(linear_sweep.root).set_index("run_name")
    for name in ("fixed/0", "learned/3", "anneal/0"):
        result = read_result(linear_sweep.root / name)
        assert result["claims_hash"] == table_hash()
        commit = head_commit()
        if commit is not None:
            assert result["git_commit"] == commit
        started = parse_utc(result["started_utc"])
        age = datetime.datetime.now(datetime.timezone.utc) - started
        assert datetime.timedelta(0) <= age < datetime.timedelta(days=1)
        for key in provenance.KEYS:
            assert table.loc[name, key] == result[key], (name, key)
    assert pd.isna(table.loc["fixed/9", "started_utc"])  # a job that never started


@pytest.fixture
def then(monkeypatch):
    """Runs starting under this fixture record :data:`FIRST` as their provenance."""
    monkeypatch.setattr(provenance, "at_start", lambda claims_hash: dict(FIRST))
    return monkeypatch


def test_a_resumed_and_an_extended_run_keep_their_first_start(
    signal_at_step, compose_train, tmp_path, then
):
    cfg = compose_train([*SMOKE, *LENGTH, f"run_dir={tmp_path}"])
    with pytest.raises(trainer.Preempted):
        trainer.train(RunConfig.from_config(cfg), tracker=signal_at_step(20))
    then.undo()  # from here on a run starting would record today's provenance
    assert {
        k: trainer.train(RunConfig.from_config(cfg))[k] for k in provenance.KEYS
    } == FIRST  # resumed
    longer = compose_train([*SMOKE, *LENGTH, "trainer.max_steps=60", f"run_dir={tmp_path}"])
    extended = trainer.train(RunConfig.from_config(longer))
    assert extended["extended_from"] == 40
    assert {k: extended[k] for k in provenance.KEYS} == FIRST
    fresh_cfg = compose_train([*SMOKE, *LENGTH, f"run_dir={tmp_path / 'fresh'}"])
    fresh = trainer.train(RunConfig.from_config(fresh_cfg, claims_hash="table-now"))
    assert fresh["claims_hash"] == "table-now" and fresh["started_utc"] != FIRST["started_utc"]


def test_a_run_started_without_the_claims_hash_records_it_null_and_the_rest(
    compose_train, tmp_path
):
    """The library records what it has: the claims table is read by the commands above it."""
    result = trainer.train(
        RunConfig.from_config(compose_train([*SMOKE, *LENGTH, f"run_dir={tmp_path}"]))
    )
    assert result["claims_hash"] is None
    parse_utc(result["started_utc"])
    assert result["git_commit"] == provenance.git_commit()


def test_the_train_command_records_the_claims_tables_hash(tmp_path):
    command = [sys.executable, "-m", "lucas2019.train", *SMOKE, *LENGTH]
    done = subprocess.run(
        [*command, f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_result(tmp_path)["claims_hash"] == table_hash()


def test_stacked_members_record_and_keep_their_provenance(compose_train, tmp_path, then):
    cfgs = [
        compose_train([*SMOKE, *LENGTH, f"seed={seed}", f"run_dir={tmp_path / str(seed)}"])
        for seed in (0, 1)
    ]
    for outcome in stacked.train_group(
        [stacked.Member(RunConfig.from_config(cfg)) for cfg in cfgs]
    ):
        assert {k: outcome[k] for k in provenance.KEYS} == FIRST
    then.undo()
    longer = [
        compose_train([*SMOKE, *LENGTH, "trainer.max_steps=60", f"seed={seed}",
                       f"run_dir={tmp_path / str(seed)}"])
        for seed in (0, 1)
    ]  # fmt: skip
    for outcome in stacked.train_group(
        [stacked.Member(RunConfig.from_config(cfg)) for cfg in longer]
    ):
        assert outcome["extended_from"] == 40
        assert {k: outcome[k] for k in provenance.KEYS} == FIRST


def test_git_commit_falls_back_to_the_package_version(monkeypatch, tmp_path):
    from importlib.metadata import version

    provenance.git_commit.cache_clear()
    try:
        monkeypatch.setattr(provenance, "_PACKAGE_ROOT", tmp_path)  # not a checkout
        assert provenance.git_commit() == version("lucas2019")
        provenance.git_commit.cache_clear()

        def no_git(*args, **kwargs):
            raise FileNotFoundError("git")

        monkeypatch.setattr(subprocess, "run", no_git)
        assert provenance.git_commit() == version("lucas2019")
    finally:
        provenance.git_commit.cache_clear()


def test_utc_now_is_iso_8601_utc_to_the_second():
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    now = parse_utc(provenance.utc_now())
    after = datetime.datetime.now(datetime.timezone.utc)
    assert before <= now <= after
