"""The certainty rules as data: ``config/certainty.yaml`` and ``config/certainty_overrides.yaml``.

Both files are checked against ``workflow/schemas/certainty.schema.yaml`` (shipped with the
package); every problem names the file and the key. Every rule has a default (the values of
``config/certainty.yaml``), so ``CertaintyRules.from_mapping({})`` gives the project's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: GRADE levels, best first, with their numeric value (4 = high ... 1 = very low).
LEVELS = ("high", "moderate", "low", "very_low")
LEVEL_VALUE = {"high": 4, "moderate": 3, "low": 2, "very_low": 1}
#: GRADE's symbols (GRADE handbook 5.1; Cochrane Handbook 14.2).
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very_low": "⊕◯◯◯"}
#: The five domains GRADE rates down for, in the order of a summary-of-findings table.
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")

DEFAULT_CONFIG = "config/certainty.yaml"
DEFAULT_OVERRIDES = "config/certainty_overrides.yaml"


class CertaintyConfigError(ValueError):
    """The rules or overrides are invalid; ``problems`` lists every problem, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Threshold:
    """Important-effect thresholds on one scale (positive = better with LDN)."""

    small: float
    moderate: float | None
    basis: str
    scale: str = ""


@dataclass(frozen=True)
class ThresholdRule:
    measures: tuple[str, ...]
    small: float
    moderate: float | None
    basis: str
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamiliarThresholdRule:
    unit_contains: str
    small: float
    moderate: float | None
    basis: str


@dataclass(frozen=True)
class RiskOfBiasRules:
    high: tuple[str, ...] = ("high",)
    unclear: tuple[str, ...] = ("some_concerns", "not_assessed")
    serious_share: float = 0.5
    very_serious_share: float = 1.0
    weak_sources: tuple[str, ...] = (
        "conference_abstract",
        "secondary_summary",
        "unverified_secondary",
    )
    weak_source_share: float = 0.5
    selective_reporting: tuple[str, ...] = ("high",)
    selective_reporting_share: float = 0.5


@dataclass(frozen=True)
class InconsistencyRules:
    i2_serious: float = 50.0
    i2_very_serious: float = 75.0
    prediction_interval: bool = True


@dataclass(frozen=True)
class ImprecisionRules:
    ois_participants: int = 400
    ois_events: int = 300
    ois_far_fraction: float = 0.25
    ci_crosses_threshold: bool = True
    proportion_ci_width_serious: float = 0.2
    proportion_ci_width_very_serious: float = 0.4


@dataclass(frozen=True)
class IndirectnessRules:
    dose_above_share: float = 0.5
    co_intervention_share: float = 0.5
    mixed_population_share: float = 0.5
    mixed_populations: tuple[str, ...] = ("mixed_ibd",)


@dataclass(frozen=True)
class PublicationBiasRules:
    min_k: int = 10
    egger_p: float = 0.10


@dataclass(frozen=True)
class ClaimRules:
    supported_min_certainty: str = "moderate"
    no_harm_domains: tuple[str, ...] = ("adverse_events",)


_DEFAULT_START = {
    "randomized_between_arm": "high",
    "nonrandomized_between_arm": "low",
    "within_group_pre_post": "low",
    "single_arm_proportion": "low",
    "observational_before_after": "low",
}
_DEFAULT_THRESHOLDS = (
    ThresholdRule(
        ("SMD", "SMCR", "SMCC", "SMCRP"),
        0.2,
        0.5,
        "Cohen's 0.2 (small) and 0.5 (moderate): rules of thumb, not minimal important differences",
    ),
    ThresholdRule(
        ("RR", "OR"),
        0.223,
        0.693,
        "GRADE 6 rough guide of appreciable benefit or harm (RR under 0.75 or over 1.25), "
        "symmetric on the log scale; ln(2) for a large ratio",
    ),
    ThresholdRule(
        ("MD", "MC"),
        1.0,
        2.0,
        "IMMPACT (Dworkin et al. 2008, J Pain 9:105): 10-20% minimally important, about 1 "
        "point on a 0-10 NRS; 30% (about 2 points) moderately important",
        ("pain",),
    ),
)
_DEFAULT_FAMILIAR = (
    FamiliarThresholdRule(
        "pain NRS",
        1.0,
        2.0,
        "IMMPACT (Dworkin et al. 2008, J Pain 9:105): about 1 point on a 0-10 NRS minimally "
        "important, about 2 points (30%) moderately important",
    ),
)


