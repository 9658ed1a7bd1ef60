"""Conversions on published worked examples (source cited per test) and exact identities."""

import math
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats

from ldn_evidence.effects import conversions as cv

# --- Hedges' correction ---------------------------------------------------------------------


def test_hedges_correction_exact_gamma_identities():
    # J(2) = Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi); J(4) = Gamma(2) / (sqrt(2) Gamma(3/2)).
    assert cv.hedges_correction(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-14)
    assert cv.hedges_correction(4) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)


def test_hedges_correction_approaches_the_usual_approximation_and_is_nan_below_two():
    # Hedges (1981): J(m) ~ 1 - 3 / (4m - 1); exact differs by O(m^-2).
    assert cv.hedges_correction(200) == pytest.approx(1 - 3 / 799, abs=1e-6)
    assert cv.hedges_correction(1e7) == pytest.approx(1.0, abs=1e-7)  # no overflow
    assert np.isnan(cv.hedges_correction(1))


# --- SDs and SEs (Cochrane Handbook ch. 6) --------------------------------------------------


def test_sd_from_se():
    # Cochrane Handbook 6.5.2.2: SD = SE * sqrt(N).
    assert cv.sd_from_se([1.5, 2.0], [16, 25]).tolist() == [6.0, 10.0]


@pytest.mark.parametrize(("level", "divisor"), [(0.95, 3.92), (0.90, 3.29), (0.99, 5.15)])
def test_sd_from_ci_large_sample_divisors(level, divisor):
    # Cochrane Handbook 6.5.2.2: SD = sqrt(N) * (upper - lower) / 3.92 (3.29 for 90%, 5.15 for 99%).
    sd = cv.sd_from_ci(10.0, 14.0, 400, level=level, distribution="z")
    assert sd == pytest.approx(20 * 4 / divisor, rel=2e-3)


def test_sd_from_ci_small_sample_uses_t():
    # Cochrane Handbook 6.5.2.2: with 25 participants, 3.92 is replaced by 2 x 2.0639 = 4.128.
    sd = cv.sd_from_ci(3.0, 7.0, 25, distribution="t")
    assert sd == pytest.approx(5 * 4 / 4.128, rel=1e-4)
    assert cv.sd_from_ci(3.0, 7.0, 25) == sd  # "auto" picks t below 60
    assert cv.sd_from_ci(3.0, 7.0, 100) == cv.sd_from_ci(3.0, 7.0, 100, distribution="z")


def test_sd_from_ci_rejects_unknown_distribution():
    with pytest.raises(ValueError, match="distribution must be 'auto', 't' or 'z'; got 'f'"):
        cv.sd_from_ci(1, 2, 10, distribution="f")


def test_se_from_p_z_cochrane_example():
    # Cochrane Handbook 6.3.2: P = 0.008 corresponds to Z = 2.652; SE = estimate / Z.
    assert 1.0 / cv.se_from_p(1.0, 0.008) == pytest.approx(2.652, abs=5e-4)


def test_se_from_p_t_cochrane_example():
    # Cochrane Handbook (v5.1 7.7.3.3; v6 6.5.2.3): MD 3.8, P = 0.008, groups of 25 and 22:
    # t with 45 df = 2.78, SE = 3.8 / 2.78 = 1.37.
    se = cv.se_from_p(3.8, 0.008, df=45)
    assert round(3.8 / se, 2) == 2.78
    assert round(se, 2) == 1.37


def test_se_from_p_altman_bland_ratio_example():
    # Altman & Bland (2011) BMJ 343:d2090: RR 0.30, P = 0.034 gives 95% CI 0.1 to 0.9
    # (SE of log RR 0.57 with their approximate z = 2.117; the exact z = 2.120).
    se = cv.se_from_p(math.log(0.30), 0.034)
    assert round(se, 2) == 0.57
    lower, upper = (math.exp(math.log(0.30) + s * 1.96 * se) for s in (-1, 1))
    assert (round(lower, 1), round(upper, 1)) == (0.1, 0.9)


def test_se_from_p_altman_bland_difference_example():
    # Altman & Bland (2011): difference 17 (49% v 32%), P = 0.032 -> 95% CI 1.4 to 32.6 with their
    # approximate z; the exact normal quantile moves each limit by less than 0.1.
    se = cv.se_from_p(17.0, 0.032)
    assert 17 - 1.96 * se == pytest.approx(1.4, abs=0.1)
    assert 17 + 1.96 * se == pytest.approx(32.6, abs=0.1)


