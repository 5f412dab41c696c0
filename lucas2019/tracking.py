"""Experiment tracking: Weights & Biases when asked for, nothing otherwise.

The W&B mode is decided before the first ``wandb.init``: ``WANDB_MODE`` from the environment wins,
else ``logger.mode`` from the config (default ``disabled``). It is never hard-coded, init has a
bounded timeout (``logger.init_timeout_s``), and :meth:`Tracker.finish` is called in a ``finally``
by the entry point, so each job of a multirun is its own W&B run. W&B is never needed for a run to
finish: the trainer writes every metric to the run folder first, and any W&B error (in init or
later) is caught, reported with one warning, and turns the tracker into a no-op.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lucas2019.run_schema import WANDB_SUMMARY_KEYS

log = logging.getLogger(__name__)

WANDB_MODES = ("disabled", "offline", "online")


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


def wandb_mode(logger: Mapping[str, Any]) -> str:
    """The W&B mode for this process: ``WANDB_MODE`` if set (non-empty), else ``logger.mode``
    (``logger``: the config's ``logger`` node, plain).

    Returns one of :data:`WANDB_MODES`. Raises ValueError for any other value, naming where it
    came from, before anything starts.
    """
    env = os.environ.get("WANDB_MODE", "").strip()
    source, mode = ("WANDB_MODE", env) if env else ("logger.mode", str(logger["mode"]))
    if mode not in WANDB_MODES:
        raise ValueError(
            f"{source}={mode!r} is not a W&B mode this package supports; allowed: "
            f"{', '.join(WANDB_MODES)}. Fix: set logger.mode=offline (or online/disabled)"
            + (" or unset WANDB_MODE." if source == "WANDB_MODE" else ".")
        )
    return mode


class WandbTracker(Tracker):
    """A W&B run for one training job: config, metric rows, images, per-latent KL, summary.

    If ``wandb.init`` raises (no network, no API key, timeout, ...), one warning is issued and
    the tracker does nothing from then on; so does any later W&B error. ``active`` says whether
    a W&B run is being written.
    """

    def __init__(
        self, values: Mapping[str, Any], group: str, name: str, job_type: str, run_dir: str
    ) -> None:
        """``values``: the run's resolved config, plain (:attr:`lucas2019.config.RunConfig.values`),
        logged as the W&B run's config."""
        logger = values["logger"]
        self.mode = wandb_mode(logger)  # a bad mode is a config error: raised, not swallowed
        self.run_dir = str(run_dir)
        self.log_images = bool(logger["log_images"])
        self.run: Any = None
        self._warned = False
        try:
            os.makedirs(self.run_dir, exist_ok=True)
            import wandb

            self._wandb = wandb
            if self.mode == "online":
                # Skip W&B's separate "who am I" query before init: it has its own ~5-10 s
                # timeout on a dead network, which init_timeout does not bound.
                wandb.setup(settings=wandb.Settings(x_disable_viewer=True))
            self.run = wandb.init(
                project=logger["project"],
                entity=logger["entity"],
                group=group,
                name=name,
                job_type=job_type,
                tags=[str(t) for t in logger["tags"]],
                notes=str(values["experiment"].get("description") or "") or None,
                dir=self.run_dir,
                config=copy.deepcopy(dict(values)),
                mode=self.mode,
                settings=wandb.Settings(init_timeout=float(logger["init_timeout_s"])),
                reinit="finish_previous",
            )
        except Exception as error:
            self.run = None
            self._warn(f"wandb.init failed (mode={self.mode})", error)

    @property
    def active(self) -> bool:
        """True while a W&B run (also a disabled-mode dummy run) receives the logs."""
        return self.run is not None

    def _warn(self, what: str, error: BaseException) -> None:
        """Warn at most once per tracker; the run folder still gets everything."""
        if self._warned:
            return
        self._warned = True
        message = (
            f"W&B: {what}: {type(error).__name__}: {error}. Training goes on without W&B; "
            f"every metric is still in the run folder {self.run_dir}."
        )
        log.warning(message)

    def log_metrics(self, row: dict, step: int) -> None:
        if self.run is None:
            return
        try:
            self.run.log(
                {f"train/{k}": v for k, v in row.items() if v is not None and k != "step"},
                step=int(step),
            )
        except Exception as error:
            self._disable("logging an evaluation row failed", error)

    def log_final(
        self, result: dict, model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...]
    ) -> None:
        if self.run is None:
            return
        try:
            for key in WANDB_SUMMARY_KEYS:  # result.json's names and units
                if key in result:
                    self.run.summary[key] = result[key]
            payload = self._final_payload(result, model, x, image_shape)
            self.run.log(payload, step=int(result["step"]))
        except Exception as error:
            self._disable("logging the final summary failed", error)

    def _final_payload(
        self, result: dict, model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...]
    ) -> dict[str, Any]:
        wandb = self._wandb
        kl = np.asarray(result.get("kl_per_latent", []), dtype=float)
        rows = [[i, float(v)] for i, v in enumerate(kl)]
        table = wandb.Table(columns=["latent", "kl"], data=rows)
        payload: dict[str, Any] = {
            "final/kl_per_latent": wandb.plot.bar(table, "latent", "kl", title="KL per latent"),
        }
        finite = kl[np.isfinite(kl)]
        if finite.size:  # a diverged run can have NaN KLs; np.histogram rejects them
            payload["final/kl_histogram"] = wandb.Histogram(finite)
        eps, curve = result.get("collapse_eps"), result.get("collapse_curve")
        if eps and curve and len(eps) == len(curve):
            curve_table = wandb.Table(
                columns=["eps", "collapsed_fraction"],
                data=[[float(e), float(c)] for e, c in zip(eps, curve, strict=True)],
            )
            payload["final/collapse_curve"] = wandb.plot.line(
                curve_table, "eps", "collapsed_fraction", title="Fraction collapsed vs epsilon"
            )
        if self.log_images and len(image_shape) == 3 and x is not None and len(x):
            recon, samples = image_grids(model, x, image_shape)
            payload["final/reconstructions"] = wandb.Image(recon, caption="top: data, bottom: mean")
            payload["final/samples"] = wandb.Image(samples, caption="decoder means of z ~ N(0, I)")
        return payload

    def _disable(self, what: str, error: BaseException) -> None:
        self._warn(what, error)
        run, self.run = self.run, None
        self._close(run, exit_code=1)

    def _close(self, run: Any, exit_code: int) -> None:
        try:
            run.finish(exit_code=exit_code)
        except Exception as error:
            self._warn("closing the run failed", error)

    def finish(self, exit_code: int = 0) -> None:
        run, self.run = self.run, None
        if run is not None:
            self._close(run, exit_code=exit_code)


