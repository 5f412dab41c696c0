"""A run folder knows what it holds: fingerprint, refusal, extension, damaged checkpoints, exits."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lucas2019 import data, run_folder, trainer, training_loop
from lucas2019.config import RunConfig
from lucas2019.data import mnist
from lucas2019.data.idx import write_idx
from lucas2019.run_folder import CheckpointUnreadable, RunRefused
from lucas2019.tracking import Tracker

SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1", "model.latent_dim=8"]
TRAIN = [sys.executable, "-m", "lucas2019.train"]
#: the files a refused rerun must leave exactly as they were
WATCHED = ("config.yaml", "metrics.csv", "result.json", *run_folder.CHECKPOINT_FILES)


class StopAt(Tracker):
    """Sends SIGTERM to this process when the evaluation row of ``step`` is logged."""

    def __init__(self, step: int) -> None:
        self.step = step

    def log_metrics(self, row: dict, step: int) -> None:
        if step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def stopped_run(compose_train, run_dir: Path, overrides: list[str], step: int) -> None:
    """A run folder stopped by SIGTERM at ``step`` (checkpoint saved, no result.json)."""
    cfg = compose_train([*SMOKE, *overrides, f"run_dir={run_dir}"])
    with pytest.raises(trainer.Preempted):
        trainer.train(RunConfig.from_config(cfg), tracker=StopAt(step))


def file_hashes(run_dir: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
        for name in WATCHED
        if (run_dir / name).exists()
    }


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TRAIN, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


# --- fingerprint and comparison --------------------------------------------------------------


def test_data_hash_changes_with_bytes_shape_dtype_and_the_test_split():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    same = run_folder.data_sha256(x.copy(), None)
    assert run_folder.data_sha256(x, None) == same
    y = x.copy()
    y[2, 1] += 1e-6
    others = {
        run_folder.data_sha256(y, None),
        run_folder.data_sha256(x.reshape(3, 4), None),
        run_folder.data_sha256(x.astype(np.float64), None),
        run_folder.data_sha256(x, x[:1]),
        run_folder.data_sha256(x[:, ::-1], None),
    }
    assert same not in others and len(others) == 5


def test_differences_name_each_key_with_both_values():
    recorded = {"likelihood.sigma2": 1.0, "seed": 0, "optim.lr": 5e-4}
    current = {"likelihood.sigma2": 0.01, "seed": 0, "model.latent_dim": 8}
    assert run_folder.differences(recorded, current) == {
        "likelihood.sigma2": (1.0, 0.01),
        "model.latent_dim": ("(not recorded)", 8),
        "optim.lr": (5e-4, "(not recorded)"),
    }
    assert run_folder.differences(recorded, dict(recorded)) == {}


def _fake_mnist(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for split, n in (("train", 12), ("test", 4)):
        images, labels = mnist.FILES[split]
        write_idx(folder / f"{images}.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{labels}.gz", rng.integers(0, 10, n, dtype=np.uint8))


def test_the_data_enter_by_content_not_by_path(compose_train, tmp_path):
    """The same files under two paths give one fingerprint; other files under a path do not."""
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        (tmp_path / name).mkdir()
        _fake_mnist(tmp_path / name, seed)

    def run(root: str) -> tuple:
        cfg = compose_train(
            [
                *SMOKE,
                "dataset=mnist",
                f"dataset.root={root}",
                "dataset.n_train=null",
                "dataset.n_test=null",
                "model=linear_vae",
                "trainer.max_steps=5",
                f"run_dir={tmp_path / 'run'}",
            ]
        )
        x_train, x_test = data.load_for_run(cfg.dataset)[1:]
        return cfg, run_folder.fingerprint(RunConfig.from_config(cfg), x_train, x_test)

    cfg_a, fp_a = run(str(tmp_path / "a"))
    cfg_b, fp_b = run(str(tmp_path / "b" / ".." / "b"))
    assert fp_a == fp_b
    trainer.train(RunConfig.from_config(cfg_a))
    # reused: the same data under another path
    assert trainer.train(RunConfig.from_config(cfg_b))["step"] == 5
    cfg_c, fp_c = run(str(tmp_path / "c"))
    assert run_folder.differences(fp_a, fp_c).keys() == {run_folder.DATA_KEY}
    before = file_hashes(tmp_path / "run")
    with pytest.raises(RunRefused, match=r"data\.sha256: .* \(the loaded data differ"):
        trainer.train(RunConfig.from_config(cfg_c))
    assert file_hashes(tmp_path / "run") == before


# --- reruns: refuse, reuse, extend ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "steps", "max_steps", "decision"),
    [
        ("completed", 40, 40, "reuse"),
        ("completed", 40, 80, "extend"),
        ("completed", 40, 20, "reuse"),  # extended since: never shortened, kept as it is
        ("diverged", 25, 80, "reuse"),  # it would diverge at step 26 again
        ("diverged", 25, 25, "refuse"),  # 25 steps complete: a shorter run than the folder's
        ("diverged", 25, 20, "refuse"),  # never completed 20 steps on its own: not that run
        ("extended, diverged", 25, 20, "reuse"),  # completed 20 steps, diverged when extended
        ("extended, diverged", 25, 10, "reuse"),
        ("extended, diverged", 25, 24, "refuse"),  # extended from 20 steps: never ran 24
        ("failed", None, 40, "train"),  # a failed job's result.json describes no run
    ],
)
def test_what_a_rerun_does_with_a_result_of_the_same_fingerprint(
    compose_train, tmp_path, caplog, status, steps, max_steps, decision
):
    cfg = compose_train([*SMOKE, f"trainer.max_steps={max_steps}", f"run_dir={tmp_path}"])
    current = {"likelihood.sigma2": 1.0, run_folder.DATA_KEY: "ab"}
    result = {"status": status.split(", ")[-1], "step": steps}
    if status.startswith("extended"):
        result["extended_from"] = 20
    if status != "failed":
        result[run_folder.FINGERPRINT_KEY] = current
    (tmp_path / "result.json").write_text(json.dumps(result))
    if decision == "refuse":
        with pytest.raises(RunRefused, match="a run cannot be shortened"):
            run_folder.check_rerun(tmp_path, RunConfig.from_config(cfg), current)
        return
    with caplog.at_level(logging.WARNING, logger="lucas2019.run_folder"):
        rerun = run_folder.check_rerun(tmp_path, RunConfig.from_config(cfg), current)
    assert not caplog.records
    assert rerun.reuse == (result if decision == "reuse" else None)
    assert rerun.extends == (steps if decision == "extend" else None)


def test_a_folder_without_a_fingerprint_is_used_with_a_warning(compose_train, tmp_path, caplog):
    """Run folders written before fingerprints were recorded cannot be checked; they are used."""
    cfg = compose_train([*SMOKE, "trainer.max_steps=40", f"run_dir={tmp_path}"])
    (tmp_path / "config.yaml").write_text("trainer:\n  max_steps: 40\n")
    (tmp_path / "result.json").write_text(json.dumps({"status": "completed", "step": 40}))
    with caplog.at_level(logging.WARNING, logger="lucas2019.run_folder"):
        rerun = run_folder.check_rerun(tmp_path, RunConfig.from_config(cfg), {"seed": 0})
    assert rerun.reuse == {"status": "completed", "step": 40}
    (warning,) = caplog.records
    assert "before run folders recorded a fingerprint" in warning.getMessage()


def test_a_changed_sigma2_on_resume_is_refused_with_exit_2_and_nothing_changes(
    compose_train, tmp_path
):
    run_dir = tmp_path / "run"
    stopped_run(compose_train, run_dir, ["trainer.max_steps=40"], step=20)
    before = file_hashes(run_dir)
    assert set(before) == {"config.yaml", "metrics.csv", "checkpoint.pt", "checkpoint.previous.pt"}

    done = cli(
        *SMOKE,
        "trainer.max_steps=40",
        "likelihood.sigma2=0.01",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "likelihood.sigma2: 1.0 -> 0.01" in done.stderr
    assert "new run folder" in done.stderr and "likelihood.sigma2=1.0" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert file_hashes(run_dir) == before


def test_a_completed_folder_refuses_another_sigma2_and_reuses_the_same_config(
    compose_train, tmp_path, monkeypatch
):
    overrides = [*SMOKE, "trainer.max_steps=20", f"run_dir={tmp_path}"]
    first = trainer.train(RunConfig.from_config(compose_train(overrides)))
    before = file_hashes(tmp_path)
    with pytest.raises(RunRefused, match=r"likelihood\.sigma2: 1\.0 -> 0\.1\b"):
        trainer.train(RunConfig.from_config(compose_train([*overrides, "likelihood.sigma2=0.1"])))
    assert file_hashes(tmp_path) == before

    def no_training(*args, **kwargs):
        raise AssertionError("a completed run of the same config was trained again")

    monkeypatch.setattr(training_loop.TrainingLoop, "run", no_training)
    assert trainer.train(RunConfig.from_config(compose_train(overrides))) == first
    assert file_hashes(tmp_path) == before


def test_extending_a_completed_run_equals_an_uninterrupted_run(compose_train, tmp_path):
    common = [*SMOKE, "trainer.eval_every=50", "trainer.checkpoint_every=75", "optim.batch_size=64"]

    def config(steps: int, name: str):
        return compose_train([*common, f"trainer.max_steps={steps}", f"run_dir={tmp_path / name}"])

    reference = trainer.train(RunConfig.from_config(config(400, "reference")))
    short = trainer.train(RunConfig.from_config(config(200, "extended")))
    assert short["step"] == 200 and short["extended_from"] is None
    extended = trainer.train(RunConfig.from_config(config(400, "extended")))
    assert extended["step"] == 400 and extended["extended_from"] == 200
    assert read_result(tmp_path / "extended") == extended
    np.testing.assert_allclose(extended["elbo"], reference["elbo"], rtol=1e-6)
    np.testing.assert_allclose(
        extended["kl_per_latent"], reference["kl_per_latent"], rtol=1e-6, atol=1e-9
    )
    metrics = [
        pd.read_csv(tmp_path / name / "metrics.csv").drop(columns="wall_time_s")
        for name in ("reference", "extended")
    ]
    pd.testing.assert_frame_equal(metrics[1], metrics[0], rtol=1e-6)
    steps = [
        torch.load(tmp_path / "extended" / name, weights_only=False)["step"]
        for name in run_folder.CHECKPOINT_FILES
    ]
    assert steps == [400, 375]  # the final checkpoint and the one before it

    # a shorter length reuses the longer run as it is: never shortened, nothing written
    before = file_hashes(tmp_path / "extended")
    assert trainer.train(RunConfig.from_config(config(300, "extended"))) == extended
    assert file_hashes(tmp_path / "extended") == before


def test_a_schedule_relative_to_max_steps_is_refused_with_its_reason_and_extends_when_pinned(
    compose_train, tmp_path
):
    rule = [*SMOKE, "sigma2_rule=learned_then_optimal", "trainer.eval_every=20"]

    def config(steps: int, name: str, *extra: str):
        return compose_train(
            [*rule, f"trainer.max_steps={steps}", f"run_dir={tmp_path / name}", *extra]
        )

    # σ² switches to the closed form at step 20
    trainer.train(RunConfig.from_config(config(40, "run")))
    before = file_hashes(tmp_path / "run")
    with pytest.raises(RunRefused) as refused:
        trainer.train(RunConfig.from_config(config(80, "run")))
    message = str(refused.value)
    assert "likelihood.sigma2_switch_step: 20 -> 40 (follows trainer.max_steps)" in message
    assert "likelihood.sigma2_switch_step=20" in message
    assert file_hashes(tmp_path / "run") == before

    pinned = "likelihood.sigma2_switch_step=20"
    extended = trainer.train(RunConfig.from_config(config(80, "run", pinned)))
    reference = trainer.train(RunConfig.from_config(config(80, "reference", pinned)))
    assert extended["extended_from"] == 40
    np.testing.assert_allclose(extended["elbo"], reference["elbo"], rtol=1e-6)
    np.testing.assert_allclose(extended["sigma2"], reference["sigma2"], rtol=1e-6)


# --- damaged files ---------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_save_stopped_before_its_last_rename_leaves_the_newest_checkpoint_whole(
    tmp_path, monkeypatch
):
    """A process killed while saving (here: at the rename of the new file over the newest) still
    leaves checkpoint.pt, the newest whole checkpoint, where readers look first."""
    run_folder.save_checkpoint(tmp_path, {"step": 10})
    newest = tmp_path / run_folder.CHECKPOINT_FILES[0]
    replace = os.replace

    def killed_at_the_new_file(src, dst):
        if Path(dst) == newest:
            raise KeyboardInterrupt  # as a signal that ends the process there
        replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_the_new_file)
    with pytest.raises(KeyboardInterrupt):
        run_folder.save_checkpoint(tmp_path, {"step": 20})
    monkeypatch.setattr(os, "replace", replace)
    assert torch.load(newest, weights_only=False)["step"] == 10
    assert torch.load(tmp_path / run_folder.CHECKPOINT_FILES[1], weights_only=False)["step"] == 10


def test_checkpoints_rotate_and_a_damaged_newest_falls_back_to_the_previous(
    compose_train, tmp_path, caplog
):
    cfg = compose_train([*SMOKE, f"run_dir={tmp_path}"])
    current = {"seed": 0}
    for step in (10, 20):
        run_folder.save_checkpoint(tmp_path, {"step": step, run_folder.FINGERPRINT_KEY: current})
    newest, previous = (tmp_path / name for name in run_folder.CHECKPOINT_FILES)

    def step_of(payload: dict) -> int:
        return payload["step"]

    assert run_folder.load_checkpoint(tmp_path, RunConfig.from_config(cfg), current, step_of) == 20

    _truncate(newest)
    with caplog.at_level(logging.WARNING, logger="lucas2019.run_folder"):
        assert (
            run_folder.load_checkpoint(tmp_path, RunConfig.from_config(cfg), current, step_of) == 10
        )
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(newest) in warning and str(previous) in warning

    _truncate(previous)
    with pytest.raises(CheckpointUnreadable) as error:
        run_folder.load_checkpoint(tmp_path, RunConfig.from_config(cfg), current, step_of)
    message = str(error.value)
    assert str(newest) in message and str(previous) in message and "rm " in message
    assert "\n" not in message


def test_a_damaged_newest_checkpoint_falls_back_and_the_run_completes(compose_train, tmp_path):
    overrides = ["trainer.max_steps=40", "trainer.eval_every=15", "trainer.checkpoint_every=10"]
    reference = trainer.train(
        RunConfig.from_config(compose_train([*SMOKE, *overrides, f"run_dir={tmp_path / 'ref'}"]))
    )
    run_dir = tmp_path / "run"
    stopped_run(compose_train, run_dir, overrides, step=15)  # checkpoints at 10 and 15
    newest, previous = (run_dir / name for name in run_folder.CHECKPOINT_FILES)
    _truncate(newest)

    done = cli(*SMOKE, *overrides, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    (warning,) = [line for line in output.splitlines() if "does not load" in line]
    assert str(newest) in warning and str(previous) in warning
    result = read_result(run_dir)
    assert result["status"] == "completed" and result["step"] == 40
    np.testing.assert_allclose(result["elbo"], reference["elbo"], rtol=1e-6)


def test_no_loadable_checkpoint_exits_1_with_one_clear_message(compose_train, tmp_path):
    run_dir = tmp_path / "run"
    stopped_run(compose_train, run_dir, ["trainer.max_steps=40"], step=30)
    for name in run_folder.CHECKPOINT_FILES:
        _truncate(run_dir / name)

    done = cli(*SMOKE, "trainer.max_steps=40", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    (message,) = done.stderr.strip().splitlines()
    assert message.startswith(f"no checkpoint in {run_dir} loads")
    assert f"rm {run_dir / 'checkpoint.pt'} {run_dir / 'checkpoint.previous.pt'}" in message


def test_a_truncated_result_json_is_not_completed_and_a_rerun_completes_it(compose_train, tmp_path):
    cfg = compose_train([*SMOKE, "trainer.max_steps=20", f"run_dir={tmp_path}"])
    first = trainer.train(RunConfig.from_config(cfg))
    _truncate(tmp_path / "result.json")
    assert run_folder.finished_result(tmp_path) is None
    # resumes from the final checkpoint: nothing left to train
    again = trainer.train(RunConfig.from_config(cfg))
    assert read_result(tmp_path) == again
    np.testing.assert_allclose(again["elbo"], first["elbo"], rtol=1e-6)


# --- the command line ------------------------------------------------------------------------


def test_a_config_error_exits_2_with_one_line_on_stderr(tmp_path):
    done = cli(*SMOKE, "likelihood.sigma2=-1", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("config key 'likelihood.sigma2' = -1.0 is invalid")
    assert "Traceback" not in done.stdout
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_a_longer_sweep_extends_its_runs_in_place_and_a_changed_one_is_refused(tmp_path):
    sweep = tmp_path / "sweep"

    def launch(*overrides: str) -> subprocess.CompletedProcess:
        grid = ("-m", "likelihood.sigma2=1,0.1")
        return cli(*grid, *SMOKE, *overrides, f"hydra.sweep.dir={sweep}", cwd=tmp_path)

    assert launch("trainer.max_steps=20").returncode == 0
    folders = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert folders == [
        "0_likelihood.sigma2=1,model.latent_dim=8",
        "1_likelihood.sigma2=0.1,model.latent_dim=8",
    ]

    done = launch("trainer.max_steps=40", "trainer.eval_every=20")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == folders
    for name in folders:
        result = read_result(sweep / name)
        assert result["step"] == 40 and result["extended_from"] == 20

    before = {name: file_hashes(sweep / name) for name in folders}
    done = launch("trainer.max_steps=40", "trainer.kl_anneal_steps=10")
    assert done.returncode == 1
    assert f"sweep {sweep}: 2 jobs, 0 completed" in done.stdout and "2 refused" in done.stdout
    assert "REFUSED: likelihood.sigma2=1" in done.stdout
    assert "trainer.kl_anneal_steps: 0 -> 10" in done.stdout
    assert {name: file_hashes(sweep / name) for name in folders} == before
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert [job["status"] for job in summary["jobs"]] == ["refused", "refused"]

    assert launch("trainer.max_steps=40").returncode == 0  # the folders' own config: reused
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert summary["counts"]["completed"] == 2 and summary["counts"]["refused"] == 0
