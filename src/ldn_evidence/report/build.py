"""Assemble what the report shows, per condition, from the result tables (no statistics)."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ldn_evidence import vocab

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
    return f"{fmt(e)} ({fmt(a)} to {fmt(b)})"


def interval_text(row: Mapping[str, Any], measure: str, lo="pi_low", hi="pi_high") -> str:
    """ "−0.64 to 0.91": an interval alone (a prediction interval, say)."""
    _, a, b = oriented(row, measure, ("estimate", lo, hi))
    if not (math.isfinite(a) and math.isfinite(b)):
        return "–"
    if measure == "PLO":
        return f"{100 * a:.0f}% to {100 * b:.0f}%"
    return f"{fmt(a)} to {fmt(b)}"


def ratio_note(row: Mapping[str, Any], measure: str) -> str:
    """What a displayed ratio means, in words."""
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


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {
                k: (None if (v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v)
                for k, v in row.items()
            }
        )
    return out


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


def _figure_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


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


def _bayes_text(main: Mapping[str, Any], bayes: Mapping[str, Any] | None, measure: str):
    """The Bayesian summary in words, for analyses of comparisons with few studies."""
    if bayes is None or bayes.get("scenario_status") != "ok" or measure == "PLO":
        return None
    text = (
        f"posterior median {effect_text(bayes, measure)} ({bayes['scenario_label']}); "
        f"P(better with LDN) = {100 * _num(bayes.get('bayes_prob_positive')):.0f}%"
    )
    important = _num(bayes.get("bayes_important"))
    if math.isfinite(important):
        shown = natural(important, measure)
        text += (
            f"; P(effect beyond {fmt(shown)}) = "
            f"{100 * _num(bayes.get('bayes_prob_above_important')):.0f}%"
        )
    return {
        "text": text,
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


def condition_data(condition: str, results: Path, processed: Path) -> ConditionData:
    studies = _read(processed / condition / "studies.parquet")
    effects = _read(processed / condition / "effects.parquet")
    res = results / condition
    analyses = _read(res / "analyses.parquet")
    members = _read(res / "analysis_members.parquet")
    narrative = _read(res / "narrative.parquet")
    votes = _read(res / "vote_counts.parquet")
    comparison = _read(res / "published_comparison.parquet")
    certainty = _read(res / "certainty.parquet")
    certainty_by_id = (
        {r["analysis_id"]: r for r in _records(certainty)} if not certainty.empty else {}
    )
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

    analysis_list = []
    main_rows = analyses[analyses.scenario == "main"] if not analyses.empty else analyses
    for main in _records(main_rows):
        aid = main["analysis_id"]
        scen = _records(analyses[(analyses.analysis_id == aid) & (analyses.scenario != "main")])
        mem = _records(members[(members.analysis_id == aid) & (members.scenario == "main")])
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
                entry["absolute"] = (
                    f"{1000 * acr:.0f} per 1,000 with control; {1000 * acr * rr[0]:.0f} per 1,000 "
                    f"with LDN ({1000 * acr * rr[1]:.0f} to {1000 * acr * rr[2]:.0f})"
                )
        analysis_list.append(entry)
    analysis_list.sort(
        key=lambda a: (vocab.STRATA.index(a["stratum"]), -a.get("k", 0), a["analysis_id"])
    )
    included = studies[studies.inclusion_status == "include"] if not studies.empty else studies
    excluded = studies[studies.inclusion_status == "exclude"] if not studies.empty else studies
    study_records = _records(included)
    for s in study_records:
        outs = effects[effects.study_id == s["id"]] if not effects.empty else effects
        s["outcomes"] = sorted(set(outs.outcome)) if not outs.empty else []
        s["source_qualities"] = sorted(set(outs.source_quality.dropna())) if not outs.empty else []
    tiers = (
        effects.drop_duplicates(["study_id", "outcome_id"]).tier.value_counts().to_dict()
        if not effects.empty
        else {}
    )
    quality = (
        effects.drop_duplicates(["study_id", "outcome_id"]).source_quality.value_counts().to_dict()
        if not effects.empty
        else {}
    )
    return ConditionData(
        condition=condition,
        title=CONDITION_TITLES.get(condition, condition),
        studies=study_records,
        excluded=_records(excluded),
        analyses=analysis_list,
        narrative=_records(narrative),
        votes=_records(votes),
        comparison=_records(comparison),
        figures=figures,
        figure_notes=notes,
        effects_summary={
            "tiers": tiers,
            "source_quality": quality,
            "outcomes": int(sum(tiers.values())),
        },
    )
