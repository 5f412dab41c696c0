"""collapse_report: each measure against a computation written here, the He et al. (2019) MI
estimator re-implemented from its formula, planted and constant encoders, the trainer's own
evaluation, and the one-line errors for bad arrays."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.integrate import trapezoid
from scipy.special import logsumexp
from sklearn.metrics import mean_squared_error

from lucas2019.collapse import CollapseReport, collapse_report
from lucas2019.likelihoods import build_likelihood
from lucas2019.loss_recipes import LossRecipe, implied_sigma2
from lucas2019.metrics import DEFAULT_EPS_GRID, evaluate
from lucas2019.models import MLPVAE

LOG_2PI = math.log(2 * math.pi)


def planted(n: int = 400, k: int = 6, live: int = 3, d: int = 10, seed: int = 0):
    """x (n, d) with eigenvalues 9, 4, 1, 0.25, ... and an encoder whose first ``live`` latents
    read x (means of variance ≈ 1 to 4, variances e^-2) while the others are exactly the prior."""
    rng = np.random.default_rng(seed)
    scales = 3.0 * 0.5 ** np.arange(d)
    x = rng.standard_normal((n, d)) * scales
    mu, logvar = np.zeros((n, k)), np.zeros((n, k))
    mu[:, :live] = x[:, :live] / scales[:live] * np.linspace(1.0, 2.0, live)
    logvar[:, :live] = -2.0
    x_hat = x + 0.3 * rng.standard_normal((n, d))
    return mu, logvar, x, x_hat


def kl_reference(mu, logvar):
    """KL(N(mu, e^logvar) || N(0, 1)) per entry, written out."""
    return 0.5 * (np.exp(logvar) + mu**2 - 1.0 - logvar)


def collapsed_reference(kl, eps, delta):
    """Latents with KL < eps for at least (1 − delta)·n examples, one latent at a time."""
    n = kl.shape[0]
    return sum(int(np.sum(kl[:, j] < eps) >= (1 - delta) * n) for j in range(kl.shape[1]))


def he_calc_mi(mu, logvar, rng):
    """``calc_mi`` of He et al. (2019), from its formula, one z per example:
    E_x E_q[log q(z|x)] (the analytic negative entropy) − E_x E_q[log q_agg(z)], with q_agg the
    mixture of the n posteriors, from the (n, n, k) table of log-densities."""
    n, k = mu.shape
    neg_entropy = np.mean(-0.5 * k * LOG_2PI - 0.5 * (1.0 + logvar).sum(-1))
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
    dev = z[:, None, :] - mu[None, :, :]  # z_i against posterior j
    log_density = -0.5 * (dev**2 / np.exp(logvar)[None]).sum(-1) - 0.5 * (
        k * LOG_2PI + logvar.sum(-1)[None]
    )
    log_q_agg = logsumexp(log_density, axis=1) - math.log(n)
    return neg_entropy - log_q_agg.mean()


def test_each_measure_matches_its_definition_computed_here():
    mu, logvar, x, x_hat = planted()
    report = collapse_report(mu, logvar, x, x_hat, sigma2=0.5)
    kl = kl_reference(mu, logvar)
    np.testing.assert_allclose(report.kl_per_latent, kl.mean(0), rtol=1e-12)
    assert report.kl_total == pytest.approx(kl.sum(-1).mean(), rel=1e-12)
    assert report.active_units == int(np.sum(np.var(mu, axis=0, ddof=1) >= 0.01)) == 3
    assert report.collapsed == collapsed_reference(kl, 0.01, 0.01) == 3
    curve = [collapsed_reference(kl, e, 0.01) / 6 for e in DEFAULT_EPS_GRID]
    np.testing.assert_allclose(report.collapse_curve, curve, atol=1e-15)
    assert report.collapse_integrated == pytest.approx(
        trapezoid(curve, DEFAULT_EPS_GRID) / 2.0, rel=1e-12
    )
    assert report.sigma2_optimal == pytest.approx(mean_squared_error(x, x_hat), rel=1e-12)
    eigenvalues = np.linalg.eigvalsh(np.cov(x.T, bias=True))
    assert report.predicted_live == min(6, int(np.sum(eigenvalues > 0.5))) == 3
    assert report.mutual_information_ceiling == pytest.approx(math.log(400))


def test_mutual_information_agrees_with_he_et_al_calc_mi():
    """Both estimate the mean KL(q(z | x_i) || q_agg): 200 draws each, compared within four
    standard errors of the difference (about 0.01 nats here)."""
    mu, logvar, _, _ = planted(n=200)
    rng = np.random.default_rng(1)
    he = np.array([he_calc_mi(mu, logvar, rng) for _ in range(200)])
    ours = np.array([collapse_report(mu, logvar, seed=s).mutual_information for s in range(200)])
    assert 2.0 < he.mean() < math.log(200) - 1.0  # informative, far from the ceiling
    standard_error = math.sqrt(he.var(ddof=1) / he.size + ours.var(ddof=1) / ours.size)
    assert ours.mean() == pytest.approx(he.mean(), abs=4 * standard_error)
    # ours reuses the sampled log q(z_i | x_i): less noise than the analytic entropy's version
    assert ours.std() < he.std()


def test_mutual_information_is_the_sampled_aggregate_posterior_formula_draw_for_draw():
    mu, logvar, _, _ = planted(n=150)
    report = collapse_report(mu, logvar, mi_samples=3, seed=7)
    g = torch.Generator().manual_seed(7)  # the draws the report makes, in its order
    terms = []
    for _ in range(3):
        eps = torch.randn(mu.shape, generator=g, dtype=torch.float64).numpy()
        z = mu + np.exp(0.5 * logvar) * eps
        dev = z[:, None, :] - mu[None, :, :]
        log_q = -0.5 * ((dev**2 / np.exp(logvar)[None]).sum(-1) + logvar.sum(-1)[None])
        own = np.diagonal(log_q)
        terms.append(own - (logsumexp(log_q, axis=1) - math.log(len(mu))))
    assert report.mutual_information == pytest.approx(np.mean(terms), abs=1e-9)


def test_constant_encoders_carry_no_information_whatever_their_kl():
    n, k = 300, 4
    prior = collapse_report(np.zeros((n, k)), np.zeros((n, k)))
    assert abs(prior.mutual_information) < 1e-9
    assert (prior.active_units, prior.collapsed) == (0, k)
    assert prior.kl_total == 0.0
    # off the prior but the same for every x: not (ε, δ)-collapsed, yet no information
    mu, logvar = np.full((n, k), 0.3), np.full((n, k), math.log(0.8))
    shifted = collapse_report(mu, logvar, seed=3)
    assert abs(shifted.mutual_information) < 1e-9
    assert (shifted.active_units, shifted.collapsed) == (0, 0)
    expected_kl = 0.5 * (0.8 + 0.09 - 1.0 - math.log(0.8))
    assert shifted.kl_per_latent == pytest.approx([expected_kl] * k, rel=1e-12)


def test_a_loss_recipe_gives_the_sigma2_why_mse_gives():
    mu, logvar, x, x_hat = planted(d=10)
    report = collapse_report(mu, logvar, x, x_hat, loss_recipe="mean-mse")
    assert report.sigma2 == implied_sigma2(reduction="mean", data_dim=10) == 5.0
    assert report.predicted_live == 1  # only λ₁ ≈ 9 exceeds 5
    assert "mean_dims" in report.sigma2_source
    summed = collapse_report(mu, logvar, x, loss_recipe=LossRecipe(beta=4.0))
    assert summed.sigma2 == 2.0 and summed.predicted_live == 2
    assert summed.sigma2_optimal is None


def test_data_or_a_spectrum_replace_x_for_the_prediction():
    mu, logvar, x, _ = planted()
    rng = np.random.default_rng(5)
    wide = rng.standard_normal((1000, 10)) * 3.0  # every eigenvalue ≈ 9
    report = collapse_report(mu, logvar, x, sigma2=2.0, data=wide)
    assert report.predicted_live == 6 and report.data_dim == 10
    no_data = collapse_report(mu, logvar, sigma2=2.0)
    assert no_data.sigma2 == 2.0 and no_data.predicted_live is None
    assert "give the data" in str(no_data)


def test_torch_and_numpy_inputs_give_the_same_report():
    mu, logvar, x, x_hat = planted()
    as_numpy = collapse_report(mu, logvar, x, x_hat, sigma2=0.5)
    tensors = [torch.tensor(a, requires_grad=True) for a in (mu, logvar, x, x_hat)]
    assert collapse_report(*tensors, sigma2=0.5) == as_numpy
    single = [torch.tensor(a, dtype=torch.float32) for a in (mu, logvar)]
    as_float32 = collapse_report(*single)
    assert as_float32.active_units == 3
    assert as_float32.mutual_information == pytest.approx(as_numpy.mutual_information, abs=1e-4)


def test_the_report_of_a_models_outputs_is_what_the_trainer_evaluates():
    """One implementation: the trainer's evaluation and the report agree on the same encoder."""
    torch.manual_seed(0)
    model = MLPVAE(12, 5, encoder_hidden=(16,), decoder_hidden=(16,)).double()
    likelihood = build_likelihood("gaussian_fixed", data_dim=12, sigma2=0.1)
    x = torch.rand(80, 12, dtype=torch.float64)
    trainer_numbers = evaluate(model, likelihood, x)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    report = collapse_report(mu, logvar)
    assert report.active_units == trainer_numbers["active_units"]
    assert report.collapsed == round(5 * trainer_numbers["collapsed_fraction"])
    assert list(report.collapse_curve) == trainer_numbers["collapse_curve"]
    np.testing.assert_allclose(report.kl_per_latent, trainer_numbers["kl_per_latent"], rtol=1e-12)


