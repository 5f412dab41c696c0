"""build_model, the MLP / conv / linear-decoder architectures, and resolve_device."""

import pytest
import torch
from torch import nn

from lucas2019.likelihoods import build_likelihood
from lucas2019.models import MLPVAE, ConvVAE, build_model, resolve_device


def _linears(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_mlp_vae_has_the_paper_architecture():
    m = build_model("mlp_vae", 784, (1, 28, 28), 200)
    assert isinstance(m, MLPVAE) and m.latent_dim == 200
    assert _linears(m.encoder) == [(784, 1024), (1024, 512)]
    assert _linears(m.mu_head) == [(512, 200)] and _linears(m.logvar_head) == [(512, 200)]
    assert _linears(m.decoder) == [(200, 512), (512, 1024), (1024, 784)]
    assert isinstance(list(m.decoder)[-1], nn.Linear)  # linear output
    assert sum(isinstance(x, nn.ReLU) for x in m.modules()) == 4


def test_mlp_widths_configurable():
    m = build_model("mlp_vae", 10, None, 3, encoder_hidden=[7], decoder_hidden=[5, 6, 4])
    assert _linears(m.encoder) == [(10, 7)]
    assert _linears(m.decoder) == [(3, 5), (5, 6), (6, 4), (4, 10)]


@pytest.mark.parametrize(
    ("encoder", "expected"),
    [
        ("linear", []),
        ("deep_linear", [(784, 512)]),
        ("mlp", [(784, 1024), (1024, 512)]),
    ],
)
def test_linear_decoder_encoders(encoder, expected):
    m = build_model("linear_decoder", 784, (1, 28, 28), 20, encoder=encoder)
    assert _linears(m.trunk) == expected
    assert any(isinstance(x, nn.ReLU) for x in m.trunk) == (encoder == "mlp")
    assert m.W.shape == (784, 20)
    mu, logvar = m.encode(torch.rand(3, 784))
    assert mu.shape == logvar.shape == (3, 20)
    assert torch.all(logvar == 0)  # q starts at unit variance, like log D = 0


@pytest.mark.parametrize("shape", [(3, 64, 64), (1, 32, 48)])
def test_conv_vae_shapes_and_gradients(shape):
    d = shape[0] * shape[1] * shape[2]
    m = build_model("conv_vae", d, shape, 16)
    assert isinstance(m, ConvVAE)
    x = torch.rand(2, d)
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (2, 16)
    assert m.decode(mu).shape == (2, d)
    t = m.loss_terms(x, build_likelihood("gaussian_fixed", d))
    (t["rec"] - t["kl"]).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_conv_vae_rejects_bad_image_sizes():
    with pytest.raises(ValueError, match="divisible by 16"):
        ConvVAE((3, 60, 60), 8)
    with pytest.raises(ValueError, match="image_shape"):
        build_model("conv_vae", 64, None, 8)
    with pytest.raises(ValueError, match="image_shape"):
        build_model("conv_vae", 64, (64,), 8)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("resnet", 4, None, 2), {}, "model name"),
        (("mlp_vae", 0, None, 2), {}, "data_dim"),
        (("mlp_vae", 4, None, 0), {}, "latent_dim"),
        (("mlp_vae", 4, (1, 2, 3), 2), {}, "image_shape"),
        (("mlp_vae", 4, None, 2), {"objective": "analytic"}, "does not take"),
        (("linear_vae", 4, None, 2), {"objective": "exact"}, "objective"),
        (("linear_decoder", 4, None, 2), {"encoder": "conv"}, "encoder"),
        (("linear_decoder", 4, None, 2), {"encoder": "linear", "encoder_hidden": [3]}, "hidden"),
    ],
)
def test_build_model_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(*args, **kwargs)


def test_build_model_rejects_options_of_other_models_even_when_null():
    with pytest.raises(ValueError, match=r"does not take option\(s\) \['encoder', 'objective'\]"):
        build_model("mlp_vae", 4, (4,), 2, encoder=None, objective=None, encoder_hidden=[3])


def test_stochastic_loss_terms_deterministic_given_generator():
    m = build_model("mlp_vae", 6, None, 3, encoder_hidden=[8], decoder_hidden=[8])
    lik = build_likelihood("gaussian_fixed", 6)
    x = torch.rand(5, 6)
    a = m.loss_terms(x, lik, n_samples=4, generator=torch.Generator().manual_seed(3))
    b = m.loss_terms(x, lik, n_samples=4, generator=torch.Generator().manual_seed(3))
    c = m.loss_terms(x, lik, n_samples=4, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a["rec"], b["rec"])
    assert not torch.allclose(a["rec"], c["rec"])
    assert a["rec"].shape == a["kl"].shape == a["expected_sse"].shape == (5,)
    with pytest.raises(ValueError, match="n_samples"):
        m.loss_terms(x, lik, n_samples=0)


def test_kl_term_is_the_gaussian_kl_to_the_prior():
    m = build_model("mlp_vae", 6, None, 3, encoder_hidden=[8], decoder_hidden=[8])
    x = torch.rand(5, 6)
    mu, logvar = m.encode(x)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(m.loss_terms(x, build_likelihood("bernoulli", 6))["kl"], expected)


def test_set_data_mean_is_a_noop_for_mlp():
    m = build_model("mlp_vae", 4, None, 2)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.set_data_mean(torch.ones(4))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
