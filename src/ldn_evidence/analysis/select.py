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
    return effects.take(_candidate_positions(effects, analysis, stratum))


def _column(effects: pd.DataFrame, name: str, lists: dict[str, list] | None) -> list:
    """A column as a plain list (kept in ``lists`` when given, to reuse)."""
    if lists is None:
        return effects[name].tolist()
    if name not in lists:
        lists[name] = effects[name].tolist()
    return lists[name]


def _candidate_positions(
    effects: pd.DataFrame,
    analysis: Analysis,
    stratum: str | None = None,
    lists: dict[str, list] | None = None,
) -> list[int]:
    """The positions of :func:`candidates`'s rows (a row with a missing value in a column the
    filter reads is not a candidate)."""
    wanted = {
        "condition": (analysis.condition,),
        "domain": analysis.domains,
        "stratum": (stratum or analysis.stratum,),
        "measure": (analysis.measure,),
        "inclusion_status": ("include",),
        **({"outcome_id": analysis.outcome_ids} if analysis.outcome_ids else {}),
    }
    # plain lists once: per-row access to a frame, or a mask per column, is slow
    columns = [_column(effects, c, lists) for c in wanted]
    allowed = list(wanted.values())
    return [
        position
        for position, (tier, *values) in enumerate(
            zip(_column(effects, "tier", lists), *columns, strict=True)
        )
        if isinstance(tier, str)
        and tier != "F"
        and all(isinstance(v, str) and v in ok for v, ok in zip(values, allowed, strict=True))
    ]


def select_members(
    effects: pd.DataFrame,
    analysis: Analysis,
    primary: frozenset[tuple[str, str]] = frozenset(),
    stratum: str | None = None,
    lists: dict[str, list] | None = None,
) -> pd.DataFrame:
    """One row per study, sorted by study id, with a ``selection_reason`` column.

    ``primary`` holds the (study id, outcome id) pairs that are their study's primary outcome.
    ``lists``, when given, keeps the columns of ``effects`` read as plain lists, for the next
    selection from the same table (pass the same dict only with the same, unchanged table).
    """
    # the columns the rule reads, as plain lists once (per-row access to a frame is slow)
    columns = {c: _column(effects, c, lists) for c in _RULE_COLUMNS}
    by_study: dict[str, list[int]] = {}
    for position in _candidate_positions(effects, analysis, stratum, lists):
        study = columns["study_id"][position]
        if isinstance(study, str):
            by_study.setdefault(study, []).append(position)
    picked, reasons = [], []
    for study in sorted(by_study):
        position, reason = _pick(study, by_study[study], columns, analysis, primary)
        picked.append(position)
        reasons.append(reason)
    frame = effects.take(picked).reset_index(drop=True)
    # no study: the empty column stays ``object``, as an empty table's columns are
    frame["selection_reason"] = pd.Series(reasons, dtype=None if reasons else object)
    return frame


_RULE_COLUMNS = ("study_id", "outcome_id", "timepoint_weeks", "tier", "outcome_order")


def _pick(
    study: str, positions: list[int], columns: dict[str, list], analysis: Analysis, primary
) -> tuple[int, str]:
    """The chosen row among the study's candidate rows (``positions`` in the effects table,
    in table order; ``columns`` holds the table's columns as lists), and why it was chosen."""
    outcome_id = columns["outcome_id"]
    if study in analysis.choose:
        for position in positions:
            if outcome_id[position] == analysis.choose[study]:
                return position, f"outcome chosen in the plan ({analysis.choose[study]})"
    if len(positions) == 1:
        return positions[0], "the study's only effect in this analysis"
    target = analysis.timepoint_weeks

    def rank(position: int) -> tuple[int, float, int, int]:
        time = columns["timepoint_weeks"][position]
        return (
            0 if (study, outcome_id[position]) in primary else 1,
            abs(time - target) if target is not None and not math.isnan(time) else math.inf,
            _TIERS.index(columns["tier"][position]),
            columns["outcome_order"][position],
        )

    ranked = sorted(positions, key=rank)  # stable: ties keep the table order
    first, second = rank(ranked[0]), rank(ranked[1])
    if first[0] < second[0]:
        reason = "the study's primary outcome (study file notes)"
    elif first[1] < second[1]:
        reason = f"time point nearest {analysis.timepoint_weeks:g} weeks"
    elif first[2] < second[2]:
        reason = f"highest tier ({columns['tier'][ranked[0]]})"
    else:
        reason = "first of the study's outcomes in its file"
    others = ", ".join(outcome_id[p] for p in ranked[1:])
    return ranked[0], f"{reason}; not used: {others}"
