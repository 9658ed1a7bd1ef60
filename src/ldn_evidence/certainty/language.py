"""Plain-language statements of a result and its certainty, in GRADE's wording.

Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to
communicate the findings of systematic reviews of interventions. J Clin Epidemiol
2020;119:126-135: the certainty sets the verb's hedge (high: "reduces"; moderate: "probably
reduces", for which the paper also offers "likely reduces"; low: "may reduce"; very low: "the
evidence is very uncertain about the effect of X on Y"), the size of the effect sets the rest
("slightly" for a small important effect; "results in little or no difference" for a trivial
or no effect).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ldn_evidence.certainty.rules import Threshold

#: Domains whose improvement reads as "reduces X" (the sign convention makes positive =
#: better, i.e. less of it with LDN); the others read as "improves X".
REDUCE_DOMAINS = frozenset(
    {
        "pain",
        "fatigue",
        "disease_activity",
        "adverse_events",
        "pain_sensitivity",
        "inflammatory_marker",
        "medication_use",
    }
)
#: Domains of good events (binary): "increases the chance of X".
CHANCE_DOMAINS = frozenset({"remission", "response", "global_impression"})
BINARY_MEASURES = frozenset({"RR", "OR", "RD"})
UNCONTROLLED_STRATA = frozenset({"within_group_pre_post", "single_arm_proportion"})

#: (third person, base form) of each verb.
_VERBS = {
    "reduce": ("reduces", "reduce"),
    "increase": ("increases", "increase"),
    "improve": ("improves", "improve"),
    "worsen": ("worsens", "worsen"),
}


@dataclass(frozen=True)
class Statement:
    """A plain-language sentence and the effect-size category behind it."""

    category: str  # little_or_no_difference | small | important | unsized | not_applicable
    sentence: str


def outcome_phrase(title: str, domain: str, measure: str) -> str:
    """The outcome as a sentence names it: the title before its colon, the named adverse event
    inside parentheses, "the risk of ..." / "the chance of ..." for events."""
    head = str(title).split(":", 1)[0].strip()
    inner = re.search(r"\(([^)]*)\)", head)
    name = inner.group(1) if inner else head
    name = name[:1].lower() + name[1:] if name[:2] != name[:2].upper() else name
    first = domain.split(",")[0].strip()
    if measure in BINARY_MEASURES:
        if first in CHANCE_DOMAINS:
            return f"the chance of {name}"
        return f"the risk of {name}"
    return name


def effect_category(
    estimate: float, ci_low: float, ci_high: float, threshold: Threshold | None
) -> str:
    """Size of the effect for the statement (Santesso et al. 2020).

    ``little_or_no_difference`` when the point estimate is below the small-effect threshold or
    the CI excludes an important effect either way; ``small`` below the moderate threshold;
    ``important`` above it; ``unsized`` when no threshold is configured.
    """
    if threshold is None:
        return "unsized"
    t = threshold.small
    if abs(estimate) < t or (ci_low > -t and ci_high < t):
        return "little_or_no_difference"
    if threshold.moderate is not None and abs(estimate) < threshold.moderate:
        return "small"
    return "important"


def _verb(domain: str, measure: str, better: bool) -> str:
    first = domain.split(",")[0].strip()
    if first in REDUCE_DOMAINS:
        return "reduce" if better else "increase"
    if measure in BINARY_MEASURES or first in CHANCE_DOMAINS:
        return "increase" if better else "reduce"
    return "improve" if better else "worsen"


def plain_language(
    level: str,
    *,
    title: str,
    domain: str,
    measure: str,
    stratum: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    threshold: Threshold | None,
    given_with: str = "",
) -> Statement:
    """The GRADE statement of one result (positive ``estimate`` = better with LDN).

    Uncontrolled strata (no comparator) get a description of what was observed and the words
    that it is not an effect of LDN; everything else gets Santesso et al.'s template.
    ``given_with``: a co-intervention every study of an uncontrolled result gave with LDN,
    named where the statement says who took LDN (what was observed may be the other's).
    """
    outcome = outcome_phrase(title, domain, measure)
    uncertain = f"The evidence is very uncertain about the effect of LDN on {outcome}."
    if stratum in UNCONTROLLED_STRATA:
        return Statement(
            "not_applicable",
            _uncontrolled(level, outcome, measure, estimate, ci_low, ci_high, given_with),
        )
    if level == "very_low" or not math.isfinite(estimate):
        return Statement(
            effect_category(estimate, ci_low, ci_high, threshold)
            if math.isfinite(estimate)
            else "unsized",
            uncertain,
        )
    category = effect_category(estimate, ci_low, ci_high, threshold)
    hedge = {"high": "", "moderate": "probably ", "low": "may "}[level]
    if category == "little_or_no_difference":
        verb = {"high": "results", "moderate": "probably results", "low": "may result"}[level]
        return Statement(category, f"LDN {verb} in little or no difference in {outcome}.")
    verb = _verb(domain, measure, estimate > 0)
    form = _VERBS[verb][1] if level == "low" else _VERBS[verb][0]
    slightly = " slightly" if category == "small" else ""
    return Statement(category, f"LDN {hedge}{form} {outcome}{slightly}.")


def _uncontrolled(level, outcome, measure, estimate, ci_low, ci_high, given_with="") -> str:
    words = {"high": "high", "moderate": "moderate", "low": "low", "very_low": "very low"}[level]
    taking = f"LDN with {given_with}" if given_with else "LDN"
    if measure == "PLO":
        p, lo, hi = (100 / (1 + math.exp(-x)) for x in (estimate, ci_low, ci_high))
        share = (
            f"recorded in about {p:.0f}% of people taking {taking} (95% CI {lo:.0f}% to {hi:.0f}%)"
        )
        # "it was" / "<outcome>:": outcome names are nouns of either number ("dropouts")
        seen = f"it was {share}" if level == "very_low" else f"{outcome}: {share}"
    else:
        direction = "better" if estimate > 0 else "worse" if estimate < 0 else "unchanged"
        seen = (
            f"{outcome} was {direction} than at baseline on {taking} ({measure} {estimate:.2f}, "
            f"95% CI {ci_low:.2f} to {ci_high:.2f})"
        )
    if level == "very_low":
        return (
            f"The evidence is very uncertain about the effect of LDN on {outcome}: {seen}, "
            "with no comparison group."
        )
    return (
        f"{seen[:1].upper()}{seen[1:]}; with no comparison group this is not an effect of LDN "
        f"({words} certainty)."
    )
