"""The analysis plan: the protocol's list of analyses, as data (``config/analyses.yaml``).

Each analysis names its condition, outcome domain(s), measure and stratum, and optionally an
explicit outcome per study, outcome ids to restrict to, a target time point, a reference SD for
re-expressing an SMD on a familiar scale, and the published meta-analyses it is compared with.
The plan is checked against ``workflow/schemas/analyses.schema.yaml``; every problem names the
plan entry. :func:`default_plan` writes a starting plan from the effects tables: one analysis
per condition x domain x stratum x measure family with at least one effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: Measures an analysis may pool, by stratum.
BETWEEN_MEASURES = ("SMD", "MD", "RR", "OR", "RD")
WITHIN_MEASURES = ("SMCR", "SMCC", "SMCRP", "MC")
PROPORTION_MEASURES = ("PLO",)
MEASURES_BY_STRATUM = {
    "randomized_between_arm": BETWEEN_MEASURES,
    "nonrandomized_between_arm": BETWEEN_MEASURES,
    "within_group_pre_post": WITHIN_MEASURES,
    "single_arm_proportion": PROPORTION_MEASURES,
    "observational_before_after": (*BETWEEN_MEASURES, *WITHIN_MEASURES),
}
_STRATUM_LABEL = {
    "randomized_between_arm": "randomized comparisons",
    "nonrandomized_between_arm": "non-randomized comparisons",
    "within_group_pre_post": "change from baseline, no comparator",
    "single_arm_proportion": "proportion of LDN-treated participants, no comparator",
    "observational_before_after": "before/after, observational",
}


_SHORT = {
    "fibromyalgia": "fm",
    "crohns_disease": "cd",
    "multiple_sclerosis": "ms",
    "long_covid": "lc",
}


class PlanError(ValueError):
    """The plan is invalid; ``problems`` lists every problem, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Analysis:
    """One planned analysis (see ``config/README.md`` for every field)."""

    id: str
    condition: str
    title: str
    domains: tuple[str, ...]
    measure: str
    stratum: str
    outcome_ids: tuple[str, ...] = ()
    choose: Mapping[str, str] = field(default_factory=dict)
    timepoint_weeks: float | None = None
    reference_sd: Mapping[str, Any] | None = None
    published: tuple[Mapping[str, Any], ...] = ()
    reason: str = ""

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any]) -> Analysis:
        return cls(
            id=entry["id"],
            condition=entry["condition"],
            title=entry["title"],
            domains=tuple(entry["domains"]),
            measure=entry["measure"],
            stratum=entry["stratum"],
            outcome_ids=tuple(entry.get("outcome_ids") or ()),
            choose=dict(entry.get("choose") or {}),
            timepoint_weeks=entry.get("timepoint_weeks"),
            reference_sd=entry.get("reference_sd"),
            published=tuple(entry.get("published") or ()),
            reason=entry.get("reason", ""),
        )


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's C parser when PyYAML has it (the same safe loader's
    results, parsed faster), else the pure-Python one."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def plan_schema() -> dict[str, Any]:
    """The JSON schema of the plan (shipped with the package)."""
    from importlib.resources import files

    text = files("ldn_evidence").joinpath("schemas/analyses.schema.yaml").read_text("utf-8")
    return _load_yaml(text)


