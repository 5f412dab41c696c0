"""LinearVAE / linear_decoder: analytic ELBO vs closed forms, Monte Carlo and linear_vae."""

import numpy as np
import pytest
import torch

from lucas2019.likelihoods import build_likelihood
from lucas2019.models import LinearVAE, build_model

D, K, N = 8, 5, 2000
EIGS = np.array([6.0, 4.0, 2.5, 1.5, 0.6, 0.4, 0.3, 0.2])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return rng.standard_normal((N, D)) * np.sqrt(EIGS) @ Q.T + rng.standard_normal(D)


def _random_linear_vae(seed=0, objective="analytic"):
    torch.manual_seed(seed)
    m = LinearVAE(D, K, objective=objective).double()
    with torch.no_grad():
        m.W.normal_(0, 0.7)
        m.V.normal_(0, 0.3)
        m.log_D.uniform_(-2, 0.5)
    return m


def _ppca_optimum(X, k, sigma2):
    """pPCA W at fixed σ² (sample covariance, ddof=0) and the optimal encoder V, D."""
    mean = X.mean(0)
    lam, U = np.linalg.eigh(np.cov(X.T, ddof=0))
    lam, U = lam[::-1], U[:, ::-1]
    W = U[:, :k] * np.sqrt(np.clip(lam[:k] - sigma2, 0, None))
    M = W.T @ W + sigma2 * np.eye(k)
    return mean, W, np.linalg.solve(M, W.T), sigma2 / np.diag(M)


def _closed_form_elbo(X, mean, W, V, Dg, s2):
    """Per-example ELBO from the paper's closed forms (NumPy, float64)."""
    Xc = X - mean
    d, k = W.shape
    rec = -(((Xc - Xc @ V.T @ W.T) ** 2).sum(1) + np.trace(W @ np.diag(Dg) @ W.T)) / (2 * s2)
    rec -= 0.5 * d * np.log(2 * np.pi * s2)
    kl = 0.5 * (Dg.sum() + ((Xc @ V.T) ** 2).sum(1) - k - np.log(Dg).sum())
    return rec - kl


def _set(m, mean, W, V, Dg):
    with torch.no_grad():
        m.set_data_mean(torch.as_tensor(mean))
        m.W.copy_(torch.as_tensor(W))
        m.V.copy_(torch.as_tensor(V))
        m.log_D.copy_(torch.log(torch.as_tensor(Dg)))


def _elbo(m, lik, X, **kw):
    t = m.loss_terms(torch.as_tensor(X), lik, **kw)
    return (t["rec"] - t["kl"]).detach().numpy()


def test_paper_initialisation():
    torch.manual_seed(0)
    m = build_model("linear_vae", 300, None, 200)
    assert m.W.shape == (300, 200) and m.V.shape == (200, 300) and m.log_D.shape == (200,)
    assert m.W.std().item() == pytest.approx(1e-3, rel=0.02)
    assert m.V.std().item() == pytest.approx(1e-3, rel=0.02)
    assert torch.all(m.log_D == 0)
    assert "data_mean" in dict(m.named_buffers())
    assert "data_mean" not in dict(m.named_parameters())
    m.set_data_mean(np.arange(300, dtype=np.float32))
    assert m.data_mean[7].item() == 7.0
    with pytest.raises(ValueError, match="mean"):
        m.set_data_mean(torch.zeros(5))


@pytest.mark.parametrize("s2", [0.3, 1.0, 4.0])
def test_analytic_elbo_matches_closed_form(s2):
    X = _data()
    m = _random_linear_vae()
    with torch.no_grad():
        m.set_data_mean(torch.as_tensor(X.mean(0) + 0.1))
    lik = build_likelihood("gaussian_fixed", D, sigma2=s2).double()
    got = _elbo(m, lik, X)
    ref = _closed_form_elbo(
        X, m.data_mean.numpy(), m.W.detach().numpy(), m.V.detach().numpy(),
        m.log_D.exp().detach().numpy(), s2,
    )  # fmt: skip
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_analytic_elbo_matches_linear_vae_package():
    lv = pytest.importorskip("linear_vae")
    if not hasattr(lv, "elbo"):
        pytest.skip("linear_vae.elbo not written yet")
    X = _data()
    m = _random_linear_vae()
    m.set_data_mean(torch.as_tensor(X.mean(0)))
    s2 = 0.8
    lik = build_likelihood("gaussian_fixed", D, sigma2=s2).double()
    ref = lv.elbo(
        X, X.mean(0), m.W.detach().numpy(), m.V.detach().numpy(), m.log_D.exp().detach().numpy(), s2
    )
    np.testing.assert_allclose(_elbo(m, lik, X), ref, rtol=1e-6)


