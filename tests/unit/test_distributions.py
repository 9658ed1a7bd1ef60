"""ldn_evidence.distributions against scipy.stats, statsmodels and exact arithmetic.

Tolerances: every function that calls the special function scipy.stats itself calls (normal
and t tails and quantiles through ndtr/ndtri/stdtr/stdtrit, chi-square and F tails through
chdtrc/fdtrc, t log-cdf/log-sf as the log of stdtr, the t log density by the same Pochhammer
formula) must be EXACTLY equal to scipy.stats, edge values included (NaN equal to NaN). The
Wilson interval must equal statsmodels' ``proportion_confint(method="wilson")`` exactly. The
sign test p (incomplete beta function) must agree with ``scipy.stats.binomtest`` and with the
exact rational tail sum to a relative 1e-12 (measured: at most 3e-14 for n < 300).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from ldn_evidence import distributions as d

X = np.array(
    [-np.inf, -1e300, -40.0, -8.0, -1.959963984540054, -1.0, -1e-300, -0.0, 0.0, 5e-324,
     1e-10, 0.5, 1.0, 2.262157, 8.0, 38.0, 40.0, 1e300, np.inf, np.nan]
)  # fmt: skip
Q = np.array(
    [0.0, 5e-324, 1e-300, 1e-20, 1e-10, 0.001, 0.025, 0.025000000000000022, 0.05, 0.5, 0.95,
     0.975, 1 - 1e-10, 1 - 2**-53, 1.0, -0.1, 1.1, np.nan]
)  # fmt: skip
DF = [0.5, 1.0, 2.0, 3.5, 9.0, 30.0, 1e6, 1e12, np.inf]


def _exact(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs, strict=True)


def test_normal_functions_are_scipy_stats_bit_for_bit():
    _exact(d.norm_cdf(X), stats.norm.cdf(X))
    _exact(d.norm_sf(X), stats.norm.sf(X))
    _exact(d.norm_ppf(Q), stats.norm.ppf(Q))
    _exact(d.norm_isf(Q), stats.norm.isf(Q))


@pytest.mark.parametrize("df", DF)
def test_t_functions_are_scipy_stats_bit_for_bit(df):
    _exact(d.t_sf(X, df), stats.t.sf(X, df))
    _exact(d.t_ppf(Q, df), stats.t.ppf(Q, df))
    _exact(d.t_isf(Q, df), stats.t.isf(Q, df))
    with np.errstate(all="ignore"):
        _exact(d.t_logcdf(X, df), stats.t.logcdf(X, df))
        _exact(d.t_logsf(X, df), stats.t.logsf(X, df))
        _exact(d.t_logpdf(X, df), stats.t.logpdf(X, df))


def test_t_functions_broadcast_and_return_scalars_like_scipy():
    df = np.array([1.0, 5.0, np.inf])
    _exact(d.t_isf(0.025, df), stats.t.isf(0.025, df))
    _exact(d.t_logpdf(np.array([[0.3], [2.0]]), df), stats.t.logpdf(np.array([[0.3], [2.0]]), df))
    for value in (d.t_sf(1.0, 3), d.t_isf(0.025, 3), d.t_logpdf(1.0, 3), d.norm_isf(0.025)):
        assert np.ndim(value) == 0 and isinstance(float(value), float)


def test_t_with_invalid_df_is_nan_like_scipy():
    for df in (0.0, -1.0, np.nan):
        with np.errstate(all="ignore"):
            assert np.isnan(d.t_sf(1.0, df)) and np.isnan(stats.t.sf(1.0, df))
            assert np.isnan(d.t_isf(0.1, df)) and np.isnan(stats.t.isf(0.1, df))
            assert np.isnan(d.t_logpdf(1.0, df)) and np.isnan(stats.t.logpdf(1.0, df))


def test_t_with_huge_df_approaches_the_normal():
    z = np.array([-3.0, -1.0, 0.5, 2.5])
    np.testing.assert_allclose(d.t_logpdf(z, 1e12), stats.norm.logpdf(z), rtol=1e-10)
    np.testing.assert_allclose(d.t_sf(z, 1e12), stats.norm.sf(z), rtol=1e-10)


@pytest.mark.parametrize("df", [0.5, 1.0, 2.0, 3.5, 10.0, 100.0, 1e6])
def test_chi2_sf_is_scipy_stats_bit_for_bit(df):
    x = np.array([-1.0, -0.0, 0.0, 5e-324, 1e-10, 0.5, 1.0, 3.841458820694124, 100.0, 1e4, 1e7,
                  np.inf, np.nan])  # fmt: skip
    _exact(d.chi2_sf(x, df), stats.chi2.sf(x, df))
    assert d.chi2_sf(-1.0, df) == 1.0


@pytest.mark.parametrize("dfn", [1.0, 2.0, 5.5, 40.0])
@pytest.mark.parametrize("dfd", [1.0, 9.0, 120.0, 1e6])
def test_f_sf_is_scipy_stats_bit_for_bit(dfn, dfd):
    x = np.array([-1.0, 0.0, 1e-10, 0.5, 1.0, 5.117355, 100.0, 1e6, np.inf, np.nan])
    _exact(d.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd))


@pytest.mark.parametrize("alpha", [0.05, 1 - 0.95, 0.1, 0.01, 1e-6])
def test_wilson_interval_is_statsmodels_bit_for_bit(alpha):
    for n in [*range(1, 61), 99, 100, 1000, 10**6]:
        for k in sorted({0, 1, 2, n // 3, n // 2, n - 2, n - 1, n} & set(range(n + 1))):
            low, high = proportion_confint(k, n, alpha=alpha, method="wilson")
            assert d.wilson_interval(k, n, alpha) == (float(low), float(high)), (k, n)


def test_wilson_interval_published_value_and_range():
    # Newcombe (1998) table I: 81 of 263 -> 0.2553 to 0.3662 (method 3)
    low, high = d.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert d.wilson_interval(0, 5)[0] == 0.0 and d.wilson_interval(5, 5)[1] == 1.0
    for bad in [(-1, 5), (6, 5), (0, 0)]:
        with pytest.raises(ValueError):
            d.wilson_interval(*bad)
    for alpha in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError):
            d.wilson_interval(1, 5, alpha)


def _exact_sign_p(k: int, n: int) -> float:
    """min(1, 2 P(X <= min(k, n - k))) for X ~ Binomial(n, 1/2), in exact rational arithmetic."""
    m = min(k, n - k)
    tail, term = 0, 1
    for i in range(m + 1):
        tail, term = tail + term, term * (n - i) // (i + 1)
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def test_sign_test_matches_binomtest_and_exact_arithmetic():
    for n in range(1, 201):
        for k in range(n + 1):
            ours = d.sign_test_p(k, n)
            assert ours == pytest.approx(_exact_sign_p(k, n), rel=1e-12, abs=0)
            assert 0 < ours <= 1
            if n <= 50:
                assert ours == pytest.approx(stats.binomtest(k, n, 0.5).pvalue, rel=1e-12, abs=0)


def test_sign_test_large_n_and_edges():
    for k, n in [(1400, 3000), (1499, 3000), (0, 1000), (4950, 10000)]:
        assert d.sign_test_p(k, n) == pytest.approx(_exact_sign_p(k, n), rel=1e-12, abs=0)
    assert d.sign_test_p(0, 1) == 1.0 and d.sign_test_p(1, 2) == 1.0
    assert d.sign_test_p(0, 10) == 2 / 2**10 and d.sign_test_p(10, 10) == 2 / 2**10
    for bad in [(-1, 5), (6, 5), (0, 0)]:
        with pytest.raises(ValueError):
            d.sign_test_p(*bad)
