"""The Lightning callback (optional extra): a real Trainer feeds the monitor at its global steps;
skipped when PyTorch Lightning is not installed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn

lightning = pytest.importorskip("lightning")

from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from lucas2019.collapse import collapse_report  # noqa: E402
from lucas2019.lightning_callback import CollapseMonitorCallback  # noqa: E402


class TinyVAE(lightning.LightningModule):
    """A linear VAE on 6-dimensional data with 3 latents, returning its encoder outputs."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(6, 6)
        self.decoder = nn.Linear(3, 6)
        self.seen = []  # (global step, mu, logvar, x, x_hat) of every batch

    def training_step(self, batch, batch_idx):
        (x,) = batch
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        x_hat = self.decoder(mu + torch.randn_like(mu) * torch.exp(0.5 * logvar))
        kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)
        loss = (((x_hat - x) ** 2).sum(-1) + kl).mean()
        # the step the callback will see: global_step counts this batch's optimiser step
        out = [t.detach().clone() for t in (mu, logvar, x, x_hat)]
        self.seen.append((self.global_step + 1, *out))
        return {"loss": loss, "mu": mu, "logvar": logvar, "x": x, "x_hat": x_hat}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _fit(module, callback, steps=6, logger=False):
    torch.manual_seed(0)
    x = torch.randn(64, 6)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=16)
    trainer = lightning.Trainer(
        max_steps=steps,
        callbacks=[callback],
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    trainer.fit(module, loader)


def test_callback_reports_every_n_global_steps_with_the_batch_outputs():
    rows = []
    callback = CollapseMonitorCallback(every=2, logger=lambda row, step: rows.append((step, row)))
    module = TinyVAE()
    _fit(module, callback)
    assert [step for step, _ in rows] == [2, 4, 6]
    for step, row in rows:
        (_, mu, logvar, x, x_hat) = next(s for s in module.seen if s[0] == step)
        expected = collapse_report(mu, logvar, x, x_hat).scalars()
        assert row == {f"collapse/{key}": value for key, value in expected.items()}


def test_without_a_logger_of_its_own_the_rows_go_to_the_trainers_loggers(tmp_path):
    logger = CSVLogger(tmp_path, name="run")
    callback = CollapseMonitorCallback(every=3)
    _fit(TinyVAE(), callback, logger=logger)
    with (Path(logger.log_dir) / "metrics.csv").open() as f:
        rows = [row for row in csv.DictReader(f) if row.get("collapse/active_units")]
    assert [int(row["step"]) for row in rows] == [3, 6]
    last = callback.monitor.history[-1]
    assert float(rows[-1]["collapse/mutual_information"]) == pytest.approx(
        last["collapse/mutual_information"], rel=1e-6
    )


def test_callback_names_the_missing_outputs():
    class LossOnly(TinyVAE):
        def training_step(self, batch, batch_idx):
            return {"loss": super().training_step(batch, batch_idx)["loss"]}

    with pytest.raises(ValueError, match=r"'mu' and 'logvar'.*got \['loss'\]"):
        _fit(LossOnly(), CollapseMonitorCallback(every=2))
