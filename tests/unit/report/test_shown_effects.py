"""Absolute risks per 1,000 (Cochrane Handbook 14.1.5.1) and important benefits, as the report
shows them (ratios LDN over control)."""

import pytest

from ldn_evidence.report.build import (
    absolute_text,
    bayes_event,
    effect_text,
    important_benefit_text,
    member_effect_text,
    ratio_note,
)


def test_ldn_risk_is_the_control_risk_times_the_ratio():
    assert absolute_text(0.2, 0.5, 0.25, 2.0) == (
        "200 per 1,000 with control; 100 per 1,000 with LDN (50 to 400)"
    )


def test_a_limit_above_one_is_capped_and_said_to_be():
    # a wide interval: 0.3 x 25.8 would be 7,740 per 1,000
    assert absolute_text(0.3, 1.3, 0.07, 25.8) == (
        "300 per 1,000 with control; 390 per 1,000 with LDN (21 to 1,000); "
        "capped at 1,000: the risk ratio times the control risk exceeds 1"
    )


def test_exactly_one_is_not_capped():
    assert absolute_text(0.5, 1.0, 0.5, 2.0).endswith("(250 to 1,000)")


@pytest.mark.parametrize(
    ("measure", "better", "text"),
    [
        # P(harmonised log RR > log 1.25) for adverse events is P(RR < 0.80) with LDN
        ("RR", "lower", "RR below 0.80"),
        ("OR", "lower", "OR below 0.80"),
        ("RR", "higher", "RR above 1.25"),
        ("RR", None, "RR above 1.25"),
    ],
)
def test_an_important_benefit_on_the_ratio_scale_shown(measure, better, text):
    assert important_benefit_text(0.2231435513, measure, better) == text


def test_an_important_benefit_on_a_harmonised_difference_scale():
    assert important_benefit_text(0.2, "SMD", "lower") == "SMD above 0.20"


def test_a_single_arm_proportion_is_shown_as_observed_with_its_wilson_interval():
    # AJG2011: 0 of 9 in remission; the logit with 0.5 added would read 5% (0% to 47%)
    member = {
        "yi": -2.944439,
        "ci_low": -5.788,
        "ci_high": -0.1006,
        "proportion": 0.0,
        "proportion_ci_low": 0.0,
        "proportion_ci_high": 0.299145,
        "events_ldn": 0,
        "n_ldn": 9,
    }
    assert member_effect_text(member, "PLO", None) == "0% (0% to 30%, 0/9, Wilson)"


def test_other_members_are_shown_on_the_analysis_scale():
    member = {"yi": 0.5, "ci_low": 0.1, "ci_high": 0.9, "proportion": None}
    assert member_effect_text(member, "SMD", "lower") == "0.50 (0.10 to 0.90)"
    # a harmonised log RR of a fewer-is-better outcome, shown LDN over control
    assert member_effect_text(member, "RR", "lower") == "0.61 (0.41 to 0.90)"


@pytest.mark.parametrize(
    ("stratum", "event"),
    [
        ("randomized_between_arm", "better with LDN"),
        ("nonrandomized_between_arm", "better with LDN"),
        # no comparator: an improvement while taking LDN, not "better with LDN"
        ("within_group_pre_post", "improved from baseline, no comparator"),
        ("observational_before_after", "improved from baseline, no comparator"),
    ],
)
def test_what_a_positive_effect_is_called(stratum, event):
    assert bayes_event(stratum) == event


def test_a_limit_that_is_not_zero_does_not_read_as_zero():
    # MS cognition: SMD 0.26, lower limit -0.002 (p = 0.052)
    row = {"estimate": 0.255, "ci_low": -0.0021, "ci_high": 0.512}
    assert effect_text(row, "SMD") == "0.26 (−0.002 to 0.51)"
    assert effect_text({"estimate": 0.0, "ci_low": -0.4, "ci_high": 0.4}, "SMD") == (
        "0.00 (−0.40 to 0.40)"
    )


@pytest.mark.parametrize(
    ("measure", "better", "note"),
    [
        ("RR", "lower", "RR LDN vs control; below 1 = fewer with LDN"),
        ("OR", "higher", "OR LDN vs control; above 1 = more with LDN"),
        # Crohn's PCDAI change from baseline: points, harmonised (positive = a fall in PCDAI)
        ("MC", "lower", "MC in the outcome's own units; positive = better with LDN"),
        ("MD", "higher", "MD in the outcome's own units; positive = better with LDN"),
        ("SMD", "lower", ""),
    ],
)
def test_what_a_shown_effect_is(measure, better, note):
    assert ratio_note({"better_direction": better}, measure) == note
