"""Property-based tests of pool, pool_many and bayes_pool (hypothesis).

Properties: invariance to the order of the studies, equivariance under a shift of the effects,
symmetry under a sign flip, tau^2 >= 0 and 0 <= I^2 < 100, the prediction interval containing
the CI, finite results on every valid input (extreme variances, identical effects), and
pool_many equal to pool on random batches. Example counts are kept small so that the file
runs in seconds.

Tolerances follow ``tests/tolerances.py``: reordering, shifting or flipping the data can change
the path of an iterative tau^2 estimator, whose stopping rule leaves a slack of about
``threshold = 1e-5`` relative to the typical within-study variance (ITERATIVE_*); closed-form
estimators and the Bayesian integration agree to rounding (a few 1e-9 after cancellation), so
they get the tighter PERMUTE tolerance below. Absolute tolerances are scaled by the data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.tolerances import ITERATIVE_DERIVED

from ldn_evidence.meta import POOL_FIELDS, bayes_pool, pool, pool_many

#: closed forms and the Bayesian grid under permutation / shift / flip: rounding only
PERMUTE = {"rtol": 1e-7, "atol": 1e-9}

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

# ----------------------------------------------------------------------------- strategies

# log10 of a sampling variance: ordinary range, plus extreme ratios in some examples
_log_v = st.floats(min_value=-3.0, max_value=1.0)
_log_v_extreme = st.floats(min_value=-8.0, max_value=6.0)


@st.composite
def meta_data(draw, min_k=1, max_k=8, extreme=True):
    k = draw(st.integers(min_value=min_k, max_value=max_k))
    logs = st.one_of(_log_v, _log_v_extreme) if extreme else _log_v
    v = np.array([10.0 ** draw(logs) for _ in range(k)])
    if draw(st.booleans()) and k > 1 and draw(st.integers(0, 3)) == 0:
        y = np.full(k, draw(st.floats(min_value=-5, max_value=5)))  # identical effects
    else:
        y = np.array([draw(st.floats(min_value=-5.0, max_value=5.0)) for _ in range(k)])
    return y, v


def _scale(y, v) -> float:
    return float(np.sqrt(v.max()) + np.ptp(y) + 1e-300)


def _close(a, b, tol, scale, what=""):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b), (what, a, b)
        return
    if math.isinf(a) or math.isinf(b):
        assert a == b, (what, a, b)
        return
    assert abs(a - b) <= tol["atol"] * scale + tol["rtol"] * max(abs(a), abs(b)), (what, a, b)


# ----------------------------------------------------------------------------- pool

POOL_METHODS = ("DL", "REML")
_POOL_MEAN = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")


def _tol(method):
    return PERMUTE if method == "DL" else ITERATIVE_DERIVED


@FAST
@given(data=meta_data(), method=st.sampled_from(POOL_METHODS), seed=st.integers(0, 2**16))
def test_pool_order_invariance(data, method, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a, b = pool(y, v, method=method), pool(y[perm], v[perm], method=method)
    s = _scale(y, v)
    for name in (*_POOL_MEAN, "se"):
        _close(getattr(a, name), getattr(b, name), _tol(method), s, name)
    _close(a.tau2, b.tau2, _tol(method), s * s, "tau2")


@FAST
@given(
    data=meta_data(),
    method=st.sampled_from(POOL_METHODS),
    shift=st.floats(min_value=-50, max_value=50),
)
def test_pool_shift_equivariance(data, method, shift):
    y, v = data
    a, b = pool(y, v, method=method), pool(y + shift, v, method=method)
    s = _scale(y, v) + abs(shift) * 1e-6  # rounding of y + shift
    for name in _POOL_MEAN:
        _close(getattr(a, name) + shift, getattr(b, name), _tol(method), s, name)
    _close(a.tau2, b.tau2, _tol(method), s * s, "tau2")
    _close(a.se, b.se, _tol(method), s, "se")


@FAST
@given(data=meta_data(), method=st.sampled_from(POOL_METHODS))
def test_pool_sign_flip(data, method):
    y, v = data
    a, b = pool(y, v, method=method), pool(-y, v, method=method)
    s = _scale(y, v)
    tol = _tol(method)
    _close(a.estimate, -b.estimate, tol, s, "estimate")
    _close(a.ci_low, -b.ci_high, tol, s, "ci")
    _close(a.pi_low, -b.pi_high, tol, s, "pi")
    _close(a.tau2, b.tau2, tol, s * s, "tau2")


@FAST
@given(data=meta_data(), method=st.sampled_from((*POOL_METHODS, "PM", "EB", "SJ", "HE")))
def test_pool_ranges_and_finiteness(data, method):
    y, v = data
    r = pool(y, v, method=method)
    assert np.isfinite([r.estimate, r.se, r.ci_low, r.ci_high]).all()
    assert r.ci_low <= r.estimate <= r.ci_high
    if r.k >= 2:
        assert np.isfinite(r.tau2) and r.tau2 >= 0
        assert 0 <= r.i2 < 100
    if np.isfinite(r.pi_low):
        # relative slack for rounding when tau^2 = 0 makes the two intervals coincide
        eps = 1e-12 * (abs(r.ci_low) + abs(r.ci_high) + r.se)
        assert r.pi_low <= r.ci_low + eps and r.pi_high >= r.ci_high - eps


def test_pool_reml_identical_effects_extreme_variances():
    # Found by the properties above: with variances 1e5 and 1.88e-7 (ratio 5e11) the REML
    # information tr(PP) underflows to 0. The estimate stays exact, tau^2 = 0, and the SE of
    # tau^2, which does not exist numerically, is NaN rather than inf (and no warning).
    r = pool(np.array([0.0, 0.0]), np.array([1e5, 1.8789852661499484e-07]), method="REML")
    assert (r.estimate, r.tau2) == (0.0, 0.0)
    assert np.isnan(r.tau2_se)
    assert np.isfinite([r.ci_low, r.ci_high]).all()


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(POOL_METHODS),
)
def test_pool_many_equals_pool(sizes, seed, method):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    v = 10.0 ** rng.uniform(-3, 1, g.size)
    y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.1, 1.0])))
    frame = pd.DataFrame({"g": g, "yi": y, "vi": v}).sample(frac=1.0, random_state=seed)
    out = pool_many(frame, "g", method=method)
    for _, row in out.iterrows():
        sub = frame[frame["g"] == row["g"]]
        r = pool(sub["yi"].to_numpy(), sub["vi"].to_numpy(), method=method)
        for name in POOL_FIELDS:
            ref = getattr(r, name)
            if isinstance(ref, float):
                _close(row[name], ref, {"rtol": 1e-8, "atol": 1e-12}, 1.0, name)
            else:
                assert row[name] == ref, name


# ----------------------------------------------------------------------------- bayes_pool

_BAYES = ("mu_median", "mu_ci_low", "mu_ci_high", "pred_low", "pred_high")
PRIORS = (
    {"tau_prior": "halfnormal", "tau_scale": 0.5},
    {"tau_prior": "halfcauchy", "tau_scale": 1.0},
    {"tau_prior": ("turner", "any")},
    {"tau_prior": ("rhodes", "any")},
    {"tau_prior": "halfnormal", "tau_scale": 0.5, "mu_prior": (0.0, 3.0)},
)


@FAST
@given(data=meta_data(), prior=st.sampled_from(PRIORS), seed=st.integers(0, 2**16))
def test_bayes_order_invariance(data, prior, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a, b = bayes_pool(y, v, **prior), bayes_pool(y[perm], v[perm], **prior)
    s = _scale(y, v) + a.tau_upper95
    for name in (*_BAYES, "mu_mean", "mu_sd", "tau_median", "tau_upper95", "prob_mu_positive"):
        _close(getattr(a, name), getattr(b, name), PERMUTE, s, name)


@FAST
@given(
    data=meta_data(),
    prior=st.sampled_from(PRIORS[:4]),
    shift=st.floats(min_value=-50, max_value=50),
)
def test_bayes_shift_equivariance(data, prior, shift):
    # with the flat prior on mu, shifting every effect shifts the posterior of mu
    y, v = data
    a, b = bayes_pool(y, v, **prior), bayes_pool(y + shift, v, **prior)
    s = _scale(y, v) + a.tau_upper95 + abs(shift) * 1e-6
    for name in (*_BAYES, "mu_mean"):
        _close(getattr(a, name) + shift, getattr(b, name), PERMUTE, s, name)
    for name in ("tau_median", "tau_upper95", "mu_sd"):
        _close(getattr(a, name), getattr(b, name), PERMUTE, s, name)


@FAST
@given(data=meta_data(), prior=st.sampled_from(PRIORS))
def test_bayes_sign_flip(data, prior):
    y, v = data
    a, b = bayes_pool(y, v, **prior), bayes_pool(-y, v, **prior)
    s = _scale(y, v) + a.tau_upper95
    _close(a.mu_median, -b.mu_median, PERMUTE, s, "median")
    _close(a.mu_ci_low, -b.mu_ci_high, PERMUTE, s, "ci")
    _close(a.pred_low, -b.pred_high, PERMUTE, s, "pred")
    _close(a.prob_mu_positive, 1.0 - b.prob_mu_positive, PERMUTE, 1.0, "P(mu > 0)")
    _close(a.tau_median, b.tau_median, PERMUTE, s, "tau")


@FAST
@given(data=meta_data(), prior=st.sampled_from(PRIORS))
def test_bayes_ranges_and_finiteness(data, prior):
    y, v = data
    r = bayes_pool(y, v, **prior)
    vals = [r.mu_median, r.mu_ci_low, r.mu_ci_high, r.tau_median, r.tau_upper95]
    vals += [r.pred_low, r.pred_high, r.prob_mu_positive]
    assert np.isfinite(vals).all()
    assert r.mu_ci_low <= r.mu_median <= r.mu_ci_high
    assert 0.0 <= r.tau_median <= r.tau_upper95
    assert 0.0 <= r.prob_mu_positive <= 1.0
    eps = 1e-9 * (abs(r.mu_ci_low) + abs(r.mu_ci_high) + r.mu_ci_high - r.mu_ci_low)
    assert r.pred_low <= r.mu_ci_low + eps and r.pred_high >= r.mu_ci_high - eps
    assert math.isnan(r.mu_mean) or np.isfinite(r.mu_mean)
    assert r.mu_sd > 0
