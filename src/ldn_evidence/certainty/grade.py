"""GRADE certainty of the evidence per analysis, by explicit rules (``config/certainty.yaml``).

Each main analysis (pooled, k >= 2, or a single study, k = 1) starts at the level of its
stratum and is rated down in five domains, each by 0, 1 (serious) or 2 (very serious) levels
with the reason and the numbers behind it; the downgrades add up and the level never falls
below very low (GRADE guidelines 3, Balshem et al. 2011, J Clin Epidemiol 64:401-406, Table 2).
Nothing is rated up. Sources of each domain's rule:

- risk of bias: Guyatt et al. 2011, GRADE guidelines 4, J Clin Epidemiol 64:407-415 (rate
  down when most of the relevant evidence comes from studies at high risk), Cochrane Handbook
  5.1 Table 12.2.d (one level for serious limitations, two for crucial ones);
- inconsistency: Guyatt et al. 2011, GRADE guidelines 7, J Clin Epidemiol 64:1294-1302 (I^2,
  a prediction interval that reaches the null while the CI does not);
- imprecision: Zeng et al. 2022, GRADE guidance 34, J Clin Epidemiol 150:216-224 (the CI
  against the thresholds of interest, very serious when it spans important benefit and harm;
  the optimal information size, two levels when the information is far below it) and Guyatt
  et al. 2011, GRADE guidelines 6, J Clin Epidemiol 64:1283-1293 (the OIS; RR under 0.75 or
  over 1.25 as a rough guide to appreciable benefit or harm). The OIS defaults (about 400
  participants for a continuous outcome, about 300 events for a binary one) are GRADE's rules
  of thumb; for an SMD of 0.2 a power calculation (two-sided alpha 0.05, power 0.8) needs
  2 (1.96 + 0.84)^2 / 0.2^2 = 393 per group, so 400 in total is lenient;
- indirectness: Guyatt et al. 2011, GRADE guidelines 8, J Clin Epidemiol 64:1303-1310;
- publication bias: Guyatt et al. 2011, GRADE guidelines 5, J Clin Epidemiol 64:1277-1282, and
  the Cochrane Handbook 13.3.5.4 (funnel-plot tests only with at least 10 studies).

The functions take tables and return tables; reading and writing is in
:mod:`ldn_evidence.certainty.output`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence.certainty.language import BINARY_MEASURES, plain_language
from ldn_evidence.certainty.rules import (
    DOMAINS,
    LEVEL_VALUE,
    LEVELS,
    SYMBOLS,
    CertaintyRules,
    Override,
    Threshold,
)

_VALUE_LEVEL = {v: k for k, v in LEVEL_VALUE.items()}
_WORD = {0: "not serious", 1: "serious", 2: "very serious"}


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: levels down (0, 1, 2), the reason with its numbers, and whether the
    domain could be assessed at all."""

    downgrade: int
    reason: str
    assessable: bool = True


@dataclass(frozen=True)
class AssessedScale:
    """The scale the result is judged on: the analysis scale, or a familiar scale when the
    SMD is re-expressed by a reference SD and a threshold exists for that scale."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    threshold: Threshold | None


# ---- helpers ---------------------------------------------------------------------------------


def _f(x) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return math.nan
    return value


def _weights(members: pd.DataFrame) -> np.ndarray:
    w = pd.to_numeric(members.get("weight_percent"), errors="coerce").to_numpy(float)
    if len(w) == 0 or not np.isfinite(w).all() or w.sum() <= 0:
        return np.full(len(members), 1.0 / max(len(members), 1))
    return w / w.sum()


def _share(members: pd.DataFrame, mask: Iterable[bool]) -> float:
    mask = np.asarray(list(mask), dtype=bool)
    return float(_weights(members)[mask].sum()) if len(mask) else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _who(members: pd.DataFrame, mask: Iterable[bool], column: str | None = None) -> str:
    mask = np.asarray(list(mask), dtype=bool)
    if not mask.any():
        return "none"
    # only the columns named are filtered, as Python lists: filtering whole frames and
    # row-wise access are slow on Arrow-backed columns
    studies = members.study_id[mask]
    if column is None:
        return ", ".join(dict.fromkeys(studies.astype(str)))
    pairs = zip(studies.tolist(), members[column][mask].tolist(), strict=True)
    return ", ".join(dict.fromkeys(f"{study} ({value})" for study, value in pairs))


def _text(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("", "nan", "none", "<na>", "[]") else text


def _flag(value) -> bool:
    """True for a true boolean flag; missing values are False."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _column(members: pd.DataFrame, name: str) -> pd.Series:
    if name in members:
        return members[name]
    return pd.Series([pd.NA] * len(members), index=members.index, dtype="object")


