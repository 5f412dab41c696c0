"""What a run folder holds, and what a rerun into it may do: reuse, resume, extend or refuse.

A run's *fingerprint* is every config value that decides its result
(:attr:`lucas2019.config.RunConfig.result`: the resolved config less bookkeeping, cadence and
``trainer.max_steps``) plus :data:`DATA_KEY`, a SHA-256 of the data arrays actually loaded, so the
same files reached by two paths are the same data and changed files are not. The trainer stores it
in ``config.yaml``, every checkpoint and ``result.json``.

A rerun into a folder (:func:`check_rerun`, then :func:`load_checkpoint`):

- same fingerprint: a finished run of the same length is reused as is, a stopped one resumes
  from its last checkpoint;
- same fingerprint and a larger ``trainer.max_steps`` than a completed run: the run is extended
  from its last checkpoint (``result.json`` then records ``extended_from``);
- same fingerprint and a smaller ``trainer.max_steps`` than a completed run, or than a run
  extended from at least that many steps (by ``reproduce --until-decided``) that diverged in its
  extension: the longer run is reused as is, never shortened;
- a different fingerprint, or a ``trainer.max_steps`` that ends before a diverged run's last
  step: :class:`RunRefused` before any file of the folder is written. A schedule written
  relative to ``trainer.max_steps`` (Table 1's annealing, ``sigma2_rule=learned_then_optimal``'s
  switch) moves with it, so the fingerprint differs and an extension of such a run is refused,
  with the absolute value to pin instead.

Checkpoints: the newest two are kept (:data:`CHECKPOINT_FILES`), each written atomically; if the
newest does not load the previous one is used, with a warning naming both; if none loads,
:class:`CheckpointUnreadable` says which files and how to restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import yaml

from lucas2019.config import RunConfig
from lucas2019.io import atomic_write, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
RESULT_FILE = "result.json"
#: the newest checkpoint, then the one before it (the fallback)
CHECKPOINT_FILES = ("checkpoint.pt", "checkpoint.previous.pt")
#: written by a multirun job that did not train, where result.json is not its to write
JOB_ERROR_FILE = "job_error.json"
#: the key under which config.yaml, each checkpoint and result.json store the fingerprint
FINGERPRINT_KEY = "fingerprint"
#: the fingerprint's entry for the data: SHA-256 of the loaded arrays
DATA_KEY = "data.sha256"
FINISHED = ("completed", "diverged")
_ABSENT = "(not recorded)"

T = TypeVar("T")


class RunRefused(RuntimeError):
    """The folder holds a different run (or a longer one); nothing in it was written.

    The message names each differing key with both values and how to proceed. Command-line exit
    status 2, like a config error.
    """


class CheckpointUnreadable(RuntimeError):
    """No checkpoint in the folder loads; the message names the files and how to restart.

    Command-line exit status 1.
    """


@dataclass(frozen=True)
class Rerun:
    """What a run into an existing folder does, once its fingerprint matched.

    ``reuse`` is the finished result to return without training (None: train); ``extends`` the
    step count of the completed run that this one continues to a larger ``trainer.max_steps``
    (None: not an extension).
    """

    reuse: dict | None = None
    extends: int | None = None


def data_sha256(x_train: np.ndarray, x_test: np.ndarray | None) -> str:
    """SHA-256 (hex) of the training and held-out arrays: their dtype, shape and bytes."""
    digest = hashlib.sha256()
    for x in (x_train, x_test):
        if x is None:
            digest.update(b"none;")
            continue
        x = np.ascontiguousarray(x)
        digest.update(f"{x.dtype.str}{x.shape};".encode())
        digest.update(memoryview(x).cast("B"))
    return digest.hexdigest()


def fingerprint(run: RunConfig, x_train: np.ndarray, x_test: np.ndarray | None) -> dict[str, Any]:
    """The run's fingerprint: {dotted config key: value} of the config's ``result``, plus
    :data:`DATA_KEY` for the arrays ``x_train`` (n_train, d) and ``x_test`` (n_test, d) or None.

    Values are plain JSON values, so the fingerprint reads back equal from YAML, JSON or a
    checkpoint.
    """
    values = json.loads(json.dumps(run.result))
    return {**values, DATA_KEY: data_sha256(x_train, x_test)}


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple]:
    """{key: (recorded value, current value)} for every key whose values differ, in key order.

    A key present on one side only differs (its other value is ``'(not recorded)'``).
    """
    keys = sorted(set(recorded) | set(current))
    return {
        k: (recorded.get(k, _ABSENT), current.get(k, _ABSENT))
        for k in keys
        if recorded.get(k, _ABSENT) != current.get(k, _ABSENT)
    }


def finished_result(run_dir: str | os.PathLike) -> dict | None:
    """The result.json of a run that ended (status completed or diverged), else None.

    A result.json that does not parse (cut short by a full disk, a copy that stopped) counts as
    not finished.
    """
    result = _read_json(Path(run_dir) / RESULT_FILE)
    return result if result is not None and result.get("status") in FINISHED else None


def check_rerun(run_dir: str | os.PathLike, run: RunConfig, current: dict[str, Any]) -> Rerun:
    """Decide what a run of the config ``run`` (fingerprint ``current``) does in ``run_dir``.

    Compares ``current`` with the fingerprints recorded in config.yaml and result.json, and
    ``trainer.max_steps`` with a finished run's length. Raises :class:`RunRefused` if they
    differ or the run would be shorter; writes nothing. A folder written before fingerprints were
    recorded is accepted with a warning (its config cannot be checked).
    """
    run_dir = Path(run_dir)
    config = _read_yaml(run_dir / CONFIG_FILE)
    done = finished_result(run_dir)  # a failed job's result.json describes no run
    recorded_steps = _recorded_max_steps(config)
    records = {name: r for name, r in ((CONFIG_FILE, config), (RESULT_FILE, done)) if r}
    recorded = {n: r[FINGERPRINT_KEY] for n, r in records.items() if FINGERPRINT_KEY in r}
    for name, values in recorded.items():
        _refuse_if_different(run_dir / name, values, current, run, recorded_steps)
    if records and not recorded:
        log.warning(
            "%s was written before run folders recorded a fingerprint: whether it holds a run of "
            "this config cannot be checked",
            run_dir,
        )
    if done is None:
        return Rerun()
    steps, max_steps = int(done["step"]), run.max_steps
    if done["status"] == "completed" and max_steps == steps:
        return Rerun(reuse=done)
    # A run extended past this length (reproduce --until-decided) is kept as it is, a run is never
    # shortened: it completed these steps, and maybe diverged in its extension.
    completed_these = done["status"] == "completed" or (done.get("extended_from") or 0) >= max_steps
    if max_steps < steps and completed_these:
        log.info(
            "%s holds a %s run of %d steps, longer than trainer.max_steps=%d: reused as is",
            run_dir,
            done["status"],
            steps,
            max_steps,
        )
        return Rerun(reuse=done)
    # A run that diverged after `steps` updates diverges there again however long it may run.
    if done["status"] == "diverged" and max_steps > steps:
        return Rerun(reuse=done)
    if max_steps < steps or done["status"] == "diverged":
        shorter = "would be shorter" if max_steps < steps else "would end before it diverged"
        raise RunRefused(
            f"refused: {run_dir} holds a {done['status']} run of {steps} steps and "
            f"trainer.max_steps={max_steps} {shorter}; a run cannot be shortened. Rerun "
            f"with trainer.max_steps={steps} to reuse it (or more to extend it), or use a new run "
            "folder (hydra.run.dir=..., or a new hydra.sweep.dir for a sweep)."
        )
    return Rerun(extends=steps)


def _check_checkpoint(
    path: Path, payload: Mapping[str, Any], run: RunConfig, current: dict[str, Any]
) -> None:
    """Raise :class:`RunRefused` if the checkpoint ``payload`` (loaded from ``path``) was written
    by a different config or is past the config's ``trainer.max_steps``."""
    if isinstance(payload.get(FINGERPRINT_KEY), dict):
        _refuse_if_different(path, payload[FINGERPRINT_KEY], current, run, recorded_steps=None)
    step, max_steps = int(payload["step"]), run.max_steps
    if step > max_steps:
        raise RunRefused(
            f"refused: {path} is at step {step}, past trainer.max_steps={max_steps}; a run "
            f"cannot be shortened. Rerun with trainer.max_steps>={step}, or use a new run folder."
        )


