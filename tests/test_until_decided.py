"""``reproduce --until-decided``: only the runs that block a verdict are extended, in place,
doubling up to the scale's cap, through any launcher; killed mid-round and rerun, it continues."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from lucas2019 import until_decided
from lucas2019.config import compose_config
from lucas2019.until_decided import Extension, cap_words, folder_of, plan
from paper_figures.verdict_record import BlockingRun, VerdictRecord, VerdictsFile
from paper_figures.verdict_record import with_unextendable as mark

# A linear VAE with the analytic ELBO on 10-dimensional synthetic data: a job takes a second.
TINY = (
    "scale=smoke",
    "dataset=synthetic",
    "dataset.options.dim=10",
    "model=linear_vae",
    "model.objective=analytic",
    "model.latent_dim=4",
    "trainer.progress=false",
)
TIMEOUT_S = 300


def _env() -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def _result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def _hashes(run_dir: Path) -> dict[str, int]:
    return {p.name: hash(p.read_bytes()) for p in run_dir.iterdir() if p.is_file()}


# ---------------------------------------------------------------- the rounds, on fake run folders


def _verdict(key: str, blocking: list[str]) -> VerdictRecord:
    return VerdictRecord(
        claim=key.split("/")[0],
        definition=key,
        kind="claim",
        statement="",
        outcome="cannot judge" if blocking else "holds",
        reason="not converged: runs" if blocking else "",
        design="exploratory",
        measure="",
        seeds=(),
        left_out={},
        criteria=(),
        measures=(),
        notes=(),
        by_setting={},
        blocking=tuple(BlockingRun(run, "not converged: still moving", "more") for run in blocking),
        runs=(),
    )


def _fake_run(runs_dir: Path, name: str, steps: int) -> None:
    run_dir = runs_dir / name
    (run_dir / ".hydra").mkdir(parents=True)
    overrides = ["experiment=e", "likelihood.sigma2=0.1", f"trainer.max_steps={steps}"]
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run_dir / "result.json").write_text(json.dumps({"status": "completed", "step": steps}))


def test_rounds_extend_exactly_the_blocking_runs_doubling_to_the_cap(tmp_path):
    """Run a is undecided until it has 100 steps, b never decides, c never blocks, d's extension
    is refused: a goes 40 -> 80 -> 160, b 40 -> 80 -> 160 (the cap) and stops there, c stays,
    d is tried once; the verdicts name b's cap and d's refusal."""
    runs = tmp_path / "runs"
    for name in ("e/a", "e/b", "e/c", "e/d"):
        _fake_run(runs, name, 40)

    def steps(name: str) -> int:
        return _result(runs / name)["step"]

    def judge() -> list[dict[str, int]]:
        blocked_a = ["e/a"] if steps("e/a") < 100 else []
        return [dict.fromkeys([*blocked_a, "e/b (so many steps)"], 0), {"e/d": 0}]

    launched: list[list[tuple[str, int]]] = []

    def extend(extensions: list[Extension]) -> None:
        launched.append([(e.folder, e.to) for e in extensions])
        for e in extensions:
            job = until_decided.job(runs, e)
            assert job["overrides"][-1] == f"trainer.max_steps={e.to}"
            assert sum(o.startswith("trainer.max_steps=") for o in job["overrides"]) == 1
            if e.folder == "e/d":  # as a job that the run folder refuses records it
                error = (
                    "refused: it\n  trainer.kl_anneal_steps: 20 -> 40 (follows trainer.max_steps)"
                )
                (runs / e.folder / "job_error.json").write_text(
                    json.dumps({"status": "refused", "error": error})
                )
                continue
            result = {"status": "completed", "step": e.to, "extended_from": e.steps}
            (runs / e.folder / "result.json").write_text(json.dumps(result))

    said: list[str] = []
    stuck = until_decided.until_decided(
        runs, judge(), judge, extend, max_steps=160, scale="smoke", say=said.append
    )
    assert launched == [
        [("e/a", 80), ("e/b", 80), ("e/d", 80)],
        [("e/a", 160), ("e/b", 160)],
    ]
    assert [steps(n) for n in ("e/a", "e/b", "e/c", "e/d")] == [160, 160, 40, 40]
    assert said == [
        "until decided, round 1: 2 runs extended (to 80 steps), 1 could not be (named in the "
        "verdicts), 2 verdicts still open",
        "until decided, round 2: 2 runs extended (to 160 steps), 2 verdicts still open",
    ]
    cap = "at the cap of 160 steps (until_decided.max_steps of scale smoke)"
    assert stuck == {
        "e/b (so many steps)": cap,
        "e/d": "its extension to 80 steps was refused (trainer.kl_anneal_steps: 20 -> 40 "
        "(follows trainer.max_steps))",
    }
    verdicts = VerdictsFile(
        "", "", tuple(_verdict(k, b) for k, b in zip(("C1/x", "C2/y"), judge(), strict=True))
    )
    marked = mark(verdicts, stuck)
    c1, c2 = marked.verdicts
    assert c1.reason == f"not converged: runs; {cap}"
    assert c1.blocking[0].needs == f"more; {cap}"
    assert c2.reason.endswith(
        "; its extension to 80 steps was refused (trainer.kl_anneal_steps: "
        "20 -> 40 (follows trainer.max_steps))"
    )


def test_a_verdict_blocked_partly_at_the_cap_counts_those_runs(tmp_path):
    file = VerdictsFile("", "", (_verdict("C1/x", ["r1", "r2", "r3"]),))
    (marked,) = mark(file, {"r1": "at the cap", "r3": "at the cap"}).verdicts
    assert marked.reason == "not converged: runs; 2 of 3 runs at the cap"
    assert [b.needs for b in marked.blocking] == ["more; at the cap", "more", "more; at the cap"]
    assert mark(file, {}) == file
    once = mark(file, {"r1": "at the cap"})
    assert mark(once, {"r1": "at the cap"}) == once  # marking twice changes nothing


def test_plan_names_runs_it_cannot_extend_and_caps_the_doubling(tmp_path):
    runs = tmp_path / "runs"
    _fake_run(runs, "e/short", 50)
    _fake_run(runs, "e/capped", 120)
    _fake_run(runs, "e/diverged", 30)
    (runs / "e/diverged/result.json").write_text(json.dumps({"status": "diverged", "step": 30}))
    (runs / "e/bare").mkdir()
    names = ["e/short (50 steps)", "e/short", "e/capped", "e/diverged", "e/bare", "lin, seed 0"]
    extensions, stuck = plan(runs, dict.fromkeys(names, 0), max_steps=120, scale="cpu")
    assert extensions == [Extension("e/short", ("e/short (50 steps)", "e/short"), 50, 100)]
    assert stuck["e/capped"] == cap_words(120, "cpu")
    assert stuck["e/diverged"].startswith("diverged at step 30")
    assert "not a run folder" in stuck["e/bare"] and "not a run folder" in stuck["lin, seed 0"]
    assert folder_of(runs, "e/short (50 steps)") == "e/short"
    assert plan(runs, {"e/short": 0}, max_steps=60, scale="cpu")[0][0].to == 60  # 2x is past it


def test_a_run_that_says_what_length_it_needs_is_extended_to_it_within_the_cap(tmp_path):
    """A run that needs 170 steps goes 50 -> 170 (not 100); one that needs 70 still doubles; one
    that needs more than the cap is not trained at all and says so; the most any verdict
    needs counts."""
    runs = tmp_path / "runs"
    for name in ("e/far", "e/near", "e/beyond"):
        _fake_run(runs, name, 50)
    blocked = [{"e/far": 170, "e/near": 70}, {"e/far": 120, "e/beyond": 400}]
    needs = until_decided.blocking_runs(blocked)
    assert needs == {"e/far": 170, "e/near": 70, "e/beyond": 400}
    extensions, stuck = plan(runs, needs, max_steps=300, scale="cpu")
    assert [(e.folder, e.steps, e.to) for e in extensions] == [
        ("e/far", 50, 170),
        ("e/near", 50, 100),
    ]
    assert stuck == {
        "e/beyond": "needing more than the cap of 300 steps (until_decided.max_steps of scale cpu)"
    }


def test_each_scale_declares_a_cap_that_names_no_folder_and_enters_no_fingerprint():
    from lucas2019.config import result_config

    caps = {}
    for scale in ("smoke", "cpu", "paper"):
        cfg = compose_config("train", [f"scale={scale}", "run_dir=/x"])
        caps[scale] = (cfg.until_decided.max_steps, cfg.trainer.max_steps)
        other = compose_config(
            "train", [f"scale={scale}", "until_decided.max_steps=7", "run_dir=/x"]
        )
        assert result_config(other) == result_config(cfg)
    assert caps == {"smoke": (160, 40), "cpu": (16000, 2000), "paper": (80000, 20000)}
    hydra = compose_config("train", ["run_dir=/x"], return_hydra_config=True).hydra
    assert "until_decided.max_steps" in hydra.job.config.override_dirname.exclude_keys


# ---------------------------------------------------------------- real launches


@pytest.fixture(scope="module")
def base_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two completed 20-step runs of a real sweep (σ² = 1, 0.1). Read only: copy it."""
    sweep = tmp_path_factory.mktemp("base") / "sweep"
    command = [sys.executable, "-m", "lucas2019.train", "-m", *TINY, "likelihood.sigma2=1,0.1"]
    command += ["trainer.max_steps=20", f"hydra.sweep.dir={sweep}", "hydra/launcher=basic"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=_env(), cwd=sweep.parent, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return sweep


def _extend_one(base: Path, tmp_path: Path, launcher: list[str], env: dict | None = None):
    """Copy the base sweep, extend only its σ² = 0.1 run to 40 steps through ``launcher``."""
    runs = tmp_path / "runs"
    sweep = runs / "sweep"
    import shutil

    shutil.copytree(base, sweep)
    folders = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    chosen, other = (f"sweep/{f}" for f in sorted(folders, key=lambda f: "sigma2=0.1," not in f))
    before = _hashes(runs / other)
    extension = Extension(chosen, (chosen,), 20, 40)
    (runs / until_decided.JOBS_FILE).write_text(json.dumps([until_decided.job(runs, extension)]))
    done = subprocess.run(
        until_decided.command(runs, launcher),
        capture_output=True,
        text=True,
        env=env or _env(),
        cwd=tmp_path,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == folders  # no new folder
    result = _result(runs / chosen)
    assert (result["step"], result["extended_from"], result["status"]) == (40, 20, "completed")
    assert _hashes(runs / other) == before  # the run not listed is untouched
    overrides = yaml.safe_load((runs / chosen / ".hydra" / "overrides.yaml").read_text())
    assert overrides[-1] == "trainer.max_steps=40" and "likelihood.sigma2=0.1" in overrides
    return result


def test_the_job_list_sweeper_extends_only_the_listed_run_in_its_folder_stacked(
    base_sweep, tmp_path
):
    result = _extend_one(base_sweep, tmp_path, ["hydra/launcher=vectorized"])
    assert result["launcher"].startswith("vectorized")


def test_the_job_list_sweeper_extends_only_the_listed_run_in_its_folder_local_parallel(
    base_sweep, tmp_path
):
    result = _extend_one(base_sweep, tmp_path, ["hydra/launcher=local_parallel"])
    assert result["launcher"] == "local_parallel"


def test_the_job_list_sweeper_refuses_command_line_overrides_and_a_bad_file(tmp_path):
    from hydra_plugins.lucas2019_launcher.job_list_sweeper import quoted, read_jobs

    bad = tmp_path / "jobs.json"
    bad.write_text(json.dumps([{"subdir": "a", "overrides": "seed=1"}]))
    with pytest.raises(ValueError, match="is not a job list: expected a JSON list of"):
        read_jobs(str(bad))
    assert quoted("0_a=1,b='x'") == "'0_a=1,b=\\'x\\''"
    command = [sys.executable, "-m", "lucas2019.train", "-m", "hydra/sweeper=job_list"]
    command += [f"hydra.sweeper.jobs_file={bad}", f"hydra.sweep.dir={tmp_path}", "seed=1"]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=TIMEOUT_S)
    assert done.returncode != 0 and "takes every job's overrides from" in done.stderr


# ---------------------------------------------------------------- reproduce end to end


def _reproduce(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lucas2019.reproduce",
        "scale=smoke",
        "likelihood.sigma2=1,0.1",
        "seed=0,1,2",
        # an evaluation every step and a checkpoint every 5 keep each extension long enough to
        # be caught half-way, and give it a checkpoint to resume from
        "trainer.eval_every=1",
        "trainer.checkpoint_every=5",
        "--only",
        "fig5_fixed_sigma",
        "--out",
        str(out),
        *extra,
    ]


def _metrics_steps(run_dir: Path) -> list[int]:
    return pd.read_csv(run_dir / "metrics.csv")["step"].astype(int).tolist()


@pytest.mark.slow
def test_reproduce_killed_mid_round_and_rerun_extends_to_the_cap_training_nothing_twice(tmp_path):
    """Figure 5 at smoke scale (runs of 40 steps, too short for its verdicts, so every run
    blocks): the process group is killed once a run of the first round is half-way through its
    extension (a checkpoint past 40 steps, its result still at 40); the rerun reuses the longer
    runs (no refusal), resumes the stopped ones from their checkpoints, and ends with every run
    at the cap (160 steps) and the verdicts naming it."""
    out = tmp_path / "out"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        _reproduce(out), stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
    )
    runs = out / "runs" / "fig5_fixed_sigma"

    def state(run_dir: Path) -> tuple[int, int] | None:
        """(result step, checkpoint step), None while either is missing or being written."""
        try:
            checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=False)
            return _result(run_dir)["step"], checkpoint["step"]
        except Exception:  # a file mid-replace reads as not there yet
            return None

    def half_way() -> bool:
        return any(s and s[0] == 40 < s[1] for s in map(state, runs.glob("*/")))

    deadline = time.monotonic() + TIMEOUT_S
    while not half_way() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    os.killpg(first.pid, signal.SIGKILL)  # the command and every job it started, as a scheduler
    first.wait()
    log.close()
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    at_kill = {p: state(p) for p in folders}
    stopped = {p: s[1] for p, s in at_kill.items() if s and s[0] == 40 < s[1] < 80}
    assert len(folders) == 6 and stopped

    done = subprocess.run(_reproduce(out), capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 refused" in done.stdout and "until decided, round 1:" in done.stdout
    for run_dir in folders:
        result = _result(run_dir)
        assert (result["status"], result["step"], result["extended_from"]) == ("completed", 160, 80)
        steps = _metrics_steps(run_dir)
        assert steps == sorted(set(steps)) and steps[-1] == 160  # no step logged twice
    for run_dir, checkpoint in stopped.items():  # its steps up to the checkpoint kept
        logs = "".join(p.read_text() for p in run_dir.glob("*.log"))
        assert f"resumed from step {checkpoint} " in logs
    rounds = [line for line in done.stdout.splitlines() if "until decided, round" in line]
    assert len(rounds) == 2
    verdicts = json.loads((out / "figures" / "verdicts.json").read_text())
    cap = "at the cap of 160 steps (until_decided.max_steps of scale smoke)"
    blocked = [v for v in verdicts["verdicts"] if v["blocking"]]
    assert blocked and all(v["reason"].endswith(cap) for v in blocked)
    assert cap in (out / "figures" / "index.md").read_text().replace("\n  ", " ")

    again = subprocess.run(_reproduce(out), capture_output=True, text=True, env=_env(), timeout=600)
    assert again.returncode == 0 and "until decided, round" not in again.stdout  # all at the cap
    assert [_result(p)["step"] for p in folders] == [160] * 6
    # judged again without rounds, the verdicts still say the cap, once
    drawn = subprocess.run(
        [*_reproduce(out), "--figures-only"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert drawn.returncode == 0, drawn.stdout[-3000:] + drawn.stderr[-3000:]
    verdicts = json.loads((out / "figures" / "verdicts.json").read_text())
    blocked = [v for v in verdicts["verdicts"] if v["blocking"]]
    assert blocked and all(v["reason"].endswith(cap) for v in blocked)
    assert all(v["reason"].count("at the cap") == 1 for v in blocked)
