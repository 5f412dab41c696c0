"""What a Hydra task needs to know about how it was launched: run folder, threads, W&B naming."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from lucas2019.tracking import Tracker, WandbTracker
from lucas2019.trainer import finished_result


def is_multirun() -> bool:
    """True inside a job of a Hydra multirun (any launcher)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def set_torch_threads(cfg: DictConfig) -> int:
    """Choose torch's intra-op threads: the config value, else SLURM's CPUs, else 1 per job.

    Parallel launchers run one job per core; two threads per job there made jobs tens of times
    slower on two cores, so a job of a non-sequential multirun gets one thread.
    """
    threads = cfg.get("torch_threads")
    if threads is None and os.environ.get("SLURM_CPUS_PER_TASK"):
        threads = int(os.environ["SLURM_CPUS_PER_TASK"])
    if threads is None and is_multirun():
        launcher = HydraConfig.get().runtime.choices.get("hydra/launcher", "basic")
        threads = None if launcher == "basic" else 1
    if threads is not None:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


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


def make_tracker(cfg: DictConfig) -> Tracker:
    """A W&B tracker when ``logger=wandb`` (group = experiment/sweep, name = overrides)."""
    if cfg.logger.name != "wandb" or finished_result(run_dir()) is not None:
        return Tracker()  # a finished run has nothing new to log
    hydra = HydraConfig.get()
    experiment = cfg.experiment.name or "train"
    if is_multirun():
        group = f"{experiment}/{Path(hydra.sweep.dir).name}"
        name = hydra.job.override_dirname or f"job{hydra.job.num}"
    else:
        group = f"{experiment}/single"
        name = hydra.job.override_dirname or Path(hydra.runtime.output_dir).name
    return WandbTracker(
        cfg, group=group, name=name, job_type=str(cfg.likelihood.name), run_dir=str(run_dir())
    )
