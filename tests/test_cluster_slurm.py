"""The SLURM path of a sweep against a real one-node SLURM cluster (scripts/slurm_cluster.sh).

A Hydra multirun with ``hydra/launcher=slurm`` must produce completed run folders, keep the
jobs' logs and pickles in ``<sweep>/.submitit/<jobid>/`` and report a job that failed (with its
log) in the sweep's summary while the other jobs' results stay; a job sent SIGUSR2 (what SLURM
sends before a time limit, and what ``scancel --signal=USR2`` fakes) must be requeued by submitit,
resume from its run folder's checkpoint and end with the metrics of an uninterrupted run. The
cluster tests need root and the Debian packages slurm-wlm and munge (``apt-get install -y
slurm-wlm munge``); without them they are skipped. With ``LUCAS2019_SLURM_DIR`` set (``.ci/run``
does), they use the cluster running from that state folder instead of starting their own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from lucas2019.results import collect_runs

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm_cluster.sh"
# The state folder of a cluster that is already running (started by .ci/run), to reuse.
SHARED_CLUSTER = "LUCAS2019_SLURM_DIR"
SLURM_PATH = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
SLURM_TOOLS = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "munged")
MISSING = [tool for tool in SLURM_TOOLS if shutil.which(tool, path=SLURM_PATH) is None]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

needs_slurm = pytest.mark.skipif(
    bool(MISSING) or not IS_ROOT,
    reason=(
        f"SLURM/munge not installed (missing: {', '.join(MISSING)}); "
        "install with `apt-get update && apt-get install -y slurm-wlm munge`"
        if MISSING
        else "the one-node test cluster runs its daemons as root; run the tests as root"
    ),
)

# Small jobs: one CPU, 1 GB (far below the node's RealMemory), ten minutes (the USR2 that
# submitit uses for a time limit comes signal_delay_s=120 s before it, so never in these tests).
LAUNCHER = [
    "hydra/launcher=slurm",
    "hydra.launcher.timeout_min=10",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.cpus_per_task=1",
]
# CLI_TIMEOUT_S bounds each Hydra launch (it blocks until every job ends); POLL_TIMEOUT_S bounds
# each wait for one event (a checkpoint, a requeue). Both are generous for a busy 2-core machine.
CLI_TIMEOUT_S = 300
POLL_TIMEOUT_S = 120
# result.json keys a resumed run must share with an uninterrupted one (wall_time_s differs).
RESUME_KEYS = (
    "step",
    "elbo",
    "elbo_test",
    "rec",
    "kl",
    "mse",
    "sigma2",
    "sigma2_optimal",
    "active_units",
    "collapsed_fraction",
    "kl_per_latent",
    "collapse_curve",
)


def _clean_env(slurm_conf: str | None = None) -> dict[str, str]:
    """This process's environment without SLURM_* job variables (the tests may run in a job)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = SLURM_PATH
    env["OMP_NUM_THREADS"] = "1"
    if slurm_conf is not None:
        env["SLURM_CONF"] = slurm_conf
    return env


def _cluster_script(action: str, state_dir: Path, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        ["bash", str(SCRIPT), action, str(state_dir)],
        capture_output=True,
        text=True,
        env=env if env is not None else _clean_env(),
        timeout=timeout,
    )


