"""Where the Hydra configs live, and the values the code reads straight from them.

No torch and no other lucas2019 module: the configuration (:mod:`lucas2019.config`) and the
dataset-info command both read the paper's σ² grid here.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

# The configs live at the repository's top level; an absolute path works for `python -m`, console
# scripts and tests alike.
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def paper_sigma2_grid() -> list[float]:
    """The paper's σ² grid (data units², largest first), read from its one copy: the sweep of
    ``conf/sweep/paper_sigma2_grid.yaml``."""
    sweep = OmegaConf.load(Path(CONF_DIR, "sweep", "paper_sigma2_grid.yaml"))
    return [float(s) for s in sweep["likelihood.sigma2"].split(",")]
