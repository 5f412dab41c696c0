"""``python -m lucas2019.train``: train one model from one composed Hydra config.

Examples (``--help`` lists more)::

    python -m lucas2019.train likelihood.sigma2=0.1
    python -m lucas2019.train -m experiment=fig5_fixed_sigma hydra/launcher=local_parallel

Exit status: 0 when the run completed, diverged or was reused; 2 for a rejected config, missing
or damaged data files, or a run folder that holds another run (one message on stderr, no
traceback); 1 when no checkpoint in the
folder loads, or for an unexpected error.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import hydra
from omegaconf import DictConfig

from lucas2019.config import (
    CONF_DIR,
    ConfigError,
    RunConfig,
    register_configs,
    register_resolvers,
)
from lucas2019.data import DATA_ERRORS
from lucas2019.launch import (
    is_multirun,
    job_launcher,
    job_logs,
    job_overrides,
    make_tracker,
    run_dir,
    set_torch_threads,
)
from lucas2019.run_folder import CheckpointUnreadable, RunRefused, record_job_error
from lucas2019.trainer import Preempted, train

log = logging.getLogger("lucas2019.train")
register_configs()
register_resolvers()
#: errors the user can act on from their message alone: exit status, printed without a traceback
_EXIT_STATUS = {
    ConfigError: 2,
    RunRefused: 2,
    **dict.fromkeys(DATA_ERRORS, 2),
    CheckpointUnreadable: 1,
}


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Validate the config (once: the library below reads the :class:`RunConfig` built here),
    train, and return the final training ELBO (nats per example).

    A single run ends with a config error, a refused run folder or unreadable checkpoints by
    printing the message to stderr and exiting (see the module's exit statuses). In a multirun a
    job that fails is recorded (:func:`lucas2019.run_folder.record_job_error`: the error, its
    traceback and the paths of its logs; a refused job as ``refused``, and a finished result.json
    is never overwritten) and the sweep goes on; the sweep's summary (lucas2019.sweep_report)
    then reports it.
    """
    # imported when a job runs, not when a sweep's launching process loads this module: the
    # claims table brings the figures' libraries (pandas, SciPy), a second or two to import
    from paper_figures.claims.table import table_hash

    out = run_dir()
    tracker = None
    exit_code = 1
    try:
        run = RunConfig.from_config(
            cfg, claims_hash=table_hash(), overrides=job_overrides(), launcher=job_launcher()
        )
        _check_run_dir(run, out)
        threads = set_torch_threads(run.values["torch_threads"])
        log.info("run folder %s (torch threads: %d)", out, threads)
        tracker = make_tracker(run)
        result = train(run, run_dir=out, tracker=tracker)
        exit_code = 0
        log.info(
            "%s: step %d, ELBO %.4f, collapsed %.3f, active units %d",
            result["status"],
            result["step"],
            result["elbo"],
            result["collapsed_fraction"],
            result["active_units"],
        )
        return result["elbo"]
    except Preempted as stop:
        log.warning("%s", stop)
        raise
    except Exception as error:
        status = next((s for t, s in _EXIT_STATUS.items() if isinstance(error, t)), None)
        if not is_multirun():
            if status is None:
                raise
            print(error, file=sys.stderr, flush=True)
            raise SystemExit(status) from None
        refused = isinstance(error, RunRefused)
        if refused:  # the message says it all; a traceback would only hide it
            log.error("job refused, the sweep goes on: %s", error)
        else:
            log.error("job failed, the sweep goes on: %s", error, exc_info=True)
        record_job_error(
            out,
            "refused" if refused else "failed",
            str(error) if refused else repr(error),
            traceback=None if refused else traceback.format_exc(),
            logs=job_logs(),
        )
        return None
    finally:
        if tracker is not None:
            tracker.finish(exit_code=exit_code)


def _check_run_dir(run: RunConfig, out: Path) -> None:
    """The run folder is Hydra's output folder: ``run_dir`` set on the command line would be
    ignored, so it is refused with the keys that do choose the folder."""
    run_dir = run.values["run_dir"]
    if Path(run_dir).resolve() != out.resolve():
        raise ConfigError(
            f"config key 'run_dir' = {run_dir!r} is invalid: a run folder is Hydra's output "
            f"folder ({out}). Choose it with hydra.run.dir=PATH (one run) or "
            "hydra.sweep.dir=PATH (a sweep, one subfolder per job) instead of run_dir."
        )


if __name__ == "__main__":
    sys.exit(main())
