"""sweep and collapse_diagnostics against slow per-row references and the closed forms."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from linear_vae import (
    Spectrum,
    collapse_diagnostics,
    mean_elbo,
    optimal_encoder,
    ppca_mle,
    sweep,
)


def _spectrum(lam, seed=0):
    lam = np.asarray(lam, float)
    U = ortho_group.rvs(lam.size, random_state=seed)
    return Spectrum.from_covariance((U * lam) @ U.T, np.zeros(lam.size), 1000)


def _slow(spec, s2, k):
    """One row the slow way: ppca_mle, optimal encoder, ELBO from traces."""
    fit = ppca_mle(spec, k, s2)
    V, D = optimal_encoder(fit.W, fit.sigma2)
    enc_var = collapse_diagnostics(spec, k, fit.sigma2)["encoder_mean_variance"]
    return fit, mean_elbo(spec, fit.W, V, D, fit.sigma2), int((enc_var >= 0.01).sum())


def _check_against_slow(spec, sigma2s, ks):
    df = pd.DataFrame(sweep(spec, sigma2s, ks))
    assert len(df) == len(sigma2s) * len(ks)
    d = spec.dim
    for row in df.itertuples(index=False):
        learned = row.sigma2_learned
        if learned and (row.n_latent == d or spec.eigenvalues[row.n_latent :].sum() == 0):
            assert row.sigma2 == 0.0 and np.isnan(row.log_likelihood) and np.isnan(row.elbo)
            continue
        fit, el, n_active = _slow(spec, None if learned else row.sigma2, row.n_latent)
        assert row.sigma2 == pytest.approx(fit.sigma2, rel=1e-12)
        assert row.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-10, abs=1e-10)
        assert row.elbo == pytest.approx(el, rel=1e-9, abs=1e-9)
        assert row.n_collapsed == fit.n_collapsed
        assert row.n_live == row.n_latent - fit.n_collapsed
        assert row.n_active == n_active
    return df


def test_sweep_equals_slow_loop():
    spec = _spectrum([6.0, 4.0, 2.5, 1.0, 0.6, 0.2, 0.05, 0.0])
    df = _check_against_slow(spec, [0.01, 0.5, "learned", 1.0, 3.0, 10.0, None], list(range(9)))
    np.testing.assert_allclose(df.elbo, df.log_likelihood, rtol=1e-10)


def test_sweep_columns_and_order():
    spec = _spectrum([3.0, 2.0, 1.0])
    table = sweep(spec, [0.5, "learned"], [1, 2])
    assert list(table) == [
        "sigma2",
        "sigma2_learned",
        "n_latent",
        "log_likelihood",
        "elbo",
        "rec",
        "kl",
        "n_collapsed",
        "n_live",
        "n_active",
    ]
    # Plain columns, no pandas: one 1-D array per column, one entry per (sigma2, k).
    assert all(isinstance(v, np.ndarray) and v.shape == (4,) for v in table.values())
    assert table["n_latent"].tolist() == [1, 2, 1, 2]
    assert table["sigma2_learned"].tolist() == [False, False, True, True]
    assert table["sigma2"].tolist()[2:] == pytest.approx([1.5, 1.0])


def test_collapse_rule_in_sweep_crossing_each_eigenvalue():
    spec = _spectrum([5.0, 3.0, 2.0, 1.0, 0.5])
    lam = spec.eigenvalues
    grid = np.sort(np.concatenate([lam * (1 - 1e-9), lam, lam * (1 + 1e-9)]))
    table = sweep(spec, grid, [4])
    expected = [int((lam[:4] <= s).sum()) for s in grid]
    assert table["n_collapsed"].tolist() == expected


@settings(max_examples=40, deadline=None)
@given(
    lam=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=7).map(
        lambda v: sorted(v, reverse=True)
    ),
    s2=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=3),
    seed=st.integers(0, 100),
)
def test_sweep_property_random_spectra(lam, s2, seed):
    spec = _spectrum(lam, seed=seed)
    _check_against_slow(spec, [*s2, None], list(range(len(lam) + 1)))


def test_collapse_diagnostics_closed_forms():
    lam = np.array([4.0, 2.0, 1.0, 0.7, 0.3])
    spec = _spectrum(lam)
    table = collapse_diagnostics(spec, 4, 0.8)
    assert list(table) == [
        "latent",
        "eigenvalue",
        "posterior_variance",
        "encoder_mean_variance",
        "expected_kl",
        "collapsed",
        "active",
    ]
    assert all(isinstance(v, np.ndarray) and v.shape == (4,) for v in table.values())
    df = pd.DataFrame(table)
    live = lam[:4] > 0.8
    np.testing.assert_allclose(
        df.posterior_variance, np.where(live, 0.8 / lam[:4], 1.0), rtol=1e-12
    )
    np.testing.assert_allclose(
        df.encoder_mean_variance,
        np.where(live, (lam[:4] - 0.8) / lam[:4], 0.0),
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        df.expected_kl, np.where(live, 0.5 * np.log(lam[:4] / 0.8), 0.0), rtol=1e-12, atol=1e-15
    )
    assert df.collapsed.tolist() == [False, False, False, True]
    assert df.active.tolist() == [True, True, True, False]
    # learned sigma2 = mean of the discarded eigenvalues; kl sums to the ELBO's KL in sweep
    dl = collapse_diagnostics(spec, 2, None)
    sw = sweep(spec, [None], [2])
    assert dl["expected_kl"].sum() == pytest.approx(sw["kl"].item(), rel=1e-12)
    assert dl["posterior_variance"].tolist() == pytest.approx((lam[2:].mean() / lam[:2]).tolist())


def test_sweep_bad_input():
    spec = _spectrum([2.0, 1.0])
    with pytest.raises(ValueError, match=r"sigma2\[1\] must be a finite number > 0.*got -1.0"):
        sweep(spec, [1.0, -1.0], [1])
    with pytest.raises(ValueError, match=r"n_latent entry must be in \[0, 2\].*got 3"):
        sweep(spec, [1.0], [1, 3])
    with pytest.raises(ValueError, match=r"sigma2 must contain at least one entry"):
        sweep(spec, [], [1])
