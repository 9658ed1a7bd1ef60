"""Risks per 1,000 from a control risk and a risk ratio (Cochrane Handbook 14.1.5.1)."""

from ldn_evidence.report.build import absolute_text


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