def _refuse_if_different(
    source: Path,
    recorded: Mapping[str, Any],
    current: dict[str, Any],
    run: RunConfig,
    recorded_steps: int | None,
) -> None:
    diffs = differences(recorded, current)
    if not diffs:
        return
    max_steps = run.max_steps
    follows = (
        _follow_max_steps(run, recorded_steps, diffs)
        if recorded_steps is not None and recorded_steps != max_steps
        else set()
    )
    lines = [
        f"refused: {source.parent} holds a run of a different config ({source.name} records it); "
        "nothing in the folder was changed. Differences (the folder's value, then this run's):"
    ]
    for key, (old, new) in diffs.items():
        note = " (follows trainer.max_steps)" if key in follows else ""
        if key == DATA_KEY:
            note = " (the loaded data differ: dataset.root or its files changed)"
        lines.append(f"  {key}: {old!r} -> {new!r}{note}")
    pins = [f"{k}={_override(old)}" for k, (old, _) in diffs.items() if k != DATA_KEY]
    if follows:
        lines.append(
            f"  {', '.join(sorted(follows))} follow trainer.max_steps ({recorded_steps} in the "
            f"folder, {max_steps} now): extending the run would change their meaning, so it is "
            "refused; to extend it, pin the folder's absolute values (below)."
        )
    how = "use a new run folder (hydra.run.dir=..., or a new hydra.sweep.dir for a sweep)"
    if pins and DATA_KEY not in diffs:
        how += f", or rerun with the folder's values to resume or extend it: {' '.join(pins)}"
    lines.append(f"To proceed: {how}.")
    raise RunRefused("\n".join(lines))


