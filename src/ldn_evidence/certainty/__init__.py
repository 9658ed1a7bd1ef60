"""GRADE certainty of the evidence per analysis and the claims check.

Rules are data (``config/certainty.yaml``, hand-made corrections in
``config/certainty_overrides.yaml``); :func:`assess_condition` rates every main analysis of a
condition, :func:`assess_claims` judges the claims of ``data/reference/claims.csv``. No file IO
outside :mod:`ldn_evidence.certainty.output`.
"""

from ldn_evidence.certainty.claims import VERDICTS, assess_claims
from ldn_evidence.certainty.grade import (
    CERTAINTY_COLUMNS,
    Assessment,
    DomainRating,
    assess_analysis,
    assess_condition,
)
from ldn_evidence.certainty.language import plain_language
from ldn_evidence.certainty.output import (
    attach_study_context,
    certainty_main,
    claims_main,
    write_certainty,
    write_claims,
)
from ldn_evidence.certainty.rules import (
    DOMAINS,
    LEVELS,
    SYMBOLS,
    CertaintyConfigError,
    CertaintyRules,
    Override,
    overrides_from_mapping,
    read_overrides,
    read_rules,
)

__all__ = [
    "CERTAINTY_COLUMNS",
    "DOMAINS",
    "LEVELS",
    "SYMBOLS",
    "VERDICTS",
    "Assessment",
    "CertaintyConfigError",
    "CertaintyRules",
    "DomainRating",
    "Override",
    "assess_analysis",
    "assess_claims",
    "assess_condition",
    "attach_study_context",
    "certainty_main",
    "claims_main",
    "overrides_from_mapping",
    "plain_language",
    "read_overrides",
    "read_rules",
    "write_certainty",
    "write_claims",
]
