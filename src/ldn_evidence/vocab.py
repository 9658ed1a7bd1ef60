"""Controlled vocabularies shared by the study-file schema, the validator and the analyses.

The JSON schema in ``workflow/schemas/study.schema.yaml`` lists the same values; a unit test
keeps the two in step, so adding a value means adding it in both places.
"""

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