def _slurm_conf(done: subprocess.CompletedProcess, action: str) -> str:
    """The SLURM_CONF printed by ``scripts/slurm_cluster.sh start|status``, else fail."""
    match = re.search(r"^export SLURM_CONF=(\S+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        pytest.fail(
            f"scripts/slurm_cluster.sh {action} failed (exit {done.returncode}).\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return match.group(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A running one-node cluster: ``{"env": client environment, "dir": state folder}``.

    The cluster of ``$LUCAS2019_SLURM_DIR`` if set (left running), else one started by
    scripts/slurm_cluster.sh in a fresh folder (own ports, so a cluster that is already up
    elsewhere does not interfere) and always stopped at the end of the module.
    """
    shared = os.environ.get(SHARED_CLUSTER)
    if shared:
        state_dir = Path(shared)
        conf = _slurm_conf(
            _cluster_script("status", state_dir),
            f"status {state_dir} (${SHARED_CLUSTER}; unset it to let the tests start a cluster)",
        )
        print(f"reusing the cluster in {state_dir} (${SHARED_CLUSTER})")
        yield {"env": _clean_env(conf), "dir": state_dir}
        return
    state_dir = tmp_path_factory.mktemp("slurm")
    started = time.perf_counter()
    start = _cluster_script("start", state_dir)
    try:
        env = _clean_env(_slurm_conf(start, "start"))
        print(f"cluster up in {time.perf_counter() - started:.1f} s ({state_dir})")
        yield {"env": env, "dir": state_dir}
    finally:
        stop = _cluster_script("stop", state_dir)
        assert stop.returncode == 0, f"stopping the cluster failed:\n{stop.stderr}"


def _diagnostics(cluster: dict, sweep_dir: Path | None = None) -> str:
    """squeue, the controller's log tail and the jobs' stderr, for failure messages."""
    env = cluster["env"]
    parts = []
    queue = subprocess.run(["squeue"], capture_output=True, text=True, env=env, timeout=30)
    parts.append(f"squeue:\n{queue.stdout}{queue.stderr}")
    log = cluster["dir"] / "slurmctld.log"
    if log.exists():
        parts.append("slurmctld.log (tail):\n" + "\n".join(log.read_text().splitlines()[-15:]))
    if sweep_dir is not None:
        for err in sorted(sweep_dir.glob(".submitit/*/*_log.err")):
            lines = [line for line in err.read_text().splitlines() if "sacct" not in line]
            parts.append(f"{err} (tail):\n" + "\n".join(lines[-20:]))
    return "\n\n".join(parts)


def _train_command(sweep_dir: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        "experiment=fig5_fixed_sigma",
        "scale=smoke",
        f"hydra.sweep.dir={sweep_dir}",
        "seed=0",  # one seed of the preset's seed sweep
        *LAUNCHER,
        *overrides,
    ]


def _wait_for(
    condition: Callable[[], object],
    what: str,
    cluster: dict,
    sweep_dir: Path,
    proc: subprocess.Popen | None = None,
    launch_log: Path | None = None,
) -> object:
    """Poll ``condition`` (every 0.1 s) until it returns something truthy, else fail.

    Fails at once if ``proc`` (the Hydra launch, output in ``launch_log``) ends meanwhile.
    """
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out = launch_log.read_text() if launch_log is not None else ""
            pytest.fail(
                f"the Hydra launch ended (exit {proc.returncode}) while waiting for {what}.\n"
                f"{out[-3000:]}\n{_diagnostics(cluster, sweep_dir)}"
            )
        time.sleep(0.1)
    pytest.fail(
        f"timed out after {POLL_TIMEOUT_S} s waiting for {what}.\n"
        f"{_diagnostics(cluster, sweep_dir)}"
    )


def _job_field(cluster: dict, job_id: str, field: str) -> str | None:
    """A ``Key=Value`` field of ``scontrol show job`` (None if the job or field is unknown)."""
    shown = subprocess.run(
        ["scontrol", "show", "job", job_id],
        capture_output=True,
        text=True,
        env=cluster["env"],
        timeout=30,
    )
    match = re.search(rf"\b{field}=(\S+)", shown.stdout)
    return match.group(1) if match else None


def test_script_usage_and_missing_tools(tmp_path: Path) -> None:
    """Bad arguments print the usage; without SLURM on PATH, start names the apt-get line."""
    usage = subprocess.run(
        ["/bin/bash", str(SCRIPT), "restart", str(tmp_path)], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "usage:" in usage.stderr, usage.stderr
    # A PATH holding only the coreutils the script needs before its check: no SLURM, no munge.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool, path=f"{SLURM_PATH}:/usr/bin:/bin"))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}  # the script adds /usr/sbin: not sinfo
    missing = subprocess.run(
        ["/bin/bash", str(SCRIPT), "start", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 1, missing.stderr
    assert "not installed" in missing.stderr and "apt-get install -y slurm-wlm munge" in (
        missing.stderr
    ), missing.stderr
    assert missing.stdout == "", "nothing may go to stdout (callers eval it)"


@pytest.mark.skipif(not IS_ROOT, reason="the script installs packages only as root")
def test_script_installs_missing_packages_with_apt_get_as_root(tmp_path: Path) -> None:
    """As root with apt-get on PATH, start installs slurm-wlm and munge (a recording stand-in
    for apt-get here, which installs nothing, so the script then names what is still missing)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "id", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool, path=f"{SLURM_PATH}:/usr/bin:/bin"))
    calls = tmp_path / "apt-get.calls"
    fake = bin_dir / "apt-get"
    fake.write_text(f'#!/bin/bash\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    started = subprocess.run(
        ["/bin/bash", str(SCRIPT), "start", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq slurm-wlm munge"]
    assert "installing slurm-wlm and munge with apt-get" in started.stderr, started.stderr
    assert started.returncode == 1 and "ERROR: not installed: sinfo" in started.stderr
    assert started.stdout == "", "nothing may go to stdout (callers eval it)"


@pytest.mark.slow
@needs_slurm
def test_cluster_script_is_idempotent(cluster: dict) -> None:
    """A second start reuses the running daemons and prints the same SLURM_CONF."""
    again = _cluster_script("start", cluster["dir"])
    assert again.returncode == 0, again.stderr
    assert f"export SLURM_CONF={cluster['env']['SLURM_CONF']}" in again.stdout
    assert "already running" in again.stderr, again.stderr
    sinfo = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%T"],
        capture_output=True,
        text=True,
        env=cluster["env"],
        timeout=30,
    )
    assert sinfo.stdout.strip() in ("idle", "mixed", "allocated"), sinfo.stdout + sinfo.stderr


@pytest.mark.slow
@needs_slurm
def test_slurm_multirun_keeps_good_jobs_and_reports_the_failed_one(
    cluster: dict, tmp_path: Path
) -> None:
    """Three σ² values through ``hydra/launcher=slurm``, one invalid (σ² = -1, rejected inside
    its job): two completed run folders, one failed, job folders with logs and pickles, and the
    sweep's summary names the failure with its .submitit log; the launch exits 1."""
    sweep_dir = tmp_path / "sweep"
    command = _train_command(sweep_dir, "likelihood.sigma2=10,0.01,-1")
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cluster["env"],
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 1, (
        f"expected exit 1 (one job failed), got {done.returncode}:\n{done.stdout[-3000:]}\n"
        f"{done.stderr[-3000:]}\n{_diagnostics(cluster, sweep_dir)}"
    )
    run_dirs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name for p in run_dirs] == [
        "0_likelihood.sigma2=10,seed=0",
        "1_likelihood.sigma2=0.01,seed=0",
        "2_likelihood.sigma2=-1,seed=0",
    ]
    for run_dir, sigma2 in zip(run_dirs[:2], (10.0, 0.01), strict=True):
        result = json.loads((run_dir / "result.json").read_text())
        assert result["status"] == "completed", (run_dir, result.get("error"))
        assert result["step"] == 40  # scale=smoke
        assert result["sigma2"] == pytest.approx(sigma2, rel=1e-6)
        assert (run_dir / "metrics.csv").exists() and (run_dir / "checkpoint.pt").exists()
    bad_dir = run_dirs[2]
    failed = json.loads((bad_dir / "result.json").read_text())
    assert failed["status"] == "failed" and "likelihood.sigma2" in failed["error"], failed

    # One folder per job (array tasks are <array id>_<index>) with its logs and pickles.
    job_dirs = sorted(
        p for p in (sweep_dir / ".submitit").iterdir() if re.fullmatch(r"\d+(_\d+)?", p.name)
    )
    job_dirs = [p for p in job_dirs if list(p.glob("*_result.pkl"))]
    assert len(job_dirs) == 3, f"expected three job folders in {sweep_dir / '.submitit'}"
    logs = {}
    for job_dir in job_dirs:
        job_id = job_dir.name
        for suffix in ("_submitted.pkl", "_0_result.pkl", "_0_log.out", "_0_log.err"):
            assert (job_dir / f"{job_id}{suffix}").is_file(), f"{job_dir} lacks {job_id}{suffix}"
        _wait_for(  # the launcher returns on the result pickle, before SLURM ends the job
            lambda job_id=job_id: _job_field(cluster, job_id, "JobState") == "COMPLETED",
            f"SLURM to report job {job_id} COMPLETED",
            cluster,
            sweep_dir,
        )
        logs[job_id] = "".join(p.read_text() for p in sorted(job_dir.glob("*_log.*")))
    for run_dir in run_dirs[:2]:  # the jobs' logs (stdout/stderr) name the run folders they wrote
        assert any(f"run folder {run_dir}" in text for text in logs.values()), run_dir

    # The failed job recorded its submitit logs; its stdout holds the traceback.
    bad_job = [job_id for job_id, text in logs.items() if "ConfigError" in text]
    assert len(bad_job) == 1, f"expected one job log with the ConfigError, got {bad_job}"
    job_log = sweep_dir / ".submitit" / bad_job[0] / f"{bad_job[0]}_0_log"
    expected_logs = [str(bad_dir / "train.log"), f"{job_log}.out", f"{job_log}.err"]
    assert failed["logs"] == expected_logs
    assert "Traceback" in Path(f"{job_log}.out").read_text()

    # The sweep's summary: printed by the launch and in sweep_summary.json.
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert summary["counts"] == {
        "completed": 2,
        "diverged": 0,
        "failed": 1,
        "unfinished": 0,
        "refused": 0,
    }
    bad = [job for job in summary["jobs"] if job["status"] == "failed"]
    assert [job["run_dir"] for job in bad] == [str(bad_dir)]
    assert bad[0]["logs"] == expected_logs and bad[0]["error"] == failed["error"]
    assert "3 jobs, 2 completed, 0 diverged, 1 failed, 0 unfinished" in done.stdout
    assert f"log: {job_log}.err" in done.stdout, done.stdout[-3000:]

    # The results collector finds all three, the good ones with their σ².
    runs = collect_runs(sweep_dir).set_index("run_name")
    assert sorted(runs.index) == [p.name for p in run_dirs]
    assert runs.loc["0_likelihood.sigma2=10,seed=0", ["status", "sigma2"]].tolist() == [
        "completed",
        10.0,
    ]
    assert runs.loc["1_likelihood.sigma2=0.01,seed=0", ["status", "sigma2"]].tolist() == [
        "completed",
        0.01,
    ]
    assert runs.loc["2_likelihood.sigma2=-1,seed=0", "status"] == "failed"
    assert "likelihood.sigma2" in runs.loc["2_likelihood.sigma2=-1,seed=0", "error"]


