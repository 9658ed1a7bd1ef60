"""Unit tests of ldn_evidence.meta.metareg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldn_evidence.meta import pool
from ldn_evidence.meta.metareg import meta_regression, moderator_matrix

YI = np.array([0.1, 0.3, 0.35, 0.6, 0.8, 0.2, 0.5, 0.9])
VI = np.array([0.04, 0.05, 0.03, 0.06, 0.05, 0.04, 0.02, 0.07])
MODS = pd.DataFrame(
    {
        "dose_mg": [1.5, 3.0, 3.0, 4.5, 4.5, 1.5, 3.0, 4.5],
        "duration_wk": [8, 12, 8, 12, 16, 8, 16, 12],
    }
)


def test_result_records_method_test_and_engine():
    res = meta_regression(YI, VI, MODS)
    assert (res.method, res.test, res.k, res.p) == ("REML", "knha", 8, 3)
    assert res.names == ("intercept", "dose_mg", "duration_wk")
    assert res.engine.startswith("PyMARE 0.0.13 VarianceBasedLikelihoodEstimator(method='REML'")
    assert res.df == 5 and res.qm_dist == "F" and res.qm_df == (2, 5) and res.qe_df == 5
    frame = res.to_frame()
    assert list(frame["term"]) == list(res.names)
    assert res.coefficient("dose_mg")["estimate"] == res.coef[1]
    with pytest.raises(KeyError, match="no coefficient 'age'"):
        res.coefficient("age")


def test_intercept_only_matches_pool():
    empty = pd.DataFrame(index=range(YI.size))
    for method, test in (("DL", "z"), ("REML", "knha"), ("EE", "z")):
        res = meta_regression(YI, VI, empty, method=method, test=test)
        ref = pool(YI, VI, method=method, test=test, threshold=1e-10, maxiter=1000)
        assert res.coef[0] == pytest.approx(ref.estimate, rel=1e-7)
        assert res.se[0] == pytest.approx(ref.se, rel=1e-6)
        assert res.tau2 == pytest.approx(ref.tau2, rel=1e-6, abs=1e-10)
        assert res.qe == pytest.approx(ref.q, rel=1e-10)
        assert np.isnan(res.qm) and res.qm_dist == "none"


def test_adhoc_never_narrower_than_z_scaled():
    knha = meta_regression(YI, VI, MODS[["dose_mg"]], method="DL", test="knha")
    adhoc = meta_regression(YI, VI, MODS[["dose_mg"]], method="DL", test="adhoc")
    z = meta_regression(YI, VI, MODS[["dose_mg"]], method="DL", test="z")
    assert adhoc.se[1] == pytest.approx(max(knha.se[1], z.se[1]), rel=1e-10)
    assert z.df is None and z.qm_dist == "chi2"


def test_categorical_moderators_are_treatment_coded():
    mods = pd.DataFrame(
        {"design": ["rct", "xover", "rct", "single", "rct", "xover", "rct", "single"]}
    )
    X, names = moderator_matrix(mods)
    assert names == ["design[single]", "design[xover]"]
    assert X.shape == (8, 2) and X[:, 0].sum() == 2
    cat = pd.DataFrame({"g": pd.Categorical(["b", "a", "b"], categories=["b", "a", "c"])})
    assert moderator_matrix(cat)[1] == ["g[a]"]


def test_errors():
    with pytest.raises(ValueError, match="method 'PM' is not available for meta-regression"):
        meta_regression(YI, VI, MODS, method="PM")
    with pytest.raises(ValueError, match="test 't' is not one of"):
        meta_regression(YI, VI, MODS, test="t")
    with pytest.raises(ValueError, match=r"moderator 'dose_mg' has missing values at rows \[2\]"):
        meta_regression(YI, VI, MODS.assign(dose_mg=[1.5, 3.0, None, 4.5, 4.5, 1.5, 3.0, 4.5]))
    with pytest.raises(ValueError, match="k = 3 studies cannot support 3 coefficients"):
        meta_regression(YI[:3], VI[:3], MODS.iloc[:3])
    with pytest.raises(ValueError, match="not of full rank"):
        meta_regression(YI, VI, MODS.assign(dup=MODS["dose_mg"] * 2))
    with pytest.raises(ValueError, match="single level"):
        meta_regression(YI, VI, pd.DataFrame({"g": ["a"] * 8}))
    with pytest.raises(ValueError, match="moderators have 2 rows but there are 8 studies"):
        meta_regression(YI, VI, MODS.iloc[:2])


def test_perfect_fit_under_knapp_hartung_gives_zero_se_without_warnings():
    x = np.arange(6.0)
    res = meta_regression(0.1 + 0.2 * x, np.full(6, 0.05), pd.DataFrame({"x": x}))
    assert res.se == (0.0, 0.0) and np.isinf(res.stat[1]) and np.isnan(res.qm)
    assert "scale factor is 0" in res.notes[0]