def test_se_from_p_outside_zero_one_is_nan():
    out = cv.se_from_p([1.0, 1.0, 1.0], [0.0, 1.0, 0.05])
    assert np.isnan(out[:2]).all() and np.isfinite(out[2])


def test_se_from_ci_t_and_log_scale():
    # Cochrane Handbook 6.5.2.3: 95% CI with 25 + 22 - 2 = 45 df uses t = 2.014, not 1.96.
    se = cv.se_from_ci(1.2, 6.4, df=45)
    assert (6.4 - 1.2) / (2 * se) == pytest.approx(2.014, abs=5e-4)
    assert cv.se_from_ci(1.2, 6.4) == pytest.approx(5.2 / 3.919928, rel=1e-6)
    # Cochrane 6.3.1: ratio measures on the log scale.
    assert cv.se_from_ci(0.5, 2.0, log_scale=True) == pytest.approx(
        (math.log(2.0) - math.log(0.5)) / (2 * stats.norm.isf(0.025))
    )


def test_sd_pooled_and_smd_from_md_ci():
    # Cochrane 6.5.2.3 example: MD 3.8 (95% CI 1.2 to 6.4), n 25 and 22;
    # SD = SE / sqrt(1/25 + 1/22).
    se = (6.4 - 1.2) / (2 * stats.t.isf(0.025, 45))
    sd = se / math.sqrt(1 / 25 + 1 / 22)
    assert cv.sd_pooled_from_se(se, 25, 22) == pytest.approx(sd)
    assert round(sd, 1) == 4.4
    assert cv.smd_from_md_ci(3.8, 1.2, 6.4, 25, 22) == pytest.approx(3.8 / sd)


def test_d_from_t_matches_escalc_ti_relation():
    # Borenstein et al. (2009) ch. 7: d = t * sqrt(1/n1 + 1/n2).
    assert cv.d_from_t(2.0, 10, 15) == pytest.approx(2.0 * math.sqrt(1 / 10 + 1 / 15))


# --- median, quartiles, range ---------------------------------------------------------------


def test_wan_range_divisor_approximates_the_expected_range_of_normal_samples():
    # Wan et al. (2014) BMC Med Res Methodol 14:135 take xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25))
    # as an approximation to the expected range d_n of n standard normals (Tippett 1925:
    # d_10 = 3.078, d_25 = 3.931, d_50 = 4.498; Wan's Table 1 compares the two).
    for n, d_n in [(10, 3.078), (25, 3.931), (50, 4.498)]:
        sd = cv.sd_from_median(n, minimum=0.0, maximum=d_n)
        assert sd == pytest.approx(1.0, rel=6e-3)


def test_wan_iqr_divisor_tends_to_the_normal_iqr():
    # Wan et al. (2014): for large n the IQR estimator tends to IQR / 1.35 (2 Phi^-1(0.75) = 1.349).
    assert cv.sd_from_median(10**6, q1=0.0, q3=1.349) == pytest.approx(1.0, rel=1e-3)
    eta_20 = 2 * stats.norm.ppf((0.75 * 20 - 0.125) / 20.25)
    assert cv.sd_from_median(20, q1=10.0, q3=16.0) == pytest.approx(6.0 / eta_20)


def test_wan_both_is_the_equal_weight_average_and_shi_uses_its_weight():
    n, a, q1, q3, b = 40, 2.0, 6.0, 11.0, 20.0
    from_range = cv.sd_from_median(n, minimum=a, maximum=b)
    from_iqr = cv.sd_from_median(n, q1=q1, q3=q3)
    both = cv.sd_from_median(n, q1=q1, q3=q3, minimum=a, maximum=b)
    assert both == pytest.approx((from_range + from_iqr) / 2)
    # Shi et al. (2020) Res Synth Methods 11:641: w = 1 / (1 + 0.07 n^0.6) on the range part.
    w = 1 / (1 + 0.07 * n**0.6)
    shi = cv.sd_from_median(n, q1=q1, q3=q3, minimum=a, maximum=b, method="shi")
    assert shi == pytest.approx(w * from_range + (1 - w) * from_iqr)
    assert 0.5 < w < 1  # at n = 40 Shi still leans on the range more than Wan's 1/2


def test_luo_mean_weights():
    # Luo et al. (2018) Stat Methods Med Res 27:1785, scenarios S1, S3, S2.
    n = 30
    w1 = 4 / (4 + n**0.75)
    assert cv.mean_from_median(10, n, minimum=2, maximum=30) == pytest.approx(
        w1 * 16 + (1 - w1) * 10
    )
    w3 = 0.7 + 0.39 / n
    assert cv.mean_from_median(10, n, q1=7, q3=15) == pytest.approx(w3 * 11 + (1 - w3) * 10)
    a, b = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
    assert cv.mean_from_median(10, n, q1=7, q3=15, minimum=2, maximum=30) == pytest.approx(
        a * 16 + b * 11 + (1 - a - b) * 10
    )


