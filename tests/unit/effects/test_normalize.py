"""Effect sizes of the bundled studies, each checked against a hand computation.

The expected values are computed here, independently, from the published formula and the
numbers in the study file (quoted in the comments), never by calling the code under test.
"""

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import special, stats

from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.studyfile import read_study_file
from ldn_evidence.io.tables import outcomes_table, studies_table

RAW = Path(__file__).resolve().parents[3] / "data" / "raw"
R = 0.5  # the correlations of the default settings


def j(m):
    """Hedges' exact small-sample correction J(m) (Hedges 1981)."""
    return math.exp(
        special.gammaln(m / 2) - math.log(math.sqrt(m / 2)) - special.gammaln((m - 1) / 2)
    )


def effects_of(condition, **settings):
    items = [(p.as_posix(), read_study_file(p)) for p in sorted((RAW / condition).glob("*.yaml"))]
    return derive_effects(outcomes_table(items), studies_table(items), EffectSettings(**settings))


@pytest.fixture(scope="module")
def fm():
    return effects_of("fibromyalgia")


def row(effects, study, outcome, measure):
    hit = effects[
        (effects.study_id == study) & (effects.outcome_id == outcome) & (effects.measure == measure)
    ]
    assert len(hit) == 1, (study, outcome, measure)
    return hit.iloc[0]


def test_bruun_pain_prefers_the_reported_between_group_estimate(fm):
    # "between-group difference of -0·34 (-0·95 to 0·27 ...)", the trial's own model-based
    # estimate (the arm means differ by -0.4): MD 0.34 on "positive = better" (lower is
    # better), SE = width / (2 t_{97}).
    se = 1.22 / (2 * stats.t.ppf(0.975, 97))
    got = row(fm, "Bruun2024", "pain_intensity_nrs_0_10", "MD")
    assert (got.tier, got.yi) == ("C", pytest.approx(0.34, rel=1e-12))
    assert got.se == pytest.approx(se, rel=1e-12)
    assert "effects.prefer = adjusted" in got.choice
    assert "md_from_means_sd: 0.4" in got.cross_checks  # the unadjusted alternative, kept


def test_bruun_pain_from_per_arm_change_cis_when_unadjusted_is_preferred():
    # "-1·3 points (95% CI -1·7 to -0·8) in the low-dose naltrexone group and -0·9 (-1·4 to
    # -0·5) in the placebo group", n 49/50. SD = sqrt(n) * width / (2 t_{n-1, .975}).
    fm = effects_of("fibromyalgia", prefer="unadjusted")
    sd1 = math.sqrt(49) * 0.9 / (2 * stats.t.ppf(0.975, 48))
    sd2 = math.sqrt(50) * 0.9 / (2 * stats.t.ppf(0.975, 49))
    md = -1.3 - -0.9
    se = math.sqrt(sd1**2 / 49 + sd2**2 / 50)
    got = row(fm, "Bruun2024", "pain_intensity_nrs_0_10", "MD")
    assert got.tier == "A"
    assert got.yi == pytest.approx(-md, rel=1e-12)  # lower is better: sign flipped: 0.40
    assert got.se == pytest.approx(se, rel=1e-12)
    assert "effects.prefer = unadjusted" in got.choice
    assert "md_from_ci: 0.34" in got.cross_checks
    sp = math.sqrt((48 * sd1**2 + 49 * sd2**2) / 97)
    g = j(97) * md / sp
    smd = row(fm, "Bruun2024", "pain_intensity_nrs_0_10", "SMD")
    assert smd.yi == pytest.approx(-g, rel=1e-10)
    assert smd.vi == pytest.approx(1 / 49 + 1 / 50 + g**2 / (2 * 99), rel=1e-10)


def test_preference_applies_only_to_estimates_that_are_stated_adjusted(fm):
    # Bruun's CPM difference carries no adjustment label: the complete per-arm data win.
    got = row(fm, "Bruun2024", "conditioned_pain_modulation", "MD")
    assert (got.tier, got.choice) == ("A", None) or (got.tier == "A" and pd.isna(got.choice))


