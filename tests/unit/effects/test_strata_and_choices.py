"""The effect-size revision: strata from the comparison, no over-reading, nothing left behind.

Real rows are checked against hand computations from the numbers quoted in the study files;
constructed studies check each rule on its own.
"""

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import special, stats

from ldn_evidence import vocab
from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.studyfile import read_study_file
from ldn_evidence.io.tables import outcomes_table, studies_table

RAW = Path(__file__).resolve().parents[3] / "data" / "raw"
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")


def j(m):
    return math.exp(
        special.gammaln(m / 2) - math.log(math.sqrt(m / 2)) - special.gammaln((m - 1) / 2)
    )


def effects_of(condition, **settings):
    items = [(p.as_posix(), read_study_file(p)) for p in sorted((RAW / condition).glob("*.yaml"))]
    return derive_effects(outcomes_table(items), studies_table(items), EffectSettings(**settings))


@pytest.fixture(scope="module")
def bundled():
    return {c: effects_of(c) for c in CONDITIONS}


def rows(effects, study, outcome):
    return effects[(effects.study_id == study) & (effects.outcome_id == outcome)]


def one(effects, study, outcome, measure=None):
    hit = rows(effects, study, outcome)
    if measure is not None:
        hit = hit[hit.measure == measure]
    assert len(hit) == 1, (study, outcome, measure)
    return hit.iloc[0]


def constructed(outcome, *, design="parallel_rct", **study_fields):
    """Effects of one made-up study with one outcome (numbers chosen for the rule tested)."""
    study = {
        "schema_version": 1,
        "id": "Made2099",
        "condition": "fibromyalgia",
        "design": design,
        "inclusion": {"status": "include"},
        "source": {"url": "https://example.org/made-up"},
        **study_fields,
        "outcomes": [
            {
                "id": "x",
                "name": "made-up outcome",
                "domain": "pain",
                "better_direction": "lower",
                "source": {"url": "https://example.org/made-up"},
                **outcome,
            }
        ],
    }
    items = [("data/raw/fibromyalgia/Made2099.yaml", study)]
    return derive_effects(outcomes_table(items), studies_table(items), EffectSettings())


# ---- strata ---------------------------------------------------------------------------------


def test_every_row_has_a_stratum_from_the_vocabulary(bundled):
    for effects in bundled.values():
        assert set(effects.stratum) <= set(vocab.STRATA)


@pytest.mark.parametrize(
    ("condition", "study", "outcome", "stratum"),
    [
        (
            "fibromyalgia",
            "Younger2009",
            "fibromyalgia_symptom_severity",
            "nonrandomized_between_arm",
        ),
        ("fibromyalgia", "Younger2013", "daily_pain", "randomized_between_arm"),
        ("fibromyalgia", "Parkitny2017", "fm_associated_pain", "within_group_pre_post"),
        (
            "crohns_disease",
            "AJG2011_TertiaryCenterCaseSeries",
            "symptomatic_remission",
            "single_arm_proportion",
        ),
        ("crohns_disease", "P418_2014_IBDCaseSeries", "clinical_response", "single_arm_proportion"),
        ("crohns_disease", "Raknes2018", "number_of_users_of_all", "observational_before_after"),
        ("crohns_disease", "Smith2013", "pcdai", "within_group_pre_post"),
        ("crohns_disease", "Smith2013", "clinical_remission", "single_arm_proportion"),
        ("crohns_disease", "Smith2011", "clinical_response", "randomized_between_arm"),
        (
            "multiple_sclerosis",
            "Raknes2017",
            "dispensed_ms_specific_medication",
            "observational_before_after",
        ),
        (
            "multiple_sclerosis",
            "Ludwig2016",
            "clinical_laboratory_values",
            "nonrandomized_between_arm",
        ),
        ("long_covid", "Isman2024", "chalder_fatigue_scale", "within_group_pre_post"),
        (
            "long_covid",
            "OKelly2022",
            "discontinuation_due_to_adverse_events",
            "single_arm_proportion",
        ),
    ],
)
def test_stratum_is_what_the_numbers_compare(bundled, condition, study, outcome, stratum):
    assert set(rows(bundled[condition], study, outcome).stratum) == {stratum}


