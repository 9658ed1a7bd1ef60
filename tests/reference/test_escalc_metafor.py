"""ldn_evidence.effects.escalc against R's metafor::escalc, value by value.

The reference values live in ``metafor/escalc_reference.json``, written by
``escalc_reference.R`` (regenerate with ``Rscript tests/reference/metafor/escalc_reference.R``
from the project root). This test never needs R.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from tests.tolerances import ESCALC

from ldn_evidence.effects import BINARY_MEASURES, ZERO_CELL_RULES, escalc
from ldn_evidence.effects.types import ESCALC_MEASURES as MEASURES

REFERENCE = json.loads((Path(__file__).parent / "metafor" / "escalc_reference.json").read_text())
CASES = REFERENCE["cases"]


def _array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_escalc_matches_metafor(case: dict) -> None:
    inputs = {name: _array(values) for name, values in case["inputs"].items()}
    out = escalc(case["measure"], **case["options"], **inputs)

    expected_yi, expected_vi = _array(case["yi"]), _array(case["vi"])
    np.testing.assert_array_equal(np.isnan(out["yi"]), np.isnan(expected_yi))
    np.testing.assert_array_equal(np.isnan(out["vi"]), np.isnan(expected_vi))
    np.testing.assert_allclose(out["yi"], expected_yi, **ESCALC)
    np.testing.assert_allclose(out["vi"], expected_vi, **ESCALC)


def test_reference_records_its_provenance() -> None:
    assert REFERENCE["metafor_version"].startswith("3.8")
    assert REFERENCE["r_version"].startswith("R version")
    assert REFERENCE["generated_by"] == "tests/reference/metafor/escalc_reference.R"
    assert len({case["id"] for case in CASES}) == len(CASES), "case ids must be unique"


def test_reference_grid_covers_every_measure_and_zero_cell_rule() -> None:
    """Coverage of the reference grid cannot silently shrink."""
    measures = {case["measure"] for case in CASES}
    assert measures == set(MEASURES)

    binary = [case for case in CASES if case["measure"] in BINARY_MEASURES]
    assert {case["options"]["to"] for case in binary} == set(ZERO_CELL_RULES)
    assert any(case["options"]["drop00"] for case in binary)
    assert any(case["options"]["add"] != 0.5 for case in binary)
    for measure in BINARY_MEASURES:
        rules = {case["options"]["to"] for case in binary if case["measure"] == measure}
        assert {"only0", "none"} <= rules, measure

    # Each binary grid includes at least one table with a zero cell, and the double-zero rows
    # that drop00 removes, or the zero-cell rules would not be exercised.
    zero_tables = 0
    double_zero = 0
    for case in binary:
        ai, ci = _array(case["inputs"]["ai"]), _array(case["inputs"]["ci"])
        zero_tables += int(np.nansum((ai == 0) | (ci == 0)))
        double_zero += int(np.nansum((ai == 0) & (ci == 0)))
    assert zero_tables > 0 and double_zero > 0

    # Missing inputs must appear somewhere, so the NaN path is checked against metafor's NA.
    assert any(None in values for case in CASES for values in case["inputs"].values())
