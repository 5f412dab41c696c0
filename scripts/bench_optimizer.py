"""Training step time with the trainer's foreach Adam against PyTorch's default per-parameter loop.

The main job's digits model at the cpu scale (64 -> 128/64 -> 32 latents and back, 1,000 examples,
full batch, fixed σ²), one torch thread as in a sweep's worker. The two optimisers start from the
same parameters and are timed in alternating rounds in one process; the script also checks that
they end at bitwise equal parameters (foreach changes how the update is dispatched, not its
arithmetic).

    python scripts/bench_optimizer.py [--steps 300] [--rounds 5]

Last line: ``foreach_over_loop=<ratio>`` (time per step of the loop over that of foreach; > 1:
foreach is faster).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import torch

from lucas2019 import trainer
from lucas2019.config import RunConfig, compose_config


def digits_run() -> trainer.TrainingRun:
    """A fresh main-job Figure 5 run (σ² = 0.1, seed 0) ready to train, in a scratch folder."""
    run_dir = tempfile.mkdtemp(prefix="bench_optimizer_")
    overrides = ["experiment=fig5_fixed_sigma", "likelihood.sigma2=0.1", "trainer.progress=false"]
    cfg = compose_config("train", [*overrides, f"hydra.run.dir={run_dir}"])
    cfg.run_dir = run_dir
    return trainer.prepare(RunConfig.from_config(cfg), run_dir).training


def train(loop: trainer.TrainingRun, start: dict, foreach: bool, steps: int) -> tuple[float, list]:
    """(ms per step, final parameters) of ``steps`` Adam steps from ``start``."""
    loop.model.load_state_dict(copy.deepcopy(start))
    optimizer = torch.optim.Adam(loop.model.parameters(), lr=loop.s.lr, foreach=foreach)
    x = loop.next_batch()
    torch.manual_seed(0)
    began = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loop.objective(x, 1.0)[0].backward()
        optimizer.step()
    elapsed_ms = (time.perf_counter() - began) * 1000 / steps
    return elapsed_ms, [p.detach().clone() for p in loop.model.parameters()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loop = digits_run()
    start = copy.deepcopy(loop.model.state_dict())
    train(loop, start, True, 20)  # warm-up
    times: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(args.rounds):
        finals = {}
        for foreach in (False, True):
            ms, finals[foreach] = train(loop, start, foreach, args.steps)
            times[foreach].append(ms)
        same = all(torch.equal(a, b) for a, b in zip(finals[True], finals[False], strict=True))
        print(
            f"round {round_}: loop {times[False][-1]:.3f} ms/step, foreach "
            f"{times[True][-1]:.3f} ms/step, parameters bitwise equal: {same}"
        )
    print(f"digits model, cpu scale, 1,000 examples full batch, {args.steps} steps, 1 thread")
    print(
        f"foreach_over_loop={statistics.median(times[False]) / statistics.median(times[True]):.3f}"
    )


if __name__ == "__main__":
    main()