def test_younger2013_pain_from_its_paired_p_value(fm):
    # "28.8% reduction versus 18.0% reduction; P = 0.016", crossover, n = 28 analysed.
    md = 28.8 - 18.0
    se = md / stats.t.ppf(1 - 0.016 / 2, 27)
    got = row(fm, "Younger2013", "daily_pain", "MD")
    assert (got.tier, got.yi) == ("D", pytest.approx(md, rel=1e-12))
    assert got.se == pytest.approx(se, rel=1e-10)
    assert "n = 28" in got.assumptions
    # SMD standardized by the between-person SD, SD_diff^2 = 2 SD^2 (1 - r) (Elbourne 2002)
    sd = se * math.sqrt(28) / math.sqrt(2 * (1 - R))
    g = j(27) * md / sd
    smd = row(fm, "Younger2013", "daily_pain", "SMD")
    assert smd.yi == pytest.approx(g, rel=1e-10)
    assert smd.vi == pytest.approx((1 / 28 + g**2 / 56) * 2 * (1 - R), rel=1e-10)
    assert "r = 0.5 (config)" in smd.assumptions


def test_innova_pain_from_adjusted_difference_with_p(fm):
    # "adjusted between-group difference of 0.49 (p = 0.236, d = 0.19)"; positive = less pain
    # reduction with LDN, so worse with LDN; parallel 48/50. The SMD comes from the adjusted
    # difference too (SD pooled from its SE); the reported d stays a cross-check.
    se = 0.49 / stats.t.ppf(1 - 0.236 / 2, 96)
    md = row(fm, "RodriguezFreire_INNOVA", "pain_intensity_nrs_0_10", "MD")
    assert (md.tier, md.yi, md.se) == ("D", -0.49, pytest.approx(se, rel=1e-10))
    sd = se / math.sqrt(1 / 48 + 1 / 50)
    g = -j(96) * 0.49 / sd
    smd = row(fm, "RodriguezFreire_INNOVA", "pain_intensity_nrs_0_10", "SMD")
    assert (smd.tier, smd.yi) == ("D", pytest.approx(g, rel=1e-10))
    assert "smd_from_reported_cohens_d: -0.1885" in smd.cross_checks
    # d = 0.19 as Cohen's d: t = 0.19 sqrt(48 * 50 / 98) -> p = 0.35, not the printed 0.236.
    assert "implies p = 0.35; the source prints p = 0.236: inconsistent" in smd.assumptions


def test_bested_effect_size_without_its_type_is_not_read_as_an_smd(fm):
    # "-0.33 (6.33; effect size = 0.13; P = 0.4)": the "effect size" has no type. The SMD
    # comes from the paired p-value alone, SMD = J(57) t sqrt(2(1 - r)/n), with the sign of the
    # median difference (LDN lower on a lower-is-better scale).
    t = stats.t.isf(0.4 / 2, 57)
    g = j(57) * t * math.sqrt(2 * (1 - R) / 58)
    got = row(fm, "Bested2023", "summed_pain_intensity_ratings", "SMD")
    assert (got.tier, got.stratum) == ("D", "randomized_between_arm")
    assert got.yi == pytest.approx(g, rel=1e-10)
    assert got.yi != 0.13
    assert got.vi == pytest.approx((1 / 58 + g**2 / 116) * 2 * (1 - R), rel=1e-10)
    assert "depends only on p, n and the imputed r" in got.assumptions
    assert "probably non-parametric" in got.assumptions
    # ES 0.13 as a paired d_z: t = 0.13 sqrt(58) = 0.99 -> p = 0.33; the paper prints 0.4.
    assert "implies p = 0.33; the source prints p = 0.4: inconsistent" in got.assumptions
    assert "reported_effect_p_inconsistent" in got.caveats
    assert got.depends_on == "crossover_correlation"
    # FIQR: ES 0.15 (p = 0.3) is consistent at the printed precision.
    fiqr = row(fm, "Bested2023", "fiqr_total", "SMD")
    assert "inconsistent" not in fiqr.assumptions
    assert not ((fm.study_id == "Bested2023") & (fm.measure == "MD")).any()  # a median diff.


