"""implied_sigma2 and LossRecipe (a loss in code ⇔ −ELBO at σ², β) and the KL-weight schedule."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lucas2019.loss_recipes import LOSSES, PRESETS, REDUCTIONS, LossRecipe, implied_sigma2
from lucas2019.schedules import kl_weight

N, D, K = 16, 6, 3  # batch size, data dimensions, latents of the direct check
REDUCE = {"sum": torch.sum, "mean": torch.mean}


def test_implied_sigma2_values():
    assert implied_sigma2() == 0.5
    assert implied_sigma2(beta=4.0) == 2.0
    assert implied_sigma2(reduction="mean", data_dim=784) == 392.0
    assert implied_sigma2(reduction="mean", data_dim=784, beta=0.1) == pytest.approx(39.2)
    assert implied_sigma2(pixel_scale=255.0) == pytest.approx(0.5 / 255**2)
    assert implied_sigma2(recon_weight=0.5) == 1.0
    assert implied_sigma2(reduction="mean", data_dim=12288, beta=2.5e-4) == pytest.approx(1.536)
    mean_kl = {"kl_reduction": "mean", "latent_dim": 20}
    assert implied_sigma2(reduction="mean", data_dim=784, **mean_kl) == pytest.approx(19.6)
    assert implied_sigma2(kl_batch_reduction="sum", batch_size=128) == 64.0
    assert implied_sigma2(batch_reduction="sum", batch_size=128) == pytest.approx(0.5 / 128)


def draw_parameters(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """One parameter setting: the decoder output x̂ (N, D) in (0, 1) and q's mu, logvar (N, K)."""
    x_hat = 0.02 + 0.96 * torch.rand(N, D, generator=g, dtype=torch.float64)
    mu = torch.randn(N, K, generator=g, dtype=torch.float64)
    logvar = torch.randn(N, K, generator=g, dtype=torch.float64)
    return x_hat, mu, logvar


def loss_as_written(recipe: LossRecipe, x, x_hat, mu, logvar) -> float:
    """The loss as code writes it, with torch's losses and reductions (dim 1: dims or latents)."""
    s = recipe.pixel_scale
    if recipe.loss == "mse":
        per_dim = F.mse_loss(s * x_hat, s * x, reduction="none")
    else:
        per_dim = F.binary_cross_entropy(x_hat, x, reduction="none")
    recon = REDUCE[recipe.batch_reduction](REDUCE[recipe.reduction](per_dim, dim=1))
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp())
    kl = REDUCE[recipe.kl_batch_reduction](REDUCE[recipe.kl_reduction](kl, dim=1))
    return float(recipe.recon_weight * recon + recipe.beta * kl)


def negative_elbo(sigma2: float | None, beta: float, x, x_hat, mu, logvar) -> float:
    """−ELBO of the batch, summed over examples, in NumPy: −log p(x | x̂) + β·KL(q || N(0, I)).

    sigma2 None: Bernoulli decoder with means x̂; else Gaussian N(x̂, sigma2·I).
    """
    x, x_hat, mu, logvar = (t.numpy() for t in (x, x_hat, mu, logvar))
    if sigma2 is None:
        nll = -(x * np.log(x_hat) + (1 - x) * np.log1p(-x_hat)).sum()
    else:
        nll = ((x - x_hat) ** 2 / (2 * sigma2) + 0.5 * np.log(2 * np.pi * sigma2)).sum()
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum()
    return nll + beta * kl


