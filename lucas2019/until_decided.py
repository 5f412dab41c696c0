"""``reproduce --until-decided``: extend the runs that keep a verdict from deciding, then judge
again, round by round.

A round reads the verdicts' blocking runs (``verdicts.json``, each verdict's ``blocking``: the
caller hands over each verdict's run names with the length each needs, so this module reads no
figures code), extends each of them in place to twice its steps or to the length it needs if
that is more, at most ``until_decided.max_steps`` of the scale (conf/scale/*.yaml), all in one
launch through any launcher (``hydra/sweeper=job_list``:
each job is the run's own overrides from ``.hydra/overrides.yaml`` with the new
``trainer.max_steps``, pinned to its folder), and judges again. Rounds stop when no verdict is
blocked by a run that can still be extended. A run that cannot be (at the cap, its extension
refused, diverged, not a run folder) is named with why in the verdicts it still blocks
(:func:`paper_figures.verdict_record.with_unextendable`).

Killed and rerun, nothing is lost or trained twice: a run folder keeps its completed result until
its extension completes, the base sweep reuses runs extended past its length
(:mod:`lucas2019.run_folder`), and the next round extends each run from its current length, so a
run stopped mid-extension resumes from its checkpoint.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from lucas2019 import run_folder
from lucas2019.io import atomic_write_text
from lucas2019.launch import train_multirun

#: the job list of a round, written into the runs folder
JOBS_FILE = "until_decided_jobs.json"
_MAX_STEPS = "trainer.max_steps="


@dataclass(frozen=True)
class Extension:
    """One run to extend: its ``folder`` under the runs folder ('<experiment>/<job folder>'), the
    ``names`` the verdicts block it by, its completed ``steps`` and the ``to`` steps it trains
    to."""

    folder: str
    names: tuple[str, ...]
    steps: int
    to: int


def folder_of(runs_dir: Path, name: str) -> str:
    """The folder under ``runs_dir`` a blocking run's name denotes: the name itself, less a note
    in parentheses at its end ('fig5_fixed_sigma/0_seed=0 (40 steps)')."""
    if (runs_dir / name).is_dir():
        return name
    return re.sub(r" \([^()]*\)$", "", name)


def cap_words(max_steps: int, scale: str) -> str:
    """Why a run at the cap is not extended, e.g. 'at the cap of 16000 steps
    (until_decided.max_steps of scale cpu)'."""
    return f"at {_cap(max_steps, scale)}"


def _cap(max_steps: int, scale: str) -> str:
    return f"the cap of {max_steps} steps (until_decided.max_steps of scale {scale})"


#: each verdict's blocking runs: name -> the length it needs (0: unknown, it is doubled); a
#: verdict that decided has none
Blocked = Sequence[Mapping[str, int]]


def blocking_runs(blocked: Blocked) -> dict[str, int]:
    """Every verdict's blocking runs, each once, in the verdicts' order, with the most steps any
    verdict says it needs."""
    out: dict[str, int] = {}
    for names in blocked:
        for name, steps in names.items():
            out[name] = max(out.get(name, 0), steps)
    return out


def open_verdicts(blocked: Blocked) -> int:
    """How many verdicts some run still blocks."""
    return sum(bool(names) for names in blocked)


def plan(
    runs_dir: Path, names: Mapping[str, int], max_steps: int, scale: str
) -> tuple[list[Extension], dict[str, str]]:
    """The extensions of the runs ``names`` (under ``runs_dir``; name -> the steps it needs, 0
    when unknown): each completed run below the cap ``max_steps`` to twice its steps or the steps
    it needs if more, at most the cap; and {name: why} for those that cannot be extended (one
    that needs more than the cap is not extended at all)."""
    by_folder: dict[str, list[str]] = {}
    for name in names:
        by_folder.setdefault(folder_of(runs_dir, name), []).append(name)
    extensions, stuck = [], {}
    for folder, named in by_folder.items():
        needs = max(names[n] for n in named)
        run_dir = runs_dir / folder
        done = run_folder.finished_result(run_dir)
        why = ""
        if not (run_dir / ".hydra" / "overrides.yaml").is_file():
            why = "not a run folder of a sweep under runs/, so it cannot be extended"
        elif done is None:
            why = "not finished (no completed result.json), so it cannot be extended"
        elif done["status"] != "completed":
            why = f"{done['status']} at step {done['step']}: a longer run would not change"
        elif int(done["step"]) >= max_steps:
            why = cap_words(max_steps, scale)
        elif needs > max_steps:
            why = f"needing more than {_cap(max_steps, scale)}"
        else:
            steps = int(done["step"])
            to = min(max(2 * steps, steps + 1, needs), max_steps)
            extensions.append(Extension(folder, tuple(named), steps, to))
        stuck.update(dict.fromkeys(named, why) if why else {})
    return extensions, stuck


