"""The forest-plot table: every row, label, text column, weight and marker, as data.

The renderer (:mod:`ldn_evidence.plots.draw_forest`) only draws what this table says; it adds
no number of its own. The layout follows the clinical forest plots of R meta's ``forest()``
(Schwarzer 2007; Balduzzi, Rücker & Schwarzer 2019) and of Cochrane's RevMan: a study
column with a design marker, arm sizes (events/total for binary measures), effect and CI as
text, weights in percent, squares with area proportional to weight, a diamond for the pooled
mean, a bar for the prediction interval (Riley, Higgins & Deeks 2011), the heterogeneity,
overall-test and method lines, and "favours" labels under the axis. Nothing is recomputed: the
numbers are those of ``analyses.parquet`` and ``analysis_members.parquet``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.tables import records
from ..vocab import CROSSOVER_DESIGNS
from ._axis import Axis, choose_axis
from ._text import (
    INDIRECT_TIERS,
    MEASURE_ABBREVIATION,
    TIER_FOOTNOTE,
    TIER_MARK,
    design_label,
    flag,
    flips,
    fmt_effect,
    fmt_effect_interval,
    fmt_int,
    fmt_num,
    fmt_p,
    is_missing,
    measure_scale,
    stratum_label,
    study_label,
    text_or,
)

__all__ = ["ForestColumn", "ForestTable", "build_forest_table"]

BINARY_MEASURES = frozenset({"RR", "OR", "RD", "PETO"})

#: Row kinds, top to bottom.
ROW_KINDS = (
    "subgroup_header",
    "study",
    "subgroup_pooled",
    "subgroup_note",
    "pooled",
    "prediction",
    "note",
)

#: Marker kinds the renderer knows.
MARKERS = ("square", "square_open", "diamond", "pi_bar", "none")

ROW_COLUMNS = (
    "kind",
    "label",
    "design",
    "tier",
    "arm1",
    "arm2",
    "effect",
    "weight_text",
    "weight",
    "x",
    "x_lo",
    "x_hi",
    "marker",
    "arrow_low",
    "arrow_high",
    "style",
    "subgroup",
    "study_id",
    "outcome_id",
)

#: The member columns a study row is built from (:func:`build_forest_table`).
STUDY_ROW_INPUTS = (
    "_label",
    "study_id",
    "outcome_id",
    "design",
    "tier",
    "yi",
    "ci_low",
    "ci_high",
    "weight_percent",
    "n_ldn",
    "n_ctl",
    "events_ldn",
    "events_ctl",
    "proportion",
    "proportion_ci_low",
    "proportion_ci_high",
)

#: Every member column :func:`build_forest_table` reads (besides the ``subgroup_by`` column).
MEMBER_INPUTS = frozenset(
    {*STUDY_ROW_INPUTS, "label", "outcome", "subgroup", "measure"} - {"_label"}
)

_ESTIMATOR = {
    "REML": "REML",
    "ML": "ML",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
    "HE": "Hedges",
    "HS": "Hunter-Schmidt",
    "SJ": "Sidik-Jonkman",
    "EB": "empirical Bayes",
    "EE": "common effect",
}
_CI_METHOD = {
    "hksj-t(k-1)": "Hartung-Knapp-Sidik-Jonkman (t, k \u2212 1 df)",
    "hksj-adhoc-t(k-1)": "Hartung-Knapp-Sidik-Jonkman, ad hoc variant (t, k \u2212 1 df)",
    "wald-z": "Wald (z)",
}
_PI_METHOD = {
    "t(k-1)": "t, k \u2212 1 df",
    "t(k-2)": "t, k \u2212 2 df (Higgins 2009)",
    "normal": "normal",
}


@dataclass(frozen=True, slots=True)
class ForestColumn:
    """A text column: ``key`` in the row table, two header lines, alignment."""

    key: str
    header: tuple[str, str]
    align: str  # "left" | "center" | "right"


@dataclass(frozen=True)
class ForestTable:
    """Everything a forest plot shows.

    Attributes
    ----------
    analysis_id, title, subtitle : str
        Identity and headings.
    measure, scale_label : str
        Effect measure code and the axis title.
    columns_left, columns_right : tuple of ForestColumn
        Text columns left and right of the plot area.
    rows : pandas.DataFrame
        One row per line of the plot (:data:`ROW_COLUMNS`); ``x``, ``x_lo``, ``x_hi`` in plot
        space (log for ratio measures), ``weight`` in percent for study rows.
    axis : Axis
        Limits and ticks.
    favours_left, favours_right : str
        Labels under the axis ("" when the measure has no direction, e.g. a proportion).
    footer : tuple of str
        Heterogeneity, test for the overall effect, method (empty for k = 1).
    footnotes : tuple of str
        Tier marker, arrows, not estimable, missing prediction interval, pooling notes.
    """

    analysis_id: str
    title: str
    subtitle: str
    measure: str
    scale_label: str
    columns_left: tuple[ForestColumn, ...]
    columns_right: tuple[ForestColumn, ...]
    rows: pd.DataFrame
    axis: Axis
    favours_left: str
    favours_right: str
    footer: tuple[str, ...]
    footnotes: tuple[str, ...]


def _f(x: object) -> float:
    return float("nan") if is_missing(x) else float(x)  # type: ignore[arg-type]


def _nat_ci(est: float, lo: float, hi: float, scale: str) -> str:
    return fmt_effect(est, lo, hi, scale)


def _study_effect_text(r: Mapping[str, object], yi: float, lo: float, hi: float, scale: str) -> str:
    """A study's effect as text. A single-arm proportion is shown as the observed proportion
    with its Wilson interval (from the effects table), not the back-transformed logit, which
    carries the continuity correction (0/9 would read 5%); the marker stays on the logit."""
    p, p_lo, p_hi = (
        _f(r.get(k)) for k in ("proportion", "proportion_ci_low", "proportion_ci_high")
    )
    if scale == "logit" and not any(math.isnan(x) for x in (p, p_lo, p_hi)):
        return f"{100 * p:.1f}% [{100 * p_lo:.1f}%, {100 * p_hi:.1f}%] (Wilson)"
    return _nat_ci(yi, lo, hi, scale)


def _fmt_tau2(*vals: float) -> list[str]:
    """τ² and its CI with one number format: 4 decimals when all are below 1."""
    finite = [abs(v) for v in vals if not math.isnan(v)]
    small = bool(finite) and max(finite) < 1
    return ["NA" if math.isnan(v) else f"{v:.4f}" if small else fmt_num(v) for v in vals]


def _sorted_positions(frame: pd.DataFrame, by: tuple[str, ...]) -> list[int]:
    """Row positions in the order of ``frame.sort_values(by, kind="mergesort")`` (stable;
    a missing value after every present one), sorted in Python: a few rows sort faster so
    than through pandas' multi-key sort."""
    columns = [frame[c].tolist() for c in by]

    def key(i: int) -> tuple[tuple[bool, object], ...]:
        return tuple((True, "") if is_missing(v[i]) else (False, v[i]) for v in columns)

    return sorted(range(len(frame)), key=key)


