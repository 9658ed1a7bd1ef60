"""Design-level derivations on published worked examples (source cited per test)."""

import json
import math
from pathlib import Path

import pytest
from scipy import stats
from tests.tolerances import ESCALC

from ldn_evidence.effects import designs, escalc
from ldn_evidence.effects.conversions import hedges_correction

# Cochrane Handbook v5.1, section 16.4.6.4: crossover trial, n = 10, E: 7.0 (SD 2.38),
# C: 6.5 (SD 2.21), imputed r = 0.68.
COCHRANE_CROSSOVER = {"m_ldn": 7.0, "sd_ldn": 2.38, "m_control": 6.5, "sd_control": 2.21, "n": 10}


def test_crossover_md_paired_cochrane_example():
    est = designs.crossover_md_paired(**COCHRANE_CROSSOVER, r=0.68)
    assert est.yi == 0.5
    assert round(est.sei, 3) == 0.583  # Cochrane: SE(MD) = 0.583
    assert est.measure == "MD"
    assert est.derivation == ("crossover_paired_with_imputed_r",)
    assert est.assumptions[0] == "r = 0.68 (config)"


def test_crossover_md_paired_sd_of_differences_formula():
    est = designs.crossover_md_paired(**COCHRANE_CROSSOVER, r=0.3, r_source="sensitivity")
    sd_diff = math.sqrt(2.38**2 + 2.21**2 - 2 * 0.3 * 2.38 * 2.21)
    assert est.vi == pytest.approx(sd_diff**2 / 10)
    assert est.assumptions[0] == "r = 0.3 (sensitivity)"


def test_crossover_smd_between_person_cochrane_example():
    est = designs.crossover_smd_paired(**COCHRANE_CROSSOVER, r=0.68, small_sample_correction=False)
    assert (round(est.yi, 3), round(est.sei, 3)) == (0.218, 0.256)  # Cochrane: 0.218 and 0.256
    assert "standardized by the between-person SD (Cochrane recommendation)" in est.assumptions


def test_crossover_smd_default_is_between_person_with_hedges_correction():
    assert designs.DEFAULT_CROSSOVER_STANDARDIZER == "between"
    plain = designs.crossover_smd_paired(
        **COCHRANE_CROSSOVER, r=0.68, small_sample_correction=False
    )
    corrected = designs.crossover_smd_paired(**COCHRANE_CROSSOVER, r=0.68)
    assert corrected.yi == pytest.approx(hedges_correction(9) * plain.yi)
    assert "Hedges' exact small-sample correction J(9)" in corrected.assumptions


def test_crossover_smd_within_person_is_the_change_score_smd():
    est = designs.crossover_smd_paired(**COCHRANE_CROSSOVER, r=0.68, standardizer="within")
    smcc = escalc("SMCC", m1i=[7.0], m2i=[6.5], sd1i=[2.38], sd2i=[2.21], ni=[10], ri=[0.68])
    assert est.yi == pytest.approx(smcc["yi"][0])
    assert est.vi == pytest.approx(smcc["vi"][0])


def test_crossover_md_from_p_value_uses_t_with_n_minus_1_df():
    est = designs.crossover_md_from_p_value(-1.2, 0.02, 15)
    assert est.sei == pytest.approx(1.2 / stats.t.isf(0.01, 14))
    assert est.yi == -1.2
    assert est.derivation == ("se_from_p_value", "crossover_paired_from_p_value")
    assert "paired t test with 14 df" in est.assumptions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"md": 1.0, "p": 0.05, "n": 1}, "n must be >= 2; got 1"),
        ({"md": 1.0, "p": 1.5, "n": 10}, "p must be between 0 and 1 (exclusive); got 1.5"),
        ({"md": 0.0, "p": 0.5, "n": 10}, "md = 0 carries no information on the SE (any SE fits p)"),
    ],
)
def test_crossover_md_from_p_value_errors(kwargs, message):
    with pytest.raises(ValueError) as err:
        designs.crossover_md_from_p_value(**kwargs)
    assert str(err.value) == message