def test_a_stated_comparison_stratum_overrides_the_design():
    got = constructed(
        {"comparison_stratum": "within_group_pre_post", "statistics": {"mean_ldn": 3.0}}
    )
    assert list(got.stratum) == ["within_group_pre_post"]
    assert list(constructed({"statistics": {"mean_ldn": 3.0}}).stratum) == [
        "randomized_between_arm"
    ]


# ---- no effect left behind ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "p"), [("general_satisfaction_with_life", 0.045), ("positive_mood", 0.039)]
)
def test_younger2013_p_value_only_outcomes_give_a_paired_smd(bundled, outcome, p):
    # "associated with improved general satisfaction with life (P = 0.045)", crossover, n = 28:
    # SMD = J(27) t sqrt(2(1 - r)/n), positive because the source says "improved".
    got = one(bundled["fibromyalgia"], "Younger2013", outcome, "SMD")
    t = stats.t.isf(p / 2, 27)
    g = j(27) * t * math.sqrt(2 * 0.5 / 28)
    assert (got.tier, got.yi) == ("D", pytest.approx(g, rel=1e-10))
    assert 0.38 < got.yi < 0.41
    assert "direction as the source words it" in got.assumptions


def test_younger2013_responders_from_the_only_fitting_denominator(bundled):
    # "Thirty-two percent ... as contrasted with an 11% response rate": of 28 analysed only
    # 9/28 (32.1%) and 3/28 (10.7%) fit; of 31 randomized 3/31 = 9.7% and 4/31 = 12.9% do not.
    got = one(bundled["fibromyalgia"], "Younger2013", "responder", "RR")
    assert (got.tier, got.events_ldn, got.events_ctl) == ("E", 9, 3)
    assert got.yi == pytest.approx(math.log((9 / 28) / (3 / 28)), rel=1e-12)
    assert got.vi == pytest.approx(1 / 9 - 1 / 28 + 1 / 3 - 1 / 28, rel=1e-12)
    assert got.caveats == "pairing_ignored"
    assert "n = 31 (randomized in the study)" in got.assumptions


def test_case_series_gives_a_single_arm_proportion_with_wilson_ci(bundled):
    # "2 / 9 (22%) had subjective improvement": Wilson score interval by hand.
    got = one(
        bundled["crohns_disease"],
        "AJG2011_TertiaryCenterCaseSeries",
        "subjective_symptom_improvement",
    )
    x, n, z = 2, 9, stats.norm.isf(0.025)
    centre = (x + z**2 / 2) / (n + z**2)
    half = z * math.sqrt(x * (n - x) / n + z**2 / 4) / (n + z**2)
    assert (got.measure, got.tier, got.stratum) == ("PLO", "B", "single_arm_proportion")
    assert got.proportion == pytest.approx(2 / 9, rel=1e-12)
    assert got.proportion_ci_low == pytest.approx(centre - half, rel=1e-10)
    assert got.proportion_ci_high == pytest.approx(centre + half, rel=1e-10)
    assert got.yi == pytest.approx(math.log(2 / 7), rel=1e-12)
    assert got.vi == pytest.approx(1 / 2 + 1 / 7, rel=1e-12)
    # "None of the patients achieved symptomatic remission": 0/9, 1/2 added to both cells.
    zero = one(
        bundled["crohns_disease"], "AJG2011_TertiaryCenterCaseSeries", "symptomatic_remission"
    )
    assert zero.yi == pytest.approx(math.log(0.5 / 9.5), rel=1e-12)
    assert (zero.proportion, zero.proportion_ci_low) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("condition", "study", "outcome", "events", "total"),
    [
        ("crohns_disease", "P418_2014_IBDCaseSeries", "clinical_response", 8, 22),
        ("crohns_disease", "Lie2018", "clinical_improvement", 35, 47),  # 74.5% of 47
        ("crohns_disease", "Lie2018", "clinical_remission", 12, 47),  # 25.5% of 47
        ("crohns_disease", "Smith2013", "clinical_remission", 3, 12),  # 25% of 12 (not of 6)
        ("crohns_disease", "Smith2007", "sleep_disturbance", 7, 17),
        ("multiple_sclerosis", "Gironi2008", "major_adverse_events", 2, 40),
        ("multiple_sclerosis", "Gironi2008", "neurological_disability_progression", 1, 40),
        ("long_covid", "OKelly2022", "discontinuation_due_to_adverse_events", 2, 38),
        ("long_covid", "Isman2024", "skin_irritation", 9, 36),  # 25% of 36
    ],
)
def test_single_arm_proportions(bundled, condition, study, outcome, events, total):
    got = one(bundled[condition], study, outcome)
    assert (got.measure, got.events_ldn, got.n_ldn) == ("PLO", events, total)
    assert got.proportion == pytest.approx(events / total, rel=1e-12)


