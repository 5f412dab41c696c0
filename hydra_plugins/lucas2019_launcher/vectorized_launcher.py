"""``hydra/launcher=vectorized``: a sweep's jobs that differ only in σ² and seed train as one
stacked model (:mod:`lucas2019.stacked`), every other job as ``local_parallel`` runs it.

The preset is conf/hydra/launcher/vectorized.yaml; its keys (``hydra.launcher.<key>``):

- ``stack``: ``auto`` | ``always`` | ``never``: whether groups are stacked (``auto``: on a GPU, and
  on CPU while it is the faster way; the rule is :func:`lucas2019.grouping.stacking_pays`);
- ``n_jobs``: worker processes of the local backend (-1: one per core), as ``local_parallel``;
- ``backend``: ``local`` (worker processes on this machine) or ``slurm`` (one SLURM job per unit
  through submitit, requeued and resumed after a time-out or preemption as ``slurm``'s jobs);
- ``slurm``: the SLURM keys for ``backend=slurm``, the ``slurm`` preset's by default.

The launch reads every job's config and plans units (:func:`lucas2019.grouping.plan`). A unit of
one job runs as Hydra's own launchers run a job. A stacked unit runs in one process in three
phases: (1) each member's Hydra job is set up (folder, ``.hydra/`` files, log file) by Hydra's
``run_job`` with a task that only records the job's config; (2) the members train together, each
member's own work in its job's context (its Hydra config; its log lines go to its own log file,
the group's to all); (3) each member's job runs the task as usual, which finds its run folder
finished and reuses it, so its log line, its error record (a refused folder, a bad config) and its
return value are a normal job's. A member that the group could not train (an error) is trained by
its own job in phase 3.
"""

# No `from __future__ import annotations`: Hydra runs plugin modules without registering them in
# sys.modules, where dataclasses cannot resolve string annotations.
import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)
BACKENDS = ("local", "slurm")
#: the member of a stacked unit whose work is running (None: the group's own work)
_MEMBER: ContextVar[int | None] = ContextVar("member", default=None)
#: one job: (job number in the sweep, its overrides)
Job = tuple[int, list[str]]


@dataclass
class VectorizedLauncherConf:
    _target_: str = "hydra_plugins.lucas2019_launcher.vectorized_launcher.VectorizedLauncher"
    _recursive_: bool = False  # ``slurm`` holds submitit's keys (with a _target_): pass them as is
    stack: str = "auto"
    n_jobs: int = -1
    backend: str = "local"
    slurm: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/launcher",
    name="lucas2019_vectorized",
    node=VectorizedLauncherConf,
    provider="lucas2019",
)