def _intervals(rows: list[dict[str, object]], kinds: tuple[str, ...]) -> np.ndarray:
    """``x_lo, x_hi, x_lo, x_hi, ...`` of the rows of the given kinds, as float64."""
    pairs = [(r["x_lo"], r["x_hi"]) for r in rows if r["kind"] in kinds]
    return np.array(pairs, dtype=float).ravel()


def _sum_or_blank(values: pd.Series) -> float:
    v = pd.to_numeric(values, errors="coerce")
    if len(v) == 0 or v.isna().any():
        return float("nan")
    return float(v.sum())


def heterogeneity_text(row: Mapping[str, object], *, compact: bool = False) -> str:
    """``"Heterogeneity: τ² = 0.0123 [0.0000, 0.8123]; I² = 12% [0%, 91%]; Q = 3.41, df = 3
    (p = 0.33)"`` from an analyses row."""
    tau2, i2 = _f(row.get("tau2")), _f(row.get("i2"))
    q, qdf, qp = _f(row.get("q")), _f(row.get("q_df")), row.get("q_pval")
    t_s, t_lo, t_hi = _fmt_tau2(tau2, _f(row.get("tau2_ci_low")), _f(row.get("tau2_ci_high")))
    t_ci = f" [{t_lo}, {t_hi}]"
    i_lo, i_hi = _f(row.get("i2_ci_low")), _f(row.get("i2_ci_high"))
    i_ci = "" if math.isnan(i_lo) else f" [{i_lo:.0f}%, {i_hi:.0f}%]"
    if compact:
        t_ci = ""
        i_ci = ""
    i2s = "NA" if math.isnan(i2) else f"{i2:.0f}%"
    qs = "NA" if math.isnan(q) else f"{q:.2f}"
    dfs = "NA" if math.isnan(qdf) else f"{qdf:.0f}"
    return (
        f"Heterogeneity: \u03c4\u00b2 = {t_s}{t_ci}; I\u00b2 = {i2s}{i_ci}; "
        f"Q = {qs}, df = {dfs} ({fmt_p(qp)})"
    )