def job(runs_dir: Path, extension: Extension) -> dict:
    """The job-list entry of ``extension``: its folder and its own overrides with the new
    ``trainer.max_steps``."""
    path = runs_dir / extension.folder / ".hydra" / "overrides.yaml"
    overrides = [str(o) for o in yaml.safe_load(path.read_text(encoding="utf-8"))]
    kept = [o for o in overrides if not o.lstrip("+~").startswith(_MAX_STEPS)]
    return {"subdir": extension.folder, "overrides": [*kept, f"{_MAX_STEPS}{extension.to}"]}


def launch(
    runs_dir: Path, extensions: Sequence[Extension], launcher: str, hydra_overrides: Sequence[str]
) -> int:
    """Train every extension in one Hydra multirun over ``runs_dir`` (``hydra/sweeper=job_list``
    with ``hydra/launcher=launcher`` and the user's ``hydra.*`` overrides); the exit status."""
    atomic_write_text(
        runs_dir / JOBS_FILE, json.dumps([job(runs_dir, e) for e in extensions], indent=1) + "\n"
    )
    launch_with = [f"hydra/launcher={launcher}", *hydra_overrides]
    return subprocess.run(command(runs_dir, launch_with), check=False).returncode


def command(runs_dir: Path, launch_with: Sequence[str]) -> list[str]:
    """The multirun that trains the job list written in ``runs_dir`` (:data:`JOBS_FILE`) with
    the launcher overrides ``launch_with`` (``hydra/launcher=...``, ``hydra.*``)."""
    jobs = runs_dir / JOBS_FILE
    return train_multirun(
        ["hydra/sweeper=job_list", f"hydra.sweeper.jobs_file={jobs}", *launch_with], runs_dir
    )


def unfinished(runs_dir: Path, extensions: Sequence[Extension]) -> dict[str, str]:
    """{name: why} for each extension that did not complete its steps (refused, diverged,
    failed)."""
    why = {}
    for e in extensions:
        done = run_folder.finished_result(runs_dir / e.folder)
        if done is not None and done["status"] == "completed" and int(done["step"]) >= e.to:
            continue
        error = run_folder.job_error(runs_dir / e.folder)
        if error is not None and error.get("status") == "refused":
            keys = [line.strip() for line in str(error["error"]).splitlines()[1:] if "->" in line]
            words = f"its extension to {e.to} steps was refused ({'; '.join(keys)})"
        elif done is not None and done["status"] == "diverged":
            words = f"diverged at step {done['step']} when extended to {e.to} steps"
        else:
            words = f"its extension to {e.to} steps did not finish (see its folder's logs)"
        why.update(dict.fromkeys(e.names, words))
    return why


def _steps_words(extensions: Sequence[Extension]) -> str:
    targets = sorted({e.to for e in extensions})
    return f"to {targets[0]} steps" if len(targets) == 1 else f"to {targets[0]}-{targets[-1]} steps"


def until_decided(
    runs_dir: Path,
    blocked: Blocked,
    judge: Callable[[], Blocked],
    extend: Callable[[Sequence[Extension]], object],
    max_steps: int,
    scale: str,
    say: Callable[[str], None],
) -> dict[str, str]:
    """Extend the runs that block the verdicts (``blocked``: each verdict's blocking run names,
    under ``runs_dir``) round by round until none can be extended.

    Each round plans (:func:`plan`), trains the extensions with ``extend`` and judges again with
    ``judge`` (which writes the folder's verdicts and returns their blocking runs); one line per
    round goes to ``say``. Returns {run name: why it cannot be extended} for the blocking runs
    that stopped short.
    """
    stuck: dict[str, str] = {}
    number = 0
    while True:
        names = {n: s for n, s in blocking_runs(blocked).items() if n not in stuck}
        extensions, cannot = plan(runs_dir, names, max_steps, scale)
        stuck.update(cannot)
        if not extensions:
            return stuck
        number += 1
        extend(extensions)
        failed = unfinished(runs_dir, extensions)
        stuck.update(failed)
        blocked = judge()
        done = [e for e in extensions if not set(e.names) & set(failed)]
        short = [e for e in extensions if set(e.names) & set(failed)]
        say(
            f"until decided, round {number}: {len(done)} runs extended "
            f"({_steps_words(extensions)}), "
            + (f"{len(short)} could not be (named in the verdicts), " if short else "")
            + f"{open_verdicts(blocked)} verdicts still open"
        )
