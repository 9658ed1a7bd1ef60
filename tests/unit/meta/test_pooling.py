"""Edge cases, notes and error messages of ldn_evidence.meta.pool."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from ldn_evidence.meta import POOL_FIELDS, PoolResult, pool

YI = [-0.581, 0.53, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232]
VI = [0.023, 0.052, 0.06, 0.115, 0.095, 0.203, 0.2, 0.211, 0.051, 0.04]
METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


def test_result_is_frozen_and_fields_are_public_api():
    res = pool(YI, VI)
    assert isinstance(res, PoolResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]
    required = (
        "k estimate se stat df pval ci_low ci_high tau2 tau2_se tau2_ci_low tau2_ci_high "
        "i2 i2_ci_low i2_ci_high h2 h2_ci_low h2_ci_high q q_df q_pval pi_low pi_high "
        "method test converged notes"
    ).split()
    assert list(POOL_FIELDS[: len(required)]) == required
    assert list(res.as_dict()) == list(POOL_FIELDS)
    assert res.method == "REML" and res.test == "knha" and res.converged
    assert res.ci_method == "hksj-t(k-1)" and res.pi_method == "t(k-1)"
    assert res.tau2_ci_method == "q-profile"


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, 0.2], [0.01, 0.0], "vi[1] must be finite and > 0; got 0.0"),
        ([0.1, 0.2], [-0.01, 0.02], "vi[0] must be finite and > 0; got -0.01"),
        ([0.1, 0.2], [0.01, math.nan], "vi[1] must be finite and > 0; got nan"),
        ([0.1, 0.2], [0.01, math.inf], "vi[1] must be finite and > 0; got inf"),
        ([0.1, math.inf], [0.01, 0.02], "yi[1] must be finite; got inf"),
        ([math.nan, 0.2], [0.01, 0.02], "yi[0] must be finite; got nan"),
        ([0.1, 0.2, 0.3], [0.01, 0.02], "yi and vi must have the same length; got 3 and 2"),
        ([], [], "need at least one study; got 0"),
        ([[0.1]], [[0.1]], "yi and vi must be 1-D; got shapes (1, 1) and (1, 1)"),
    ],
)
def test_bad_data_raise_with_position(yi, vi, message):
    with pytest.raises(ValueError) as err:
        pool(yi, vi)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "XX"},
            "method must be one of EE, FE, CE, DL, HE, HS, SJ, ML, REML, EB, PM; got 'XX'",
        ),
        ({"test": "t"}, "test must be one of z, knha, adhoc, hksj; got 't'"),
        ({"level": 95}, "level must be a number in (0, 1), e.g. 0.95; got 95"),
        ({"pi_method": "riley"}, "pi_method must be one of default, higgins; got 'riley'"),
        ({"threshold": 0.0}, "threshold must be a positive number; got 0.0"),
        ({"maxiter": 0}, "maxiter must be a positive integer; got 0"),
    ],
)
def test_bad_options_raise(kwargs, message):
    with pytest.raises(ValueError) as err:
        pool(YI, VI, **kwargs)
    assert str(err.value) == message


def test_aliases():
    assert pool(YI, VI, method="FE").method == "EE"
    assert pool(YI, VI, method="reml", test="HKSJ").test == "knha"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_k1_is_the_study_itself(method, test):
    res = pool([0.4], [0.09], method=method, test=test)
    assert res.k == 1
    assert res.estimate == 0.4
    assert res.se == pytest.approx(0.3)
    assert res.test == "z" and math.isnan(res.df)
    assert res.ci_low == pytest.approx(0.4 - 1.959963984540054 * 0.3)
    for name in ("tau2", "tau2_se", "i2", "h2", "q_pval", "pi_low", "pi_high", "tau2_ci_low"):
        assert math.isnan(getattr(res, name)), name
    assert res.q == 0.0 and res.q_df == 0.0
    assert (
        res.notes[0] == "k = 1: single study, not pooled; no heterogeneity or prediction interval"
    )
    assert ("k = 1: z-test used (Hartung-Knapp needs k >= 2)" in res.notes) == (test == "knha")
    assert res.tau2_estimator == "none" and res.pi_method == "none"


def test_k2_note_and_intervals():
    res = pool([0.1, 0.5], [0.02, 0.03])
    assert res.k == 2 and res.df == 1.0
    assert "k = 2: tau2, its CI and the prediction interval are very imprecise" in res.notes
    higgins = pool([0.1, 0.5], [0.02, 0.03], pi_method="higgins")
    assert math.isnan(higgins.pi_low) and higgins.pi_method == "none"
    assert "prediction interval with t(k-2) needs k >= 3" in higgins.notes


def test_boundary_tau2_and_null_set():
    res = pool([0.10, 0.12, 0.09, 0.11, 0.14], [0.010, 0.020, 0.015, 0.012, 0.030], method="DL")
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert "negative moment estimate of tau2 truncated at 0" in res.notes
    assert "tau2 = 0 (boundary of the parameter space)" in res.notes
    assert res.tau2_ci_low == 0.0 and res.tau2_ci_high == 0.0
    assert any("null set" in n for n in res.notes)
    # with tau2 = 0 the PI is the CI widened by nothing but the t quantile
    assert res.pi_low == pytest.approx(res.ci_low)


def test_all_estimates_equal_gives_zero_hksj_scale_without_warnings():
    with np.errstate(all="raise"):
        res = pool([0.3, 0.3, 0.3], [0.01, 0.02, 0.03], method="REML", test="knha")
    assert res.tau2 == 0.0 and res.se == 0.0
    assert res.stat == math.inf and res.pval == 0.0
    assert "Hartung-Knapp scale factor is 0 (no residual heterogeneity): SE = 0" in res.notes


def test_equal_variances_moment_estimators_coincide():
    vi = [0.05] * len(YI)
    values = {m: pool(YI, vi, method=m, threshold=1e-12).tau2 for m in ("DL", "HE", "REML", "PM")}
    assert max(values.values()) - min(values.values()) < 1e-9
    assert "all sampling variances are equal" in pool(YI, vi).notes


def test_non_convergence_falls_back_to_dl():
    res = pool(YI, VI, method="REML", maxiter=1)
    assert not res.converged
    assert res.tau2_estimator == "DL"
    assert res.tau2 == pytest.approx(pool(YI, VI, method="DL").tau2)
    assert "REML did not converge in 1 iterations; tau2 from DL" in res.notes


def test_adhoc_correction_floors_scale_factor():
    yi, vi = [0.10, 0.12, 0.09, 0.11, 0.14], [0.010, 0.020, 0.015, 0.012, 0.030]
    knha = pool(yi, vi, method="DL", test="knha")
    adhoc = pool(yi, vi, method="DL", test="adhoc")
    z = pool(yi, vi, method="DL", test="z")
    assert knha.se < z.se
    assert adhoc.se == pytest.approx(z.se)
    assert adhoc.ci_method == "hksj-adhoc-t(k-1)"
    assert "ad hoc correction applied: Hartung-Knapp scale factor floored at 1" in adhoc.notes


def test_higgins_prediction_interval_is_wider():
    default = pool(YI, VI)
    higgins = pool(YI, VI, pi_method="higgins")
    assert higgins.pi_low < default.pi_low and higgins.pi_high > default.pi_high
    assert higgins.pi_method == "t(k-2)"


def test_common_effect_model():
    res = pool(YI, VI, method="EE", test="z")
    w = 1 / np.asarray(VI)
    assert res.estimate == pytest.approx(np.sum(w * YI) / np.sum(w))
    assert res.tau2 == 0.0 and math.isnan(res.tau2_se) and math.isnan(res.pi_low)
    assert res.i2 == pytest.approx(100 * (res.q - 9) / res.q)
    assert res.h2 == pytest.approx(res.q / 9)
    assert "common-effect model: no prediction interval" in res.notes


@pytest.mark.parametrize("method", METHODS)
def test_location_scale_equivariance(method):
    """Shifting and rescaling the data moves every result accordingly (units do not matter)."""
    a, b = 1e-6, 6.6
    base = pool(YI, VI, method=method, threshold=1e-12)
    moved = pool(a * np.asarray(YI) + b, a**2 * np.asarray(VI), method=method, threshold=1e-12)
    assert moved.estimate == pytest.approx(a * base.estimate + b, rel=1e-12, abs=1e-14)
    assert moved.se == pytest.approx(a * base.se, rel=1e-8)
    assert moved.tau2 == pytest.approx(a**2 * base.tau2, rel=1e-7, abs=1e-20)
    assert moved.i2 == pytest.approx(base.i2, rel=1e-7, abs=1e-9)
    assert moved.q == pytest.approx(base.q, rel=1e-8)
    if method != "EE":
        assert moved.tau2_ci_high == pytest.approx(a**2 * base.tau2_ci_high, rel=1e-8)


def test_q_is_stable_with_extreme_weights():
    """Q for Planck-constant measurements (weights ~1e14) against exact rational arithmetic."""
    h = ["6.62607013300", "6.62607005883", "6.62606993400", "6.626070150", "6.6260704"]
    uh = ["6.00e-08", "1.65e-07", "8.90e-08", "1.2e-07", "6.7e-06"]
    yi = [float(x) for x in h]
    vi = [float(u) ** 2 for u in uh]
    yf = [Fraction(x) for x in yi]  # exact values of the doubles pool receives
    wf = [1 / Fraction(v) for v in vi]
    mu = sum(w * y for w, y in zip(wf, yf, strict=True)) / sum(wf)
    q_exact = float(sum(w * (y - mu) ** 2 for w, y in zip(wf, yf, strict=True)))
    res = pool(yi, vi, method="DL")
    assert res.q == pytest.approx(q_exact, rel=1e-12)
    # the textbook one-pass formula loses most digits here
    w, y = 1 / np.asarray(vi), np.asarray(yi)
    naive = np.sum(w * y**2) - np.sum(w * y) ** 2 / np.sum(w)
    assert abs(naive - q_exact) > 1e-3 * q_exact


def test_very_unequal_weights_note():
    res = pool([0.1, 0.2, 0.3], [1e-9, 0.1, 0.2])
    assert "sampling variances differ by a factor >= 1e7; weights very unequal" in res.notes


def test_no_runtime_warnings_on_degenerate_inputs():
    with np.errstate(all="raise"):
        for method in METHODS:
            for test in ("z", "knha", "adhoc"):
                pool([0.0, 0.0], [1.0, 1.0], method=method, test=test)
                pool([1.0], [1.0], method=method, test=test)
