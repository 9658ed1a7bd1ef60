"""Assemble what the report shows, per condition, from the result tables (no statistics)."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from markupsafe import Markup

from ldn_evidence import vocab
from ldn_evidence.io.tables import records

RATIO_MEASURES = frozenset({"RR", "OR"})
CONDITION_TITLES = {
    "fibromyalgia": "Fibromyalgia",
    "crohns_disease": "Crohn's disease",
    "multiple_sclerosis": "Multiple sclerosis",
    "long_covid": "Long COVID",
}


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def natural(value: Any, measure: str) -> float:
    """A value on the scale people read: ratios exponentiated, logit proportions turned back
    into proportions."""
    x = _num(value)
    if not math.isfinite(x):
        return math.nan
    if measure in RATIO_MEASURES:
        return math.exp(x)
    if measure == "PLO":
        return 1 / (1 + math.exp(-x))
    return x


def fmt(value: Any, digits: int = 2) -> str:
    x = _num(value)
    if not math.isfinite(x):
        return "–"
    text = f"{x:.{digits}f}"
    return "0." + "0" * digits if text in ("-0." + "0" * digits,) else text.replace("-", "−")


def fmt_effect(value: Any) -> str:
    """An effect or a limit of its interval: two decimals, or as many more (up to four) as a
    value that is not zero needs not to read as zero. A lower limit of -0.002 shown as "0.00"
    would seem to touch no effect from above; it is shown as "−0.002"."""
    x = _num(value)
    for digits in (2, 3, 4):
        text = fmt(x, digits)
        if x == 0 or not math.isfinite(x) or text.strip("−0.") != "":
            return text
    return text


def oriented(row: Mapping[str, Any], measure: str, keys: Sequence[str]) -> list[float]:
    """Values on the scale people read. Ratios are shown as LDN over control: the harmonised
    log ratio of a lower-is-better outcome (e.g. adverse events) is turned back, so RR < 1
    means fewer events with LDN (and the interval's bounds swap)."""
    values = [natural(row.get(k), measure) for k in keys]
    if measure in RATIO_MEASURES and row.get("better_direction") == "lower":
        values = [1 / v if math.isfinite(v) and v != 0 else math.nan for v in values]
        if len(values) == 3:
            values = [values[0], values[2], values[1]]
    return values


def effect_text(
    row: Mapping[str, Any], measure: str, lo="ci_low", hi="ci_high", est="estimate"
) -> str:
    """ "0.14 (−0.31 to 0.59)" on the scale people read (see :func:`oriented`)."""
    e, a, b = oriented(row, measure, (est, lo, hi))
    if not math.isfinite(e):
        return "–"
    if measure == "PLO":
        return f"{100 * e:.0f}% ({100 * a:.0f}% to {100 * b:.0f}%)"
    return f"{fmt_effect(e)} ({fmt_effect(a)} to {fmt_effect(b)})"


#: A member's observed proportion and its Wilson interval.
PROPORTION_KEYS = ("proportion", "proportion_ci_low", "proportion_ci_high")


def member_effect_text(member: Mapping[str, Any], measure: str, better_direction: Any) -> str:
    """One study's effect as its row in "Where the numbers come from" shows it.

    A single-arm proportion is shown as observed, events / n with its Wilson score interval
    (as the forest plot and the assumptions say), not back-transformed from the logit, whose
    interval, with 0.5 added to an empty cell, is a different one: 0 of 9 is 0% (0% to 30%),
    not 5% (0% to 47%). Other effects on the analysis scale (:func:`effect_text`).
    """
    p, low, high = (_num(member.get(k)) for k in PROPORTION_KEYS)
    if measure == "PLO" and all(math.isfinite(v) for v in (p, low, high)):
        counts = ""
        events, n = _num(member.get("events_ldn")), _num(member.get("n_ldn"))
        if math.isfinite(events) and math.isfinite(n):
            counts = f", {events:.0f}/{n:.0f}"
        return f"{100 * p:.0f}% ({100 * low:.0f}% to {100 * high:.0f}%{counts}, Wilson)"
    return effect_text(dict(member, better_direction=better_direction), measure, est="yi")


def interval_text(row: Mapping[str, Any], measure: str, lo="pi_low", hi="pi_high") -> str:
    """ "−0.64 to 0.91": an interval alone (a prediction interval, say)."""
    _, a, b = oriented(row, measure, ("estimate", lo, hi))
    if not (math.isfinite(a) and math.isfinite(b)):
        return "–"
    if measure == "PLO":
        return f"{100 * a:.0f}% to {100 * b:.0f}%"
    return f"{fmt_effect(a)} to {fmt_effect(b)}"


#: Differences in the units of the outcome's scale (points), harmonised like every effect.
RAW_UNIT_MEASURES = frozenset({"MD", "MC"})


def ratio_note(row: Mapping[str, Any], measure: str) -> str:
    """What a displayed ratio, or a difference in an outcome's own units, means in words."""
    if measure in RAW_UNIT_MEASURES:
        return f"{measure} in the outcome's own units; positive = better with LDN"
    if measure not in RATIO_MEASURES:
        return ""
    if row.get("better_direction") == "lower":
        return f"{measure} LDN vs control; below 1 = fewer with LDN"
    return f"{measure} LDN vs control; above 1 = more with LDN"


def pvalue_text(p: Any) -> str:
    x = _num(p)
    if not math.isfinite(x):
        return "–"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _read(path: Path, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a result table (Parquet, written by :func:`ldn_evidence.io.tables.write_table`
    without an index) as dicts of plain Python values, None where a value is missing; no rows
    when the file does not exist. ``columns``: only these (default all).

    Read with pyarrow directly (one file, no dataset discovery, no threads for these small
    tables): the same values as ``pd.read_parquet(path).to_dict("records")`` (str, int, float,
    bool), without building a DataFrame and reading it back cell by cell.
    """
    if not path.exists():
        return []
    with pq.ParquetFile(path) as file:
        table = file.read(columns=columns, use_threads=False)
    return [_plain(row) for row in table.to_pylist()]


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with missing values (NA, NaN) as None."""
    return {
        k: (None if (v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v)
        for k, v in row.items()
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of plain Python values, None where a value is missing.

    Column by column (``Series.tolist``) rather than ``to_dict("records")``, which reads
    Arrow-backed frames one cell at a time; the values are the same.
    """
    return [_plain(row) for row in records(frame)]


def _group(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    """``rows`` by their value of ``key`` (None left out), each group in the table's order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get(key) is not None:
            groups.setdefault(row[key], []).append(row)
    return groups


@dataclass
class ConditionData:
    """Everything the report shows for one condition."""

    condition: str
    title: str
    studies: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    analyses: list[dict[str, Any]]
    narrative: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    comparison: list[dict[str, Any]]
    figures: dict[str, str] = field(default_factory=dict)
    figure_notes: dict[str, str] = field(default_factory=dict)
    effects_summary: dict[str, Any] = field(default_factory=dict)


def _figure_uri(path: Path) -> Markup:
    """The PNG at ``path`` as a data URI, marked safe for HTML: base64 text has no character
    that HTML escaping would change, and escaping the report's ~6 MB of figures on every run
    would only cost time."""
    return Markup("data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii"))


def _changes_conclusion(main: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """A scenario changes the conclusion when its CI and the main CI disagree on excluding the
    null, or when the point estimate changes sign."""
    if other.get("scenario_status") != "ok":
        return False
    null = 0.0

    def excludes(r):
        lo, hi = _num(r.get("ci_low")), _num(r.get("ci_high"))
        return math.isfinite(lo) and math.isfinite(hi) and (lo > null or hi < null)

    def sign(r):
        value = _num(r.get("estimate"))
        return math.copysign(1, value) if math.isfinite(value) else 0

    return excludes(main) != excludes(other) or sign(main) != sign(other)


def important_benefit_text(important: float, measure: str, better_direction: Any) -> str:
    """The event "the effect is an important benefit" on the scale the report shows.

    ``important`` is on the harmonised analysis scale (positive = better with LDN), where the
    posterior probability of exceeding it is computed. Ratios are shown LDN over control
    (:func:`oriented`), so for an outcome where fewer is better, a harmonised log RR above
    log(1.25) is an RR below 0.80.
    """
    shown = natural(important, measure)
    if measure in RATIO_MEASURES and better_direction == "lower":
        return f"{measure} below {fmt(1 / shown)}"
    return f"{measure} above {fmt(shown)}"


#: Strata whose effects are changes from baseline without a comparator.
WITHIN_GROUP_STRATA = frozenset({"within_group_pre_post", "observational_before_after"})


def bayes_event(stratum: Any) -> str:
    """What a positive effect is, in words. Without a comparator a positive change from
    baseline is an improvement while taking LDN, not evidence that it is better than anything
    else (regression to the mean, natural course, co-interventions)."""
    if stratum in WITHIN_GROUP_STRATA:
        return "improved from baseline, no comparator"
    return "better with LDN"


def _bayes_text(main: Mapping[str, Any], bayes: Mapping[str, Any] | None, measure: str):
    """The Bayesian summary in words, for analyses of comparisons with few studies."""
    if bayes is None or bayes.get("scenario_status") != "ok" or measure == "PLO":
        return None
    event = bayes_event(main.get("stratum"))
    text = (
        f"posterior median {effect_text(bayes, measure)} ({bayes['scenario_label']}); "
        f"P({event}) = {100 * _num(bayes.get('bayes_prob_positive')):.0f}%"
    )
    important = _num(bayes.get("bayes_important"))
    if math.isfinite(important):
        text += (
            f"; P({important_benefit_text(important, measure, main.get('better_direction'))}) = "
            f"{100 * _num(bayes.get('bayes_prob_above_important')):.0f}%"
        )
    return {
        "text": text,
        "event": event,
        "prob": _num(main.get("bayes_prob_positive")),
        "show_in_sof": math.isfinite(_num(main.get("bayes_prob_positive"))),
    }


def _assumed_risk(members: list[dict[str, Any]]) -> float:
    """Control-group risk among the members (events / n), for risks per 1,000 (Cochrane
    Handbook 14.1.5.1: an assumed comparator risk from the studies)."""
    events = sum(
        _num(m.get("events_ctl")) for m in members if math.isfinite(_num(m.get("events_ctl")))
    )
    total = sum(_num(m.get("n_ctl")) for m in members if math.isfinite(_num(m.get("events_ctl"))))
    return events / total if total else math.nan


def absolute_text(control_risk: float, rr: float, rr_low: float, rr_high: float) -> str:
    """Risks per 1,000 with control and with LDN from an assumed control risk and a risk ratio
    (LDN over control) with its interval: the LDN risk is the control risk times the ratio
    (Cochrane Handbook 14.1.5.1).

    A risk cannot exceed 1,000 per 1,000, but a wide interval times the control risk can; such
    a limit is shown as 1,000 and said to be capped.
    """
    capped = False

    def per_1000(ratio: float) -> str:
        nonlocal capped
        risk = control_risk * ratio
        if risk > 1:
            capped, risk = True, 1.0
        return f"{1000 * risk:,.0f}"

    text = (
        f"{per_1000(1.0)} per 1,000 with control; {per_1000(rr)} per 1,000 with LDN "
        f"({per_1000(rr_low)} to {per_1000(rr_high)})"
    )
    if capped:
        text += "; capped at 1,000: the risk ratio times the control risk exceeds 1"
    return text


#: GRADE domains as the certainty table names them, with their labels.
GRADE_DOMAINS = {
    "risk_of_bias": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
}


def _certainty(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The certainty row with its footnotes: every domain rated down, and why."""
    if row is None:
        return None
    footnotes = []
    for key, label in GRADE_DOMAINS.items():
        level = row.get(key)
        if level and int(level) > 0:
            grade = "very serious" if int(level) >= 2 else "serious"
            footnotes.append(f"{label} ({grade}): {row.get(f'{key}_reason')}")
    if row.get("override_applied"):
        footnotes.append(f"Override: {row.get('override_reason')}")
    return {**row, "footnotes": footnotes}


def _counts(values: Iterable[Any]) -> dict[Any, int]:
    """How often each value occurs (None left out), most frequent first, ties in the order the
    values first occur (as ``Series.value_counts`` orders them)."""
    counts = Counter(v for v in values if v is not None)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _effects_summary(effects: list[dict[str, Any]]) -> dict[str, Any]:
    """Outcomes per tier and per source quality (each study x outcome counted once: its first
    effect row)."""
    first = {}
    for row in effects:
        first.setdefault((row["study_id"], row["outcome_id"]), row)
    tiers = _counts(row["tier"] for row in first.values())
    quality = _counts(row["source_quality"] for row in first.values())
    return {"tiers": tiers, "source_quality": quality, "outcomes": sum(tiers.values())}


def condition_data(condition: str, results: Path, processed: Path) -> ConditionData:
    studies = _read(processed / condition / "studies.parquet")
    effects = _read(
        processed / condition / "effects.parquet",
        columns=["study_id", "outcome_id", "outcome", "tier", "source_quality"],
    )
    effects_by_study = _group(effects, "study_id")
    res = results / condition
    analyses = _read(res / "analyses.parquet")
    members = _read(res / "analysis_members.parquet")
    certainty_by_id = {r["analysis_id"]: r for r in _read(res / "certainty.parquet")}
    index_path = res / "figures" / "index.json"
    figures: dict[str, str] = {}
    notes: dict[str, str] = {}
    if index_path.exists():
        index = json.loads(index_path.read_text(encoding="utf-8"))
        for entry in index.get("figures", []):
            png = res / "figures" / f"{entry['name']}.png"
            if png.exists():
                figures[entry["name"]] = _figure_uri(png)
        for entry in index.get("not_drawn", []):
            notes[entry["name"]] = entry.get("reason", "")

    # the sensitivity scenarios and the main analysis's members of each analysis, grouped once
    scenarios = _group(
        [r for r in analyses if r["scenario"] is not None and r["scenario"] != "main"],
        "analysis_id",
    )
    main_members = _group([m for m in members if m["scenario"] == "main"], "analysis_id")
    analysis_list = []
    for main in (r for r in analyses if r["scenario"] == "main"):
        aid = main["analysis_id"]
        scen = [dict(s) for s in scenarios.get(aid, [])]
        mem = [dict(m) for m in main_members.get(aid, [])]
        for s in scen:
            s["changes_conclusion"] = _changes_conclusion(main, s)
        measure = main["measure"]
        bayes = next((x for x in scen if x["scenario"] == "bayes"), None)
        entry = {
            **main,
            "anchor": f"a-{aid}",
            "effect": effect_text(main, measure),
            "pi": interval_text(main, measure) if main.get("k", 0) >= 3 else "–",
            "ratio_note": ratio_note(main, measure),
            "bayes": _bayes_text(main, bayes, measure),
            "members": mem,
            "scenarios": scen,
            "certainty": _certainty(certainty_by_id.get(aid)),
            "forest": figures.get(f"forest_{aid}"),
            "forest_note": notes.get(f"forest_{aid}"),
            "familiar": (
                f"{fmt(main.get('familiar_estimate'), 1)} "
                f"({fmt(main.get('familiar_ci_low'), 1)} to "
                f"{fmt(main.get('familiar_ci_high'), 1)}) {main.get('reference_sd_unit')}"
                if main.get("familiar_estimate") is not None
                else None
            ),
        }
        if measure == "RR":
            acr = _assumed_risk(mem)
            if math.isfinite(acr):
                rr = oriented(main, measure, ("estimate", "ci_low", "ci_high"))
                entry["absolute"] = absolute_text(acr, *rr)
        analysis_list.append(entry)
    analysis_list.sort(
        key=lambda a: (vocab.STRATA.index(a["stratum"]), -a.get("k", 0), a["analysis_id"])
    )
    study_records = [s for s in studies if s["inclusion_status"] == "include"]
    for s in study_records:
        outs = effects_by_study.get(s["id"], [])
        s["outcomes"] = sorted({o["outcome"] for o in outs})
        s["source_qualities"] = sorted(
            {o["source_quality"] for o in outs if o["source_quality"] is not None}
        )
    return ConditionData(
        condition=condition,
        title=CONDITION_TITLES.get(condition, condition),
        studies=study_records,
        excluded=[s for s in studies if s["inclusion_status"] == "exclude"],
        analyses=analysis_list,
        narrative=_read(res / "narrative.parquet"),
        votes=_read(res / "vote_counts.parquet"),
        comparison=_read(res / "published_comparison.parquet"),
        figures=figures,
        figure_notes=notes,
        effects_summary=_effects_summary(effects),
    )
