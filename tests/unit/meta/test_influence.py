"""Unit tests of ldn_evidence.meta.influence."""

from __future__ import annotations

import numpy as np
import pytest

from ldn_evidence.meta import pool
from ldn_evidence.meta.influence import leave_one_out

YI = np.array([0.1, 0.3, 0.35, 0.6, -0.2])
VI = np.array([0.02, 0.03, 0.01, 0.05, 0.04])


def _same(a, b) -> bool:
    """PoolResults equal field by field, NaN equal to NaN."""
    da, db = a.as_dict(), b.as_dict()
    return da.keys() == db.keys() and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))
        for x, y in zip(da.values(), db.values(), strict=True)
    )


def test_each_row_is_pool_without_that_study():
    res = leave_one_out(YI, VI, method="DL", test="z", labels=list("ABCDE"))
    assert [r.omitted for r in res.rows] == list("ABCDE")
    for i, row in enumerate(res.rows):
        keep = np.arange(YI.size) != i
        assert row.index == i
        assert _same(row.result, pool(YI[keep], VI[keep], method="DL", test="z"))
    assert _same(res.full, pool(YI, VI, method="DL", test="z"))
    assert (res.method, res.test, res.k) == ("DL", "z", 5)


def test_frame_has_one_row_per_study_in_input_order():
    frame = leave_one_out(YI, VI).to_frame()
    assert list(frame["omitted"]) == ["1", "2", "3", "4", "5"]
    assert list(frame["k"]) == [4] * 5
    assert {"estimate", "ci_low", "ci_high", "tau2", "i2", "q", "q_pval"} <= set(frame.columns)


def test_max_shift_names_the_most_influential_study():
    res = leave_one_out(YI, VI, method="EE", test="z", labels=list("ABCDE"))
    name, shift = res.max_shift()
    shifts = [r.result.estimate - res.full.estimate for r in res.rows]
    assert name == "ABCDE"[int(np.argmax(np.abs(shifts)))]
    assert shift == max(shifts, key=abs)


def test_repeated_labels_are_allowed():
    res = leave_one_out(YI, VI, labels=["Smith", "Smith", "Lee", "Kim", "Kim"])
    assert [r.index for r in res.rows] == [0, 1, 2, 3, 4]


def test_k_two_gives_single_study_fits_and_a_note():
    res = leave_one_out(YI[:2], VI[:2])
    assert all(r.result.k == 1 for r in res.rows)
    assert res.rows[0].result.estimate == pytest.approx(YI[1])
    assert "k = 2" in res.notes[0]


def test_pool_options_are_forwarded():
    res = leave_one_out(YI, VI, method="REML", threshold=1e-10, maxiter=500, level=0.9)
    assert _same(res.rows[0].result, pool(YI[1:], VI[1:], threshold=1e-10, maxiter=500, level=0.9))


def test_errors():
    with pytest.raises(ValueError, match="needs k >= 2"):
        leave_one_out([0.1], [0.01])
    with pytest.raises(ValueError, match="got 2 labels for 5 studies"):
        leave_one_out(YI, VI, labels=["a", "b"])
    with pytest.raises(ValueError, match="vi"):
        leave_one_out(YI, -VI)
