"""The verdicts of one output folder as data: ``verdicts.json``, what index.md, README's verdict
table and README's verdict prose are rendered from.

A :class:`VerdictRecord` holds every number of one verdict (each criterion's per-seed values and
interval, the other measures, the numbers per setting, the runs that block a decision, the runs
it read); a :class:`VerdictsFile` holds a folder's records, the claims-table hash they used, the
date, the definitions in words and the figures index.md shows. :func:`dumps` and :func:`loads`
are exact inverses on the file's text. Non-finite numbers are written as the strings ``"inf"``,
``"-inf"`` and ``"nan"``, so the file is standard JSON.

A verdict is *confirmatory* when every run it reads started (result.json's ``started_utc``)
after its definition's entry in the log of definitions (:attr:`Definition.declared`), and its
runs use model seeds and a data subset that the definitions were not set on
(:data:`paper_figures.claims.table.SET_ON_SEEDS`, ``SET_ON_SUBSET_SEEDS``); otherwise it is
*exploratory*: its definition may have been chosen after looking at these runs or their like.
:func:`design_of` decides, and says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lucas2019.io import atomic_write_text
from paper_figures.claims.judging import ClaimNumbers, CriterionResult, seed_label
from paper_figures.claims.schema import Definition, utc_instant
from paper_figures.claims.table import (
    DEFINITIONS,
    SET_ON_SEEDS,
    SET_ON_SUBSET_SEEDS,
    claim_of,
    definition_markdown,
    table_hash,
)
from paper_figures.stats import BOOTSTRAP_T, EXACT, STUDENT_T, is_over_seeds
from paper_figures.words import OUTCOMES, number, other_measure_note

#: the verdicts file in an output folder, and its format version
VERDICTS_JSON = "verdicts.json"
FORMAT = 1
CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"
#: a criterion's outcome over its interval
MET = {True: "met", False: "not met", None: "straddles the threshold"}
NOT_COMPUTED = "not computed"


def _number(value: Any) -> float:
    """A number as read back from the file ('inf', '-inf', 'nan' strings included)."""
    return float(value)


def _json_number(value: float) -> float | str:
    """A float as the file writes it: finite as a number, else 'inf' / '-inf' / 'nan'."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


@dataclass(frozen=True)
class CriterionRecord:
    """One criterion of a verdict: which ``requirement`` and which of its ``way`` s (0 = the
    first) it belongs to, ``statistic`` ``direction`` ``threshold``, the per-seed ``values``
    (aligned with the verdict's seeds; NaN where undefined) and the interval of their mean
    (``mean``, ``low``, ``high`` by ``method`` from ``n`` values; ``method`` '' when too few
    seeds had a value), and ``outcome`` (:data:`MET` or :data:`NOT_COMPUTED`)."""

    requirement: str
    way: int
    statistic: str
    direction: str
    threshold: float
    values: tuple[float, ...]
    mean: float
    low: float
    high: float
    method: str
    n: int
    outcome: str

    @property
    def needs(self) -> str:
        """e.g. '≥ 0.9'."""
        symbol = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}[self.direction]
        return f"{symbol} {self.threshold:g}"

    def interval_text(self) -> str:
        """e.g. '0.906 [0.853, 0.96]', '3.8e-15 (exact)', 'n/a' without an interval, the value
        and its method when that is not an interval over seeds (a migrated single-seed value),
        or the interval and its method when that adds to the plain t or bootstrap-t (e.g.
        '0.1 [0, 0.2] (Student t + Sheppard 1/32, clipped to [0, 1])')."""
        if not self.method:
            return "n/a"
        if self.method == EXACT:
            return f"{number(self.mean)} (exact)"
        if not is_over_seeds(self.method):
            return f"{number(self.mean)} ({self.method})"
        interval = f"{number(self.mean)} [{number(self.low)}, {number(self.high)}]"
        if self.method in (STUDENT_T, BOOTSTRAP_T):
            return interval
        return f"{interval} ({self.method})"


