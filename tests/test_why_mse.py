"""The "why MSE?" answer: implied σ² and the linear theory's collapse count, by hand."""

from __future__ import annotations

import numpy as np
import pytest

import lucas2019
from linear_vae import Spectrum
from lucas2019.why_mse import main, predict


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
