"""Mutual information I(x; z): the aggregate-posterior estimator against the linear closed form,
a direct torch.distributions computation, a constant encoder and random models; held-out collapse
and MI in a real run's files."""

from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

import linear_vae
from lucas2019 import metrics
from lucas2019.likelihoods import build_likelihood
from lucas2019.metrics import evaluate, mutual_information
from lucas2019.models import MLPVAE, LinearDecoderVAE, LinearVAE
from lucas2019.run_schema import MI_CEILING_MARGIN_NATS

EIGS = np.array([4.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05])
D_ENC = np.array([0.5, 0.3, 1.0])  # encoder variances


def _gaussian_setup(n: int, seed: int = 0):
    """x ~ N(0, S) (n, 8) with S's eigenvalues EIGS, a linear VAE with a random V (3, 8) and
    encoder variances D_ENC, and the spectrum of S itself (not of the sample)."""
    rng = np.random.default_rng(seed)
    d, k = EIGS.size, D_ENC.size
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    x = rng.standard_normal((n, d)) * np.sqrt(EIGS) @ Q.T
    V = 0.5 * rng.standard_normal((k, d))
    model = LinearVAE(d, k).double()
    with torch.no_grad():
        model.V.copy_(torch.as_tensor(V))
        model.log_D.copy_(torch.log(torch.as_tensor(D_ENC)))
    spectrum = linear_vae.Spectrum.from_covariance((Q * EIGS) @ Q.T, np.zeros(d), n)
    return torch.as_tensor(x), model, V, spectrum


def test_closed_form_is_the_log_determinant_difference():
    _, _, V, spectrum = _gaussian_setup(10)
    S = spectrum.covariance()
    _, logdet = np.linalg.slogdet(V @ S @ V.T + np.diag(D_ENC))
    expected = 0.5 * (logdet - np.log(D_ENC).sum())
    assert linear_vae.mutual_information(V, D_ENC, spectrum) == pytest.approx(expected, rel=1e-12)
    # an encoder that ignores x carries no information; a near-deterministic one a lot
    assert linear_vae.mutual_information(np.zeros_like(V), D_ENC, spectrum) == 0.0
    assert linear_vae.mutual_information(V, 1e-8 * D_ENC, spectrum) > 20.0


def test_closed_form_rejects_log_variances_and_wrong_shapes():
    _, _, V, spectrum = _gaussian_setup(10)
    with pytest.raises(ValueError, match="not log-variances"):
        linear_vae.mutual_information(V, np.log(D_ENC), spectrum)
    with pytest.raises(ValueError, match=r"V must have shape \(any, 8\)"):
        linear_vae.mutual_information(V.T, D_ENC, spectrum)
    with pytest.raises(ValueError, match=r"D must have shape \(3\)"):
        linear_vae.mutual_information(V, D_ENC[:2], spectrum)


def test_estimator_matches_the_closed_form_for_a_linear_encoder_on_gaussian_data():
    n = 2000
    x, model, V, spectrum = _gaussian_setup(n)
    true = linear_vae.mutual_information(V, D_ENC, spectrum)
    assert 1.0 < true < math.log(n) - 4.0  # about 1.8 nats: far from the ceiling of 7.6
    mi = mutual_information(model, x, n_samples=10, seed=0)
    # 0.1 nats: twice the largest error over ten data seeds (the sample covariance of 2,000
    # points differs from S; the estimator's own noise is about 0.01 nats with 10 draws)
    assert mi.nats == pytest.approx(true, abs=0.1)
    assert mi.ceiling == pytest.approx(math.log(n)) and not mi.near_ceiling
    assert (mi.n, mi.n_samples) == (n, 10)


def test_estimator_is_the_aggregate_posterior_formula_computed_directly(monkeypatch):
    """The same draws through torch.distributions' (n, n, k) log-densities; tiny row chunks."""
    torch.manual_seed(0)
    model = LinearDecoderVAE(5, 3, encoder="mlp", encoder_hidden=(16,)).double()
    with torch.no_grad():  # per-example variances, and means spread enough for MI ≈ 1 nat
        model.logvar_head.weight.normal_(std=0.5)
        model.mu_head.weight.mul_(10.0)
    x = torch.rand(60, 5, dtype=torch.float64)
    monkeypatch.setattr(metrics, "_MI_CHUNK_ENTRIES", 7 * 60)  # 7 rows per chunk
    mi = mutual_information(model, x, n_samples=2, seed=3)

    with torch.no_grad():
        mu, logvar = model.encode(x)
    g = torch.Generator().manual_seed(3)
    terms = []
    for _ in range(2):
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g, dtype=mu.dtype)
        log_q = Normal(mu[None], torch.exp(0.5 * logvar[None])).log_prob(z[:, None]).sum(-1)
        own = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
        terms.append(own - (torch.logsumexp(log_q, dim=1) - math.log(len(x))))
    expected = float(torch.cat(terms).mean())
    assert 0.5 < expected < math.log(len(x)) - MI_CEILING_MARGIN_NATS
    assert mi.nats == pytest.approx(expected, abs=1e-9)


