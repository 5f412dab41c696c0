"""Throughput of a σ² x seed grid trained by hydra/launcher=vectorized against the same jobs as
concurrent processes (local_parallel: one job per process, one torch thread each).

Both sides train the same jobs: the paper's eleven σ² (fig5: fixed σ²; with ``--likelihoods
fixed,learned`` also fig6: learned from each value) x ``--seeds`` seeds, one model size, full
batch, Adam, on ``--examples`` training examples, measured side by side in one run (alternating
rounds). ``--processes`` worker processes run on each side:

- processes: every job on its own, as local_parallel runs them;
- grid: the units the vectorized launcher plans (:func:`lucas2019.grouping.plan`, stack=auto:
  on CPU a stacked group is split over the processes, or every job runs alone when stacking does
  not pay; on a GPU one process per group).

Each side's time runs from its first unit's start to its last unit's end, in the trainer's own
calls (imports and config composition excluded; the one evaluation and checkpoint at the end
included). Throughput is member-steps per second; times a member step's FLOP
(:func:`lucas2019.grouping.step_mflop`) it is the side's achieved GFLOP/s, printed next to the
same machine's fp32 GEMM rate, measured in the same run between the rounds (a square ``torch.mm``
on ``--processes`` threads, or on the GPU with TF32 off): the ceiling a side could reach.

    python scripts/bench_grid.py [--model digits|mnist_cpu|mnist_paper] [--device cpu|cuda]
        [--seeds 1] [--likelihoods fixed[,learned]] [--examples 1000] [--steps 200] [--rounds 2]
        [--processes 2] [--override KEY=VALUE ...]

Last line: ``grid_over_processes=<ratio>`` (the launcher's chosen path over processes; >= 1 is
the goal). ``stacked_over_processes`` is the group stacked regardless of the rule (stack=always),
``stacked_over_gemm`` the stacked side's achieved rate over the GEMM rate.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from lucas2019 import grouping, stacked, trainer
from lucas2019.config import AnalyticSettings, RunConfig, compose_config, job_values

#: the model sizes: overrides of conf/train.yaml (synthetic data of MNIST's 784 dimensions, so
#: no MNIST files are needed; digits is the embedded 8x8 digits, d = 64)
MODELS = {
    "digits": ["scale=cpu", "dataset=digits"],  # 32 latents, widths 128/64 (the main job's)
    "mnist_cpu": ["scale=cpu", "dataset=synthetic", "dataset.options.dim=784"],  # 200, 256/128
    "mnist_paper": ["scale=paper", "dataset=synthetic", "dataset.options.dim=784"],  # 1024/512
}


def job_overrides(args: argparse.Namespace) -> list[list[str]]:
    """Every job's overrides (but its run folder), seed-major as the presets sweep them."""
    sizes = [f"dataset.n_train={args.examples}", "dataset.n_test=100"]
    if args.model != "digits":
        sizes += [f"dataset.options.n_train={args.examples}", "dataset.options.n_test=100"]
    cadence = [f"trainer.{k}={args.steps}" for k in ("max_steps", "eval_every", "checkpoint_every")]
    common = [
        *MODELS[args.model],
        *sizes,
        *cadence,
        "trainer.iw_samples=0",
        "trainer.eps_points=21",
        "trainer.progress=false",
        f"device={args.device}",
        "torch_threads=1",
        *args.override,
    ]
    return [
        [*common, f"likelihood=gaussian_{lik}", f"likelihood.sigma2={s}", f"seed={seed}"]
        for lik in args.likelihoods.split(",")
        for seed in range(args.seeds)
        for s in AnalyticSettings().sigma2_grid
    ]


def warm_up(overrides: list[str]) -> None:
    """A worker's first work, outside the timings: imports, first calls (the data loader, vmap),
    a few steps of both ways."""
    folder = Path(tempfile.mkdtemp(prefix="bench_grid_warm_up_"))
    cadence = ("max_steps", "eval_every", "checkpoint_every")
    short = [*overrides, *(f"trainer.{k}=3" for k in cadence)]
    run_unit([(folder / "0", short), (folder / "1", [*short, "seed=1"])], stack=True)
    run_unit([(folder / "0", short)], stack=False)
    shutil.rmtree(folder, ignore_errors=True)


def run_unit(jobs: list[tuple[Path, list[str]]], stack: bool) -> tuple[float, float]:
    """Train the unit's jobs (run folder, overrides), stacked or one after another, into fresh
    folders; the (start, end) wall clock of the training in s."""
    torch.set_num_threads(1)
    for folder, _ in jobs:
        shutil.rmtree(folder, ignore_errors=True)
    runs = [
        RunConfig.from_config(compose_config("train", [*o, f"run_dir={folder}"]))
        for folder, o in jobs
    ]
    start = time.time()
    if stack:
        outcomes = stacked.train_group([stacked.Member(run) for run in runs])
        failed = [o for o in outcomes if not isinstance(o, dict)]
        if failed:
            raise RuntimeError(f"the stacked group failed: {failed[0]!r}")
    else:
        for run in runs:
            trainer.train(run)
    return start, time.time()


