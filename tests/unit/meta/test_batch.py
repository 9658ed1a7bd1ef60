"""pool_many: same numbers as pool, deterministic order, errors naming the row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldn_evidence.meta import POOL_FIELDS, pool, pool_many

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


def _random_batch(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 13, n)
    k[:3] = [1, 2, 2]
    g = np.repeat(np.arange(n), k)
    vi = rng.uniform(0.005, 0.3, g.size)
    tau2 = rng.choice([0.0, 0.0, 0.02, 0.1, 0.5], n)[g]
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    # a group with tau2 estimate 0 for sure (identical estimates) and one with equal variances
    yi[g == 3] = 0.25
    vi[g == 4] = 0.04
    frame = pd.DataFrame({"study": np.arange(g.size), "g": g, "yi": yi, "vi": vi})
    # shuffle rows and scramble group labels so that sorting is exercised
    labels = rng.permutation(n)
    frame["g"] = labels[frame["g"]]
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _assert_row_equals(row: pd.Series, res) -> None:
    for name in POOL_FIELDS:
        ours = row[name]
        ref = getattr(res, name)
        if isinstance(ref, float):
            np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-12, err_msg=name)
        else:
            assert ours == ref, name


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_pool_many_equals_pool(method, test):
    frame = _random_batch(seed=len(method) * 7 + len(test))
    out = pool_many(frame, "g", method=method, test=test)
    assert list(out.columns) == ["g", *POOL_FIELDS]
    assert out["g"].is_monotonic_increasing
    assert (out["k"] == frame.groupby("g").size().sort_index().to_numpy()).all()
    for _, row in out.iterrows():
        sub = frame[frame["g"] == row["g"]]
        _assert_row_equals(row, pool(sub["yi"], sub["vi"], method=method, test=test))


def test_pool_many_large_batch_blocks_equal_pool():
    """More analyses than one block, so the k-sorted blocking is exercised."""
    rng = np.random.default_rng(11)
    n = 5000
    k = rng.integers(1, 25, n)
    g = np.repeat(np.arange(n), k)
    vi = rng.uniform(0.01, 0.2, g.size)
    yi = rng.normal(0.0, np.sqrt(vi + rng.choice([0.0, 0.05], n)[g]))
    frame = pd.DataFrame({"g": g, "yi": yi, "vi": vi})
    out = pool_many(frame, "g", pi_method="higgins")
    for i in rng.choice(n, 40, replace=False):
        sub = frame[frame["g"] == i]
        _assert_row_equals(out.iloc[i], pool(sub["yi"], sub["vi"], pi_method="higgins"))


def test_multiple_by_columns_sorted_and_rows_keep_order():
    frame = pd.DataFrame(
        {
            "cond": ["b", "b", "a", "a", "a", "b"],
            "outcome": ["pain", "pain", "qol", "pain", "pain", "fatigue"],
            "yi": [0.1, 0.4, 0.2, -0.1, 0.3, 0.5],
            "vi": [0.02, 0.03, 0.05, 0.04, 0.01, 0.02],
        }
    )
    out = pool_many(frame, ["cond", "outcome"], method="DL", test="z")
    keys = list(zip(out["cond"], out["outcome"], strict=True))
    assert keys == [("a", "pain"), ("a", "qol"), ("b", "fatigue"), ("b", "pain")]
    assert out["k"].tolist() == [2, 1, 1, 2]
    assert out.index.tolist() == [0, 1, 2, 3]
    ref = pool([-0.1, 0.3], [0.04, 0.01], method="DL", test="z")
    assert out.loc[0, "estimate"] == pytest.approx(ref.estimate, rel=1e-12)


def test_errors_name_column_row_and_group():
    frame = pd.DataFrame({"g": ["x", "x", "y"], "yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.0]})
    with pytest.raises(ValueError) as err:
        pool_many(frame, "g")
    assert str(err.value) == "column 'vi' at row 2 (group ('y',)) must be finite and > 0; got 0.0"
    frame.loc[2, "vi"] = 0.1
    frame.loc[1, "yi"] = np.nan
    with pytest.raises(ValueError) as err:
        pool_many(frame, "g")
    assert str(err.value) == "column 'yi' at row 1 (group ('x',)) must be finite; got nan"
    with pytest.raises(KeyError, match="columns not in frame"):
        pool_many(frame, "nope")
    with pytest.raises(ValueError, match="frame has no rows"):
        pool_many(frame.iloc[:0], "g")
    with pytest.raises(ValueError, match="method must be one of"):
        pool_many(frame, "g", method="XX")


def test_sorted_integer_keys_take_the_same_path_as_any_grouping():
    """A sorted integer key is numbered from its changes of value; the result is the one
    ``groupby`` numbering gives (shuffled rows, string or categorical keys)."""
    frame = _random_batch(seed=5).sort_values(["g", "study"], kind="stable")
    fast = pool_many(frame, "g", method="REML")
    shuffled = pool_many(frame.sample(frac=1.0, random_state=1), "g", method="REML")
    as_text = frame.assign(g=frame["g"].map("{:03d}".format))
    text = pool_many(as_text, "g", method="REML")
    unsigned = pool_many(frame.assign(g=frame["g"].astype(np.uint16)), "g", method="REML")
    assert unsigned["g"].dtype == np.uint16
    for other in (shuffled, text, unsigned):
        pd.testing.assert_frame_equal(fast.drop(columns="g"), other.drop(columns="g"))
    assert text["g"].tolist() == [f"{g:03d}" for g in fast["g"]]


@pytest.mark.parametrize(
    "key",
    [
        pd.Categorical(["b", "b", "a", "a", "c"]),
        pd.array([2, 2, None, None, 1], dtype="Int64"),
        pd.to_datetime(["2021-01-01"] * 2 + ["2020-01-01"] * 2 + ["2022-01-01"]),
    ],
    ids=["category", "nullable-int", "datetime"],
)
def test_key_column_keeps_its_dtype(key):
    frame = pd.DataFrame({"key": key, "yi": [0.1, 0.3, 0.2, 0.5, 0.4]})
    frame["vi"] = [0.01, 0.02, 0.03, 0.04, 0.05]
    out = pool_many(frame, "key", method="DL")
    assert out["key"].dtype == frame["key"].dtype
    assert out["k"].tolist() == frame.groupby("key", dropna=False, observed=True).size().tolist()


def test_engine_blocks_any_column_order():
    """fit_padded sorts analyses by k itself when they do not come sorted (pool_many pads
    them sorted): the results are the same, column by column."""
    from ldn_evidence.meta.engine import BLOCK_MIN, fit_padded

    rng = np.random.default_rng(3)
    n = 2 * BLOCK_MIN + 100
    k = np.sort(rng.integers(1, 15, n))
    y = np.zeros((k.max(), n))
    v = np.full((k.max(), n), np.inf)
    m = np.arange(k.max())[:, None] < k
    v[m] = rng.uniform(0.01, 0.2, m.sum())
    y[m] = rng.normal(0.0, np.sqrt(v[m] + 0.05))
    opts = dict(
        method="REML", test="knha", level=0.95, pi_method="default", threshold=1e-5, maxiter=100
    )
    in_order = fit_padded(y, v, m, **opts)
    perm = rng.permutation(n)
    shuffled = fit_padded(y[:, perm], v[:, perm], m[:, perm], **opts)
    for name in ("estimate", "tau2", "tau2_ci_high", "iterations", "converged"):
        np.testing.assert_allclose(
            shuffled[name], in_order[name][perm], rtol=1e-8, atol=1e-12, err_msg=name
        )
    assert shuffled["notes"].values().tolist() == in_order["notes"].values()[perm].tolist()