@pytest.mark.slow
@needs_slurm
def test_usr2_requeues_and_resumes_from_checkpoint(cluster: dict, tmp_path: Path) -> None:
    """SIGUSR2 -> submitit checkpoints + requeues -> the job resumes and completes with the
    final metrics of an uninterrupted run of the same config (to 1e-6).

    Proof of resumption: while the requeued job waits, its checkpoint's ``wall_time_s`` is
    raised by 10^4 s; a resumed run carries it into result.json, a fresh start would not.
    The uninterrupted reference is a plain run (no SLURM) started alongside the sweep, with one
    torch thread like the job (SLURM_CPUS_PER_TASK=1) and OMP_NUM_THREADS=1 in both.
    """
    sweep_dir, reference_dir = tmp_path / "sweep", tmp_path / "reference"
    max_steps, eval_every, offset_s = 3000, 500, 1e4
    training = [
        "likelihood.sigma2=1",
        f"trainer.max_steps={max_steps}",
        f"trainer.eval_every={eval_every}",
        "trainer.checkpoint_every=10",
    ]
    command = _train_command(
        sweep_dir,
        *training,
        "hydra.launcher.partition=debug",
        "hydra.launcher.max_num_timeout=2",
    )
    reference_command = [
        sys.executable,
        "-m",
        "lucas2019.train",
        "experiment=fig5_fixed_sigma",
        "scale=smoke",
        *training,
        "torch_threads=1",
        f"hydra.run.dir={reference_dir}",
    ]
    env = cluster["env"]
    launch_log = tmp_path / "launch.log"  # a file, not a pipe: submitit's polling is chatty
    reference_log = tmp_path / "reference.log"
    with launch_log.open("w") as sink, reference_log.open("w") as reference_sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path, env=env
        )
        reference_proc = subprocess.Popen(
            reference_command,
            stdout=reference_sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=_clean_env(),
        )
    job_id = None
    try:

        def checkpoint_after_first_eval() -> Path | None:
            """The checkpoint once it holds a metrics row (step >= eval_every), else None.

            Preempting after the first row makes the resumed metrics.csv mix rows restored
            from the checkpoint with rows computed after the resume.
            """
            found = [p / "checkpoint.pt" for p in sweep_dir.glob("0_*")]
            if not found or not found[0].exists():
                return None
            payload = torch.load(found[0], map_location="cpu", weights_only=False)
            return found[0] if int(payload["step"]) >= eval_every else None

        checkpoint = _wait_for(
            checkpoint_after_first_eval,
            f"a checkpoint at step >= {eval_every}",
            cluster,
            sweep_dir,
            proc,
            launch_log,
        )
        run_dir = checkpoint.parent
        queue = subprocess.run(
            ["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, env=env, timeout=30
        )
        running = [line.split() for line in queue.stdout.splitlines()]
        assert len(running) == 1 and running[0][1] == "RUNNING", queue.stdout
        job_id = running[0][0]
        signal = subprocess.run(
            ["scancel", "--signal=USR2", job_id], capture_output=True, text=True, env=env
        )
        assert signal.returncode == 0, signal.stderr

        def requeued() -> bool:
            state = _job_field(cluster, job_id, "JobState")
            if state == "COMPLETED":
                pytest.fail(f"job {job_id} completed before SIGUSR2 reached it; raise max_steps")
            return state == "PENDING" and _job_field(cluster, job_id, "Restarts") == "1"

        _wait_for(requeued, f"job {job_id} to be requeued", cluster, sweep_dir, proc, launch_log)
        # The old process is gone (the job is pending): its last checkpoint is what resumes.
        payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
        step_before = int(payload["step"])
        assert eval_every <= step_before < max_steps, step_before
        payload["wall_time_s"] = float(payload["wall_time_s"]) + offset_s
        tmp = checkpoint.with_suffix(".test.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, checkpoint)
        # Requeued jobs wait ~120 s (BeginTime) because slurmd still holds the killed run's revoked
        # credential for a moment; releasing at once can get the job killed as "non-startable"
        # (seen in CI). Give slurmd a few seconds, then release it.
        time.sleep(5)
        release = subprocess.run(
            ["scontrol", "update", f"JobId={job_id}", "StartTime=now"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert release.returncode == 0, release.stderr
        proc.wait(timeout=CLI_TIMEOUT_S)
        reference_proc.wait(timeout=CLI_TIMEOUT_S)
    finally:
        if proc.poll() is None:  # only on failure: stop our launcher and its job
            proc.kill()
            proc.wait()
            if job_id is not None:
                subprocess.run(["scancel", job_id], env=env, timeout=30)
        if reference_proc.poll() is None:
            reference_proc.kill()
            reference_proc.wait()
    out = launch_log.read_text()
    assert proc.returncode == 0, f"{out[-3000:]}\n{_diagnostics(cluster, sweep_dir)}"

    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "completed" and result["step"] == max_steps, result
    assert result["wall_time_s"] >= offset_s, (
        f"wall_time_s={result['wall_time_s']}: the rerun did not resume from checkpoint.pt"
    )
    _wait_for(
        lambda: _job_field(cluster, job_id, "JobState") == "COMPLETED",
        f"SLURM to report job {job_id} COMPLETED",
        cluster,
        sweep_dir,
    )
    assert _job_field(cluster, job_id, "Restarts") == "1"
    train_log = (run_dir / "train.log").read_text()
    assert train_log.count("run folder ") == 2, f"expected two starts in train.log:\n{train_log}"
    resumed = re.search(r"resumed from step (\d+)", train_log)
    if resumed:  # the trainer's own resume line, where it logs one
        assert int(resumed.group(1)) == step_before, train_log
    job_log = "".join(p.read_text() for p in sweep_dir.glob(f".submitit/{job_id}/*_log.*"))
    assert f"Requeued job {job_id}" in job_log, job_log[-3000:]

    # The same final metrics as the uninterrupted reference run.
    assert reference_proc.returncode == 0, reference_log.read_text()[-3000:]
    reference = json.loads((reference_dir / "result.json").read_text())
    assert reference["status"] == "completed" and reference["wall_time_s"] < offset_s
    for key in RESUME_KEYS:
        assert result[key] == pytest.approx(reference[key], rel=1e-6), (
            f"{key}: resumed {result[key]} != uninterrupted {reference[key]}"
        )
    resumed_rows = pd.read_csv(run_dir / "metrics.csv")
    reference_rows = pd.read_csv(reference_dir / "metrics.csv")
    assert resumed_rows["step"].tolist() == list(range(0, max_steps + 1, eval_every))  # step 0 too
    restored = resumed_rows["step"] <= step_before  # rows from before the preemption
    assert restored.any() and not restored.all(), (step_before, resumed_rows["step"].tolist())
    assert (resumed_rows.loc[restored, "wall_time_s"] < offset_s).all()
    assert (resumed_rows.loc[~restored, "wall_time_s"] >= offset_s).all()  # computed after it
    columns = [c for c in reference_rows.columns if c != "wall_time_s"]
    pd.testing.assert_frame_equal(
        resumed_rows[columns], reference_rows[columns], check_exact=False, rtol=1e-6
    )


@pytest.mark.slow
@needs_slurm
def test_a_job_list_extends_only_its_run_in_its_folder_through_slurm(
    cluster: dict, tmp_path: Path
) -> None:
    """``reproduce --until-decided``'s launch (``hydra/sweeper=job_list``) through
    ``hydra/launcher=slurm``: of a two-run sweep, only the listed run is extended (40 -> 80
    steps), in the folder it had; the other run's files stay as they were."""
    from lucas2019 import until_decided

    runs = tmp_path / "runs"
    base = subprocess.run(
        _train_command(runs / "fig5", "likelihood.sigma2=10,0.01"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cluster["env"],
        timeout=CLI_TIMEOUT_S,
    )
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-3000:]
    folders = sorted(p.name for p in (runs / "fig5").iterdir() if p.is_dir() and p.name[0] != ".")
    chosen, other = (f"fig5/{name}" for name in folders)
    before = {p.name: p.read_bytes() for p in (runs / other).iterdir() if p.is_file()}
    jobs = runs / until_decided.JOBS_FILE
    extension = until_decided.Extension(chosen, (chosen,), 40, 80)
    jobs.write_text(json.dumps([until_decided.job(runs, extension)]))
    command = [sys.executable, "-m", "lucas2019.train", "-m", "hydra/sweeper=job_list"]
    command += [f"hydra.sweeper.jobs_file={jobs}", *LAUNCHER, f"hydra.sweep.dir={runs}"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=cluster["env"], timeout=300
    )
    assert done.returncode == 0, (
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{_diagnostics(cluster, runs)}"
    )
    dirs = sorted(p.name for p in (runs / "fig5").iterdir() if p.is_dir() and p.name[0] != ".")
    assert dirs == folders
    result = json.loads((runs / chosen / "result.json").read_text())
    assert (result["status"], result["step"], result["extended_from"]) == ("completed", 80, 40)
    assert result["launcher"] == "slurm"
    after = {p.name: p.read_bytes() for p in (runs / other).iterdir() if p.is_file()}
    assert after == before
