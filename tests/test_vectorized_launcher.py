"""hydra/launcher=vectorized: which jobs form which groups, when stacking pays, and real sweeps
(local worker processes, and SLURM through submitit) that write the run folders of the other
launchers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from test_cluster_slurm import (  # the one-node SLURM cluster of the SLURM launcher's tests
    CLI_TIMEOUT_S,
    _diagnostics,
    _job_field,
    _wait_for,
    cluster,  # noqa: F401 (a fixture)
    needs_slurm,
)
from test_stacked import assert_same_run

from lucas2019 import grouping, trainer
from lucas2019.config import RunConfig, compose_config, job_values
from lucas2019.launch import job_launcher
from paper_figures.claims.table import table_hash

FIG5_SMOKE = ["experiment=fig5_fixed_sigma", "scale=smoke"]


def jobs(*sweep: list[str]) -> list[dict]:
    """The described configs of jobs, each from its overrides."""
    return [job_values(compose_config("train", overrides)) for overrides in sweep]


def fig5_jobs(sigma2s=(10, 0.1, 0.001), seeds=(0, 1), *extra: str) -> list[dict]:
    return jobs(
        *(
            [*FIG5_SMOKE, f"likelihood.sigma2={s}", f"seed={seed}", *extra]
            for seed in seeds
            for s in sigma2s
        )
    )


# ------------------------------------------------------------------ grouping (no Hydra run)
def test_a_sigma2_by_seed_grid_is_one_group_split_over_the_workers():
    grid = fig5_jobs()  # 3 σ² x 2 seeds, 47 MFLOP per member step
    assert [(u.jobs, u.stacked) for u in grouping.plan(grid, workers=1)] == [
        ((0, 1, 2, 3, 4, 5), True)
    ]
    assert [(u.jobs, u.stacked) for u in grouping.plan(grid, workers=2)] == [
        ((0, 1, 2), True),
        ((3, 4, 5), True),
    ]
    four = [(u.jobs, u.stacked) for u in grouping.plan(grid, workers=4)]
    assert four == [((0, 1), True), ((2, 3), True), ((4,), False), ((5,), False)]
    on_gpu = grouping.plan(grid, workers=4, cuda_available=True)  # device=auto picks the GPU
    assert [(u.jobs, u.stacked) for u in on_gpu] == [((0, 1, 2, 3, 4, 5), True)]


@pytest.mark.parametrize(
    ("base", "other"),
    [
        ((), ("model.latent_dim=16",)),
        ((), ("dataset=synthetic",)),
        ((), ("dataset.subset_seed=1",)),
        ((), ("optim.lr=0.001",)),
        ((), ("likelihood=gaussian_learned",)),
        ((), ("trainer.max_steps=50",)),
        ((), ("trainer.eval_every=5",)),
        # σ²'s own learning rate is not varied within a group
        (
            ("likelihood=gaussian_learned",),
            ("likelihood=gaussian_learned", "sigma2_rule=learned_fast"),
        ),
    ],
)
def test_jobs_that_differ_in_any_other_key_never_share_a_group(base, other):
    grid = fig5_jobs((10, 0.1), (0,), *base) + fig5_jobs((10, 0.1), (0,), *other)
    units = grouping.plan(grid, workers=1)
    assert [(u.jobs, u.stacked) for u in units] == [((0, 1), True), ((2, 3), True)]


@pytest.mark.parametrize(
    "rule", ["sigma2_rule=learned_then_optimal", "sigma2_rule=optimal", "sigma2_rule=learned"]
)
def test_every_sigma2_rule_stacks_its_sigma2_by_seed_grid(rule):
    grid = fig5_jobs((10, 0.1), (0, 1), "likelihood=gaussian_learned", rule)
    units = grouping.plan(grid, workers=1)
    assert [(u.jobs, u.stacked) for u in units] == [((0, 1, 2, 3), True)], units[0].reason


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ("model=conv_vae", "model=conv_vae is not stacked"),
        ("likelihood=bernoulli", "likelihood=bernoulli is not stacked"),
        ("mitigation=aggressive_encoder", "mitigation=aggressive_encoder is not stacked: each"),
        ("logger=wandb", "logger=wandb is not stacked"),
    ],
)
def test_what_the_stacked_trainer_does_not_support_runs_alone_with_the_reason(override, reason):
    grid = jobs(
        *([*FIG5_SMOKE, override, f"likelihood.sigma2={s}"] for s in (10, 1)), [*FIG5_SMOKE]
    )
    units = grouping.plan(grid, workers=1)
    assert [(u.jobs, u.stacked) for u in units] == [((0,), False), ((1,), False), ((2,), False)]
    assert reason in units[0].reason and reason in units[1].reason
    assert "no other job" in units[2].reason


def test_stack_never_always_and_unreadable_jobs():
    grid = fig5_jobs((10, 0.1), (0,))
    never = grouping.plan(grid, stack="never", workers=1)
    assert [(u.jobs, u.stacked, u.reason) for u in never] == [
        ((0,), False, "not stacked: stack=never"),
        ((1,), False, "not stacked: stack=never"),
    ]
    mnist = jobs(*(["dataset=mnist", "scale=cpu", f"likelihood.sigma2={s}"] for s in (1, 0.1)))
    assert [u.stacked for u in grouping.plan(mnist, workers=1)] == [False, False]  # auto: CPU
    assert [u.stacked for u in grouping.plan(mnist, stack="always", workers=1)] == [True]
    units = grouping.plan([grid[0], None, grid[1]], workers=1)
    assert [(u.jobs, u.stacked) for u in units] == [((0, 2), True), ((1,), False)]
    assert units[1].reason == "its config could not be read"
    with pytest.raises(ValueError, match=r"hydra.launcher.stack='fast' is invalid.*auto"):
        grouping.plan(grid, stack="fast")


# The configurations timed to set the rule (lucas2019.grouping.CPU_MAX_STEP_MFLOP): 11 members,
# one thread, full batch, Adam; a stacked step over the members' steps one after another. Each with
# its examples per step and multiply-adds per example, written out.
DIGITS = 64 * 128 + 128 * 64 + 2 * 64 * 32 + 32 * 64 + 64 * 128 + 128 * 64  # 128/64, 32 latents
MEASURED = [
    # (overrides, examples, multiply-adds per example, measured speedup)
    (["scale=smoke"], 200, DIGITS, 1.68),
    (["scale=smoke", "dataset.n_train=300"], 300, DIGITS, 1.29),
    (["scale=smoke", "dataset.n_train=500"], 500, DIGITS, 1.13),
    (
        ["model.latent_dim=16", "widths.encoder=[64,32]", "widths.decoder=[32,64]"],
        1000,
        64 * 64 + 64 * 32 + 2 * 32 * 16 + 16 * 32 + 32 * 64 + 64 * 64,
        1.02,
    ),
    # the next three re-measured with freed memory kept for the next step (lucas2019.allocator)
    ([], 1000, DIGITS, 0.93),  # the cpu scale's digits model: no gain, left to processes
    (
        ["widths.encoder=[256,128]", "widths.decoder=[128,256]"],
        1000,
        64 * 256 + 256 * 128 + 2 * 128 * 32 + 32 * 128 + 128 * 256 + 256 * 64,
        0.94,
    ),
    (
        ["dataset=mnist"],
        1000,
        784 * 256 + 256 * 128 + 2 * 128 * 200 + 200 * 128 + 128 * 256 + 256 * 784,
        0.74,
    ),
]


@pytest.mark.parametrize(("overrides", "examples", "macs", "speedup"), MEASURED)
def test_the_cpu_rule_stacks_exactly_the_measured_configurations_that_gained(
    overrides, examples, macs, speedup
):
    (job,) = jobs(["scale=cpu", *overrides])
    assert grouping.step_mflop(job) == pytest.approx(6 * examples * macs / 1e6)
    stacked, reason = grouping.stacking_pays(job, cuda=False)
    assert stacked == (speedup > 1.01), reason  # a gain beyond the timing noise
    assert grouping.stacking_pays(job, cuda=True) == (True, "on a GPU")


def test_the_cpu_rule_counts_the_batch_not_the_training_set():
    (full,) = jobs(["scale=cpu", "dataset=mnist"])
    (minibatch,) = jobs(["scale=cpu", "dataset=mnist", "optim.batch_size=40"])
    assert grouping.step_mflop(minibatch) == pytest.approx(grouping.step_mflop(full) / 25)
    assert grouping.stacking_pays(minibatch, cuda=False)[0]
    (whole_split,) = jobs(["scale=cpu", "dataset=mnist", "dataset.n_train=null"])
    assert grouping.step_mflop(whole_split) is None
    assert grouping.stacking_pays(whole_split, cuda=False) == (
        False,
        "on CPU with a batch size unknown before loading the data",
    )


@pytest.mark.parametrize(
    ("launcher", "recorded"),
    [("vectorized", "vectorized_alone"), ("local_parallel", "local_parallel"), ("basic", "basic")],
)
def test_a_run_trained_on_its_own_records_its_launcher(launcher, recorded):
    """result.json's launcher of a normal run: its job's hydra/launcher; 'vectorized' is kept for
    stacked members (tests/test_stacked.py), so a job the vectorized launcher left alone says so."""
    assert job_launcher() is None  # outside Hydra
    cfg = compose_config("train", [f"hydra/launcher={launcher}"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        assert job_launcher() == recorded
    finally:
        HydraConfig.instance().cfg = None


# ------------------------------------------------------------------ the launcher in Hydra
def train(*overrides: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "lucas2019.train", *overrides]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_the_preset_composes_and_cfg_hydra_shows_its_settings(tmp_path):
    done = train(
        "hydra/launcher=vectorized",
        "hydra.launcher.stack=never",
        "hydra.launcher.slurm.partition=gpu",
        "--cfg",
        "hydra",
        "-p",
        "hydra.launcher",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shown = yaml.safe_load(done.stdout.split("\n", 1)[1])  # after the "# @package" line
    assert shown["_target_"].endswith("vectorized_launcher.VectorizedLauncher")
    assert (shown["stack"], shown["n_jobs"], shown["backend"]) == ("never", -1, "local")
    slurm = yaml.safe_load((Path(__file__).parents[1] / "conf/hydra/launcher/slurm.yaml").open())
    for key in ("timeout_min", "cpus_per_task", "mem_gb", "max_num_timeout", "array_parallelism"):
        assert shown["slurm"][key] == slurm[key], key  # the slurm preset's values
    assert shown["slurm"]["partition"] == "gpu"


def test_a_bad_backend_is_refused_before_any_job_runs(tmp_path):
    done = train(
        "-m",
        *FIG5_SMOKE,
        "seed=0",
        "likelihood.sigma2=1,0.1",
        "hydra/launcher=vectorized",
        "hydra.launcher.backend=cloud",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "hydra.launcher.backend='cloud' is invalid" in done.stderr + done.stdout
    assert not list((tmp_path / "sweep").glob("*/config.yaml"))


def test_a_stacked_sweep_reports_its_failed_and_refused_jobs_as_any_sweep(tmp_path):
    """Three jobs in one stacked group (one worker): σ² = -1 fails in its job, the third job's
    folder holds another config's run and is refused, the first trains stacked and equals a
    separate run; the summary counts them and the launch exits 1."""
    sweep = tmp_path / "sweep"
    refused = sweep / "2_likelihood.sigma2=0.01,seed=0"
    other = compose_config("train", [*FIG5_SMOKE, "seed=5", f"run_dir='{refused}'"])
    trainer.train(RunConfig.from_config(other))
    done = train(
        "-m",
        *FIG5_SMOKE,
        "seed=0",
        "likelihood.sigma2=10,-1,0.01",
        "hydra/launcher=vectorized",
        "hydra.launcher.n_jobs=1",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "#0,1,2: stacked" in done.stderr + done.stdout
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert summary["counts"] == {
        "completed": 1,
        "diverged": 0,
        "failed": 1,
        "unfinished": 0,
        "refused": 1,
    }
    good = sweep / "0_likelihood.sigma2=10,seed=0"
    result = json.loads((good / "result.json").read_text())
    assert result["launcher"] == "vectorized"
    assert result["claims_hash"] == table_hash()  # read by the launcher, as by the train command
    assert result["overrides"] == yaml.safe_load((good / ".hydra" / "overrides.yaml").read_text())
    alone = compose_config(
        "train", [*FIG5_SMOKE, "likelihood.sigma2=10", "seed=0", f"run_dir={tmp_path / 'alone'}"]
    )
    trainer.train(RunConfig.from_config(alone, claims_hash=table_hash()))
    assert_same_run(good, tmp_path / "alone", skip=("overrides",))
    bad = sweep / "1_likelihood.sigma2=-1,seed=0"
    failed = json.loads((bad / "result.json").read_text())
    assert failed["status"] == "failed" and "likelihood.sigma2" in failed["error"]
    assert failed["logs"] == [str(bad / "train.log")]
    assert "ConfigError" in (bad / "train.log").read_text()
    assert json.loads((refused / "job_error.json").read_text())["status"] == "refused"
    assert json.loads((refused / "result.json").read_text())["fingerprint"]["seed"] == 5
    log = (good / "train.log").read_text()  # its own lines and the group's, not the others'
    assert "train as one stacked model" in log and f"run folder {good}" in log
    assert "ConfigError" not in log and "not trained" not in log and str(bad) not in log
    assert (
        "not trained in the group: config key 'likelihood.sigma2'"
        in (bad / "train.log").read_text()
    )


@pytest.mark.slow  # two sweeps of 33 jobs: a few minutes on 2 cores
def test_the_fig5_smoke_sweep_writes_the_folders_of_local_parallel(tmp_path):
    """The issue's done-when: the same folder names, the same files, the same numbers (1e-4)."""
    folders = {}
    for launcher in ("local_parallel", "vectorized"):
        sweep = tmp_path / launcher
        done = train(
            "-m",
            *FIG5_SMOKE,
            f"hydra/launcher={launcher}",
            f"hydra.sweep.dir={sweep}",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        folders[launcher] = sorted(p for p in sweep.iterdir() if p.is_dir())
    names = [[p.name for p in f] for f in folders.values()]
    assert names[0] == names[1] and len(names[0]) == 33
    for parallel, vectorized in zip(*folders.values(), strict=True):
        assert sorted(p.name for p in (vectorized / ".hydra").iterdir()) == sorted(
            p.name for p in (parallel / ".hydra").iterdir()
        )
        assert_same_run(vectorized, parallel)
        launchers = [
            json.loads((d / "result.json").read_text())["launcher"] for d in (parallel, vectorized)
        ]
        assert launchers == ["local_parallel", "vectorized"]


# ------------------------------------------------------------------ SLURM (submitit)
@pytest.mark.slow
@needs_slurm
def test_a_group_is_one_slurm_job_that_resumes_after_preemption(cluster, tmp_path):  # noqa: F811
    """Two σ² as one SLURM job; SIGUSR2 once it checkpointed past its first metrics row: submitit
    requeues it, the group resumes every member from its checkpoint (the test adds 10^4 s to their
    wall_time_s while the job waits: a fresh start would not carry it) and ends with the numbers
    of uninterrupted separate runs (one torch thread, as the job)."""
    sweep, max_steps, eval_every, offset_s = tmp_path / "sweep", 3000, 500, 1e4
    training = [
        f"trainer.max_steps={max_steps}",
        f"trainer.eval_every={eval_every}",
        "trainer.checkpoint_every=10",
    ]
    command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        *FIG5_SMOKE,
        "seed=0",
        "likelihood.sigma2=1,0.1",
        *training,
        "hydra/launcher=vectorized",
        "hydra.launcher.backend=slurm",
        "hydra.launcher.slurm.partition=debug",
        "hydra.launcher.slurm.timeout_min=10",
        "hydra.launcher.slurm.mem_gb=1",
        "hydra.launcher.slurm.cpus_per_task=1",
        "hydra.launcher.slurm.max_num_timeout=2",
        f"hydra.sweep.dir={sweep}",
    ]
    env, launch_log, job_id = cluster["env"], tmp_path / "launch.log", None
    with launch_log.open("w") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path, env=env
        )
    try:

        def checkpoints_past_first_row() -> list[Path] | None:
            found = sorted(sweep.glob("*/checkpoint.pt"))
            try:
                steps = [torch.load(p, weights_only=False)["step"] for p in found]
            except FileNotFoundError:  # between the two renames of a checkpoint's save
                return None
            return found if len(found) == 2 and min(steps) >= eval_every else None

        checkpoints = _wait_for(
            checkpoints_past_first_row, "both checkpoints", cluster, sweep, proc, launch_log
        )
        queue = subprocess.run(
            ["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, env=env, timeout=30
        )
        running = [line.split() for line in queue.stdout.splitlines()]
        assert len(running) == 1 and running[0][1] == "RUNNING", queue.stdout  # one job
        job_id = running[0][0]
        subprocess.run(["scancel", "--signal=USR2", job_id], check=True, env=env, timeout=30)

        def requeued() -> bool:
            return _job_field(cluster, job_id, "JobState") == "PENDING" and (
                _job_field(cluster, job_id, "Restarts") == "1"
            )

        _wait_for(requeued, f"job {job_id} to be requeued", cluster, sweep, proc, launch_log)
        steps_before = []
        for checkpoint in checkpoints:
            payload = torch.load(checkpoint, weights_only=False)
            steps_before.append(int(payload["step"]))
            payload["wall_time_s"] = float(payload["wall_time_s"]) + offset_s
            torch.save(payload, checkpoint.with_suffix(".tmp"))
            os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
        time.sleep(5)  # see test_cluster_slurm: slurmd still holds the killed run's credential
        subprocess.run(
            ["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True, env=env
        )
        proc.wait(timeout=CLI_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            if job_id is not None:
                subprocess.run(["scancel", job_id], env=env, timeout=30)
    assert proc.returncode == 0, f"{launch_log.read_text()[-3000:]}\n{_diagnostics(cluster, sweep)}"
    assert all(eval_every <= step < max_steps for step in steps_before), steps_before
    job_log = "".join(p.read_text() for p in sweep.glob(f".submitit/{job_id}/*_log.*"))
    assert f"Requeued job {job_id}" in job_log
    for checkpoint, sigma2 in zip(checkpoints, ("1", "0.1"), strict=True):
        run_dir = checkpoint.parent
        result = json.loads((run_dir / "result.json").read_text())
        assert result["step"] == max_steps and result["launcher"] == "vectorized"
        assert result["wall_time_s"] >= offset_s, "did not resume from its checkpoint"
        assert re.search(r"resumed from step \d+", (run_dir / "train.log").read_text())
        reference = compose_config(
            "train",
            [
                *FIG5_SMOKE,
                *training,
                f"likelihood.sigma2={sigma2}",
                "seed=0",
                "torch_threads=1",
                f"run_dir={tmp_path / 'reference' / sigma2}",
            ],
        )
        expected = trainer.train(RunConfig.from_config(reference))
        assert result["elbo"] == pytest.approx(expected["elbo"], rel=1e-6)
        rows = pd.read_csv(run_dir / "metrics.csv").drop(columns="wall_time_s")
        want = pd.read_csv(Path(reference.run_dir) / "metrics.csv").drop(columns="wall_time_s")
        pd.testing.assert_frame_equal(rows, want, check_exact=False, rtol=1e-6)