def multiple_and_constant(recipe: LossRecipe, sigma2: float | None, beta: float, seed: int):
    """Fit loss = m·(−ELBO) + c on two parameter settings; return m, c, the misfit on a third,
    and the terms' size.

    The misfit is |loss − m·(−ELBO) − c| on the third setting, relative to the terms' size
    max(|loss|, |m·(−ELBO)|, |c|) there, the scale of float64 round-off.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(N, D, generator=g, dtype=torch.float64)
    pairs = []
    for _ in range(3):
        params = draw_parameters(g)
        pairs.append((loss_as_written(recipe, x, *params), negative_elbo(sigma2, beta, x, *params)))
    (loss1, elbo1), (loss2, elbo2), (loss3, elbo3) = pairs
    m = (loss1 - loss2) / (elbo1 - elbo2)
    c = loss1 - m * elbo1
    size = max(abs(loss3), abs(m * elbo3), abs(c))
    return m, c, abs(loss3 - m * elbo3 - c) / size, size


SETTINGS = [  # (recon_weight, beta, pixel_scale); BCE keeps pixel_scale 1
    (1.0, 1.0, 1.0),
    (0.5, 2.5e-4, 255.0),
    (3.0, 7.0, 2.0),
]


@pytest.mark.parametrize(("recon_weight", "beta", "pixel_scale"), SETTINGS)
@pytest.mark.parametrize(
    ("loss", "reduction", "batch_reduction", "kl_reduction", "kl_batch_reduction"),
    list(itertools.product(LOSSES, *[REDUCTIONS] * 4)),
)
def test_loss_as_written_is_a_positive_multiple_of_the_implied_negative_elbo(
    loss,
    reduction,
    batch_reduction,
    kl_reduction,
    kl_batch_reduction,
    recon_weight,
    beta,
    pixel_scale,
):
    """For every reduction combination: loss = m·(−ELBO at the implied σ², β) + c with m > 0, on
    a third parameter setting too; c is the Gaussian normaliser m·(n·d/2)·log 2πσ² (0 for BCE)."""
    recipe = LossRecipe(
        loss,
        reduction,
        batch_reduction,
        kl_reduction,
        kl_batch_reduction,
        beta,
        recon_weight,
        pixel_scale if loss == "mse" else 1.0,
    )
    implied = recipe.implied(data_dim=D, latent_dim=K, batch_size=N)
    m, c, misfit, size = multiple_and_constant(recipe, implied.sigma2, implied.beta, seed=0)
    assert m > 0
    assert misfit < 1e-10
    normaliser = (
        0.0 if implied.sigma2 is None else N * D / 2 * math.log(2 * math.pi * implied.sigma2)
    )
    assert c == pytest.approx(-m * normaliser, rel=0, abs=1e-10 * size)


@pytest.mark.parametrize("wrong", [("sigma2", 2.0), ("beta", 0.5)])
def test_the_direct_check_rejects_a_wrong_sigma2_or_beta(wrong):
    """The check above could fail: off by a factor 2 in σ² (MSE) or β (BCE), the fit misses."""
    key, factor = wrong
    recipe = LossRecipe("mse" if key == "sigma2" else "bce", reduction="mean", beta=0.3)
    implied = recipe.implied(data_dim=D)
    sigma2 = None if implied.sigma2 is None else implied.sigma2 * factor
    beta = implied.beta * (factor if key == "beta" else 1.0)
    assert multiple_and_constant(recipe, sigma2, beta, seed=1)[2] > 1e-3


def test_only_the_product_sigma2_beta_is_fixed_by_an_mse_loss():
    """Any (σ², β) with σ²·β equal to the implied σ² fits the loss as well (another multiple)."""
    recipe = LossRecipe(reduction="mean", kl_batch_reduction="sum", beta=0.1)
    sigma2 = recipe.implied(data_dim=D, batch_size=N).sigma2
    assert sigma2 == pytest.approx(0.1 * D * N / 2)
    m, _, misfit, _ = multiple_and_constant(recipe, 1.0, sigma2, seed=2)  # unit-variance decoder
    assert misfit < 1e-10 and m > 0


def test_bce_implies_a_kl_weight_and_no_sigma2():
    implied = LossRecipe("bce", reduction="mean", beta=2.0).implied(data_dim=784)
    assert (implied.likelihood, implied.sigma2) == ("bernoulli", None)
    assert implied.beta == pytest.approx(2.0 * 784)  # d·BCE_mean + 2d·KL: the summed BCE


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_presets_code_is_its_recipe(name):
    """The preset's PyTorch line, run as written, gives the loss its options describe."""
    preset = PRESETS[name]
    g = torch.Generator().manual_seed(3)
    x = torch.rand(N, D, generator=g, dtype=torch.float64)
    x_hat, mu, logvar = draw_parameters(g)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp())
    namespace = {"F": F, "torch": torch, "x": x, "x_hat": x_hat, "kl": kl}
    written = float(eval(preset.code, namespace))
    assert written == pytest.approx(loss_as_written(preset.recipe, x, x_hat, mu, logvar), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "bce"}, "loss"),
        ({"reduction": "none"}, "reduction"),
        ({"kl_batch_reduction": "max"}, "kl_batch_reduction"),
        ({"beta": 0.0}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"recon_weight": -0.5}, "recon_weight"),
        ({"reduction": "mean"}, "data_dim"),
        ({"reduction": "mean", "data_dim": 0}, "data_dim"),
        ({"kl_reduction": "mean"}, "latent_dim"),
        ({"batch_reduction": "sum"}, "batch_size"),
        ({"pixel_scale": -1.0}, "pixel_scale"),
    ],
)
def test_implied_sigma2_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        implied_sigma2(**kwargs)


def test_bce_rejects_scaled_data():
    with pytest.raises(ValueError, match="pixel_scale"):
        LossRecipe("bce", pixel_scale=255.0)


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