def test_adverse_events_as_log_risk_ratio(fm):
    # "41 participants in the low-dose naltrexone group (84 percent) and 43 (86 percent)".
    got = row(fm, "Bruun2024", "any_adverse_event", "RR")
    assert got.tier == "B"
    assert got.yi == pytest.approx(-math.log((41 / 49) / (43 / 50)), rel=1e-12)
    assert got.vi == pytest.approx(1 / 41 - 1 / 49 + 1 / 43 - 1 / 50, rel=1e-12)
    # Serious AEs 0/49 vs 1/50: 0.5 added to every cell (to = "only0").
    sae = row(fm, "Bruun2024", "serious_adverse_events", "RR")
    expected = math.log((0.5 / 50) / (1.5 / 51))
    assert sae.yi == pytest.approx(-expected, rel=1e-12)
    assert sae.vi == pytest.approx(1 / 0.5 - 1 / 50 + 1 / 1.5 - 1 / 51, rel=1e-12)
    assert "0.5 added to every cell" in sae.assumptions


def test_zero_cell_policy_none_drops_the_correction():
    fm = effects_of("fibromyalgia", to="none")
    sae = fm[(fm.study_id == "Bruun2024") & (fm.outcome_id == "serious_adverse_events")]
    assert list(sae.tier) == ["F"]
    assert sae.iloc[0].not_computable_reason == (
        "a zero cell with no correction (zero_cells.to = 'none'): RR undefined"
    )


def test_responders_from_percentages_only_when_counts_are_unique(fm):
    # 45% of 49 -> only 22 rounds to 45; 28% of 50 -> 14.
    got = row(fm, "Bruun2024", "response_30_decrease_in_pain", "RR")
    assert got.tier == "E"
    assert got.yi == pytest.approx(math.log((22 / 49) / (14 / 50)), rel=1e-12)
    crohns = effects_of("crohns_disease")
    smith = crohns[(crohns.study_id == "Smith2011") & (crohns.outcome_id == "clinical_response")]
    assert list(smith.tier) == ["F"]
    assert "88% of 20 and 40% of 20: no unique event counts" in smith.iloc[0].not_computable_reason


def test_cree2010_scales_from_md_with_p_value():
    ms = effects_of("multiple_sclerosis")
    # "1.6-point improvement (P=.04)" on the Pain Effects Scale: a size of improvement.
    pes = row(ms, "Cree2010", "pain_effects_scale", "MD")
    assert pes.yi == 1.6
    assert pes.se == pytest.approx(1.6 / stats.t.ppf(1 - 0.04 / 2, 59), rel=1e-10)
    # MHI "+6 (P<.01)": p < 0.01 used as 0.01, which overstates the SE.
    mhi = row(ms, "Cree2010", "mental_health_inventory", "MD")
    assert mhi.se == pytest.approx(6 / stats.t.ppf(1 - 0.01 / 2, 59), rel=1e-10)
    assert "p < 0.01 used as p = 0.01" in mhi.assumptions
    assert "p-value reported exactly" not in mhi.assumptions


