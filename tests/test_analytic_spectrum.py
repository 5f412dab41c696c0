"""Spectrum: chunked covariance against numpy, generator input, ddof, from_covariance."""

import numpy as np
import pytest

from linear_vae import Spectrum, covariance_eigenvalues


def _data(n=503, d=7, seed=0, offset=1e4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + offset


@pytest.mark.parametrize("chunk_size", [1, 10, 64, 503, 10_000])
@pytest.mark.parametrize("ddof", [0, 1])
def test_chunked_covariance_equals_np_cov(chunk_size, ddof):
    X = _data()
    spec = Spectrum.from_data(X, ddof=ddof, chunk_size=chunk_size)
    ref = np.cov(X, rowvar=False, ddof=ddof)
    # Large offset (1e4) would ruin a naive sum-of-squares scheme; Chan merging keeps 1e-10.
    np.testing.assert_allclose(spec.covariance(), ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    np.testing.assert_allclose(spec.mean, X.mean(axis=0), rtol=1e-14)
    assert spec.n_samples == X.shape[0] and spec.ddof == ddof


def test_eigen_order_and_orthonormality():
    spec = Spectrum.from_data(_data(offset=0.0))
    lam, U = spec.eigenvalues, spec.eigenvectors
    assert np.all(np.diff(lam) <= 0)
    np.testing.assert_allclose(U.T @ U, np.eye(U.shape[0]), atol=1e-12)
    np.testing.assert_allclose(
        lam, np.sort(np.linalg.eigvalsh(np.cov(_data(offset=0.0).T, ddof=0)))[::-1], rtol=1e-10
    )


def test_generator_of_batches_equals_array():
    X = _data(n=1000, d=5)
    from_array = Spectrum.from_data(X, chunk_size=128)
    from_gen = Spectrum.from_data(X[i : i + 97] for i in range(0, 1000, 97))
    np.testing.assert_allclose(from_gen.covariance(), from_array.covariance(), atol=1e-9)
    np.testing.assert_allclose(from_gen.mean, from_array.mean, rtol=1e-14)
    assert from_gen.n_samples == 1000


def test_float32_input_and_rank_deficient_zero_eigenvalues():
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(4, 6))).astype(np.float32)  # n=4 < d=6: rank 3
    spec = Spectrum.from_data(X)
    assert np.count_nonzero(spec.eigenvalues) == 3
    assert np.all(spec.eigenvalues[3:] == 0.0)


def test_from_covariance_round_trip():
    X = _data(offset=0.0)
    C = np.cov(X, rowvar=False, ddof=1)
    spec = Spectrum.from_covariance(C, X.mean(0), X.shape[0], ddof=1)
    np.testing.assert_allclose(spec.covariance(), C, atol=1e-10)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Spectrum.from_data(np.array([[1.0, np.nan], [0.0, 1.0]])), r"finite.*nan"),
        (lambda: Spectrum.from_data(np.ones(5)), r"X must be a non-empty 2-D array.*\(5,\)"),
        (lambda: Spectrum.from_data(np.ones((3, 2)), ddof=3), r"ddof must be < n_samples=3"),
        (lambda: Spectrum.from_data(np.ones((3, 2)), chunk_size=0), r"chunk_size.*>= 1.*0"),
        (lambda: Spectrum.from_data(iter([np.ones((2, 3)), np.ones((2, 4))])), r"\(n_i, 3\)"),
        (lambda: Spectrum.from_data(iter([])), r"at least one row"),
        (
            lambda: Spectrum.from_covariance(np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), 5),
            r"C must be a symmetric",
        ),
        (
            lambda: Spectrum.from_covariance(np.eye(2), np.zeros(3), 5),
            r"mean must have shape \(2\)",
        ),
        (lambda: Spectrum.from_covariance(-np.eye(2), np.zeros(2), 5), r"positive semidefinite"),
        (lambda: Spectrum.from_covariance(np.ones((2, 3)), np.zeros(2), 5), r"square"),
    ],
)
def test_bad_input_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(("n", "d"), [(50, 8), (6, 20), (20, 20)])
def test_covariance_eigenvalues_match_the_full_spectrum_for_tall_and_wide_data(n, d):
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d)) * np.linspace(3.0, 0.1, d)
    for ddof in (0, 1):
        full = Spectrum.from_data(X, ddof=ddof).eigenvalues
        np.testing.assert_allclose(
            covariance_eigenvalues(X, ddof=ddof), full, rtol=1e-10, atol=1e-12
        )
    assert np.count_nonzero(covariance_eigenvalues(X)) == min(n - 1, d)
