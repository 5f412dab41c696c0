"""``python -m lucas2019.train``: train one model from one composed Hydra config.

Examples (``--help`` lists more)::

    python -m lucas2019.train likelihood.sigma2=0.1
    python -m lucas2019.train -m experiment=fig5_fixed_sigma hydra/launcher=local_parallel
"""

from __future__ import annotations

import logging
import sys
import traceback

import hydra
from omegaconf import DictConfig

from lucas2019.config import CONF_DIR, register_configs, register_resolvers, validate
from lucas2019.io import atomic_write_json
from lucas2019.launch import is_multirun, job_logs, make_tracker, run_dir, set_torch_threads
from lucas2019.trainer import Preempted, train

log = logging.getLogger("lucas2019.train")
register_configs()
register_resolvers()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Validate, train, and return the final training ELBO (nats per example).

    In a multirun, a job that fails is recorded in its run folder (``result.json`` with
    ``status='failed'``, the error, its traceback and the paths of its logs) and the sweep goes
    on; the sweep's summary (lucas2019.sweep_report) then reports it. A single run re-raises.
    """
    out = run_dir()
    tracker = None
    exit_code = 1
    try:
        validate(cfg)
        threads = set_torch_threads(cfg)
        log.info("run folder %s (torch threads: %d)", out, threads)
        tracker = make_tracker(cfg)
        result = train(cfg, run_dir=out, tracker=tracker)
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
        if not is_multirun():
            raise
        log.error("job failed, the sweep goes on: %s", error, exc_info=True)
        atomic_write_json(
            out / "result.json",
            {
                "status": "failed",
                "error": repr(error),
                "traceback": traceback.format_exc(),
                "logs": job_logs(),
            },
        )
        return None
    finally:
        if tracker is not None:
            tracker.finish(exit_code=exit_code)


if __name__ == "__main__":
    sys.exit(main())
