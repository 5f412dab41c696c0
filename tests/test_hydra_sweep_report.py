"""The sweep summary (lucas2019.sweep_report) on hand-made run folders: counts, bad jobs, exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lucas2019.run_folder import record_job_error
from lucas2019.sweep_report import SUMMARY_FILE, format_summary, main, summarize_sweep


def _run(sweep: Path, name: str, sigma2: float, result: dict | None, metrics: bool = False) -> Path:
    """A run folder as a job writes it: .hydra/overrides.yaml, config.yaml, result.json."""
    run_dir = sweep / name
    (run_dir / ".hydra").mkdir(parents=True)
    overrides = [f"likelihood.sigma2={sigma2}"]
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    cfg = {"likelihood": {"name": "gaussian_fixed", "sigma2": sigma2}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run_dir / "train.log").write_text("log lines\n")
    if result is not None:
        (run_dir / "result.json").write_text(json.dumps(result))
    if metrics:
        (run_dir / "metrics.csv").write_text("step,elbo\n10,-5.0\n")
    return run_dir


def test_summary_counts_each_status_and_lists_only_bad_jobs(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, "0_a", 1.0, {"status": "completed", "step": 40})
    _run(sweep, "1_b", 0.01, {"status": "diverged", "step": 12})
    other_log = tmp_path / "elsewhere.err"
    other_log.write_text("boom\n")
    failed = {
        "status": "failed",
        "error": "RuntimeError('boom')",
        "logs": [str(other_log), str(tmp_path / "never_written.log")],
    }
    _run(sweep, "2_c", 3.0, failed)
    _run(sweep, "3_d", 4.0, None, metrics=True)  # killed while training: no result.json

    summary = summarize_sweep(sweep)
    assert summary["n_jobs"] == 4
    assert summary["counts"] == {
        "completed": 1,
        "diverged": 1,
        "failed": 1,
        "unfinished": 1,
        "refused": 0,
    }
    by_name = {Path(j["run_dir"]).name: j for j in summary["jobs"]}
    assert by_name["2_c"]["error"] == "RuntimeError('boom')"
    assert by_name["2_c"]["logs"] == [str(other_log)]  # only logs that exist
    assert by_name["3_d"]["status"] == "unfinished"
    assert by_name["3_d"]["logs"] == [str(sweep / "3_d" / "train.log")]
    assert by_name["1_b"]["sigma2"] == 0.01 and by_name["0_a"]["error"] is None

    text = format_summary(summary)
    assert text.splitlines()[0] == (
        f"sweep {sweep}: 4 jobs, 1 completed, 1 diverged, 1 failed, 1 unfinished, 0 refused"
    )
    assert "FAILED: likelihood.sigma2=3.0" in text and "UNFINISHED: likelihood.sigma2=4.0" in text
    assert f"log: {other_log}" in text
    assert "0_a" not in text and "1_b" not in text  # good jobs are only counted


def test_cli_writes_the_summary_and_exits_1_only_for_bad_jobs(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, "0_a", 1.0, {"status": "completed"})
    _run(sweep, "1_b", 0.01, {"status": "diverged"})
    assert main([str(sweep)]) == 0  # a diverged run is a result, not a failure
    written = json.loads((sweep / SUMMARY_FILE).read_text())
    assert written["counts"]["completed"] == 1 and written["counts"]["diverged"] == 1
    _run(sweep, "2_c", 3.0, {"status": "failed", "error": "ValueError('x')"})
    assert main([str(sweep)]) == 1
    assert json.loads((sweep / SUMMARY_FILE).read_text())["counts"]["failed"] == 1
    assert "FAILED: likelihood.sigma2=3.0" in capsys.readouterr().out


def test_cli_rejects_a_missing_folder(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nope")])
    assert stop.value.code == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_job_record_decides_over_the_result_it_left_alone(tmp_path: Path, capsys) -> None:
    """A refused job, and a job that failed where a completed result.json stands, are reported
    as such; the completed result.json stays as it was."""
    sweep = tmp_path / "sweep"
    completed = {"status": "completed", "step": 40}
    refused = _run(sweep, "0_a", 1.0, completed)
    failed = _run(sweep, "1_b", 0.01, completed)
    job_log = str(refused / "train.log")
    message = "refused: it holds a run of a different config\n  likelihood.sigma2: 1.0 -> 0.5"
    record_job_error(refused, "refused", message, traceback=None, logs=[job_log])
    record_job_error(failed, "failed", "ConfigError('bad')", traceback="...", logs=[])
    for run_dir in (refused, failed):
        assert json.loads((run_dir / "result.json").read_text()) == completed

    summary = summarize_sweep(sweep)
    assert summary["counts"]["refused"] == 1 and summary["counts"]["failed"] == 1
    assert summary["counts"]["completed"] == 0
    by_name = {Path(j["run_dir"]).name: j for j in summary["jobs"]}
    assert by_name["0_a"]["error"] == message and by_name["0_a"]["logs"] == [job_log]
    assert by_name["1_b"]["error"] == "ConfigError('bad')"
    text = format_summary(summary)
    assert "REFUSED: likelihood.sigma2=1.0" in text and "FAILED: likelihood.sigma2=0.01" in text
    assert "    error: refused: it holds a run of a different config\n" in text
    assert "\n        likelihood.sigma2: 1.0 -> 0.5\n" in text  # a multi-line error stays indented
    assert main([str(sweep)]) == 1
    capsys.readouterr()
