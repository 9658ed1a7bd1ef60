"""Effect sizes, conversions and design-specific derivations (pure functions, no file IO).

The public API: :func:`escalc` (metafor-compatible ``yi``/``vi``), the conversions in
:mod:`ldn_evidence.effects.conversions`, the design-level derivations in
:mod:`ldn_evidence.effects.designs` that return :class:`EffectEstimate` records, and the sign
convention in :mod:`ldn_evidence.effects.direction`.
"""

from ldn_evidence.effects.conversions import (
    count_from_percent,
    counts_from_percent,
    d_from_log_odds_ratio,
    d_from_t,
    hedges_correction,
    log_odds_ratio_from_d,
    mean_from_median,
    sd_from_ci,
    sd_from_median,
    sd_from_se,
    sd_pooled_from_se,
    se_from_ci,
    se_from_p,
    smd_from_md_ci,
)
from ldn_evidence.effects.designs import (
    DEFAULT_CROSSOVER_STANDARDIZER,
    crossover_md_from_p_value,
    crossover_md_paired,
    crossover_smd_paired,
    log_ratio_from_ci,
    md_from_ci,
    pre_post_change,
    smd_from_cohens_d,
)
from ldn_evidence.effects.direction import (
    DIRECTION_CONVENTION,
    direction_sign,
    harmonise_direction,
    harmonise_effect,
)
from ldn_evidence.effects.escalc import (
    BINARY_MEASURES,
    CHANGE_MEASURES,
    TWO_GROUP_MEASURES,
    ZERO_CELL_RULES,
    escalc,
)
from ldn_evidence.effects.types import MEASURES, EffectEstimate

__all__ = [
    "BINARY_MEASURES",
    "CHANGE_MEASURES",
    "DEFAULT_CROSSOVER_STANDARDIZER",
    "DIRECTION_CONVENTION",
    "MEASURES",
    "TWO_GROUP_MEASURES",
    "ZERO_CELL_RULES",
    "EffectEstimate",
    "count_from_percent",
    "counts_from_percent",
    "crossover_md_from_p_value",
    "crossover_md_paired",
    "crossover_smd_paired",
    "d_from_log_odds_ratio",
    "d_from_t",
    "direction_sign",
    "escalc",
    "harmonise_direction",
    "harmonise_effect",
    "hedges_correction",
    "log_odds_ratio_from_d",
    "log_ratio_from_ci",
    "md_from_ci",
    "mean_from_median",
    "pre_post_change",
    "sd_from_ci",
    "sd_from_median",
    "sd_from_se",
    "sd_pooled_from_se",
    "se_from_ci",
    "se_from_p",
    "smd_from_cohens_d",
    "smd_from_md_ci",
]
