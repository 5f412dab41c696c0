"""A user's mistake at an entry point (a missing or damaged data folder, a run_dir override):
its message alone, without a traceback, and exit status 2, as for config errors."""

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


def test_a_run_dir_on_the_command_line_is_refused_with_the_keys_that_choose_the_folder(tmp_path):
    """Hydra's output folder is the run folder: a run_dir override would be silently ignored."""
    done = _run("lucas2019.train", "scale=smoke", f"run_dir={tmp_path / 'x'}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "hydra.run.dir=PATH" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()
