"""Collapse measures from inside any training loop: ``CollapseMonitor(every=100).update(...)``.

Every ``every`` steps the monitor turns the batch's encoder outputs into a
:class:`lucas2019.collapse.CollapseReport` and logs its numbers (:meth:`CollapseReport.scalars`,
each key prefixed with ``collapse/``): to the active W&B run by default, to a CSV file, or to a
callback. Between reports ``update`` only counts, so the loop pays for the measures once per
``every`` steps.

    monitor = CollapseMonitor(every=100, sigma2=0.5, data=x_train)   # W&B if a run is active
    for step, x in enumerate(batches):
        mu, logvar = encoder(x)
        x_hat = decoder(mu + torch.randn_like(mu) * (0.5 * logvar).exp())
        ...
        monitor.update(mu, logvar, x, x_hat, step=step)
"""

from __future__ import annotations

import csv
import numbers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import linear_vae
from lucas2019.collapse import ArrayLike, CollapseReport, collapse_report, data_spectrum
from lucas2019.loss_recipes import LossRecipe

Row = dict[str, Any]
DEFAULT_EVERY = 100
PREFIX = "collapse/"


def _active_wandb_run() -> Any:
    """The W&B run of this process, or None; wandb is not imported for the check."""
    wandb = sys.modules.get("wandb")
    return None if wandb is None else getattr(wandb, "run", None)


class CollapseMonitor:
    """Logs a collapse report of the training batch every ``every`` steps.

    Args:
        every: steps between reports (a report at every step that is a multiple of it).
        logger: where each row goes: None (default) for the active W&B run (``wandb.run`` at the
            time of the report; none active: only :attr:`history`), a path for a CSV file (header
            written when the file is new or empty, rows appended), or a callable ``f(row, step)``.
        sigma2, loss_recipe, batch_size: the σ² of the linear theory's prediction, as in
            :func:`lucas2019.collapse.collapse_report`.
        data: the training data (n, d) or its ``linear_vae.Spectrum``; its spectrum is computed
            once here, so the prediction costs nothing per report. Without it no prediction.
        report_options: ``eps``, ``delta``, ``eps_grid``, ``active_threshold``, ``mi_samples``,
            ``seed`` of :func:`collapse_report`.

    Attributes: ``history`` (every row logged, in order), ``last`` (the latest report or None).
    """

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        logger: str | os.PathLike | Callable[[Row, int], None] | None = None,
        *,
        sigma2: float | None = None,
        loss_recipe: LossRecipe | str | None = None,
        batch_size: int | None = None,
        data: ArrayLike | linear_vae.Spectrum | None = None,
        **report_options: Any,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be an int >= 1 (steps between reports); got {every!r}.")
        if not (logger is None or callable(logger) or isinstance(logger, str | os.PathLike)):
            raise ValueError(
                "logger must be None (W&B when a run is active), a CSV path or a callable "
                f"f(row, step); got {type(logger).__name__}."
            )
        self.every = int(every)
        self.logger = logger
        self.step = 0  # the step of the next update when the caller gives none
        self.history: list[Row] = []
        self.last: CollapseReport | None = None
        spectrum = None if data is None else data_spectrum(data)
        self._options = dict(
            report_options,
            sigma2=sigma2,
            loss_recipe=loss_recipe,
            batch_size=batch_size,
            data=spectrum,
        )

    def update(
        self,
        mu: ArrayLike,
        logvar: ArrayLike,
        x: ArrayLike | None = None,
        x_hat: ArrayLike | None = None,
        step: int | None = None,
    ) -> CollapseReport | None:
        """Report and log when ``step`` is a multiple of ``every``; else do nothing.

        mu, logvar (n, k) and x, x_hat (n, d): the batch's encoder outputs, data and
        reconstructions, NumPy or torch (detached and copied to the CPU only when reporting).
        ``step`` defaults to a counter of the calls, from 0. Returns the report, or None.
        """
        given = step is not None
        step = int(step) if given else self.step
        self.step = step + 1
        if step % self.every:
            return None
        report = collapse_report(mu, logvar, x, x_hat, **self._options)
        row = {f"{PREFIX}{key}": value for key, value in report.scalars().items()}
        self._log(row, step, given)
        self.history.append({"step": step, **row})
        self.last = report
        return report

    def _log(self, row: Row, step: int, step_given: bool) -> None:
        if callable(self.logger):
            self.logger(row, step)
        elif self.logger is not None:
            _append_csv(Path(self.logger), {"step": step, **row})
        elif (run := _active_wandb_run()) is not None:
            # W&B drops a row whose step is below its own counter: the caller's step keeps the
            # monitor's rows in line with the loop's other logs; without one W&B counts itself.
            run.log(row, step=step if step_given else None)


def _append_csv(path: Path, row: Row) -> None:
    """Append one row; a new or empty file gets the header first."""
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