def test_luo_mean_of_symmetric_summary_is_the_median():
    # For a symmetric five-number summary every Luo estimator returns the median.
    assert cv.mean_from_median(10, 25, q1=8, q3=12, minimum=4, maximum=16) == pytest.approx(10)


def test_median_conversions_need_complete_pairs():
    with pytest.raises(ValueError, match="give both q1 and q3, or neither"):
        cv.sd_from_median(20, q1=1.0)
    with pytest.raises(ValueError, match="needs q1 and q3, or minimum and maximum"):
        cv.mean_from_median(5.0, 20)


# --- counts from percentages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "n", "decimals", "expected"),
    [
        ("33.3", 27, None, 9),  # 9/27 = 33.33%
        ("12.0", 25, None, 3),  # decimals taken from the string
        ("13", 8, None, 1),  # 12.5% reported as 13%: half-up rounding accepted
        ("12", 8, None, 1),  # ... and half-even
        (1, 300, 0, None),  # 2, 3 and 4 of 300 all round to 1%
        ("50", 3, None, None),  # no count of 3 gives 50%
        ("0", 250, None, None),  # 0 and 1 of 250 (0.4%) both round to 0%
        ("0.0", 250, None, 0),  # one decimal: 1/250 = 0.4% no longer fits
        (66.67, 3, 2, 2),
    ],
)
def test_count_from_percent(percent, n, decimals, expected):
    assert cv.count_from_percent(percent, n, decimals=decimals) == expected


def test_count_from_percent_needs_decimals_for_numbers():
    with pytest.raises(ValueError, match="decimals is required when percent is a number"):
        cv.count_from_percent(33.3, 27)


def _every_count_that_fits(percent: str, n: int) -> list[int]:
    """The definition, by trying every k (what the function did before it solved the range)."""
    decimals = len(percent.split(".")[1]) if "." in percent else 0
    half_unit = Decimal(1).scaleb(-decimals) / 2
    return [k for k in range(n + 1) if abs(Decimal(100 * k) / n - Decimal(percent)) <= half_unit]


@pytest.mark.parametrize("decimals", [0, 1, 2])
def test_count_from_percent_agrees_with_trying_every_count(decimals):
    rng = np.random.default_rng(20261130)
    for n in range(1, 120):
        for p in [*rng.uniform(0, 100, 6), 0.0, 100.0, 50.0, 12.5]:
            percent = f"{p:.{decimals}f}"
            fits = _every_count_that_fits(percent, n)
            assert cv.count_from_percent(percent, n) == (fits[0] if len(fits) == 1 else None)


def test_count_from_percent_is_instant_for_a_huge_denominator():
    # found by the property test: trying every k of n = 10**12 never finished
    assert cv.count_from_percent("11", 10**12) is None  # ~10**10 counts round to 11%
    assert cv.count_from_percent("0.5", 1) is None
    assert cv.count_from_percent("25.0000000000", 10**12) == 25 * 10**10


def test_count_from_percent_refuses_a_percentage_that_is_not_finite():
    with pytest.raises(ValueError, match="finite"):
        cv.count_from_percent(float("inf"), 10, decimals=0)


def test_counts_from_percent_vectorised():
    out = cv.counts_from_percent([33.3, 1.0, np.nan], [27, 300, 10], decimals=[1, 0, 0])
    assert out[0] == 9 and np.isnan(out[1]) and np.isnan(out[2])


# --- d <-> log odds ratio (Chinn 2000) -------------------------------------------------------


def test_chinn_conversion_and_round_trip():
    # Chinn (2000) Stat Med 19:3127: ln(OR) = d * pi / sqrt(3) = 1.8138 d; var * pi^2 / 3.
    lnor, var = cv.log_odds_ratio_from_d(1.0, 1.0)
    assert lnor == pytest.approx(1.8138, abs=1e-4)
    assert var == pytest.approx(3.2899, abs=1e-4)
    d, var_d = cv.d_from_log_odds_ratio(*cv.log_odds_ratio_from_d([0.2, -0.8], [0.04, 0.1]))
    np.testing.assert_allclose(d, [0.2, -0.8])
    np.testing.assert_allclose(var_d, [0.04, 0.1])
    assert cv.log_odds_ratio_from_d(0.5)[1] is None
