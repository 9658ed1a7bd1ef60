"""Unit tests of ldn_evidence.meta.bias: refusals, the Egger variants, trim-and-fill mechanics."""

from __future__ import annotations

import numpy as np
import pytest

from ldn_evidence.meta import pool
from ldn_evidence.meta.bias import DEFAULT_MIN_K, egger_test, trim_and_fill

RNG_SEED = 20240611


def _same(a, b) -> bool:
    """PoolResults equal field by field, NaN equal to NaN."""
    da, db = a.as_dict(), b.as_dict()
    return da.keys() == db.keys() and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))
        for x, y in zip(da.values(), db.values(), strict=True)
    )


def _asymmetric(k: int = 14):
    """Small studies with larger effects: a funnel missing its lower-left corner."""
    rng = np.random.default_rng(RNG_SEED)
    vi = np.linspace(0.005, 0.25, k)
    yi = 0.1 + 1.2 * np.sqrt(vi) + rng.normal(0, 0.05, k)
    return yi, vi


def test_default_min_k_is_ten():
    assert DEFAULT_MIN_K == 10


def test_egger_refuses_below_min_k_with_exact_reason():
    res = egger_test([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
    assert res.performed is False
    assert res.reason == (
        "k = 4 < 10 (min_k): Egger's regression test is not performed with fewer than 10 "
        "studies (too little power to tell asymmetry from chance; Cochrane Handbook 13.3.5.4)"
    )
    assert np.isnan(res.stat) and np.isnan(res.pval)
    assert (res.k, res.min_k, res.model, res.method, res.test) == (4, 10, "rma", "REML", "knha")


def test_trim_and_fill_refuses_below_min_k_with_exact_reason():
    res = trim_and_fill([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
    assert res.performed is False
    assert res.reason == (
        "k = 4 < 10 (min_k): trim-and-fill is not performed with fewer than 10 "
        "studies (too little power to tell asymmetry from chance; Cochrane Handbook 13.3.5.4)"
    )
    assert res.adjusted is None and res.observed is None and res.k0 == 0


def test_min_k_is_configurable():
    yi, vi = _asymmetric(6)
    assert not egger_test(yi, vi).performed
    assert egger_test(yi, vi, min_k=5).performed
    assert trim_and_fill(yi, vi, min_k=6).performed
    res = egger_test(yi, vi, min_k=7)
    assert res.reason.startswith("k = 6 < 7 (min_k)")


@pytest.mark.parametrize("min_k", [2, 0, 3.5])
def test_min_k_must_be_an_integer_of_at_least_three(min_k):
    with pytest.raises(ValueError, match="min_k must be an integer >= 3"):
        egger_test([0.1] * 12, [0.02] * 12, min_k=min_k)


def test_egger_lm_equals_the_classical_regression_on_precision():
    # Egger et al. (1997): regress y/se on 1/se; the intercept tests asymmetry.
    yi, vi = _asymmetric()
    se = np.sqrt(vi)
    X = np.column_stack([np.ones_like(se), 1 / se])
    z = yi / se
    beta, *_ = np.linalg.lstsq(X, z, rcond=None)
    resid = z - X @ beta
    sigma2 = resid @ resid / (len(z) - 2)
    cov = sigma2 * np.linalg.inv(X.T @ X)
    t_intercept = beta[0] / np.sqrt(cov[0, 0])
    res = egger_test(yi, vi, model="lm")
    assert res.performed and res.test == "t" and res.df == len(yi) - 2
    assert res.stat == pytest.approx(t_intercept, rel=1e-10)
    assert res.slope == pytest.approx(beta[0], rel=1e-10)
    assert res.limit_estimate == pytest.approx(beta[1], rel=1e-10)


def test_egger_detects_built_in_asymmetry():
    yi, vi = _asymmetric()
    res = egger_test(yi, vi, method="DL", test="z")
    assert res.pval < 0.01 and res.slope > 0
    assert np.isnan(res.df)


def test_egger_rejects_estimators_without_meta_regression():
    with pytest.raises(ValueError, match="needs a meta-regression estimator"):
        egger_test(*_asymmetric(), method="PM")
    with pytest.raises(ValueError, match="model must be 'rma' or 'lm'"):
        egger_test(*_asymmetric(), model="ols")


def test_trim_and_fill_imputes_on_the_side_opposite_the_small_studies():
    yi, vi = _asymmetric()
    res = trim_and_fill(yi, vi, method="DL", test="z")
    assert res.performed and res.side == "left" and res.k0 > 0
    assert res.side_source.startswith("sign of the slope")
    assert len(res.filled_yi) == res.k0 and res.adjusted.k == len(yi) + res.k0
    assert res.adjusted.estimate < res.observed.estimate
    # Mirror images: every filled study lies below the trimmed estimate.
    assert max(res.filled_yi) < res.observed.estimate


def test_trim_and_fill_is_mirror_symmetric():
    yi, vi = _asymmetric()
    left = trim_and_fill(yi, vi, method="DL", test="z")
    right = trim_and_fill(-yi, vi, method="DL", test="z")
    assert right.side == "right" and right.k0 == left.k0
    assert right.adjusted.estimate == pytest.approx(-left.adjusted.estimate, rel=1e-12)
    np.testing.assert_allclose(right.filled_yi, -np.asarray(left.filled_yi), rtol=1e-12)


def test_symmetric_funnel_needs_no_filling():
    vi = np.repeat([0.01, 0.04, 0.09, 0.16, 0.25, 0.36], 2)
    yi = 0.3 + np.tile([-1.0, 1.0], 6) * np.sqrt(vi)
    res = trim_and_fill(yi, vi, method="EE", test="z", estimator="R0")
    assert res.performed and res.k0 == 0 and res.filled_yi == ()
    assert res.adjusted is res.observed
    assert res.p_k0 == pytest.approx(0.5)


def test_given_side_is_used_and_recorded():
    yi, vi = _asymmetric()
    res = trim_and_fill(yi, vi, method="DL", test="z", side="right")
    assert res.side == "right" and res.side_source == "given"


def test_trim_and_fill_uses_the_same_pool_settings():
    yi, vi = _asymmetric()
    res = trim_and_fill(yi, vi, method="REML", test="knha", level=0.9)
    assert _same(res.observed, pool(yi, vi, method="REML", test="knha", level=0.9))
    assert res.adjusted.test == "knha" and res.adjusted.level == 0.9


def test_side_for_estimators_without_meta_regression_is_noted():
    yi, vi = _asymmetric()
    res = trim_and_fill(yi, vi, method="PM", test="z")
    assert res.performed and res.method == "PM"
    assert any("side chosen with REML" in n for n in res.notes)


def test_trim_and_fill_option_errors():
    yi, vi = _asymmetric()
    with pytest.raises(ValueError, match="estimator must be 'L0' or 'R0'"):
        trim_and_fill(yi, vi, estimator="Q0")
    with pytest.raises(ValueError, match="side must be"):
        trim_and_fill(yi, vi, side="up")
