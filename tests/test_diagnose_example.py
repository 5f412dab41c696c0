"""docs/diagnose.md's example runs as written: the fast test runs its code with fewer steps, the
slow one as it stands, and both check what the docs say it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "diagnose.md"
MARKER = "<!-- diagnose-example"


def example_code() -> str:
    """The python block after the marker, as the docs show it."""
    text = DOCS.read_text()
    start = text.index("```python\n", text.index(MARKER)) + len("```python\n")
    return text[start : text.index("```", start)]


def run_example(capsys, steps: int) -> list[str]:
    code = example_code()
    assert "STEPS = 500\n" in code
    exec(compile(code.replace("STEPS = 500\n", f"STEPS = {steps}\n"), str(DOCS), "exec"), {})
    return capsys.readouterr().out.splitlines()


def reports(lines: list[str]) -> dict[str, str]:
    """Each run's final report, by loss reduction."""
    text = "\n".join(lines)
    runs = re.split(r"^MSE (sum|mean) over pixels", text, flags=re.M)[1:]
    return dict(zip(runs[::2], runs[1::2], strict=True))


def test_the_example_code_runs_and_shows_the_prediction(capsys):
    by_run = reports(run_example(capsys, steps=100))
    assert "step 100:" in by_run["sum"] and "step 100:" in by_run["mean"]
    assert "linear theory at this σ²: 16 of 16 latents live" in by_run["sum"]
    assert "σ² = 32 data units², implied by mean_batch(mean_dims" in by_run["mean"]
    assert "linear theory at this σ²: 0 of 16 latents live" in by_run["mean"]
    assert "active units (Var_x μ_i ≥ 0.01): 16 of 16" in by_run["sum"]


@pytest.mark.slow
def test_the_example_as_written_shows_the_averaged_loss_collapse(capsys):
    lines = run_example(capsys, steps=500)
    by_run = reports(lines)
    assert "(ε, δ)-collapsed (ε = 0.01 nats, δ = 0.01): 0 of 16" in by_run["sum"]
    assert "(ε, δ)-collapsed (ε = 0.01 nats, δ = 0.01): 16 of 16" in by_run["mean"]
    assert "active units (Var_x μ_i ≥ 0.01): 0 of 16" in by_run["mean"]
    # the docs quote this run's output
    docs = DOCS.read_text()
    for line in lines:
        if "linear theory" in line or "active units (" in line:
            assert line in docs, line