class VectorizedLauncher(Launcher):
    """Hydra launcher: plans a sweep's jobs into units and runs each in its own process."""

    def __init__(
        self,
        stack: str = "auto",
        n_jobs: int = -1,
        backend: str = "local",
        slurm: DictConfig | dict | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"hydra.launcher.backend={backend!r} is invalid: expected one of {BACKENDS}. "
                "Set it on the command line, e.g. hydra.launcher.backend=slurm."
            )
        self.stack, self.n_jobs, self.backend = stack, n_jobs, backend
        slurm = OmegaConf.to_container(slurm, resolve=True) if OmegaConf.is_config(slurm) else slurm
        self.slurm = {k: v for k, v in (slurm or {}).items() if k != "_target_"}
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        """Run the jobs (each a list of overrides); their returns, in the jobs' order."""
        from lucas2019 import grouping  # here, not at import: plugin discovery stays fast

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(initial_job_idx + i, list(o)) for i, o in enumerate(job_overrides)]
        units = grouping.plan(
            [self._describe(job) for job in jobs],
            stack=self.stack,
            workers=self._workers(),
            cuda_available=self._cuda_available(),
        )
        log.info(
            "Vectorized launcher (%s, stack=%s): %d jobs in %d units, sweep output dir: %s",
            self.backend,
            self.stack,
            len(jobs),
            len(units),
            sweep_dir,
        )
        for unit in units:
            numbers = ",".join(str(jobs[i][0]) for i in unit.jobs)
            log.info("\t#%s: %s", numbers, unit.reason)
        work = [([jobs[i] for i in unit.jobs], unit.stacked) for unit in units]
        returns = self._run_local(work) if self.backend == "local" else self._run_slurm(work)
        by_job = {
            i: r
            for unit, rs in zip(units, returns, strict=True)
            for i, r in zip(unit.jobs, rs, strict=True)
        }
        return [by_job[i] for i in range(len(jobs))]

    def _describe(self, job: Job) -> dict | None:
        """The job's config for planning, plain (None, logged, if it does not load)."""
        from lucas2019.config import job_values

        try:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, job[1])
            return job_values(cfg)
        except Exception as error:
            log.warning("job #%d: its config does not load (%s); it runs on its own", job[0], error)
            return None

    def _workers(self) -> int:
        """Processes that run units at once: the local workers; 1 per SLURM job."""
        import joblib

        return joblib.effective_n_jobs(self.n_jobs) if self.backend == "local" else 1

    def _cuda_available(self) -> bool:
        """Whether device=auto trains on a GPU where the units run."""
        if self.backend == "slurm":
            return any(self.slurm.get(k) for k in ("gpus_per_node", "gpus_per_task", "gres"))
        import torch

        return torch.cuda.is_available()

    def _run_local(self, work: list[tuple[list[Job], bool]]) -> list[list[JobReturn]]:
        from joblib import Parallel, delayed

        state = Singleton.get_state()
        return Parallel(n_jobs=self.n_jobs, backend="loky")(
            delayed(run_unit)(
                jobs, stacked, self.hydra_context, self.config, self.task_function, state
            )
            for jobs, stacked in work
        )

    def _run_slurm(self, work: list[tuple[list[Job], bool]]) -> list[list[JobReturn]]:
        """One SLURM job per unit, as hydra_submitit_launcher submits one per job."""
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

        params = dict(self.slurm)
        executor = submitit.AutoExecutor(
            cluster="slurm",
            folder=params.pop("submitit_folder"),
            slurm_max_num_timeout=params.pop("max_num_timeout"),
        )
        common = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{k if k in common else f"slurm_{k}": v for k, v in params.items()}
        )
        state = Singleton.get_state()
        submitted = executor.map_array(self, *zip(*((j, s, state) for j, s in work), strict=True))
        return [job.results()[0] for job in submitted]

    def __call__(self, jobs: list[Job], stacked: bool, singleton_state: dict) -> list[JobReturn]:
        """A SLURM job's work: one unit."""
        return run_unit(
            jobs, stacked, self.hydra_context, self.config, self.task_function, singleton_state
        )

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """submitit's requeue after a time-out or preemption: the same unit again, which resumes
        every member from its run folder's checkpoint."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def run_unit(
    jobs: list[Job],
    stacked: bool,
    hydra_context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    singleton_state: dict,
) -> list[JobReturn]:
    """Run one unit in this process: its one job, or its jobs as one stacked group."""
    setup_globals()
    Singleton.set_state(singleton_state)
    if not stacked:
        return [_run_job(hydra_context, config, task_function, *job) for job in jobs]
    return _run_group(jobs, hydra_context, config, task_function)


def _run_job(
    hydra_context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    number: int,
    overrides: list[str],
) -> JobReturn:
    """Hydra's run of one job of the sweep, as its joblib and submitit launchers run it."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, overrides)
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = _job_id(sweep_config, number)
        sweep_config.hydra.job.num = number
    HydraConfig.instance().set_config(sweep_config)
    return run_job(
        hydra_context=hydra_context,
        task_function=task_function,
        config=sweep_config,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def _job_id(sweep_config: DictConfig, number: int) -> str:
    """submitit's job id inside a SLURM job, else ``<job name>_<number>`` (as joblib's)."""
    import os

    if os.environ.get("SUBMITIT_EXECUTOR"):
        import submitit

        return str(submitit.JobEnvironment().job_id)
    return f"{sweep_config.hydra.job.name}_{number}"


def _run_group(
    jobs: list[Job], hydra_context: HydraContext, config: DictConfig, task_function: TaskFunction
) -> list[JobReturn]:
    """The three phases of a stacked unit (see the module docstring)."""
    from lucas2019 import stacked
    from lucas2019.config import RunConfig
    from lucas2019.launch import job_overrides, set_torch_threads
    from lucas2019.trainer import Preempted
    from paper_figures.claims.table import table_hash

    registered: list[tuple[DictConfig, DictConfig]] = []  # (task config, Hydra config)
    log_files: list[list[logging.FileHandler]] = []
    setups: list[JobReturn] = []
    for job in jobs:
        setups.append(_run_job(hydra_context, config, partial(_record, registered), *job))
        log_files.append(_file_handlers())
    claims = table_hash()  # each member records it if it starts from step 0
    outcomes: dict[int, dict | Exception] = {}
    members: dict[int, stacked.Member] = {}
    for i, (cfg, hydra_cfg) in enumerate(registered):
        context = partial(_as_member, i, hydra_cfg)
        with context():  # its run_dir resolves to its job's folder
            try:  # the member's one validation, as the train command's
                run = RunConfig.from_config(cfg, claims_hash=claims, overrides=job_overrides())
            except Exception as error:  # its job reports it, in phase 3
                outcomes[i] = error
                continue
        members[i] = stacked.Member(
            run, run_dir=Path(hydra_cfg.hydra.runtime.output_dir), context=context
        )
    with _routed_logs(log_files):
        with _as_member(0, registered[0][1]):
            threads = set_torch_threads(registered[0][0].get("torch_threads"))
        log.info(
            "jobs #%s train as one stacked model (torch threads: %d)",
            ",".join(str(number) for number, _ in jobs),
            threads,
        )
        try:
            trained = stacked.train_group(list(members.values()))
        except Preempted as stop:
            log.warning("%s", stop)
            for setup in setups:  # as a normal job's Preempted: the job failed, the launch raises
                setup.status, setup.return_value = JobStatus.FAILED, stop
            return setups
        outcomes.update(zip(members, trained, strict=True))
        for i, outcome in sorted(outcomes.items()):
            if isinstance(outcome, Exception):  # its job reports it, or trains it on its own
                with _as_member(i, registered[i][1]):
                    log.warning("not trained in the group: %s", outcome)
    return [_run_job(hydra_context, config, task_function, *job) for job in jobs]


def _record(registered: list, cfg: DictConfig) -> None:
    """Phase 1's task: record the job's config and its Hydra config."""
    registered.append((cfg, HydraConfig.instance().cfg))


def _file_handlers() -> list[logging.FileHandler]:
    """The log files the job's logging config just opened."""
    return [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]


@contextlib.contextmanager
def _as_member(index: int, hydra_cfg: DictConfig) -> Iterator[None]:
    """Within the block: member ``index``'s Hydra config, and log lines to its files only."""
    saved = HydraConfig.instance().cfg
    HydraConfig.instance().cfg = hydra_cfg
    token = _MEMBER.set(index)
    try:
        yield
    finally:
        _MEMBER.reset(token)
        HydraConfig.instance().cfg = saved


class _MemberFilter(logging.Filter):
    """Passes the group's records and those of member ``index``."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def filter(self, record: logging.LogRecord) -> bool:
        return _MEMBER.get() in (None, self.index)


@contextlib.contextmanager
def _routed_logs(log_files: list[list[logging.FileHandler]]) -> Iterator[None]:
    """Within the block, each member's log files (as its job's logging config opened them, each
    closed since by the next job's) take its own records and the group's."""
    root = logging.getLogger()
    for handler in _file_handlers():
        root.removeHandler(handler)
        handler.close()
    routed = []
    for index, handlers in enumerate(log_files):
        for opened in handlers:
            handler = logging.FileHandler(opened.baseFilename, mode="a", encoding=opened.encoding)
            handler.setFormatter(opened.formatter)
            handler.setLevel(opened.level)
            handler.addFilter(_MemberFilter(index))
            root.addHandler(handler)
            routed.append(handler)
    try:
        yield
    finally:
        for handler in routed:
            root.removeHandler(handler)
            handler.close()
