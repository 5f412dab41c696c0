"""``lucas2019-diagnose`` on generated .npz files: the report it prints, its JSON, the loss
options it shares with why_mse, and one line (exit status 2, no traceback) for a bad file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from test_diagnose_report import planted

from lucas2019.collapse import collapse_report
from lucas2019.diagnose import main


@pytest.fixture
def outputs(tmp_path):
    """An .npz with mu, logvar, x, x_hat of the planted encoder (3 of 6 latents live, d = 10)."""
    mu, logvar, x, x_hat = planted()
    path = tmp_path / "outputs.npz"
    np.savez(path, mu=mu, logvar=logvar, x=x, x_hat=x_hat)
    return path, (mu, logvar, x, x_hat)


def test_prints_the_report_of_the_saved_outputs(outputs, capsys):
    path, arrays = outputs
    assert main(["--npz", str(path), "--sigma2", "0.5"]) == 0
    assert capsys.readouterr().out.strip() == str(collapse_report(*arrays, sigma2=0.5))


def test_json_output_and_a_loss_preset_with_separate_data(outputs, tmp_path, capsys):
    _, (mu, logvar, x, _) = outputs
    np.savez(tmp_path / "encoded.npz", mu=mu, logvar=logvar)
    np.save(tmp_path / "train.npy", x)
    argv = ["--npz", str(tmp_path / "encoded.npz"), "--data", str(tmp_path / "train.npy")]
    assert main([*argv, "--preset", "mean-mse", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["sigma2"] == 5.0  # d / 2 with d = 10
    assert row["predicted_live"] == 1 and row["sigma2_optimal"] is None
    assert row == collapse_report(mu, logvar, data=x, loss_recipe="mean-mse").to_dict()
    # --loss-recipe names the same option; a flag changes the preset's value
    assert main([*argv, "--loss-recipe", "mean-mse", "--beta", "0.2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sigma2"] == pytest.approx(10 * 0.2 / 2)


def _fails(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()  # no usage block: one line
    assert line.startswith("lucas2019-diagnose: error: ")
    return line


def test_missing_and_malformed_arrays_get_one_line(outputs, tmp_path, capsys):
    path, (mu, logvar, x, _) = outputs
    np.savez(tmp_path / "no_logvar.npz", mu=mu, z=mu)
    line = _fails(["--npz", str(tmp_path / "no_logvar.npz")], capsys)
    assert "has no array logvar (it holds: mu, z)" in line
    np.savez(tmp_path / "nan.npz", mu=mu, logvar=np.where(mu > 2, np.nan, logvar))
    assert "logvar has" in _fails(["--npz", str(tmp_path / "nan.npz")], capsys)
    np.savez(tmp_path / "flat.npz", mu=mu[:, 0], logvar=logvar[:, 0])
    assert "mu must be a non-empty 2-D array" in _fails(
        ["--npz", str(tmp_path / "flat.npz")], capsys
    )
    (tmp_path / "text.npz").write_text("mu,logvar\n1,2\n")
    line = _fails(["--npz", str(tmp_path / "text.npz")], capsys)
    assert "cannot read it as a NumPy .npz or .npy file" in line
    assert "--npz" in _fails(["--npz", str(tmp_path / "absent.npz")], capsys)
    np.savez(tmp_path / "data.npz", y=x)
    line = _fails(
        ["--npz", str(path), "--data", str(tmp_path / "data.npz"), "--sigma2", "1"], capsys
    )
    assert "holds no array x (it holds: y)" in line
    line = _fails(["--npz", str(path), "--sigma2", "1", "--preset", "sum-mse"], capsys)
    assert "give --sigma2 or a loss" in line


def test_the_module_runs_as_a_command_without_a_traceback(tmp_path):
    np.savez(tmp_path / "bad.npz", mu=np.zeros((4, 2)), logvar=np.zeros((4, 3)))
    out = subprocess.run(
        [sys.executable, "-m", "lucas2019.diagnose", "--npz", str(tmp_path / "bad.npz")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "mu and logvar must have the same shape (n, k); got (4, 2) and (4, 3)" in out.stderr
