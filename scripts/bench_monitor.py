"""What CollapseMonitor costs a training loop: a monitored loop against the plain one.

The same MLP VAE (d = 784 like MNIST, hidden 512/256, 32 latents), synthetic data, minibatches
of 128 and Adam. Two copies from the same initialisation train in lockstep on the same batches,
the same step of each back to back in alternating order, so a load change on a shared machine
hits both. They differ only in ``monitor.update(mu, logvar, x, x_hat)`` after every step of the
monitored copy: a report every ``--every`` steps, with the linear theory's prediction from the
training data's spectrum, which the monitor computes once, before the loop.

    python scripts/bench_monitor.py [--steps 500] [--every 100] [--threads 2]

Last lines: ``report_over_steps=<share>`` (one report's median seconds over ``--every`` plain
steps: the overhead the reports alone predict) and ``monitored_over_plain=<ratio>`` (summed step
seconds, monitored / plain, noise included; a few percent above 1 at most is the goal).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from lucas2019.monitor import DEFAULT_EVERY, CollapseMonitor

N, DIM, LATENT, BATCH = 5000, 784, 32, 128


class VAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(DIM, 512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Linear(256, 2 * LATENT),
        )
        self.decoder = nn.Sequential(
            nn.Linear(LATENT, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, DIM)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


def step(model: VAE, optimizer: torch.optim.Optimizer, batch: torch.Tensor):
    """One training step; returns the batch's mu, logvar and reconstruction."""
    x_hat, mu, logvar = model(batch)
    kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)
    loss = (((x_hat - batch) ** 2).sum(-1) + kl).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return mu, logvar, x_hat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="training steps of each loop")
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY, help="steps between reports")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(N, DIM, generator=torch.Generator().manual_seed(0))
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        model = VAE()
        models.append((model, torch.optim.Adam(model.parameters(), lr=1e-3)))
    monitor = CollapseMonitor(every=args.every, logger=lambda row, step: None, sigma2=0.5, data=x)
    plain, monitored, report_seconds = 0.0, 0.0, []
    for i in range(args.steps + 20):
        batch = x[torch.randint(len(x), (BATCH,))]
        seconds = {}
        for which in ("plain", "monitored") if i % 2 else ("monitored", "plain"):
            start = time.perf_counter()
            if which == "plain":
                step(*models[0], batch)
            else:
                mu, logvar, x_hat = step(*models[1], batch)
                before_update = time.perf_counter()
                if monitor.update(mu, logvar, batch, x_hat) is not None:
                    report_seconds.append(time.perf_counter() - before_update)
            seconds[which] = time.perf_counter() - start
        if i >= 20:  # the first steps warm up the allocator and kernels
            plain += seconds["plain"]
            monitored += seconds["monitored"]
    reports = len(report_seconds)
    print(
        f"plain {1e3 * plain / args.steps:.2f} ms/step, monitored "
        f"{1e3 * monitored / args.steps:.2f} ms/step; one report "
        f"{1e3 * statistics.median(report_seconds):.2f} ms (median of {reports})"
    )
    print(
        f"MLP VAE d={DIM} k={LATENT} hidden 512/256, batch {BATCH}, {args.steps} steps, report "
        f"every {args.every} steps, {args.threads} threads"
    )
    # what the reports alone predict: one report's cost spread over the steps between reports
    plain_step = plain / args.steps
    print(f"report_over_steps={statistics.median(report_seconds) / (args.every * plain_step):.4f}")
    print(f"monitored_over_plain={monitored / plain:.3f}")


if __name__ == "__main__":
    main()
