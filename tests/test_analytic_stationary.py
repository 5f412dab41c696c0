"""Stationary points: vanishing gradient, classification against a numerical Hessian, landscape."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, ortho_group

from linear_vae import (
    Spectrum,
    classify_stationary_point,
    landscape,
    stationary_point,
)
from linear_vae.ppca import mean_log_likelihood

LAM = np.array([5.0, 3.0, 2.0, 1.0, 0.5])


def _spectrum(lam=LAM, seed=0):
    U = ortho_group.rvs(lam.size, random_state=seed)
    return Spectrum.from_covariance((U * lam) @ U.T, np.arange(lam.size, dtype=float), 100)


def _grad(S, W, s2):
    """Dense reference gradient of -1/2 [log|C| + tr(C^-1 S)] in W."""
    Ci = np.linalg.inv(W @ W.T + s2 * np.eye(S.shape[0]))
    return Ci @ S @ Ci @ W - Ci @ W


def _hessian(S, W, s2, h=1e-4):
    n = W.size
    H = np.empty((n, n))
    for j in range(n):
        E = np.zeros(n)
        E[j] = h
        E = E.reshape(W.shape)
        H[:, j] = ((_grad(S, W + E, s2) - _grad(S, W - E, s2)) / (2 * h)).ravel()
    return 0.5 * (H + H.T)


CASES = [
    (comps, zero, s2)
    for comps in itertools.permutations(range(5), 3)
    if comps[0] < comps[1] < comps[2] or comps == (2, 0, 4)
    for zero in ([], [0], [2], [0, 2], [0, 1, 2])
    for s2 in (0.3, 0.7, 1.5, 2.5, 4.0, 6.0)
]


@pytest.mark.parametrize(("comps", "zero", "s2"), CASES)
def test_classification_matches_numerical_hessian(comps, zero, s2):
    spec = _spectrum()
    S = spec.covariance()
    rot = ortho_group.rvs(3, random_state=1) if comps == (2, 0, 4) else None
    point = stationary_point(spec, 3, s2, components=comps, zero=zero, rotation=rot)
    # gradient vanishes (finite differences of the likelihood itself)
    h = 1e-6
    for idx in np.ndindex(point.W.shape):
        E = np.zeros_like(point.W)
        E[idx] = h
        g = (
            mean_log_likelihood(spec, point.W + E, s2) - mean_log_likelihood(spec, point.W - E, s2)
        ) / (2 * h)
        assert abs(g) < 1e-6
    assert np.abs(_grad(S, point.W, s2)).max() < 1e-12
    H = _hessian(S, point.W, s2)
    ev = np.linalg.eigvalsh(H)
    tol = 1e-4
    n_pos, n_neg = int((ev > tol).sum()), int((ev < -tol).sum())
    assert np.all((np.abs(ev) < 1e-5) | (np.abs(ev) > 1e-3))  # clean spectrum, signs unambiguous
    result = classify_stationary_point(spec, point)
    assert len(result.ascent_directions) == n_pos
    expected = "global maximum" if n_pos == 0 else "saddle" if n_neg else "local minimum"
    assert result.label == expected
    assert result.has_descent == (n_neg > 0)
    for a in result.ascent_directions:
        t = a.tangent(spec, point).ravel()
        assert t @ H @ t == pytest.approx(a.curvature, rel=1e-5)
    # restricted to one column and two eigenvectors (paper Figure-1 view)
    col, dirs = zero[0] if zero else 1, [3, 4] if comps[0] == 0 else [0, 4]
    sub = classify_stationary_point(spec, point, columns=[col], directions=dirs)
    B = []
    for j in dirs:
        t = np.zeros_like(point.W)
        t[:, col] = spec.eigenvectors[:, j]
        B.append((t if rot is None else t @ rot).ravel())
    B = np.array(B).T
    sev = np.linalg.eigvalsh(B.T @ H @ B)
    r_pos, r_neg = int((sev > tol).sum()), int((sev < -tol).sum())
    assert len(sub.ascent_directions) == r_pos
    assert sub.has_descent == (r_neg > 0)
    if n_pos == 0:
        assert sub.label == "global maximum"
    else:
        assert sub.label == (
            "local maximum" if r_pos == 0 else "saddle" if r_neg else "local minimum"
        )


def test_labels_of_named_points():
    spec = _spectrum()
    # top-3 used, sigma2 below all: global max
    assert classify_stationary_point(spec, stationary_point(spec, 3, 0.3)).label == "global maximum"
    # k=5 with sigma2 = 1.5: the last two columns collapse, still the global max
    p = stationary_point(spec, 5, 1.5)
    assert p.zero.tolist() == [False, False, False, True, True]
    assert classify_stationary_point(spec, p).label == "global maximum"
    # zero column while eigenvalue 2 > sigma2 is unused: saddle with that exact direction
    c = classify_stationary_point(spec, stationary_point(spec, 3, 1.5, zero=[2]))
    assert c.label == "saddle"
    assert [(a.column, a.eigenvector, a.kind) for a in c.ascent_directions] == [
        (2, 2, "zero column")
    ]
    # swap: using eigenvector 3 instead of 2
    c = classify_stationary_point(spec, stationary_point(spec, 3, 0.3, components=[0, 1, 3]))
    assert [(a.column, a.eigenvector, a.replaces) for a in c.ascent_directions] == [(2, 2, 3)]
    # W = 0 with sigma2 below every eigenvalue: a local minimum
    c = classify_stationary_point(spec, stationary_point(spec, 2, 0.3, zero=[0, 1]))
    assert c.label == "local minimum"
    # Figure-1 view: zero column studied along eigenvectors 3, 4 (lambda 1, 0.5)
    p = stationary_point(spec, 3, 1.5, components=[0, 1, 2], zero=[2])
    assert (
        classify_stationary_point(spec, p, columns=[2], directions=[3, 4]).label == "local maximum"
    )
    p = stationary_point(spec, 3, 0.7, components=[0, 1, 2], zero=[2])
    assert classify_stationary_point(spec, p, columns=[2], directions=[3, 4]).label == "saddle"


def test_landscape_matches_direct_evaluation():
    spec = _spectrum()
    grid = np.linspace(-1.0, 1.0, 5)
    table = landscape(spec, 0.7, column=2, directions=(3, 4), grid=grid)
    assert list(table) == ["a", "b", "log_likelihood"]
    assert all(isinstance(v, np.ndarray) and v.shape == (25,) for v in table.values())
    df = pd.DataFrame(table)
    base = stationary_point(spec, 3, 0.7, zero=[2])
    centre = df[(df.a == 0) & (df.b == 0)].log_likelihood.item()
    assert centre == pytest.approx(base.log_likelihood, rel=1e-12)
    U = spec.eigenvectors
    for row in df.sample(5, random_state=0).itertuples():
        W = base.W.copy()
        W[:, 2] = row.a * U[:, 3] + row.b * U[:, 4]
        C = W @ W.T + 0.7 * np.eye(5)
        # mean log-density against S exactly: -1/2 [d log 2 pi + log|C| + tr(C^-1 S)]
        ref = -0.5 * (
            5 * np.log(2 * np.pi)
            + np.linalg.slogdet(C)[1]
            + np.trace(np.linalg.solve(C, spec.covariance()))
        )
        assert row.log_likelihood == pytest.approx(ref, rel=1e-12)
    # saddle shape: lambda_3 = 1 > 0.7 goes up, lambda_4 = 0.5 < 0.7 goes down
    up = df[(df.a == 0.5) & (df.b == 0)].log_likelihood.item()
    down = df[(df.a == 0) & (df.b == 0.5)].log_likelihood.item()
    assert up > centre > down
    assert multivariate_normal is not None


def test_stationary_bad_input():
    spec = _spectrum()
    with pytest.raises(ValueError, match=r"components entries must be distinct"):
        stationary_point(spec, 2, 1.0, components=[1, 1])
    with pytest.raises(ValueError, match=r"components must have exactly 2 entries"):
        stationary_point(spec, 2, 1.0, components=[1, 2, 3])
    with pytest.raises(ValueError, match=r"zero entries must lie in \[0, 1\]; got \[5\]"):
        stationary_point(spec, 2, 1.0, zero=[5])
    with pytest.raises(ValueError, match=r"point must be a StationaryPoint"):
        classify_stationary_point(spec, np.zeros((5, 2)))
