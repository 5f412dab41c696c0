"""Training throughput of MLPVAE through the package's trainer vs a bare PyTorch loop.

Same model class and initialisation, same data (synthetic, d = 784 like MNIST, 1,000 examples,
full batch as in the paper), same Adam; the two are timed alternately in one process. The
trainer's time is the span between its first and last evaluation rows (so it includes the
evaluations, metric writes and checkpoints of a real run at the chosen cadence, not its start-up).

    python scripts/bench_train.py [--steps 300] [--rounds 3] [--threads 2]

Last line: ``trainer_over_bare=<ratio>`` (>= 0.9 is the goal).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from omegaconf import OmegaConf

from lucas2019 import data, trainer
from lucas2019.config import RunConfig, compose_config
from lucas2019.likelihoods import build_likelihood
from lucas2019.models import build_model

N, DIM = 1000, 784


def config(steps: int, eval_every: int, run_dir: Path):
    """The trainer config of the benchmark: paper-size MLP VAE on synthetic d = 784 data."""
    return compose_config(
        "train",
        [
            "scale=paper",  # the paper's MLP: 784-1024-512-200 and back
            "dataset=synthetic",
            f"dataset.options.dim={DIM}",
            f"dataset.options.n_train={N}",
            "dataset.options.n_test=100",
            "dataset.n_test=100",
            f"dataset.n_train={N}",
            "model=mlp_vae",
            "likelihood=gaussian_fixed",
            "likelihood.sigma2=0.1",
            f"trainer.max_steps={steps}",
            f"trainer.eval_every={eval_every}",
            "trainer.checkpoint_every=500",
            "trainer.iw_samples=0",
            "trainer.progress=false",
            f"run_dir={run_dir}",
        ],
    )


def trainer_throughput(cfg) -> float:
    """Examples per second of the trainer's loop, from its own metric rows' wall times."""
    shutil.rmtree(cfg.run_dir, ignore_errors=True)
    trainer.train(RunConfig.from_config(cfg))
    rows = pd.read_csv(Path(cfg.run_dir) / "metrics.csv")
    steps = rows["step"].iloc[-1] - rows["step"].iloc[0]
    return steps * N / (rows["wall_time_s"].iloc[-1] - rows["wall_time_s"].iloc[0])


def bare_throughput(cfg, x: torch.Tensor, steps: int) -> float:
    """Examples per second of a plain loop: the same model, likelihood, data and Adam."""
    torch.manual_seed(0)
    model = build_model(
        data_dim=DIM, image_shape=(DIM,), **OmegaConf.to_container(cfg.model, resolve=True)
    )
    model.set_data_mean(x.mean(0))
    likelihood = build_likelihood("gaussian_fixed", data_dim=DIM, sigma2=0.1)
    optimizer = torch.optim.Adam(list(model.parameters()) + list(likelihood.parameters()), lr=5e-4)
    start = time.perf_counter()
    for _ in range(steps):
        terms = model.loss_terms(x, likelihood)
        loss = -(terms["rec"] - terms["kl"]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * N / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    eval_every = max(args.steps // 3, 1)
    run_dir = Path(tempfile.mkdtemp(prefix="bench_train_"))
    cfg = config(args.steps + eval_every, eval_every, run_dir)
    dataset = data.load("synthetic", dim=DIM, n_train=N, n_test=100, seed=0)
    x = torch.as_tensor(data.training_arrays(dataset, n_train=N, seed=0)[0])
    trainer_throughput(cfg)  # warm-up: imports, allocator
    ours, bare = [], []
    for round_ in range(args.rounds):
        ours.append(trainer_throughput(cfg))
        bare.append(bare_throughput(cfg, x, args.steps))
        print(f"round {round_}: trainer {ours[-1]:.0f} ex/s, bare loop {bare[-1]:.0f} ex/s")
    shutil.rmtree(run_dir, ignore_errors=True)
    ratio = statistics.median(ours) / statistics.median(bare)
    widths = f"{list(cfg.model.encoder_hidden)}/{list(cfg.model.decoder_hidden)}"
    print(
        f"MLPVAE d={DIM} k={cfg.model.latent_dim} hidden {widths}, {N} examples full batch, "
        f"{args.steps} steps, {args.threads} threads, eval every {eval_every} steps"
    )
    print(f"trainer_over_bare={ratio:.3f}")


if __name__ == "__main__":
    main()