def overall_test_text(row: Mapping[str, object], sign: float = 1.0, h0: str = "") -> str:
    """``"Test for overall effect: t = 2.86, df = 3 (p = 0.065)"``.

    ``sign`` = -1 turns the statistic with a displayed orientation; ``h0`` names the null
    hypothesis when it is not "no effect" (e.g. a proportion of 50% on the logit scale).
    """
    test = text_or(row.get("test"), "z")
    stat, df = sign * _f(row.get("stat")), _f(row.get("df"))
    stat_s = "NA" if math.isnan(stat) else f"{stat:.2f}".replace("-", "\u2212")
    head = "Test for overall effect" + (f" (H0: {h0})" if h0 else "")
    if test == "z" or math.isnan(df):
        return f"{head}: z = {stat_s} ({fmt_p(row.get('pval'))})"
    return f"{head}: t = {stat_s}, df = {df:.0f} ({fmt_p(row.get('pval'))})"


def method_text(row: Mapping[str, object]) -> str:
    """One line naming the model, the tau² estimator and the CI, PI and tau² CI methods."""
    method = text_or(row.get("method"))
    est_used = text_or(row.get("tau2_estimator"), method)
    if method == "EE":
        model = "Common-effect (inverse-variance) model"
    else:
        model = f"Random-effects model, \u03c4\u00b2 by {_ESTIMATOR.get(method, method)}"
        if est_used and est_used not in (method, "none"):
            model += f" (fell back to {_ESTIMATOR.get(est_used, est_used)})"
    ci = text_or(row.get("ci_method"))
    parts = [model, f"CI of the mean: {_CI_METHOD.get(ci, ci)}"]
    pim = text_or(row.get("pi_method"))
    if pim and pim != "none":
        parts.append(f"prediction interval: {_PI_METHOD.get(pim, pim)}")
    tcm = text_or(row.get("tau2_ci_method"))
    if tcm == "q-profile":
        parts.append("Q-profile CIs for \u03c4\u00b2 and I\u00b2")
    conv = row.get("converged")
    if not is_missing(conv) and not bool(conv):
        parts.append("estimator did not converge")
    return "Method: " + "; ".join(parts) + "."


def _subgroup_label(value: str, by: str) -> str:
    if by == "design":
        return design_label(value)
    if by == "stratum":
        return stratum_label(value)
    return value.replace("_", " ")


def _subgroup_order(values: list[str], by: str) -> list[str]:
    if by == "design":
        from ..vocab import DESIGNS

        rank = {d: i for i, d in enumerate(DESIGNS)}
        return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))
    return sorted(values)


