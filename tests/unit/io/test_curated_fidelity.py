"""Nothing was lost, added or rounded turning the curated extraction into study files.

The curated CSVs are kept in tests/fixtures/curated/ (a copy of the shared extraction), so
this runs on any clone. Every non-empty cell is looked up in the committed study file
through the column maps of ``ldn_evidence.io.curated`` and must be there with the same value:
numbers compared as numbers, text compared exactly.
"""

import csv
import math
from pathlib import Path

import pytest
import yaml

from ldn_evidence.io import curated

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "curated"
RAW = Path(__file__).resolve().parents[3] / "data" / "raw"


def rows(name):
    with open(FIXTURES / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


STUDIES = rows("studies.csv")
OUTCOMES = rows("outcomes.csv")


def load_study_files():
    files = {}
    for path in sorted(RAW.glob("*/*.yaml")):
        with open(path, encoding="utf-8") as handle:
            files[path.stem] = yaml.safe_load(handle)
    return files


FILES = load_study_files()


def get(tree, path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def same(cell: str, value) -> bool:
    try:
        number = float(cell)
    except ValueError:
        return value == cell
    if isinstance(value, str):
        return value == cell  # a numeric-looking text cell (e.g. a p-value as printed)
    return isinstance(value, int | float) and math.isclose(value, number, rel_tol=0, abs_tol=0)


def test_fixture_sizes():
    assert len(STUDIES) == 27
    assert len(OUTCOMES) == 66


def test_every_column_is_mapped():
    assert set(STUDIES[0]) == set(curated.STUDY_COLUMNS) | {"condition"}
    assert set(OUTCOMES[0]) == set(curated.OUTCOME_COLUMNS) | {"study_id", "condition"}


def test_one_file_per_study_in_its_condition_folder():
    assert sorted(FILES) == sorted(r["study_id"] for r in STUDIES)
    for row in STUDIES:
        expected = "crohns_disease" if row["condition"] == "ibd_mixed" else row["condition"]
        assert (RAW / expected / f"{row['study_id']}.yaml").exists()


@pytest.mark.parametrize("row", STUDIES, ids=[r["study_id"] for r in STUDIES])
def test_study_cells(row):
    study = FILES[row["study_id"]]
    for column, path in curated.STUDY_COLUMNS.items():
        cell = row[column]
        if not cell.strip():
            continue
        if column == "design" and cell == "other":
            assert study["design_as_extracted"] == "other"
            continue
        assert same(cell, get(study, path)), (column, cell, get(study, path))
    if row["condition"] == "ibd_mixed":
        assert (study["condition"], study["population_scope"]) == ("crohns_disease", "mixed_ibd")
    else:
        assert study["condition"] == row["condition"]
        assert "population_scope" not in study


def test_outcome_cells():
    by_study: dict[str, list] = {}
    for row in OUTCOMES:
        by_study.setdefault(row["study_id"], []).append(row)
    total = 0
    for study_id, outcome_rows in by_study.items():
        outcomes = FILES[study_id]["outcomes"]
        assert len(outcomes) == len(outcome_rows), study_id
        study_scope = FILES[study_id].get("population_scope", "target_condition")
        for row, outcome in zip(outcome_rows, outcomes, strict=True):
            for column, path in curated.OUTCOME_COLUMNS.items():
                cell = row[column]
                if not cell.strip():
                    assert get(outcome, path) is None, (study_id, column)
                    continue
                if column == "better_direction" and cell in curated.IMPROVEMENT_LABELS:
                    assert outcome["better_direction"] == "improvement_reported"
                    assert outcome["better_direction_note"] == cell
                    continue
                assert same(cell, get(outcome, path)), (study_id, column, cell)
                total += 1
            scope = "mixed_ibd" if row["condition"] == "ibd_mixed" else "target_condition"
            assert outcome.get("population_scope", study_scope) == scope
    assert sum(len(v) for v in by_study.values()) == 66
    assert total > 600  # guards against the loop silently comparing nothing


#: Fields of ``statistics`` added by hand that describe numbers rather than hold them.
STATISTICS_ANNOTATIONS = {"plusminus_kind", "plusminus_basis"}


def test_no_number_added():
    """Every number in a study file's statistics comes from a CSV cell of that outcome."""
    by_study: dict[str, list] = {}
    for row in OUTCOMES:
        by_study.setdefault(row["study_id"], []).append(row)
    for study_id, study in FILES.items():
        for outcome, row in zip(
            study.get("outcomes") or [], by_study.get(study_id, []), strict=True
        ):
            for key, value in (outcome.get("statistics") or {}).items():
                if key in STATISTICS_ANNOTATIONS:  # words about the numbers, not numbers
                    continue
                column = {"n_ldn": "n_ldn_outcome", "n_ctl": "n_ctl_outcome"}.get(key, key)
                assert same(row[column], value), (study_id, key)


def test_excluded_studies_carry_reasons():
    excluded = {
        sid: s["inclusion"] for sid, s in FILES.items() if s["inclusion"]["status"] == "exclude"
    }
    assert set(excluded) == {
        "Paulides2022_LDNCrohn_protocol",
        "Naik2024_NCT05430152_protocol",
        "Griffith_ACTRN12624001162505",
        "Tamariz2024",
    }
    assert all(inclusion["reason"] for inclusion in excluded.values())
    assert "AI-generated" in excluded["Tamariz2024"]["reason"]