@dataclass(frozen=True)
class CertaintyRules:
    """All certainty rules (``config/certainty.yaml``; every key in ``config/README.md``)."""

    start: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_START))
    risk_of_bias: RiskOfBiasRules = RiskOfBiasRules()
    inconsistency: InconsistencyRules = InconsistencyRules()
    imprecision: ImprecisionRules = ImprecisionRules()
    thresholds: tuple[ThresholdRule, ...] = _DEFAULT_THRESHOLDS
    familiar_thresholds: tuple[FamiliarThresholdRule, ...] = _DEFAULT_FAMILIAR
    indirectness: IndirectnessRules = IndirectnessRules()
    publication_bias: PublicationBiasRules = PublicationBiasRules()
    claims: ClaimRules = ClaimRules()

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None, source: str = DEFAULT_CONFIG
    ) -> CertaintyRules:
        """Check a parsed ``config/certainty.yaml`` against the schema and build the rules.

        Raises
        ------
        CertaintyConfigError
            Listing every problem as ``SOURCE: KEY: message``.
        """
        mapping = dict(mapping or {})
        _check(mapping, schema(), source)
        start = {**_DEFAULT_START, **mapping.get("start", {})}
        thresholds = (
            tuple(
                ThresholdRule(
                    measures=tuple(t["measures"]),
                    small=float(t["small"]),
                    moderate=_opt_float(t.get("moderate")),
                    basis=t["basis"],
                    domains=tuple(t.get("domains") or ()),
                )
                for t in mapping["thresholds"]
            )
            if "thresholds" in mapping
            else _DEFAULT_THRESHOLDS
        )
        familiar = (
            tuple(
                FamiliarThresholdRule(
                    unit_contains=t["unit_contains"],
                    small=float(t["small"]),
                    moderate=_opt_float(t.get("moderate")),
                    basis=t["basis"],
                )
                for t in mapping["familiar_thresholds"]
            )
            if "familiar_thresholds" in mapping
            else _DEFAULT_FAMILIAR
        )
        return cls(
            start=start,
            risk_of_bias=_section(RiskOfBiasRules, mapping.get("risk_of_bias")),
            inconsistency=_section(InconsistencyRules, mapping.get("inconsistency")),
            imprecision=_section(ImprecisionRules, mapping.get("imprecision")),
            thresholds=thresholds,
            familiar_thresholds=familiar,
            indirectness=_section(IndirectnessRules, mapping.get("indirectness")),
            publication_bias=_section(PublicationBiasRules, mapping.get("publication_bias")),
            claims=_section(ClaimRules, mapping.get("claims")),
        )

    def threshold_for(self, measure: str, domains: tuple[str, ...]) -> Threshold | None:
        """The first threshold rule matching the measure (and one of the domains, if set)."""
        for rule in self.thresholds:
            if measure in rule.measures and (
                not rule.domains or any(d in rule.domains for d in domains)
            ):
                return Threshold(rule.small, rule.moderate, rule.basis, measure)
        return None

    def familiar_threshold_for(self, unit: str | None) -> Threshold | None:
        """The first familiar-scale threshold whose text occurs in ``unit``."""
        if not isinstance(unit, str) or not unit:
            return None
        for rule in self.familiar_thresholds:
            if rule.unit_contains.lower() in unit.lower():
                return Threshold(rule.small, rule.moderate, rule.basis, unit)
        return None


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _section(kind, mapping: Mapping[str, Any] | None):
    values = {}
    for key, value in (mapping or {}).items():
        values[key] = tuple(value) if isinstance(value, list) else value
    return kind(**values)


def schema() -> dict[str, Any]:
    """The JSON schema of the rules (shipped with the package)."""
    from importlib.resources import files

    from ..io.yamltext import safe_load

    text = files("ldn_evidence").joinpath("schemas/certainty.schema.yaml").read_text("utf-8")
    return safe_load(text)


def _check(document: Any, schema_: Mapping[str, Any], source: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema_)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "-"
        message = error.message
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            message += f" (expected one of: {', '.join(allowed)})"
        elif error.validator == "enum":
            message = (
                f"{error.instance!r} is not allowed (expected one of: "
                + ", ".join(str(v) for v in error.validator_value)
                + ")"
            )
        problems.append(f"{source}: {where}: {message}")
    if problems:
        raise CertaintyConfigError(problems)


def _load_yaml(path: Path | str) -> Any:
    import yaml

    from ..io.yamltext import safe_load

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CertaintyConfigError([f"{path}: -: cannot be read ({exc.strerror})"]) from exc
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise CertaintyConfigError([f"{path}: -: not valid YAML ({exc})"]) from exc


def read_rules(path: Path | str = DEFAULT_CONFIG) -> CertaintyRules:
    """Read and check ``config/certainty.yaml``."""
    return CertaintyRules.from_mapping(_load_yaml(path) or {}, str(path))


@dataclass(frozen=True)
class Override:
    """One hand-made correction of an analysis's rating, with its reason."""

    analysis_id: str
    reason: str
    downgrades: Mapping[str, int] = field(default_factory=dict)
    certainty: str | None = None


def overrides_from_mapping(
    mapping: Mapping[str, Any] | None, source: str = DEFAULT_OVERRIDES
) -> tuple[Override, ...]:
    """Check a parsed overrides file and return its overrides (an analysis at most once)."""
    mapping = mapping or {}
    full = schema()
    sub = {"$defs": full["$defs"], "$ref": "#/$defs/overrides_file"}
    _check(mapping, sub, source)
    overrides = tuple(
        Override(
            analysis_id=o["analysis_id"],
            reason=o["reason"],
            downgrades=dict(o.get("downgrades") or {}),
            certainty=o.get("certainty"),
        )
        for o in mapping.get("overrides") or ()
    )
    seen: set[str] = set()
    problems = []
    for o in overrides:
        if o.analysis_id in seen:
            problems.append(f"{source}: overrides: analysis {o.analysis_id} overridden twice")
        seen.add(o.analysis_id)
    if problems:
        raise CertaintyConfigError(problems)
    return overrides


def read_overrides(path: Path | str | None = DEFAULT_OVERRIDES) -> tuple[Override, ...]:
    """Read and check ``config/certainty_overrides.yaml``; no file means no overrides."""
    if path is None or not Path(path).exists():
        return ()
    return overrides_from_mapping(_load_yaml(path) or {}, str(path))
