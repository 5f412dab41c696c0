"""A missing or damaged data folder is the user's mistake: the entry points print its message
alone, without a traceback, and exit with status 2, as they do for config errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(module: str, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "LUCAS2019_DATA": str(cwd / "no-data")}
    return subprocess.run(
        [sys.executable, "-m", module, *overrides, f"hydra.run.dir={cwd / 'out'}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("module", ["lucas2019.train", "lucas2019.analytic"])
def test_a_missing_data_folder_is_one_line_and_exit_2(module, tmp_path):
    done = _run(module, "dataset=mnist", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Error executing job" not in done.stderr
    (line,) = [s for s in done.stderr.splitlines() if s.strip()]
    assert line.startswith(f"MNIST root='{tmp_path / 'no-data' / 'mnist'}' does not exist")


def test_a_damaged_data_file_is_one_line_and_exit_2(tmp_path):
    root = tmp_path / "mnist"
    root.mkdir()
    (root / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00")
    (root / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00")
    done = _run("lucas2019.train", "dataset=mnist", f"dataset.root={root}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = [s for s in done.stderr.splitlines() if s.strip()]
    assert "too short for an IDX header" in line and "Traceback" not in done.stderr
