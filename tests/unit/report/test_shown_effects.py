"""Absolute risks per 1,000 (Cochrane Handbook 14.1.5.1) and important benefits, as the report
shows them (ratios LDN over control)."""

import pytest

from ldn_evidence.report.build import absolute_text, important_benefit_text


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