def test_the_report_reads_and_serialises():
    mu, logvar, x, x_hat = planted()
    report = collapse_report(mu, logvar, x, x_hat, sigma2=0.5)
    text = str(report)
    assert "active units (Var_x μ_i ≥ 0.01): 3 of 6" in text
    assert "(ε, δ)-collapsed (ε = 0.01 nats, δ = 0.01): 3 of 6" in text
    assert "linear theory at this σ²: 3 of 6 latents live" in text
    assert f"{report.sigma2_optimal:.4g} data units²" in text
    row = json.loads(json.dumps(report.to_dict()))
    assert row["kl_per_latent"] == list(report.kl_per_latent) and row["predicted_live"] == 3
    assert CollapseReport(**{k: v for k, v in row.items() if k in report.__dataclass_fields__})
    assert not any(isinstance(v, list) for v in report.scalars().values())


BAD = {
    "one-dimensional mu": (dict(mu=np.zeros(5)), r"mu must be a non-empty 2-D array"),
    "shapes differ": (dict(logvar=np.zeros((5, 4))), r"same shape \(n, k\); got \(5, 3\)"),
    "boolean": (dict(mu=np.ones((5, 3), bool)), r"mu must hold real numbers; got dtype bool"),
    "complex": (dict(logvar=np.ones((5, 3), complex)), r"logvar must hold real numbers"),
    "strings": (dict(mu=np.full((5, 3), "a")), r"mu must hold real numbers; got dtype <U1"),
    "NaN": (
        dict(logvar=np.where(np.eye(5, 3, -2) > 0, np.nan, 0.0)),
        r"logvar has 3 NaN or infinite entries \(the first at row 2, column 0\)",
    ),
    "inf in x_hat": (
        dict(x=np.zeros((5, 2)), x_hat=np.array([[0, np.inf]] + [[0, 0]] * 4)),
        r"x_hat has 1 NaN or infinite",
    ),
    "one example": (dict(mu=np.zeros((1, 3)), logvar=np.zeros((1, 3))), r"at least 2 examples"),
    "x rows": (dict(x=np.zeros((4, 2))), r"x must have one row per row of mu \(5\)"),
    "x_hat alone": (dict(x_hat=np.zeros((5, 2))), r"x_hat needs x"),
    "x_hat shape": (dict(x=np.zeros((5, 2)), x_hat=np.zeros((5, 3))), r"shape of x \(5, 2\)"),
    "negative sigma2": (dict(sigma2=-1.0), r"sigma2 must be a finite float > 0"),
    "NaN sigma2": (dict(sigma2=float("nan")), r"sigma2 must be a finite float > 0"),
    "text sigma2": (dict(sigma2="0.5"), r"sigma2 must be a finite float > 0"),
    "both": (dict(sigma2=1.0, loss_recipe="sum-mse"), r"give sigma2 or loss_recipe, not both"),
    "unknown preset": (dict(loss_recipe="l2"), r"a preset name \(mean-mse, "),
    "bce": (dict(loss_recipe=LossRecipe(loss="bce")), r"Bernoulli decoder: it has no σ²"),
    "recipe without d": (dict(loss_recipe="mean-mse"), r"needs data_dim .* Pass x or data="),
    "data dimension": (
        dict(x=np.zeros((5, 2)), data=np.ones((9, 3)), sigma2=1.0),
        r"data have d = 3 dimensions but x has 2",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gets_one_line_naming_it(case):
    changes, message = BAD[case]
    arrays = dict(mu=np.random.default_rng(0).standard_normal((5, 3)), logvar=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=message) as error:
        collapse_report(**{**arrays, **changes})
    assert "\n" not in str(error.value)
