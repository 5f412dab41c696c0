"""Likelihoods: Gaussian (fixed / learned / optimal σ²) and Bernoulli vs torch.distributions."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from lucas2019.likelihoods import LIKELIHOODS, build_likelihood


def _data(n=16, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    x_mean = x + 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x, x_mean


@pytest.mark.parametrize("sigma2", [1e-3, 0.5, 1.0, 30.0])
def test_fixed_gaussian_matches_torch_normal(sigma2):
    x, x_mean = _data()
    lik = build_likelihood("gaussian_fixed", 5, sigma2=sigma2).double()
    expected = Normal(x_mean, math.sqrt(sigma2)).log_prob(x).sum(-1)
    torch.testing.assert_close(lik.log_prob(x, x_mean), expected, rtol=1e-12, atol=1e-10)
    assert lik.sigma2_value() == sigma2
    assert lik.is_gaussian


def test_per_dim_learned_gaussian_matches_torch_normal():
    x, x_mean = _data()
    lik = build_likelihood("gaussian_learned", 5, sigma2=0.7, per_dim=True).double()
    with torch.no_grad():
        lik.theta.copy_(torch.linspace(-2.0, 1.5, 5))
    s2 = lik.sigma2()
    assert s2.shape == (5,)
    expected = Normal(x_mean, s2.sqrt()).log_prob(x).sum(-1)
    torch.testing.assert_close(lik.log_prob(x, x_mean), expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("sigma2", [1e-4, 1e-3, 0.1, 1.0, 3.0, 1e4])
@pytest.mark.parametrize("per_dim", [False, True])
def test_learned_sigma2_starts_exactly_at_initial_value(sigma2, per_dim):
    lik = build_likelihood("gaussian_learned", 3, sigma2=sigma2, per_dim=per_dim, min_sigma2=1e-6)
    assert torch.all(lik.sigma2() == sigma2)  # exactly
    assert lik.sigma2_value() == pytest.approx(sigma2, rel=1e-15)  # a mean over dims


def test_learned_sigma2_has_soft_lower_bound_and_gradient():
    lik = build_likelihood("gaussian_learned", 3, sigma2=1.0, min_sigma2=1e-3).double()
    with torch.no_grad():
        lik.theta.fill_(-20.0)
    assert 1e-3 < lik.sigma2().item() < 1e-3 * (1 + 1e-5)
    with torch.no_grad():
        lik.theta.fill_(-1e4)
    assert lik.sigma2().item() == 1e-3  # the bound, never below it
    with torch.no_grad():
        lik.theta.fill_(0.0)
    x, x_mean = _data(d=3)
    lik.log_prob(x, x_mean).sum().backward()
    assert lik.theta.grad is not None and lik.theta.grad.abs().item() > 0


def test_optimal_sigma2_is_the_mse_and_a_stationary_point():
    """σ² = batch MSE; d/d log σ² of the summed log-likelihood is zero there (σ-VAE closed form)."""
    x, x_mean = _data(n=40, d=6)
    opt = build_likelihood("gaussian_optimal", 6).double()
    ll_opt = opt.log_prob(x, x_mean)
    mse = ((x - x_mean) ** 2).mean()
    assert opt.sigma2_value() == pytest.approx(mse.item(), rel=1e-12)
    log_s2 = torch.tensor(math.log(mse.item()), dtype=torch.float64, requires_grad=True)
    fixed = Normal(x_mean, torch.exp(0.5 * log_s2)).log_prob(x).sum()
    (grad,) = torch.autograd.grad(fixed, log_s2)
    assert abs(grad.item()) < 1e-9
    torch.testing.assert_close(ll_opt.sum(), fixed.detach(), rtol=1e-12, atol=1e-9)
    # any other σ² is worse
    for s2 in (0.5 * mse.item(), 2.0 * mse.item()):
        other = build_likelihood("gaussian_fixed", 6, sigma2=s2).double()
        assert other.log_prob(x, x_mean).sum() < ll_opt.sum()


def test_optimal_per_dim_and_eval_mode_uses_stored_value():
    x, x_mean = _data(n=40, d=6)
    opt = build_likelihood("gaussian_optimal", 6, per_dim=True, sigma2=2.0).double()
    opt.eval()  # before any training call: the sigma2 argument
    torch.testing.assert_close(opt.sigma2(), torch.full((6,), 2.0, dtype=torch.float64))
    opt.train()
    opt.log_prob(x, x_mean)
    per_dim = ((x - x_mean) ** 2).mean(0)
    torch.testing.assert_close(opt.sigma2(), per_dim, rtol=1e-12, atol=0)
    opt.eval()
    ll = opt.log_prob(x[:3] * 10, x_mean[:3])  # other data: σ² does not move in eval mode
    torch.testing.assert_close(opt.sigma2(), per_dim, rtol=1e-12, atol=0)
    expected = Normal(x_mean[:3], opt.sigma2().sqrt()).log_prob(x[:3] * 10).sum(-1)
    torch.testing.assert_close(ll, expected)


def test_optimal_sigma2_clamped_at_min():
    x, _ = _data()
    opt = build_likelihood("gaussian_optimal", 5, min_sigma2=1e-4)
    ll = opt.log_prob(x.float(), x.float())
    assert torch.isfinite(ll).all()
    assert opt.sigma2_value() == pytest.approx(1e-4)


def test_bernoulli_matches_torch():
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(10, 7, generator=g) > 0.5).double()
    logits = 3 * torch.randn(10, 7, generator=g, dtype=torch.float64)
    lik = build_likelihood("bernoulli", 7)
    expected = Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(lik.log_prob(x, logits), expected)
    torch.testing.assert_close(lik.mean(logits), torch.sigmoid(logits))
    assert lik.sigma2_value() is None and not lik.is_gaussian
    with pytest.raises(TypeError):
        lik.expected_log_prob_from_sq_err(x)


def test_expected_log_prob_checks_shape():
    lik = build_likelihood("gaussian_fixed", 5)
    with pytest.raises(ValueError, match="sq_err"):
        lik.expected_log_prob_from_sq_err(torch.ones(3, 4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "gaussian"}, "likelihood name"),
        ({"name": "gaussian_fixed", "data_dim": 0}, "data_dim"),
        ({"name": "gaussian_fixed", "sigma2": 0.0}, "sigma2"),
        ({"name": "gaussian_fixed", "sigma2": float("nan")}, "sigma2"),
        ({"name": "gaussian_learned", "sigma2": 1e-7}, "min_sigma2"),
        ({"name": "gaussian_optimal", "min_sigma2": -1.0}, "min_sigma2"),
    ],
)
def test_build_likelihood_rejects_bad_input(kwargs, match):
    kwargs = {"data_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_likelihood(**kwargs)


def test_all_names_build():
    for name in LIKELIHOODS:
        assert build_likelihood(name, 3) is not None
