"""From what each paper reports to the most honest effect size, and a record of how.

:func:`derive_effects` takes the processed ``outcomes`` and ``studies`` tables of one condition
and returns one row per study x outcome x measure: ``yi``/``vi`` on the
:data:`~ldn_evidence.effects.direction.DIRECTION_CONVENTION` scale, the named derivation steps,
every assumption, a tier, and the pointer back to the quote. Outcomes that cannot become an
effect size keep one tier-F row that says why, for the narrative synthesis.

Tiers (what the chosen estimate was derived from):

* **A** complete per-arm (or pre/post) statistics: means with SDs, SEs or CIs, and n;
* **B** event counts with their denominators (in both arms; in the one arm of a single-arm
  proportion);
* **C** a reported effect with its CI, or a reported standardized effect with the arm sizes;
* **D** an effect with a p-value only (SE back-calculated from the p-value);
* **E** percentages (counts recovered only when exactly one count fits);
* **F** narrative only: no effect size (``not_computable_reason`` says why).

Each derivation path below is tried; per measure the best candidate is kept and the others
are listed in ``cross_checks`` so a reviewer can see whether they agree. "Best" follows the
estimand first, then the tier: with ``effects.prefer: adjusted`` (the default) a between-group
estimate the trial reports from its own (adjusted or model-based) analysis is preferred over
one recomputed from unadjusted per-arm numbers (Cochrane Handbook, chapter 10, section 10.5.2:
ANCOVA estimates are preferred to change or final values); the ``choice`` column says what was
chosen and why. The tier always describes the data the chosen estimate used.

Every row has a ``stratum`` (:data:`ldn_evidence.vocab.STRATA`): what its numbers compare,
decided per outcome from the statistics and the design, or stated in the study file
(``comparison_stratum``). Strata are never pooled together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence import distributions, vocab
from ldn_evidence.effects import conversions, designs
from ldn_evidence.effects.direction import DIRECTION_CONVENTION, harmonise_effect
from ldn_evidence.effects.escalc import ZERO_CELL_RULES, escalc
from ldn_evidence.effects.types import EffectEstimate

RANDOMIZED_BETWEEN = "randomized_between_arm"
NONRANDOMIZED_BETWEEN = "nonrandomized_between_arm"
WITHIN_GROUP = "within_group_pre_post"
SINGLE_ARM_PROPORTION = "single_arm_proportion"
BEFORE_AFTER = "observational_before_after"
BETWEEN_ARM_STRATA = frozenset({RANDOMIZED_BETWEEN, NONRANDOMIZED_BETWEEN})
_PARALLEL_DESIGNS = frozenset({"parallel_rct", "retrospective_cohort"})
#: Reported standardized-effect labels that name a standardized mean difference.
_KNOWN_SMD_TYPE = re.compile(r"cohen|hedges|\bd\b|\bg\b|standardi[sz]ed mean difference|\bsmd\b")
#: Reported estimates that come from the trial's own between-group analysis.
_ADJUSTED = frozenset({"adjusted", "model_based"})


@dataclass(frozen=True)
class EffectSettings:
    """The effect-size choices of the review protocol (``effects:`` in config/config.yaml).

    Parameters
    ----------
    crossover_correlation : float
        Within-person correlation between the two periods of a crossover trial, used for the
        paired analysis (Elbourne et al. 2002); no LDN crossover trial reports it.
    prepost_correlation : float
        Correlation between baseline and follow-up in single-arm pre-post studies (Morris 2008).
    prepost_measure : {"SMCR", "SMCC"}
        Standardized mean change by the baseline SD (Becker 1988) or by the SD of the change.
    binary_measure : {"RR", "OR", "RD"}
        Measure for event counts (log scale for ratios).
    prepost_measure : {"SMCR", "SMCC", "SMCRP"}
        Standardized mean change by the baseline SD (Becker 1988), by the SD of the change,
        or by the pooled baseline and follow-up SD (Cousineau 2020).
    add, to, drop00 :
        Zero-cell policy, exactly as metafor's ``escalc``.
    prefer : {"adjusted", "unadjusted"}
        Whether a reported adjusted (or model-based) between-group estimate is preferred over
        one recomputed from unadjusted per-arm numbers (Cochrane Handbook 10.5.2).
    restricted_sd_ratio : float
        A baseline SD smaller than this fraction of the follow-up SD is flagged as restricted
        (by eligibility criteria): an SMCR standardized by it is inflated.
    """

    crossover_correlation: float = 0.5
    prepost_correlation: float = 0.5
    prepost_measure: str = "SMCR"
    binary_measure: str = "RR"
    add: float = 0.5
    to: str = "only0"
    drop00: bool = True
    prefer: str = "adjusted"
    restricted_sd_ratio: float = 0.5

    def __post_init__(self) -> None:
        for name in ("crossover_correlation", "prepost_correlation"):
            value = getattr(self, name)
            if not -1 < value < 1:
                raise ValueError(f"effects.{name} must be in (-1, 1); got {value}")
        if self.prepost_measure not in ("SMCR", "SMCC", "SMCRP"):
            raise ValueError(
                f"effects.prepost_measure must be SMCR, SMCC or SMCRP; got {self.prepost_measure!r}"
            )
        if self.prefer not in ("adjusted", "unadjusted"):
            raise ValueError(f"effects.prefer must be adjusted or unadjusted; got {self.prefer!r}")
        if not 0 < self.restricted_sd_ratio <= 1:
            raise ValueError(
                f"effects.restricted_sd_ratio must be in (0, 1]; got {self.restricted_sd_ratio}"
            )
        if self.binary_measure not in ("RR", "OR", "RD"):
            raise ValueError(
                f"effects.binary_measure must be RR, OR or RD; got {self.binary_measure!r}"
            )
        # "if0all" looks at every study of an analysis at once; effects are derived study by
        # study, so only the per-study rules apply here.
        per_study_rules = tuple(rule for rule in ZERO_CELL_RULES if rule != "if0all")
        if self.to not in per_study_rules:
            raise ValueError(
                f"effects.zero_cells.to must be one of {per_study_rules}; got {self.to!r}"
            )
        if not self.add >= 0:
            raise ValueError(f"effects.add must be >= 0; got {self.add}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> EffectSettings:
        zero = dict(mapping.get("zero_cells", {}))
        flat = {k: v for k, v in mapping.items() if k != "zero_cells"}
        unknown = set(flat) - set(cls.__dataclass_fields__) | set(zero) - {"add", "to", "drop00"}
        if unknown:
            raise ValueError(f"unknown effects settings: {sorted(unknown)}")
        return cls(**flat, **zero)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class NotDerivable(Exception):
    """This path cannot produce an effect from what the outcome reports; the text says why.

    ``relevant`` marks a reason worth showing a reader: the outcome reports data of the kind
    this path needs, but not enough of it (as opposed to "this path is for another design").
    """

    def __init__(self, reason: str, *, relevant: bool = False):
        super().__init__(reason)
        self.relevant = relevant


@dataclass(frozen=True)
class Candidate:
    """One way of getting an effect out of an outcome's numbers.

    ``reported_adjusted``: the point estimate is the trial's own adjusted or model-based
    between-group estimate. ``flags``: short tokens for the analyses and certainty stages
    (e.g. ``pairing_ignored``). ``extra``: columns only some paths fill (counts, proportions).
    """

    estimate: EffectEstimate
    tier: str
    n_ldn: float = math.nan
    n_ctl: float = math.nan
    notes: tuple[str, ...] = field(default=())
    reported_adjusted: bool = False
    flags: tuple[str, ...] = field(default=())
    extra: Mapping[str, Any] = field(default_factory=dict)


def _num(value: Any) -> float:
    """A cell as float (NaN when empty)."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _has(*values: float) -> bool:
    return all(not math.isnan(v) for v in values)