@dataclass(frozen=True)
class MeasureRecord:
    """The verdict's definition under another ``measure``: its ``outcome`` ('holds', 'fails',
    'cannot judge' or :data:`NOT_COMPUTED`, then ``why``), whether it ``agrees`` with the
    primary measure, and its statistics' means over the judged seeds."""

    measure: str
    outcome: str
    agrees: bool | None = None
    statistics: Mapping[str, float] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class BlockingRun:
    """A run that keeps the verdict from deciding: its ``run`` name, ``why`` and what it
    ``needs``; ``steps``: the training length from which it would no longer block (0 when
    unknown)."""

    run: str
    why: str
    needs: str
    steps: int = 0


@dataclass(frozen=True)
class VerdictRecord:
    """Every number of one verdict.

    Attributes:
        claim, definition: e.g. 'C4a' and 'C4a/fig5'; ``kind``, ``statement``: the claim's.
        outcome: 'holds', 'fails' or 'cannot judge'; ``reason``: why it cannot judge before
            any interval ('' when the seeds sufficed).
        design: :data:`CONFIRMATORY` or :data:`EXPLORATORY`.
        measure: the primary measure the criteria were computed with.
        seeds: the judged seeds, as text; ``left_out``: seed -> why it was not judged.
        criteria: one per criterion of the definition, in its order (the first is the headline).
        measures: the definition under each of its other measures.
        notes: the findings reported beside the outcome (other than the measures).
        by_setting: setting -> quantity -> mean over the judged seeds.
        blocking: the runs that keep it from deciding (not converged, too short).
        runs: the runs whose numbers it read (the judged seeds'), or the table a closed form
            is computed from.
        as_it_stands: for a verdict that runs still moving keep from deciding, the outcome
            ('holds', 'fails', 'cannot judge') its numbers give as they stand ('' otherwise).
        design_why: why it is exploratory, '' when confirmatory (and in files written before
            verdicts said why).
    """

    claim: str
    definition: str
    kind: str
    statement: str
    outcome: str
    reason: str
    design: str
    measure: str
    seeds: tuple[str, ...]
    left_out: Mapping[str, str]
    criteria: tuple[CriterionRecord, ...]
    measures: tuple[MeasureRecord, ...]
    notes: tuple[str, ...]
    by_setting: Mapping[str, Mapping[str, float]]
    blocking: tuple[BlockingRun, ...]
    runs: tuple[str, ...]
    as_it_stands: str = ""
    design_why: str = ""

    @property
    def headline(self) -> CriterionRecord | None:
        """The first criterion (None for a verdict without criteria)."""
        return self.criteria[0] if self.criteria else None

    @property
    def cause(self) -> str:
        """The reason's first clause, e.g. 'not converged' ('' when there is none)."""
        return self.reason.split(";")[0].split(",")[0].strip()


@dataclass(frozen=True)
class FigureRecord:
    """One figure or table of the folder: ``title``, its ``files`` (relative to the folder), the
    ``claims`` it tests, ``notes`` and ``missing`` runs."""

    title: str
    files: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerdictsFile:
    """A folder's verdicts.

    Attributes:
        claims_table: the hash of the claims table the verdicts used ('' when computed before
            the table existed).
        computed: the date the verdicts were computed (ISO, UTC).
        verdicts: in index.md order; ``figures``: likewise.
        definitions: definition key -> the definition in markdown, for those the verdicts used.
        migrated: '' for a computed file; for one converted from an older index.md, when and
            how.
    """

    claims_table: str
    computed: str
    verdicts: tuple[VerdictRecord, ...]
    figures: tuple[FigureRecord, ...] = ()
    definitions: Mapping[str, str] = field(default_factory=dict)
    migrated: str = ""


# ---------------------------------------------------------------- from the numbers


