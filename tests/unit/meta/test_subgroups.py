"""Unit tests of ldn_evidence.meta.subgroups."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ldn_evidence.meta import pool
from ldn_evidence.meta.subgroups import SEPARATE_TAU2_VARIANT, subgroup_analysis

YI = np.array([0.1, 0.3, 0.35, 0.6, 0.8, -0.1, 0.05])
VI = np.array([0.02, 0.03, 0.01, 0.05, 0.04, 0.03, 0.02])
G = ["b", "b", "a", "a", "a", "c", "c"]


def _same(a, b) -> bool:
    """PoolResults equal field by field, NaN equal to NaN."""
    da, db = a.as_dict(), b.as_dict()
    return da.keys() == db.keys() and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))
        for x, y in zip(da.values(), db.values(), strict=True)
    )


def test_subgroups_are_pooled_separately_in_sorted_order():
    res = subgroup_analysis(YI, VI, G, method="DL", test="z")
    assert [s.label for s in res.subgroups] == ["a", "b", "c"]
    a = res.subgroup("a")
    assert a.indices == (2, 3, 4) and a.k == 3
    assert _same(a.result, pool(YI[[2, 3, 4]], VI[[2, 3, 4]], method="DL", test="z"))
    assert list(res.to_frame()["subgroup"]) == ["a", "b", "c"]


def test_q_between_by_hand():
    res = subgroup_analysis(YI, VI, G, method="REML", test="knha")
    est = np.array([s.result.estimate for s in res.subgroups])
    w = 1 / np.array([s.result.se for s in res.subgroups]) ** 2
    q = np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2)
    d = res.difference
    assert d.performed and d.variant == "separate_tau2" and d.description == SEPARATE_TAU2_VARIANT
    assert d.stat == pytest.approx(q, rel=1e-12)
    assert d.df == (2,) and d.distribution == "chi2"
    assert d.pval == pytest.approx(stats.chi2.sf(q, 2), rel=1e-12)


def test_pooled_tau2_variant_is_the_meta_regression_qm():
    res = subgroup_analysis(YI, VI, G, method="REML", test="knha")
    p = res.difference_pooled_tau2
    assert p.performed and p.variant == "pooled_tau2" and p.distribution == "F"
    assert p.df == (2, 4)
    assert res.metaregression.names == ("intercept", "group[b]", "group[c]")
    assert p.stat == res.metaregression.qm
    z = subgroup_analysis(YI, VI, G, method="REML", test="z").difference_pooled_tau2
    assert z.distribution == "chi2" and z.df == (2,)


def test_single_study_subgroup_enters_with_its_own_se():
    g = ["a", "a", "a", "b", "b", "b", "c"]
    res = subgroup_analysis(YI, VI, g, method="REML", test="knha")
    c = res.subgroup("c")
    assert c.k == 1 and c.result.k == 1
    assert c.result.estimate == YI[6]
    assert c.result.se == pytest.approx(np.sqrt(VI[6]))
    assert res.difference.performed and res.difference.df == (2,)
    assert any("single-study subgroups ['c']" in n for n in res.notes)
    assert res.test == "knha"


def test_all_single_study_subgroups():
    res = subgroup_analysis(YI[:3], VI[:3], ["x", "y", "z"], method="REML", test="knha")
    assert all(s.k == 1 for s in res.subgroups)
    assert res.difference.performed
    # Q-between of three single studies is their own Cochran's Q.
    assert res.difference.stat == pytest.approx(pool(YI[:3], VI[:3], method="EE").q)
    assert not res.difference_pooled_tau2.performed
    assert res.difference_pooled_tau2.reason == "k = 3 <= G = 3: no residual degree of freedom"


def test_one_subgroup_is_not_tested():
    res = subgroup_analysis(YI, VI, ["a"] * 7)
    assert not res.difference.performed
    assert res.difference.reason == "G = 1 subgroup: nothing to compare"
    assert not res.difference_pooled_tau2.performed


def test_pooled_variant_skipped_for_estimators_without_meta_regression():
    res = subgroup_analysis(YI, VI, G, method="PM", test="z")
    assert res.difference.performed
    assert not res.difference_pooled_tau2.performed
    assert res.difference_pooled_tau2.reason.startswith("method PM has no meta-regression")
    off = subgroup_analysis(YI, VI, G, pooled_tau2=False)
    assert off.difference_pooled_tau2.reason == "not requested" and off.metaregression is None


def test_labels_are_strings_and_must_be_complete():
    res = subgroup_analysis(YI, VI, [1, 1, 2, 2, 2, 10, 10], method="DL", test="z")
    assert [s.label for s in res.subgroups] == ["1", "10", "2"]
    with pytest.raises(ValueError, match="groups has 2 labels for 7 studies"):
        subgroup_analysis(YI, VI, ["a", "b"])
    with pytest.raises(ValueError, match=r"missing labels at positions \[1\]"):
        subgroup_analysis(YI, VI, ["a", None, "a", "b", "b", "b", "a"])
    with pytest.raises(KeyError, match="no subgroup 'z'"):
        res.subgroup("z")


def test_zero_se_subgroup_makes_q_between_undefined():
    res = subgroup_analysis([0.2, 0.2, 0.5, 0.5], [0.1] * 4, ["a", "a", "b", "b"])
    assert not res.difference.performed
    assert res.difference.reason.startswith("a subgroup's standard error is 0 or not finite")