#: Outcome columns that hold a comparator's numbers or a between-group estimate.
_CONTROL_COLUMNS = (
    "n_ctl",
    "mean_ctl",
    "sd_ctl",
    "se_ctl",
    "mean_change_ctl",
    "sd_change_ctl",
    "se_change_ctl",
    "ci_low_change_ctl",
    "median_ctl",
    "pct_ctl",
    "events_ctl",
    "total_ctl",
    "effect_value",
    "effect_smd_value",
    "effect_ci_low",
)
_PROPORTION_COLUMNS = ("events_ldn", "total_ldn", "pct_ldn")
_CONTINUOUS_COLUMNS = ("mean_ldn", "mean_baseline_ldn", "mean_change_ldn", "median_ldn")


def outcome_stratum(row: Mapping[str, Any], study: Mapping[str, Any]) -> str:
    """What an outcome's numbers compare: one of :data:`ldn_evidence.vocab.STRATA`.

    The study file's ``comparison_stratum`` wins when given (for within-group numbers inside
    a trial, say). Otherwise: prescription-database before/after designs are
    ``observational_before_after``; single-arm studies, and cohorts or case series whose
    outcome has no comparator numbers, are ``single_arm_proportion`` when the outcome is a
    count or percentage and ``within_group_pre_post`` otherwise; everything else compares
    arms, ``randomized_between_arm`` for randomized designs and
    ``nonrandomized_between_arm`` for the rest (e.g. a fixed-order crossover).
    """
    explicit = row.get("comparison_stratum")
    if isinstance(explicit, str) and explicit and explicit != "nan":
        return explicit
    design = study["design"]
    if design == "database_before_after":
        return BEFORE_AFTER
    has_control = any(_has(_num(row.get(c))) for c in _CONTROL_COLUMNS)
    if design == "single_arm_pre_post" or (
        design in ("retrospective_cohort", "not_reported") and not has_control
    ):
        proportion = any(_has(_num(row.get(c))) for c in _PROPORTION_COLUMNS) and not any(
            _has(_num(row.get(c))) for c in _CONTINUOUS_COLUMNS
        )
        return SINGLE_ARM_PROPORTION if proportion else WITHIN_GROUP
    return RANDOMIZED_BETWEEN if design in vocab.RANDOMIZED_DESIGNS else NONRANDOMIZED_BETWEEN


class _Outcome:
    """One outcome row with its study's row, and accessors that know the fallbacks."""

    def __init__(self, row: Mapping[str, Any], study: Mapping[str, Any]):
        self.row = row
        self.study = study
        self.design = study["design"]
        self.better = row["better_direction"]

    def __getitem__(self, key: str) -> float:
        return _num(self.row.get(key))

    def text(self, key: str) -> str:
        value = self.row.get(key)
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        return str(value)

    @property
    def stratum(self) -> str:
        """What this outcome's numbers compare (see :func:`outcome_stratum`)."""
        return outcome_stratum(self.row, self.study)

    def arm_sizes(self) -> tuple[float, float, tuple[str, ...]]:
        """n per arm for a parallel comparison: the outcome's, else the study's arm sizes."""
        n1, n2 = self["n_ldn"], self["n_ctl"]
        if _has(n1, n2):
            return n1, n2, ()
        s1, s2 = _num(self.study.get("n_ldn")), _num(self.study.get("n_control"))
        if _has(s1, s2):
            return s1, s2, (f"arm sizes {s1:g}/{s2:g} from the study (not given for the outcome)",)
        raise NotDerivable("arm sizes not reported")

    def paired_n(self) -> tuple[float, tuple[str, ...]]:
        """Participants in a within-person (crossover or pre-post) analysis."""
        n1, n2 = self["n_ldn"], self["n_ctl"]
        if _has(n1) and (math.isnan(n2) or n1 == n2):
            return n1, ()
        for key, label in (("n_analyzed", "analysed"), ("n_randomized", "randomized")):
            n = _num(self.study.get(key))
            if _has(n):
                return n, (f"n = {n:g} ({label} in the study; not given for the outcome)",)
        raise NotDerivable("number of participants not reported")

    def p_value(self) -> tuple[float, tuple[str, ...]]:
        """A two-sided p-value usable for back-calculating an SE."""
        p, operator = self["p_value"], self.text("p_operator")
        if math.isnan(p):
            raise NotDerivable("no p-value")
        if operator in ("", "="):
            return p, ()
        if operator in ("<", "<="):
            return p, (
                f"p {operator} {p:g} used as p = {p:g}: the SE is overestimated (conservative) "
                "and an effect standardized through it is biased toward zero",
            )
        raise NotDerivable(f"p {operator} {p:g} gives no upper bound on the SE")


# ---- continuous outcomes -------------------------------------------------------------------


def _is_mean_difference(effect_type: str) -> bool:
    """Whether a reported effect is a mean difference (not a median difference or a ratio)."""
    words = effect_type.lower()
    return "median" not in words and re.search(r"\bmd\b|mean difference", words) is not None


def _reports_adjusted(o: _Outcome) -> bool:
    """Whether the reported between-group ``effect_value`` is an adjusted/model-based one."""
    return o.text("effect_adjustment") in _ADJUSTED


def _difference(o: _Outcome, *, direction_only: bool = False) -> tuple[float, str]:
    """The reported LDN-vs-comparator mean difference and how its sign is meant.

    With ``direction_only`` any reported difference (a median difference, say) will do: it is
    used for its sign only.
    """
    value = o["effect_value"]
    convention = o.text("effect_sign_convention") or "ldn_minus_comparator"
    usable = direction_only or _is_mean_difference(o.text("effect_type"))
    if _has(value) and usable and convention in ("ldn_minus_comparator", "improvement_with_ldn"):
        return value, convention
    for prefix in ("mean_change_", "mean_"):
        m1, m2 = o[f"{prefix}ldn"], o[f"{prefix}ctl"]
        if _has(m1, m2) and not (prefix == "mean_" and o.design == "single_arm_pre_post"):
            return m1 - m2, "ldn_minus_comparator"
    if _has(o["effect_value"]):
        raise NotDerivable(
            f"the reported effect ({o.text('effect_type')}) is not a mean difference",
            relevant=True,
        )
    if _has(o["p_value"]):
        raise NotDerivable("only a p-value is reported, with no effect estimate", relevant=True)
    raise NotDerivable("no between-group difference reported")


