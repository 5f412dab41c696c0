"""Launching training as a Hydra multirun, and what a Hydra task needs to know about how it was
launched: run folder, threads, W&B naming."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from lucas2019.config import RunConfig
from lucas2019.tracking import Tracker, WandbTracker, wandb_mode
from lucas2019.trainer import STACKED_LAUNCHER


def train_multirun(overrides: Sequence[str], sweep_dir: Path) -> list[str]:
    """The command line of a Hydra multirun of ``python -m lucas2019.train`` with ``overrides``
    (sweeps, launcher, ...), its runs under ``sweep_dir``, in this interpreter."""
    return [
        sys.executable,
        "-m",
        "lucas2019.train",
        "-m",
        *overrides,
        f"hydra.sweep.dir={sweep_dir}",
    ]


def is_multirun() -> bool:
    """True inside a job of a Hydra multirun (any launcher)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def set_torch_threads(configured: int | None) -> int:
    """Choose torch's intra-op threads: ``configured`` (the config's ``torch_threads``), else
    SLURM's CPUs, else 1 per job; returns the number set.

    Parallel launchers run one job per core; two threads per job there made jobs tens of times
    slower on two cores, so a job of a non-sequential multirun gets one thread.
    """
    threads = configured
    if threads is None and os.environ.get("SLURM_CPUS_PER_TASK"):
        threads = int(os.environ["SLURM_CPUS_PER_TASK"])
    if threads is None and is_multirun():
        launcher = HydraConfig.get().runtime.choices.get("hydra/launcher", "basic")
        threads = None if launcher == "basic" else 1
    if threads is not None:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def job_launcher() -> str | None:
    """result.json's ``launcher`` of a run trained on its own: the hydra/launcher of its Hydra job
    ('basic', 'local_parallel', 'slurm', ...; None outside Hydra). A job that hydra/launcher=
    vectorized ran on its own records 'vectorized_alone'; stacked members record
    :data:`lucas2019.trainer.STACKED_LAUNCHER`."""
    if not HydraConfig.initialized():
        return None
    choice = HydraConfig.get().runtime.choices.get("hydra/launcher")
    return f"{choice}_alone" if choice == STACKED_LAUNCHER else choice


def job_overrides() -> list[str]:
    """The command-line overrides of this Hydra job (result.json's ``overrides``; [] outside
    Hydra)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def run_dir() -> Path:
    """This job's output folder (Hydra's runtime.output_dir), where the run folder lives."""
    return Path(HydraConfig.get().runtime.output_dir)


def job_logs() -> list[str]:
    """Absolute paths of the files this job's log lines go to.

    Hydra's job log ``<run dir>/<job name>.log`` (train.log), and in a submitit job (SLURM or
    submitit_local) its stdout and stderr files ``<sweep>/.submitit/<job id>/<job id>_0_log.out``
    and ``..._log.err``; a job records them so a sweep's summary can point at a failed job's logs.
    """
    hydra = HydraConfig.get()
    logs = [str(Path(hydra.runtime.output_dir).absolute() / f"{hydra.job.name}.log")]
    if os.environ.get("SUBMITIT_EXECUTOR"):
        import submitit  # only inside a submitit job

        paths = submitit.JobEnvironment().paths
        logs += [str(paths.stdout), str(paths.stderr)]
    return logs


class _StartsOnFirstReport(Tracker):
    """A tracker that is created when the trainer first reports to it, so a job that trains
    nothing (its run folder reused or refused) opens no W&B run."""

    def __init__(self, start: Callable[[], Tracker]) -> None:
        self._start, self._tracker = start, None

    def _started(self) -> Tracker:
        if self._tracker is None:
            self._tracker = self._start()
        return self._tracker

    def log_metrics(self, row: dict, step: int) -> None:
        self._started().log_metrics(row, step)

    def log_final(
        self, result: dict, model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...]
    ) -> None:
        self._started().log_final(result, model=model, x=x, image_shape=image_shape)

    def finish(self, exit_code: int = 0) -> None:
        if self._tracker is not None:
            self._tracker.finish(exit_code=exit_code)


def make_tracker(run: RunConfig) -> Tracker:
    """A W&B tracker when the config ``run`` has ``logger=wandb`` (group = experiment/sweep,
    name = overrides).

    The W&B run starts at the trainer's first report; a bad W&B mode is raised here, at once.
    """
    values = run.values
    if values["logger"]["name"] != "wandb":
        return Tracker()
    wandb_mode(values["logger"])
    hydra = HydraConfig.get()
    experiment = values["experiment"]["name"] or "train"
    if is_multirun():
        group = f"{experiment}/{Path(hydra.sweep.dir).name}"
        name = hydra.job.override_dirname or f"job{hydra.job.num}"
    else:
        group = f"{experiment}/single"
        name = hydra.job.override_dirname or Path(hydra.runtime.output_dir).name
    folder = str(run_dir())
    return _StartsOnFirstReport(
        lambda: WandbTracker(
            values,
            group=group,
            name=name,
            job_type=str(values["likelihood"]["name"]),
            run_dir=folder,
        )
    )
