"""Collapse metrics: per-latent KL, (ε, δ)-collapse, active units; oracles and the linear VAE."""

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from lucas2019.likelihoods import build_likelihood
from lucas2019.metrics import (
    active_units,
    collapse_curve,
    collapsed_fraction,
    encoder_mean_variance,
    evaluate,
    kl_per_latent,
)
from lucas2019.models import LinearVAE

D, K, N, SIGMA2 = 8, 5, 2000, 1.0
EIGS = np.array([6.0, 4.0, 2.5, 1.5, 0.6, 0.4, 0.3, 0.2])  # λ_5 < σ² = 1: the 5th latent collapses


def _data(seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return rng.standard_normal((N, D)) * np.sqrt(EIGS) @ Q.T + rng.standard_normal(D)


def _optimal_linear_vae(X, k=K, s2=SIGMA2):
    """LinearVAE at the pPCA optimum (sample covariance, ddof=0) with the optimal encoder."""
    lam, U = np.linalg.eigh(np.cov(X.T, ddof=0))
    lam, U = lam[::-1], U[:, ::-1]
    W = U[:, :k] * np.sqrt(np.clip(lam[:k] - s2, 0, None))
    M = W.T @ W + s2 * np.eye(k)
    m = LinearVAE(X.shape[1], k).double()
    with torch.no_grad():
        m.set_data_mean(torch.as_tensor(X.mean(0)))
        m.W.copy_(torch.as_tensor(W))
        m.V.copy_(torch.as_tensor(np.linalg.solve(M, W.T)))
        m.log_D.copy_(torch.log(torch.as_tensor(s2 / np.diag(M))))
    return m, lam[:k]


def test_kl_per_latent_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = 2 * torch.randn(30, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(30, 4, generator=g, dtype=torch.float64)
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    torch.testing.assert_close(kl_per_latent(mu, logvar), expected)
    with pytest.raises(ValueError, match="same shape"):
        kl_per_latent(mu, logvar[:, :2])


def test_collapse_curve_hand_example():
    n = 100
    kl = np.zeros((n, 3))
    kl[:, 0] = 0.5  # collapsed for ε > 0.5
    kl[:, 1] = 0.0
    kl[0, 1] = 5.0  # 99 % below any ε > 0: collapsed at δ = 0.01, not at δ = 0.005
    kl[:, 2] = np.linspace(1.0, 3.0, n)  # never below 1
    eps = [0.0, 0.1, 0.5, 0.51, 0.9, 10.0]
    np.testing.assert_allclose(collapse_curve(kl, eps, 0.01), [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(collapse_curve(kl, eps, 0.005), [0, 0, 0, 1 / 3, 1 / 3, 1])
    assert collapsed_fraction(kl) == pytest.approx(1 / 3)
    assert collapsed_fraction(torch.as_tensor(kl), eps=0.6) == pytest.approx(2 / 3)
    # δ at the boundary: (1 - δ)·n examples exactly
    assert collapsed_fraction(kl[:, 1:2], eps=0.1, delta=0.01) == 1.0


def test_collapse_curve_is_monotone_in_eps():
    kl = np.random.default_rng(0).exponential(size=(200, 20)) * np.linspace(0.01, 2, 20)
    curve = collapse_curve(kl, np.linspace(0, 2, 100))
    assert curve[0] == 0.0
    assert np.all(np.diff(curve) >= 0) and curve[-1] > curve[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kl": np.zeros(5)}, "kl"),
        ({"delta": 1.0}, "delta"),
        ({"delta": -0.1}, "delta"),
        ({"eps_grid": []}, "eps_grid"),
        ({"eps_grid": [np.nan]}, "eps_grid"),
    ],
)
def test_collapse_curve_rejects_bad_input(kwargs, match):
    kwargs = {"kl": np.zeros((4, 2)), **kwargs}
    with pytest.raises(ValueError, match=match):
        collapse_curve(**kwargs)


def test_active_units_unbiased_variance():
    mu = np.array([[0.0, 0.0, 1.0], [0.2, 0.0, -1.0]])  # unbiased var: 0.02, 0, 2
    np.testing.assert_allclose(encoder_mean_variance(mu), [0.02, 0.0, 2.0])
    assert active_units(mu) == 2
    assert active_units(mu, threshold=0.03) == 1
    with pytest.raises(ValueError, match="2 examples"):
        active_units(mu[:1])


def test_identity_encoder_nothing_collapsed_constant_encoder_everything():
    X = torch.as_tensor(_data()[:500])
    lik = build_likelihood("gaussian_fixed", D, sigma2=SIGMA2).double()
    ident = LinearVAE(D, D).double()
    const = LinearVAE(D, D).double()
    with torch.no_grad():
        ident.V.copy_(torch.eye(D))
        ident.log_D.fill_(-4.0)  # sharp posterior: KL ≥ ½(e⁻⁴ - 1 + 4) ≈ 1.5 everywhere
        const.V.zero_()
        const.log_D.zero_()  # q = prior for every x
    r = evaluate(ident, lik, X)
    assert r["collapsed_fraction"] == 0.0 and r["active_units"] == D
    assert max(r["collapse_curve"]) == 0.0
    r = evaluate(const, lik, X)
    assert r["collapsed_fraction"] == 1.0 and r["active_units"] == 0
    assert r["kl"] == 0.0 and r["collapse_curve"][1:] == [1.0] * 99


def test_linear_vae_optimum_matches_closed_forms():
    """Per-latent KL, encoder-mean variance and active units at the pPCA optimum (exact: the
    closed forms use the sample covariance's spectrum)."""
    X = _data()
    m, lam = _optimal_linear_vae(X)
    live = lam > SIGMA2
    assert live.tolist() == [True, True, True, True, False]
    with torch.no_grad():
        mu, logvar = m.encode(torch.as_tensor(X))
    kl = kl_per_latent(mu, logvar).numpy()
    exp_kl = np.where(live, 0.5 * np.log(lam / SIGMA2), 0.0)
    np.testing.assert_allclose(kl.mean(0), exp_kl, rtol=1e-9, atol=1e-12)
    exp_var = np.where(live, (lam - SIGMA2) / lam, 0.0) * N / (N - 1)  # unbiased
    np.testing.assert_allclose(encoder_mean_variance(mu), exp_var, rtol=1e-9, atol=1e-12)
    assert active_units(mu) == live.sum()
    assert collapsed_fraction(kl) == pytest.approx((~live).mean())
    lik = build_likelihood("gaussian_fixed", D, sigma2=SIGMA2).double()
    r = evaluate(m, lik, X)
    np.testing.assert_allclose(r["kl_per_latent"], exp_kl, rtol=1e-9, atol=1e-12)
    assert r["active_units"] == 4 and r["collapsed_fraction"] == pytest.approx(0.2)


def test_linear_vae_optimum_matches_linear_vae_collapse_diagnostics():
    lv = pytest.importorskip("linear_vae")
    if not hasattr(lv, "collapse_diagnostics"):
        pytest.skip("linear_vae.collapse_diagnostics not written yet")
    X = _data()
    m, _ = _optimal_linear_vae(X)
    diag = lv.collapse_diagnostics(lv.Spectrum.from_data(X, ddof=0), K, SIGMA2)
    with torch.no_grad():
        mu, logvar = m.encode(torch.as_tensor(X))
    kl = kl_per_latent(mu, logvar)
    np.testing.assert_allclose(kl.mean(0).numpy(), diag["expected_kl"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        encoder_mean_variance(mu) * (N - 1) / N,
        diag["encoder_mean_variance"],
        rtol=1e-8,
        atol=1e-10,
    )
    np.testing.assert_allclose(logvar[0].exp().numpy(), diag["posterior_variance"], rtol=1e-8)
    assert active_units(mu) == diag["active"].sum()
    per_latent = [collapsed_fraction(kl[:, j : j + 1]) == 1.0 for j in range(K)]
    assert per_latent == diag["collapsed"].tolist()