def common_co_intervention(members: pd.DataFrame) -> str:
    """The co-interventions given with LDN when every member study gave one ("" otherwise):
    then what was observed may be theirs as much as LDN's."""
    co = _column(members, "co_interventions").map(_text)
    if len(co) == 0 or (co == "").any():
        return ""
    return "; ".join(sorted(set(co)))


def _fmt(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "NA"


# ---- the domains -----------------------------------------------------------------------------


def rate_risk_of_bias(members: pd.DataFrame, rules: CertaintyRules) -> DomainRating:
    """Risk of bias from the weight of studies at high or unclear risk, then one more level
    each for weak sources (abstracts, secondary summaries) and selective reporting."""
    r = rules.risk_of_bias
    rob = _column(members, "rob_overall").map(lambda v: _text(v) or "not_assessed")
    high = _share(members, rob.isin(r.high))
    high_or_unclear = _share(members, rob.isin(r.high + r.unclear))
    if high >= r.very_serious_share:
        level = 2
        head = (
            f"{_pct(high)} of the weight from studies at high risk "
            f"(at or above {_pct(r.very_serious_share)})"
        )
    elif high_or_unclear >= r.serious_share:
        level = 1
        head = (
            f"{_pct(high_or_unclear)} of the weight from studies at high or unclear risk "
            f"(at or above {_pct(r.serious_share)}; high risk alone {_pct(high)}, below "
            f"{_pct(r.very_serious_share)} for very serious)"
        )
    else:
        level = 0
        head = (
            f"{_pct(high_or_unclear)} of the weight from studies at high or unclear risk "
            f"(below {_pct(r.serious_share)})"
        )
    parts = [f"{head}: {_who(members, [True] * len(members), 'rob_overall')}"]
    sources = _column(members, "source_quality").map(_text)
    weak_mask = sources.isin(r.weak_sources)
    weak = _share(members, weak_mask)
    if weak_mask.any() and weak >= r.weak_source_share:
        level += 1
        parts.append(
            f"{_pct(weak)} of the weight read from abstracts or secondary summaries "
            f"({_who(members, weak_mask, 'source_quality')}): one more level"
        )
    elif weak_mask.any():
        parts.append(
            f"{_pct(weak)} of the weight from weak sources "
            f"({_who(members, weak_mask, 'source_quality')}; "
            f"below {_pct(r.weak_source_share)})"
        )
    selective = _column(members, "selective_reporting_risk").map(_text)
    sel_mask = selective.isin(r.selective_reporting)
    sel = _share(members, sel_mask)
    if sel_mask.any() and sel >= r.selective_reporting_share:
        level += 1
        parts.append(
            f"{_pct(sel)} of the weight with a {'/'.join(r.selective_reporting)} risk of "
            f"selective reporting ({_who(members, sel_mask)}): one more level"
        )
    level = min(level, 2)
    return DomainRating(level, f"{_WORD[level]}: " + "; ".join(parts))


def rate_inconsistency(row: Mapping, members: pd.DataFrame, rules: CertaintyRules) -> DomainRating:
    """I^2 and the prediction interval against the CI; not assessable with one study."""
    k = int(row["k"])
    if k < 2:
        return DomainRating(
            0, "not assessable: a single study (no consistency to judge; not rated up)", False
        )
    r = rules.inconsistency
    i2 = _f(row.get("i2"))
    yi = pd.to_numeric(members.yi, errors="coerce").to_numpy(float)
    both_sides = bool((yi > 0).any() and (yi < 0).any())
    i2_text = f"I^2 = {i2:.0f}%" if math.isfinite(i2) else "I^2 not available"
    lo_i2, hi_i2 = _f(row.get("i2_ci_low")), _f(row.get("i2_ci_high"))
    if math.isfinite(lo_i2) and math.isfinite(hi_i2):
        i2_text += f" (95% CI {lo_i2:.0f}% to {hi_i2:.0f}%)"
    i2_text += f", k = {k}"
    level = 0
    parts = []
    proportion = row.get("measure") == "PLO"
    if math.isfinite(i2) and i2 >= r.i2_very_serious and (both_sides or proportion):
        level = 2
        parts.append(
            f"{i2_text}, at or above {r.i2_very_serious:g}%"
            + (
                " (proportions: no null to be on either side of)"
                if proportion
                else " with study estimates on both sides of the null"
            )
        )
    elif math.isfinite(i2) and i2 >= r.i2_serious:
        level = 1
        parts.append(f"{i2_text}, at or above {r.i2_serious:g}%")
    else:
        parts.append(f"{i2_text}, below {r.i2_serious:g}%")
    pi_low, pi_high = _f(row.get("pi_low")), _f(row.get("pi_high"))
    ci_low, ci_high = _f(row.get("ci_low")), _f(row.get("ci_high"))
    if r.prediction_interval and row.get("measure") != "PLO" and math.isfinite(pi_low):
        pi_crosses = pi_low < 0 < pi_high
        ci_crosses = ci_low < 0 < ci_high
        pi_text = (
            f"prediction interval {_fmt(pi_low)} to {_fmt(pi_high)}, "
            f"CI {_fmt(ci_low)} to {_fmt(ci_high)}"
        )
        if pi_crosses and not ci_crosses:
            level = max(level, 1)
            parts.append(f"{pi_text}: the prediction interval crosses the null, the CI does not")
        else:
            parts.append(pi_text)
    if k == 2:
        parts.append("I^2 from two studies is itself very imprecise")
    return DomainRating(level, f"{_WORD[level]}: " + "; ".join(parts))


def analysis_scale_name(measure: str, better_direction: Any) -> str:
    """The analysis scale in words. Estimates are harmonised (positive = better with LDN), so
    the log ratio of an outcome where fewer is better is that of control over LDN: a log RR of
    1.08 there is an RR of 0.34 with LDN, not 2.9."""
    if measure == "PLO":
        return "logit proportion"
    if measure in ("RR", "OR"):
        arms = "control vs LDN" if better_direction == "lower" else "LDN vs control"
        return f"log {measure}, {arms} (positive = better with LDN)"
    if measure in CHANGE_MEASURES:
        return f"{measure} (positive = improved from baseline)"
    return f"{measure} (positive = better with LDN)"


#: Changes from baseline within the LDN group, without a comparator.
CHANGE_MEASURES = frozenset({"SMCR", "SMCC", "SMCRP", "MC"})


def assessed_scale(row: Mapping, rules: CertaintyRules) -> AssessedScale:
    """The analysis scale, or the familiar scale (``familiar_*`` columns) when a familiar
    threshold matches its unit."""
    domains = tuple(d.strip() for d in str(row.get("domain") or "").split(","))
    familiar = rules.familiar_threshold_for(row.get("reference_sd_unit"))
    fam = [_f(row.get(c)) for c in ("familiar_estimate", "familiar_ci_low", "familiar_ci_high")]
    if familiar is not None and all(math.isfinite(v) for v in fam):
        return AssessedScale(str(row.get("reference_sd_unit")), *fam, familiar)
    measure = str(row.get("measure"))
    return AssessedScale(
        analysis_scale_name(measure, row.get("better_direction")),
        _f(row.get("estimate")),
        _f(row.get("ci_low")),
        _f(row.get("ci_high")),
        rules.threshold_for(measure, domains),
    )


def _events(members: pd.DataFrame) -> float:
    total = 0.0
    for column in ("events_ldn", "events_ctl"):
        values = pd.to_numeric(_column(members, column), errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            return math.nan
        total += values.sum()
    return total


def rate_imprecision(
    row: Mapping, members: pd.DataFrame, rules: CertaintyRules, scale: AssessedScale
) -> DomainRating:
    """The CI against the null and the small-effect threshold, then the optimal information
    size (Zeng et al. 2022); single-arm proportions by the width of their CI.

    With threshold t: very serious when the CI spans both an important benefit (> t) and an
    important harm (< -t); not serious on the CI when it lies within (-t, t) (a precise
    "little or no difference"); serious when it crosses the null or t. Then the information
    size (participants, or events for binary measures) against the OIS: serious below it,
    very serious below ``ois_far_fraction`` of it. The larger of the two counts; a single
    study below the OIS is at least serious.
    """
    r = rules.imprecision
    lo, hi = scale.ci_low, scale.ci_high
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return DomainRating(2, "very serious: no confidence interval")
    if row.get("measure") == "PLO":
        p_lo, p_hi = (1 / (1 + math.exp(-x)) for x in (lo, hi))
        width = p_hi - p_lo
        level = (
            2
            if width >= r.proportion_ci_width_very_serious
            else 1
            if width >= r.proportion_ci_width_serious
            else 0
        )
        return DomainRating(
            level,
            f"{_WORD[level]}: no comparator, so no threshold of an effect applies; the 95% CI of "
            f"the proportion is {_pct(p_lo)} to {_pct(p_hi)} (width {width:.2f}; serious from "
            f"{r.proportion_ci_width_serious:g}, very serious from "
            f"{r.proportion_ci_width_very_serious:g}); n = {row.get('n_participants')}",
        )
    t = scale.threshold.small if scale.threshold is not None else None
    ci_text = f"95% CI {_fmt(lo)} to {_fmt(hi)} ({scale.name})"
    parts = []
    ci_level = 0
    if t is not None and lo < -t and hi > t:
        ci_level = 2
        parts.append(
            f"{ci_text} spans both an important benefit (above {t:g}) and an important harm "
            f"(below {-t:g})"
        )
    elif t is not None and -t < lo and hi < t:
        parts.append(
            f"{ci_text} excludes an important effect either way (within +/-{t:g}): precise "
            "enough for 'little or no difference'"
        )
    elif lo < 0 < hi:
        ci_level = 1
        parts.append(f"{ci_text} crosses the null")
    elif t is not None and r.ci_crosses_threshold and (lo < t < hi or lo < -t < hi):
        ci_level = 1
        parts.append(f"{ci_text} crosses the small-effect threshold {t:g}")
    else:
        parts.append(
            f"{ci_text} crosses neither the null nor "
            + (f"the threshold {t:g}" if t is not None else "a threshold (none configured)")
        )
    if t is not None:
        parts[-1] += f" [threshold: {scale.threshold.basis}]"
    binary = row.get("measure") in BINARY_MEASURES
    info = _events(members) if binary else _f(row.get("n_participants"))
    what = "events" if binary else "participants"
    ois = r.ois_events if binary else r.ois_participants
    if binary and not math.isfinite(info):
        info, what, ois = _f(row.get("n_participants")), "participants", r.ois_participants
    k = int(row["k"])
    if not math.isfinite(info):
        ois_level = 1
        parts.append(f"information size unknown (OIS {ois} {what}): serious")
    elif info < r.ois_far_fraction * ois:
        ois_level = 2
        parts.append(
            f"{info:.0f} {what}, far below the optimal information size of {ois} "
            f"(under {r.ois_far_fraction:g} of it)"
        )
    elif info < ois:
        ois_level = 1
        parts.append(f"{info:.0f} {what}, below the optimal information size of {ois}")
    else:
        ois_level = 0
        parts.append(f"{info:.0f} {what}, at or above the optimal information size of {ois}")
    level = max(ci_level, ois_level)
    if k == 1 and math.isfinite(info) and info < ois:
        level = max(level, 1)
        parts.append("a single small study")
    return DomainRating(level, f"{_WORD[level]}: " + "; ".join(parts))


def rate_indirectness(members: pd.DataFrame, rules: CertaintyRules) -> DomainRating:
    """Doses above 4.5 mg/day, co-interventions and mixed populations, by weight share."""
    r = rules.indirectness
    level = 0
    parts = []
    above = _column(members, "dose_above_ldn_range").map(_flag)
    dose_share = _share(members, above.to_numpy(bool))
    if above.any():
        chosen = members[above.to_numpy(bool)]
        pairs = zip(chosen.study_id.tolist(), chosen.dose_mg_per_day.tolist(), strict=True)
        doses = ", ".join(dict.fromkeys(f"{study} {_f(dose):g} mg/day" for study, dose in pairs))
        text = f"{_pct(dose_share)} of the weight from doses above 4.5 mg/day ({doses})"
        if dose_share >= r.dose_above_share:
            level += 1
            parts.append(text)
        else:
            parts.append(f"{text}, below {_pct(r.dose_above_share)}")
    co = _column(members, "co_interventions").map(_text)
    co_mask = co != ""
    if co_mask.any():
        share = _share(members, co_mask)
        who = _who(members, co_mask, "co_interventions")
        text = f"{_pct(share)} of the weight with co-interventions ({who})"
        if share >= r.co_intervention_share:
            level += 1
            parts.append(text)
        else:
            parts.append(f"{text}, below {_pct(r.co_intervention_share)}")
    scope = _column(members, "population_scope").map(_text)
    mixed_mask = scope.isin(r.mixed_populations)
    if mixed_mask.any():
        share = _share(members, mixed_mask)
        who = _who(members, mixed_mask, "population_scope")
        text = f"{_pct(share)} of the weight from mixed populations ({who})"
        if share >= r.mixed_population_share:
            level += 1
            parts.append(text)
        else:
            parts.append(f"{text}, below {_pct(r.mixed_population_share)}")
    dose = pd.to_numeric(_column(members, "dose_mg_per_day"), errors="coerce")
    if dose.isna().any():
        parts.append(f"dose not reported: {_who(members, dose.isna())} (not rated down)")
    if not parts:
        parts.append("no dose above 4.5 mg/day, no co-interventions, the condition itself")
    level = min(level, 2)
    return DomainRating(level, f"{_WORD[level]}: " + "; ".join(parts))


def rate_publication_bias(
    row: Mapping, members: pd.DataFrame, rules: CertaintyRules
) -> DomainRating:
    """Not assessable below ``min_k`` studies; from there Egger's test."""
    r = rules.publication_bias
    k = int(row["k"])
    if k < r.min_k:
        return DomainRating(
            0,
            f"not assessable: k = {k}, below the {r.min_k} studies a funnel-plot test needs "
            "(Cochrane Handbook 13.3.5.4); not rated down, but small trials and unpublished "
            "registered trials leave the question open",
            False,
        )
    from ldn_evidence.meta.bias import egger_test

    result = egger_test(
        members.yi.to_numpy(float), members.vi.to_numpy(float), min_k=max(r.min_k, 3)
    )
    if result.performed and result.pval < r.egger_p:
        return DomainRating(
            1, f"serious: Egger's test p = {result.pval:.3f} < {r.egger_p:g} (k = {k})"
        )
    return DomainRating(0, f"not serious: Egger's test p = {result.pval:.3f} (k = {k})")


# ---- one analysis, one condition -------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """The certainty of one analysis with every domain's rating."""

    analysis_id: str
    start_level: str
    ratings: Mapping[str, DomainRating]
    scale: AssessedScale

    @property
    def total_downgrade(self) -> int:
        return sum(r.downgrade for r in self.ratings.values())

    @property
    def certainty(self) -> str:
        """Start level minus the downgrades, never below very low."""
        return _VALUE_LEVEL[max(1, LEVEL_VALUE[self.start_level] - self.total_downgrade)]


def assess_analysis(row: Mapping, members: pd.DataFrame, rules: CertaintyRules) -> Assessment:
    """Rate one main analysis (``row`` from analyses.parquet, ``members`` its main members)."""
    stratum = str(row.get("stratum"))
    start = rules.start.get(stratum, "low")
    scale = assessed_scale(row, rules)
    ratings = {
        "risk_of_bias": rate_risk_of_bias(members, rules),
        "inconsistency": rate_inconsistency(row, members, rules),
        "indirectness": rate_indirectness(members, rules),
        "imprecision": rate_imprecision(row, members, rules, scale),
        "publication_bias": rate_publication_bias(row, members, rules),
    }
    return Assessment(str(row["analysis_id"]), start, ratings, scale)


def apply_override(assessment: Assessment, override: Override) -> tuple[Assessment, str]:
    """Replace the overridden domains' downgrades; return the new assessment and the final
    level (the override's own ``certainty`` if it sets one)."""
    ratings = dict(assessment.ratings)
    for domain, value in override.downgrades.items():
        old = ratings[domain]
        ratings[domain] = DomainRating(
            int(value),
            f"{_WORD[int(value)]} (override; the rules gave {old.downgrade}: {old.reason}) "
            f"[override: {override.reason}]",
            old.assessable,
        )
    changed = Assessment(assessment.analysis_id, assessment.start_level, ratings, assessment.scale)
    return changed, override.certainty or changed.certainty


CERTAINTY_COLUMNS = [
    "analysis_id",
    "condition",
    "title",
    "domain",
    "measure",
    "stratum",
    "k",
    "n_participants",
    "estimate",
    "ci_low",
    "ci_high",
    "assessed_scale",
    "assessed_estimate",
    "assessed_ci_low",
    "assessed_ci_high",
    "threshold_small",
    "threshold_moderate",
    "threshold_basis",
    "start_level",
    *[c for d in DOMAINS for c in (d, f"{d}_reason", f"{d}_assessable")],
    "total_downgrade",
    "rule_certainty",
    "certainty",
    "symbols",
    "override_applied",
    "override_reason",
    "effect_category",
    "plain_language",
]


def assess_condition(
    analyses: pd.DataFrame,
    members: pd.DataFrame,
    rules: CertaintyRules,
    overrides: Iterable[Override] = (),
) -> pd.DataFrame:
    """GRADE certainty of every main analysis of one condition.

    Parameters
    ----------
    analyses, members : DataFrame
        ``analyses.parquet`` and ``analysis_members.parquet`` of the condition (only the
        ``scenario == "main"`` rows are used). ``members`` may carry ``co_interventions`` and
        ``population_scope`` (see :func:`ldn_evidence.certainty.output.attach_study_context`);
        without them those indirectness checks find nothing.
    rules : CertaintyRules
    overrides : iterable of Override
        Overrides for analyses not in ``analyses`` are ignored (the file serves every
        condition).

    Returns
    -------
    DataFrame
        One row per main analysis with k >= 1, sorted by ``analysis_id``; columns
        ``CERTAINTY_COLUMNS``.
    """
    by_id = {o.analysis_id: o for o in overrides}
    main = analyses[(analyses.scenario == "main") & (analyses.k >= 1)]
    in_main = members[members.scenario == "main"] if "scenario" in members else members
    # the members sorted once by analysis (stable: each analysis keeps its row order), so that
    # each analysis's members are a slice instead of a filtered copy of every column
    ordered = in_main.sort_values("analysis_id", kind="stable")
    spans: dict[object, list[int]] = {}
    for i, analysis_id in enumerate(ordered.analysis_id.tolist()):
        if not pd.isna(analysis_id):  # a missing id matches no analysis
            spans.setdefault(analysis_id, [i, i])[1] = i + 1
    rows = []
    for row in main.sort_values("analysis_id").to_dict("records"):
        start, stop = spans.get(row["analysis_id"], (0, 0))
        mine = ordered.iloc[start:stop].reset_index(drop=True)
        assessment = assess_analysis(row, mine, rules)
        rule_level = assessment.certainty
        override = by_id.get(row["analysis_id"])
        level = rule_level
        if override is not None:
            assessment, level = apply_override(assessment, override)
        scale = assessment.scale
        statement = plain_language(
            level,
            title=row["title"],
            domain=str(row["domain"]),
            measure=str(row["measure"]),
            stratum=str(row["stratum"]),
            estimate=scale.estimate,
            ci_low=scale.ci_low,
            ci_high=scale.ci_high,
            threshold=scale.threshold,
            given_with=common_co_intervention(mine),
        )
        out = {
            **{c: row.get(c) for c in CERTAINTY_COLUMNS[:11]},
            "assessed_scale": scale.name,
            "assessed_estimate": scale.estimate,
            "assessed_ci_low": scale.ci_low,
            "assessed_ci_high": scale.ci_high,
            "threshold_small": scale.threshold.small if scale.threshold else math.nan,
            "threshold_moderate": (
                scale.threshold.moderate
                if scale.threshold and scale.threshold.moderate is not None
                else math.nan
            ),
            "threshold_basis": scale.threshold.basis if scale.threshold else "",
            "start_level": assessment.start_level,
            "total_downgrade": assessment.total_downgrade,
            "rule_certainty": rule_level,
            "certainty": level,
            "symbols": SYMBOLS[level],
            "override_applied": override is not None,
            "override_reason": override.reason if override is not None else "",
            "effect_category": statement.category,
            "plain_language": statement.sentence,
        }
        for domain, rating in assessment.ratings.items():
            out[domain] = rating.downgrade
            out[f"{domain}_reason"] = rating.reason
            out[f"{domain}_assessable"] = rating.assessable
        rows.append(out)
    frame = pd.DataFrame(rows, columns=CERTAINTY_COLUMNS)
    ints = ["k", "total_downgrade", *DOMAINS]
    for column in ints:
        frame[column] = frame[column].astype("int64")
    frame["n_participants"] = frame["n_participants"].astype("Int64")
    for column in ("override_applied", *[f"{d}_assessable" for d in DOMAINS]):
        frame[column] = frame[column].astype("bool")
    return frame.reset_index(drop=True)


def level_at_least(level: str, minimum: str) -> bool:
    """True when ``level`` is ``minimum`` or better."""
    return LEVEL_VALUE[level] >= LEVEL_VALUE[minimum]


__all__ = [
    "LEVELS",
    "AssessedScale",
    "Assessment",
    "DomainRating",
    "assess_analysis",
    "assess_condition",
    "assessed_scale",
    "level_at_least",
    "rate_imprecision",
    "rate_inconsistency",
    "rate_indirectness",
    "rate_publication_bias",
    "rate_risk_of_bias",
]
