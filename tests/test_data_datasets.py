"""digits, synthetic, preprocessing, subsets, load errors and the info command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from linear_vae import Spectrum
from lucas2019.data import DATASETS, PREPROCESSINGS, SOURCES, load, training_arrays
from lucas2019.data import preprocess as pre
from lucas2019.data.info import main, summarize


def test_digits_shapes_split_and_range():
    ds = load("digits", preprocess="none")
    assert ds.train.shape == (1497, 64) and ds.test.shape == (300, 64)
    assert ds.image_shape == (1, 8, 8) and ds.max_level == 16 and ds.dim == 64
    assert ds.train.min() == 0 and ds.train.max() == 16
    assert np.all(ds.train == np.round(ds.train))
    from sklearn.datasets import load_digits

    ref = load_digits().data
    assert {r.tobytes() for r in ds.test.astype(np.float64)} <= {r.tobytes() for r in ref}
    scaled = load("digits")
    np.testing.assert_allclose(scaled.train, ds.train / 16, atol=1e-7)
    np.testing.assert_array_equal(load("digits", seed=5).test, scaled.test)  # split is fixed


def test_subset_reproducible_nested_and_too_large():
    a = load("digits", subset=50, seed=3)
    b = load("digits", subset=50, seed=3)
    c = load("digits", subset=20, seed=3)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.train[:20], c.train)
    np.testing.assert_array_equal(a.labels_train[:20], c.labels_train)
    assert a.test.shape == (50, 64)
    assert not np.array_equal(load("digits", subset=50, seed=4).train, a.train)
    pair = load("digits", subset=(100, None))
    assert pair.train.shape == (100, 64) and pair.test.shape == (300, 64)
    with pytest.raises(ValueError, match=r"n_test=400 is larger than the test split of 'digits'"):
        load("digits", subset=400)


@pytest.mark.parametrize("preprocess", ["scale01", "binarize_stochastic"])
def test_a_subset_is_the_rows_a_run_trains_on(preprocess):
    """One subset path: load(subset=...) picks the rows (and noise) training_arrays picks."""
    full = load("digits", preprocess=preprocess, seed=7)
    sub = load("digits", preprocess=preprocess, subset=(120, 40), seed=7)
    x_train, x_test = training_arrays(full, n_train=120, n_test=40, seed=7)
    np.testing.assert_array_equal(sub.train, x_train)
    np.testing.assert_array_equal(sub.test, x_test)
    for row, label in zip(sub.train[:10], sub.labels_train[:10], strict=True):  # labels follow
        assert label in full.labels_train[(full.train == row).all(axis=1)]


def test_registry_data_dim_matches_the_loaded_data():
    """Each registry entry knows d without loading; the loaded data agrees."""
    cases = {
        "digits": {},
        "synthetic": {"dim": 7, "n_train": 5, "n_test": 0},
    }
    for name, options in cases.items():
        assert SOURCES[name].data_dim(options) == load(name, **options).dim
    assert SOURCES["synthetic"].data_dim({"spectrum": [3.0, 2.0, 1.0]}) == 3
    assert SOURCES["mnist"].data_dim({}) == 784
    assert SOURCES["celeba"].data_dim({"image_size": 16, "grayscale": True}) == 256
    assert SOURCES["celeba"].data_dim({}) == 3 * 64 * 64
    assert DATASETS == tuple(SOURCES)


def test_unknown_names():
    with pytest.raises(ValueError, match=r"name='cifar'.*allowed \['mnist'"):
        load("cifar")
    with pytest.raises(ValueError, match=r"preprocess='whiten'.*allowed"):
        load("digits", preprocess="whiten")
    with pytest.raises(ValueError, match=r"preprocess='scale01' for dataset 'synthetic'"):
        load("synthetic", preprocess="scale01")
    assert set(DATASETS) == {"mnist", "celeba", "digits", "synthetic"}


def test_binarize_threshold_and_stochastic():
    x = np.array([[0, 8, 9, 16]])
    np.testing.assert_array_equal(pre.apply("binarize", x, 16), [[0, 0, 1, 1]])
    big = np.full((2000, 4), 4)  # p = 0.25
    b = pre.apply("binarize_stochastic", big, 16, np.random.default_rng(0))
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert abs(b.mean() - 0.25) < 0.02  # 8000 draws: sd 0.005


def test_dequantize_logit_definition_and_log_det():
    x = np.array([[0, 255, 128], [3, 4, 5]])
    rng = np.random.default_rng(7)
    z = pre.apply("dequantize_logit", x, 255, np.random.default_rng(7)).astype(np.float64)
    p = (x + rng.random(x.shape)) / 256
    y = 1e-6 + (1 - 2e-6) * p
    np.testing.assert_allclose(z, np.log(y / (1 - y)), rtol=1e-6)
    # log|det dz/dp| against finite differences of the transform, per example
    h = 1e-7
    fd = np.log(np.abs((pre.logit_transform(p + h) - pre.logit_transform(p - h)) / (2 * h)))
    np.testing.assert_allclose(pre.logit_log_det_jacobian(p), fd.sum(axis=1), rtol=1e-5)
    # the version from logits agrees with the version from pixels
    np.testing.assert_allclose(
        pre.logit_log_det_jacobian_from_logits(pre.logit_transform(p)),
        pre.logit_log_det_jacobian(p),
        rtol=1e-9,
    )
    assert np.all(expit(z) > 0) and np.all(expit(z) < 1)


def test_dataset_log_det_jacobian():
    ds = load("digits", preprocess="dequantize_logit", subset=10)
    ld = ds.log_det_jacobian(ds.train)
    assert ld.shape == (10,)
    p = (expit(ds.train.astype(np.float64)) - 1e-6) / (1 - 2e-6)
    np.testing.assert_allclose(ld, pre.logit_log_det_jacobian(p), rtol=1e-5)
    assert np.all(ld >= 64 * np.log(4) - 1e-6)  # each dim: -log(y(1-y)) >= log 4
    np.testing.assert_array_equal(load("digits").log_det_jacobian(np.zeros((2, 64))), [0, 0])
    with pytest.raises(ValueError, match="not invertible"):
        load("digits", preprocess="binarize").log_det_jacobian(np.zeros((1, 64)))


def test_synthetic_spectrum_and_reproducibility():
    ds = load("synthetic", dim=6, n_train=10, n_test=5, n_strong=2, decay=0.5, noise=0.1)
    np.testing.assert_allclose(ds.true_eigenvalues, [1.1, 0.6, 0.1, 0.1, 0.1, 0.1])
    assert ds.train.shape == (10, 6) and ds.test.shape == (5, 6) and ds.image_shape == (6,)
    assert ds.preprocess == "none" and ds.train.dtype == np.float32
    np.testing.assert_allclose(ds.true_basis.T @ ds.true_basis, np.eye(6), atol=1e-12)
    again = load("synthetic", dim=6, n_train=10, n_test=5, n_strong=2, decay=0.5, noise=0.1)
    np.testing.assert_array_equal(ds.train, again.train)
    listed = load("synthetic", dim=3, spectrum=[1.0, 3.0, 2.0], n_train=4, n_test=0)
    np.testing.assert_array_equal(listed.true_eigenvalues, [3.0, 2.0, 1.0])
    assert listed.test is None
    with pytest.raises(ValueError, match="exactly dim=3"):
        load("synthetic", dim=3, spectrum=[1.0, 2.0])


def test_synthetic_sample_spectrum_converges():
    errs = []
    for n in (100, 10_000):
        ds = load("synthetic", dim=10, n_train=n, n_test=1, n_strong=3, seed=1)
        ev = Spectrum.from_data(ds.train).eigenvalues
        errs.append(np.max(np.abs(ev - ds.true_eigenvalues) / ds.true_eigenvalues))
    assert errs[1] < 0.08  # relative error ~ sqrt(2/n) per eigenvalue, plus spread
    assert errs[1] < errs[0] / 3


def test_summarize_eigenvalues_and_live_counts_match_numpy_tall_and_wide():
    rng = np.random.default_rng(0)
    tall, wide = rng.normal(size=(50, 5)), rng.normal(size=(5, 50))  # wide: rank 4 < d
    for x in (tall, wide):
        ref = np.clip(np.sort(np.linalg.eigvalsh(np.cov(x.T, ddof=0)))[::-1], 0, None)
        report = summarize(x, top=x.shape[1])
        np.testing.assert_allclose(report["top_eigenvalues"], ref, atol=1e-10)
        counts = report["n_eigenvalues_above_sigma2"]
        assert counts == {s: int(np.sum(ref > float(s))) for s in counts}


def test_training_arrays_with_both_splits():
    ds = load("digits")
    x, t = training_arrays(ds, n_train=100, seed=2)
    assert x.shape == (100, 64) and t.shape == (300, 64)
    with pytest.raises(ValueError, match=r"n_train=2000 is larger than the train split"):
        training_arrays(ds, n_train=2000)


def test_record_is_json_ready():
    rec = load("digits", preprocess="binarize", subset=(10, 5), seed=1).record()
    assert rec["preprocess"] == "binarize" and rec["n_train"] == 10 and rec["n_test"] == 5
    json.dumps(rec)
    assert "dequantize_logit" in PREPROCESSINGS


def test_info_main_on_digits(capsys):
    assert main(["digits", "--subset", "200", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "n_train     200" in out and "d=64" in out and "scale01" in out
    assert main(["digits", "--subset", "200", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    x, _ = training_arrays(load("digits", subset=200), seed=0)
    ref = np.sort(np.linalg.eigvalsh(np.cov(x.T.astype(np.float64), ddof=0)))[::-1][:10]
    np.testing.assert_allclose(rep["top_eigenvalues"], ref, rtol=1e-6)
    assert rep["n"] == 200 and rep["d"] == 64 and 0 <= rep["min"] and rep["max"] <= 1


def test_info_main_synthetic_options(capsys):
    assert (
        main(["synthetic", "--option", "dim=4", "--option", "n_train=30", "--option", "n_strong=2"])
        == 0
    )
    assert "true" in capsys.readouterr().out


def test_info_main_reports_errors(capsys, tmp_path):
    assert main(["mnist", "--root", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