def test_percentages_without_a_fitting_count_stay_refused_and_say_what_was_tried(bundled):
    # "52 % of patients to be responders", n = 36: 18/36 = 50.0%, 19/36 = 52.8%.
    got = one(bundled["long_covid"], "Isman2024", "responders")
    assert got.tier == "F"
    assert "no count fits (tried 18/36 = 50.0%, 19/36 = 52.8%" in got.not_computable_reason
    # Smith2013 "67% had improved": 4/6 and 8/12 both fit, so the denominator is ambiguous.
    ambiguous = one(bundled["crohns_disease"], "Smith2013", "improvement")
    assert ambiguous.tier == "F"
    assert "counts fit more than one denominator" in ambiguous.not_computable_reason


def test_smith2013_pcdai_within_group_change_from_its_p_value(bundled):
    # "decreased from pretreatment values (34.2±3.3) with ... naltrexone therapy (21.7±3.9)
    # (P=0.005)", n = 12 randomized: MC = 12.5 points better, SE = 12.5 / t_{11}(0.9975).
    got = one(bundled["crohns_disease"], "Smith2013", "pcdai", "MC")
    assert (got.tier, got.yi) == ("D", pytest.approx(12.5, rel=1e-12))
    assert got.se == pytest.approx(12.5 / stats.t.isf(0.0025, 11), rel=1e-10)
    # the "±" type is not stated, so no standardized change from it
    assert not (rows(bundled["crohns_disease"], "Smith2013", "pcdai").measure == "SMCR").any()


def test_plusminus_declared_as_se_gives_a_standardized_change():
    stats_block = {
        "mean_baseline_ldn": 34.2,
        "plusminus_baseline_ldn": 3.3,
        "mean_ldn": 21.7,
        "plusminus_ldn": 3.9,
        "n_ldn": 12,
        "plusminus_kind": "se",
        "plusminus_basis": "values are mean ± SE (made-up)",
    }
    got = constructed(
        {"comparison_stratum": "within_group_pre_post", "statistics": stats_block},
    )
    smcr = got[got.measure == "SMCR"].iloc[0]
    sd_pre = 3.3 * math.sqrt(12)
    assert smcr.yi == pytest.approx(-j(11) * (21.7 - 34.2) / sd_pre, rel=1e-12)
    assert "declared as SEs" in smcr.assumptions
    undeclared = constructed(
        {
            "comparison_stratum": "within_group_pre_post",
            "statistics": {**stats_block, "plusminus_kind": "not_stated"},
        }
    )
    assert list(undeclared.tier) == ["F"]
    assert (
        "whose type (SD or SE) the source does not state"
        in undeclared.iloc[0].not_computable_reason
    )


# ---- flags the analyses and certainty need --------------------------------------------------


def test_outcome_flags_travel_with_the_rows(bundled):
    fm = bundled["fibromyalgia"]
    sae = one(fm, "Bruun2024", "serious_adverse_events", "RR")
    assert (sae.events_unit, sae.caveats) == ("events", "events_not_people")
    assert "the counts are events, not people" in sae.assumptions
    memory = rows(fm, "Bruun2024", "fiqr_memory_problems_item")
    assert set(memory.selective_reporting_risk) == {"high"}
    assert set(memory.source_quality) == {"secondary_summary"}
    assert one(fm, "Bruun2024", "pain_intensity_nrs_0_10", "MD").source_quality == (
        "primary_abstract"
    )
    for effects in bundled.values():
        assert effects.source_quality.notna().all()
        assert set(effects.source_quality) <= set(vocab.SOURCE_QUALITIES)


