"""bayes_pool / bayes_pool_many: analytic cases, brute-force 2-D quadrature, edge cases, errors.

The comparisons with R's bayesmeta are in ``tests/reference/test_bayes_bayesmeta.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import ldn_evidence.meta.bayes as bayes_module
from ldn_evidence.meta import (
    BAYES_FIELDS,
    BayesPoolResult,
    bayes_pool,
    bayes_pool_many,
    bayes_prob_above,
)
from ldn_evidence.meta.bayes_priors import (
    RHODES_LOCATION,
    RHODES_SCALE,
    TURNER_MEAN,
    TURNER_OUTCOMES,
    TURNER_SD,
    make_tau_prior,
)

#: brute-force quadrature vs the engine (probabilities and moments): both are accurate to
#: ~1e-10; the margin covers the brute-force grid (1000 x 1000 Gauss-Legendre nodes).
BRUTE = {"rtol": 1e-8, "atol": 1e-8}
#: bayes_pool_many vs bayes_pool: the same arithmetic on the same grid.
BATCH = {"rtol": 1e-8, "atol": 1e-10}

NUMERIC = BAYES_FIELDS[1:11]

CRINS_Y = np.array([-2.3097, -0.4855, -0.6633, -0.4193])
CRINS_V = np.array([0.5610, 0.2180, 0.4087, 0.2497])


# ----------------------------------------------------------------------------- k = 1


def test_k1_tau_posterior_is_the_prior_halfnormal():
    r = bayes_pool([0.3], [0.04], tau_prior="halfnormal", tau_scale=0.5)
    assert r.k == 1
    assert r.tau_median == pytest.approx(0.5 * special.ndtri(0.75), rel=1e-8)
    assert r.tau_upper95 == pytest.approx(0.5 * special.ndtri(0.975), rel=1e-8)
    assert any("k = 1" in n for n in r.notes)
    # mu | tau ~ N(y, v + tau^2): symmetric about y, E mu = y
    assert r.mu_median == pytest.approx(0.3, abs=1e-12)
    assert r.mu_mean == pytest.approx(0.3, abs=1e-12)
    assert r.mu_ci_low + r.mu_ci_high == pytest.approx(0.6, abs=1e-10)
    # Var(mu) = v + E tau^2 = v + s^2
    assert r.mu_sd == pytest.approx(math.sqrt(0.04 + 0.25), rel=1e-9)


@pytest.mark.parametrize(("i", "j"), [(0, 0), (11, 0), (15, 4), (8, 3)])
def test_k1_turner_prior_is_lognormal_on_tau2(i, j):
    r = bayes_pool([0.1], [0.05], tau_prior=("turner", TURNER_OUTCOMES[i], "pharma_vs_placebo"))
    m, s = TURNER_MEAN[i, 0], TURNER_SD[i, 0]
    # log(tau^2) ~ N(m, s^2)  =>  tau quantile q = exp((m + s z_q) / 2)
    assert r.tau_median == pytest.approx(math.exp(m / 2), rel=1e-8)
    assert r.tau_upper95 == pytest.approx(math.exp((m + s * special.ndtri(0.95)) / 2), rel=1e-8)
    # Var(mu) = v + E tau^2 = v + exp(m + s^2 / 2)
    assert r.mu_sd == pytest.approx(math.sqrt(0.05 + math.exp(m + s * s / 2)), rel=1e-8)
    assert "lognormal" not in r.tau_prior and r.tau_prior.startswith("turner/")
    del j


def test_k1_rhodes_prior_is_log_t_on_tau2():
    r = bayes_pool([0.1], [0.05], tau_prior=("rhodes", "mental_health", "pharma_vs_placebo"))
    loc, sc = RHODES_LOCATION[0, 5, 0], RHODES_SCALE[0, 5, 0]
    q95 = math.exp((loc + sc * stats.t.ppf(0.95, 5)) / 2)
    assert r.tau_median == pytest.approx(math.exp(loc / 2), rel=1e-8)
    assert r.tau_upper95 == pytest.approx(q95, rel=1e-7)
    # E tau = inf under a log-t prior: with one study the mean of mu does not exist
    assert math.isnan(r.mu_mean) and math.isinf(r.mu_sd)
    assert any("does not exist" in n for n in r.notes)


def test_k1_halfcauchy_has_no_mean():
    r = bayes_pool([0.1], [0.05], tau_prior="halfcauchy", tau_scale=0.5)
    assert r.tau_median == pytest.approx(0.5, rel=1e-9)  # median of half-Cauchy(s) is s
    assert r.tau_upper95 == pytest.approx(0.5 * math.tan(0.95 * math.pi / 2), rel=1e-8)
    assert math.isnan(r.mu_mean)


# ----------------------------------------------------------------------------- brute force


def _brute(y, v, log_prior_tau, tau_max, mu_prior=None, n=1000, u_range=None, mu_range=None):
    """Dense 2-D Gauss-Legendre quadrature of the joint posterior of (mu, tau).

    Every integral runs over a rectangle [mu_a, mu_b] x [tau_a, tau_b] with n x n nodes
    (tau = tau_a + (tau_b - tau_a) s^2, dense near tau_a); CDFs split the rectangle at the point
    asked for, so that no integrand has a jump. Returns CDFs of mu, tau and the predictive
    distribution, and the mean and sd of mu. With ``u_range`` the tau integrals run over
    ``u = log(tau)`` in that range instead (for priors unbounded at tau = 0).
    """
    y, v = np.asarray(y, float), np.asarray(v, float)
    xg, wg = special.roots_legendre(n)

    def logjoint(mu, t):  # (M,) x (T,) -> (M, T)
        var = v[None, :] + (t * t)[:, None]  # (T, k)
        a = (y * y / var).sum(axis=1)
        b = (y / var).sum(axis=1)
        c = (1.0 / var).sum(axis=1)
        # sum_i (y_i - mu)^2 / var_i = a - 2 mu b + mu^2 c
        quad = a[None, :] - 2.0 * mu[:, None] * b[None, :] + (mu * mu)[:, None] * c[None, :]
        lj = -0.5 * (np.log(var).sum(axis=1)[None, :] + quad)
        lj = lj + log_prior_tau(t)[None, :]
        if mu_prior is not None:
            lj = lj - 0.5 * ((mu - mu_prior[0]) / mu_prior[1])[:, None] ** 2
        return lj

    centre = np.average(y, weights=1 / v)
    shift = logjoint(np.array([centre]), np.linspace(1e-3, tau_max, 200)).max()

    def integrate(mu_a, mu_b, tau_a, tau_b, f=None):
        if u_range is None:
            s = (xg + 1) / 2
            t = tau_a + (tau_b - tau_a) * s * s
            wt = wg / 2 * (tau_b - tau_a) * 2 * s
        else:
            ua = u_range[0] if tau_a == 0.0 else math.log(tau_a)
            ub = min(u_range[1], math.log(tau_b))
            u = (ub - ua) / 2 * xg + (ua + ub) / 2
            t = np.exp(u)
            wt = wg * (ub - ua) / 2 * t
        mu = (mu_b - mu_a) / 2 * xg + (mu_a + mu_b) / 2
        wm = wg * (mu_b - mu_a) / 2
        j = np.exp(logjoint(mu, t) - shift)
        if f is not None:
            j = j * f(mu[:, None], t[None, :])
        return float((wm[:, None] * wt[None, :] * j).sum())

    # mu range: 12 sd of a study at tau = tau_max / 2.7 (the prior's ~3 sd point): wide enough
    # for the tails, narrow enough for the nodes to resolve a concentrated posterior
    sd = math.sqrt(v.max() + (tau_max / 2.7) ** 2)
    lo, hi = (y.min() - 12 * sd, y.max() + 12 * sd) if mu_range is None else mu_range
    total = integrate(lo, hi, 0.0, tau_max)

    def cdf_mu(x):
        return integrate(lo, x, 0.0, tau_max) / total

    def cdf_tau(t0):
        return integrate(lo, hi, 0.0, t0) / total

    def cdf_pred(x):
        def f(mu, t):
            return special.ndtr((x - mu) / np.maximum(t, 1e-300))

        return (integrate(lo, x, 0.0, tau_max, f) + integrate(x, hi, 0.0, tau_max, f)) / total

    def moments():
        m1 = integrate(lo, hi, 0.0, tau_max, lambda mu, t: mu) / total
        m2 = integrate(lo, hi, 0.0, tau_max, lambda mu, t: (mu - m1) ** 2) / total
        return m1, math.sqrt(m2)

    return cdf_mu, cdf_tau, cdf_pred, moments


def _hn(scale):
    return lambda t: -0.5 * (t / scale) ** 2


def _rhodes_any(t):
    z = (np.log(t) + 1.72) / 1.295
    return stats.t.logpdf(z, 5) - math.log(1.295) - np.log(t)


BRUTE_CASES = [
    (
        "crins4_hn",
        CRINS_Y,
        CRINS_V,
        dict(tau_prior="halfnormal", tau_scale=0.5),
        _hn(0.5),
        4.0,
        None,
    ),
    (
        "crins2_hn1",
        CRINS_Y[:2],
        CRINS_V[:2],
        dict(tau_prior="halfnormal", tau_scale=1.0),
        _hn(1.0),
        8.0,
        None,
    ),
    (
        "three_hn_normal_mu",
        [0.1, 0.3, 0.2],
        [0.01, 0.02, 0.04],
        dict(tau_prior="halfnormal", tau_scale=0.5, mu_prior=(0.0, 1.0)),
        _hn(0.5),
        4.0,
        (0.0, 1.0),
    ),
    (
        "identical",
        [0.4, 0.4, 0.4],
        [0.02, 0.05, 0.1],
        dict(tau_prior="halfnormal", tau_scale=0.3),
        _hn(0.3),
        2.4,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "y", "v", "kw", "logprior", "tau_max", "mp"),
    BRUTE_CASES,
    ids=[c[0] for c in BRUTE_CASES],
)
def test_against_brute_force_2d_quadrature(name, y, v, kw, logprior, tau_max, mp):
    r = bayes_pool(y, v, **kw)
    cdf_mu, cdf_tau, cdf_pred, moments = _brute(y, v, logprior, tau_max, mp)
    # the engine's quantiles are where the brute-force CDFs reach the level
    got = [cdf_mu(r.mu_median), cdf_mu(r.mu_ci_low), cdf_mu(r.mu_ci_high), 1 - cdf_mu(0.0)]
    got += [cdf_tau(r.tau_median), cdf_tau(r.tau_upper95)]
    got += [cdf_pred(r.pred_low), cdf_pred(r.pred_high)]
    want = [0.5, 0.025, 0.975, r.prob_mu_positive, 0.5, 0.95, 0.025, 0.975]
    np.testing.assert_allclose(got, want, rtol=0, atol=BRUTE["atol"])
    np.testing.assert_allclose(moments(), [r.mu_mean, r.mu_sd], **BRUTE)


def test_rhodes_prior_against_brute_force_in_log_tau():
    # the log-t density of tau is unbounded at 0: integrate over u = log(tau) in
    # [-80, log 300] (posterior mass outside ~1e-9) and mu over [-40, 40]
    y, v = CRINS_Y, CRINS_V
    r = bayes_pool(y, v, tau_prior=("rhodes", "any"))
    cdf_mu, cdf_tau, _, moments = _brute(
        y, v, _rhodes_any, 300.0, n=2500, u_range=(-80.0, math.log(300.0)), mu_range=(-40.0, 40.0)
    )
    got = [cdf_mu(r.mu_median), cdf_mu(r.mu_ci_low), cdf_mu(r.mu_ci_high), 1 - cdf_mu(0.0)]
    got += [cdf_tau(r.tau_median), cdf_tau(r.tau_upper95)]
    want = [0.5, 0.025, 0.975, r.prob_mu_positive, 0.5, 0.95]
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-8)
    m1, sd = moments()
    assert m1 == pytest.approx(r.mu_mean, rel=1e-7)
    # Var(mu) has a slowly converging tail in tau (E tau^2 barely finite at k = 4 under log-t)
    # that the truncated brute-force rectangle misses: a loose check only
    assert sd == pytest.approx(r.mu_sd, rel=1e-3)


# ----------------------------------------------------------------------------- grid accuracy


@pytest.mark.parametrize(
    ("y", "v", "kw"),
    [
        (CRINS_Y, CRINS_V, dict(tau_prior="halfcauchy", tau_scale=0.5)),
        ([-608.4, 343.7], [25822.6, 45763.0], dict(tau_prior=("rhodes", "any"))),  # bimodal
        ([0.1, 0.5, 0.2, 0.9, 0.0], [1e-8, 1e-2, 1e2, 1e-4, 1.0], dict(tau_prior="uniform")),
        ([1.0, 1.0], [1e-10, 1e10], dict(tau_prior=("turner", "any"))),
    ],
)
def test_finer_grid_changes_nothing(monkeypatch, y, v, kw):
    base = bayes_pool(y, v, **kw)
    monkeypatch.setattr(bayes_module, "N_NODES", 1025)
    fine = bayes_pool(y, v, **kw)
    for name in NUMERIC:
        a, b = getattr(base, name), getattr(fine, name)
        if not np.isfinite(a):
            assert a == b or (math.isnan(a) and math.isnan(b)), name
            continue
        scale = max(abs(b), base.tau_upper95, 1e-300)
        assert abs(a - b) <= 1e-8 * scale, (name, a, b)


# ----------------------------------------------------------------------------- edge cases


def test_uniform_prior_propriety():
    with pytest.raises(ValueError, match="improper posterior for k = 2"):
        bayes_pool([0.1, 0.2], [0.01, 0.02], tau_prior="uniform")
    with pytest.raises(ValueError, match="k >= 2"):
        bayes_pool([0.1], [0.01], tau_prior="uniform", mu_prior=(0, 1))
    r = bayes_pool([0.1, 0.2], [0.01, 0.02], tau_prior="uniform", mu_prior=(0.0, 1.0))
    assert np.isfinite(r.mu_mean) and np.isfinite(r.tau_median)
    # flat mu prior: E|mu| needs k >= 4, Var(mu) k >= 5
    r3 = bayes_pool([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], tau_prior="uniform")
    r4 = bayes_pool([0.1, 0.2, 0.4, 0.3], [0.01, 0.02, 0.03, 0.01], tau_prior="uniform")
    r5 = bayes_pool([0.1, 0.2, 0.4, 0.3, 0.0], [0.01, 0.02, 0.03, 0.01, 0.02], tau_prior="uniform")
    assert math.isnan(r3.mu_mean) and math.isinf(r3.mu_sd)
    assert np.isfinite(r4.mu_mean) and math.isinf(r4.mu_sd)
    assert np.isfinite(r5.mu_mean) and np.isfinite(r5.mu_sd)


@pytest.mark.parametrize(
    ("y", "v"),
    [
        ([0.5, 0.5, 0.5, 0.5], [0.1, 0.1, 0.1, 0.1]),
        ([0.0, 1e-12], [1e-12, 1e12]),
        ([3.0, -2.0, 1.0], [1e-9, 1e-9, 1e-9]),
        ([1e6, 1e6 + 1.0], [1.0, 2.0]),
        ([0.2, 0.1], [1e-300, 1e-300]),
    ],
)
@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_prior="halfnormal", tau_scale=0.5),
        dict(tau_prior="halfcauchy", tau_scale=1.0),
        dict(tau_prior=("turner", "any")),
        dict(tau_prior=("rhodes", "pain" if False else "general_physical_health", "nonpharma")),
        dict(tau_prior="halfnormal", tau_scale=0.5, mu_prior=(0.0, 10.0)),
    ],
)
def test_extreme_inputs_give_finite_ordered_results(y, v, kw):
    r = bayes_pool(y, v, **kw)
    vals = [r.mu_median, r.mu_ci_low, r.mu_ci_high, r.tau_median, r.tau_upper95]
    vals += [r.pred_low, r.pred_high, r.prob_mu_positive]
    assert all(np.isfinite(vals))
    assert r.mu_ci_low <= r.mu_median <= r.mu_ci_high
    assert r.pred_low <= r.mu_ci_low + 1e-9 * abs(r.mu_ci_low) + 1e-300
    assert r.pred_high >= r.mu_ci_high - 1e-9 * abs(r.mu_ci_high) - 1e-300
    assert 0 <= r.tau_median <= r.tau_upper95
    assert 0.0 <= r.prob_mu_positive <= 1.0


def test_identical_effects_centre_on_the_common_value():
    r = bayes_pool([0.7] * 4, [0.02, 0.05, 0.03, 0.1])
    assert r.mu_median == pytest.approx(0.7, abs=1e-12)
    assert r.mu_mean == pytest.approx(0.7, abs=1e-12)


@pytest.mark.parametrize(
    ("y", "v", "msg"),
    [
        ([0.1, float("nan")], [0.1, 0.1], r"yi\[1\] must be finite"),
        ([0.1, float("inf")], [0.1, 0.1], r"yi\[1\] must be finite"),
        ([0.1, 0.2], [0.1, 0.0], r"vi\[1\] must be finite and > 0"),
        ([0.1, 0.2, 0.3], [-1.0, 0.1, 0.1], r"vi\[0\] must be finite and > 0"),
        ([0.1, 0.2], [0.1, float("inf")], r"vi\[1\]"),
        ([0.1, 0.2], [float("nan"), 0.1], r"vi\[0\]"),
        ([], [], "at least one"),
        ([0.1, 0.2], [0.1], "same length"),
    ],
)
def test_bad_inputs_name_the_position(y, v, msg):
    with pytest.raises(ValueError, match=msg):
        bayes_pool(y, v)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        (dict(tau_prior="gamma"), "unknown tau_prior"),
        (dict(tau_prior="halfnormal", tau_scale=0.0), "tau_scale"),
        (dict(tau_prior="halfcauchy", tau_scale=None), "tau_scale"),
        (dict(tau_prior=("turner", "pain")), "turner"),
        (dict(tau_prior=("turner", "pain", "drug_vs_drug")), "Turner comparison"),
        (dict(tau_prior=("turner", "sleep", "pharma_vs_placebo")), "Turner outcome"),
        (dict(tau_prior=("rhodes", "pain", "nonpharma")), "Rhodes outcome"),
        (dict(tau_prior=("rhodes", "mental_health", "nonpharma", "dermatology")), "area"),
        (dict(tau_prior=("jeffreys",)), "family"),
        (dict(mu_prior=(0.0, 0.0)), "mu_prior"),
        (dict(mu_prior=(0.0,)), "mu_prior"),
        (dict(level=1.0), "level"),
        (dict(thresholds=[float("nan")]), "thresholds"),
    ],
)
def test_bad_options(kw, msg):
    with pytest.raises(ValueError, match=msg):
        bayes_pool([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], **kw)


def test_empirical_prior_notes_and_flags():
    r = bayes_pool(CRINS_Y, CRINS_V, tau_prior=("turner", "surgical_device", "pharma_vs_placebo"))
    assert r.tau_prior == "turner/surgical_device/pharma_vs_placebo"
    assert math.isnan(r.tau_scale)
    assert any("Turner et al. (2015" in n and "N(-2.14, 1.74^2)" in n for n in r.notes)
    flagged = bayes_pool(CRINS_Y, CRINS_V, tau_prior=("rhodes", "mental_health", "nonpharma"))
    assert any("-2.85 expected" in n for n in flagged.notes)
    resp = make_tau_prior(("rhodes", "obstetric", "pharma_vs_pharma", "respiratory"), None)
    assert resp.loc_u == pytest.approx(-6.31 / 2) and resp.scale_u == pytest.approx(2.31 / 2)


def test_level_changes_intervals_only():
    a = bayes_pool(CRINS_Y, CRINS_V, level=0.95)
    b = bayes_pool(CRINS_Y, CRINS_V, level=0.8)
    assert b.mu_ci_low > a.mu_ci_low and b.mu_ci_high < a.mu_ci_high
    assert b.pred_low > a.pred_low
    assert (a.mu_median, a.tau_median, a.tau_upper95) == (b.mu_median, b.tau_median, b.tau_upper95)


# ----------------------------------------------------------------------------- thresholds


def test_prob_above():
    r = bayes_pool(CRINS_Y, CRINS_V, thresholds=[0.0, -0.5, 0.2])
    assert isinstance(r, BayesPoolResult)
    assert r.prob_mu_above[0.0] == pytest.approx(r.prob_mu_positive, abs=1e-15)
    assert bayes_prob_above(r, 0.0) == pytest.approx(r.prob_mu_positive, abs=1e-15)
    assert bayes_prob_above(r, -0.5) == pytest.approx(r.prob_mu_above[-0.5], abs=1e-15)
    got = bayes_prob_above(r, [r.mu_median, r.mu_ci_low, r.mu_ci_high])
    np.testing.assert_allclose(got, [0.5, 0.975, 0.025], atol=1e-10)
    vals = bayes_prob_above(r, np.linspace(-3, 3, 25))
    assert np.all(np.diff(vals) <= 0)
    with pytest.raises(ValueError, match="finite"):
        bayes_prob_above(r, float("nan"))


# ----------------------------------------------------------------------------- batch


def _batch(seed: int, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 9, n)
    k[:3] = [1, 2, 5]
    g = np.repeat(np.arange(n), k)
    vi = rng.uniform(0.005, 0.3, g.size)
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.5], n)[g]
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    yi[g == 3] = 0.25
    frame = pd.DataFrame({"g": rng.permutation(n)[g], "h": g % 2, "yi": yi, "vi": vi})
    frame["mid"] = 0.1 * (frame["g"] % 3)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_prior="halfnormal", tau_scale=0.5),
        dict(tau_prior="halfcauchy", tau_scale=0.3, mu_prior=(0.0, 2.0)),
        dict(tau_prior=("turner", "pain", "nonpharma_vs_placebo"), level=0.9),
        dict(tau_prior=("rhodes", "any")),
    ],
)
def test_many_equals_single(kw):
    frame = _batch(3)
    out = bayes_pool_many(frame, ["g", "h"], thresholds=[0.0, 0.2], **kw)
    assert list(out.columns) == ["g", "h", *BAYES_FIELDS, "prob_mu_above_0", "prob_mu_above_0.2"]
    keys = list(zip(out["g"], out["h"], strict=True))
    assert keys == sorted(keys)
    for _, row in out.iterrows():
        sub = frame[(frame["g"] == row["g"]) & (frame["h"] == row["h"])]
        r = bayes_pool(sub["yi"], sub["vi"], thresholds=[0.0, 0.2], **kw)
        assert row["k"] == r.k
        for name in NUMERIC:
            np.testing.assert_allclose(row[name], getattr(r, name), **BATCH, err_msg=name)
        np.testing.assert_allclose(row["prob_mu_above_0.2"], r.prob_mu_above[0.2], **BATCH)
        assert row["notes"] == r.notes
        assert row["tau_prior"] == r.tau_prior
        assert row["mu_prior"] == r.mu_prior


def test_many_threshold_column_and_errors():
    frame = _batch(5)
    out = bayes_pool_many(frame, "g", thresholds="mid")
    for _, row in out.iloc[:6].iterrows():
        sub = frame[frame["g"] == row["g"]]
        r = bayes_pool(sub["yi"], sub["vi"])
        t = float(sub["mid"].iloc[0])
        np.testing.assert_allclose(row["prob_mu_above_threshold"], bayes_prob_above(r, t), **BATCH)
    bad = frame.copy()
    bad.loc[bad.index[bad["g"] == 0][0], "mid"] = 9.0
    if (bad["g"] == 0).sum() > 1:
        with pytest.raises(ValueError, match="varies within a group"):
            bayes_pool_many(bad, "g", thresholds="mid")
    bad = frame.copy()
    bad.loc[7, "vi"] = -1.0
    with pytest.raises(ValueError, match=r"column 'vi' at row 7 \(group"):
        bayes_pool_many(bad, "g")
    bad.loc[7, "vi"] = 0.1
    bad.loc[9, "yi"] = np.nan
    with pytest.raises(ValueError, match=r"column 'yi' at row 9"):
        bayes_pool_many(bad, "g")
    with pytest.raises(KeyError, match="nope"):
        bayes_pool_many(frame, "nope")
    with pytest.raises(ValueError, match="improper"):
        bayes_pool_many(frame, "g", tau_prior="uniform")
    with pytest.raises(ValueError, match="no rows"):
        bayes_pool_many(frame.iloc[:0], "g")


def test_many_is_deterministic_and_order_free():
    frame = _batch(8)
    a = bayes_pool_many(frame, "g")
    b = bayes_pool_many(frame.sample(frac=1.0, random_state=1), "g")
    pd.testing.assert_frame_equal(a[["g", "k"]], b[["g", "k"]])
    np.testing.assert_allclose(
        a[list(NUMERIC)].to_numpy(), b[list(NUMERIC)].to_numpy(), rtol=1e-9, atol=1e-12
    )