def test_stochastic_objective_matches_analytic_in_expectation():
    """Monte-Carlo rec (many reparameterised samples): within 5 standard errors of closed form."""
    X = torch.as_tensor(_data()[:20])
    m = _random_linear_vae(objective="stochastic")
    m.set_data_mean(X.mean(0))
    lik = build_likelihood("gaussian_fixed", D, sigma2=0.5).double()
    g = torch.Generator().manual_seed(0)
    S = 4000
    mu, logvar = m.encode(X)
    z = m.sample_latents(mu, logvar, S, g)
    with torch.no_grad():
        per_sample = lik.log_prob(X.repeat(S, 1), m.decode(z.reshape(-1, K))).reshape(S, -1)
        se = per_sample.std(0) / np.sqrt(S)
        m.objective = "analytic"
        exact = m.loss_terms(X, lik)["rec"]
        m.objective = "stochastic"
        mc = m.loss_terms(X, lik, n_samples=S, generator=torch.Generator().manual_seed(1))["rec"]
    assert torch.all((mc - exact).abs() < 5 * se)
    assert torch.all(se > 0)


def test_linear_decoder_analytic_matches_monte_carlo():
    X = torch.as_tensor(_data()[:10])
    torch.manual_seed(0)
    m = build_model("linear_decoder", D, (D,), K, encoder="mlp", encoder_hidden=[16, 8]).double()
    with torch.no_grad():
        m.W.normal_(0, 0.5)
        m.logvar_head.bias.uniform_(-1, 0.5)
    lik = build_likelihood("gaussian_fixed", D, sigma2=0.5).double()
    with torch.no_grad():
        exact = m.loss_terms(X, lik)
        m.objective = "stochastic"
        mc = m.loss_terms(X, lik, n_samples=20000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(mc["kl"], exact["kl"])
    rel = ((mc["rec"] - exact["rec"]) / exact["rec"]).abs()
    assert rel.max() < 0.01


def test_analytic_with_optimal_sigma2_uses_expected_squared_error():
    X = torch.as_tensor(_data()[:50])
    m = _random_linear_vae()
    opt = build_likelihood("gaussian_optimal", D).double()
    t = m.loss_terms(X, opt)
    assert opt.sigma2_value() == pytest.approx((t["expected_sse"].mean() / D).item(), rel=1e-6)
    assert t["expected_sse"].mean() > ((X - m.decode(m.encode(X)[0])) ** 2).sum(-1).mean()


def test_gradient_vanishes_at_ppca_optimum():
    """At W = U_k(Λ_k - σ²)_+^½, V = M⁻¹Wᵀ, D = σ² diag(M)⁻¹ the mean ELBO is stationary."""
    X = _data()
    s2 = 1.0
    m = LinearVAE(D, K).double()
    _set(m, *_ppca_optimum(X, K, s2))
    lik = build_likelihood("gaussian_fixed", D, sigma2=s2).double()
    t = m.loss_terms(torch.as_tensor(X), lik)
    (t["rec"] - t["kl"]).mean().backward()
    for p in (m.W, m.V, m.log_D):
        assert p.grad.abs().max().item() < 1e-9
    # and a small perturbation has a non-zero gradient
    with torch.no_grad():
        m.W.add_(0.05)
    m.zero_grad()
    t = m.loss_terms(torch.as_tensor(X), lik)
    (t["rec"] - t["kl"]).mean().backward()
    assert m.W.grad.abs().max().item() > 1e-3


def test_analytic_needs_gaussian():
    m = LinearVAE(D, K)
    with pytest.raises(ValueError, match="Gaussian"):
        m.loss_terms(torch.zeros(3, D), build_likelihood("bernoulli", D))


def test_adam_reaches_analytic_optimum():
    """Smoke: full-batch Adam on the analytic objective reaches the pPCA optimum (fixed σ²)."""
    X = _data()[:500]
    s2 = 1.0
    opt_elbo = _closed_form_elbo(X, *_ppca_optimum(X, K, s2), s2).mean()
    torch.manual_seed(0)
    m = LinearVAE(D, K).double()
    m.set_data_mean(torch.as_tensor(X.mean(0)))
    lik = build_likelihood("gaussian_fixed", D, sigma2=s2).double()
    Xt = torch.as_tensor(X)
    adam = torch.optim.Adam(m.parameters(), lr=3e-2)
    for _ in range(300):
        t = m.loss_terms(Xt, lik)
        loss = -(t["rec"] - t["kl"]).mean()
        adam.zero_grad()
        loss.backward()
        adam.step()
    assert -loss.item() <= opt_elbo + 1e-9
    assert -loss.item() == pytest.approx(opt_elbo, abs=1e-2)  # 119 steps in a hand run
