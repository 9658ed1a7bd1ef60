"""From what each paper reports to the most honest effect size, and a record of how.

:func:`derive_effects` takes the processed ``outcomes`` and ``studies`` tables of one condition
and returns one row per study x outcome x measure: ``yi``/``vi`` on the
:data:`~ldn_evidence.effects.direction.DIRECTION_CONVENTION` scale, the named derivation steps,
every assumption, a tier, and the pointer back to the quote. Outcomes that cannot become an
effect size keep one tier-F row that says why, for the narrative synthesis.

Tiers (what the chosen estimate was derived from):

* **A** complete per-arm (or pre/post) statistics: means with SDs, SEs or CIs, and n;
* **B** event counts in both arms;
* **C** a reported effect with its CI, or a reported standardized effect with the arm sizes;
* **D** an effect with a p-value only (SE back-calculated from the p-value);
* **E** percentages (counts recovered only when exactly one count fits);
* **F** narrative only: no effect size (``not_computable_reason`` says why).

Each derivation path below is tried in order of tier; the best one per measure is kept and
the others are listed in ``cross_checks`` so a reviewer can see that they agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ldn_evidence import vocab
from ldn_evidence.effects import conversions, designs
from ldn_evidence.effects.direction import DIRECTION_CONVENTION, harmonise_effect
from ldn_evidence.effects.escalc import ZERO_CELL_RULES, escalc
from ldn_evidence.effects.types import EffectEstimate

#: LDN doses above this (mg/day) are outside the low-dose range the review is about.
LDN_MAX_DOSE_MG = 4.5

CONTROLLED = "controlled"
SINGLE_ARM = "single_arm_pre_post"
_CROSSOVER_DESIGNS = frozenset({"crossover_rct", "nonrandomized_crossover"})
_PARALLEL_DESIGNS = frozenset({"parallel_rct", "retrospective_cohort"})


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
    add, to, drop00 :
        Zero-cell policy, exactly as metafor's ``escalc``.
    """

    crossover_correlation: float = 0.5
    prepost_correlation: float = 0.5
    prepost_measure: str = "SMCR"
    binary_measure: str = "RR"
    add: float = 0.5
    to: str = "only0"
    drop00: bool = True

    def __post_init__(self) -> None:
        for name in ("crossover_correlation", "prepost_correlation"):
            value = getattr(self, name)
            if not -1 < value < 1:
                raise ValueError(f"effects.{name} must be in (-1, 1); got {value}")
        if self.prepost_measure not in ("SMCR", "SMCC"):
            raise ValueError(
                f"effects.prepost_measure must be SMCR or SMCC; got {self.prepost_measure!r}"
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
    estimate: EffectEstimate
    tier: str
    n_ldn: float = math.nan
    n_ctl: float = math.nan
    notes: tuple[str, ...] = field(default=())


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
        return "" if value is None or value is pd.NA else str(value)

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
                f"p {operator} {p:g} used as p = {p:g} (the SE is overestimated: conservative)",
            )
        raise NotDerivable(f"p {operator} {p:g} gives no upper bound on the SE")


# ---- continuous outcomes -------------------------------------------------------------------


def _is_mean_difference(effect_type: str) -> bool:
    """Whether a reported effect is a mean difference (not a median difference or a ratio)."""
    words = effect_type.lower()
    return "median" not in words and re.search(r"\bmd\b|mean difference", words) is not None


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
    if o.design not in _PARALLEL_DESIGNS:
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


