"""CollapseMonitor: its cadence, the rows it logs to a callback, a CSV file, an offline W&B run
(read back from the run's file), and nowhere but its history without W&B."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from test_tracking_wandb import read_offline_run, wandb_env

from lucas2019.collapse import collapse_report
from lucas2019.monitor import CollapseMonitor

REPO = Path(__file__).resolve().parents[1]


def batches(count: int, n: int = 40, k: int = 3, d: int = 5, seed: int = 0):
    """(mu, logvar, x, x_hat) per step: latent 0 reads x, the others sit at the prior."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        x = rng.standard_normal((n, d)) * [3.0, 1.0, 0.5, 0.2, 0.1]
        mu = np.zeros((n, k))
        mu[:, 0] = x[:, 0] / 3.0
        logvar = np.zeros((n, k))
        logvar[:, 0] = -1.0
        yield mu, logvar, x, x + 0.1 * rng.standard_normal((n, d))


def prefixed(report) -> dict:
    return {f"collapse/{key}": value for key, value in report.scalars().items()}


def test_reports_every_n_steps_to_a_callback_and_keeps_history():
    rows = []
    data = next(batches(1, n=500, seed=9))[2]
    monitor = CollapseMonitor(
        every=3, logger=lambda row, step: rows.append((step, row)), sigma2=2.0, data=data
    )
    inputs = list(batches(10))
    returned = [monitor.update(*batch) for batch in inputs]
    assert [step for step, _ in rows] == [0, 3, 6, 9]
    assert [i for i, r in enumerate(returned) if r is not None] == [0, 3, 6, 9]
    for step, row in rows:
        expected = collapse_report(*inputs[step], sigma2=2.0, data=data)
        assert row == prefixed(expected)
        assert row["collapse/predicted_live"] == 1  # only λ₁ ≈ 9 exceeds σ² = 2
    assert monitor.history == [{"step": step, **row} for step, row in rows]
    assert monitor.last == returned[9]


def test_explicit_steps_decide_the_cadence():
    monitor = CollapseMonitor(every=50, logger=lambda row, step: None)
    reported = [
        s
        for s, b in zip(range(0, 300, 25), batches(12), strict=False)
        if monitor.update(*b[:2], step=s) is not None
    ]
    assert reported == [0, 50, 100, 150, 200, 250]


def test_writes_a_csv_with_one_header(tmp_path):
    path = tmp_path / "collapse.csv"
    inputs = list(batches(5))
    for batch in inputs:
        CollapseMonitor(every=2, logger=path).update(*batch)  # a fresh monitor: step 0 each time
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and path.read_text().count("step,") == 1
    expected = collapse_report(*inputs[4])
    assert int(rows[4]["collapse/active_units"]) == expected.active_units == 1
    assert float(rows[4]["collapse/mutual_information"]) == pytest.approx(
        expected.mutual_information, rel=1e-12
    )
    assert rows[4]["collapse/predicted_live"] == ""  # no data, no prediction


def test_without_wandb_rows_stay_in_the_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    monitor = CollapseMonitor(every=1)
    for batch in batches(2):
        monitor.update(*batch)
    assert len(monitor.history) == 2 and "wandb" not in sys.modules
    assert list(tmp_path.iterdir()) == []


def test_torch_batches_on_the_training_path_are_read_detached():
    mu = torch.zeros(20, 2, requires_grad=True)
    report = CollapseMonitor(every=1, logger=lambda *a: None).update(mu * 2, mu + 0.0)
    assert report.collapsed == 2 and mu.grad is None


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import wandb
    sys.path.insert(0, sys.argv[2])
    from test_diagnose_monitor import batches
    from lucas2019.monitor import CollapseMonitor

    run = wandb.init(project="monitor-test", mode="offline", dir=sys.argv[1])
    monitor = CollapseMonitor(every=2)
    for step, batch in enumerate(batches(5)):
        run.log({"loss": float(step)}, step=step)
        monitor.update(*batch, step=step)
    run.finish()
    print(json.dumps(monitor.history))
    """
)


def test_logs_to_the_active_wandb_run_offline(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(Path(__file__).parent)],
        env=wandb_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    history = json.loads(out.stdout.strip().splitlines()[-1])
    (folder,) = (tmp_path / "wandb").glob("offline-run-*")
    logged = read_offline_run(folder)["history"]
    by_step = {row["_step"]: row for row in logged}
    assert sorted(by_step) == [0, 1, 2, 3, 4]
    for row in history:
        wandb_row = by_step[row["step"]]
        assert wandb_row["loss"] == row["step"]  # merged into the loop's own row of that step
        for key, value in row.items():
            if key.startswith("collapse/") and value is not None:
                assert wandb_row[key] == pytest.approx(value, rel=1e-12), key
    assert [row["step"] for row in history] == [0, 2, 4]
    assert "collapse/active_units" not in by_step[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(every=0), r"every must be an int >= 1"),
        (dict(every=2.5), r"every must be an int >= 1"),
        (dict(logger=3), r"logger must be None \(W&B when a run is active\), a CSV path"),
        (dict(sigma2=1.0, data=np.zeros(4)), r"data must be a non-empty 2-D array"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CollapseMonitor(**kwargs)
