"""Missing is missing: a field not in the study file is a null in Parquet and an empty CSV cell.

The tables are written with ``write_table`` and read back from disk, as the next stage reads
them; no text cell may hold the string ``'nan'``.
"""

import csv

import pandas as pd
from tests.unit.io.test_validate import minimal_study

from ldn_evidence.io.tables import outcomes_table, studies_table, write_table


def two_studies():
    first = minimal_study()
    first["outcomes"][0]["p_value"] = {"value": 0.03}  # no operator: it is optional
    second = minimal_study(id="Other2021", journal="J Pain", notes="a note")
    second["outcomes"][0]["p_value"] = {"operator": "<", "value": 0.05, "text": "p<0.05"}
    second["outcomes"][0]["test_statistic"] = 2.5
    return [("a/Test2020.yaml", first), ("a/Other2021.yaml", second)]


def written(tmp_path, frame, name):
    write_table(frame, tmp_path / f"{name}.parquet", tmp_path / f"{name}.csv")
    parquet = pd.read_parquet(tmp_path / f"{name}.parquet")
    with open(tmp_path / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return parquet, rows


def test_absent_text_fields_are_null_in_parquet_and_empty_in_csv(tmp_path):
    outcomes, rows = written(tmp_path, outcomes_table(two_studies()), "outcomes")
    by_study = outcomes.set_index("study_id")
    assert by_study.loc["Test2020", "p_value"] == 0.03
    assert by_study.loc["Test2020", "p_operator"] is pd.NA
    assert by_study.loc["Other2021", "p_operator"] == "<"
    assert by_study.loc["Test2020", "p_text"] is pd.NA
    assert by_study.loc["Other2021", "test_statistic"] == "2.5"
    assert by_study.loc["Test2020", "test_statistic"] is pd.NA
    # a column no study fills is all null, not 'nan'
    assert outcomes["effect_type"].isna().all()
    csv_rows = {row["study_id"]: row for row in rows}
    assert csv_rows["Test2020"]["p_operator"] == ""
    assert csv_rows["Test2020"]["effect_type"] == ""
    assert csv_rows["Other2021"]["p_operator"] == "<"


def test_no_text_cell_is_the_string_nan(tmp_path):
    tables = {}
    for name, frame in (
        ("studies", studies_table(two_studies())),
        ("outcomes", outcomes_table(two_studies())),
    ):
        table, rows = written(tmp_path, frame, name)
        text = table.select_dtypes("string")
        assert not (text == "nan").any().any(), name
        assert all(value != "nan" for row in rows for value in row.values()), name
        tables[name] = table
    studies = tables["studies"].set_index("id")
    assert studies.loc["Test2020", "journal"] is pd.NA
    assert studies.loc["Other2021", "journal"] == "J Pain"
