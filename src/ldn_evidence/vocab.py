"""Controlled vocabularies shared by the study-file schema, the validator and the analyses.

The JSON schema in ``workflow/schemas/study.schema.yaml`` lists the same values; a unit test
keeps the two in step, so adding a value means adding it in both places.
"""

#: LDN doses above this (mg/day) are outside the low-dose range the review is about.
LDN_MAX_DOSE_MG = 4.5

#: Conditions the review covers; each is a folder under ``data/raw/``.
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")

#: Study designs. The first two are randomized; the rest are non-randomized and never pooled
#: with randomized comparisons.
DESIGNS = (
    "parallel_rct",
    "crossover_rct",
    "nonrandomized_crossover",
    "single_arm_pre_post",
    "retrospective_cohort",
    "database_before_after",
    "not_reported",
)
RANDOMIZED_DESIGNS = frozenset({"parallel_rct", "crossover_rct"})
#: Designs in which every participant is in both arms (counted once, not once per arm).
CROSSOVER_DESIGNS = frozenset({"crossover_rct", "nonrandomized_crossover"})

#: Outcome domains (DESIGN.md vocabulary plus the labels the curated extraction needed).
DOMAINS = (
    "pain",
    "fatigue",
    "quality_of_life",
    "disease_activity",
    "remission",
    "response",
    "mood",
    "sleep",
    "cognition",
    "inflammatory_marker",
    "adverse_events",
    "pain_sensitivity",
    "medication_use",
    "physical_function",
    "global_impression",
)

#: Which direction of an outcome's scale is better. ``improvement_reported``: the source
#: reports the change as an improvement without saying which end of the scale is better.
BETTER_DIRECTIONS = ("higher", "lower", "improvement_reported")

RISK_OF_BIAS_LEVELS = ("low", "some_concerns", "high", "not_assessed")

#: What an effect row's numbers compare (its stratum). Strata are never pooled together; the
#: randomized between-arm stratum is the main analysis. Decided per outcome from what the
#: numbers compare, not from the study's design label alone (see docs/effect-sizes.md).
STRATA = (
    "randomized_between_arm",
    "nonrandomized_between_arm",
    "within_group_pre_post",
    "single_arm_proportion",
    "observational_before_after",
)
STRATUM_DESCRIPTIONS = {
    "randomized_between_arm": "LDN against a randomized comparator (parallel arms, or the "
    "periods of a randomized crossover)",
    "nonrandomized_between_arm": "LDN against a comparator that was not allocated at random "
    "(fixed-order crossover, cohort comparison)",
    "within_group_pre_post": "change from baseline in participants taking LDN (no "
    "comparator), including within-group numbers reported inside a trial",
    "single_arm_proportion": "the proportion of LDN-treated participants with an event or a "
    "response (no comparator)",
    "observational_before_after": "population-level use before and after starting LDN "
    "(prescription-database studies)",
}

#: How close to the study an outcome's numbers were read (worst last).
SOURCE_QUALITIES = (
    "primary_full_text",
    "primary_abstract",
    "registry_results",
    "conference_abstract",
    "secondary_summary",
    "unverified_secondary",
)

#: Direction of effect as the source states it in words (for p-value-only outcomes and the
#: narrative synthesis).
REPORTED_DIRECTIONS = ("better_with_ldn", "worse_with_ldn", "no_clear_difference")

#: What a reported between-group estimate adjusts for: stated as adjusted (ANCOVA, mixed
#: model with baseline), the trial's own model-based estimate without the model named, or
#: stated/known to be unadjusted.
ADJUSTMENTS = ("adjusted", "model_based", "unadjusted")

#: What a "±" in a source means.
PLUSMINUS_KINDS = ("sd", "se", "not_stated")

#: Selective-reporting concern about one outcome's result.
SELECTIVE_REPORTING_RISKS = ("low", "some_concerns", "high")

#: What an event count counts.
EVENT_UNITS = ("people", "events", "not_stated")
