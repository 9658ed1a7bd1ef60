"""GRADE rules on constructed analyses: each downgrade on its own, their combination (GRADE
guidelines 3, Balshem et al. 2011: levels add up, floor very low), overrides, the schema and
the plain-language statements (Santesso et al. 2020)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ldn_evidence.certainty import (
    CertaintyConfigError,
    CertaintyRules,
    Override,
    assess_condition,
    overrides_from_mapping,
    plain_language,
    read_rules,
)
from ldn_evidence.certainty.rules import SYMBOLS, Threshold

ROOT = Path(__file__).resolve().parents[3]
RULES = CertaintyRules.from_mapping({})


def analysis(**over):
    """A clean randomized SMD analysis: 3 trials at low risk, 600 participants, CI 0.4-0.8."""
    row = {
        "analysis_id": "x_pain_rct_smd",
        "scenario": "main",
        "title": "Pain: randomized comparisons",
        "condition": "fibromyalgia",
        "domain": "pain",
        "measure": "SMD",
        "stratum": "randomized_between_arm",
        "k": 3,
        "n_participants": 600,
        "estimate": 0.6,
        "ci_low": 0.4,
        "ci_high": 0.8,
        "i2": 10.0,
        "i2_ci_low": 0.0,
        "i2_ci_high": 60.0,
        "pi_low": 0.3,
        "pi_high": 0.9,
    }
    row.update(over)
    return row


def members(k=3, **columns):
    """k member studies with equal weights, low risk, full texts, 4.5 mg/day."""
    frame = pd.DataFrame(
        {
            "analysis_id": "x_pain_rct_smd",
            "scenario": "main",
            "study_id": [f"S{i}" for i in range(k)],
            "outcome_id": "pain",
            "design": "parallel_rct",
            "yi": np.linspace(0.5, 0.7, k),
            "vi": 0.02,
            "weight_percent": 100.0 / k,
            "n_ldn": 100,
            "n_ctl": 100,
            "events_ldn": pd.NA,
            "events_ctl": pd.NA,
            "dose_mg_per_day": 4.5,
            "dose_above_ldn_range": False,
            "rob_overall": "low",
            "source_quality": "primary_full_text",
            "selective_reporting_risk": pd.NA,
            "co_interventions": pd.NA,
            "population_scope": "target_condition",
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def rate(row=None, mem=None, rules=RULES, overrides=()):
    row = row or analysis()
    mem = mem if mem is not None else members(row["k"])
    out = assess_condition(pd.DataFrame([row]), mem, rules, overrides)
    assert len(out) == 1
    return out.iloc[0]


def downgrades(result):
    return {
        d: int(result[d])
        for d in (
            "risk_of_bias",
            "inconsistency",
            "indirectness",
            "imprecision",
            "publication_bias",
        )
    }


NONE = {
    "risk_of_bias": 0,
    "inconsistency": 0,
    "indirectness": 0,
    "imprecision": 0,
    "publication_bias": 0,
}


def only(**levels):
    return {**NONE, **levels}


# ---- start ----------------------------------------------------------------------------------


def test_clean_randomized_evidence_stays_high():
    result = rate()
    assert downgrades(result) == NONE
    assert result.start_level == "high" and result.certainty == "high"
    assert result.symbols == "⊕⊕⊕⊕"


@pytest.mark.parametrize(
    "stratum",
    ["nonrandomized_between_arm", "within_group_pre_post", "observational_before_after"],
)
def test_non_randomized_and_uncontrolled_strata_start_low(stratum):
    result = rate(analysis(stratum=stratum))
    assert result.start_level == "low" and result.certainty == "low"


# ---- risk of bias ----------------------------------------------------------------------------


def test_unclear_risk_majority_is_serious():
    result = rate(mem=members(rob_overall=["some_concerns", "some_concerns", "low"]))
    assert downgrades(result) == only(risk_of_bias=1)
    assert "67% of the weight from studies at high or unclear risk" in result.risk_of_bias_reason
    assert result.certainty == "moderate"


def test_unclear_risk_minority_is_not_serious():
    result = rate(mem=members(rob_overall=["some_concerns", "low", "low"]))
    assert downgrades(result) == NONE


def test_high_risk_majority_is_serious_and_all_high_risk_very_serious():
    result = rate(mem=members(rob_overall=["high", "high", "low"]))
    assert downgrades(result) == only(risk_of_bias=1)
    result = rate(mem=members(rob_overall="high"))
    assert downgrades(result) == only(risk_of_bias=2)
    assert result.certainty == "low"
    assert "100% of the weight from studies at high risk" in result.risk_of_bias_reason
    lenient = CertaintyRules.from_mapping({"risk_of_bias": {"very_serious_share": 0.6}})
    assert rate(mem=members(rob_overall=["high", "high", "low"]), rules=lenient).risk_of_bias == 2


def test_weights_decide_not_study_counts():
    mem = members(rob_overall=["not_assessed", "low", "low"], weight_percent=[60.0, 20.0, 20.0])
    assert downgrades(rate(mem=mem)) == only(risk_of_bias=1)


def test_secondary_summaries_add_a_level_on_their_own():
    mem = members(source_quality=["secondary_summary", "conference_abstract", "primary_abstract"])
    result = rate(mem=mem)
    assert downgrades(result) == only(risk_of_bias=1)
    assert "abstracts or secondary summaries" in result.risk_of_bias_reason


def test_selective_reporting_adds_a_level_on_its_own():
    mem = members(selective_reporting_risk=["high", "high", pd.NA])
    result = rate(mem=mem)
    assert downgrades(result) == only(risk_of_bias=1)
    assert "selective reporting" in result.risk_of_bias_reason


def test_risk_of_bias_concerns_cap_at_two_levels():
    mem = members(
        rob_overall="high", source_quality="secondary_summary", selective_reporting_risk="high"
    )
    assert downgrades(rate(mem=mem)) == only(risk_of_bias=2)


# ---- inconsistency ---------------------------------------------------------------------------


def test_i2_above_threshold_is_serious():
    result = rate(analysis(i2=60.0))
    assert downgrades(result) == only(inconsistency=1)
    assert "I^2 = 60%" in result.inconsistency_reason


def test_i2_very_high_with_opposite_directions_is_very_serious():
    mem = members(yi=[-0.3, 0.5, 1.2])
    assert downgrades(rate(analysis(i2=80.0), mem)) == only(inconsistency=2)
    same_side = members(yi=[0.1, 0.5, 1.2])
    assert downgrades(rate(analysis(i2=80.0), same_side)) == only(inconsistency=1)


def test_prediction_interval_crossing_the_null_when_the_ci_does_not():
    result = rate(analysis(pi_low=-0.1, pi_high=1.3))
    assert downgrades(result) == only(inconsistency=1)
    assert (
        "the prediction interval crosses the null, the CI does not" in result.inconsistency_reason
    )


def test_inconsistency_not_assessable_with_one_study_and_never_rated_up():
    result = rate(analysis(k=1, i2=np.nan, pi_low=np.nan, pi_high=np.nan), members(1))
    assert result.inconsistency == 0 and not result.inconsistency_assessable
    assert "not assessable: a single study" in result.inconsistency_reason
    assert "not rated up" in result.inconsistency_reason


# ---- imprecision -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "n", "level", "words"),
    [
        ((0.4, 0.8), 600, 0, "crosses neither"),
        ((-0.1, 0.3), 600, 1, "crosses the null"),
        ((0.1, 0.5), 600, 1, "crosses the small-effect threshold 0.2"),
        ((-0.3, 0.3), 600, 2, "spans both an important benefit"),
        ((-0.1, 0.15), 600, 0, "excludes an important effect either way"),
        ((0.4, 0.8), 300, 1, "below the optimal information size of 400"),
        ((0.4, 0.8), 90, 2, "far below the optimal information size of 400"),
    ],
)
def test_imprecision_from_the_ci_and_the_information_size(ci, n, level, words):
    result = rate(analysis(ci_low=ci[0], ci_high=ci[1], n_participants=n))
    assert downgrades(result) == only(imprecision=level)
    assert words in result.imprecision_reason


def test_a_single_small_study_is_at_least_serious():
    row = analysis(k=1, n_participants=200, i2=np.nan, pi_low=np.nan, pi_high=np.nan)
    result = rate(row, members(1))
    assert result.imprecision == 1
    assert "a single small study" in result.imprecision_reason


def test_binary_outcomes_count_events_against_their_own_ois():
    row = analysis(measure="RR", estimate=0.9, ci_low=0.6, ci_high=1.2, n_participants=2000)
    few = members(events_ldn=[40, 40, 40], events_ctl=[30, 30, 30])
    assert downgrades(rate(row, few)) == only(imprecision=1)
    assert "210 events" in rate(row, few).imprecision_reason
    many = members(events_ldn=[100, 100, 100], events_ctl=[90, 90, 90])
    assert downgrades(rate(row, many)) == NONE


def test_familiar_scale_threshold_is_used_when_the_smd_is_re_expressed():
    # SMD CI -0.3 to 0.5 spans +/-0.2, but on a 0-10 pain NRS (SD 1.6) it is -0.48 to 0.8
    # points: within +/-1 point, a precise "little or no difference".
    row = analysis(
        estimate=0.1,
        ci_low=-0.3,
        ci_high=0.5,
        reference_sd_unit="points on a 0-10 pain NRS",
        familiar_estimate=0.16,
        familiar_ci_low=-0.48,
        familiar_ci_high=0.8,
    )
    result = rate(row)
    assert result.assessed_scale == "points on a 0-10 pain NRS"
    assert result.threshold_small == 1.0
    assert downgrades(result) == NONE
    assert result.plain_language == "LDN results in little or no difference in pain."
    smd_only = rate(analysis(estimate=0.1, ci_low=-0.3, ci_high=0.5))
    assert smd_only.imprecision == 2


def test_single_arm_proportions_by_the_width_of_their_ci():
    # logit CI -1.0 to 1.0 is 27% to 73%: width 0.46, very serious.
    row = analysis(
        stratum="single_arm_proportion", measure="PLO", estimate=0.0, ci_low=-1.0, ci_high=1.0
    )
    result = rate(row)
    assert result.imprecision == 2
    assert "27% to 73%" in result.imprecision_reason
    narrow = analysis(
        stratum="single_arm_proportion", measure="PLO", estimate=0.0, ci_low=-0.2, ci_high=0.2
    )
    assert rate(narrow).imprecision == 0


# ---- indirectness ----------------------------------------------------------------------------


def test_doses_above_the_ldn_range_are_indirect():
    mem = members(dose_mg_per_day=[6.0, 6.0, 4.5], dose_above_ldn_range=[True, True, False])
    result = rate(mem=mem)
    assert downgrades(result) == only(indirectness=1)
    assert "67% of the weight from doses above 4.5 mg/day (S0 6 mg/day, S1 6 mg/day)" in (
        result.indirectness_reason
    )


def test_co_interventions_are_indirect():
    mem = members(co_interventions=["NAD+ patches", "NAD+ patches", pd.NA])
    assert downgrades(rate(mem=mem)) == only(indirectness=1)


def test_string_nan_is_not_a_co_intervention():
    assert downgrades(rate(mem=members(co_interventions="nan"))) == NONE


def test_mixed_populations_are_indirect():
    mem = members(population_scope=["mixed_ibd", "mixed_ibd", "target_condition"])
    assert downgrades(rate(mem=mem)) == only(indirectness=1)


def test_two_indirectness_concerns_are_two_levels():
    mem = members(dose_above_ldn_range=True, dose_mg_per_day=6.0, co_interventions="exercise")
    assert downgrades(rate(mem=mem)) == only(indirectness=2)


# ---- publication bias -------------------------------------------------------------------------


def test_publication_bias_not_assessable_below_ten_studies():
    result = rate()
    assert result.publication_bias == 0 and not result.publication_bias_assessable
    assert "not assessable: k = 3, below the 10 studies" in result.publication_bias_reason


def test_egger_test_from_ten_studies():
    k = 12
    se = np.linspace(0.1, 0.6, k)
    yi = 0.1 + 2.0 * se  # small studies show larger effects
    mem = members(k, yi=yi, vi=se**2)
    row = analysis(k=k, n_participants=2400)
    result = rate(row, mem)
    assert result.publication_bias == 1 and result.publication_bias_assessable
    assert "Egger's test p = " in result.publication_bias_reason
    symmetric = members(k, yi=np.full(k, 0.6) + np.tile([0.05, -0.05], k // 2), vi=se**2)
    assert rate(row, symmetric).publication_bias == 0


# ---- combination -----------------------------------------------------------------------------


def test_two_serious_concerns_are_two_levels_down():
    mem = members(rob_overall="some_concerns")
    result = rate(analysis(n_participants=300), mem)
    assert downgrades(result) == only(risk_of_bias=1, imprecision=1)
    assert result.total_downgrade == 2 and result.certainty == "low"
    assert result.symbols == SYMBOLS["low"] == "⊕⊕◯◯"


def test_the_level_never_falls_below_very_low():
    mem = members(rob_overall="high", dose_above_ldn_range=True, co_interventions="x")
    result = rate(analysis(i2=90.0, n_participants=50), mem.assign(yi=[-0.5, 0.5, 1.5]))
    assert result.total_downgrade == 8
    assert result.certainty == "very_low" and result.symbols == "⊕◯◯◯"
    low_start = rate(analysis(stratum="nonrandomized_between_arm", n_participants=300))
    assert low_start.total_downgrade == 1 and low_start.certainty == "very_low"


# ---- overrides -------------------------------------------------------------------------------


def test_domain_override_replaces_the_rule_and_is_recorded():
    mem = members(rob_overall="some_concerns")
    override = Override("x_pain_rct_smd", "risk judged from the full text", {"risk_of_bias": 0})
    result = rate(mem=mem, overrides=[override])
    assert result.rule_certainty == "moderate" and result.certainty == "high"
    assert result.risk_of_bias == 0 and result.override_applied
    assert result.override_reason == "risk judged from the full text"
    assert "the rules gave 1" in result.risk_of_bias_reason
    assert "[override: risk judged from the full text]" in result.risk_of_bias_reason


def test_certainty_override_sets_the_final_level():
    override = Override("x_pain_rct_smd", "surrogate outcome", certainty="low")
    result = rate(overrides=[override])
    assert result.rule_certainty == "high" and result.certainty == "low"
    assert result.plain_language.startswith("LDN may reduce pain")


def test_overrides_of_other_analyses_are_ignored():
    result = rate(overrides=[Override("another", "x", certainty="low")])
    assert not result.override_applied and result.certainty == "high"


def test_the_overrides_file_needs_a_reason_and_one_entry_per_analysis():
    with pytest.raises(CertaintyConfigError, match="'reason' is a required property"):
        overrides_from_mapping({"overrides": [{"analysis_id": "a", "certainty": "low"}]})
    twice = {"analysis_id": "a", "certainty": "low", "reason": "r"}
    with pytest.raises(CertaintyConfigError, match="overridden twice"):
        overrides_from_mapping({"overrides": [twice, twice]})
    parsed = overrides_from_mapping(
        {"overrides": [{"analysis_id": "a", "downgrades": {"imprecision": 2}, "reason": "r"}]}
    )
    assert parsed == (Override("a", "r", {"imprecision": 2}),)


def test_the_shipped_overrides_file_is_valid():
    from ldn_evidence.certainty import read_overrides

    assert read_overrides(ROOT / "config" / "certainty_overrides.yaml") == ()


# ---- the rules file and its schema -----------------------------------------------------------


def test_the_shipped_rules_are_the_defaults():
    assert read_rules(ROOT / "config" / "certainty.yaml") == CertaintyRules.from_mapping({})


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"imprecison": {}}, "imprecison"),
        ({"imprecision": {"ois_patients": 400}}, "ois_patients"),
        ({"risk_of_bias": {"serious_share": 0.5, "typo_share": 0.5}}, "typo_share"),
    ],
)
def test_schema_rejects_unknown_keys_naming_the_file_and_the_key(mapping, key):
    with pytest.raises(CertaintyConfigError) as err:
        CertaintyRules.from_mapping(mapping)
    message = str(err.value)
    assert message.startswith("config/certainty.yaml: ")
    assert f"'{key}' was unexpected" in message


def test_schema_rejects_a_bad_level(tmp_path):
    path = tmp_path / "certainty.yaml"
    path.write_text(yaml.safe_dump({"start": {"randomized_between_arm": "excellent"}}))
    with pytest.raises(CertaintyConfigError, match=r"start\.randomized_between_arm: 'excellent'"):
        read_rules(path)


def test_rules_are_configurable():
    strict = CertaintyRules.from_mapping({"inconsistency": {"i2_serious": 5}})
    assert rate(rules=strict).inconsistency == 1
    assert rate().inconsistency == 0


# ---- plain language (Santesso et al. 2020) ---------------------------------------------------

SMD = Threshold(0.2, 0.5, "rule of thumb", "SMD")


def say(level, estimate, lo, hi, **kw):
    args = {
        "title": "Pain: randomized comparisons",
        "domain": "pain",
        "measure": "SMD",
        "stratum": "randomized_between_arm",
        "threshold": SMD,
    } | kw
    return plain_language(level, estimate=estimate, ci_low=lo, ci_high=hi, **args).sentence


@pytest.mark.parametrize(
    ("level", "sentence"),
    [
        ("high", "LDN reduces pain."),
        ("moderate", "LDN probably reduces pain."),
        ("low", "LDN may reduce pain."),
        ("very_low", "The evidence is very uncertain about the effect of LDN on pain."),
    ],
)
def test_statement_for_each_level(level, sentence):
    assert say(level, 0.6, 0.3, 0.9) == sentence


def test_statements_for_small_and_trivial_effects_and_harm():
    assert say("moderate", 0.3, 0.1, 0.5) == "LDN probably reduces pain slightly."
    assert say("low", 0.3, 0.1, 0.5) == "LDN may reduce pain slightly."
    assert say("high", 0.05, -0.1, 0.15) == "LDN results in little or no difference in pain."
    assert say("low", 0.05, -0.3, 0.4) == "LDN may result in little or no difference in pain."
    assert say("moderate", -0.6, -0.9, -0.3) == "LDN probably increases pain."
    assert (
        say(
            "high",
            0.6,
            0.3,
            0.9,
            title="Quality of life: randomized comparisons",
            domain="quality_of_life",
        )
        == "LDN improves quality of life."
    )


def test_statements_for_events():
    rr = Threshold(0.223, 0.693, "GRADE 6", "RR")
    text = say(
        "moderate",
        0.5,
        0.3,
        0.7,
        title="Adverse events (serious adverse events): randomized comparisons",
        domain="adverse_events",
        measure="RR",
        threshold=rr,
    )
    assert text == "LDN probably reduces the risk of serious adverse events slightly."
    response = say(
        "low",
        0.8,
        0.4,
        1.2,
        title="Response: randomized comparisons",
        domain="response",
        measure="RR",
        threshold=rr,
    )
    assert response == "LDN may increase the chance of response."


def test_uncontrolled_results_are_never_an_effect_of_ldn():
    text = say(
        "very_low",
        1.8,
        1.3,
        2.3,
        title="Fatigue: change from baseline, no comparator",
        domain="fatigue",
        measure="SMCR",
        stratum="within_group_pre_post",
    )
    assert text.startswith("The evidence is very uncertain about the effect of LDN on fatigue")
    assert "with no comparison group" in text
    prop = say(
        "low",
        0.0,
        -0.5,
        0.5,
        title="Remission: proportion of LDN-treated participants",
        domain="remission",
        measure="PLO",
        stratum="single_arm_proportion",
    )
    assert "about 50% of people taking LDN" in prop and "not an effect of LDN" in prop
    assert prop.startswith("Remission: recorded in about 50% of people taking LDN (95% CI 38%")
    # what every study gave with LDN is named: skin irritation may be the patches'
    patches = say(
        "very_low",
        -1.1,
        -1.85,
        -0.34,
        title="Adverse events (skin irritation): proportion of LDN-treated participants",
        domain="adverse_events",
        measure="PLO",
        stratum="single_arm_proportion",
        given_with="NAD+ iontophoresis patches",
    )
    assert "about 25% of people taking LDN with NAD+ iontophoresis patches (95% CI" in patches
    # plural outcome names read right: no "dropouts was recorded"
    dropouts = say(
        "very_low",
        -2.0,
        -2.9,
        -1.1,
        title="Dropouts: proportion of LDN-treated participants",
        domain="adverse_events",
        measure="PLO",
        stratum="single_arm_proportion",
    )
    assert dropouts == (
        "The evidence is very uncertain about the effect of LDN on dropouts: it was recorded in "
        "about 12% of people taking LDN (95% CI 5% to 25%), with no comparison group."
    )


def test_a_co_intervention_common_to_every_member_is_named():
    from ldn_evidence.certainty.grade import common_co_intervention

    both = pd.DataFrame({"co_interventions": ["NAD+ patches", "NAD+ patches"]})
    assert common_co_intervention(both) == "NAD+ patches"
    one = pd.DataFrame({"co_interventions": ["NAD+ patches", None]})
    assert common_co_intervention(one) == ""
    assert common_co_intervention(pd.DataFrame({"study_id": ["A"]})) == ""
    assert common_co_intervention(pd.DataFrame({"co_interventions": []})) == ""
