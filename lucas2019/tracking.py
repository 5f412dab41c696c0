"""Experiment tracking: Weights & Biases when asked for, nothing otherwise.

The W&B mode is decided before the first ``wandb.init``: ``WANDB_MODE`` from the environment wins,
else ``logger.mode`` from the config (default ``disabled``). It is never hard-coded, init has a
bounded timeout, and :meth:`Tracker.finish` is called in a ``finally`` by the entry point, so each
job of a multirun is its own W&B run. The run folder keeps every metric whatever W&B does.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf


class Tracker:
    """What the trainer reports to; this base class records nothing."""

    def log_metrics(self, row: dict, step: int) -> None:
        """Log one evaluation row (the columns of metrics.csv) at training step ``step``."""

    def log_final(
        self, result: dict, model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...]
    ) -> None:
        """Log the final summary, per-latent KL and image grids of a finished run."""

    def finish(self, exit_code: int = 0) -> None:
        """Close the run (idempotent)."""


NullTracker = Tracker


def wandb_mode(logger_cfg: DictConfig) -> str:
    """The W&B mode for this process: ``WANDB_MODE`` if set, else ``logger.mode``."""
    return os.environ.get("WANDB_MODE") or str(logger_cfg.mode)


class WandbTracker(Tracker):
    """A W&B run for one training job: config, metric rows, images, per-latent KL, summary."""

    def __init__(self, cfg: DictConfig, group: str, name: str, job_type: str, run_dir: str) -> None:
        import wandb

        self._wandb = wandb
        logger = cfg.logger
        self.log_images = bool(logger.log_images)
        self.run = wandb.init(
            project=logger.project,
            entity=logger.entity,
            group=group,
            name=name,
            job_type=job_type,
            tags=list(logger.tags),
            dir=run_dir,
            config=OmegaConf.to_container(cfg, resolve=True),
            mode=wandb_mode(logger),
            settings=wandb.Settings(init_timeout=float(logger.init_timeout_s)),
            reinit="finish_previous",
        )

    def log_metrics(self, row: dict, step: int) -> None:
        self.run.log(
            {f"train/{k}": v for k, v in row.items() if v is not None and k != "step"}, step=step
        )

    def log_final(
        self, result: dict, model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...]
    ) -> None:
        wandb = self._wandb
        kl = np.asarray(result["kl_per_latent"], dtype=float)
        table = wandb.Table(
            columns=["latent", "kl"], data=[[i, float(v)] for i, v in enumerate(kl)]
        )
        payload: dict[str, Any] = {
            "final/kl_per_latent": wandb.plot.bar(table, "latent", "kl", title="KL per latent"),
            "final/kl_histogram": wandb.Histogram(kl),
        }
        if self.log_images and len(image_shape) == 3:
            recon, samples = image_grids(model, x, image_shape)
            payload["final/reconstructions"] = wandb.Image(recon, caption="top: data, bottom: mean")
            payload["final/samples"] = wandb.Image(samples, caption="decoder means of z ~ N(0, I)")
        self.run.log(payload, step=int(result["step"]))
        for key in (
            "status",
            "step",
            "elbo",
            "elbo_test",
            "sigma2",
            "active_units",
            "collapsed_fraction",
            "log_px_test",
            "wall_time_s",
        ):
            self.run.summary[key] = result.get(key)

    def finish(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


@torch.no_grad()
def image_grids(
    model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...], n: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Two uint8 image grids (H, W, C): data over reconstructions, and n x n prior samples.

    Pixels are min-max scaled per grid, which shows structure whatever the preprocessing.
    """
    model.eval()
    data = x[:n]
    mean, _ = model.encode(data)
    recon = model.decode(mean)
    z = torch.randn(n * n, model.latent_dim, generator=torch.Generator().manual_seed(0))
    samples = model.decode(z.to(x.device))
    model.train()
    return (
        _tile(torch.cat([data, recon]).cpu().numpy(), image_shape, rows=2),
        _tile(samples.cpu().numpy(), image_shape, rows=n),
    )


def _tile(images: np.ndarray, image_shape: tuple[int, ...], rows: int) -> np.ndarray:
    c, h, w = image_shape
    images = images.reshape(rows, -1, c, h, w).transpose(0, 3, 1, 4, 2)
    grid = images.reshape(rows * h, -1, c)
    lo, hi = float(grid.min()), float(grid.max())
    scaled = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
    return (scaled * 255).round().astype(np.uint8)
