"""PyTorch Lightning callback around :class:`lucas2019.monitor.CollapseMonitor`.

Needs the ``lightning`` extra (``pip install "lucas2019[lightning]"``); nothing else in the
package imports this module. The module's ``training_step`` returns its encoder outputs beside the
loss::

    def training_step(self, batch, batch_idx):
        x_hat, mu, logvar = self(batch)
        loss = ...
        return {"loss": loss, "mu": mu, "logvar": logvar, "x": batch, "x_hat": x_hat}

    trainer = lightning.Trainer(callbacks=[CollapseMonitorCallback(every=100, sigma2=0.5)])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError as error:  # the extra is not installed
    raise ImportError(
        "lucas2019.lightning_callback needs PyTorch Lightning: pip install 'lucas2019[lightning]'"
    ) from error

from lucas2019.monitor import DEFAULT_EVERY, CollapseMonitor, Row


class CollapseMonitorCallback(Callback):
    """Feeds each training batch's ``mu``, ``logvar`` (and ``x``, ``x_hat`` if returned) to a
    :class:`CollapseMonitor` at ``trainer.global_step``.

    Args:
        every: steps between reports.
        logger: as :class:`CollapseMonitor`'s; None sends each row to the trainer's loggers
            (``logger.log_metrics(row, step)``; a ``WandbLogger`` puts it in its W&B run).
        monitor_options: the monitor's keyword arguments (``sigma2``, ``loss_recipe``, ``data``,
            ...).

    Attributes: ``monitor`` (its ``history`` and ``last`` report).
    """

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        logger: Callable[[Row, int], None] | Any = None,
        **monitor_options: Any,
    ) -> None:
        super().__init__()
        self._trainer: Trainer | None = None
        target = self._to_trainer_loggers if logger is None else logger
        self.monitor = CollapseMonitor(every, target, **monitor_options)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._trainer = trainer

    def _to_trainer_loggers(self, row: Row, step: int) -> None:
        for logger in self._trainer.loggers if self._trainer is not None else ():
            logger.log_metrics(row, step=step)

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not isinstance(outputs, Mapping) or not {"mu", "logvar"} <= outputs.keys():
            got = sorted(outputs) if isinstance(outputs, Mapping) else type(outputs).__name__
            raise ValueError(
                "CollapseMonitorCallback needs training_step to return a dict with 'loss', 'mu' "
                f"and 'logvar' (optionally 'x' and 'x_hat'); got {got}."
            )
        self.monitor.update(
            outputs["mu"],
            outputs["logvar"],
            outputs.get("x"),
            outputs.get("x_hat"),
            step=trainer.global_step,
        )
