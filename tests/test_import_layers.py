"""The import directions of the layers, with no exception.

The layers, lowest first: ``linear_vae`` (the theory), lucas2019's library (every lucas2019 module
but the commands), ``paper_figures``, and the entry layer: the commands a user runs
(:data:`ENTRY_MODULES`) and the Hydra plugins (``hydra_plugins``). A module imports from its own
layer and the layers below it only; ``paper_figures`` reads only PyTorch-free lucas2019 modules.
Inside ``paper_figures``: the claims below the figures, the claims' shared core below the claim
modules, and no claim module reading another.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from paper_figures.claims import table

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "paper_figures"
CLAIMS = FIGURES / "claims"


def _module(path: Path) -> str:
    """'paper_figures/claims/c1.py' -> 'paper_figures.claims.c1'."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: lucas2019's entry layer: the command modules a user runs (their console scripts are in
#: setup.cfg; the sweep report is also the sweeps' Hydra callback); with the Hydra plugins
#: (``hydra_plugins``) they are the layer above both packages
ENTRY_MODULES = (
    "lucas2019.train",
    "lucas2019.reproduce",
    "lucas2019.analytic",
    "lucas2019.why_mse",
    "lucas2019.diagnose",
    "lucas2019.data.info",
    "lucas2019.sweep_report",
)
#: the layers, lowest first
LAYERS = ("theory", "library", "figures", "entry")


def _is_module(name: str) -> bool:
    """Whether the dotted ``name`` is a module or package of this repository."""
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` counts as 'a.b' when
    a.b is a module of ours, else as 'a')."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if _is_module(name) else base)
    return found


def _graph(folder: Path) -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in sorted(folder.rglob("*.py"))}


def _ours(names: set[str], prefix: str) -> set[str]:
    return {n for n in names if n == prefix or n.startswith(prefix + ".")}


def _layer(module: str) -> str | None:
    """The layer of one of our modules (None: not ours, e.g. torch)."""
    top = module.split(".")[0]
    if top == "hydra_plugins" or any(_ours({module}, entry) for entry in ENTRY_MODULES):
        return "entry"
    return {"linear_vae": "theory", "lucas2019": "library", "paper_figures": "figures"}.get(top)


CLAIM_MODULES = {_module(p) for p in CLAIMS.glob("c[0-9]*.py")}
CLAIMS_TABLE = "paper_figures.claims.table"
#: the modules below the claims that the claims may read (plain helpers, no figure)
BELOW_CLAIMS = {
    "paper_figures.common",
    "paper_figures.stats",
    "paper_figures.theme",
    "paper_figures.words",
}


def test_the_claims_import_no_figure_and_their_core_no_claim():
    graph = _graph(FIGURES)
    assert {m.__name__ for m in table.MODULES} == CLAIM_MODULES  # the table collects each one
    for module, imports in graph.items():
        if not module.startswith("paper_figures.claims"):
            continue
        outside = _ours(imports, "paper_figures") - _ours(imports, "paper_figures.claims")
        assert outside <= BELOW_CLAIMS, f"{module} imports {outside - BELOW_CLAIMS}: a figure"
        claims_read = _ours(imports, "paper_figures.claims") & (CLAIM_MODULES | {CLAIMS_TABLE})
        if module == CLAIMS_TABLE or module.endswith("__main__"):
            continue
        if module in CLAIM_MODULES:  # a claim reads the core, never another claim
            assert not claims_read, f"{module} imports {claims_read}"
        else:  # the core is below every claim
            assert not claims_read, f"the claims' core module {module} imports {claims_read}"
    for helper in BELOW_CLAIMS:  # and the helpers reach no claim module or table
        reads = _ours(graph[helper], "paper_figures.claims") & (CLAIM_MODULES | {CLAIMS_TABLE})
        assert not reads, f"{helper} imports {reads}"


def test_every_import_goes_to_its_own_layer_or_one_below():
    packages = ("linear_vae", "lucas2019", "paper_figures", "hydra_plugins")
    graph = {m: i for p in packages for m, i in _graph(ROOT / p).items()}
    assert set(ENTRY_MODULES) <= set(graph)  # each entry module exists
    against = []
    for module, imports in sorted(graph.items()):
        rank = LAYERS.index(_layer(module))
        for target in sorted(imports):
            layer = _layer(target)
            if layer is not None and LAYERS.index(layer) > rank:
                against.append(f"{module} ({LAYERS[rank]}) imports {target} ({layer})")
    assert not against, "imports against the layering:\n" + "\n".join(against)


def test_the_figures_read_only_torch_free_lucas2019_modules():
    read = set()
    for imports in _graph(FIGURES).values():
        read |= _ours(imports, "lucas2019")
    assert "lucas2019.linear_names" in read  # the encoder and objective names
    code = f"import sys; import {', '.join(sorted(read))}; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
