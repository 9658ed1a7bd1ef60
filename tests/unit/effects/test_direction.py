"""The single sign convention: positive yi = better with LDN."""

import numpy as np
import pytest

from ldn_evidence.effects import (
    DIRECTION_CONVENTION,
    EffectEstimate,
    direction_sign,
    harmonise_direction,
    harmonise_effect,
)
from ldn_evidence.effects.direction import SIGN_SYMMETRIC_MEASURES
from ldn_evidence.effects.types import MEASURES


def test_convention_is_stated_once():
    assert DIRECTION_CONVENTION == "positive = better with LDN"


def test_lower_is_better_flips_higher_keeps():
    out = harmonise_direction([-1.5, 2.0, -0.3], ["lower", "higher", "higher"])
    np.testing.assert_array_equal(out, [1.5, 2.0, -0.3])
    assert harmonise_direction(-0.7, "lower") == 0.7


def test_log_ratio_flip_is_the_reciprocal_ratio():
    # A risk ratio of 0.5 for a harmful event (lower is better) becomes ln(2) > 0.
    assert harmonise_direction(np.log(0.5), "lower") == pytest.approx(np.log(2.0))


def test_every_comparative_measure_is_sign_symmetric():
    # A single-arm logit proportion (PLO) has no comparator, so no "better with LDN" sign.
    assert set(MEASURES) - {"PLO"} == SIGN_SYMMETRIC_MEASURES


def test_a_single_arm_proportion_is_not_harmonised():
    estimate = EffectEstimate(-1.25, 0.64, "PLO", ("plo_from_counts",))
    with pytest.raises(ValueError):
        harmonise_effect(estimate, "lower")


def test_unresolved_direction_is_refused():
    with pytest.raises(ValueError) as err:
        direction_sign(["higher", "improvement_reported"])
    assert str(err.value) == (
        "better_direction must be one of ('higher', 'lower'); got improvement_reported at "
        "row(s) 1 (resolve 'improvement_reported' to the scale's better end first)"
    )


def test_harmonise_effect_records_the_step_and_keeps_the_variance():
    est = EffectEstimate(-0.4, 0.05, "SMD", ("smd_from_means_sd",), ("r = 0.5 (config)",))
    out = harmonise_effect(est, "lower")
    assert (out.yi, out.vi) == (0.4, 0.05)
    assert out.derivation == ("smd_from_means_sd", "direction_harmonised")
    assert out.assumptions == (
        "r = 0.5 (config)",
        "lower is better; positive = better with LDN",
    )
    assert harmonise_effect(est, "higher").yi == -0.4
