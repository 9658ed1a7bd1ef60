"""EffectEstimate: the record the normalizer stores."""

import dataclasses
import math

import pytest

from ldn_evidence.effects import EffectEstimate


def test_fields_and_derived_values():
    est = EffectEstimate(0.5, 0.04, "MD", ["md_from_ci"], ["95% CI, z"])
    assert est.derivation == ("md_from_ci",) and est.assumptions == ("95% CI, z",)
    assert est.sei == pytest.approx(0.2)
    lower, upper = est.ci()
    assert (lower, upper) == pytest.approx((0.5 - 1.959964 * 0.2, 0.5 + 1.959964 * 0.2))
    assert math.isnan(EffectEstimate(0.1, math.nan, "MD", ("x",)).sei)


def test_is_frozen():
    est = EffectEstimate(0.5, 0.04, "MD", ("md_from_ci",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.yi = 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "HR"}, "measure must be one of"),
        ({"derivation": ()}, "derivation must name at least one step"),
        ({"derivation": "md_from_ci"}, "derivation must be a tuple of strings"),
        ({"vi": -0.1}, "vi must be >= 0; got -0.1"),
    ],
)
def test_validation(kwargs, message):
    args = {"yi": 0.5, "vi": 0.04, "measure": "MD", "derivation": ("md_from_ci",)} | kwargs
    with pytest.raises(ValueError, match=message):
        EffectEstimate(**args)


def test_with_step_appends():
    est = EffectEstimate(0.5, 0.04, "MD", ("a",), ("x",)).with_step(
        "b", yi=-0.5, assumptions=("y",)
    )
    assert (est.yi, est.derivation, est.assumptions) == (-0.5, ("a", "b"), ("x", "y"))