def _orient(estimate: EffectEstimate, o: _Outcome, convention: str) -> EffectEstimate:
    """Put a raw estimate on the review's sign convention."""
    if convention == "improvement_with_ldn":
        return estimate.with_step(
            "direction_as_reported",
            assumptions=(f"reported as the size of improvement with LDN; {DIRECTION_CONVENTION}",),
        )
    if o.better not in ("higher", "lower"):
        raise NotDerivable("which end of the scale is better is not reported")
    return harmonise_effect(estimate, o.better)


@dataclass(frozen=True)
class _ArmSD:
    sd: float
    step: str | None = None  # the conversion used, if the SD was not reported
    detail: str | None = None  # its assumption, for the record


def _arm_sd(o: _Outcome, arm: str, kind: str, n: float) -> _ArmSD:
    """SD of one arm's final values (kind "") or change (kind "change_"), by any route."""
    sd = o[f"sd_{kind}{arm}"]
    if _has(sd):
        return _ArmSD(sd)
    se = o[f"se_{kind}{arm}"]
    if _has(se):
        return _ArmSD(float(conversions.sd_from_se(se, n)), "sd_from_se")
    lo, hi = o[f"ci_low_{kind}{arm}"], o[f"ci_high_{kind}{arm}"]
    if kind and _has(lo, hi):
        sd = float(conversions.sd_from_ci(lo, hi, n, level=0.95, distribution="auto"))
        dist = "t" if n < conversions.T_BELOW_N else "normal"
        return _ArmSD(sd, "sd_from_ci", f"sd_from_ci ({dist}-based, 95% CI, n = {n:g})")
    raise NotDerivable("per-arm SD, SE or CI not reported")


