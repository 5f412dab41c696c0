"""``hydra/sweeper=job_list``: launch a given list of jobs, not a cartesian product.

A multirun normally sweeps every combination of its overrides. ``reproduce --until-decided``
needs to run an arbitrary set of existing runs again, each with its own overrides and a larger
``trainer.max_steps``, in the folder it already has. This sweeper reads that list from a JSON file
(``hydra.sweeper.jobs_file``): ``[{"subdir": "<folder under hydra.sweep.dir>", "overrides":
["key=value", ...]}, ...]`` and hands every job to the configured launcher in one ``launch`` call
(so ``vectorized`` can stack them and ``local_parallel`` or ``slurm`` run them at once). Each job's
folder is pinned by ``hydra.sweep.subdir``, which Hydra applies to the job's own Hydra config, so
the job number plays no part in where it runs. Command-line task overrides are refused: every
job's overrides are in the file.
"""

# No `from __future__ import annotations`: Hydra runs plugin modules without registering them in
# sys.modules, where dataclasses cannot resolve string annotations.
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import MISSING, DictConfig

log = logging.getLogger(__name__)


@dataclass
class JobListSweeperConf:
    _target_: str = "hydra_plugins.lucas2019_launcher.job_list_sweeper.JobListSweeper"
    jobs_file: str = MISSING
    # The sweep parameters an experiment preset declares; unused: every job's overrides are
    # explicit in the file.
    params: dict[str, str] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="job_list", node=JobListSweeperConf, provider="lucas2019"
)


def quoted(value: str) -> str:
    """``value`` as a quoted Hydra override value (folder names hold ``=`` and ``,``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def job_overrides(jobs: Sequence[dict]) -> list[list[str]]:
    """Each job's overrides with its folder pinned (``hydra.sweep.subdir``)."""
    return [[*job["overrides"], f"hydra.sweep.subdir={quoted(job['subdir'])}"] for job in jobs]


def read_jobs(path: str) -> list[dict]:
    """The jobs of ``path``; ValueError saying what was expected when the file is not such a
    list."""
    try:
        jobs = json.loads(Path(path).read_text(encoding="utf-8"))
        ok = isinstance(jobs, list) and all(
            isinstance(j, dict)
            and isinstance(j.get("subdir"), str)
            and j["subdir"]
            and isinstance(j.get("overrides"), list)
            and all(isinstance(o, str) for o in j["overrides"])
            for j in jobs
        )
    except (OSError, ValueError) as error:
        raise ValueError(f"hydra.sweeper.jobs_file={path} does not read: {error}") from None
    if not ok:
        raise ValueError(
            f"hydra.sweeper.jobs_file={path} is not a job list: expected a JSON list of "
            '{"subdir": "<folder>", "overrides": ["key=value", ...]}.'
        )
    return jobs


class JobListSweeper(Sweeper):
    """Hydra sweeper: the jobs of a file, launched as one batch."""

    def __init__(self, jobs_file: str, params: dict[str, str] | None = None) -> None:
        self.jobs_file = jobs_file
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        """Launch the file's jobs; their returns, in the file's order."""
        if arguments:
            raise HydraException(
                f"hydra/sweeper=job_list takes every job's overrides from "
                f"hydra.sweeper.jobs_file; got command-line overrides {arguments}: put them in "
                "each job's overrides instead."
            )
        batch = job_overrides(read_jobs(self.jobs_file))
        log.info("Job-list sweeper: %d jobs from %s", len(batch), self.jobs_file)
        if not batch:
            return []
        self.validate_batch_is_legal(batch)
        returns = self.launcher.launch(batch, initial_job_idx=0)
        for r in returns:
            _ = r.return_value  # raises a job's exception, as Hydra's basic sweeper does
        return [returns]
