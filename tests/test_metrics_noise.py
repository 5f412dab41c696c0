"""The reparameterised objective's noise at fixed parameters (metrics.objective_noise) against the
closed-form variance of a linear VAE's one-sample ELBO and an independent loop of plain torch
draws; the analytic objective has none."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from lucas2019 import data, trainer
from lucas2019.config import RunConfig
from lucas2019.likelihoods import build_likelihood
from lucas2019.metrics import objective_noise
from lucas2019.models import LinearVAE

D, K, N, SIGMA2 = 8, 3, 40, 0.5
DRAWS = 1000


def _linear_vae(objective: str) -> tuple[LinearVAE, torch.Tensor]:
    """A linear VAE with random W (8, 3), V (3, 8) and encoder variances, and a batch x (40, 8)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    model = LinearVAE(D, K, objective=objective).double()
    with torch.no_grad():
        model.W.copy_(torch.randn(D, K, generator=g))
        model.V.copy_(0.3 * torch.randn(K, D, generator=g))
        model.log_D.copy_(torch.randn(K, generator=g) - 1.0)
        model.set_data_mean(x.mean(0))
    return model, x


def _closed_form_elbo_std(model: LinearVAE, x: torch.Tensor, n_samples: int) -> float:
    """Std of the batch-mean ELBO over draws of z = m + √D ε. With r = x̃ − W m and A = W √D,
    ||r − A ε||² has variance 4 rᵀAAᵀr + 2 tr((AᵀA)²) for ε ~ N(0, I); the ELBO divides it by
    2σ², averages n_samples draws and N examples, and its KL has no noise."""
    W, V, var = model.W.detach(), model.V.detach(), model.log_D.detach().exp()
    xc = x - model.data_mean
    r = xc - (xc @ V.T) @ W.T
    A = W * var.sqrt()
    AtA = A.T @ A
    var_sq = 4.0 * torch.einsum("ni,ij,nj->n", r, A @ A.T, r) + 2.0 * torch.trace(AtA @ AtA)
    return float((var_sq.sum() / (n_samples * 4.0 * SIGMA2**2)).sqrt()) / N


def _plain_torch_gradient_spread(model: LinearVAE, x: torch.Tensor, seed: int):
    """(std of ||g||, sqrt Σ Var(g_p)) over DRAWS fresh draws, the ELBO written out by hand."""
    g = torch.Generator().manual_seed(seed)
    W, V, log_D = (p.detach().clone().requires_grad_() for p in (model.W, model.V, model.log_D))
    xc = x - model.data_mean
    grads = []
    for _ in range(DRAWS):
        mu = xc @ V.T
        z = mu + torch.exp(0.5 * log_D) * torch.randn(N, K, generator=g, dtype=torch.float64)
        rec = -0.5 * (((xc - z @ W.T) ** 2).sum(-1) / SIGMA2 + D * math.log(2 * math.pi * SIGMA2))
        kl = 0.5 * (log_D.exp() + mu**2 - 1.0 - log_D).sum(-1)
        parts = torch.autograd.grad((rec - kl).mean(), (W, V, log_D))
        grads.append(torch.cat([p.reshape(-1) for p in parts]))
    G = torch.stack(grads)
    return float(G.norm(dim=1).std()), float(G.var(dim=0).sum().sqrt())


@pytest.mark.parametrize("n_samples", [1, 4])
def test_elbo_std_matches_the_closed_form(n_samples):
    model, x = _linear_vae("stochastic")
    likelihood = build_likelihood("gaussian_fixed", data_dim=D, sigma2=SIGMA2)
    noise = objective_noise(model, likelihood, x, n_draws=DRAWS, n_samples=n_samples)
    # 10%: about three standard errors of a std from 1,000 draws of this heavy-tailed sum
    expected = _closed_form_elbo_std(model, x, n_samples)
    assert noise.elbo_std == pytest.approx(expected, rel=0.10)
    assert noise.n_draws == DRAWS


def test_gradient_spread_matches_an_independent_loop_of_plain_draws():
    model, x = _linear_vae("stochastic")
    likelihood = build_likelihood("gaussian_fixed", data_dim=D, sigma2=SIGMA2)
    noise = objective_noise(model, likelihood, x, n_draws=DRAWS, seed=1)
    norm_std, std_norm = _plain_torch_gradient_spread(model, x, seed=2)
    # both sides are estimates from 1,000 draws: the sum over 35 parameters is stable to ~1.5%,
    # the std of the norm to ~4% each
    assert noise.grad_std_norm == pytest.approx(std_norm, rel=0.06)
    assert noise.grad_norm_std == pytest.approx(norm_std, rel=0.12)
    assert noise.grad_norm_mean > 3 * noise.grad_norm_std


def test_analytic_objective_has_no_noise_and_nothing_is_left_changed():
    model, x = _linear_vae("analytic")
    likelihood = build_likelihood("gaussian_learned", data_dim=D, sigma2=SIGMA2)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    noise = objective_noise(model, likelihood, x, n_draws=5)
    assert (noise.elbo_std, noise.grad_norm_std, noise.grad_std_norm) == (0.0, 0.0, 0.0)
    assert noise.grad_norm_mean > 0.0 and np.isfinite(noise.elbo_mean)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_stochastic_draws_are_fresh_and_seeded():
    model, x = _linear_vae("stochastic")
    likelihood = build_likelihood("gaussian_fixed", data_dim=D, sigma2=SIGMA2)
    first = objective_noise(model, likelihood, x, n_draws=3, seed=5)
    assert first == objective_noise(model, likelihood, x, n_draws=3, seed=5)
    assert first.elbo_std > 0.0 and first != objective_noise(model, likelihood, x, n_draws=3)
    with pytest.raises(ValueError, match="n_draws must be an int >= 2"):
        objective_noise(model, likelihood, x, n_draws=1)


@pytest.mark.parametrize("objective", ["analytic", "stochastic"])
def test_a_run_reports_its_final_objective_noise_against_the_closed_form(
    compose_train, tmp_path, objective
):
    """trainer.noise_draws: result.json's objective_elbo_std is the closed-form std of the final
    model's stochastic ELBO (0 for the analytic objective), to the Monte-Carlo error of 400 draws
    (the std of a std estimate from n draws is about std / sqrt(2n), 3.5%: tolerance 15%)."""
    cfg = compose_train(
        [
            "dataset=synthetic",
            f"dataset.options.dim={D}",
            "dataset.n_train=40",
            "dataset.n_test=10",
            "model=linear_vae",
            f"model.latent_dim={K}",
            f"model.objective={objective}",
            f"likelihood.sigma2={SIGMA2}",
            "trainer.max_steps=50",
            "trainer.noise_draws=400",
            "trainer.iw_samples=0",
            "trainer.progress=false",
            f"run_dir={tmp_path}",
        ]
    )
    trainer.train(RunConfig.from_config(cfg))
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["objective_noise_draws"] == 400
    if objective == "analytic":
        assert result["objective_elbo_std"] == 0.0 and result["objective_grad_std"] == 0.0
        return
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    model = LinearVAE(D, K, objective=objective)
    model.load_state_dict(payload["model"])
    _, x_train, _ = data.load_for_run(OmegaConf.to_container(cfg.dataset, resolve=True))
    x = torch.as_tensor(x_train, dtype=model.W.dtype)
    assert result["objective_elbo_std"] == pytest.approx(
        _closed_form_elbo_std(model, x, n_samples=1), rel=0.15
    )
    assert result["objective_grad_std"] > 0.0
