"""One effect per study for each planned analysis, with the reason it was picked.

Rule (in order): an outcome the plan names for the study (``choose``); else the study's
primary outcome (its file's outcome notes say "Primary outcome"); else the time point nearest
to the plan's ``timepoint_weeks``; else the highest tier; else the first outcome in the file.
"""

from __future__ import annotations

import math

import pandas as pd

from ldn_evidence.analysis.plan import Analysis

_TIERS = "ABCDEF"


def candidates(
    effects: pd.DataFrame, analysis: Analysis, stratum: str | None = None
) -> pd.DataFrame:
    """Effect rows an analysis may use: its condition, domains, stratum, measure, tiers A-E,
    included studies, and the plan's outcome ids if any."""
    keep = (
        (effects.condition == analysis.condition)
        & effects.domain.isin(analysis.domains)
        & (effects.stratum == (stratum or analysis.stratum))
        & (effects.measure == analysis.measure)
        & (effects.tier != "F")
        & (effects.inclusion_status == "include")
    )
    if analysis.outcome_ids:
        keep &= effects.outcome_id.isin(analysis.outcome_ids)
    return effects[keep.fillna(False)]


def select_members(
    effects: pd.DataFrame,
    analysis: Analysis,
    primary: frozenset[tuple[str, str]] = frozenset(),
    stratum: str | None = None,
) -> pd.DataFrame:
    """One row per study, sorted by study id, with a ``selection_reason`` column.

    ``primary`` holds the (study id, outcome id) pairs that are their study's primary outcome.
    """
    rows = []
    pool = candidates(effects, analysis, stratum)
    for _, group in pool.groupby("study_id", sort=True):
        chosen, reason = _pick(group, analysis, primary)
        rows.append({**chosen.to_dict(), "selection_reason": reason})
    columns = [*effects.columns, "selection_reason"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: effects[c].dtype for c in effects.columns}).reset_index(drop=True)


def _pick(group: pd.DataFrame, analysis: Analysis, primary) -> tuple[pd.Series, str]:
    study = group.study_id.iloc[0]
    if study in analysis.choose:
        hit = group[group.outcome_id == analysis.choose[study]]
        if not hit.empty:
            return hit.iloc[0], f"outcome chosen in the plan ({analysis.choose[study]})"
    if len(group) == 1:
        return group.iloc[0], "the study's only effect in this analysis"
    ranked = group.assign(
        _primary=[0 if (study, o) in primary else 1 for o in group.outcome_id],
        _time=[
            abs(t - analysis.timepoint_weeks)
            if analysis.timepoint_weeks is not None and not math.isnan(t)
            else math.inf
            for t in group.timepoint_weeks
        ],
        _tier=[_TIERS.index(t) for t in group.tier],
    ).sort_values(["_primary", "_time", "_tier", "outcome_order"], kind="stable")
    first, second = ranked.iloc[0], ranked.iloc[1]
    if first._primary < second._primary:
        reason = "the study's primary outcome (study file notes)"
    elif first._time < second._time:
        reason = f"time point nearest {analysis.timepoint_weeks:g} weeks"
    elif first._tier < second._tier:
        reason = f"highest tier ({first.tier})"
    else:
        reason = "first of the study's outcomes in its file"
    others = ", ".join(o for o in ranked.outcome_id.iloc[1:])
    return ranked.iloc[0][group.columns], f"{reason}; not used: {others}"