def _criterion(result: CriterionResult, requirement: str, way: int) -> CriterionRecord:
    c, interval = result.criterion, result.interval
    nan = math.nan
    return CriterionRecord(
        requirement,
        way,
        c.statistic,
        c.direction,
        float(c.threshold),
        tuple(float(v) for v in result.values),
        interval.mean if interval else nan,
        interval.low if interval else nan,
        interval.high if interval else nan,
        interval.method if interval else "",
        interval.n if interval else sum(not math.isnan(v) for v in result.values),
        MET[result.holds] if interval else NOT_COMPUTED,
    )


def _criteria(numbers: ClaimNumbers) -> tuple[CriterionRecord, ...]:
    by_criterion = {r.criterion: r for r in numbers.results}
    return tuple(
        _criterion(by_criterion[c], requirement.name, i)
        for requirement in numbers.definition.requirements
        for i, way in enumerate(requirement.ways)
        for c in way
    )


def _blocking(numbers: ClaimNumbers) -> tuple[BlockingRun, ...]:
    d = numbers.definition
    blocking = [
        BlockingRun(c.name, f"not converged: {c.blocks}", f"more than {c.steps:.0f} steps")
        for c in numbers.convergence
        if c.blocks
    ]
    blocking += [
        BlockingRun(run, "too short", f"≥ {d.min_steps} steps") for run in numbers.too_short
    ]
    if numbers.holds is None:
        blocking += [
            BlockingRun(r.name, r.why, f"≥ {r.steps} steps", r.steps) for r in numbers.short_runs
        ]
    return tuple(blocking)


def record(numbers: ClaimNumbers, design: Design | None = None) -> VerdictRecord:
    """The record of one verdict, exploratory unless ``design`` (:func:`design_of`) says
    otherwise; its notes gain the design's. Its runs are those of the judged seeds (whose
    convergence it checked), or for a closed form the table it is judged on."""
    design = design or Design(EXPLORATORY)
    d = numbers.definition
    runs = [c.name for c in numbers.convergence]
    if d.convergence is None and d.min_seeds == 1:
        runs = [d.judged_on.split(":")[0]]
    claim = claim_of(d)
    measures = tuple(
        MeasureRecord(o.measure, NOT_COMPUTED, why=o.error)
        if o.error
        else MeasureRecord(o.measure, OUTCOMES[o.outcome], o.agrees, dict(o.statistics))
        for o in numbers.others
    )
    worded = {other_measure_note(o) for o in numbers.others}
    return VerdictRecord(
        claim=d.claim,
        definition=d.key,
        kind=claim.kind,
        statement=claim.statement,
        outcome=OUTCOMES[numbers.holds],
        reason=numbers.reason,
        design=design.design,
        measure=d.measure,
        seeds=tuple(str(s) for s in numbers.seeds),
        left_out={str(s): why for s, why in numbers.left_out.items()},
        criteria=_criteria(numbers),
        measures=measures,
        notes=tuple(n for n in (*numbers.notes, *design.notes) if n not in worded),
        by_setting={s: dict(q) for s, q in numbers.by_setting.items()},
        blocking=_blocking(numbers),
        runs=tuple(runs),
        as_it_stands=OUTCOMES[numbers.as_it_stands] if numbers.blocked else "",
        design_why=design.why,
    )


def verdicts_file(
    records: Sequence[VerdictRecord], figures: Sequence[FigureRecord] = ()
) -> VerdictsFile:
    """A file of freshly computed ``records``: today's date, the current claims table and the
    definitions they used in words."""
    used = dict.fromkeys(r.definition for r in records)
    return VerdictsFile(
        claims_table=table_hash(),
        computed=datetime.datetime.now(datetime.UTC).date().isoformat(),
        verdicts=tuple(records),
        figures=tuple(figures),
        definitions={key: definition_markdown(DEFINITIONS[key]) for key in used},
    )


