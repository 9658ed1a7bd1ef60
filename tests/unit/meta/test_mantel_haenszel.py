"""Unit tests of ldn_evidence.meta.mantel_haenszel: zero cells, agreement with statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from ldn_evidence.meta.mantel_haenszel import mantel_haenszel

A = np.array([4, 6, 3, 62, 33])
B = np.array([119, 300, 228, 13536, 5036])
C = np.array([11, 29, 11, 248, 47])
D = np.array([128, 274, 209, 12619, 5761])


def _with_double_zero():
    return (np.append(A, 0), np.append(B, 40), np.append(C, 0), np.append(D, 38))


def test_or_agrees_with_statsmodels():
    res = mantel_haenszel(A, B, C, D)
    tab = StratifiedTable(np.stack([np.stack([A, B]), np.stack([C, D])]).astype(float))
    assert res.estimate == pytest.approx(np.log(tab.oddsratio_pooled), rel=1e-12)
    assert res.se == pytest.approx(tab.logodds_pooled_se, rel=1e-12)
    cmh = tab.test_null_odds(correction=True)
    assert res.cmh == pytest.approx(cmh.statistic, rel=1e-12)
    bd = tab.test_equal_odds()
    assert res.breslow_day == pytest.approx(bd.statistic, rel=1e-10)
    tarone = tab.test_equal_odds(adjust=True)
    assert res.tarone == pytest.approx(tarone.statistic, rel=1e-10)
    assert res.method == "MH (OR), Robins-Breslow-Greenland (1986) variance"
    assert res.engine.startswith("statsmodels")


def test_double_zero_study_is_recorded_and_changes_nothing_for_or_and_rr():
    for measure in ("OR", "RR"):
        base = mantel_haenszel(A, B, C, D, measure=measure)
        res = mantel_haenszel(*_with_double_zero(), measure=measure)
        assert res.double_zero == (5,) and res.dropped_from_q == (5,)
        assert res.k == 6 and res.k_yi == 5
        assert res.estimate == pytest.approx(base.estimate, rel=1e-14)
        assert res.se == pytest.approx(base.se, rel=1e-14)
        assert res.q == pytest.approx(base.q, rel=1e-14)
        assert any("contribute nothing" in n for n in res.notes)


def test_double_zero_study_counts_in_rd_unless_dropped():
    base = mantel_haenszel(A, B, C, D, measure="RD")
    kept = mantel_haenszel(*_with_double_zero(), measure="RD")
    dropped = mantel_haenszel(*_with_double_zero(), measure="RD", mh_drop00=True)
    assert kept.estimate != pytest.approx(base.estimate, rel=1e-6)
    assert dropped.estimate == pytest.approx(base.estimate, rel=1e-14)
    assert dropped.dropped_from_mh == (5,) and dropped.k == 5
    assert any("add weight" in n for n in kept.notes)
    assert any("dropped from the MH sums" in n for n in dropped.notes)


def test_single_zero_cell_gets_the_correction_only_for_q():
    a = np.append(A, 0)
    b = np.append(B, 50)
    c = np.append(C, 3)
    d = np.append(D, 47)
    res = mantel_haenszel(a, b, c, d)
    assert res.corrected == (5,) and res.double_zero == () and res.k_yi == 6
    # The MH sums use the raw counts: the zero cell adds a*d/N = 0 to the numerator.
    n = a + b + c + d
    assert res.estimate == pytest.approx(np.log(np.sum(a * d / n) / np.sum(b * c / n)), rel=1e-12)
    none = mantel_haenszel(a, b, c, d, add=0.0)
    assert none.k_yi == 5 and none.dropped_from_q == (5,) and none.corrected == ()


def test_no_events_in_one_group_leaves_or_and_rr_undefined():
    zeros = np.zeros(3, dtype=int)
    res = mantel_haenszel(zeros, [50, 40, 30], [2, 1, 3], [48, 39, 27])
    assert np.isnan(res.estimate) and np.isnan(res.ci_low)
    assert "MH odds ratio undefined" in res.notes[0]
    rr = mantel_haenszel(zeros, [50, 40, 30], [2, 1, 3], [48, 39, 27], measure="RR")
    assert np.isnan(rr.estimate) and "MH risk ratio undefined" in rr.notes[0]
    rd = mantel_haenszel(zeros, [50, 40, 30], [2, 1, 3], [48, 39, 27], measure="RD")
    assert rd.estimate < 0 and np.isfinite(rd.se)


def test_single_table():
    res = mantel_haenszel([4], [119], [11], [128])
    assert res.estimate == pytest.approx(np.log(4 * 128 / (119 * 11)))
    assert (res.k, res.k_yi, res.q, res.i2, res.h2, res.q_pval) == (1, 1, 0.0, 0.0, 1.0, 1.0)
    assert np.isnan(res.breslow_day_pval)


def test_cmh_continuity_correction():
    with_cc = mantel_haenszel(A, B, C, D, correct=True)
    without = mantel_haenszel(A, B, C, D, correct=False)
    assert with_cc.cmh < without.cmh and with_cc.cochran < without.cochran
    rr = mantel_haenszel(A, B, C, D, measure="RR")
    assert np.isnan(rr.cmh) and rr.k_pos == 0


def test_ratio_scale():
    res = mantel_haenszel(A, B, C, D, measure="RR")
    est, lo, hi = res.ratio()
    assert lo < est < hi and est == pytest.approx(np.exp(res.estimate))
    with pytest.raises(ValueError, match="no ratio scale"):
        mantel_haenszel(A, B, C, D, measure="RD").ratio()


def test_input_errors():
    with pytest.raises(ValueError, match="measure 'PETO' is not one of"):
        mantel_haenszel(A, B, C, D, measure="PETO")
    with pytest.raises(ValueError, match="to 'some' is not one of"):
        mantel_haenszel(A, B, C, D, to="some")
    with pytest.raises(ValueError, match="expected equal"):
        mantel_haenszel(A, B, C, D[:2])
    with pytest.raises(ValueError, match="counts must be finite and >= 0"):
        mantel_haenszel(-A, B, C, D)
    with pytest.raises(ValueError, match=r"studies \(0,\) have a group with no participants"):
        mantel_haenszel([0, 1], [0, 5], [1, 2], [5, 5])
