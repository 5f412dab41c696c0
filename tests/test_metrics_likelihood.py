"""iw_log_px against the exact pPCA marginal likelihood, and evaluate()'s contract."""

import json

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from lucas2019.likelihoods import build_likelihood
from lucas2019.metrics import evaluate, iw_log_px
from lucas2019.models import LinearVAE, build_model

D, K, SIGMA2 = 6, 3, 0.5
EIGS = np.array([5.0, 3.0, 0.3, 0.2, 0.15, 0.1])
CONTRACT_KEYS = {
    "elbo", "rec", "kl", "mse", "sigma2", "kl_per_latent", "collapsed_fraction", "collapse_curve",
    "active_units", "log_px",
}  # fmt: skip


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return rng.standard_normal((n, D)) * np.sqrt(EIGS) @ Q.T + 1.0


def _model(X, perturb=False):
    """Linear VAE: pPCA W (fixed σ²), optimal (exact-posterior) encoder or a worse one."""
    lam, U = np.linalg.eigh(np.cov(X.T, ddof=0))
    W = U[:, ::-1][:, :K] * np.sqrt(np.clip(lam[::-1][:K] - SIGMA2, 0, None))
    M = W.T @ W + SIGMA2 * np.eye(K)
    V, Dg = np.linalg.solve(M, W.T), SIGMA2 / np.diag(M)
    if perturb:
        V, Dg = 0.8 * V, 2.0 * Dg
    m = LinearVAE(D, K, objective="stochastic").double()
    with torch.no_grad():
        m.set_data_mean(torch.as_tensor(X.mean(0)))
        m.W.copy_(torch.as_tensor(W))
        m.V.copy_(torch.as_tensor(V))
        m.log_D.copy_(torch.log(torch.as_tensor(Dg)))
    exact = multivariate_normal(X.mean(0), W @ W.T + SIGMA2 * np.eye(D)).logpdf(X)
    return m, exact


def _lik():
    return build_likelihood("gaussian_fixed", D, sigma2=SIGMA2).double()


def test_iw_is_exact_with_the_true_posterior():
    """q = p(z|x): every importance weight equals p(x), so any K gives log p(x) to rounding."""
    X = _data()
    m, exact = _model(X)
    got = iw_log_px(m, _lik(), X, n_samples=3, batch_size=64, sample_batch=2)
    assert got.shape == (300,) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), exact, rtol=1e-10, atol=1e-9)


def test_iw_approaches_log_px_and_beats_the_elbo():
    X = _data(n=200)
    m, exact = _model(X, perturb=True)
    m.objective = "analytic"
    with torch.no_grad():
        t = m.loss_terms(torch.as_tensor(X), _lik())
    elbo = (t["rec"] - t["kl"]).numpy()
    gap = exact.mean() - elbo.mean()
    assert gap > 0.1  # the perturbed encoder is visibly worse
    iw = iw_log_px(m, _lik(), X, n_samples=1000, sample_batch=250).numpy()
    assert iw.mean() > elbo.mean() + 0.9 * gap  # closes > 90 % of the gap
    assert abs(iw.mean() - exact.mean()) < 0.02  # nats per example
    iw1 = iw_log_px(m, _lik(), X, n_samples=1).numpy()  # K = 1: an unbiased ELBO estimate
    assert abs(iw1.mean() - elbo.mean()) < 4 * iw1.std() / np.sqrt(len(iw1))


def test_iw_deterministic_given_seed_and_validates():
    X = _data(n=20)
    m, _ = _model(X, perturb=True)
    a = iw_log_px(m, _lik(), X, n_samples=10, seed=1)
    b = iw_log_px(m, _lik(), X, n_samples=10, seed=1)
    c = iw_log_px(m, _lik(), X, n_samples=10, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="n_samples"):
        iw_log_px(m, _lik(), X, n_samples=0)
    with pytest.raises(ValueError, match="x must have shape"):
        iw_log_px(m, _lik(), X[:, :3])


def test_evaluate_contract_and_determinism():
    torch.manual_seed(0)
    m = build_model("mlp_vae", D, None, 4, encoder_hidden=[16], decoder_hidden=[16])
    lik = build_likelihood("gaussian_learned", D, sigma2=0.7)
    X = _data(n=50).astype(np.float32)
    r = evaluate(m, lik, X, iw_samples=20, batch_size=16)
    assert CONTRACT_KEYS <= set(r)
    json.dumps(r)  # JSON-ready
    assert len(r["kl_per_latent"]) == 4 and len(r["collapse_curve"]) == 100
    assert r["collapse_eps"][0] == 0.0 and r["collapse_eps"][-1] == 2.0
    assert r["sigma2"] == pytest.approx(0.7) and isinstance(r["active_units"], int)
    assert r["elbo"] == pytest.approx(r["rec"] - r["kl"])
    assert r["log_px"] is not None and np.isfinite(r["log_px"])
    assert r == evaluate(m, lik, X, iw_samples=20, batch_size=16)  # same seed, same numbers
    assert evaluate(m, lik, X)["log_px"] is None
    assert m.training and lik.training  # modes restored
    assert all(p.grad is None for p in m.parameters())


def test_evaluate_analytic_linear_vae_is_batch_invariant_and_consistent():
    X = _data(n=120)
    m, exact = _model(X)
    m.objective = "analytic"
    a = evaluate(m, _lik(), X, batch_size=7, iw_samples=5)
    b = evaluate(m, _lik(), X, batch_size=1000)
    for key in ("elbo", "rec", "kl", "mse", "sigma2_optimal"):
        assert a[key] == pytest.approx(b[key], rel=1e-12)
    assert a["elbo"] == pytest.approx(exact.mean(), rel=1e-10)  # exact posterior: ELBO = log p(x)
    assert a["log_px"] == pytest.approx(exact.mean(), rel=1e-10)
    Xt = torch.as_tensor(X)
    with torch.no_grad():
        x_hat = m.decode(m.encode(Xt)[0])
        tr = (m.W**2 @ m.log_D.exp()).sum().item()  # tr(W D Wᵀ)
    mse = ((Xt - x_hat) ** 2).mean().item()
    assert a["mse"] == pytest.approx(mse, rel=1e-12)
    assert a["sigma2_optimal"] == pytest.approx(mse + tr / D, rel=1e-12)


def test_evaluate_optimal_sigma2_uses_training_value():
    X = _data(n=40)
    m, _ = _model(X)
    opt = build_likelihood("gaussian_optimal", D).double()
    m.loss_terms(torch.as_tensor(X[:10]), opt)  # a training call sets σ²
    s2 = opt.sigma2_value()
    r = evaluate(m, opt, X)
    assert r["sigma2"] == s2 and opt.sigma2_value() == s2


def test_evaluate_rejects_bad_input():
    X = _data(n=10)
    m, _ = _model(X)
    with pytest.raises(ValueError, match="x must have shape"):
        evaluate(m, _lik(), X[:, :2])
    with pytest.raises(ValueError, match="delta"):
        evaluate(m, _lik(), X, delta=2.0)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(m, _lik(), X, batch_size=0)
