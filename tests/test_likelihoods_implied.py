"""implied_sigma2 (MSE + β·KL ⇔ Gaussian σ²) and the KL-weight schedule."""

import numpy as np
import pytest
import torch

from lucas2019.likelihoods import build_likelihood, implied_sigma2
from lucas2019.schedules import kl_weight


def test_implied_sigma2_values():
    assert implied_sigma2() == 0.5
    assert implied_sigma2(beta=4.0) == 2.0
    assert implied_sigma2(reduction="mean", data_dim=784) == 392.0
    assert implied_sigma2(reduction="mean", data_dim=784, beta=0.1) == pytest.approx(39.2)
    assert implied_sigma2(pixel_scale=255.0) == pytest.approx(0.5 / 255**2)


@pytest.mark.parametrize(
    ("reduction", "beta", "scale"), [("sum", 1.0, 1.0), ("sum", 3.0, 1.0), ("mean", 0.2, 255.0)]
)
def test_implied_sigma2_loss_is_a_scaled_negative_elbo(reduction, beta, scale):
    """loss(x) - c·(-ELBO_σ²(x)) is the same constant for every input, with c > 0."""
    d = 6
    s2 = implied_sigma2(reduction=reduction, beta=beta, data_dim=d, pixel_scale=scale)
    lik = build_likelihood("gaussian_fixed", d, sigma2=s2).double()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(50, d, generator=g, dtype=torch.float64)
    x_hat = torch.rand(50, d, generator=g, dtype=torch.float64)
    kl = 5 * torch.rand(50, generator=g, dtype=torch.float64)
    sq = ((scale * x - scale * x_hat) ** 2).sum(-1)
    loss = (sq if reduction == "sum" else sq / d) + beta * kl
    neg_elbo = -lik.log_prob(x, x_hat) + kl
    # loss = c * neg_elbo + const: fit c on two points, check the rest
    c = (loss[1] - loss[0]) / (neg_elbo[1] - neg_elbo[0])
    assert c > 0
    resid = loss - c * neg_elbo
    np.testing.assert_allclose(resid.numpy(), resid[0].item(), rtol=0, atol=1e-8 * abs(c.item()))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "bce"}, "loss"),
        ({"reduction": "none"}, "reduction"),
        ({"beta": 0.0}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"reduction": "mean"}, "data_dim"),
        ({"reduction": "mean", "data_dim": 0}, "data_dim"),
        ({"pixel_scale": -1.0}, "pixel_scale"),
    ],
)
def test_implied_sigma2_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        implied_sigma2(**kwargs)


def test_kl_weight_schedule():
    assert kl_weight(0) == 1.0
    assert kl_weight(10**6, beta=0.5) == 0.5
    assert kl_weight(0, beta=1.0, anneal_steps=100) == 0.0
    assert kl_weight(25, beta=1.0, anneal_steps=100) == pytest.approx(0.25)
    assert kl_weight(50, beta=2.0, anneal_steps=100, beta0=1.0) == pytest.approx(1.5)
    assert kl_weight(100, beta=1.0, anneal_steps=100) == 1.0
    assert kl_weight(5000, beta=1.0, anneal_steps=100) == 1.0
    w = [kl_weight(s, anneal_steps=10) for s in range(20)]
    assert np.all(np.diff(w) >= 0)


@pytest.mark.parametrize(
    "kwargs", [{"step": -1}, {"step": 1.5}, {"anneal_steps": -3}, {"beta": -1.0}, {"beta0": np.nan}]
)
def test_kl_weight_rejects_bad_input(kwargs):
    kwargs = {"step": 0, **kwargs}
    with pytest.raises(ValueError):
        kl_weight(**kwargs)
