"""Light packages stay light: the figures and the theory import without torch, the theory without
pandas, and ``lucas2019`` loads torch only when ``implied_sigma2`` is used."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``statement``."""
    listed = f"[m for m in {modules!r} if m in sys.modules]"
    code = f"import json, sys; {statement}; print(json.dumps({listed}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_figures_and_theory_import_without_torch():
    statement = (
        "import paper_figures.registry, paper_figures.claims.table, paper_figures.index, linear_vae"
    )
    assert loaded_after(statement, ("torch",)) == []


def test_linear_vae_imports_only_numpy_and_scipy():
    modules = ("torch", "hydra", "lucas2019", "sklearn", "pandas")
    assert loaded_after("import linear_vae, linear_vae.demo", modules) == []


def test_the_package_and_implied_sigma2_load_no_torch():
    assert loaded_after("import lucas2019, lucas2019.io", ("torch",)) == []
    statement = (
        "from lucas2019 import implied_sigma2; assert implied_sigma2(reduction='sum') == 0.5"
    )
    assert loaded_after(statement, ("torch",)) == []


def test_the_train_command_loads_the_claims_table_only_when_a_job_runs():
    # a sweep's launching process imports the command but trains nothing
    assert loaded_after("import lucas2019.train", ("pandas", "paper_figures.claims.table")) == []
