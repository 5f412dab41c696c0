"""``python -m lucas2019.reproduce``: every experiment, every figure, a verdict per claim.

    python -m lucas2019.reproduce                                  # digits, cpu scale (minutes)
    python -m lucas2019.reproduce dataset=mnist dataset.root=/data/mnist --out gallery/mnist
    python -m lucas2019.reproduce scale=paper --launcher slurm hydra.launcher.partition=gpu

Arguments of the form ``key=value`` are Hydra overrides given to every run (dataset, scale,
seed, launcher keys...). Every experiment runs each setting with the seeds of
``conf/sweep/seeds.yaml`` (0, 1, 2); ``seed=0`` runs one seed, ``seed=0,1,2,3,4`` (or
``'seed=range(5)'``) five. A seed varies the initialisation and training noise only; the data are
fixed by ``dataset.subset_seed`` (default 0), one value per output folder. Runs go to
``<out>/runs/<experiment>/`` through Hydra multiruns (the launcher is :data:`DEFAULT_LAUNCHER`
unless ``--launcher`` says otherwise: jobs that differ only in σ² and seed train as one stacked
model where :mod:`lucas2019.grouping` finds it faster, the others one per core as
``local_parallel`` runs them; each run's result.json records which way it was trained). Each
run's job checks its folder (:mod:`lucas2019.run_folder`): a completed run of the same config is
not trained again, a larger ``trainer.max_steps`` extends it from its last checkpoint, and a
different config is refused (the sweep's summary lists it).
``<out>/runs.csv`` has one row per run of every experiment. The analytic tables go to
``<out>/analytic/``; figures, Table 1, ``verdicts.json`` (every number of the verdicts on claims
C1-C6 of the paper and C7, C8 beyond it) and ``index.md`` rendered from it go to
``<out>/figures/``; a verdict is confirmatory when the runs it reads started after its
definition's log entry (each run's result.json records when it first started) and use seeds and
data the definitions were not set on. Then, unless ``--no-until-decided``, the runs that block a
verdict are extended in place and judged again, round by round, up to the scale's
``until_decided.max_steps`` (:mod:`lucas2019.until_decided`); with rounds or without, a blocking
run no round can extend (at the cap, or needing more) says so in its verdict. ``--figures-only``
on runs without
analytic tables (e.g. made with ``train -m``) computes them from the overrides' data. Without
``--only`` it runs every experiment but ``mitigations`` (Figure 9, claim C8: 12 more settings per
seed, some slow); ``--only mitigations`` runs that one and judges it against the
``fig5_fixed_sigma`` runs already in ``<out>``. The figures are drawn from every experiment that
has runs in ``<out>``, whichever ``--only`` ran.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

import linear_vae
from lucas2019 import results, until_decided
from lucas2019.analytic import run_analysis
from lucas2019.config import ConfigError, compose_config, validate
from lucas2019.data import DATA_ERRORS
from lucas2019.io import atomic_write
from lucas2019.launch import train_multirun
from lucas2019.run_schema import FLOATS, RUN_TABLE
from paper_figures.index import IndexEntry, rerender, summary, write_index
from paper_figures.registry import DEFAULT_EXPERIMENTS, EXPERIMENTS, Inputs, index_entries
from paper_figures.verdict_record import VERDICTS_JSON, read, with_unextendable, write

#: the sweeps' hydra/launcher unless --launcher names another (the fastest path measured on CPU)
DEFAULT_LAUNCHER = "vectorized"
#: every run's row of the run table, written by reproduce next to runs/
RUNS_CSV = "runs.csv"
# The list-valued columns stay in each result.json; run_name (relative to runs/) locates a run.
RUNS_CSV_COLUMNS = tuple(k.name for k in RUN_TABLE if k.kind != FLOATS and k.name != "run_dir")


def _say(message: str) -> None:
    print(f"[reproduce {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_analytic(overrides: Sequence[str], out: Path) -> Path:
    """The linear theory on exactly the training data of the runs (same dataset, subset and
    ``dataset.subset_seed``; the model ``seed`` does not change the data)."""
    train_cfg = compose_config("train", overrides)
    data_keys = [o for o in overrides if o.startswith("dataset")]
    subset = [
        f"dataset.n_train={_null(train_cfg.dataset.n_train)}",
        f"dataset.n_test={_null(train_cfg.dataset.n_test)}",
        f"dataset.subset_seed={train_cfg.dataset.subset_seed}",
        f"analytic.latent_dim={train_cfg.model.latent_dim}",
    ]
    cfg = compose_config("analytic", [*data_keys, *subset, f"run_dir={out}"])
    run_analysis(cfg, out)
    return out


def _null(value: object) -> str:
    return "null" if value is None else str(value)


def run_experiment(name: str, overrides: Sequence[str], launcher: str, sweep_dir: Path) -> bool:
    """One experiment's whole sweep as a Hydra multirun; True if the launcher exited cleanly."""
    command = train_multirun(
        [f"experiment={name}", *overrides, f"hydra/launcher={launcher}", "trainer.progress=false"],
        sweep_dir,
    )
    done = (
        len(results.collect_runs(sweep_dir).query("status == 'completed'"))
        if sweep_dir.exists()
        else 0
    )
    _say(
        f"{name}: launching its sweep ({done} runs already completed are skipped, or extended to "
        "a larger trainer.max_steps; a run of another config is refused)"
    )
    return subprocess.run(command, check=False).returncode == 0


