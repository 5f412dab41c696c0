"""W&B tracking: offline sweeps read back from the run files, no network when disabled, fallbacks.

The offline W&B run is read back from its ``run-*.wandb`` file (a LevelDB-style log of protobuf
records; wandb 0.31 writes no wandb-summary.json offline), so the checks see what ``wandb sync``
would upload, not what the tracker meant to send.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from lucas2019 import tracking, trainer
from lucas2019.config import RunConfig
from lucas2019.run_schema import WANDB_SUMMARY_KEYS
from lucas2019.tracking import WandbTracker, image_grids, wandb_mode

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["scale=smoke", "trainer.progress=false", "torch_threads=1"]
# torch_threads would appear in the run names; OMP_NUM_THREADS=1 in the env does the same job
SWEEP_SMOKE = ["scale=smoke", "trainer.progress=false"]
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 characters, never valid
DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


# --- reading an offline run back -----------------------------------------------------------------


def wandb_records(path: Path) -> list:
    """Every protobuf Record of a ``run-*.wandb`` file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    block, header = 32768, 7
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    pos, pending, out = header, b"", []
    while pos + header <= len(data):
        if block - pos % block < header:  # a block tail too short for a header is padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        chunk = data[pos + header : pos + header + length]
        pos += header + length
        if kind == 0 and length == 0:  # zero padding up to the end of the block
            pos += -pos % block
            continue
        if kind in (1, 2):  # full, first
            pending = chunk
        else:  # middle, last
            pending += chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def read_offline_run(folder: Path) -> dict:
    """run record fields, config, final summary (keys joined by '/') and history rows."""
    (log_file,) = folder.glob("run-*.wandb")
    run, config, summary, history = None, {}, {}, []
    for record in wandb_records(log_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            for item in run.config.update:
                config[item.key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                key = "/".join(item.nested_key) if item.nested_key else item.key
                summary[key] = json.loads(item.value_json)
        elif kind == "history":
            history.append(
                {
                    "/".join(i.nested_key) if i.nested_key else i.key: json.loads(i.value_json)
                    for i in record.history.item
                }
            )
    assert run is not None, f"no run record in {log_file}"
    return {
        "id": run.run_id,
        "name": run.display_name,
        "group": run.run_group,
        "job_type": run.job_type,
        "project": run.project,
        "config": config,
        "summary": summary,
        "history": history,
    }


def wandb_env(tmp_path: Path, **extra: str) -> dict:
    """A subprocess environment with W&B's folders in tmp_path and no credentials or mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    home = tmp_path / "wandb_home"
    home.mkdir(exist_ok=True)
    env.update(
        WANDB_DIR=str(home),
        WANDB_CONFIG_DIR=str(home),
        WANDB_CACHE_DIR=str(home),
        WANDB_DATA_DIR=str(home),
        WANDB_ARTIFACT_DIR=str(home),
        NETRC=str(home / "netrc"),
        OMP_NUM_THREADS="1",
        **extra,
    )
    return env


# --- end to end: an offline two-job sweep --------------------------------------------------------


def test_offline_sweep_makes_one_wandb_run_per_job_with_the_final_metrics(tmp_path):
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        "experiment=fig5_fixed_sigma",
        *SWEEP_SMOKE,
        "logger=wandb",
        "logger.mode=offline",
        "likelihood.sigma2=10,0.01",
        "seed=0",  # one seed of the preset's seed sweep
        f"hydra.sweep.dir={sweep}",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, env=wandb_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "W&B:" not in done.stdout + done.stderr, "the tracker fell back to no-op"

    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == [
        "0_likelihood.sigma2=10,seed=0",
        "1_likelihood.sigma2=0.01,seed=0",
    ]
    runs = []
    for job, sigma2 in zip(jobs, (10.0, 0.01), strict=True):
        folders = list((job / "wandb").glob("offline-run-*"))
        assert len(folders) == 1, f"{job}: expected one offline run, found {folders}"
        run = read_offline_run(folders[0])
        runs.append(run)
        result = json.loads((job / "result.json").read_text())
        assert result["status"] == "completed"

        # naming: group = experiment/sweep folder, job_type = likelihood, name = overrides
        assert run["group"] == f"fig5_fixed_sigma/{sweep.name}"
        assert run["job_type"] == "gaussian_fixed"
        assert run["name"] == f"likelihood.sigma2={sigma2:g},seed=0"
        assert run["project"] == "lucas2019"

        # the resolved config, exactly as the run folder's config.yaml has it (which also records
        # the run's fingerprint)
        run_config = yaml.safe_load((job / "config.yaml").read_text())
        assert run_config.pop("fingerprint")["likelihood.sigma2"] == sigma2
        assert {k: v for k, v in run["config"].items() if k != "_wandb"} == run_config
        assert run["config"]["likelihood"]["sigma2"] == sigma2

        # the final summary equals result.json, key by key
        summary = run["summary"]
        for key in WANDB_SUMMARY_KEYS:
            assert summary.get(key) == result[key], key
        assert summary["sigma2"] == pytest.approx(sigma2, rel=1e-6)
        assert summary["status"] == "completed"

        # every evaluation row of metrics.csv, at its step
        metrics = pd.read_csv(job / "metrics.csv")
        rows = {h["_step"]: h for h in run["history"] if "train/elbo" in h}
        assert sorted(rows) == metrics["step"].tolist()
        for _, row in metrics.iterrows():
            logged = rows[int(row["step"])]
            columns = ("elbo", "kl", "collapsed_fraction", "active_units", "elbo_test")
            # and the σ² trajectory: σ² in use, its closed-form optimum, on the last batch
            for column in (*columns, "sigma2", "sigma2_optimal", "sigma2_optimal_batch"):
                if pd.isna(row[column]):  # empty (step 0 has no batch): not logged
                    assert f"train/{column}" not in logged, column
                else:
                    assert logged[f"train/{column}"] == pytest.approx(row[column], rel=1e-9), column

        # per-latent KL (table + histogram), collapse curve, image grids
        files = folders[0] / "files"
        (kl_table,) = files.glob("media/table/final/kl_per_latent_table_*.table.json")
        table = json.loads(kl_table.read_text())
        assert table["columns"] == ["latent", "kl"]
        kl = [row[1] for row in table["data"]]
        np.testing.assert_allclose(kl, result["kl_per_latent"], rtol=1e-12)
        assert summary["final/kl_histogram/_type"] == "histogram"
        assert sum(summary["final/kl_histogram/values"]) == len(result["kl_per_latent"])
        assert list(files.glob("media/table/final/collapse_curve_table_*.table.json"))
        for image in ("reconstructions", "samples"):
            assert summary[f"final/{image}/_type"] == "image-file"
            png = files / summary[f"final/{image}/path"]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (summary["final/samples/height"], summary["final/samples/width"]) == (64, 64)

    assert runs[0]["id"] != runs[1]["id"]
    assert runs[0]["summary"]["elbo"] != runs[1]["summary"]["elbo"]


# --- disabled mode: no network, no service process -----------------------------------------------


class _Trap:
    """Refuses (and records) every network connection and every child process but local git.

    wandb's settings run ``git rev-parse`` in every mode (local, no network); those calls go
    through and are recorded in ``git``. Anything else, such as starting wandb-core, is refused.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self.git: list[list[str]] = []
        original_popen = subprocess.Popen

        def refuse(what: str):
            def _refuse(*args, **kwargs):
                self.calls.append(f"{what}: {args!r}"[:300])
                raise OSError(f"test trap: {what} is not allowed here")

            return _refuse

        monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
        monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
        monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
        monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
        trap = self

        class Popen(original_popen):  # type: ignore[misc, valid-type]
            def __init__(self, args, *rest, **kwargs):
                argv = [str(a) for a in args] if isinstance(args, list | tuple) else [str(args)]
                if Path(argv[0]).name == "git" and argv[1:2] == ["rev-parse"]:
                    trap.git.append(argv)
                    super().__init__(args, *rest, **kwargs)
                else:
                    refuse("subprocess.Popen")(args)

        monkeypatch.setattr(subprocess, "Popen", Popen)


@pytest.fixture
def in_process_cfg(compose_train, tmp_path, monkeypatch):
    """compose(mode, run_dir) -> a validated smoke config with logger=wandb and W&B pointed at
    dead ends."""
    for key in [k for k in os.environ if k.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    # If anything tried to go online, it would have a key and a server address to try.
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", DEAD_URL)
    for key in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_DIR"):
        monkeypatch.setenv(key, str(tmp_path / "wandb_home"))

    def _compose(mode: str, run_dir: Path):
        cfg = compose_train([*SMOKE, "logger=wandb", f"logger.mode={mode}", f"run_dir={run_dir}"])
        return RunConfig.from_config(cfg)

    return _compose


def test_disabled_mode_opens_no_connection_and_starts_no_process(
    in_process_cfg, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    run = in_process_cfg("disabled", run_dir)
    trap = _Trap(monkeypatch)
    tracker = WandbTracker(run.values, group="g", name="n", job_type="j", run_dir=str(run_dir))
    try:
        assert tracker.active, "disabled mode must give a (dummy) run, not a failed init"
        result = trainer.train(run, run_dir=run_dir, tracker=tracker)
    finally:
        tracker.finish()
    assert trap.calls == []
    assert result["status"] == "completed"
    assert not (run_dir / "wandb").exists()
    # smoke: 40 steps, eval every 10, and the initial model at step 0
    assert len(pd.read_csv(run_dir / "metrics.csv")) == 5


def test_the_trap_catches_offline_mode_which_then_falls_back_and_still_trains(
    in_process_cfg, tmp_path, monkeypatch, caplog
):
    """Control for the test above: offline mode starts wandb-core, which the trap refuses.

    It is also the failed-init path: one warning, a no-op tracker, a complete run folder.
    """
    run_dir = tmp_path / "run"
    run = in_process_cfg("offline", run_dir)
    trap = _Trap(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="lucas2019.tracking"):
        tracker = WandbTracker(run.values, group="g", name="n", job_type="j", run_dir=str(run_dir))
    assert any("wandb-core" in call for call in trap.calls), trap.calls
    assert not tracker.active
    result = trainer.train(run, run_dir=run_dir, tracker=tracker)
    tracker.finish()
    warnings = [r.getMessage() for r in caplog.records if r.name == "lucas2019.tracking"]
    assert len(warnings) == 1 and "wandb.init failed (mode=offline)" in warnings[0], warnings
    assert result["status"] == "completed"
    assert json.loads((run_dir / "result.json").read_text())["elbo"] == result["elbo"]


# --- failures: a dead server, bad modes, errors while logging ------------------------------------


def test_online_init_against_a_dead_server_gives_up_in_time_and_the_run_completes(tmp_path):
    run_dir, timeout_s = tmp_path / "run", 2
    command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        *SMOKE,
        "logger=wandb",
        "logger.mode=online",
        f"logger.init_timeout_s={timeout_s}",
        f"hydra.run.dir={run_dir}",
    ]
    env = wandb_env(tmp_path, WANDB_API_KEY=FAKE_KEY, WANDB_BASE_URL=DEAD_URL)
    start = time.monotonic()
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert output.count("W&B: wandb.init failed (mode=online)") == 1, output[-3000:]
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "completed"
    assert len(pd.read_csv(run_dir / "metrics.csv")) == 5
    # Without the viewer skip this took ~10 s more than init_timeout; a hang would never end.
    assert elapsed < 60, f"a failed online init took {elapsed:.0f} s"


@pytest.mark.parametrize(
    ("env", "config", "expected"),
    [
        (None, "disabled", "disabled"),
        (None, "offline", "offline"),
        ("", "online", "online"),
        ("offline", "disabled", "offline"),
        ("disabled", "online", "disabled"),
    ],
)
def test_wandb_mode_env_wins_over_config(monkeypatch, env, config, expected):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    if env is not None:
        monkeypatch.setenv("WANDB_MODE", env)
    assert wandb_mode(_logger(config)) == expected


def _logger(mode: str) -> dict:
    return {"mode": mode}


@pytest.mark.parametrize(
    ("env", "config", "named"),
    [("dryrun", "offline", "WANDB_MODE"), (None, "Offline", "logger.mode")],
)
def test_wandb_mode_rejects_unknown_modes_naming_the_source(monkeypatch, env, config, named):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    if env is not None:
        monkeypatch.setenv("WANDB_MODE", env)
    with pytest.raises(ValueError, match=named) as error:
        wandb_mode(_logger(config))
    assert "disabled, offline, online" in str(error.value)


def test_a_wandb_error_while_logging_warns_once_and_stops_logging(in_process_cfg, tmp_path, caplog):
    run_dir = tmp_path / "run"
    tracker = WandbTracker(in_process_cfg("disabled", run_dir).values, "g", "n", "j", str(run_dir))
    calls = []

    def broken_log(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("wandb-core went away")

    tracker.run.log = broken_log
    with caplog.at_level(logging.WARNING, logger="lucas2019.tracking"):
        tracker.log_metrics({"step": 10, "elbo": -1.0}, step=10)
        tracker.log_metrics({"step": 20, "elbo": -0.5}, step=20)
        tracker.log_final({"step": 20, "kl_per_latent": [0.1]}, None, None, (4,))
    tracker.finish()
    assert len(calls) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "lucas2019.tracking"]
    assert len(warnings) == 1 and "wandb-core went away" in warnings[0], warnings
    assert not tracker.active


def test_tracking_sends_nothing_for_logger_none(compose_train, tmp_path):
    from lucas2019.launch import make_tracker

    cfg = compose_train([*SMOKE, f"run_dir={tmp_path}"])
    assert type(make_tracker(RunConfig.from_config(cfg))) is tracking.Tracker


# --- image grids ---------------------------------------------------------------------------------


class _Identity(torch.nn.Module):
    """encode = identity mean, decode = identity: reconstructions equal the data."""

    latent_dim = 6

    def encode(self, x):
        return x, torch.zeros_like(x)

    def decode(self, z):
        return z


def test_image_grids_tile_data_over_reconstructions_and_keep_the_model_mode():
    x = torch.arange(5 * 6, dtype=torch.float32).reshape(5, 6)  # five 1x2x3 images
    model = _Identity().eval()
    recon, samples = image_grids(model, x, (1, 2, 3), n=4)
    assert not model.training
    assert recon.shape == (4, 12, 1) and recon.dtype == np.uint8
    assert samples.shape == (8, 12, 1)
    # reference: top row the first 4 images side by side, bottom row the same (identity model)
    top = np.concatenate([x[i].reshape(2, 3).numpy() for i in range(4)], axis=1)
    expected = np.round((top - top.min()) / (top.max() - top.min()) * 255)
    np.testing.assert_array_equal(recon[:2, :, 0], expected)
    np.testing.assert_array_equal(recon[2:, :, 0], expected)


def test_image_grids_reject_a_shape_that_does_not_fit():
    with pytest.raises(ValueError, match="image_shape"):
        image_grids(_Identity(), torch.zeros(3, 6), (1, 2, 2))