def test_a_p_value_bound_says_the_smd_is_biased_toward_zero(bundled):
    mhi = one(bundled["multiple_sclerosis"], "Cree2010", "mental_health_inventory", "SMD")
    assert "biased toward zero" in mhi.assumptions


# ---- the contract: every effect row is poolable ---------------------------------------------


def test_degenerate_variance_becomes_narrative():
    # An SD of 1e-300 gives a variance of zero in floating point: not an effect size.
    got = constructed(
        {
            "statistics": {
                "n_ldn": 10,
                "n_ctl": 10,
                "mean_ldn": 1.0,
                "sd_ldn": 1e-300,
                "mean_ctl": 2.0,
                "sd_ctl": 1e-300,
            }
        }
    )
    md = got[got.outcome_id == "x"]
    assert (md.tier == "F").any()
    reason = md[md.tier == "F"].iloc[0].not_computable_reason
    assert "a variance must be finite and positive" in reason


def test_every_effect_row_has_finite_yi_and_positive_vi(bundled):
    for effects in bundled.values():
        computed = effects[effects.tier != "F"]
        assert computed.yi.map(math.isfinite).all()
        assert (computed.vi > 0).all()


def test_method_record_lists_the_strata_and_the_preference():
    from ldn_evidence.effects.normalize import method_record

    record = method_record(EffectSettings())
    assert set(record["strata"]) == set(vocab.STRATA)
    assert "effects.prefer" in record["preference"]
    assert record["settings"]["prefer"] == "adjusted"


def test_constructed_frames_are_deterministic():
    first = constructed(
        {"statistics": {"events_ldn": 3, "total_ldn": 10}}, design="single_arm_pre_post"
    )
    second = constructed(
        {"statistics": {"events_ldn": 3, "total_ldn": 10}}, design="single_arm_pre_post"
    )
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize(
    ("statistics", "p_value", "design"),
    [
        # a crossover difference of 0 with its p-value: no SE can be recovered
        ({"mean_change_ldn": 1.0, "mean_change_ctl": 1.0}, 0.5, "crossover_rct"),
        # a crossover analysed with one participant
        ({"n_ldn": 1, "mean_change_ldn": 2.0, "mean_change_ctl": 1.0}, 0.5, "crossover_rct"),
        # an SE that overflows when squared
        ({"mean_change_ldn": 1e300, "mean_change_ctl": -1e300}, 0.999, "crossover_rct"),
    ],
)
def test_numbers_outside_a_formulas_domain_give_a_narrative_row(statistics, p_value, design):
    # found by the property test: these passed validation and stopped the effects stage
    got = constructed(
        {"statistics": statistics, "p_value": {"operator": "=", "value": p_value}},
        design=design,
        sample_size={"randomized": 30},
    )
    assert (got.tier == "F").all() or (got[got.tier != "F"].vi > 0).all()
    narrative = got[got.tier == "F"]
    assert narrative.not_computable_reason.notna().all()


def test_a_reported_difference_with_a_ci_of_zero_width_gives_a_narrative_row():
    # found by the property test on CI: MD 0 (0 to 0) made 0/0 in the SMD conversion, a
    # RuntimeWarning in tests and a NaN row in runs; now it is a reason in both
    got = constructed(
        {
            "statistics": {"n_ldn": 1, "n_ctl": 2},
            "reported_effect": {
                "type": "MD (between-group)",
                "value": 0.0,
                "ci_low": 0.0,
                "ci_high": 0.0,
                "sign_convention": "ldn_minus_comparator",
            },
        }
    )
    assert list(got.tier) == ["F"]
    assert "reported md ci" in got.not_computable_reason.iloc[0]