def throughput(
    pool: ProcessPoolExecutor,
    units: list[grouping.Unit],
    jobs: list[list[str]],
    root: Path,
    steps: int,
) -> float:
    """Member-steps per second of the units, run by the pool's processes, in folders in root."""
    work = [[(root / str(i), jobs[i]) for i in unit.jobs] for unit in units]
    spans = list(pool.map(run_unit, work, [unit.stacked for unit in units]))
    first, last = min(start for start, _ in spans), max(end for _, end in spans)
    return len(jobs) * steps / (last - first)


def gemm_gflops(device: str, threads: int, size: int = 2048, seconds: float = 1.0) -> float:
    """The fp32 rate of a square ``torch.mm`` of ``size`` on ``device`` (``threads`` torch threads
    on CPU; TF32 off on a GPU), GFLOP/s: 2·size³ FLOP per product, repeated for ``seconds``."""
    torch.set_num_threads(threads)
    a, b = (torch.randn(size, size, device=device) for _ in range(2))
    with stacked.fp32_matmuls():
        a @ b  # first call: allocation and library set-up
        products, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            c = a @ b
            products += 1
        float(c[0, 0])  # waits for a GPU's queue
        elapsed = time.perf_counter() - start
    return 2 * size**3 * products / elapsed / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="digits")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per σ²")
    parser.add_argument("--likelihoods", default="fixed", help="fixed, or fixed,learned (fig6)")
    parser.add_argument("--examples", type=int, default=1000, help="training examples (full batch)")
    parser.add_argument("--steps", type=int, default=200, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--processes", type=int, default=2, help="worker processes per side")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a config override for every job, e.g. widths.encoder=[256,128] (repeat for more)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_grid_"))
    jobs = job_overrides(args)
    described = [job_values(compose_config("train", o)) for o in jobs]
    cuda = args.device == "cuda"
    plans = {
        "grid": grouping.plan(described, "auto", args.processes, cuda_available=cuda),
        "stacked": grouping.plan(described, "always", args.processes, cuda_available=cuda),
        "processes": grouping.plan(described, "never", args.processes, cuda_available=cuda),
    }
    if any(unit.stacked for unit in plans["grid"]):
        del plans["stacked"]  # the grid's own plan
    rates: dict[str, list[float]] = {name: [] for name in plans}
    gemm: list[float] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        args.processes, mp_context=context, initializer=warm_up, initargs=(jobs[0],)
    ) as pool:
        for round_ in range(args.rounds):
            order = list(plans) if round_ % 2 == 0 else list(plans)[::-1]
            for name in order:
                rates[name].append(throughput(pool, plans[name], jobs, root / name, args.steps))
            gemm.append(gemm_gflops(args.device, args.processes))  # the workers are idle now
            print(
                f"round {round_}: " + ", ".join(f"{n} {rates[n][-1]:.1f}" for n in plans),
                f"member-steps/s, fp32 GEMM {gemm[-1]:.1f} GFLOP/s",
            )
    shutil.rmtree(root, ignore_errors=True)
    rate = {name: statistics.median(values) for name, values in rates.items()}
    mflop = grouping.step_mflop(described[0])
    print(
        f"{args.model} on {args.device}: {len(jobs)} jobs ({args.likelihoods} σ² x {args.seeds} "
        f"seeds), {args.examples} examples full batch, {mflop:.0f} MFLOP per member step, "
        f"{args.steps} steps, {args.processes} processes"
    )
    print("grid plan: " + "; ".join(sorted({u.reason for u in plans["grid"]})))
    ceiling = statistics.median(gemm)
    where = f"{args.processes} threads" if args.device == "cpu" else "TF32 off"
    print(f"fp32 GEMM ({where}): {ceiling:.1f} GFLOP/s")
    for name, value in rate.items():
        hours = 20000 * len(jobs) / value / 3600
        achieved = value * mflop / 1e3
        print(
            f"{name}: {value:.1f} member-steps/s = {achieved:.1f} GFLOP/s "
            f"({achieved / ceiling:.0%} of the GEMM rate), 20,000 steps of every job in "
            f"{hours:.2f} h"
        )
    stacked_side = "stacked" if "stacked" in rate else "grid"
    print(f"stacked_over_gemm={rate[stacked_side] * mflop / 1e3 / ceiling:.3f}")
    if "stacked" in rate:
        print(f"stacked_over_processes={rate['stacked'] / rate['processes']:.3f}")
    print(f"grid_over_processes={rate['grid'] / rate['processes']:.3f}")


if __name__ == "__main__":
    main()
