"""pPCA optimum and log-likelihood against scikit-learn and scipy (independent references)."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA

from linear_vae import Spectrum, log_likelihood, mean_log_likelihood, ppca_mle


def _data(n=400, d=8, seed=1):
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, d)
    return (rng.normal(size=(n, d)) * scales) @ np.linalg.qr(rng.normal(size=(d, d)))[0] + 2.0


@pytest.mark.parametrize("k", [1, 3, 7])
def test_against_sklearn_pca(k):
    X = _data()
    pca = PCA(n_components=k, svd_solver="full").fit(X)
    fit = ppca_mle(Spectrum.from_data(X, ddof=1), k)
    assert fit.sigma2 == pytest.approx(pca.noise_variance_, rel=1e-10)
    np.testing.assert_allclose(fit.covariance(), pca.get_covariance(), rtol=0, atol=1e-10)
    ll = log_likelihood(X, fit.mean, fit.W, fit.sigma2)
    np.testing.assert_allclose(ll, pca.score_samples(X), rtol=1e-10)
    assert ll.mean() == pytest.approx(pca.score(X), rel=1e-10)


@pytest.mark.parametrize("sigma2", [None, 0.05, 1.0, 20.0])
def test_against_scipy_logpdf_and_eigenvalue_formula(sigma2):
    X = _data(n=300, d=6)
    spec = Spectrum.from_data(X)  # ddof=0: log_likelihood attribute is the exact data mean
    fit = ppca_mle(spec, 3, sigma2)
    ref = multivariate_normal(fit.mean, fit.covariance()).logpdf(X)
    np.testing.assert_allclose(log_likelihood(X, fit.mean, fit.W, fit.sigma2), ref, rtol=1e-10)
    assert fit.log_likelihood == pytest.approx(ref.mean(), rel=1e-10)
    assert mean_log_likelihood(spec, fit.W, fit.sigma2) == pytest.approx(ref.mean(), rel=1e-10)


def test_rotation_changes_W_not_likelihood():
    X = _data()
    spec = Spectrum.from_data(X)
    R = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    a, b = ppca_mle(spec, 4), ppca_mle(spec, 4, rotation=R)
    assert np.abs(a.W - b.W).max() > 1e-3
    np.testing.assert_allclose(a.covariance(), b.covariance(), atol=1e-12)
    np.testing.assert_allclose(
        log_likelihood(X, a.mean, a.W, a.sigma2),
        log_likelihood(X, b.mean, b.W, b.sigma2),
        rtol=1e-12,
    )


def test_collapse_rule_as_sigma2_crosses_each_eigenvalue():
    spec = Spectrum.from_data(_data())
    lam = spec.eigenvalues
    k = 6
    for i, l in enumerate(lam):
        for s2 in (l * (1 - 1e-9), l, l * (1 + 1e-9)):
            fit = ppca_mle(spec, k, s2)
            expected = int(np.sum(lam[:k] <= s2))
            assert fit.n_collapsed == expected, (i, s2)
            assert int(np.sum(~fit.W.any(axis=0))) == expected


def test_edge_cases_k0_kd_zero_eigenvalues():
    X = _data(n=200, d=5)
    spec = Spectrum.from_data(X)
    fit0 = ppca_mle(spec, 0)
    assert fit0.W.shape == (5, 0)
    assert fit0.sigma2 == pytest.approx(spec.eigenvalues.mean())
    ref = multivariate_normal(spec.mean, fit0.sigma2 * np.eye(5)).logpdf(X).mean()
    assert fit0.log_likelihood == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match=r"n_latent=5 equals the data dimension d=5"):
        ppca_mle(spec, 5)
    fitd = ppca_mle(spec, 5, 0.1)  # fixed sigma2 works at k = d
    assert fitd.log_likelihood == pytest.approx(
        multivariate_normal(spec.mean, fitd.covariance()).logpdf(X).mean(), rel=1e-10
    )
    # rank-2 data in 4 dimensions: learned sigma2 is 0 at k = 2 -> clear error; fixed is fine
    Z = np.random.default_rng(0).normal(size=(50, 2))
    spec2 = Spectrum.from_data(np.column_stack([Z, 2 * Z]))
    assert np.count_nonzero(spec2.eigenvalues) == 2
    with pytest.raises(ValueError, match=r"discarded eigenvalues are all zero"):
        ppca_mle(spec2, 2)
    assert np.isfinite(ppca_mle(spec2, 3, 0.5).log_likelihood)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_latent": -1}, r"n_latent must be in \[0, 8\].*got -1"),
        ({"n_latent": 9}, r"n_latent must be in \[0, 8\].*got 9"),
        ({"n_latent": 2.5}, r"n_latent must be an integer"),
        ({"n_latent": 2, "sigma2": 0.0}, r"sigma2 must be a finite number > 0.*got 0.0"),
        ({"n_latent": 2, "sigma2": float("nan")}, r"sigma2.*got nan"),
        ({"n_latent": 2, "sigma2": -1}, r"sigma2.*got -1.0"),
        ({"n_latent": 2, "sigma2": "big"}, r"sigma2.*'big'"),
        ({"n_latent": 2, "rotation": np.ones((2, 2))}, r"rotation must be orthogonal"),
        ({"n_latent": 2, "rotation": np.eye(3)}, r"rotation must have shape \(2, 2\)"),
    ],
)
def test_bad_input_messages(kwargs, match):
    spec = Spectrum.from_data(_data())
    with pytest.raises(ValueError, match=match):
        ppca_mle(spec, **kwargs)


def test_log_likelihood_bad_shapes():
    X = _data(n=20, d=4)
    with pytest.raises(ValueError, match=r"W must have shape \(4, any\)"):
        log_likelihood(X, X.mean(0), np.ones((3, 2)), 1.0)
    with pytest.raises(ValueError, match=r"X must contain only finite values; got inf"):
        log_likelihood(np.where(np.eye(20, 4) > 0, np.inf, X), X.mean(0), np.ones((4, 2)), 1.0)
    with pytest.raises(ValueError, match=r"spectrum must be a linear_vae.Spectrum"):
        ppca_mle(X, 2)
