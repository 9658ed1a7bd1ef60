"""Plot tables of the per-condition figures: evidence map, effect direction, risk of bias, flow.

Pure pandas (no matplotlib). Each builder takes the contract tables and returns a frozen
dataclass whose fields are exactly what the renderer draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.tables import records
from ..vocab import DESIGNS, DOMAINS, RANDOMIZED_DESIGNS
from ._axis import Axis, choose_axis
from ._text import (
    CERTAINTY_LABEL,
    MEASURE_ABBREVIATION,
    RATIO_MEASURES,
    ROB_LABEL,
    design_label,
    domain_label,
    flag,
    flips,
    fmt_effect,
    fmt_effect_interval,
    is_missing,
    measure_scale,
    stratum_label,
    study_label,
    text_or,
)

__all__ = [
    "EffectDirectionTable",
    "EvidenceMapTable",
    "FlowTable",
    "RobSummaryTable",
    "RobTable",
    "build_effect_direction_table",
    "build_evidence_map_table",
    "build_flow_table",
    "build_rob_summary_table",
    "build_rob_table",
]

# ------------------------------------------------------------------------------------------
# Evidence map
# ------------------------------------------------------------------------------------------

#: Scale families of the evidence map: (key, panel title, measures, log scale).
FAMILIES: tuple[tuple[str, str, frozenset[str], str], ...] = (
    ("std", "Standardized (SMD, SMC)", frozenset({"SMD", "SMDH", "SMCR", "SMCC"}), "linear"),
    ("ratio", "Ratio, LDN vs control (log scale)", frozenset(RATIO_MEASURES), "log"),
    ("rd", "Risk difference", frozenset({"RD"}), "linear"),
    ("plo", "Proportion (single arm; logit scale)", frozenset({"PLO"}), "logit"),
    ("pr", "Proportion (single arm)", frozenset({"PR"}), "linear"),
    ("raw", "Mean difference / change (own units)", frozenset({"MD", "MC"}), "linear"),
)
CERTAINTY_ORDER = ("high", "moderate", "low", "very_low")
STRATUM_ORDER = (
    "randomized_between_arm",
    "nonrandomized_between_arm",
    "within_group_pre_post",
    "observational_before_after",
    "single_arm_proportion",
)


#: The analyses columns an evidence-map row is built from.
EVIDENCE_MAP_INPUTS = (
    "analysis_id",
    "title",
    "measure",
    "better_direction",
    "k",
    "n_participants",
    "pooled",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "color_key",
)


@dataclass(frozen=True)
class MapFamily:
    """One axis panel of the evidence map."""

    key: str
    title: str
    axis: Axis


@dataclass(frozen=True)
class EvidenceMapTable:
    """Every analysis of a condition on one page.

    Attributes
    ----------
    rows : pandas.DataFrame
        ``kind`` (``domain`` | ``analysis``), ``label``, ``detail`` (k, n, measure),
        ``family``, ``x``, ``lo``, ``hi``, ``pi_lo``, ``pi_hi`` (plot space), ``pooled``,
        ``n`` (participants), ``color_key``, ``effect`` (text), ``analysis_id``.
    families : tuple of MapFamily
        Axis panels in drawing order (only those used).
    color_by : str
        ``certainty`` or ``stratum``.
    legend : tuple of (key, label)
        Colour legend in order.
    notes : tuple of str
        What was left out and why; how to read the map.
    """

    condition: str
    rows: pd.DataFrame
    families: tuple[MapFamily, ...]
    color_by: str
    legend: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def _family_of(measure: str) -> str:
    for key, _, measures, _ in FAMILIES:
        if measure in measures:
            return key
    return "raw"


def _f(x: object) -> float:
    return float("nan") if is_missing(x) else float(x)  # type: ignore[arg-type]


def build_evidence_map_table(
    condition: str,
    analyses: pd.DataFrame,
    members: pd.DataFrame,
    certainty: pd.DataFrame | None = None,
) -> EvidenceMapTable:
    """Build the evidence map of one condition from the ``main`` rows of ``analyses``.

    Mean-difference analyses whose studies and outcomes are exactly those of a standardized
    analysis of the same domain and stratum are left out (the standardized one is on the common
    scale); any other mean difference keeps its own-units panel.
    """
    main = analyses[analyses["scenario"] == "main"].copy()
    mem = members[members["scenario"] == "main"]
    notes: list[str] = []
    if len(main):
        keys = {
            aid: frozenset(zip(g["study_id"], g["outcome_id"], strict=True))
            for aid, g in mem[["analysis_id", "study_id", "outcome_id"]].groupby(
                "analysis_id", sort=True
            )
        }
        main["fam_"] = main["measure"].map(lambda m: _family_of(text_or(m)))
        rows_ = records(main, ("analysis_id", "domain", "stratum", "fam_"))
        std_keys = {
            (text_or(r["domain"]), text_or(r["stratum"]), keys.get(r["analysis_id"]))
            for r in rows_
            if r["fam_"] == "std"
        }
        drop = [
            r["analysis_id"]
            for r in rows_
            if r["fam_"] == "raw"
            and (text_or(r["domain"]), text_or(r["stratum"]), keys.get(r["analysis_id"]))
            in std_keys
        ]
        if drop:
            main = main[~main["analysis_id"].isin(drop)]
            notes.append(
                f"{len(drop)} mean-difference analysis(es) shown on the standardized scale only."
            )
    color_by = "stratum"
    if certainty is not None and len(certainty):
        cmap = dict(zip(certainty["analysis_id"], certainty["certainty"], strict=False))
        main["color_key"] = main["analysis_id"].map(lambda a: text_or(cmap.get(a), "not_rated"))
        color_by = "certainty"
        order = [*CERTAINTY_ORDER, "not_rated"]
        labels = {**CERTAINTY_LABEL, "not_rated": "Not rated"}
    else:
        main["color_key"] = main["stratum"].map(text_or)
        order = list(STRATUM_ORDER)
        labels = {s: stratum_label(s) for s in main["color_key"].unique()}
    used_colors = set(main["color_key"]) if len(main) else set()
    legend = tuple(
        (k, labels.get(k, k))
        for k in [*order, *sorted(used_colors - set(order))]
        if k in used_colors
    )
    rank = {d: i for i, d in enumerate(DOMAINS)}
    main["drank_"] = main["domain"].map(lambda d: rank.get(text_or(d), len(rank)))
    main = main.sort_values(["drank_", "domain", "title", "analysis_id"], kind="mergesort")

    rows: list[dict[str, object]] = []
    fam_vals: dict[str, tuple[list[float], list[float]]] = {}
    # the rows read once; groups of the two key columns (indexed by row position) say which
    # rows go under which domain
    main_rows = records(main, EVIDENCE_MAP_INPUTS)
    domain_keys = main[["drank_", "domain"]].reset_index(drop=True)
    for domain, g in domain_keys.groupby(["drank_", "domain"], sort=True):
        rows.append({"kind": "domain", "label": domain_label(domain[1]), "family": ""})
        for r in (main_rows[position] for position in g.index):
            measure = text_or(r["measure"])
            fam = _family_of(measure)
            kind = measure_scale(measure)
            est, lo, hi = _f(r["estimate"]), _f(r["ci_low"]), _f(r["ci_high"])
            k = int(r["k"])
            pooled = flag(r["pooled"]) and k >= 2
            pil, pih = (_f(r["pi_low"]), _f(r["pi_high"])) if pooled and k >= 3 else (np.nan,) * 2
            flip = flips(measure, r.get("better_direction"))
            if flip:  # shown as LDN vs control, like the forest plot and the report
                est, lo, hi, pil, pih = -est, -hi, -lo, -pih, -pil
            eff = fmt_effect(est, lo, hi, kind)
            if not math.isnan(pil):
                eff += f"; PI {fmt_effect_interval(pil, pih, kind)}"
            n = r["n_participants"]
            detail = f"{MEASURE_ABBREVIATION.get(measure, measure)} \u00b7 k = {k}"
            if not is_missing(n):
                detail += f" \u00b7 n = {int(n)}"
            if not pooled:
                detail += " \u00b7 single study"
            if kind == "log":
                detail += " \u00b7 < 1 = fewer with LDN" if flip else " \u00b7 > 1 = more with LDN"
            rows.append(
                {
                    "kind": "analysis",
                    "label": text_or(r["title"], text_or(r["analysis_id"])),
                    "detail": detail,
                    "family": fam,
                    "measure": measure,
                    "x": est,
                    "lo": lo,
                    "hi": hi,
                    "pi_lo": pil,
                    "pi_hi": pih,
                    "pooled": pooled,
                    "n": _f(n),
                    "color_key": r["color_key"],
                    "effect": eff,
                    "analysis_id": text_or(r["analysis_id"]),
                }
            )
            core, ext = fam_vals.setdefault(fam, ([], []))
            core += [est, lo, hi]
            ext += [pil, pih]
    cols = [
        "kind",
        "label",
        "detail",
        "family",
        "measure",
        "x",
        "lo",
        "hi",
        "pi_lo",
        "pi_hi",
        "pooled",
        "n",
        "color_key",
        "effect",
        "analysis_id",
    ]
    rt = pd.DataFrame(rows, columns=cols)
    for c in ("x", "lo", "hi", "pi_lo", "pi_hi", "n"):
        rt[c] = rt[c].astype(float)
    rt["pooled"] = rt["pooled"].fillna(False).astype(bool)
    for c in ("detail", "measure", "color_key", "effect", "analysis_id"):
        rt[c] = rt[c].fillna("").astype(str)
    families = []
    for key, title, _, kind in FAMILIES:
        if key in fam_vals:
            core, ext = fam_vals[key]
            null = None if key in ("pr", "plo") else 0.0
            axis = choose_axis(core, ext, scale=kind, null=null, max_ticks=5)
            families.append(MapFamily(key, title, axis))
    notes.append(
        "Marker area is proportional to the number of participants; filled = pooled "
        "(line: 95% CI, thin extension: prediction interval), open = single study (not pooled)."
    )
    return EvidenceMapTable(condition, rt, tuple(families), color_by, legend, tuple(notes))


# ------------------------------------------------------------------------------------------
# Effect direction (SWiM)
# ------------------------------------------------------------------------------------------

#: Sample-size classes of the effect-direction plot (Thomson & Thomas 2013).
SIZE_CLASSES = (("small", "< 50 or not reported"), ("medium", "50\u2013300"), ("large", "> 300"))
DIRECTION_LABEL = {
    "better_with_ldn": "Better with LDN",
    "worse_with_ldn": "Worse with LDN",
    "no_clear_difference": "No clear difference / conflicting",
    "not_reported": "Direction not reported",
}


@dataclass(frozen=True)
class EffectDirectionTable:
    """Studies x outcome domains, one arrow per outcome.

    Attributes
    ----------
    studies : pandas.DataFrame
        ``study_id``, ``label``, ``design`` (display), ``n`` (text) in row order.
    domains : tuple of (code, label)
        Columns in order.
    cells : pandas.DataFrame
        ``study_id``, ``domain``, ``slot`` (0.. within the cell), ``direction``, ``size_class``,
        ``rob``, ``outcome``, ``n``.
    notes : tuple of str
    """

    condition: str
    studies: pd.DataFrame
    domains: tuple[tuple[str, str], ...]
    cells: pd.DataFrame
    notes: tuple[str, ...]


def _size_class(n: float) -> str:
    if math.isnan(n) or n < 50:
        return "small"
    return "medium" if n <= 300 else "large"


def _design_rank(d: str) -> int:
    return DESIGNS.index(d) if d in DESIGNS else len(DESIGNS)


def build_effect_direction_table(
    condition: str, narrative: pd.DataFrame, studies: pd.DataFrame | None = None
) -> EffectDirectionTable:
    """Build the effect-direction plot of the narrative synthesis (Thomson & Thomas 2013).

    Outcomes of excluded studies are left out. Sample size is the outcome's ``n_participants``,
    else the study's analysed or randomized number.
    """
    nar = narrative[narrative["disposition"] != "excluded_study"].copy()
    n_excluded = int((narrative["disposition"] == "excluded_study").sum())
    study_n: dict[str, float] = {}
    if studies is not None and len(studies):
        for r in records(studies):
            n = np.nan
            for c in ("n_analyzed", "n_randomized"):
                v = r.get(c)
                if not is_missing(v):
                    n = float(v)
                    break
            study_n[str(r["id"])] = n
    nar["_n"] = [
        _f(n) if not is_missing(n) else study_n.get(str(s), np.nan)
        for n, s in zip(nar["n_participants"], nar["study_id"], strict=True)
    ]
    rank = {d: i for i, d in enumerate(DOMAINS)}
    doms = sorted(
        {text_or(d, "other") for d in nar["domain"]}, key=lambda d: (rank.get(d, len(rank)), d)
    )
    srows = []
    for sid, g in nar[["study_id", "design", "_n"]].groupby("study_id", sort=True):
        design = text_or(g["design"].iloc[0])
        n = g["_n"].max()
        srows.append(
            {
                "study_id": str(sid),
                "label": study_label(str(sid)),
                "design": design_label(design),
                "n": "" if math.isnan(n) else f"{int(n)}",
                "_r": (0 if design in RANDOMIZED_DESIGNS else 1, _design_rank(design), str(sid)),
            }
        )
    st = pd.DataFrame(srows, columns=["study_id", "label", "design", "n", "_r"])
    st = st.sort_values("_r", kind="mergesort").drop(columns="_r").reset_index(drop=True)
    nar["_dom"] = nar["domain"].map(lambda d: text_or(d, "other"))
    nar = nar.sort_values(["study_id", "_dom", "outcome_id"], kind="mergesort")
    cells = pd.DataFrame(
        {
            "study_id": nar["study_id"].astype(str).to_numpy(),
            "domain": nar["_dom"].to_numpy(),
            "direction": nar["direction"].map(lambda d: text_or(d, "not_reported")).to_numpy(),
            "size_class": [_size_class(n) for n in nar["_n"]],
            "rob": nar["rob_overall"].map(lambda r: text_or(r, "not_assessed")).to_numpy(),
            "outcome": nar["outcome"].map(text_or).to_numpy(),
            "n": nar["_n"].to_numpy(float),
        }
    )
    cells["slot"] = cells.groupby(["study_id", "domain"], sort=False).cumcount()
    notes = [
        "One arrow per outcome: \u25b2 better with LDN, \u25bc worse with LDN, "
        "\u25c4\u25ba no clear difference or conflicting, ? direction not reported. "
        "Arrow size: participants (small < 50 or not reported, medium 50\u2013300, "
        "large > 300). Fill: risk of bias (black low, grey some concerns, white high, "
        "light blue not assessed).",
        "Outcomes not in a pooled analysis (narrative synthesis, SWiM; Campbell et al. 2020); "
        "effect-direction plot after Thomson & Thomas (2013).",
    ]
    if n_excluded:
        notes.append(f"{n_excluded} outcome(s) of excluded studies are not shown.")
    return EffectDirectionTable(
        condition, st, tuple((d, domain_label(d)) for d in doms), cells, tuple(notes)
    )


# ------------------------------------------------------------------------------------------
# Risk of bias (robvis style)
# ------------------------------------------------------------------------------------------

ROB_ORDER = ("low", "some_concerns", "high", "not_assessed")


@dataclass(frozen=True)
class RobTable:
    """Traffic-light table: one row per included study, one judgement column (overall).

    Attributes
    ----------
    rows : pandas.DataFrame
        ``study_id``, ``label``, ``design``, ``tool``, ``overall``, ``reason``.
    columns : tuple of (key, header)
        Judgement columns (only ``overall`` today).
    provisional : bool
        True while any judgement is design-based (``rob_tool`` says "provisional").
    """

    condition: str
    rows: pd.DataFrame
    columns: tuple[tuple[str, str], ...]
    provisional: bool
    notes: tuple[str, ...]


def _tool(s: object) -> str:
    t = text_or(s)
    if "ROBINS" in t:
        return "ROBINS-I"
    if "RoB 2" in t or "RoB2" in t:
        return "RoB 2"
    return ""


def _included(studies: pd.DataFrame) -> pd.DataFrame:
    return studies[studies["inclusion_status"].map(text_or) == "include"]


def build_rob_table(condition: str, studies: pd.DataFrame) -> RobTable:
    """Build the traffic-light table of the included studies (robvis layout; McGuinness &
    Higgins 2021)."""
    inc = _included(studies).copy()
    inc["_r"] = [
        (0 if d in RANDOMIZED_DESIGNS else 1, _design_rank(d), str(i))
        for d, i in zip(inc["design"].map(text_or), inc["id"], strict=True)
    ]
    inc = inc.sort_values("_r", kind="mergesort")
    rows = pd.DataFrame(
        {
            "study_id": inc["id"].astype(str).to_numpy(),
            "label": inc["id"].map(lambda s: study_label(str(s))).to_numpy(),
            "design": inc["design"].map(design_label).to_numpy(),
            "tool": inc["rob_tool"].map(_tool).to_numpy() if "rob_tool" in inc else "",
            "overall": inc["rob_overall"].map(lambda r: text_or(r, "not_assessed")).to_numpy(),
            "reason": inc["rob_reason"].map(text_or).to_numpy() if "rob_reason" in inc else "",
        }
    )
    provisional = bool(
        "rob_tool" in inc and inc["rob_tool"].map(text_or).str.contains("provisional").any()
    )
    notes = []
    if provisional:
        notes.append(
            "PROVISIONAL: judgements are design-based; the domain-level RoB 2 / ROBINS-I "
            "assessments have not been done, so only the overall column exists."
        )
    return RobTable(
        condition,
        rows.reset_index(drop=True),
        (("overall", "Overall"),),
        provisional,
        tuple(notes),
    )


@dataclass(frozen=True)
class RobSummaryTable:
    """Weighted summary bars (robvis ``rob_summary``).

    Attributes
    ----------
    bars : pandas.DataFrame
        ``bar`` (label), ``level``, ``percent``, ``count`` (studies), ``weight``
        (participants, NaN for the unweighted bar); percents sum to 100 per bar.
    """

    condition: str
    bars: pd.DataFrame
    provisional: bool
    notes: tuple[str, ...]


def _study_n(r: Mapping[str, object]) -> float:
    for c in ("n_analyzed", "n_randomized"):
        if c in r and not is_missing(r[c]):
            return float(r[c])
    if not is_missing(r.get("n_ldn")) and not is_missing(r.get("n_control")):
        return float(r["n_ldn"]) + float(r["n_control"])
    return float("nan")


def build_rob_summary_table(condition: str, studies: pd.DataFrame) -> RobSummaryTable:
    """Percent of participants (and of studies) at each overall risk-of-bias level."""
    inc = _included(studies).copy()
    inc["_n"] = [_study_n(r) for r in records(inc)]
    inc["_rob"] = inc["rob_overall"].map(lambda r: text_or(r, "not_assessed"))
    known = inc[inc["_n"].notna()]
    rows = []
    tot_w = float(known["_n"].sum())
    for lvl in ROB_ORDER:
        w = float(known.loc[known["_rob"] == lvl, "_n"].sum())
        rows.append(
            {
                "bar": "Overall (weighted by participants)",
                "level": lvl,
                "percent": 100.0 * w / tot_w if tot_w > 0 else 0.0,
                "count": int((known["_rob"] == lvl).sum()),
                "weight": w,
            }
        )
    for lvl in ROB_ORDER:
        c = int((inc["_rob"] == lvl).sum())
        rows.append(
            {
                "bar": "Overall (studies, unweighted)",
                "level": lvl,
                "percent": 100.0 * c / len(inc) if len(inc) else 0.0,
                "count": c,
                "weight": float("nan"),
            }
        )
    bars = pd.DataFrame(rows, columns=["bar", "level", "percent", "count", "weight"])
    provisional = bool(
        "rob_tool" in inc and inc["rob_tool"].map(text_or).str.contains("provisional").any()
    )
    notes = [
        f"{len(inc)} included studies; {len(known)} report a sample size "
        f"({int(tot_w)} participants) and enter the weighted bar."
    ]
    missing = sorted(inc.loc[inc["_n"].isna(), "id"].astype(str))
    if missing:
        notes.append("No sample size (unweighted bar only): " + ", ".join(missing) + ".")
    if provisional:
        notes.append("PROVISIONAL: design-based overall judgements (domains not assessed).")
    return RobSummaryTable(condition, bars, provisional, tuple(notes))


# ------------------------------------------------------------------------------------------
# Study flow (PRISMA 2020, adapted)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowTable:
    """Counts of the study-flow diagram.

    Attributes
    ----------
    n_extracted, n_excluded, n_included, n_pooled, n_single, n_narrative : int
        Studies in the curated extraction; excluded; included; in at least one pooled
        analysis (k >= 2); with an effect size only in single-study analyses; narrative only.
    excluded : tuple of (reason, n, study ids)
    ids : dict of str to tuple of str
        The study ids behind each box (``pooled``, ``single``, ``narrative``).
    """

    condition: str
    n_extracted: int
    n_excluded: int
    n_included: int
    n_pooled: int
    n_single: int
    n_narrative: int
    excluded: tuple[tuple[str, int, tuple[str, ...]], ...]
    ids: dict[str, tuple[str, ...]]
    n_analyses_pooled: int
    n_analyses_single: int
    n_outcomes_narrative: int


def _exclusion_reason(s: object) -> str:
    t = text_or(s).strip()
    low = t.lower()
    if "without results" in low or "protocol" in low or "registered" in low:
        return "Protocol or registered trial without results"
    if "unverified" in low:
        return "Unverified source"
    if not t:
        return "Reason not given"
    return t.split(":", 1)[0][:80]


def build_flow_table(
    condition: str,
    studies: pd.DataFrame,
    analyses: pd.DataFrame,
    members: pd.DataFrame,
    narrative: pd.DataFrame,
) -> FlowTable:
    """Count studies through the review (PRISMA 2020, Page et al. 2021, adapted to a curated
    evidence base: no database search, the extraction is the starting set)."""
    status = studies["inclusion_status"].map(text_or)
    exc = studies[status != "include"]
    inc_ids = set(studies.loc[status == "include", "id"].astype(str))
    reasons: dict[str, list[str]] = {}
    for r in records(exc):
        reasons.setdefault(_exclusion_reason(r["inclusion_reason"]), []).append(str(r["id"]))
    excluded = tuple(
        (reason, len(ids), tuple(sorted(ids))) for reason, ids in sorted(reasons.items())
    )
    main = analyses[analyses["scenario"] == "main"]
    is_pooled = main["pooled"].map(flag).astype(bool) & (main["k"] >= 2)
    pooled_ids = set(main.loc[is_pooled, "analysis_id"])
    mem = members[members["scenario"] == "main"]
    in_pooled = set(mem.loc[mem["analysis_id"].isin(pooled_ids), "study_id"].astype(str))
    in_any = set(mem["study_id"].astype(str))
    pooled = sorted(in_pooled & inc_ids)
    single = sorted((in_any - in_pooled) & inc_ids)
    narrative_only = sorted(inc_ids - in_any)
    nar = narrative[narrative["disposition"] == "narrative_only"]
    return FlowTable(
        condition=condition,
        n_extracted=len(studies),
        n_excluded=len(exc),
        n_included=len(inc_ids),
        n_pooled=len(pooled),
        n_single=len(single),
        n_narrative=len(narrative_only),
        excluded=excluded,
        ids={
            "pooled": tuple(pooled),
            "single": tuple(single),
            "narrative": tuple(narrative_only),
        },
        n_analyses_pooled=len(pooled_ids),
        n_analyses_single=int(len(main) - len(pooled_ids)),
        n_outcomes_narrative=len(nar),
    )


def rob_label(level: str) -> str:
    """Display label of a risk-of-bias level."""
    return ROB_LABEL.get(level, level.replace("_", " "))