def with_unextendable(file: VerdictsFile, why: Mapping[str, str]) -> VerdictsFile:
    """``file`` with every blocking run named in ``why`` (run name -> why it cannot be extended,
    e.g. 'at the cap of 16000 steps (until_decided.max_steps of scale cpu)') saying so in what
    it needs, and each verdict it blocks saying so at the end of its reason. Marking again with
    the same ``why`` changes nothing."""
    verdicts = []
    for r in file.verdicts:
        # a run already marked with its why (an earlier call) is not marked again
        stuck = [b for b in r.blocking if b.run in why and not b.needs.endswith(why[b.run])]
        if not stuck:
            verdicts.append(r)
            continue
        blocking = tuple(
            dataclasses.replace(b, needs=f"{b.needs}; {why[b.run]}") if b in stuck else b
            for b in r.blocking
        )
        reasons = dict.fromkeys(why[b.run] for b in stuck)
        counted = [
            f"{sum(why[b.run] == w for b in stuck)} of {len(r.blocking)} runs {w}"
            if len(stuck) < len(r.blocking) or len(reasons) > 1
            else w
            for w in reasons
        ]
        reason = "; ".join([r.reason, *counted] if r.reason else counted)
        verdicts.append(dataclasses.replace(r, blocking=blocking, reason=reason))
    return dataclasses.replace(file, verdicts=tuple(verdicts))


# ---------------------------------------------------------------- declared before the runs


@dataclass(frozen=True)
class Design:
    """A verdict's design: :data:`CONFIRMATORY` or :data:`EXPLORATORY`, ``why`` it is
    exploratory ('' when confirmatory) and the ``notes`` it adds to the verdict."""

    design: str
    why: str = ""
    notes: tuple[str, ...] = ()


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"


def _when(declared: str) -> str:
    """A :attr:`Definition.declared` value as a log heading writes it: '2026-12-07 09:20 UTC'."""
    return declared.replace("T", " ").replace("Z", " UTC")


def _started(value: object) -> datetime.datetime | None:
    """A run's ``started_utc`` as an instant; None when it has none (or not a readable one)."""
    if not isinstance(value, str):
        return None
    try:
        return utc_instant(value)
    except ValueError:
        return None


def design_of(
    definition: Definition,
    started: Sequence[object],
    seeds: Collection[object] = (),
    data_subsets: Collection[object] = (),
) -> Design:
    """:data:`CONFIRMATORY` when every run the verdict reads started after the definition's log
    entry (``started``: each run's ``started_utc``, ISO 8601 UTC; None or NaN where a run has
    none) and none of the judged model ``seeds`` nor the runs' ``data_subsets``
    (``dataset.subset_seed`` values) is one the definitions were set on
    (:data:`paper_figures.claims.table.SET_ON_SEEDS`, ``SET_ON_SUBSET_SEEDS``); else
    :data:`EXPLORATORY`, with every reason. A verdict that reads no run (a closed form) is judged
    by its seeds and data alone."""
    declared = definition.declared_at
    starts = [_started(value) for value in started]
    unknown = sum(t is None for t in starts)
    early = sum(t is not None and t <= declared for t in starts)
    seen_seeds = sorted({seed_label(s) for s in seeds} & set(SET_ON_SEEDS), key=int)
    seen_subsets = sorted({seed_label(s) for s in data_subsets} & set(SET_ON_SUBSET_SEEDS), key=int)
    why, notes = [], []
    when = _when(definition.declared)
    if early:
        why.append(f"{_runs(early)} started before the definition's log entry ({when})")
        notes.append(
            f"{early} of the {_runs(len(starts))} read started before the definition's log entry "
            f"({when}): it may have been set after seeing them"
        )
    if unknown:
        why.append(f"{_runs(unknown)} without a recorded start")
    if seen_seeds:
        which = ", ".join(map(str, seen_seeds))
        why.append(
            f"seeds {which} are ones the definitions were set on"
            if len(seen_seeds) > 1
            else f"seed {which} is one the definitions were set on"
        )
    if seen_subsets:
        which = ", ".join(map(str, seen_subsets))
        why.append(f"data subset {which} is one the definitions were set on")
    if why:
        return Design(EXPLORATORY, "; ".join(why), tuple(notes))
    return Design(CONFIRMATORY)