def test_constant_encoder_has_zero_mutual_information():
    x = torch.rand(500, 8, dtype=torch.float64)
    model = LinearVAE(8, 4, init_std=0.0).double()  # V = 0: q(z | x) = N(0, D) for every x
    with torch.no_grad():
        model.log_D.copy_(torch.tensor([-3.0, -1.0, 0.0, 2.0]))
    for seed in range(3):
        assert abs(mutual_information(model, x, seed=seed).nats) < 1e-9  # round-off only


def test_nearly_deterministic_encoder_saturates_at_log_n():
    x = torch.rand(200, 8, dtype=torch.float64)
    model = LinearVAE(8, 4, init_std=1.0).double()
    with torch.no_grad():
        model.log_D.fill_(-20.0)  # posteriors far narrower than the spacing of their means
    mi = mutual_information(model, x, n_samples=3)
    assert mi.nats <= mi.ceiling  # exactly: each example's term is at most log n
    assert mi.nats > mi.ceiling - 1e-6 and mi.near_ceiling


def _random_models(seed: int) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return {
        "mlp_vae": MLPVAE(16, 6, encoder_hidden=(32,), decoder_hidden=(32,)),
        "linear_vae": LinearVAE(16, 6, objective="stochastic", init_std=0.1),
        "linear_vae_wide_init": LinearVAE(16, 6, objective="stochastic", init_std=1.0),
        "mlp_encoder": LinearDecoderVAE(16, 6, encoder="mlp", encoder_hidden=(32,)),
    }


@pytest.mark.parametrize("seed", range(3))
def test_mutual_information_of_random_models_lies_between_zero_and_log_n(seed):
    """At initialisation I(x; z) is about 0.01-0.05 nats; one draw per example has a noise of
    about 0.01 nats at n = 300, so 25 draws keep the estimate's noise well below its value."""
    x = torch.rand(300, 16, generator=torch.Generator().manual_seed(seed))
    for name, model in _random_models(seed).items():
        mi = mutual_information(model, x, n_samples=25, seed=seed)
        assert 0.0 <= mi.nats <= math.log(300), (name, mi)


def test_evaluate_reports_mutual_information_and_its_ceiling_without_changing_the_rest(
    monkeypatch,
):
    torch.manual_seed(0)
    model = MLPVAE(16, 6, encoder_hidden=(32,), decoder_hidden=(32,))
    likelihood = build_likelihood("gaussian_fixed", data_dim=16, sigma2=0.1)
    x = torch.rand(120, 16)
    out = evaluate(model, likelihood, x, iw_samples=5, seed=4)
    assert out["mutual_information_ceiling"] == pytest.approx(math.log(120))
    assert -0.05 < out["mutual_information"] < math.log(120)
    # the MI draws come after every other draw: without them the other numbers are the same
    monkeypatch.setattr(
        metrics, "_mutual_information", lambda *a: metrics.MutualInformation(0.0, 0.0, 1, 1)
    )
    without = evaluate(model, likelihood, x, iw_samples=5, seed=4)
    same = [k for k in out if not k.startswith("mutual_information")]
    assert {k: out[k] for k in same} == {k: without[k] for k in same}


def test_a_real_run_reports_mutual_information_and_held_out_collapse(linear_sweep):
    """Fixed σ² = 3, 0.8, 0.4, 0.2 keep 0, 1, 2, 3 live latents: I(x; z) grows with them."""
    results = []
    for i in range(len(linear_sweep.sigma2)):
        folder = linear_sweep.root / "fixed" / str(i)
        result = json.loads((folder / "result.json").read_text())
        with (folder / "metrics.csv").open() as f:
            last_row = list(csv.DictReader(f))[-1]
        # the final train evaluation repeats the last row's draws: the same MI
        assert float(last_row["mutual_information"]) == pytest.approx(
            result["mutual_information"], rel=1e-12
        )
        assert result["mutual_information_ceiling"] == pytest.approx(math.log(result["n_train"]))
        assert result["mutual_information_test_ceiling"] == pytest.approx(
            math.log(result["n_test"])
        )
        for split in ("", "_test"):
            mi, ceiling = (
                result[f"mutual_information{split}"],
                result[f"mutual_information{split}_ceiling"],
            )
            assert -0.05 < mi < ceiling - MI_CEILING_MARGIN_NATS, (folder, split)
            assert 0 <= result[f"active_units{split}"] <= result["latent_dim"]
            assert 0.0 <= result[f"collapsed_fraction{split}"] <= 1.0
        results.append(result)
    mi = [r["mutual_information"] for r in results]
    assert mi[0] < 0.05 and all(a + 0.1 < b for a, b in itertools.pairwise(mi)), mi
    assert [r["active_units_test"] for r in results] == [r["active_units"] for r in results]