def _per_arm(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier A: per-arm means (final or change) with SD/SE/CI and n, parallel groups."""
    if o.design not in _PARALLEL_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("per-arm statistics of a non-parallel design")
    n1, n2, notes = o.arm_sizes()
    for kind in ("change_", ""):
        m1, m2 = o[f"mean_{kind}ldn"], o[f"mean_{kind}ctl"]
        if not _has(m1, m2):
            continue
        arms = (_arm_sd(o, "ldn", kind, n1), _arm_sd(o, "ctl", kind, n2))
        steps = tuple(dict.fromkeys(a.step for a in arms if a.step))
        details = tuple(dict.fromkeys(a.detail for a in arms if a.detail))
        scale = "change from baseline" if kind else "final values"
        for measure in ("SMD", "MD"):
            out = escalc(
                measure,
                m1i=[m1],
                sd1i=[arms[0].sd],
                n1i=[n1],
                m2i=[m2],
                sd2i=[arms[1].sd],
                n2i=[n2],
            )
            name = f"{measure.lower()}_from_means_sd"
            estimate = EffectEstimate(
                out.yi[0], out.vi[0], measure, (*steps, name), (*details, f"per-arm {scale}")
            )
            yield Candidate(_orient(estimate, o, "ldn_minus_comparator"), "A", n1, n2, notes)
        return
    raise NotDerivable("no per-arm means")


def _pre_post_sds(o: _Outcome, n: float) -> tuple[float, float, tuple[str, ...]]:
    """Baseline and follow-up SDs of a within-group comparison, by any stated route."""
    sd_pre, sd_post = o["sd_baseline_ldn"], o["sd_ldn"]
    if _has(sd_pre, sd_post):
        return sd_pre, sd_post, ()
    pm_pre, pm_post = o["plusminus_baseline_ldn"], o["plusminus_ldn"]
    if _has(pm_pre, pm_post):
        kind = o.text("plusminus_kind")
        if kind == "sd":
            return pm_pre, pm_post, ("'±' values declared as SDs in the study file",)
        if kind == "se":
            root = math.sqrt(n)
            return (
                pm_pre * root,
                pm_post * root,
                (f"'±' values declared as SEs in the study file: SD = SE sqrt(n), n = {n:g}",),
            )
        raise NotDerivable(
            "baseline and follow-up '±' values whose type (SD or SE) the source does not state",
            relevant=True,
        )
    given = any(_has(v) for v in (o["mean_baseline_ldn"], o["mean_ldn"], o["mean_change_ldn"]))
    raise NotDerivable("within-group change without the baseline and follow-up SDs", relevant=given)


def _pre_post(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier A: baseline and follow-up means with SDs in LDN-treated participants."""
    if o.stratum != WITHIN_GROUP:
        raise NotDerivable("not a within-group comparison")
    pre, post = o["mean_baseline_ldn"], o["mean_ldn"]
    if not _has(pre, post):
        given = _has(pre) or _has(post) or _has(o["mean_change_ldn"])
        raise NotDerivable(
            "within-group change without the baseline and follow-up SDs", relevant=given
        )
    n, notes = o.paired_n()
    sd_pre, sd_post, sd_notes = _pre_post_sds(o, n)
    r = s.prepost_correlation
    flags: tuple[str, ...] = ()
    restricted = sd_pre < s.restricted_sd_ratio * sd_post
    measures = (s.prepost_measure, "SMCR", "SMCC", "SMCRP")
    standardized = {
        m: designs.pre_post_change(pre, sd_pre, post, sd_post, n, r, measure=m)
        for m in dict.fromkeys(measures)
    }
    main = standardized[s.prepost_measure]
    alternatives = "; ".join(
        f"{m} (by {_STANDARDIZER[m]}): {_orient(est, o, 'ldn_minus_comparator').yi:.4g}"
        for m, est in standardized.items()
        if m != s.prepost_measure
    )
    extra_notes = sd_notes
    if restricted:
        flags = ("restricted_baseline_sd",)
        extra_notes += (
            f"baseline SD {sd_pre:g} is below {s.restricted_sd_ratio:g} x the follow-up SD "
            f"{sd_post:g} (restricted by eligibility?): a change standardized by the baseline "
            "SD (SMCR) is inflated; see the SMCC and SMCRP alternatives",
        )
    main = EffectEstimate(
        main.yi,
        main.vi,
        main.measure,
        (*sd_steps(sd_notes), *main.derivation),
        (*extra_notes, *main.assumptions),
    )
    yield Candidate(
        _orient(main, o, "ldn_minus_comparator"),
        "A",
        n,
        math.nan,
        notes,
        flags=flags,
        extra={"alternatives": alternatives},
    )
    raw = designs.pre_post_change(pre, sd_pre, post, sd_post, n, r, measure="MC")
    raw = EffectEstimate(
        raw.yi, raw.vi, "MC", (*sd_steps(sd_notes), *raw.derivation), (*sd_notes, *raw.assumptions)
    )
    yield Candidate(_orient(raw, o, "ldn_minus_comparator"), "A", n, math.nan, notes)


_STANDARDIZER = {
    "SMCR": "the baseline SD",
    "SMCC": "the SD of the change",
    "SMCRP": "the pooled baseline and follow-up SD",
}


def sd_steps(sd_notes: tuple[str, ...]) -> tuple[str, ...]:
    """The derivation step naming how the pre/post SDs were obtained, if not reported."""
    if not sd_notes:
        return ()
    return ("sd_from_se",) if "SEs" in sd_notes[0] else ("plusminus_as_sd",)


def _within_change_p(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a within-group mean change with a p-value (SE back-calculated, paired t)."""
    if o.stratum != WITHIN_GROUP:
        raise NotDerivable("not a within-group comparison")
    pre, post = o["mean_baseline_ldn"], o["mean_ldn"]
    if not _has(pre, post):
        raise NotDerivable("no baseline and follow-up means")
    p, p_notes = o.p_value()
    n, notes = o.paired_n()
    change = post - pre
    if change == 0:
        raise NotDerivable("no change: the p-value carries no SE", relevant=True)
    se = float(conversions.se_from_p(change, p, df=n - 1))
    estimate = EffectEstimate(
        change,
        se**2,
        "MC",
        ("se_from_p_value", "mean_change_from_means"),
        (*p_notes, f"paired t test with {n - 1:g} df", "change = follow-up mean - baseline mean"),
    )
    yield Candidate(_orient(estimate, o, "ldn_minus_comparator"), "D", n, math.nan, notes)


def _reported_md_ci(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier C: a reported mean difference with its CI."""
    md, lo, hi = o["effect_value"], o["effect_ci_low"], o["effect_ci_high"]
    if not _has(md, lo, hi) or o.text("effect_sign_convention") not in (
        "",
        "ldn_minus_comparator",
    ):
        raise NotDerivable("no reported difference with a CI")
    if o.stratum not in BETWEEN_ARM_STRATA or o.design not in _PARALLEL_DESIGNS:
        raise NotDerivable("a reported difference with a CI outside a parallel comparison")
    level = o["effect_ci_level"] if _has(o["effect_ci_level"]) else 0.95
    n1, n2, notes = o.arm_sizes()
    adjusted = _reports_adjusted(o)
    yield Candidate(
        _orient(
            designs.md_from_ci(md, lo, hi, level=level, df=n1 + n2 - 2), o, "ldn_minus_comparator"
        ),
        "C",
        n1,
        n2,
        notes,
        reported_adjusted=adjusted,
    )
    smd = designs.smd_from_md_ci(md, lo, hi, n1, n2, level=level)
    yield Candidate(
        _orient(smd, o, "ldn_minus_comparator"), "C", n1, n2, notes, reported_adjusted=adjusted
    )


def _signed_reported_smd(o: _Outcome) -> tuple[float, tuple[str, ...]]:
    """The reported standardized effect, signed on the review's convention."""
    d = o["effect_smd_value"]
    if math.isnan(d):
        raise NotDerivable("no reported standardized effect")
    if o.text("effect_smd_sign_convention") != "magnitude":
        return d, ()
    value, convention = _difference(o, direction_only=True)
    if convention == "improvement_with_ldn":
        better_with_ldn = value > 0
    elif o.better in ("higher", "lower"):
        better_with_ldn = (value > 0) == (o.better == "higher")
    else:
        raise NotDerivable("direction of the unsigned effect size unknown")
    sign = 1.0 if better_with_ldn else -1.0
    return sign * abs(d), (
        f"the effect size is printed without a sign; its direction is taken from the reported "
        f"difference ({value:g}): {'better' if better_with_ldn else 'worse'} with LDN",
    )


def _require_known_smd_type(o: _Outcome) -> None:
    """Refuse a reported "effect size" whose type the source does not name."""
    if math.isnan(o["effect_smd_value"]):
        raise NotDerivable("no reported standardized effect")
    kind = o.text("effect_smd_type")
    if not _KNOWN_SMD_TYPE.search(kind.lower()) or "not specified" in kind.lower():
        raise NotDerivable(
            f"the reported effect size ({o['effect_smd_value']:g}) is printed without its type "
            f"({kind or 'none given'}): not used as a standardized mean difference",
            relevant=True,
        )


def _implied_p_check(o: _Outcome, n1: float, n2: float | None) -> tuple[str, ...]:
    """Compare the p-value a reported standardized effect implies with the printed one.

    The effect is read as Cohen's d (two groups: t = d sqrt(n1 n2 / (n1 + n2))) or, for a
    crossover (``n2 is None``), as a paired d_z (t = d sqrt(n)). Both numbers are taken with
    their printed precision (half a unit of the last digit either way); an inconsistency is
    recorded only when the two ranges do not overlap.
    """
    d, p = o["effect_smd_value"], o["p_value"]
    if not _has(d, p) or o.text("p_operator") not in ("", "="):
        return ()
    half_d = 0.5 * 10.0 ** -_decimals(o.text("effect_smd_value") or repr(d))
    half_p = 0.5 * 10.0 ** -_decimals(o.text("p_text") or repr(p))
    scale = math.sqrt(n1) if n2 is None else math.sqrt(n1 * n2 / (n1 + n2))
    df = n1 - 1 if n2 is None else n1 + n2 - 2
    p_hi = 2 * float(distributions.t_sf(max(abs(d) - half_d, 0.0) * scale, df))
    p_lo = 2 * float(distributions.t_sf((abs(d) + half_d) * scale, df))
    p_mid = 2 * float(distributions.t_sf(abs(d) * scale, df))
    if p_lo <= p + half_p and p - half_p <= p_hi:
        return ()
    kind = "a paired d_z" if n2 is None else "Cohen's d"
    return (
        f"the reported effect size {abs(d):g} read as {kind} implies p = {p_mid:.2f}; the source "
        f"prints p = {o.text('p_text') or p}: inconsistent (another effect-size type, an "
        "adjusted analysis or a different test)",
    )


def _decimals(text: str) -> int:
    """Number of printed decimals of a number given as text."""
    match = re.search(r"\.(\d+)", text)
    return len(match.group(1)) if match else 0


def _reported_smd_parallel(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier C: a reported Cohen's d with the arm sizes (parallel groups)."""
    if o.design not in _PARALLEL_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("reported d of a non-parallel design")
    _require_known_smd_type(o)
    d, notes = _signed_reported_smd(o)
    n1, n2, size_notes = o.arm_sizes()
    estimate = designs.smd_from_cohens_d(d, n1, n2)
    estimate = estimate.with_step(
        "direction_as_reported", assumptions=(*notes, f"{DIRECTION_CONVENTION}")
    )
    yield Candidate(estimate, "C", n1, n2, size_notes)


def _difference_p_parallel(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a difference (reported or from arm means) with a p-value, parallel groups."""
    if o.design not in _PARALLEL_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("not a parallel design")
    value, convention = _difference(o)
    adjusted = _reports_adjusted(o) and value == o["effect_value"]
    p, p_notes = o.p_value()
    n1, n2, notes = o.arm_sizes()
    notes = (*notes, *_implied_p_check(o, n1, n2))
    df = n1 + n2 - 2
    se = float(conversions.se_from_p(value, p, df=df))
    basis = (*p_notes, f"two-sided t test with {df:g} df")
    md = EffectEstimate(value, se**2, "MD", ("se_from_p_value",), basis)
    yield Candidate(_orient(md, o, convention), "D", n1, n2, notes, reported_adjusted=adjusted)
    sd = float(conversions.sd_pooled_from_se(se, n1, n2))
    out = escalc("SMD", m1i=[value], sd1i=[sd], n1i=[n1], m2i=[0.0], sd2i=[sd], n2i=[n2])
    smd = EffectEstimate(
        out.yi[0],
        out.vi[0],
        "SMD",
        ("se_from_p_value", "sd_pooled_from_se", "smd_from_means_sd"),
        basis,
    )
    yield Candidate(_orient(smd, o, convention), "D", n1, n2, notes, reported_adjusted=adjusted)


def _difference_p_crossover(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a within-person difference with a paired p-value (crossover trials)."""
    if o.design not in vocab.CROSSOVER_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("not a crossover design")
    value, convention = _difference(o)
    p, p_notes = o.p_value()
    n, notes = o.paired_n()
    md = designs.crossover_md_from_p_value(value, p, n)
    kept = [a for a in md.assumptions if not (p_notes and a == "p-value reported exactly")]
    md = EffectEstimate(md.yi, md.vi, "MD", md.derivation, (*p_notes, *kept))
    yield Candidate(_orient(md, o, convention), "D", n, n, notes)
    # The SD of the within-person differences implied by the SE, then the per-period SD under
    # the imputed correlation (SD_diff^2 = 2 SD^2 (1 - r)), standardized as Cochrane recommends.
    r = s.crossover_correlation
    sd_diff = md.sei * math.sqrt(n)
    sd = sd_diff / math.sqrt(2 * (1 - r))
    smd = designs.crossover_smd_paired(value, sd, 0.0, sd, n, r)
    smd = EffectEstimate(
        smd.yi,
        smd.vi,
        "SMD",
        ("se_from_p_value", "sd_from_paired_se_with_imputed_r", *smd.derivation),
        (
            *p_notes,
            "SMD = J t sqrt(2(1 - r)/n): it depends only on p, n and the imputed r",
            *smd.assumptions,
        ),
    )
    yield Candidate(_orient(smd, o, convention), "D", n, n, notes)


def _reported_direction(o: _Outcome) -> tuple[float, str]:
    """+1/-1 for better/worse with LDN, from a reported difference's sign or the words."""
    try:
        value, convention = _difference(o, direction_only=True)
    except NotDerivable:
        value, convention = math.nan, ""
    if _has(value) and value != 0:
        if convention == "improvement_with_ldn":
            better = value > 0
        elif o.better in ("higher", "lower"):
            better = (value > 0) == (o.better == "higher")
        else:
            raise NotDerivable("which end of the scale is better is not reported", relevant=True)
        kind = o.text("effect_type") or "difference"
        return (1.0 if better else -1.0), f"direction from the reported {kind} ({value:g})"
    words = o.text("direction_reported")
    if words in ("better_with_ldn", "worse_with_ldn"):
        basis = o.text("direction_reported_basis")
        return (1.0 if words == "better_with_ldn" else -1.0), (
            f"direction as the source words it: '{basis}'" if basis else "direction as reported"
        )
    raise NotDerivable("a p-value without the direction of the effect", relevant=True)


def _direction_p_crossover(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a crossover comparison reported as a p-value with its direction only.

    No mean difference is needed: the between-person SMD follows from p, n and the imputed
    correlation alone (:func:`ldn_evidence.effects.designs.crossover_smd_from_p_value`); the
    sign comes from a reported (e.g. median) difference or from the source's words.
    """
    if o.design not in vocab.CROSSOVER_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("not a crossover design")
    try:
        _difference(o)
    except NotDerivable:
        pass
    else:
        raise NotDerivable("a mean difference is reported (handled by its own path)")
    p, p_notes = o.p_value()
    sign, direction_note = _reported_direction(o)
    n, n_notes = o.paired_n()
    smd = designs.crossover_smd_from_p_value(p, n, s.crossover_correlation, sign)
    extra: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    if "median" in o.text("effect_type").lower():
        extra = (
            "the p-value is used as if from a paired t test; the source reports a median "
            "difference, so its test was probably non-parametric (Wilcoxon signed-rank): an "
            "approximation",
        )
        flags = ("nonparametric_p_as_t",)
    implied = _implied_p_check(o, n, None) if _has(o["effect_smd_value"]) else ()
    if implied:
        flags += ("reported_effect_p_inconsistent",)
    estimate = EffectEstimate(
        smd.yi,
        smd.vi,
        "SMD",
        (*smd.derivation, "direction_as_reported"),
        (direction_note, *extra, *implied, *p_notes, *smd.assumptions, DIRECTION_CONVENTION),
    )
    yield Candidate(estimate, "D", n, n, n_notes, flags=flags)


def _reported_smd_p_crossover(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a reported, typed effect size of a crossover trial with its p-value."""
    if o.design not in vocab.CROSSOVER_DESIGNS or o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("not a crossover design")
    _require_known_smd_type(o)
    d, notes = _signed_reported_smd(o)
    p, p_notes = o.p_value()
    n, n_notes = o.paired_n()
    se = float(conversions.se_from_p(d, p, df=n - 1))
    estimate = EffectEstimate(
        d,
        se**2,
        "SMD",
        ("reported_effect_size", "se_from_p_value", "direction_as_reported"),
        (
            f"reported effect size ({o.text('effect_smd_type')}) taken as a standardized "
            "mean difference",
            *notes,
            *p_notes,
            f"SE from the two-sided p-value, paired t test with {n - 1:g} df",
            DIRECTION_CONVENTION,
        ),
    )
    yield Candidate(estimate, "D", n, n, n_notes)


# ---- binary outcomes -----------------------------------------------------------------------


def _binary(o: _Outcome, s: EffectSettings, a, n1, c, n2, derivation, tier, notes):
    zero = 0 in (a, c, n1 - a, n2 - c)
    if s.drop00 and a == 0 and c == 0:
        raise NotDerivable("no events in either arm (dropped: zero_cells.drop00)")
    out = escalc(
        s.binary_measure, ai=[a], n1i=[n1], ci=[c], n2i=[n2], add=s.add, to=s.to, drop00=s.drop00
    )
    if not math.isfinite(out.yi[0]):
        raise NotDerivable(
            f"a zero cell with no correction (zero_cells.to = {s.to!r}): "
            f"{s.binary_measure} undefined",
            relevant=True,
        )
    corrected = s.add > 0 and (s.to == "all" or (s.to == "only0" and zero))
    assumptions = (*notes,)
    if corrected:
        assumptions += (f"{s.add:g} added to every cell (zero-cell rule to={s.to!r})",)
    flags: tuple[str, ...] = ()
    if o.text("events_unit") == "events":
        basis = o.text("events_unit_basis")
        assumptions += (
            "the counts are events, not people"
            + (f" ('{basis}')" if basis else "")
            + ": a risk ratio treats them as people with an event",
        )
        flags = ("events_not_people",)
    step = f"{s.binary_measure.lower()}_from_counts"
    estimate = EffectEstimate(
        out.yi[0], out.vi[0], s.binary_measure, (*derivation, step), assumptions
    )
    return Candidate(
        _orient(estimate, o, "ldn_minus_comparator"),
        tier,
        n1,
        n2,
        flags=flags,
        extra={"events_ldn": a, "events_ctl": c},
    )


def _counts(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier B: events and totals in both arms."""
    if o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("no comparator arm")
    a, n1, c, n2 = o["events_ldn"], o["total_ldn"], o["events_ctl"], o["total_ctl"]
    if not _has(a, n1, c, n2):
        if _has(a) and math.isnan(c):
            raise NotDerivable("single-arm event counts: no comparator", relevant=True)
        if _has(a) or _has(c):
            raise NotDerivable("event counts without their denominators", relevant=True)
        raise NotDerivable("event counts not reported for both arms")
    if o.design in vocab.CROSSOVER_DESIGNS:
        raise NotDerivable(
            "crossover counts need the paired table, which is not reported", relevant=True
        )
    yield _binary(o, s, a, n1, c, n2, (), "B", ())


def _percent_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _tried(percent: float, n: float) -> str:
    """The counts nearest to ``percent`` of ``n``, as tried, for the record."""
    centre = percent * n / 100
    counts = sorted({max(0, min(int(n), k)) for k in (math.floor(centre), math.ceil(centre))})
    return ", ".join(f"{k}/{n:g} = {100 * k / n:.1f}%" for k in counts)


def _denominators(o: _Outcome, arm: str) -> list[tuple[float, str]]:
    """Candidate denominators for a percentage, each with where it comes from."""
    found: dict[float, str] = {}
    for value, label in (
        (o[f"n_{arm}"], "the outcome's n"),
        (o[f"total_{arm}"], "the outcome's total"),
        (_num(o.study.get("n_analyzed")), "analysed in the study"),
        (_num(o.study.get("n_randomized")), "randomized in the study"),
        (_num(o.study.get("n_ldn" if arm == "ldn" else "n_control")), "the study's arm size"),
    ):
        if _has(value) and value >= 1 and value == int(value) and value not in found:
            found[value] = label
    return sorted(found.items())


def _percentages(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier E: percentages of both arms -> counts, only when exactly one count fits.

    Parallel arms use their arm sizes. A crossover reports the percentages of the same
    participants in both periods: every known denominator (analysed, randomized) is tried and
    used only when it is the one for which both percentages give a unique count; the pairing is
    then ignored (the paired table is not reported), which overstates the variance of a
    within-person comparison (Elbourne et al. 2002).
    """
    p1, p2 = o["pct_ldn"], o["pct_ctl"]
    if not _has(p1, p2):
        if _has(p1) or _has(p2):
            raise NotDerivable("a percentage in one group only: no comparator", relevant=True)
        raise NotDerivable("percentages not reported for both arms")
    if o.stratum not in BETWEEN_ARM_STRATA:
        raise NotDerivable("percentages without a comparator arm")
    t1, t2 = _percent_text(p1), _percent_text(p2)
    flags: tuple[str, ...] = ()
    if o.design in _PARALLEL_DESIGNS:
        n1, n2, notes = o.arm_sizes()
        a = conversions.count_from_percent(t1, int(n1))
        c = conversions.count_from_percent(t2, int(n2))
        if a is None or c is None:
            raise NotDerivable(
                f"percentages {t1}% of {n1:g} and {t2}% of {n2:g}: no unique event counts "
                f"(tried {_tried(p1, n1)}; {_tried(p2, n2)})",
                relevant=True,
            )
    else:
        options = _denominators(o, "ldn")
        fits = []
        for n, label in options:
            a = conversions.count_from_percent(t1, int(n))
            c = conversions.count_from_percent(t2, int(n))
            if a is not None and c is not None:
                fits.append((n, label, a, c))
        tried = "; ".join(f"n = {n:g} ({label})" for n, label in options) or "none known"
        if len(fits) != 1:
            why = "no denominator" if not fits else "more than one denominator"
            raise NotDerivable(
                f"crossover percentages {t1}% and {t2}%: {why} gives unique counts in both "
                f"periods (tried {tried})",
                relevant=True,
            )
        n, label, a, c = fits[0]
        n1 = n2 = n
        notes = (
            f"denominator {n:g} ({label}) is the only one of the known denominators ({tried}) "
            "for which both percentages give a unique count",
            "crossover periods treated as independent groups: the paired table is not "
            "reported, so the pairing is ignored (conservative; Elbourne et al. 2002)",
        )
        flags = ("pairing_ignored",)
    notes = (
        *notes,
        f"counts {a}/{n1:g} and {c}/{n2:g} are the only ones that round to {t1}% and {t2}%",
    )
    candidate = _binary(o, s, a, n1, c, n2, ("counts_from_percent",), "E", notes)
    yield Candidate(
        candidate.estimate,
        candidate.tier,
        candidate.n_ldn,
        candidate.n_ctl,
        candidate.notes,
        flags=(*candidate.flags, *flags),
        extra=candidate.extra,
    )


def _single_arm(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Single-arm proportion: events of n LDN-treated participants (tier B), or a percentage
    of a known n when exactly one count fits (tier E); logit scale for pooling, Wilson CI."""
    if o.stratum != SINGLE_ARM_PROPORTION:
        raise NotDerivable("not a single-arm proportion")
    events, total = o["events_ldn"], o["total_ldn"]
    notes: tuple[str, ...] = ()
    derivation: tuple[str, ...] = ()
    if _has(events, total):
        tier = "B"
    elif _has(o["pct_ldn"]):
        text = _percent_text(o["pct_ldn"])
        options = _denominators(o, "ldn")
        fits = [
            (n, label, k)
            for n, label in options
            if (k := conversions.count_from_percent(text, int(n))) is not None
        ]
        tried = "; ".join(f"{_tried(o['pct_ldn'], n)} ({label})" for n, label in options)
        if len(fits) != 1:
            why = "no count fits" if not fits else "counts fit more than one denominator"
            raise NotDerivable(
                f"{text}% of an unstated denominator: {why} (tried {tried or 'no known n'})",
                relevant=True,
            )
        total, label, events = fits[0]
        events = float(events)
        tier = "E"
        derivation = ("count_from_percent",)
        notes = (
            f"{int(events)}/{total:g} is the only count that rounds to {text}% "
            f"(denominator {total:g}: {label}; tried {tried})",
        )
    elif _has(events):
        raise NotDerivable("events without their denominator", relevant=True)
    else:
        raise NotDerivable("no events or percentage reported")
    result = designs.single_arm_proportion(int(events), int(total))
    est = result.estimate
    estimate = EffectEstimate(
        est.yi,
        est.vi,
        "PLO",
        (*derivation, *est.derivation),
        (
            *notes,
            *est.assumptions,
            "a proportion among LDN-treated participants without a comparator: it says how "
            "often, not whether LDN caused it",
            "Wilson score 95% CI for the proportion",
        ),
    )
    yield Candidate(
        estimate,
        tier,
        total,
        math.nan,
        extra={
            "events_ldn": result.events,
            "proportion": result.proportion,
            "proportion_ci_low": result.ci_low,
            "proportion_ci_high": result.ci_high,
        },
    )


#: Derivation paths, best tier first. Binary paths run for every outcome that has counts.
PATHS: tuple[tuple[str, Callable[[_Outcome, EffectSettings], Iterator[Candidate]]], ...] = (
    ("per_arm", _per_arm),
    ("pre_post", _pre_post),
    ("counts", _counts),
    ("reported_md_ci", _reported_md_ci),
    ("reported_smd_parallel", _reported_smd_parallel),
    ("difference_p_parallel", _difference_p_parallel),
    ("difference_p_crossover", _difference_p_crossover),
    ("direction_p_crossover", _direction_p_crossover),
    ("reported_smd_p_crossover", _reported_smd_p_crossover),
    ("within_change_p", _within_change_p),
    ("percentages", _percentages),
    ("single_arm", _single_arm),
)

_TIER_ORDER = "ABCDEF"


def _candidates(o: _Outcome, s: EffectSettings) -> tuple[list[Candidate], list[str]]:
    """Every estimate the paths can derive, and the reasons worth showing when none can."""
    found: list[Candidate] = []
    reasons: list[str] = []
    for name, path in PATHS:
        try:
            # a path yields lazily: collect inside the try so its errors are caught here;
            # numpy's 0/0, x/0 and overflow raise too, so a CI of zero width gives a reason
            # rather than a NaN row (the same in tests, where warnings are errors, and in runs)
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                found.extend(list(path(o, s)))
        except NotDerivable as exc:
            if exc.relevant:
                reasons.append(str(exc))
        except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
            # numbers that pass validation but not a formula's domain (an arm of one person,
            # a difference of 0 with a p-value, an SE that overflows, a CI of zero width):
            # that path gives no effect, and says why, instead of stopping the stage
            reasons.append(f"{name.replace('_', ' ')}: {exc}")
    return found, reasons


#: Outcome columns holding reported numbers (for saying why none of them gave an effect).
_STATISTIC_COLUMNS = (
    "mean_ldn",
    "mean_ctl",
    "mean_baseline_ldn",
    "mean_change_ldn",
    "mean_change_ctl",
    "median_ldn",
    "median_ctl",
    "pct_ldn",
    "pct_ctl",
    "events_ldn",
    "events_ctl",
    "effect_value",
    "effect_smd_value",
)


def _narrative_reason(o: _Outcome, reasons: list[str]) -> str:
    if reasons:
        return "; ".join(dict.fromkeys(reasons))
    reported = [column for column in _STATISTIC_COLUMNS if _has(o[column])]
    if reported:
        return (
            f"the reported numbers ({', '.join(reported)}) do not determine an effect size "
            "with a variance"
        )
    if _has(o["p_value"]):
        return "only a p-value is reported, with no effect estimate"
    return "no statistics reported (narrative only)"


def _fmt_estimate(c: Candidate) -> str:
    """A short account of an alternative estimate, for the ``cross_checks`` column."""
    steps = [step for step in c.estimate.derivation if not step.startswith("direction_")]
    return f"{' > '.join(steps)}: {c.estimate.yi:.4g} (SE {c.estimate.sei:.3g}, tier {c.tier})"


def derive_effects(
    outcomes: pd.DataFrame, studies: pd.DataFrame, settings: EffectSettings
) -> pd.DataFrame:
    """Effect sizes for every outcome of one condition.

    Parameters
    ----------
    outcomes, studies : pandas.DataFrame
        The processed tables of one condition (``data/processed/<condition>/``).
    settings : EffectSettings
        The protocol's effect-size choices.

    Returns
    -------
    pandas.DataFrame
        One row per study x outcome x measure (tier A-E), or one tier-F row per outcome that
        gives no effect size; sorted by study, outcome order and measure.
    """
    study_rows = {row["id"]: row for row in studies.to_dict("records")}
    rows: list[dict[str, Any]] = []
    for order, row in enumerate(outcomes.to_dict("records")):
        study = study_rows[row["study_id"]]
        o = _Outcome(row, study)
        base = _base_columns(row, study, order)
        if study.get("inclusion_status") == "exclude":
            rows.append({**base, **_narrative(f"study excluded: {study.get('inclusion_reason')}")})
            continue
        found, reasons = _candidates(o, settings)
        if not found:
            rows.append({**base, **_narrative(_narrative_reason(o, reasons))})
            continue
        by_measure: dict[str, list[Candidate]] = {}
        for candidate in found:
            by_measure.setdefault(candidate.estimate.measure, []).append(candidate)
        for _, candidates in sorted(by_measure.items()):
            best, others, choice = _choose(candidates, settings)
            rows.append({**base, **_checked(_effect_columns(best, others, choice))})
    frame = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    frame = frame.sort_values(["study_id", "outcome_order", "measure"], na_position="last")
    return frame.reset_index(drop=True).astype(EFFECT_DTYPES)


def _choose(
    candidates: list[Candidate], settings: EffectSettings
) -> tuple[Candidate, list[Candidate], str | None]:
    """The candidate to report for one measure, the others, and why, when it was a choice.

    Within one estimand the best tier wins. With ``prefer = "adjusted"`` a candidate built on
    the trial's own adjusted (or model-based) between-group estimate comes before any tier
    of unadjusted recomputation (Cochrane Handbook, chapter 10, section 10.5.2).
    """

    def rank(c: Candidate) -> tuple[int, int]:
        estimand = 0 if (settings.prefer == "adjusted" and c.reported_adjusted) else 1
        if settings.prefer == "unadjusted":
            estimand = 1 if c.reported_adjusted else 0
        return estimand, _TIER_ORDER.index(c.tier)

    ordered = sorted(candidates, key=rank)
    best, others = ordered[0], ordered[1:]
    rivals = [c for c in others if c.reported_adjusted != best.reported_adjusted]
    if not rivals:
        return best, others, None
    if best.reported_adjusted:
        choice = (
            "the trial's own adjusted/model-based between-group estimate is preferred over the "
            "recomputation from unadjusted per-arm numbers (effects.prefer = adjusted; Cochrane "
            "Handbook 10.5.2); the unadjusted alternative is in cross_checks"
        )
    else:
        choice = (
            "the recomputation from unadjusted per-arm numbers is used (effects.prefer = "
            "unadjusted); the trial's adjusted/model-based estimate is in cross_checks"
        )
    return best, others, choice


def _checked(columns: dict[str, Any]) -> dict[str, Any]:
    """Turn an effect row whose numbers cannot be pooled into a narrative (tier F) row."""
    yi, vi = columns["yi"], columns["vi"]
    if math.isfinite(yi) and math.isfinite(vi) and vi > 0:
        return columns
    reason = (
        f"the derived effect is not usable (yi = {yi:g}, vi = {vi:g}: a variance must be "
        f"finite and positive); derivation was {columns['derivation']}"
    )
    return {**columns, **_narrative(reason)}


def _base_columns(row: Mapping[str, Any], study: Mapping[str, Any], order: int) -> dict:
    design = study["design"]
    dose = _num(study.get("dose_mg_per_day"))
    stratum = outcome_stratum(row, study)
    return {
        "study_id": row["study_id"],
        "condition": row["condition"],
        "outcome_id": row["outcome_id"],
        "outcome_order": order,
        "outcome": row["outcome"],
        "domain": row["domain"],
        "better_direction": row["better_direction"],
        "timepoint_weeks": _num(row.get("timepoint_weeks")),
        "design": design,
        "randomized": design in vocab.RANDOMIZED_DESIGNS,
        "stratum": stratum,
        "population_scope": row["population_scope"],
        "dose_mg_per_day": dose,
        "dose_above_ldn_range": bool(dose > vocab.LDN_MAX_DOSE_MG) if _has(dose) else False,
        "co_interventions": study.get("co_interventions"),
        "rob_overall": study.get("rob_overall"),
        "inclusion_status": study.get("inclusion_status"),
        "source_file": row["source_file"],
        "source_type": row.get("source_type"),
        "source_url": row.get("source_url"),
        "source_quote": row.get("source_quote"),
        "source_quote2": _text_or_none(row.get("source_quote2")),
        "source_location": _text_or_none(row.get("source_location")),
        "source_quality": _text_or_none(row.get("source_quality")),
        "selective_reporting_risk": _text_or_none(row.get("selective_reporting_risk")),
        "events_unit": _text_or_none(row.get("events_unit")),
        "direction_reported": _text_or_none(row.get("direction_reported")),
        "direction_convention": DIRECTION_CONVENTION,
    }


def _text_or_none(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return None if text in ("", "nan") else text


def _narrative(reason: str) -> dict[str, Any]:
    return {
        "measure": None,
        "yi": math.nan,
        "vi": math.nan,
        "se": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "tier": "F",
        "derivation": None,
        "assumptions": None,
        "cross_checks": None,
        "not_computable_reason": reason,
        "n_ldn": math.nan,
        "n_ctl": math.nan,
        "choice": None,
        "caveats": None,
        "depends_on": None,
        **dict.fromkeys(_EXTRA_COLUMNS, math.nan),
    }


#: Columns only some derivations fill (counts used, and single-arm proportions).
_EXTRA_COLUMNS = (
    "events_ldn",
    "events_ctl",
    "proportion",
    "proportion_ci_low",
    "proportion_ci_high",
)


def _depends_on(derivation: tuple[str, ...]) -> str | None:
    """Which configured correlation an estimate depends on (for the sensitivity analyses)."""
    steps = " ".join(derivation)
    if "crossover" in steps and ("smd" in steps or "paired_with_imputed_r" in steps):
        return "crossover_correlation"
    if "single_arm_pre_post_smc" in steps or "single_arm_pre_post_mc" in steps:
        return "prepost_correlation"
    return None


def _effect_columns(best: Candidate, others: list[Candidate], choice: str | None) -> dict:
    est = best.estimate
    low, high = est.ci()
    assumptions = (*best.notes, *est.assumptions)
    checks = [_fmt_estimate(c) for c in others]
    if best.extra.get("alternatives"):
        checks.append(f"other standardizers: {best.extra['alternatives']}")
    return {
        "measure": est.measure,
        "yi": est.yi,
        "vi": est.vi,
        "se": est.sei,
        "ci_low": low,
        "ci_high": high,
        "tier": best.tier,
        "derivation": " > ".join(est.derivation),
        "assumptions": "; ".join(dict.fromkeys(assumptions)) or None,
        "cross_checks": "; ".join(checks) or None,
        "not_computable_reason": None,
        "n_ldn": best.n_ldn,
        "n_ctl": best.n_ctl,
        "choice": choice,
        "caveats": "; ".join(dict.fromkeys(best.flags)) or None,
        "depends_on": _depends_on(est.derivation),
        **{k: float(best.extra.get(k, math.nan)) for k in _EXTRA_COLUMNS},
    }


#: What each tier means, written into every method record.
TIERS = {
    "A": "complete per-arm (or pre/post) statistics: means with SD, SE or CI, and n",
    "B": "event counts with their denominators (both arms, or one arm for a single-arm proportion)",
    "C": "a reported effect with its CI, or a reported standardized effect with the arm sizes",
    "D": "an effect with a p-value only (SE back-calculated from the p-value)",
    "E": "percentages (counts recovered only when exactly one count fits)",
    "F": "narrative only: no effect size",
}


def method_record(settings: EffectSettings) -> dict[str, Any]:
    """How the effects table was made: settings, conventions and package versions."""
    from importlib.metadata import version

    return {
        "direction_convention": DIRECTION_CONVENTION,
        "settings": settings.as_dict(),
        "tiers": TIERS,
        "strata": dict(vocab.STRATUM_DESCRIPTIONS),
        "preference": (
            "per measure: the trial's own adjusted/model-based between-group estimate first "
            "when effects.prefer = adjusted (Cochrane Handbook 10.5.2), then the best tier"
        ),
        "ldn_max_dose_mg": vocab.LDN_MAX_DOSE_MG,
        "versions": {
            package: version(package)
            for package in ("ldn-evidence", "numpy", "scipy", "pandas", "pyarrow")
        },
    }


EFFECT_DTYPES: dict[str, str] = {
    "study_id": "string",
    "condition": "string",
    "outcome_id": "string",
    "outcome_order": "int64",
    "outcome": "string",
    "domain": "string",
    "better_direction": "string",
    "timepoint_weeks": "float64",
    "measure": "string",
    "yi": "float64",
    "vi": "float64",
    "se": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "tier": "string",
    "derivation": "string",
    "assumptions": "string",
    "cross_checks": "string",
    "not_computable_reason": "string",
    "n_ldn": "float64",
    "n_ctl": "float64",
    "events_ldn": "float64",
    "events_ctl": "float64",
    "proportion": "float64",
    "proportion_ci_low": "float64",
    "proportion_ci_high": "float64",
    "choice": "string",
    "caveats": "string",
    "depends_on": "string",
    "design": "string",
    "randomized": "bool",
    "stratum": "string",
    "population_scope": "string",
    "dose_mg_per_day": "float64",
    "dose_above_ldn_range": "bool",
    "co_interventions": "string",
    "rob_overall": "string",
    "inclusion_status": "string",
    "source_file": "string",
    "source_type": "string",
    "source_url": "string",
    "source_quote": "string",
    "source_quote2": "string",
    "source_location": "string",
    "source_quality": "string",
    "selective_reporting_risk": "string",
    "events_unit": "string",
    "direction_reported": "string",
    "direction_convention": "string",
}
EFFECT_COLUMNS = list(EFFECT_DTYPES)

__all__ = ["EFFECT_COLUMNS", "TIERS", "EffectSettings", "derive_effects", "method_record"]
