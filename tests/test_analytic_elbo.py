"""Analytic linear-VAE ELBO: equals log p(x) at the optimum, rotation, Monte Carlo, trace form."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal, ortho_group

from linear_vae import (
    Spectrum,
    elbo,
    log_likelihood,
    mean_elbo,
    optimal_encoder,
    ppca_mle,
)
from linear_vae.elbo import elbo_terms


def _data(n=300, d=6, seed=2):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) * np.linspace(2.5, 0.3, d)) @ ortho_group.rvs(
        d, random_state=seed
    ) - 1.0


@pytest.mark.parametrize("sigma2", [None, 0.2, 1.0, 10.0])
@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_elbo_at_optimal_encoder_equals_log_likelihood(k, sigma2):
    X = _data()
    fit = ppca_mle(Spectrum.from_data(X), k, sigma2)
    V, D = optimal_encoder(fit.W, fit.sigma2)
    e = elbo(X, fit.mean, fit.W, V, D, fit.sigma2)
    ll = log_likelihood(X, fit.mean, fit.W, fit.sigma2)
    np.testing.assert_allclose(e, ll, rtol=1e-10)
    assert e.mean() == pytest.approx(fit.log_likelihood, rel=1e-10)


def test_random_rotation_lowers_elbo_not_likelihood():
    X = _data()
    spec = Spectrum.from_data(X)
    fit = ppca_mle(spec, 4)
    rot = ppca_mle(spec, 4, rotation=ortho_group.rvs(4, random_state=0))
    V, D = optimal_encoder(rot.W, rot.sigma2)
    gap = fit.log_likelihood - mean_elbo(spec, rot.W, V, D, rot.sigma2)
    assert gap > 1e-3  # ELBO strictly lower (diagonal D cannot match sigma2 M^-1)
    np.testing.assert_allclose(
        log_likelihood(X, rot.mean, rot.W, rot.sigma2),
        log_likelihood(X, fit.mean, fit.W, fit.sigma2),
        rtol=1e-12,
    )
    assert np.all(
        elbo(X, rot.mean, rot.W, V, D, rot.sigma2)
        <= log_likelihood(X, rot.mean, rot.W, rot.sigma2) + 1e-12
    )


def test_analytic_elbo_matches_monte_carlo():
    rng = np.random.default_rng(7)
    X = _data(n=200, d=5)
    d, k, s2 = 5, 3, 0.7
    W = rng.normal(size=(d, k))
    V = rng.normal(size=(k, d)) * 0.3
    D = rng.uniform(0.2, 1.5, size=k)
    mu = X.mean(0) + 0.1
    analytic = elbo(X, mu, W, V, D, s2)
    n_mc = 400
    m = (X - mu) @ V.T
    z = m[None] + np.sqrt(D) * rng.normal(size=(n_mc, *m.shape))
    log_px_z = multivariate_normal(np.zeros(d), s2 * np.eye(d)).logpdf(X - mu - z @ W.T)
    log_pz = -0.5 * (z**2).sum(-1) - 0.5 * k * np.log(2 * np.pi)
    log_qz = (-0.5 * (z - m) ** 2 / D - 0.5 * np.log(2 * np.pi * D)).sum(-1)
    samples = (log_px_z + log_pz - log_qz).ravel()
    estimate, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(estimate - analytic.mean()) < 4 * se
    # per example as well, for the first few
    per = log_px_z + log_pz - log_qz
    se_i = per.std(axis=0, ddof=1) / np.sqrt(n_mc)
    assert np.all(np.abs(per.mean(0)[:10] - analytic[:10]) < 4.5 * se_i[:10])


@pytest.mark.parametrize("offset", [0.0, 0.3])
def test_spectrum_mean_elbo_equals_mean_of_per_example(offset):
    rng = np.random.default_rng(11)
    X = _data(n=250, d=6)
    spec = Spectrum.from_data(X, ddof=0)
    W, V = rng.normal(size=(6, 3)), rng.normal(size=(3, 6))
    D = rng.uniform(0.1, 2.0, size=3)
    mu = spec.mean + offset
    per = elbo(X, mu, W, V, D, 0.4)
    assert mean_elbo(spec, W, V, D, 0.4, mean=mu) == pytest.approx(per.mean(), rel=1e-11)
    _rec, kl = elbo_terms(X, mu, W, V, D, 0.4)
    assert np.all(kl >= 0)
    # ddof=1 differs by the factor n/(n-1) on the quadratic terms, so it is not the data mean
    spec1 = Spectrum.from_data(X, ddof=1)
    assert abs(mean_elbo(spec1, W, V, D, 0.4, mean=mu) - per.mean()) > 1e-6


def test_optimal_encoder_is_stationary():
    """V*, D* maximise the mean ELBO for fixed W: finite-difference gradient vanishes."""
    rng = np.random.default_rng(5)
    spec = Spectrum.from_data(_data())
    W = rng.normal(size=(6, 2))
    V, D = optimal_encoder(W, 0.5)
    base = mean_elbo(spec, W, V, D, 0.5)
    h = 1e-5
    for idx in np.ndindex(V.shape):
        E = np.zeros_like(V)
        E[idx] = h
        g = (mean_elbo(spec, W, V + E, D, 0.5) - mean_elbo(spec, W, V - E, D, 0.5)) / (2 * h)
        assert abs(g) < 1e-6
    for i in range(2):
        E = np.zeros(2)
        E[i] = h
        assert (
            abs(mean_elbo(spec, W, V, D + E, 0.5) - mean_elbo(spec, W, V, D - E, 0.5)) / (2 * h)
            < 1e-6
        )
    assert mean_elbo(spec, W, V * 1.1, D, 0.5) < base


def test_elbo_bad_input():
    X = _data(n=10, d=4)
    W = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"V must have shape \(2, 4\); got shape \(4, 2\)"):
        elbo(X, X.mean(0), W, W, np.ones(2), 1.0)
    with pytest.raises(ValueError, match=r"D \(diagonal encoder variances\) must be > 0"):
        elbo(X, X.mean(0), W, W.T, np.array([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match=r"sigma2 must be a finite number > 0.*got inf"):
        optimal_encoder(W, np.inf)