def _follow_max_steps(run: RunConfig, recorded_steps: int, diffs: dict[str, tuple]) -> set[str]:
    """The differing keys whose value is the folder's again once trainer.max_steps is too."""
    values = json.loads(json.dumps(run.result_at(recorded_steps)))
    return {k for k, (old, _) in diffs.items() if k in values and values[k] == old}


def _override(value: Any) -> str:
    """``value`` as the right-hand side of a Hydra command-line override."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(_override(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_override(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str) and not value.isidentifier() else str(value)


def write_config(run_dir: Path, run: RunConfig, current: dict[str, Any]) -> Path:
    """Write config.yaml (the resolved config and its fingerprint) once a run is accepted, and
    drop a stale :data:`JOB_ERROR_FILE` (:func:`clear_job_error`)."""
    clear_job_error(run_dir)
    text = run.yaml
    text += yaml.safe_dump({FINGERPRINT_KEY: current}, sort_keys=True, allow_unicode=True)
    return atomic_write_text(run_dir / CONFIG_FILE, text)


def clear_job_error(run_dir: Path) -> None:
    """Drop the :data:`JOB_ERROR_FILE` of an earlier refused or failed job: this job was accepted
    (it trains, or reuses a finished run), so the sweep's summary reports the folder's result."""
    (run_dir / JOB_ERROR_FILE).unlink(missing_ok=True)


def save_checkpoint(run_dir: Path, payload: dict) -> Path:
    """Write ``payload`` as the newest checkpoint; the newest so far becomes the previous one.

    The new file is complete on disk before anything is renamed, and the old newest becomes the
    previous one through a hard link, so the newest name holds a whole checkpoint at every moment
    (a process killed between the renames used to leave only the previous one). Where the file
    system has no hard links, the old newest is renamed instead.
    """
    newest, previous = (run_dir / name for name in CHECKPOINT_FILES)

    def write(tmp: Path) -> None:
        torch.save(payload, tmp)
        if not newest.exists():
            return
        link = tmp.with_suffix(".previous")
        try:
            os.link(newest, link)
        except OSError:
            os.replace(newest, previous)
        else:
            os.replace(link, previous)

    return atomic_write(newest, write)


def load_checkpoint(
    run_dir: Path,
    run: RunConfig,
    current: dict[str, Any],
    restore: Callable[[dict], T],
) -> T | None:
    """Restore the newest checkpoint that loads; None if the folder holds none.

    ``restore`` applies a loaded payload (model, optimisers, RNG states) and returns the training
    state. A checkpoint that does not load or restore is skipped with a warning naming it and
    the one used instead; a checkpoint of another config or past ``trainer.max_steps`` raises
    :class:`RunRefused`. Raises :class:`CheckpointUnreadable` if
    checkpoints exist and none loads.
    """
    paths = [run_dir / name for name in CHECKPOINT_FILES if (run_dir / name).exists()]
    if not paths:
        return None
    failures: list[str] = []
    for path in paths:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=False)
            if not isinstance(payload, dict):
                raise TypeError(f"expected a dict, found {type(payload).__name__}")
        except Exception as error:
            failures.append(f"{path} ({_first_line(error)})")
            continue
        _check_checkpoint(path, payload, run, current)
        try:
            restored = restore(payload)
        except Exception as error:
            failures.append(f"{path} ({_first_line(error)})")
            continue
        if failures:
            log.warning(
                "checkpoint %s does not load; resumed from the previous checkpoint %s instead",
                "; ".join(failures),
                path,
            )
        log.info("resumed from step %d (%s)", payload["step"], path)
        return restored
    names = " ".join(str(p) for p in paths)
    raise CheckpointUnreadable(
        f"no checkpoint in {run_dir} loads: {'; '.join(failures)}. The files are damaged (a copy "
        "cut short, a full disk). To restart this run from step 0, delete them "
        f"(rm {names}) and rerun the same command, or use a new run folder."
    )


def record_job_error(run_dir: Path, status: str, error: str, **details: Any) -> Path:
    """Record why a multirun job ended without a result, for the sweep's summary.

    ``status`` is 'refused' or 'failed'. A refusal, and a failure in a folder that holds a
    finished result, go to :data:`JOB_ERROR_FILE`: a finished result.json is never overwritten.
    Any other failure is the folder's result.json (status 'failed'). ``details`` (traceback,
    logs) are stored with the error.
    """
    record = {"status": status, "error": error, **details}
    if status == "refused" or finished_result(run_dir) is not None:
        return atomic_write_json(run_dir / JOB_ERROR_FILE, record)
    return atomic_write_json(run_dir / RESULT_FILE, record)


def job_error(run_dir: str | os.PathLike) -> dict | None:
    """The :data:`JOB_ERROR_FILE` record of the last job into ``run_dir``, None if there is none."""
    return _read_json(Path(run_dir) / JOB_ERROR_FILE)


def _recorded_max_steps(config: Mapping[str, Any] | None) -> int | None:
    try:
        return int(config["trainer"]["max_steps"])
    except (TypeError, KeyError, ValueError):
        return None


def _read_json(path: Path) -> dict | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _read_yaml(path: Path) -> dict | None:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _first_line(error: BaseException) -> str:
    """The error's type and first sentence (torch's unzip errors go on for several more)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0].split('. ')[0] if lines else ''}"
