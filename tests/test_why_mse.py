"""The "why MSE?" answer: implied σ² and the linear theory's collapse count, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lucas2019
from linear_vae import Spectrum
from lucas2019.collapse import predict
from lucas2019.loss_recipes import PRESETS
from lucas2019.why_mse import main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "loss_recipes.md"

# The σ² each Gaussian preset documents, by hand: d data dimensions, k latents, n batch size.
PRESET_SIGMA2 = {
    "mean-mse": lambda d, k, n: d / 2,
    "mean-mse-kld-weight": lambda d, k, n: d * 2.5e-4 / 2,
    "mean-mse-mean-kl": lambda d, k, n: d / (2 * k),
    "mean-mse-sum-kl": lambda d, k, n: n * d / 2,
    "sum-mse": lambda d, k, n: 1 / 2,
    "half-sum-se": lambda d, k, n: 1.0,
    "sum-mse-255": lambda d, k, n: 1 / (2 * 255**2),
}


def spectrum_with(eigenvalues: list[float]) -> Spectrum:
    d = len(eigenvalues)
    return Spectrum.from_covariance(np.diag(eigenvalues), mean=np.zeros(d), n_samples=100)


def test_implied_sigma2_is_exported_at_the_top_level():
    assert lucas2019.implied_sigma2(reduction="mean", data_dim=784) == 392.0
    assert lucas2019.implied_sigma2(reduction="sum") == 0.5


@pytest.mark.parametrize(
    ("sigma2", "k", "collapsed"),
    [(2.0, 4, 2), (0.05, 4, 0), (10.0, 4, 4), (3.0, 2, 1), (0.5, 5, 2)],
)
def test_predicted_collapse_counts_eigenvalues_at_or_below_sigma2(sigma2, k, collapsed):
    answer = predict(spectrum_with([5.0, 3.0, 1.0, 0.5, 0.1]), sigma2, k)
    assert answer.n_collapsed == collapsed


def test_learned_sigma2_is_the_mean_of_the_discarded_eigenvalues_and_collapses_nothing():
    answer = predict(spectrum_with([5.0, 3.0, 1.0, 0.5, 0.1]), 2.0, 3)
    assert answer.sigma2_learned == pytest.approx((0.5 + 0.1) / 2, rel=1e-12)
    assert answer.n_collapsed_learned == 0


def test_command_prints_sigma2_and_collapse_for_a_dataset(capsys):
    assert main(["--reduction", "mean", "--dataset", "digits", "--latent-dim", "32"]) == 0
    out = capsys.readouterr().out
    assert "σ² = 32 " in out  # d = 64 pixels, averaged: 64 / 2
    assert "32 of 32 collapse" in out  # every eigenvalue of digits in [0, 1] is far below 32


def test_command_without_a_dataset_needs_the_dimension_for_a_mean(capsys):
    with pytest.raises(SystemExit):
        main(["--reduction", "mean"])
    assert "--dataset" in capsys.readouterr().err
    assert main(["--reduction", "sum", "--beta", "4", "--pixel-scale", "2"]) == 0
    assert "σ² = 0.5 " in capsys.readouterr().out  # 4 / 2 / 2²


def data_with_spectrum(eigenvalues: np.ndarray, n: int, seed: int) -> np.ndarray:
    """(n, d) data whose covariance (ddof 0) has exactly these eigenvalues, in a random basis."""
    rng = np.random.default_rng(seed)
    d = len(eigenvalues)
    noise = rng.standard_normal((n, d))
    centred, _ = np.linalg.qr(noise - noise.mean(axis=0))  # orthonormal columns summing to 0
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return np.sqrt(n) * (centred * np.sqrt(eigenvalues)) @ basis.T + 0.5


def test_every_gaussian_preset_has_its_formula_here():
    assert set(PRESET_SIGMA2) == {name for name, p in PRESETS.items() if p.recipe.loss == "mse"}


@pytest.mark.parametrize("name", sorted(PRESET_SIGMA2))
def test_preset_example_is_its_formula(name):
    example = PRESETS[name].example
    d, k, n = (example.get(key) for key in ("data_dim", "latent_dim", "batch_size"))
    assert PRESETS[name].example_value() == pytest.approx(PRESET_SIGMA2[name](d, k, n), rel=1e-12)


KNOWN_EIGENVALUES = np.logspace(3, -7, 64)


@pytest.fixture(scope="module")
def known_spectrum_npy(tmp_path_factory) -> Path:
    """A .npy file of 300 rows whose covariance eigenvalues are KNOWN_EIGENVALUES."""
    path = tmp_path_factory.mktemp("why_mse") / "x.npy"
    np.save(path, data_with_spectrum(KNOWN_EIGENVALUES, n=300, seed=0))
    return path


@pytest.mark.parametrize("name", sorted(PRESET_SIGMA2))
def test_preset_predicts_live_latents_on_data_with_a_known_spectrum(
    name, known_spectrum_npy, capsys
):
    eigenvalues, path = KNOWN_EIGENVALUES, known_spectrum_npy
    k, n = 50, 128
    argv = ["--preset", name, "--npy", str(path), "--latent-dim", str(k), "--batch-size", str(n)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    sigma2 = PRESET_SIGMA2[name](64, k, n)
    live = min(k, int(np.sum(eigenvalues > sigma2)))
    assert f"σ² = {sigma2:.6g} " in out
    assert f"{live} live, {k - live} of {k} collapse" in out
    assert "likelihood=gaussian_learned" in out


def test_bce_preset_names_a_kl_weight_and_no_live_latent_count(capsys):
    assert main(["--preset", "bce-sum", "--dataset", "digits", "--beta", "3"]) == 0
    out = capsys.readouterr().out
    assert "Bernoulli decoder with KL weight β = 3 " in out
    assert "live" not in out


def test_options_replace_the_presets(capsys):
    assert main(["--preset", "mean-mse-kld-weight", "--data-dim", "12288", "--beta", "1e-3"]) == 0
    assert "σ² = 6.144 " in capsys.readouterr().out  # 12288 · 1e-3 / 2


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--preset", "mean-mse-sum-kl", "--data-dim", "784"], "--batch-size"),
        (["--preset", "bce-sum", "--pixel-scale", "255"], "pixel_scale"),
        (["--data-dim", "10", "--dataset", "digits"], "d = 64"),
    ],
)
def test_command_errors_say_what_to_pass(argv, match, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert match in capsys.readouterr().err


def test_help_and_docs_list_every_preset_with_its_formula(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    docs = DOCS.read_text()
    for name, preset in PRESETS.items():
        for text in (help_text, docs):
            assert f"{name}" in text and preset.formula in text and preset.code in text