def build_forest_table(
    analysis: Mapping[str, object],
    members: pd.DataFrame,
    subgroups: pd.DataFrame | None = None,
) -> ForestTable:
    """Build the forest-plot table of one analysis (scenario ``main``).

    Parameters
    ----------
    analysis : mapping
        The ``main`` row of ``analyses.parquet`` for the analysis.
    members : pandas.DataFrame
        Its rows of ``analysis_members.parquet`` (scenario ``main``).
    subgroups : pandas.DataFrame, optional
        Its ``subgroup:<value>`` rows of ``analyses.parquet`` (one pooled result per panel).

    Returns
    -------
    ForestTable
    """
    a = dict(analysis)
    measure = text_or(a.get("measure"), text_or(members["measure"].iloc[0]) if len(members) else "")
    scale_kind = measure_scale(measure)
    log_scale = scale_kind == "log"
    flip = flips(measure, a.get("better_direction"))
    sign = -1.0 if flip else 1.0
    k = int(_f(a.get("k"))) if not is_missing(a.get("k")) else len(members)
    pooled = flag(a.get("pooled")) and k >= 2
    abbr = MEASURE_ABBREVIATION.get(measure, measure)
    level = _f(a.get("level"))
    level_pct = 95 if math.isnan(level) else round(100 * level)
    # events/N columns for binary comparisons, and for single-arm proportions with counts
    binary = measure in BINARY_MEASURES or (
        measure in ("PR", "PLO") and "events_ldn" in members and members["events_ldn"].notna().any()
    )
    single_arm = len(members) > 0 and members["n_ctl"].isna().all() if "n_ctl" in members else True
    null: float | None = None if measure in ("PR", "PLO") else 0.0

    def oriented(v: object, lo_: object, hi_: object) -> tuple[float, float, float]:
        """Plot-space value and interval; ratios of lower-is-better outcomes turned back."""
        x, a_, b_ = _f(v), _f(lo_), _f(hi_)
        return (sign * x, sign * b_, sign * a_) if flip else (x, a_, b_)

    by = text_or(a.get("subgroup_by"))
    # a copy of only the columns used below (every later step then copies fewer columns)
    used = {*MEMBER_INPUTS, by}
    m = members[[c for c in members.columns if c in used]].copy()
    if "subgroup" not in m:
        m["subgroup"] = pd.NA
    if by and m["subgroup"].isna().all() and by in m:
        m["subgroup"] = m[by]
    has_sub = bool(by) and m["subgroup"].notna().any()
    # display label; a bare study id (``Bruun2024``) gets its year spaced off
    lab = m["label"].map(text_or) if "label" in m else m["study_id"].map(text_or)
    sid = m["study_id"].map(text_or)
    m["_label"] = [study_label(x) if x == s else x for x, s in zip(lab, sid, strict=True)]
    dup = m["_label"].duplicated(keep=False)
    if dup.any():
        m.loc[dup, "_label"] = (
            m.loc[dup, "_label"] + " (" + m.loc[dup, "outcome"].map(text_or) + ")"
        )
    m["_sort"] = m["_label"].str.casefold()
    m = m.iloc[_sorted_positions(m, ("_sort", "study_id", "outcome_id"))]

    sub_rows: dict[str, Mapping[str, object]] = {}
    if subgroups is not None and len(subgroups):
        for r in records(subgroups):
            sub_rows[str(r["scenario"]).split(":", 1)[1]] = r

    rows: list[dict[str, object]] = []

    def add(kind: str, label: str = "", **kw: object) -> None:
        r: dict[str, object] = dict.fromkeys(ROW_COLUMNS, "")
        r.update(
            kind=kind,
            label=label,
            weight=float("nan"),
            x=float("nan"),
            x_lo=float("nan"),
            x_hi=float("nan"),
            marker="none",
            arrow_low=False,
            arrow_high=False,
            style="normal",
        )
        r.update(kw)
        rows.append(r)

    def arm_text(n: object, ev: object) -> str:
        if binary:
            if is_missing(ev) or is_missing(n):
                return fmt_int(n)
            return f"{int(ev)}/{int(n)}"  # type: ignore[call-overload]
        return fmt_int(n)

    any_indirect = False
    any_not_estimable = False

    def add_study(r: Mapping[str, object], sub: str) -> None:
        nonlocal any_indirect, any_not_estimable
        yi, lo, hi = oriented(r.get("yi"), r.get("ci_low"), r.get("ci_high"))
        tier = text_or(r.get("tier"))
        indirect = tier in INDIRECT_TIERS
        any_indirect |= indirect
        estimable = not math.isnan(yi)
        any_not_estimable |= not estimable
        w = _f(r.get("weight_percent"))
        add(
            "study",
            text_or(r["_label"]),
            design=design_label(r.get("design")),
            tier=tier + (TIER_MARK if indirect else ""),
            arm1=arm_text(r.get("n_ldn"), r.get("events_ldn")),
            arm2="" if single_arm else arm_text(r.get("n_ctl"), r.get("events_ctl")),
            effect=_study_effect_text(r, yi, lo, hi, scale_kind) if estimable else "not estimable",
            weight_text=(f"{w:.1f}%" if pooled and not math.isnan(w) and estimable else ""),
            weight=(0.0 if not estimable else w),
            x=yi,
            x_lo=lo,
            x_hi=hi,
            marker=("none" if not estimable else "square_open" if indirect else "square"),
            subgroup=sub,
            study_id=text_or(r.get("study_id")),
            outcome_id=text_or(r.get("outcome_id")),
        )

    def totals(g: pd.DataFrame) -> tuple[str, str]:
        n1, n2 = _sum_or_blank(g["n_ldn"]), _sum_or_blank(g["n_ctl"]) if "n_ctl" in g else math.nan
        if binary:
            e1, e2 = _sum_or_blank(g["events_ldn"]), _sum_or_blank(g["events_ctl"])
            t1 = f"{e1:.0f}/{n1:.0f}" if not (math.isnan(e1) or math.isnan(n1)) else fmt_int(n1)
            t2 = f"{e2:.0f}/{n2:.0f}" if not (math.isnan(e2) or math.isnan(n2)) else fmt_int(n2)
        else:
            t1, t2 = fmt_int(n1), fmt_int(n2)
        return t1, ("" if single_arm else t2)

    notes: list[str] = []
    if has_sub:
        values = _subgroup_order([str(v) for v in m["subgroup"].dropna().unique()], by)
        if m["subgroup"].isna().any():
            values.append("")
        for v in values:
            g = m[m["subgroup"].isna()] if v == "" else m[m["subgroup"].astype(str) == v]
            add(
                "subgroup_header",
                _subgroup_label(v, by) if v else "Not classified",
                style="bold",
                subgroup=v,
            )
            for r in records(g, STUDY_ROW_INPUTS):
                add_study(r, v)
            sr = sub_rows.get(v)
            if sr is not None and flag(sr.get("pooled")) and int(_f(sr.get("k"))) >= 2:
                t1, t2 = totals(g)
                est, lo, hi = oriented(sr.get("estimate"), sr.get("ci_low"), sr.get("ci_high"))
                w = _sum_or_blank(g["weight_percent"]) if pooled else math.nan
                add(
                    "subgroup_pooled",
                    f"Subtotal (k = {int(_f(sr.get('k')))})",
                    arm1=t1,
                    arm2=t2,
                    effect=_nat_ci(est, lo, hi, scale_kind),
                    weight_text="" if math.isnan(w) else f"{w:.1f}%",
                    x=est,
                    x_lo=lo,
                    x_hi=hi,
                    marker="diamond",
                    style="bold",
                    subgroup=v,
                )
                add(
                    "subgroup_note",
                    heterogeneity_text(sr, compact=True),
                    style="italic",
                    subgroup=v,
                )
            else:
                n_in = len(g)
                why = (
                    "single study: no subtotal"
                    if n_in == 1
                    else "no pooled subtotal in the analyses table"
                )
                add("subgroup_note", f"Subtotal not shown ({why})", style="italic", subgroup=v)
    else:
        for r in records(m, STUDY_ROW_INPUTS):
            add_study(r, "")

    footer: list[str] = []
    est, lo, hi = oriented(a.get("estimate"), a.get("ci_low"), a.get("ci_high"))
    if pooled:
        t1, t2 = totals(m)
        model = (
            "Common-effect model" if text_or(a.get("method")) == "EE" else "Random-effects model"
        )
        add(
            "pooled",
            model,
            arm1=t1,
            arm2=t2,
            effect=_nat_ci(est, lo, hi, scale_kind),
            weight_text="100.0%",
            x=est,
            x_lo=lo,
            x_hi=hi,
            marker="diamond",
            style="bold",
        )
        _, pil, pih = oriented(a.get("estimate"), a.get("pi_low"), a.get("pi_high"))
        if k >= 3 and not (math.isnan(pil) or math.isnan(pih)):
            add(
                "prediction",
                "Prediction interval",
                effect=fmt_effect_interval(pil, pih, scale_kind),
                x=est,
                x_lo=pil,
                x_hi=pih,
                marker="pi_bar",
            )
        elif k == 2:
            notes.append("No prediction interval for k = 2 (it needs at least 3 studies).")
        h0 = "proportion = 50%" if measure == "PLO" else "proportion = 0" if measure == "PR" else ""
        footer += [heterogeneity_text(a), overall_test_text(a, sign, h0), method_text(a)]
    else:
        add(
            "note",
            ("Single study (k = 1): not pooled; no diamond, heterogeneity or prediction interval.")
            if k <= 1
            else "Not pooled: see the analysis notes.",
            style="italic",
        )

    # axis, from the rows before they become a frame (plain lists, no frame filtering)
    study = [r for r in rows if r["kind"] == "study"]
    # what must be visible: study estimates, subgroup estimates, the pooled CI; what should be
    # visible unless extreme: study CIs, subgroup CIs, the prediction interval
    core = [
        *(r["x"] for r in study),
        *(r["x"] for r in rows if r["kind"] == "subgroup_pooled"),
        *_intervals(rows, ("pooled",)),
    ]
    if len(study) == 1:  # one study: show its whole CI when it is not absurdly wide
        core += [study[0]["x_lo"], study[0]["x_hi"]]
    extent = [
        *(r["x_lo"] for r in study),
        *(r["x_hi"] for r in study),
        *_intervals(rows, ("subgroup_pooled", "prediction")),
    ]
    axis = choose_axis(core, extent, scale=scale_kind, null=null)
    for r in rows:
        r["arrow_low"] = axis.clips_low(r["x_lo"])
        r["arrow_high"] = axis.clips_high(r["x_hi"])
    rt = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    rt["weight"] = rt["weight"].astype(float)

    footnotes: list[str] = []
    if any_indirect:
        footnotes.append(TIER_FOOTNOTE)
    if scale_kind == "logit":
        footnotes.append(
            "Study text: the observed proportion with its Wilson 95% CI. Markers, whiskers and "
            "the pooled result are on the logit scale, with 1/2 added to zero cells."
        )
    if bool(rt["arrow_low"].any() or rt["arrow_high"].any()):
        footnotes.append("Arrows: the interval extends beyond the axis.")
    if any_not_estimable:
        footnotes.append(
            "Not estimable: no effect could be computed (e.g. no events in either arm); "
            "the study carries no weight."
        )
    with_totals = rt["kind"].isin(("pooled", "subgroup_pooled")).any()
    if with_totals and not single_arm and m["design"].isin(CROSSOVER_DESIGNS).any():
        footnotes.append(
            "Arm totals count each crossover trial's participants in both arms; "
            "n in the title counts them once."
        )
    footnotes += notes
    pool_notes = text_or(a.get("notes"))
    if pool_notes and pooled:
        footnotes.append("Pooling notes: " + pool_notes.replace("tau2", "\u03c4\u00b2") + ".")

    if binary:
        arm_head = "events/N"
    else:
        arm_head = "n"
    if single_arm:
        left = (
            ForestColumn("label", ("Study", ""), "left"),
            ForestColumn("design", ("Design", ""), "left"),
            ForestColumn("tier", ("Tier", ""), "center"),
            ForestColumn("arm1", ("LDN", arm_head), "right"),
        )
    else:
        left = (
            ForestColumn("label", ("Study", ""), "left"),
            ForestColumn("design", ("Design", ""), "left"),
            ForestColumn("tier", ("Tier", ""), "center"),
            ForestColumn("arm1", ("LDN", arm_head), "right"),
            ForestColumn("arm2", ("Control", arm_head), "right"),
        )
    right: tuple[ForestColumn, ...] = (
        ForestColumn("effect", (abbr, f"[{level_pct}% CI]"), "right"),
    )
    if pooled:
        right += (ForestColumn("weight", ("Weight", ""), "right"),)
    n_part = a.get("n_participants")
    subtitle_bits = [stratum_label(a.get("stratum")), f"k = {k}"]
    if not is_missing(n_part):
        subtitle_bits.append(f"n = {int(n_part)}")  # type: ignore[call-overload]
    if measure in ("PR", "PLO"):
        fav_l = fav_r = ""
    else:
        fav_l = text_or(a.get("favours_label_negative"), "favours control")
        fav_r = text_or(a.get("favours_label_positive"), "favours LDN")
        if flip:
            fav_l, fav_r = fav_r, fav_l
        no_control = text_or(a.get("stratum")) in (
            "within_group_pre_post",
            "observational_before_after",
        )
        if no_control and (fav_l, fav_r) == ("favours control", "favours LDN"):
            # no control arm: the comparison is before vs after LDN
            fav_l, fav_r = "worse after LDN", "better after LDN"
    scale = text_or(a.get("scale_label"), abbr)
    if log_scale:
        scale += " (log scale)"
        scale += (
            ", LDN vs control: below 1 = fewer with LDN"
            if flip
            else ", LDN vs control: above 1 = more with LDN"
        )
    elif scale_kind == "logit":
        scale = "Proportion (%, logit scale)"
    return ForestTable(
        analysis_id=text_or(a.get("analysis_id")),
        title=text_or(a.get("title"), text_or(a.get("analysis_id"))),
        subtitle=" \u00b7 ".join(subtitle_bits),
        measure=measure,
        scale_label=scale,
        columns_left=left,
        columns_right=right,
        rows=rt,
        axis=axis,
        favours_left=fav_l,
        favours_right=fav_r,
        footer=tuple(footer),
        footnotes=tuple(footnotes),
    )
