"""The run-folder schema agrees with what the trainer writes, what collect_runs makes of it, what
W&B gets and what the docs say."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
import yaml

from lucas2019 import run_schema
from lucas2019.results import collect_runs
from lucas2019.run_schema import (
    CONFIG_COLUMNS,
    LONG_TABLE_ID_COLUMNS,
    METRICS_CSV,
    METRICS_CSV_COLUMNS,
    RESULT_JSON,
    RESULT_JSON_KEYS,
    RUN_TABLE,
    RUN_TABLE_COLUMNS,
    TIDY_METRICS,
    WANDB_SUMMARY_KEYS,
)

REPO = Path(__file__).resolve().parents[1]
# what each value type may hold in a file (None: the key's "null when ..." case)
PYTHON_TYPES = {
    run_schema.INT: int,
    run_schema.FLOAT: (int, float),
    run_schema.TEXT: str,
    run_schema.FLOATS: list,
    run_schema.TEXTS: list,
    run_schema.MAPPING: dict,
}


def run_folders(sweep) -> list[Path]:
    """The sweep's trained folders: fixed and learned σ², and the annealed run."""
    return [sweep.root / name for name in ("fixed/0", "learned/3", "anneal/0")]


def test_a_real_run_writes_exactly_the_schema_columns_and_keys(linear_sweep):
    for folder in run_folders(linear_sweep):
        with (folder / "metrics.csv").open() as f:
            header = next(csv.reader(f))
        assert tuple(header) == METRICS_CSV_COLUMNS, folder
        result = json.loads((folder / "result.json").read_text())
        assert sorted(result) == sorted(RESULT_JSON_KEYS), folder
        for key in RESULT_JSON:
            value = result[key.name]
            assert value is None or isinstance(value, PYTHON_TYPES[key.kind]), (key, value)
            if key.kind == run_schema.FLOATS:
                assert all(isinstance(v, int | float) for v in value), key
        assert result["sigma2"] is not None and result["elbo_test"] is not None


def test_collect_runs_columns_and_values_come_from_the_schema(linear_sweep):
    table = collect_runs(linear_sweep.root)
    assert tuple(table.columns) == RUN_TABLE_COLUMNS
    table = table.set_index("run_name")
    for folder in run_folders(linear_sweep):
        row = table.loc[str(folder.relative_to(linear_sweep.root))]
        result = json.loads((folder / "result.json").read_text())
        for key in (k for k in RESULT_JSON if k.column is not None):
            value, cell = result[key.name], row[key.column]
            if value is None:
                assert cell is None or math.isnan(cell), key
            elif key.kind in (run_schema.FLOATS, run_schema.TEXT):
                assert cell == value, key
            else:
                assert cell == float(value), key
        config = yaml.safe_load((folder / "config.yaml").read_text())
        for col in CONFIG_COLUMNS:
            value = config
            for part in col.path:
                value = value.get(part) if isinstance(value, dict) else None
            if col.kind == run_schema.TEXT or value is None:
                assert row[col.name] == value, col
            else:
                assert row[col.name] == float(value), col


def test_every_wandb_summary_key_is_a_result_key(linear_sweep):
    result = json.loads((linear_sweep.root / "fixed/0/result.json").read_text())
    assert WANDB_SUMMARY_KEYS and set(WANDB_SUMMARY_KEYS) <= set(result)
    assert {"sigma2", "sigma2_optimal", "elbo", "status"} <= set(WANDB_SUMMARY_KEYS)


@pytest.mark.parametrize(
    "keys", [METRICS_CSV, RESULT_JSON, RUN_TABLE], ids=["metrics.csv", "result.json", "run table"]
)
def test_names_are_unique_and_every_key_says_its_type_and_meaning(keys):
    names = [k.name for k in keys]
    assert len(names) == len(set(names))
    for key in keys:
        assert key.kind in PYTHON_TYPES and key.meaning, key


def test_long_tables_and_tidy_use_run_table_columns():
    assert set(LONG_TABLE_ID_COLUMNS) <= set(RUN_TABLE_COLUMNS)
    assert set(TIDY_METRICS) <= set(RUN_TABLE_COLUMNS)
    columns = [k.column for k in RESULT_JSON if k.column is not None]
    assert len(columns) == len(set(columns)) and set(columns) <= set(RUN_TABLE_COLUMNS)


def test_the_docs_say_what_the_schema_says():
    reference = (REPO / "docs" / "run_folder.md").read_text(encoding="utf-8")
    assert reference == run_schema.reference_markdown(), (
        "docs/run_folder.md is stale: python -m lucas2019.run_schema > docs/run_folder.md"
    )
    wandb_doc = (REPO / "docs" / "wandb.md").read_text(encoding="utf-8")
    summary_row = next(line for line in wandb_doc.splitlines() if line.startswith("| run summary"))
    listed = summary_row.split("|")[2].split(":")[0]  # | where | keys: what they are | source |
    assert re.findall(r"`([^`]+)`", listed) == list(WANDB_SUMMARY_KEYS)
