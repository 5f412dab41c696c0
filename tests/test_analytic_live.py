"""Spectrum.rank, n_live and learnable_n_latent against direct counts on known spectra."""

from __future__ import annotations

import numpy as np
import pytest

from linear_vae import (
    Spectrum,
    eigenvalue_rank,
    learnable_n_latent,
    n_live,
    ppca_mle,
    sweep,
)

EIGENVALUES = [5.0, 3.0, 1.0, 0.5, 0.1]


def spectrum_with(eigenvalues: list[float]) -> Spectrum:
    d = len(eigenvalues)
    return Spectrum.from_covariance(np.diag(eigenvalues), mean=np.zeros(d), n_samples=100)


def count_live(eigenvalues: list[float], sigma2: float, k: int) -> int:
    """The reference: a plain loop over the eigenvalues."""
    above = sum(1 for lam in eigenvalues if lam > sigma2)
    return above if above < k else k


@pytest.mark.parametrize("sigma2", [0.0, 0.05, 0.1, 0.3, 1.0, 2.0, 3.0, 5.0, 7.0])
@pytest.mark.parametrize("k", [0, 1, 3, 5, 9])
def test_n_live_counts_eigenvalues_strictly_above_sigma2_up_to_k(sigma2, k):
    # σ² = 0.1, 1, 3, 5 equal an eigenvalue: that latent is collapsed; k = 9 exceeds d = 5.
    got = n_live(spectrum_with(EIGENVALUES), sigma2, k)
    assert isinstance(got, int) and got == count_live(EIGENVALUES, sigma2, k)


def test_n_live_on_eigenvalue_arrays_in_any_order_and_sigma2_arrays():
    shuffled = [0.5, 5.0, 0.1, 1.0, 3.0]
    sigma2 = np.array([[0.05, 1.0], [3.0, 7.0]])
    got = n_live(shuffled, sigma2, 4)
    assert got.shape == (2, 2) and got.dtype.kind == "i"
    want = [[count_live(EIGENVALUES, s, 4) for s in row] for row in sigma2]
    np.testing.assert_array_equal(got, want)
    # Without k every eigenvalue above σ² counts: here 4, 2, 1, 0.
    np.testing.assert_array_equal(n_live(shuffled, [0.3, 2.0, 4.0, 5.0]), [4, 2, 1, 0])


def test_n_live_matches_the_sweep_column():
    spec = spectrum_with(EIGENVALUES)
    table = sweep(spec, [0.1, 0.7, 3.0, 6.0], n_latent=[0, 2, 5])
    want = [n_live(spec, s, k) for s, k in zip(table["sigma2"], table["n_latent"], strict=True)]
    np.testing.assert_array_equal(table["n_live"], want)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma2": -0.1}, r"sigma2 must be finite and >= 0"),
        ({"sigma2": [0.5, np.nan]}, r"sigma2 must be finite and >= 0"),
        ({"sigma2": "half"}, r"sigma2 must be finite and >= 0"),
        ({"sigma2": 0.5, "k": -1}, r"k must be an integer >= 0"),
        ({"sigma2": 0.5, "k": 2.5}, r"k must be an integer >= 0"),
    ],
)
def test_n_live_rejects_bad_sigma2_and_k(kwargs, message):
    with pytest.raises(ValueError, match=message):
        n_live(EIGENVALUES, **kwargs)


@pytest.mark.parametrize("eigenvalues", [[], [[1.0, 2.0]], [1.0, np.inf], "abc"])
def test_n_live_rejects_what_is_not_a_spectrum(eigenvalues):
    with pytest.raises(ValueError, match=r"spectrum must be a linear_vae.Spectrum or a non-empty"):
        n_live(eigenvalues, 0.5)


def test_rank_of_rank_deficient_data():
    rng = np.random.default_rng(0)
    # 4 centred points span 3 dimensions; a constant column and a copied column add no rank.
    X = rng.normal(size=(4, 6))
    X[:, 4] = 7.0
    X[:, 5] = X[:, 0]
    spec = Spectrum.from_data(X)
    assert spec.rank == np.linalg.matrix_rank(X - X.mean(axis=0)) == 3
    assert Spectrum.from_data(rng.normal(size=(50, 6))).rank == 6


def test_rank_ignores_round_off_below_the_stated_tolerance():
    d = 4
    tol = d * np.finfo(np.float64).eps * 2.0  # d · eps · λ_max
    assert eigenvalue_rank(np.array([2.0, 1.0, 0.5 * tol, 0.0])) == 2
    assert eigenvalue_rank(np.array([2.0, 1.0, 2.0 * tol, 0.0])) == 3
    assert eigenvalue_rank(np.array([2.0, -1e-17, 0.0, 0.0])) == 1
    assert eigenvalue_rank(np.zeros(3)) == 0
    # A spectrum built by hand (no zeroing) gets the same answer as the array.
    raw = Spectrum(np.zeros(d), np.array([2.0, 1.0, 0.5 * tol, 0.0]), np.eye(d), 10)
    assert raw.rank == 2


@pytest.mark.parametrize(("k", "want"), [(0, 0), (1, 1), (2, 2), (3, 2), (4, 2), (10, 2)])
def test_learnable_n_latent_stays_below_the_rank(k, want):
    eigenvalues = [4.0, 2.0, 1.0, 0.0, 0.0]  # rank 3 in d = 5
    spec = spectrum_with(eigenvalues)
    assert learnable_n_latent(spec, k) == learnable_n_latent(eigenvalues, k) == want
    # What the clamp is for: the learned σ² is positive at the returned k and 0 one above the rank.
    assert ppca_mle(spec, want).sigma2 > 0
    with pytest.raises(ValueError, match=r"discarded eigenvalues are all zero"):
        ppca_mle(spec, 3)


def test_learnable_n_latent_of_full_rank_data_stops_below_d_and_rank_zero_is_an_error():
    assert learnable_n_latent(spectrum_with(EIGENVALUES), 5) == 4
    with pytest.raises(ValueError, match=r"spectrum has rank 0"):
        learnable_n_latent(np.zeros(3), 1)
    with pytest.raises(ValueError, match=r"n_latent must be an integer >= 0"):
        learnable_n_latent(EIGENVALUES, -1)
