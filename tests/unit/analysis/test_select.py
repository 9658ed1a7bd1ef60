"""The member-selection rule (analysis/select.py) on a constructed effects table.

The bundled studies give each analysis one effect per study, so the rule's later steps (plan
choice, primary outcome, nearest time point, highest tier, file order) are checked here, each
expected row worked out by hand from the table below.
"""

import math

import pandas as pd

from ldn_evidence.analysis.plan import Analysis
from ldn_evidence.analysis.select import candidates, select_members


def effects_table() -> pd.DataFrame:
    # study, outcome, order, weeks, tier, stratum, inclusion
    rows = [
        ("S1", "pain_vas", 1, 12.0, "C", "randomized_between_arm", "include"),
        ("S1", "pain_bpi", 2, 8.0, "A", "randomized_between_arm", "include"),
        ("S2", "pain_a", 1, 4.0, "B", "randomized_between_arm", "include"),
        ("S2", "pain_b", 2, 11.0, "B", "randomized_between_arm", "include"),
        ("S3", "pain_a", 1, math.nan, "D", "randomized_between_arm", "include"),
        ("S3", "pain_b", 2, math.nan, "B", "randomized_between_arm", "include"),
        ("S4", "pain_a", 1, 12.0, "B", "randomized_between_arm", "include"),
        ("S4", "pain_b", 2, 12.0, "B", "randomized_between_arm", "include"),
        ("S5", "pain_a", 1, 12.0, "F", "randomized_between_arm", "include"),
        ("S6", "pain_a", 1, 12.0, "A", "randomized_between_arm", "exclude"),
        ("S7", "pain_a", 1, 12.0, "A", "within_group_pre_post", "include"),
        ("S0", "pain_a", 1, 12.0, "A", "randomized_between_arm", "include"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "study_id",
            "outcome_id",
            "outcome_order",
            "timepoint_weeks",
            "tier",
            "stratum",
            "inclusion_status",
        ],
    )
    frame["condition"] = "fibromyalgia"
    frame["domain"] = "pain"
    frame["measure"] = "SMD"
    frame["yi"] = range(len(frame))
    text = [c for c in frame.columns if frame[c].dtype != "int64" and c != "timepoint_weeks"]
    return frame.astype({c: "string" for c in text})


ANALYSIS = Analysis(
    id="fm_pain",
    condition="fibromyalgia",
    title="Pain",
    domains=("pain",),
    measure="SMD",
    stratum="randomized_between_arm",
    choose={"S4": "pain_b"},
    timepoint_weeks=12.0,
)


def test_candidates_leave_out_tier_f_excluded_studies_and_other_strata():
    got = candidates(effects_table(), ANALYSIS)
    assert set(got.study_id) == {"S0", "S1", "S2", "S3", "S4"}


def test_each_step_of_the_rule():
    primary = frozenset({("S1", "pain_bpi")})
    got = select_members(effects_table(), ANALYSIS, primary).set_index("study_id")
    assert list(got.index) == ["S0", "S1", "S2", "S3", "S4"]  # sorted by study id
    expected = {
        "S0": ("pain_a", "the study's only effect in this analysis"),
        # primary outcome beats the nearer time point and is listed first
        "S1": ("pain_bpi", "the study's primary outcome (study file notes); not used: pain_vas"),
        # 11 weeks is nearer 12 than 4 weeks
        "S2": ("pain_b", "time point nearest 12 weeks; not used: pain_a"),
        # no time points: tier B beats tier D
        "S3": ("pain_b", "highest tier (B); not used: pain_a"),
        "S4": ("pain_b", "outcome chosen in the plan (pain_b)"),
    }
    for study, (outcome, reason) in expected.items():
        assert (got.outcome_id[study], got.selection_reason[study]) == (outcome, reason)
    assert got.yi["S2"] == 3  # the whole chosen row, not only its outcome id


def test_ties_go_to_the_first_outcome_in_the_file_and_dtypes_are_kept():
    table = effects_table()
    analysis = Analysis(**{**ANALYSIS.__dict__, "choose": {}})
    got = select_members(table, analysis).set_index("study_id")
    assert got.outcome_id["S4"] == "pain_a"
    assert (
        got.selection_reason["S4"] == "first of the study's outcomes in its file; not used: pain_b"
    )
    members = select_members(table, analysis)
    assert (members.dtypes[table.columns] == table.dtypes).all()
    none = select_members(table, Analysis(**{**ANALYSIS.__dict__, "measure": "RR"}))
    assert none.empty
    assert list(none.columns) == [*table.columns, "selection_reason"]