def check_plan(plan: Mapping[str, Any], source: str = "config/analyses.yaml") -> list[Analysis]:
    """Validate a parsed plan and return its analyses; raise :class:`PlanError` listing every
    problem as ``FILE: analysis ID: FIELD: message``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(plan_schema())
    problems: list[str] = []
    entries = plan.get("analyses") if isinstance(plan, Mapping) else None
    for error in sorted(validator.iter_errors(plan), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        where = "plan"
        if len(path) >= 2 and path[0] == "analyses" and isinstance(entries, list):
            entry = entries[path[1]]
            name = entry.get("id") if isinstance(entry, Mapping) else None
            where = f"analysis {name or '#' + str(path[1] + 1)}"
            path = path[2:]
        fieldname = ".".join(str(p) for p in path) or "-"
        message = error.message
        if error.validator == "enum":
            message = (
                f"{error.instance!r} is not allowed (expected one of: "
                + ", ".join(str(v) for v in error.validator_value if v is not None)
                + ")"
            )
        problems.append(f"{source}: {where}: {fieldname}: {message}")
    if problems:
        raise PlanError(problems)
    analyses = [Analysis.from_mapping(e) for e in plan["analyses"]]
    seen: set[str] = set()
    for a in analyses:
        if a.id in seen:
            problems.append(f"{source}: analysis {a.id}: id: used twice (expected unique ids)")
        seen.add(a.id)
        allowed = MEASURES_BY_STRATUM[a.stratum]
        if a.measure not in allowed:
            problems.append(
                f"{source}: analysis {a.id}: measure: {a.measure!r} cannot pool the "
                f"{a.stratum} stratum (expected one of: {', '.join(allowed)})"
            )
    if problems:
        raise PlanError(problems)
    return analyses


def read_plan(path: Path | str) -> list[Analysis]:
    """Read and check ``config/analyses.yaml``."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        plan = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise PlanError([f"{path}: plan: -: not valid YAML ({exc.__class__.__name__})"]) from exc
    return check_plan(plan or {}, str(path))


def _family(measure: str) -> str:
    if measure in ("RR", "OR", "RD"):
        return "binary"
    if measure in WITHIN_MEASURES:
        return "change"
    if measure == "PLO":
        return "proportion"
    return "continuous"


def _measure_for(family: str, measures: set[str], settings: Mapping[str, Any]) -> str:
    if family == "binary":
        return settings.get("binary_measure", "RR")
    if family == "proportion":
        return "PLO"
    if family == "change":
        preferred = settings.get("prepost_measure", "SMCR")
        return preferred if preferred in measures else "MC"
    # different scales across studies: SMD (Cochrane Handbook 10.5.3); MD only by choice
    return "SMD" if "SMD" in measures else "MD"


def default_plan(
    effects: Iterable[pd.DataFrame], settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A starting plan from the effects tables of every condition.

    One analysis per condition x domain x stratum x measure family that has at least one
    effect of an included study; adverse events are split by outcome (any adverse event,
    discontinuation, serious adverse events... are different outcomes). Every entry records in
    ``reason`` why it exists. The committed plan is the protocol: edit it, do not regenerate.
    """
    settings = dict(settings or {})
    entries: list[dict[str, Any]] = []
    frame = pd.concat(list(effects), ignore_index=True)
    usable = frame[(frame.tier != "F") & (frame.inclusion_status == "include")].copy()
    usable["family"] = usable.measure.map(_family)
    keys = ["condition", "domain", "stratum", "family"]
    for (condition, domain, stratum, family), group in usable.groupby(keys, sort=True):
        measure = _measure_for(family, set(group.measure), settings)
        splits: list[tuple[str, tuple[str, ...]]] = [("", ())]
        if domain == "adverse_events":
            splits = [("_" + o[:31].rstrip("_"), (o,)) for o in sorted(set(group.outcome_id))]
        for suffix, outcome_ids in splits:
            members = group[group.outcome_id.isin(outcome_ids)] if outcome_ids else group
            members = members[members.measure == measure]
            if members.empty:
                continue
            short = {
                "randomized_between_arm": "rct",
                "nonrandomized_between_arm": "nrs",
                "within_group_pre_post": "prepost",
                "single_arm_proportion": "prop",
                "observational_before_after": "beforeafter",
            }[stratum]
            ident = f"{_SHORT[condition]}_{domain}{suffix}_{short}_{measure.lower()}"
            label = domain.replace("_", " ").capitalize()
            if outcome_ids:
                label += f" ({outcome_ids[0].replace('_', ' ')})"
            entries.append(
                {
                    "id": ident,
                    "condition": condition,
                    "title": f"{label}: {_STRATUM_LABEL[stratum]}",
                    "domains": [domain],
                    "measure": measure,
                    "stratum": stratum,
                    **({"outcome_ids": list(outcome_ids)} if outcome_ids else {}),
                    "reason": (
                        f"default plan: {members.study_id.nunique()} stud(ies) with a {measure} "
                        f"effect in {domain} ({stratum})"
                    ),
                }
            )
    return {"analyses": entries}


__all__ = [
    "MEASURES_BY_STRATUM",
    "Analysis",
    "PlanError",
    "check_plan",
    "default_plan",
    "read_plan",
]