@torch.no_grad()
def image_grids(
    model: torch.nn.Module, x: torch.Tensor, image_shape: tuple[int, ...], n: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Two uint8 image grids (H, W, C): data over reconstructions, and n x n prior samples.

    ``x`` is (m, C*H*W) with ``image_shape`` = (C, H, W); the first min(n, m) rows are shown
    (grid 1 is (2H, min(n, m) W, C); grid 2 is (nH, nW, C)). Reconstructions are decoder means at
    the encoder mean; samples decode z ~ N(0, I) with a fixed seed. Pixels are min-max scaled per
    grid, which shows structure whatever the preprocessing. The model's train/eval mode is kept.
    """
    if len(image_shape) != 3 or math.prod(image_shape) != x.shape[-1]:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not fit x of shape {tuple(x.shape)}; "
            "expected (C, H, W) with C*H*W == x.shape[1]. Pass the dataset's image_shape."
        )
    if n < 1:
        raise ValueError(f"n={n} must be a positive number of images per row.")
    was_training = model.training
    model.eval()
    try:
        data = x[:n]
        mean, _ = model.encode(data)
        recon = model.decode(mean)
        z = torch.randn(n * n, model.latent_dim, generator=torch.Generator().manual_seed(0))
        samples = model.decode(z.to(device=x.device, dtype=x.dtype))
    finally:
        model.train(was_training)
    return (
        _tile(torch.cat([data, recon]).float().cpu().numpy(), image_shape, rows=2),
        _tile(samples.float().cpu().numpy(), image_shape, rows=n),
    )


def _tile(images: np.ndarray, image_shape: tuple[int, ...], rows: int) -> np.ndarray:
    """(rows*cols, C*H*W) -> min-max scaled uint8 grid (rows*H, cols*W, C), row-major."""
    c, h, w = image_shape
    images = images.reshape(rows, -1, c, h, w).transpose(0, 3, 1, 4, 2)
    grid = images.reshape(rows * h, -1, c)
    lo, hi = float(grid.min()), float(grid.max())
    scaled = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
    return (scaled * 255).round().astype(np.uint8)