def started_of(numbers: ClaimNumbers, runs: Mapping[str, object]) -> list[object]:
    """The ``started_utc`` of every run a verdict read (its convergence checks' runs), from
    ``runs``: run_dir -> started_utc (a run not in it: None)."""
    return [runs.get(c.run_dir) for c in numbers.convergence]


# ---------------------------------------------------------------- the file


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples as JSON values, floats via :func:`_json_number`."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return _json_number(value)
    return value


def dumps(file: VerdictsFile) -> str:
    """The file's JSON text (indented, keys in field order, UTF-8 kept). An empty
    ``as_it_stands`` or ``design_why``, and a blocking run's unknown ``steps``, are left out, as
    in the files written before they existed, which so round-trip."""
    plain = _plain(file)
    for verdict in plain["verdicts"]:
        for key in ("as_it_stands", "design_why"):
            if not verdict[key]:
                del verdict[key]
        for blocking in verdict["blocking"]:
            if not blocking["steps"]:
                del blocking["steps"]
    return json.dumps({"format": FORMAT, **plain}, indent=1, ensure_ascii=False) + "\n"


def _criterion_from(d: Mapping[str, Any]) -> CriterionRecord:
    return CriterionRecord(
        d["requirement"],
        int(d["way"]),
        d["statistic"],
        d["direction"],
        _number(d["threshold"]),
        tuple(_number(v) for v in d["values"]),
        _number(d["mean"]),
        _number(d["low"]),
        _number(d["high"]),
        d["method"],
        int(d["n"]),
        d["outcome"],
    )


def _verdict_from(d: Mapping[str, Any]) -> VerdictRecord:
    return VerdictRecord(
        claim=d["claim"],
        definition=d["definition"],
        kind=d["kind"],
        statement=d["statement"],
        outcome=d["outcome"],
        reason=d["reason"],
        design=d["design"],
        measure=d["measure"],
        seeds=tuple(d["seeds"]),
        left_out=dict(d["left_out"]),
        criteria=tuple(map(_criterion_from, d["criteria"])),
        measures=tuple(
            MeasureRecord(
                m["measure"],
                m["outcome"],
                m["agrees"],
                {k: _number(v) for k, v in m["statistics"].items()},
                m["why"],
            )
            for m in d["measures"]
        ),
        notes=tuple(d["notes"]),
        by_setting={s: {k: _number(v) for k, v in q.items()} for s, q in d["by_setting"].items()},
        blocking=tuple(BlockingRun(**b) for b in d["blocking"]),
        runs=tuple(d["runs"]),
        as_it_stands=d.get("as_it_stands", ""),  # files before the convergence band lack it
        design_why=d.get("design_why", ""),  # absent from files written before it was kept
    )


def loads(text: str, source: str = "verdicts.json") -> VerdictsFile:
    """The file from its JSON text; ValueError naming ``source`` when it is not a verdicts file
    of this format."""
    try:
        d = json.loads(text)
        if d.get("format") != FORMAT:
            raise ValueError(f"format {d.get('format')!r}, expected {FORMAT}")
        return VerdictsFile(
            claims_table=d["claims_table"],
            computed=d["computed"],
            verdicts=tuple(map(_verdict_from, d["verdicts"])),
            figures=tuple(
                FigureRecord(**{k: v if k == "title" else tuple(v) for k, v in f.items()})
                for f in d["figures"]
            ),
            definitions=dict(d["definitions"]),
            migrated=d["migrated"],
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{source} is not a verdicts file ({error}); write it with "
            "`python -m lucas2019.reproduce --figures-only --out <folder>`."
        ) from None


def read(path: str | os.PathLike) -> VerdictsFile:
    """The verdicts file at ``path`` (a file or the folder that holds verdicts.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / VERDICTS_JSON
    return loads(path.read_text(encoding="utf-8"), str(path))


def write(folder: str | os.PathLike, file: VerdictsFile) -> Path:
    """Write ``folder/verdicts.json`` atomically; returns its path."""
    return atomic_write_text(Path(folder) / VERDICTS_JSON, dumps(file))
