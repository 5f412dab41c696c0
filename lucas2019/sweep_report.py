"""One summary of a sweep's jobs: how many completed, diverged, failed, never finished or were
refused (their run folder holds a run of another config, :mod:`lucas2019.run_folder`).

Registered in conf/train.yaml as a Hydra callback, it runs in the launching process once every
job of a ``-m`` sweep has returned (any launcher: basic, joblib, submitit local or SLURM). It
prints the summary, writes it atomically to ``<sweep dir>/sweep_summary.json`` and, when a job
failed, was refused or left no result, makes the launch exit with status 1 (after the other jobs
finished and kept their results). It reads the run folders
(:func:`lucas2019.results.collect_runs`), so it reports every run folder in the sweep folder,
earlier launches into the same folder included.

By hand, e.g. after a launch that submitit aborted (a job killed by SLURM) or while jobs run::

    python -m lucas2019.sweep_report <sweep dir>
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lucas2019.io import atomic_write_json
from lucas2019.results import collect_runs
from lucas2019.run_folder import job_error

SUMMARY_FILE = "sweep_summary.json"
#: statuses a job can end with; any other collect_runs status counts as 'unfinished'
ENDED = ("completed", "diverged", "failed")
#: every status of the summary, in its order
STATUSES = (*ENDED, "unfinished", "refused")
#: statuses that make the launch exit with status 1
BAD = ("failed", "unfinished", "refused")


def _overrides(run_dir: Path) -> list[str] | None:
    """The job's command-line overrides (Hydra's ``.hydra/overrides.yaml``), None if absent."""
    path = run_dir / ".hydra" / "overrides.yaml"
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return [str(o) for o in loaded] if isinstance(loaded, list) else None


def _logs(run_dir: Path, record: dict | None) -> list[str]:
    """Log files of a job: those its job record or result.json lists (a failed or refused job),
    else the train.log."""
    if record is None:
        try:
            record = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            record = None
    if isinstance(record, dict) and isinstance(record.get("logs"), list):
        return [str(p) for p in record["logs"] if Path(p).exists()]
    return [str(p) for p in sorted(run_dir.glob("*.log"))]


def summarize_sweep(sweep_dir: str | os.PathLike) -> dict[str, Any]:
    """The summary of every run folder under ``sweep_dir`` (a Hydra multirun folder).

    Returns ``{"sweep_dir", "n_jobs", "counts", "jobs"}``: ``counts`` maps each of
    :data:`STATUSES` ('completed', 'diverged', 'failed', 'unfinished': no result.json or an
    unreadable one, 'refused': the job found a run of another config in its folder and left it
    alone) to job counts; ``jobs`` lists one dict per run folder (sorted by folder) with
    ``run_dir`` (absolute), ``status``, ``overrides`` (the last job's own, from
    ``.hydra/overrides.yaml``; None if absent), ``sigma2`` (σ² in config.yaml; None for a job that
    failed before training), ``error`` (None unless failed, refused or unreadable) and ``logs``
    (existing log files; a failed or refused job's record names train.log and, under submitit,
    ``.submitit/<id>/<id>_0_log.out|.err``). The last job's record
    (:func:`lucas2019.run_folder.job_error`) decides over a result.json it had to leave alone.
    Raises FileNotFoundError if ``sweep_dir`` is not a folder.
    """
    root = Path(sweep_dir).absolute()
    runs = collect_runs(root)
    jobs = []
    for row in runs.itertuples(index=False):
        run_dir = Path(row.run_dir)
        record = job_error(run_dir)
        if record is not None:
            status, error = str(record.get("status")), str(record.get("error"))
        else:
            status = row.status if row.status in ENDED else "unfinished"
            error = row.error if isinstance(row.error, str) else None
        sigma2 = row.sigma2 if row.sigma2 is not None and not math.isnan(row.sigma2) else None
        jobs.append(
            {
                "run_dir": str(run_dir),
                "status": status,
                "overrides": _overrides(run_dir),
                "sigma2": sigma2,
                "error": error,
                "logs": _logs(run_dir, record),
            }
        )
    counts = {s: sum(j["status"] == s for j in jobs) for s in STATUSES}
    return {"sweep_dir": str(root), "n_jobs": len(jobs), "counts": counts, "jobs": jobs}


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as text: one count line, then each failed or unfinished job with its logs."""
    counts = summary["counts"]
    lines = [
        f"sweep {summary['sweep_dir']}: {summary['n_jobs']} jobs, "
        + ", ".join(f"{counts[s]} {s}" for s in counts)
    ]
    for job in summary["jobs"]:
        if job["status"] not in BAD:
            continue
        overrides = " ".join(job["overrides"] or []) or "?"
        lines.append(f"  {job['status'].upper()}: {overrides}")
        lines.append(f"    run folder: {job['run_dir']}")
        if job["error"]:
            lines.extend(
                f"    {'error: ' if i == 0 else '  '}{line}"
                for i, line in enumerate(job["error"].splitlines())
            )
        lines.extend(f"    log: {log}" for log in job["logs"])
    return "\n".join(lines)


def report(sweep_dir: str | os.PathLike) -> int:
    """Summarize ``sweep_dir``, print it, write ``sweep_summary.json`` there; 1 if a job is bad.

    Returns 0 when every job completed or diverged, 1 when one failed, was refused or did not
    finish.
    """
    summary = summarize_sweep(sweep_dir)
    path = atomic_write_json(Path(summary["sweep_dir"]) / SUMMARY_FILE, summary)
    print(f"{format_summary(summary)}\nsweep summary: {path}", flush=True)
    return int(any(summary["counts"][s] for s in BAD))


class SweepReport(Callback):
    """Hydra callback: the sweep's summary after all jobs returned; exit 1 if a job is bad.

    Hydra turns an exception raised by a callback into a warning, so a bad sweep ends the
    launch with SystemExit(1) instead; nothing of Hydra's runs after ``on_multirun_end``.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Report on ``config.hydra.sweep.dir``; raise SystemExit(1) if a job is bad."""
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():  # no job wrote anything (e.g. an empty sweep)
            return
        if report(sweep_dir):
            raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """``python -m lucas2019.sweep_report SWEEP_DIR``: the summary of a sweep folder."""
    parser = argparse.ArgumentParser(
        prog="python -m lucas2019.sweep_report",
        description=(
            "Summarize a sweep folder's jobs (completed/diverged/failed/unfinished/refused), "
            f"print each bad job's error and logs, write {SUMMARY_FILE}; exit 1 if a job "
            "failed, is unfinished or was refused."
        ),
    )
    parser.add_argument("sweep_dir", type=Path, help="the multirun folder (hydra.sweep.dir)")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"sweep_dir={str(args.sweep_dir)!r} is not a folder; pass hydra.sweep.dir")
    return report(args.sweep_dir)


if __name__ == "__main__":
    sys.exit(main())
