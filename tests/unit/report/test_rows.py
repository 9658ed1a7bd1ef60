"""The report's rows: read with pyarrow, the same values as pandas gives, grouped and counted."""

import math

import pandas as pd
import pytest

from ldn_evidence.report.build import _counts, _effects_summary, _group, _read, _records


def _pandas_rows(frame: pd.DataFrame) -> list[dict]:
    """The rows as the report read them before (DataFrame.to_dict, NA and NaN as None)."""
    return [
        {
            k: (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in r.items()
        }
        for r in frame.to_dict("records")
    ]


def _typed(rows: list[dict]) -> list[list[tuple]]:
    """Rows with each value's type, so that 1 and 1.0 and True differ."""
    return [[(k, type(v).__name__, repr(v)) for k, v in row.items()] for row in rows]


@pytest.fixture
def table(tmp_path):
    frame = pd.DataFrame(
        {
            "analysis_id": pd.array(["a", "b", None, "a"], dtype="string"),
            "label": ["x", None, "z", "w"],
            "k": pd.array([3, None, 1, 2], dtype="Int64"),
            "n": [10, 20, 30, 40],
            "estimate": [0.5, math.nan, -1.25, 2.0],
            "pooled": [True, False, True, False],
            "flag": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    path = tmp_path / "table.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_read_gives_the_values_pandas_gives(table):
    rows = _read(table)
    assert _typed(rows) == _typed(_pandas_rows(pd.read_parquet(table)))
    assert rows[1]["estimate"] is None and rows[1]["k"] is None and rows[2]["analysis_id"] is None
    assert _read(table, columns=["n", "pooled"]) == [
        {"n": 10, "pooled": True},
        {"n": 20, "pooled": False},
        {"n": 30, "pooled": True},
        {"n": 40, "pooled": False},
    ]


def test_records_of_a_frame_gives_the_values_pandas_gives(table):
    frame = pd.read_parquet(table)
    assert _typed(_records(frame)) == _typed(_pandas_rows(frame))
    assert _records(frame.iloc[0:0]) == []


def test_a_missing_table_has_no_rows(tmp_path):
    assert _read(tmp_path / "absent.parquet") == []


def test_group_keeps_the_table_order_and_leaves_out_missing_keys(table):
    groups = _group(_read(table), "analysis_id")
    assert list(groups) == ["a", "b"]
    assert [r["n"] for r in groups["a"]] == [10, 40]


def test_counts_order_as_value_counts_does():
    values = ["low", "high", None, "mid", "high", "low", "mid", "top"]
    expected = pd.Series(values, dtype="string").value_counts().to_dict()
    assert _counts(values) == expected
    assert list(_counts(values)) == ["low", "high", "mid", "top"]  # ties: first seen first


def test_effects_summary_counts_each_study_outcome_once():
    rows = [
        {"study_id": "s1", "outcome_id": "o1", "tier": "A", "source_quality": "abstract"},
        {"study_id": "s1", "outcome_id": "o1", "tier": "C", "source_quality": "full"},
        {"study_id": "s1", "outcome_id": "o2", "tier": "F", "source_quality": None},
        {"study_id": "s2", "outcome_id": "o1", "tier": "A", "source_quality": "full"},
    ]
    summary = _effects_summary(rows)
    assert summary == {
        "tiers": {"A": 2, "F": 1},
        "source_quality": {"abstract": 1, "full": 1},
        "outcomes": 3,
    }


@pytest.mark.parametrize("package", ["ldn-evidence", "numpy", "scipy", "pandas", "matplotlib"])
def test_installed_version_is_what_importlib_metadata_gives(package):
    from importlib.metadata import version

    from ldn_evidence.report.render import installed_version

    assert installed_version(package) == version(package)
