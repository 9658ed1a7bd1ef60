"""The analysis scale's name says which way its harmonised values point."""

import pytest

from ldn_evidence.certainty.grade import analysis_scale_name


@pytest.mark.parametrize(
    ("measure", "better", "name"),
    [
        # fewer events is better: harmonised log RR = log(control / LDN)
        ("RR", "lower", "log RR, control vs LDN (positive = better with LDN)"),
        ("OR", "lower", "log OR, control vs LDN (positive = better with LDN)"),
        ("RR", "higher", "log RR, LDN vs control (positive = better with LDN)"),
        ("RR", None, "log RR, LDN vs control (positive = better with LDN)"),
        ("SMD", "lower", "SMD (positive = better with LDN)"),
        ("MD", None, "MD (positive = better with LDN)"),
        # a change from baseline without a comparator is no comparison with anything
        ("SMCR", "lower", "SMCR (positive = improved from baseline)"),
        ("MC", "lower", "MC (positive = improved from baseline)"),
        ("PLO", "lower", "logit proportion"),
    ],
)
def test_names(measure, better, name):
    assert analysis_scale_name(measure, better) == name