def test_crossover_rejects_impossible_correlation():
    with pytest.raises(ValueError) as err:
        designs.crossover_md_paired(**COCHRANE_CROSSOVER, r=1.2)
    assert str(err.value) == "r must be between -1 and 1; got 1.2"


def test_pre_post_change_matches_metafor_on_morris_2008():
    # Morris (2008) Organ Res Methods 11:364, treatment group of study 1; metafor's SMCR value
    # from tests/reference/metafor/escalc_reference.json (post minus pre, pre-test SD).
    reference = json.loads(
        (Path(__file__).parents[2] / "reference/metafor/escalc_reference.json").read_text()
    )
    smcr = next(c for c in reference["cases"] if c["id"] == "smcr_morris_treatment")
    est = designs.pre_post_change(30.6, 15.0, 38.5, 11.6, 20, 0.47)
    assert est.yi == pytest.approx(smcr["yi"][0], rel=ESCALC["rtol"], abs=ESCALC["atol"])
    assert est.vi == pytest.approx(smcr["vi"][0], rel=ESCALC["rtol"], abs=ESCALC["atol"])
    assert est.derivation == ("single_arm_pre_post_smcr",)
    assert est.assumptions == ("r = 0.47 (config)", "standardized by the baseline SD")


def test_pre_post_change_mc_is_post_minus_pre():
    est = designs.pre_post_change(30.6, 15.0, 38.5, 11.6, 20, 0.47, measure="MC")
    assert est.yi == pytest.approx(7.9)
    assert est.measure == "MC"


def test_smd_from_cohens_d_equals_escalc_on_the_means():
    # A d computed from means and SDs gives the same g and vi as escalc from those means.
    m1, sd1, n1, m2, sd2, n2 = 12.0, 4.0, 18, 9.0, 5.0, 20
    sd_pooled = math.sqrt((17 * 16 + 19 * 25) / 36)
    est = designs.smd_from_cohens_d((m1 - m2) / sd_pooled, n1, n2)
    direct = escalc("SMD", m1i=[m1], sd1i=[sd1], n1i=[n1], m2i=[m2], sd2i=[sd2], n2i=[n2])
    assert est.yi == pytest.approx(direct["yi"][0])
    assert est.vi == pytest.approx(direct["vi"][0])


def test_md_from_ci_cochrane_example():
    # Cochrane 6.5.2.3: MD 3.8, 95% CI 1.2 to 6.4 from a t test with 45 df.
    est = designs.md_from_ci(3.8, 1.2, 6.4, df=45)
    assert est.sei == pytest.approx(5.2 / (2 * stats.t.isf(0.025, 45)))
    assert est.assumptions == ("95% CI, t with 45 df",)
    with pytest.raises(ValueError) as err:
        designs.md_from_ci(7.0, 1.2, 6.4)
    assert str(err.value) == "md must lie within its CI; got 7.0 (1.2 to 6.4)"


def test_smd_from_md_ci_applies_hedges_correction():
    est = designs.smd_from_md_ci(3.8, 1.2, 6.4, 25, 22)
    sd = 5.2 / (2 * stats.t.isf(0.025, 45)) / math.sqrt(1 / 25 + 1 / 22)
    assert est.yi == pytest.approx(hedges_correction(45) * 3.8 / sd)
    assert est.derivation == ("sd_pooled_from_ci", "smd_from_md_and_pooled_sd")


def test_log_ratio_from_ci():
    est = designs.log_ratio_from_ci(0.30, 0.10, 0.90, measure="RR")
    assert est.yi == pytest.approx(math.log(0.30))
    assert est.sei == pytest.approx(math.log(9) / (2 * stats.norm.isf(0.025)))
    with pytest.raises(ValueError, match="need 0 < lower <= ratio <= upper"):
        designs.log_ratio_from_ci(0.30, 0.0, 0.90, measure="RR")
