"""``python -m lucas2019.analytic``: the linear theory of a dataset, as tidy tables.

For the training data a run would use (same dataset, subset and ``dataset.subset_seed``), writes
into the run folder: ``spectrum.csv`` (eigenvalues), ``likelihood_vs_k.csv`` (Figure 2:
learned-σ² MLE, optimal ELBO and a fixed σ², for every k), ``sigma2_sweep.csv`` (every σ² of the
grid at k = latent_dim), ``collapse_diagnostics.csv`` (per latent and σ²), ``landscape.csv``
(Figure 1), ``stationary_points.csv`` and ``result.json``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

import linear_vae
from lucas2019 import data
from lucas2019.config import (
    CONF_DIR,
    ConfigError,
    register_configs,
    register_resolvers,
    validate_analytic,
)
from lucas2019.data import DATA_ERRORS
from lucas2019.io import atomic_write, atomic_write_json, atomic_write_text
from lucas2019.loss_recipes import implied_sigma2

log = logging.getLogger("lucas2019.analytic")
register_configs()
register_resolvers()


def training_spectrum(cfg: DictConfig) -> tuple[linear_vae.Spectrum, data.Dataset]:
    """The spectrum (ddof = 0) of exactly the training array a run with this config uses."""
    dataset, x_train, _ = data.load_for_run(OmegaConf.to_container(cfg.dataset, resolve=True))
    return linear_vae.Spectrum.from_data(x_train.astype(np.float64)), dataset


def likelihood_vs_k(spectrum: linear_vae.Spectrum, k_max: int, reference_k: int) -> pd.DataFrame:
    """Figure 2's curves, k = 0..k_max: learned σ², and σ² fixed at the MLE of ``reference_k``."""
    ks = list(range(0, k_max + 1))
    fixed = linear_vae.ppca_mle(spectrum, reference_k).sigma2
    table = pd.DataFrame(linear_vae.sweep(spectrum, sigma2=[None, fixed], n_latent=ks))
    table["label"] = np.where(
        table["sigma2_learned"],
        "learned σ² (MLE)",
        f"fixed σ² = {fixed:.3g} (MLE at k = {reference_k})",
    )
    return table


def landscape_table(
    spectrum: linear_vae.Spectrum, points: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 1: the zero column of a k = 1 model (W = 0) perturbed along eigenvectors u₀ and u_q,
    with q the first direction whose eigenvalue is at most λ₀/4 (so the two curvatures differ
    visibly).

    With σ² between λ_q and λ₀ the surface rises along u₀ and falls along u_q: a saddle. With σ²
    above both eigenvalues it falls along both: a local maximum, i.e. a stable collapsed latent.
    Returns (landscape with sigma2/sigma2_label columns, the two classifications).
    """
    lam = spectrum.eigenvalues
    q = int(np.argmax(lam <= lam[0] / 4)) if np.any(lam <= lam[0] / 4) else spectrum.dim - 1
    radius = float(np.sqrt(lam[0]))
    grid = np.linspace(-radius, radius, points)
    panels, rows = [], []
    for label, sigma2 in (
        (f"σ² between λ_{q} and λ_0", float(np.sqrt(lam[0] * lam[q]))),
        ("σ² above λ_0", float(2 * lam[0])),
    ):
        table = linear_vae.landscape(
            spectrum, sigma2, column=0, directions=(0, q), grid=grid, n_latent=1
        )
        panels.append(pd.DataFrame(table).assign(sigma2=sigma2, sigma2_label=label))
        point = linear_vae.stationary_point(spectrum, 1, sigma2, zero=[0])
        found = linear_vae.classify_stationary_point(
            spectrum, point, columns=[0], directions=[0, q]
        )
        rows.append(
            {
                "sigma2": sigma2,
                "sigma2_label": label,
                "directions": f"u_0, u_{q}",
                "label": found.label,
                "n_ascent_directions": len(found.ascent_directions),
            }
        )
    return pd.concat(panels, ignore_index=True), pd.DataFrame(rows)


def run_analysis(cfg: DictConfig, run_dir: Path) -> dict:
    """Compute every table for ``cfg`` and write them into ``run_dir``; return the summary."""
    validate_analytic(cfg)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    spectrum, dataset = training_spectrum(cfg)
    d, a = spectrum.dim, cfg.analytic
    k = min(int(a.latent_dim), d)
    grid = [float(s) for s in a.sigma2_grid]
    tables = {
        "spectrum": pd.DataFrame({"index": np.arange(d), "eigenvalue": spectrum.eigenvalues}),
        "likelihood_vs_k": likelihood_vs_k(
            spectrum, min(int(a.k_max), d - 1), min(int(a.reference_k), d - 1)
        ),
        "sigma2_sweep": pd.DataFrame(linear_vae.sweep(spectrum, sigma2=grid, n_latent=[k])),
        "collapse_diagnostics": pd.concat(
            [
                pd.DataFrame(linear_vae.collapse_diagnostics(spectrum, k, s)).assign(sigma2=s)
                for s in grid
            ],
            ignore_index=True,
        ),
    }
    tables["landscape"], tables["stationary_points"] = landscape_table(
        spectrum, int(a.landscape_points)
    )
    for name, table in tables.items():
        atomic_write(run_dir / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
    sweep = tables["sigma2_sweep"]
    result = {
        "status": "completed",
        "experiment": cfg.experiment.name,
        "dataset": dataset.name,
        "preprocess": dataset.preprocess,
        "n_samples": int(spectrum.n_samples),
        "data_dim": d,
        "latent_dim": k,
        "top_eigenvalues": spectrum.eigenvalues[:10].tolist(),
        # A learned σ² needs variance left over: the MLE at the largest k below the data's rank.
        "sigma2_mle": float(
            linear_vae.ppca_mle(spectrum, linear_vae.learnable_n_latent(spectrum, k)).sigma2
        ),
        "live_latents": {
            str(s): int(n) for s, n in zip(sweep["sigma2"], sweep["n_live"], strict=True)
        },
        "implied_sigma2": {
            "mse_sum": implied_sigma2(reduction="sum"),
            "mse_mean": implied_sigma2(reduction="mean", data_dim=d),
        },
    }
    atomic_write_json(run_dir / "result.json", result)
    return result


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="analytic")
def main(cfg: DictConfig) -> None:
    """Run the analysis into Hydra's output folder and log a one-line summary."""
    from hydra.core.hydra_config import HydraConfig

    out = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run_analysis(cfg, out)
    except (ConfigError, *DATA_ERRORS) as error:  # the user's to fix: the message alone
        print(error, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    log.info(
        "%s: d = %d, n = %d, λ₁ = %.4g; tables in %s",
        result["dataset"],
        result["data_dim"],
        result["n_samples"],
        result["top_eigenvalues"][0],
        out,
    )


if __name__ == "__main__":
    sys.exit(main())