def write_runs_table(out: Path) -> Path:
    """``<out>/runs.csv``, written atomically: one row per run folder under ``<out>/runs/`` (every
    experiment), the run table's :data:`RUNS_CSV_COLUMNS` (``experiment`` and ``seed`` among
    them); returns its path."""
    runs = results.collect_runs(out / "runs")
    return atomic_write(
        out / RUNS_CSV, lambda tmp: runs.to_csv(tmp, columns=list(RUNS_CSV_COLUMNS), index=False)
    )


def _sweeps(overrides: Sequence[str]) -> list[str]:
    """The overrides that sweep (``seed=0,1,2,3,4``, ``'seed=range(5)'``)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [text for text, o in zip(overrides, parsed, strict=True) if o.is_sweep_override()]


def render_figures(out: Path, experiments: Sequence[str]) -> Path:
    """Every figure and Table 1 from the run folders and analytic tables; returns index.md.
    Every experiment with runs is drawn (Figure 9 reads Figure 5's runs, so index.md stays whole
    when ``--only`` reruns a part); each of ``experiments`` without runs is listed."""
    analytic, figures = out / "analytic", out / "figures"
    eigenvalues = pd.read_csv(analytic / "spectrum.csv")["eigenvalue"].to_numpy()
    by_k = pd.read_csv(analytic / "likelihood_vs_k.csv")
    runs = {name: _runs(out / "runs", name) for name in EXPERIMENTS}
    never_ran = [
        IndexEntry(f"{name}: no runs", [], missing=[f"every run of {name} (its sweep never ran)"])
        for name in experiments
        if runs[name].empty
    ]
    inputs = Inputs(
        analytic=analytic,
        eigenvalues=eigenvalues,
        by_k=by_k,
        runs={name: table for name, table in runs.items() if not table.empty},
        ppca_mle=partial(_mle_row, by_k, eigenvalues),
    )
    subsets = {s for table in inputs.runs.values() for s in table["subset_seed"].dropna()}
    if (analytic / "config.yaml").exists():  # the closed forms read the analytic tables' data
        analysis = yaml.safe_load((analytic / "config.yaml").read_text(encoding="utf-8"))
        subsets.add(analysis["dataset"]["subset_seed"])
    started = {  # run_dir -> when the run first started, to compare with the definitions
        run: when
        for table in inputs.runs.values()
        for run, when in zip(table["run_dir"], table["started_utc"], strict=True)
    }
    entries = [*never_ran, *index_entries(inputs, figures)]
    return write_index(figures, entries, started=started, data_subsets=sorted(subsets))


def _runs(runs_dir: Path, experiment: str) -> pd.DataFrame:
    """The experiment's runs, each named as in runs.csv ('<experiment>/<folder>', so a verdict's
    blocking runs are folders under ``runs_dir``); an empty table when the sweep never started
    (its figure lists them)."""
    sweep_dir = runs_dir / experiment
    if not sweep_dir.exists():
        return pd.DataFrame(columns=list(results.RUN_TABLE_COLUMNS))
    runs = results.collect_runs(sweep_dir)
    runs["run_name"] = [str(Path(experiment, name)) for name in runs["run_name"]]
    return runs


def _mle_row(by_k: pd.DataFrame, eigenvalues: np.ndarray, runs: pd.DataFrame) -> pd.Series:
    """The learned-σ² pPCA row of Figure 2's table (``n_latent``, ``sigma2`` [data units²],
    ``log_likelihood`` [nats per example]) at the runs' latent size, or at the largest k below it
    in the table whose learned σ² is defined (below the rank of the data's covariance
    ``eigenvalues``, see ``linear_vae.learnable_n_latent``); NaNs if none."""
    k = int(pd.to_numeric(runs["latent_dim"], errors="coerce").dropna().median())
    k_learnable = linear_vae.learnable_n_latent(eigenvalues, k)
    rows = by_k[by_k["sigma2_learned"] & (by_k["n_latent"] <= k_learnable)]
    if rows.empty:
        return pd.Series({"n_latent": k, "sigma2": np.nan, "log_likelihood": np.nan})
    return rows.loc[rows["n_latent"].idxmax()]


def _analytic_or_exit(parser: argparse.ArgumentParser, overrides: Sequence[str], out: Path) -> None:
    """:func:`run_analytic`; missing or damaged data files end the command with their message
    (exit status 2), before any run starts."""
    try:
        run_analytic(overrides, out)
    except DATA_ERRORS as error:
        parser.error(str(error))


def _blocked(figures: Path) -> list[dict[str, int]]:
    """Each verdict's blocking runs in ``figures``/verdicts.json, with the steps each needs."""
    return [{b.run: b.steps for b in r.blocking} for r in read(figures).verdicts]


