"""Where a run came from: the claims table and code in force, and when it first started.

A verdict counts as confirmatory only when its definition was logged before the runs it reads
started (:mod:`paper_figures.verdict_record`), so every run records, at its first start, the
claims-table hash, the package's git commit and the start time (result.json's ``claims_hash``,
``git_commit`` and ``started_utc``, :mod:`lucas2019.run_schema`); a resumed or extended run keeps
those of its first start.

The claims table belongs to the layer above this package (``paper_figures``), so its hash is not
read here: the commands that start runs (``lucas2019.train``, the vectorized launcher) read it and
hand it down as a value. A run started through the library API without one records
``claims_hash`` null (and its commit and start time as any run).
"""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import subprocess
from pathlib import Path

#: the package's checkout root when it runs from one (lucas2019/ sits at the top)
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: the result.json keys of a run's provenance (lucas2019.run_schema defines each)
KEYS = ("claims_hash", "git_commit", "started_utc")
#: started_utc's format: ISO 8601 UTC to the second
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    """The current time as ISO 8601 UTC to the second, e.g. '2026-12-07T09:12:03Z'."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(UTC_FORMAT)


@functools.cache
def git_commit() -> str:
    """The commit of the git checkout the package runs from (``git rev-parse HEAD``), or the
    installed package version when it is not in a checkout or git is missing ('unknown'
    without either): never an error, a run does not fail for its provenance."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=_PACKAGE_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        toplevel, commit = done.stdout.splitlines()
        # an installed copy inside some other repository is not a checkout of the package
        if Path(toplevel).resolve() == _PACKAGE_ROOT:
            return commit
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    try:
        return importlib.metadata.version("lucas2019")
    except importlib.metadata.PackageNotFoundError:  # run from a copy of the sources
        return "unknown"


def at_start(claims_hash: str | None) -> dict[str, str | None]:
    """The provenance of a run starting now, keys :data:`KEYS`; ``claims_hash`` is the claims
    table's hash as the command that starts the run read it (None: not known, recorded null)."""
    return dict(zip(KEYS, (claims_hash, git_commit(), utc_now()), strict=True))
