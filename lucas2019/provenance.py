"""Where a run came from: the claims table and code in force, and when it first started.

A verdict counts as confirmatory only when its definition was logged before the runs it reads
started (:mod:`paper_figures.verdict_record`), so every run records, at its first start, the
claims-table hash, the package's git commit and the start time (result.json's ``claims_hash``,
``git_commit`` and ``started_utc``, :mod:`lucas2019.run_schema`); a resumed or extended run keeps
those of its first start.
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
def claims_hash() -> str:
    """The hash of the claims table this process judges with
    (:func:`paper_figures.claims.table.table_hash`)."""
    # paper_figures is a layer above lucas2019: imported here only, when a run starts
    from paper_figures.claims.table import table_hash

    return table_hash()


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


def at_start() -> dict[str, str]:
    """The provenance of a run starting now, keys :data:`KEYS`."""
    return dict(zip(KEYS, (claims_hash(), git_commit(), utc_now()), strict=True))