def test_isman_prepost_standardized_mean_change():
    lc = effects_of("long_covid")
    # "36.5 [SD: 15.6] vs. 52.1 [24.8]", n = 36: SMCR = J(35) (post - pre) / SD_pre
    g = j(35) * (52.1 - 36.5) / 15.6
    sf36 = row(lc, "Isman2024", "sf_36_total_score", "SMCR")
    assert (sf36.tier, sf36.stratum) == ("A", "within_group_pre_post")
    assert sf36.yi == pytest.approx(g, rel=1e-12)
    assert sf36.vi == pytest.approx(2 * (1 - R) / 36 + g**2 / (2 * 36), rel=1e-12)
    assert pd.isna(sf36.caveats)
    # "baseline: 25.9 [4.6], 12 weeks: 17.4 [9.7]"; lower is better, so the sign flips.
    chalder = row(lc, "Isman2024", "chalder_fatigue_scale", "SMCR")
    assert chalder.yi == pytest.approx(-j(35) * (17.4 - 25.9) / 4.6, rel=1e-12)
    assert chalder.caveats == "restricted_baseline_sd"
    assert "baseline SD 4.6 is below 0.5 x the follow-up SD 9.7" in chalder.assumptions
    # the alternatives: SMCC by the SD of the change, SMCRP by the pooled SD (Cousineau 2020)
    sd_change = math.sqrt(4.6**2 + 9.7**2 - 2 * R * 4.6 * 9.7)
    smcc = -j(35) * (17.4 - 25.9) / sd_change
    smcrp = -j(2 * 35 / (1 + R**2)) * (17.4 - 25.9) / math.sqrt((4.6**2 + 9.7**2) / 2)
    assert f"SMCC (by the SD of the change): {smcc:.4g}" in chalder.cross_checks
    assert f"SMCRP (by the pooled baseline and follow-up SD): {smcrp:.4g}" in chalder.cross_checks
    assert sf36.co_interventions == "NAD+ iontophoresis patches"
    pooled = effects_of("long_covid", prepost_measure="SMCRP")
    chalder_p = row(pooled, "Isman2024", "chalder_fatigue_scale", "SMCRP")
    assert chalder_p.yi == pytest.approx(smcrp, rel=1e-12)
    assert chalder_p.vi == pytest.approx(
        2 * (1 - R) / 36 + smcrp**2 * (1 + R**2) / (4 * 36), rel=1e-12
    )


def test_every_outcome_has_a_row_and_narrative_rows_say_why():
    for condition in ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid"):
        effects = effects_of(condition)
        narrative = effects[effects.tier == "F"]
        assert narrative.not_computable_reason.notna().all()
        assert narrative.yi.isna().all()
        computed = effects[effects.tier != "F"]
        assert computed.derivation.notna().all() and computed.not_computable_reason.isna().all()
        assert (effects.direction_convention == "positive = better with LDN").all()
    lc = effects_of("long_covid")
    tamariz = lc[lc.study_id == "Tamariz2024"].iloc[0]
    assert tamariz.tier == "F" and tamariz.not_computable_reason.startswith("study excluded")


def test_dose_above_range_is_flagged(fm):
    assert fm[fm.study_id == "Bruun2024"].dose_above_ldn_range.all()
    assert not fm[fm.study_id == "Younger2013"].dose_above_ldn_range.any()


def test_output_is_deterministic():
    first, second = effects_of("fibromyalgia"), effects_of("fibromyalgia")
    pd.testing.assert_frame_equal(first, second)
    assert first.to_csv(index=False) == second.to_csv(index=False)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"crossover_correlation": 1.0},
            "effects.crossover_correlation must be in (-1, 1); got 1.0",
        ),
        (
            {"prepost_measure": "MC"},
            "effects.prepost_measure must be SMCR, SMCC or SMCRP; got 'MC'",
        ),
        ({"prefer": "both"}, "effects.prefer must be adjusted or unadjusted; got 'both'"),
        ({"binary_measure": "PETO"}, "effects.binary_measure must be RR, OR or RD; got 'PETO'"),
        ({"to": "if0all"}, "effects.zero_cells.to must be one of ('all', 'only0', 'none')"),
    ],
)
def test_invalid_settings(settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EffectSettings(**settings)


def test_settings_from_config_mapping():
    settings = EffectSettings.from_mapping(
        {"crossover_correlation": 0.3, "zero_cells": {"add": 0.25, "to": "all", "drop00": False}}
    )
    assert (settings.crossover_correlation, settings.add, settings.to) == (0.3, 0.25, "all")
    with pytest.raises(ValueError, match="unknown effects settings: \\['crossover_r'\\]"):
        EffectSettings.from_mapping({"crossover_r": 0.3})