def _pre_post(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier A: single-arm baseline and follow-up means with SDs."""
    if o.design != "single_arm_pre_post":
        raise NotDerivable("not a single-arm pre-post study")
    pre, sd_pre, post, sd_post = (
        o["mean_baseline_ldn"],
        o["sd_baseline_ldn"],
        o["mean_ldn"],
        o["sd_ldn"],
    )
    if not _has(pre, sd_pre, post, sd_post):
        given = any(_has(v) for v in (pre, post, o["mean_change_ldn"]))
        raise NotDerivable(
            "within-group change without the baseline and follow-up SDs", relevant=given
        )
    n, notes = o.paired_n()
    r = s.prepost_correlation
    for measure in (s.prepost_measure, "MC"):
        estimate = designs.pre_post_change(pre, sd_pre, post, sd_post, n, r, measure=measure)
        yield Candidate(_orient(estimate, o, "ldn_minus_comparator"), "A", n, math.nan, notes)


def _reported_md_ci(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier C: a reported mean difference with its CI."""
    md, lo, hi = o["effect_value"], o["effect_ci_low"], o["effect_ci_high"]
    if not _has(md, lo, hi) or o.text("effect_sign_convention") not in (
        "",
        "ldn_minus_comparator",
    ):
        raise NotDerivable("no reported difference with a CI")
    level = o["effect_ci_level"] if _has(o["effect_ci_level"]) else 0.95
    n1, n2, notes = o.arm_sizes()
    yield Candidate(
        _orient(
            designs.md_from_ci(md, lo, hi, level=level, df=n1 + n2 - 2), o, "ldn_minus_comparator"
        ),
        "C",
        n1,
        n2,
        notes,
    )
    smd = designs.smd_from_md_ci(md, lo, hi, n1, n2, level=level)
    yield Candidate(_orient(smd, o, "ldn_minus_comparator"), "C", n1, n2, notes)


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


def _reported_smd_parallel(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier C: a reported Cohen's d with the arm sizes (parallel groups)."""
    if o.design not in _PARALLEL_DESIGNS:
        raise NotDerivable("reported d of a non-parallel design")
    d, notes = _signed_reported_smd(o)
    n1, n2, size_notes = o.arm_sizes()
    estimate = designs.smd_from_cohens_d(d, n1, n2)
    estimate = estimate.with_step(
        "direction_as_reported", assumptions=(*notes, f"{DIRECTION_CONVENTION}")
    )
    yield Candidate(estimate, "C", n1, n2, size_notes)


def _difference_p_parallel(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a difference (reported or from arm means) with a p-value, parallel groups."""
    if o.design not in _PARALLEL_DESIGNS:
        raise NotDerivable("not a parallel design")
    value, convention = _difference(o)
    p, p_notes = o.p_value()
    n1, n2, notes = o.arm_sizes()
    df = n1 + n2 - 2
    se = float(conversions.se_from_p(value, p, df=df))
    basis = (*p_notes, f"two-sided t test with {df:g} df")
    md = EffectEstimate(value, se**2, "MD", ("se_from_p_value",), basis)
    yield Candidate(_orient(md, o, convention), "D", n1, n2, notes)
    sd = float(conversions.sd_pooled_from_se(se, n1, n2))
    out = escalc("SMD", m1i=[value], sd1i=[sd], n1i=[n1], m2i=[0.0], sd2i=[sd], n2i=[n2])
    smd = EffectEstimate(
        out.yi[0],
        out.vi[0],
        "SMD",
        ("se_from_p_value", "sd_pooled_from_se", "smd_from_means_sd"),
        basis,
    )
    yield Candidate(_orient(smd, o, convention), "D", n1, n2, notes)


def _difference_p_crossover(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a within-person difference with a paired p-value (crossover trials)."""
    if o.design not in _CROSSOVER_DESIGNS:
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
        (*p_notes, *smd.assumptions),
    )
    yield Candidate(_orient(smd, o, convention), "D", n, n, notes)


def _reported_smd_p_crossover(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier D: a reported (unspecified) effect size of a crossover trial with its p-value."""
    if o.design not in _CROSSOVER_DESIGNS:
        raise NotDerivable("not a crossover design")
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
            f"reported effect size ({o.text('effect_smd_type') or 'type not stated'}) "
            "taken as a standardized mean difference",
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
    step = f"{s.binary_measure.lower()}_from_counts"
    estimate = EffectEstimate(
        out.yi[0], out.vi[0], s.binary_measure, (*derivation, step), assumptions
    )
    return Candidate(_orient(estimate, o, "ldn_minus_comparator"), tier, n1, n2)


def _counts(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier B: events and totals in both arms."""
    a, n1, c, n2 = o["events_ldn"], o["total_ldn"], o["events_ctl"], o["total_ctl"]
    if not _has(a, n1, c, n2):
        if _has(a) and math.isnan(c):
            raise NotDerivable("single-arm event counts: no comparator", relevant=True)
        if _has(a) or _has(c):
            raise NotDerivable("event counts without their denominators", relevant=True)
        raise NotDerivable("event counts not reported for both arms")
    if o.design in _CROSSOVER_DESIGNS:
        raise NotDerivable(
            "crossover counts need the paired table, which is not reported", relevant=True
        )
    yield _binary(o, s, a, n1, c, n2, (), "B", ())


def _percent_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _percentages(o: _Outcome, s: EffectSettings) -> Iterator[Candidate]:
    """Tier E: percentages of both arms with known arm sizes -> counts, when unique."""
    p1, p2 = o["pct_ldn"], o["pct_ctl"]
    if not _has(p1, p2):
        if _has(p1) or _has(p2):
            raise NotDerivable("a percentage in one group only: no comparator", relevant=True)
        raise NotDerivable("percentages not reported for both arms")
    if o.design not in _PARALLEL_DESIGNS:
        raise NotDerivable(
            "percentages from a crossover: the paired table is not reported", relevant=True
        )
    n1, n2, notes = o.arm_sizes()
    a = conversions.count_from_percent(_percent_text(p1), int(n1))
    c = conversions.count_from_percent(_percent_text(p2), int(n2))
    if a is None or c is None:
        raise NotDerivable(
            f"percentages {p1:g}% of {n1:g} and {p2:g}% of {n2:g}: no unique event counts",
            relevant=True,
        )
    notes = (
        *notes,
        f"counts {a}/{n1:g} and {c}/{n2:g} are the only ones that round to "
        f"{_percent_text(p1)}% and {_percent_text(p2)}%",
    )
    yield _binary(o, s, a, n1, c, n2, ("counts_from_percent",), "E", notes)


#: Derivation paths, best tier first. Binary paths run for every outcome that has counts.
PATHS: tuple[tuple[str, Callable[[_Outcome, EffectSettings], Iterator[Candidate]]], ...] = (
    ("per_arm", _per_arm),
    ("pre_post", _pre_post),
    ("counts", _counts),
    ("reported_md_ci", _reported_md_ci),
    ("reported_smd_parallel", _reported_smd_parallel),
    ("difference_p_parallel", _difference_p_parallel),
    ("difference_p_crossover", _difference_p_crossover),
    ("reported_smd_p_crossover", _reported_smd_p_crossover),
    ("percentages", _percentages),
)

_TIER_ORDER = "ABCDEF"


def _candidates(o: _Outcome, s: EffectSettings) -> tuple[list[Candidate], list[str]]:
    """Every estimate the paths can derive, and the reasons worth showing when none can."""
    found: list[Candidate] = []
    reasons: list[str] = []
    for _, path in PATHS:
        try:
            found.extend(path(o, s))
        except NotDerivable as exc:
            if exc.relevant:
                reasons.append(str(exc))
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
            candidates.sort(key=lambda c: _TIER_ORDER.index(c.tier))
            best, others = candidates[0], candidates[1:]
            rows.append({**base, **_effect_columns(best, others, study)})
    frame = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    frame = frame.sort_values(["study_id", "outcome_order", "measure"], na_position="last")
    return frame.reset_index(drop=True).astype(EFFECT_DTYPES)


def _base_columns(row: Mapping[str, Any], study: Mapping[str, Any], order: int) -> dict:
    design = study["design"]
    dose = _num(study.get("dose_mg_per_day"))
    stratum = SINGLE_ARM if design == "single_arm_pre_post" else CONTROLLED
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
        "dose_above_ldn_range": bool(dose > LDN_MAX_DOSE_MG) if _has(dose) else False,
        "co_interventions": study.get("co_interventions"),
        "rob_overall": study.get("rob_overall"),
        "inclusion_status": study.get("inclusion_status"),
        "source_file": row["source_file"],
        "source_type": row.get("source_type"),
        "source_url": row.get("source_url"),
        "source_quote": row.get("source_quote"),
        "direction_convention": DIRECTION_CONVENTION,
    }


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
    }


def _effect_columns(best: Candidate, others: list[Candidate], study: Mapping) -> dict:
    est = best.estimate
    low, high = est.ci()
    assumptions = (*best.notes, *est.assumptions)
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
        "cross_checks": "; ".join(_fmt_estimate(c) for c in others) or None,
        "not_computable_reason": None,
        "n_ldn": best.n_ldn,
        "n_ctl": best.n_ctl,
    }


#: What each tier means, written into every method record.
TIERS = {
    "A": "complete per-arm (or pre/post) statistics: means with SD, SE or CI, and n",
    "B": "event counts in both arms",
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
        "strata": {
            CONTROLLED: "LDN compared with a concurrent or within-person comparator",
            SINGLE_ARM: "change from baseline in LDN-treated participants (no comparator)",
        },
        "ldn_max_dose_mg": LDN_MAX_DOSE_MG,
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
    "direction_convention": "string",
}
EFFECT_COLUMNS = list(EFFECT_DTYPES)

__all__ = ["EFFECT_COLUMNS", "TIERS", "EffectSettings", "derive_effects", "method_record"]