def mark_unextendable(index: Path, runs_dir: Path, cfg: DictConfig) -> Path:
    """Rewrite the verdicts beside ``index`` (index.md) with every blocking run under
    ``runs_dir`` that no round could extend (at or beyond the cap ``until_decided.max_steps`` of
    ``cfg``'s scale, not finished, not a run folder) saying why, so that a judging without
    rounds says it too; returns index.md."""
    figures = index.parent
    _, stuck = until_decided.plan(
        runs_dir,
        until_decided.blocking_runs(_blocked(figures)),
        int(cfg.until_decided.max_steps),
        str(cfg.scale),
    )
    write(figures, with_unextendable(read(figures), stuck))
    return rerender(figures)


def _until_decided(out: Path, index: Path, args: argparse.Namespace, cfg: DictConfig) -> Path:
    """Extend the blocking runs round by round (:mod:`lucas2019.until_decided`), then write the
    last verdicts with the runs that could not be extended saying why; returns index.md."""
    runs_dir, figures = out / "runs", index.parent

    def judge() -> list[dict[str, int]]:
        write_runs_table(out)
        mark_unextendable(render_figures(out, args.only), runs_dir, cfg)
        return _blocked(figures)

    hydra_overrides = [o for o in args.overrides if o.startswith(("hydra.", "hydra/"))]
    stuck = until_decided.until_decided(
        runs_dir,
        _blocked(figures),
        judge,
        lambda extensions: until_decided.launch(
            runs_dir, extensions, args.launcher, hydra_overrides
        ),
        max_steps=int(cfg.until_decided.max_steps),
        scale=str(cfg.scale),
        say=_say,
    )
    still = until_decided.open_verdicts(_blocked(figures))
    _say(f"until decided: done; {still} verdicts still blocked by runs that cannot be extended")
    write(figures, with_unextendable(read(figures), stuck))
    return rerender(figures)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the analytic tables, every experiment's sweep, then every figure; print the verdicts."""
    parser = argparse.ArgumentParser(
        prog="lucas2019-reproduce",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run, key=value")
    parser.add_argument(
        "--out", type=Path, help="output folder (default results/<dataset>_<scale>)"
    )
    parser.add_argument(
        "--launcher",
        default=DEFAULT_LAUNCHER,
        help=f"hydra/launcher for the sweeps (default {DEFAULT_LAUNCHER}: stacked groups where "
        "that is faster, every other job one per core): local_parallel, basic, slurm, ...",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=list(DEFAULT_EXPERIMENTS),
        metavar="EXPERIMENT",
        help=f"experiments to run, of {', '.join(EXPERIMENTS)} (default: "
        f"{', '.join(DEFAULT_EXPERIMENTS)}); --only mitigations runs Figure 9's sweep (claim "
        "C8), judged against the fig5_fixed_sigma runs in --out; figures are drawn for every "
        "experiment with runs",
    )
    parser.add_argument("--figures-only", action="store_true", help="draw from existing runs")
    parser.add_argument(
        "--until-decided",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after judging, extend the runs that block a verdict to twice their steps (at most "
        "until_decided.max_steps of the scale) and judge again, until no blocking run can be "
        "extended (default: on; ignored with --figures-only)",
    )
    args = parser.parse_args(argv)
    # --only takes every following word, so key=value overrides after it belong to the overrides
    args.overrides += [o for o in args.only if "=" in o]
    args.only = [o for o in args.only if "=" not in o]
    unknown = [o for o in args.only if o not in EXPERIMENTS]
    if unknown or not args.only:
        parser.error(f"--only takes experiments from {list(EXPERIMENTS)}; got {unknown or 'none'}")
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        parser.error(f"overrides must look like key=value; got {bad}")
    sweeps = _sweeps(args.overrides)
    if any(o.startswith("dataset") for o in sweeps):
        parser.error(
            "one output folder holds one dataset and subset (its analytic tables are of that "
            f"data); got the sweep {[o for o in sweeps if o.startswith('dataset')]}. Run reproduce "
            "once per value, e.g. dataset.subset_seed=1 --out results/subset1."
        )
    fixed = [o for o in args.overrides if o not in sweeps]  # sweeps go to the experiments only
    cfg = compose_config("train", fixed)  # a bad key fails here, before any work
    try:
        validate(cfg)
    except ConfigError as error:
        parser.error(str(error))
    out = args.out or Path("results") / f"{cfg.dataset.name}_{cfg.scale}"
    _say(f"dataset {cfg.dataset.name}, scale {cfg.scale}: output in {out}")
    if not args.figures_only:
        _say("analytic tables (spectrum, Figure 1, Figure 2, σ² sweeps)")
        _analytic_or_exit(parser, fixed, out / "analytic")
        failed = []
        for i, name in enumerate(args.only, start=1):
            _say(f"[{i}/{len(args.only)}] {name}")
            if not run_experiment(name, args.overrides, args.launcher, out / "runs" / name):
                failed.append(name)
        if failed:
            _say(f"sweeps that did not finish cleanly (their missing runs are listed): {failed}")
    elif not (out / "analytic" / "spectrum.csv").exists():  # e.g. runs made with train -m
        _say(
            f"no analytic tables in {out / 'analytic'}: computing them for dataset "
            f"{cfg.dataset.name} (give the overrides of the runs' data, as for the runs)"
        )
        _analytic_or_exit(parser, fixed, out / "analytic")
    if (out / "runs").is_dir():
        _say(f"run table: {write_runs_table(out)}")
    index = mark_unextendable(render_figures(out, args.only), out / "runs", cfg)
    if args.until_decided and not args.figures_only:
        index = _until_decided(out, index, args, cfg)
    _say(f"figures and verdicts: {index} (numbers: {index.parent / VERDICTS_JSON})")
    print("\n".join(summary(read(index.parent))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
