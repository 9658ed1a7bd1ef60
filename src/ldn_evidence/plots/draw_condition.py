"""Draw the per-condition figures (matplotlib; rendering only): evidence map, effect
direction, risk-of-bias traffic light and summary, study flow."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path as MPath

from ..io.tables import records
from . import _mpl
from ._mpl import BASE_PT, ROB_COLORS, SMALL_PT, Measurer
from ._sheet import PlotArea, Sheet
from .draw_forest import thin_ticks
from .table_condition import (
    DIRECTION_LABEL,
    ROB_ORDER,
    SIZE_CLASSES,
    EffectDirectionTable,
    EvidenceMapTable,
    FlowTable,
    RobSummaryTable,
    RobTable,
    rob_label,
)

MARGIN = 0.2
PANEL_GAP = 0.4
NOTE = "#444444"
BAND = "#f3f3f3"

CERTAINTY_COLORS = {
    "high": "#1a9850",
    "moderate": "#91cf60",
    "low": "#fc8d59",
    "very_low": "#d73027",
    "not_rated": "#999999",
}
STRATUM_COLORS = {
    "randomized_between_arm": "#0072B2",
    "nonrandomized_between_arm": "#E69F00",
    "within_group_pre_post": "#009E73",
    "observational_before_after": "#CC79A7",
    "single_arm_proportion": "#D55E00",
}
EXTRA_COLORS = ("#56B4E9", "#F0E442", "#000000", "#999999")


def _colors(t: EvidenceMapTable) -> dict[str, str]:
    base = CERTAINTY_COLORS if t.color_by == "certainty" else STRATUM_COLORS
    out = {}
    extra = iter(EXTRA_COLORS * 10)
    for key, _ in t.legend:
        out[key] = base.get(key) or next(extra)
    return out


def _title(
    tx: Sheet, me: Measurer, width: float, y: float, title: str, subtitle: str = ""
) -> float:
    t = me.wrap(title, width - 2 * MARGIN, 11.0, "bold")
    tx.text(MARGIN, y, t, ha="left", va="top", fontsize=11.0, fontweight="bold")
    y -= (t.count("\n") + 1) * 0.21
    if subtitle:
        s = me.wrap(subtitle, width - 2 * MARGIN, SMALL_PT)
        tx.text(MARGIN, y, s, ha="left", va="top", fontsize=SMALL_PT, color=NOTE)
        y -= (s.count("\n") + 1) * 0.16
    return y - 0.08


def _title_height(me: Measurer, width: float, title: str, subtitle: str = "") -> float:
    h = (me.wrap(title, width - 2 * MARGIN, 11.0, "bold").count("\n") + 1) * 0.21
    if subtitle:
        h += (me.wrap(subtitle, width - 2 * MARGIN, SMALL_PT).count("\n") + 1) * 0.16
    return h + 0.08


def _notes(tx: Sheet, me: Measurer, width: float, y: float, notes, size: float = 7.5) -> float:
    for n in notes:
        s = me.wrap(n, width - 2 * MARGIN, size)
        tx.text(MARGIN, y, s, ha="left", va="top", fontsize=size, color=NOTE, linespacing=1.2)
        y -= (s.count("\n") + 1) * 0.14
    return y


def _notes_height(me: Measurer, width: float, notes, size: float = 7.5) -> float:
    return sum((me.wrap(n, width - 2 * MARGIN, size).count("\n") + 1) * 0.14 for n in notes)


# ------------------------------------------------------------------------------------------
# Evidence map
# ------------------------------------------------------------------------------------------


def draw_evidence_map(t: EvidenceMapTable, condition_label: str) -> Figure:
    """Render the evidence map of a condition."""
    me = Measurer()
    rows = t.rows.reset_index(drop=True)
    nfam = max(1, len(t.families))
    panel_w = 3.2 if nfam == 1 else 2.3 if nfam == 2 else 1.9
    label_max = 2.8
    eff_lines = [str(e).replace("; PI ", "\nPI ") for e in rows["effect"]]
    eff_w = (
        max(
            [me.width(e, SMALL_PT) for e in eff_lines]
            + [me.width("Effect [95% CI]", SMALL_PT, "bold")]
        )
        + 0.1
    )
    lab_w = min(
        label_max,
        max(
            [me.width(str(s), BASE_PT) for s in rows.loc[rows["kind"] == "analysis", "label"]]
            + [
                me.width(str(s), BASE_PT, "bold")
                for s in rows.loc[rows["kind"] == "domain", "label"]
            ]
            + [1.5]
        ),
    )
    width = 2 * MARGIN + lab_w + 0.15 + nfam * (panel_w + PANEL_GAP) + eff_w
    recs = records(rows)
    labels, heights = [], []
    for r in recs:
        if r["kind"] == "domain":
            labels.append(me.wrap(str(r["label"]), lab_w, BASE_PT, "bold"))
            heights.append(0.26)
        else:
            lab = me.wrap(str(r["label"]), lab_w, BASE_PT)
            det = me.wrap(str(r["detail"]), lab_w, 7.5)
            labels.append((lab, det))
            heights.append((lab.count("\n") + 1) * 0.165 + (det.count("\n") + 1) * 0.14 + 0.08)
    title = f"Evidence map: {condition_label}"
    subtitle = (
        "Every analysis of the condition, pooled estimate with 95% CI and prediction interval, "
        "grouped by outcome domain; coloured by "
        + ("GRADE certainty" if t.color_by == "certainty" else "design stratum")
        + ". Standardized and mean differences: positive = better with LDN; ratios: LDN vs "
        "control (the row says which side is better)."
    )
    legend_h = 0.35
    notes_h = _notes_height(me, width, t.notes)
    th = _title_height(me, width, title, subtitle)
    head_h = 0.42
    rows_h = sum(heights) if heights else 0.4
    axis_h = 0.45
    height = MARGIN + th + head_h + rows_h + axis_h + legend_h + notes_h + MARGIN
    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)
    y = _title(tx, me, width, height - MARGIN, title, subtitle)
    x_lab = MARGIN
    x_panels = MARGIN + lab_w + 0.15
    x_eff = x_panels + nfam * (panel_w + PANEL_GAP)
    colors = _colors(t)
    head_y = y - head_h / 2
    tx.text(
        x_eff + eff_w - 0.1,
        head_y,
        "Effect [95% CI]",
        ha="right",
        va="center",
        fontsize=SMALL_PT,
        fontweight="bold",
    )
    y -= head_h
    rows_top, rows_bottom = y, y - rows_h
    centers = []
    yy = rows_top
    for i, r in enumerate(recs):
        h = heights[i]
        yc = yy - h / 2
        centers.append(yc)
        if r["kind"] == "domain":
            tx.add_patch(
                Rectangle((MARGIN, yy - h), width - 2 * MARGIN, h, color="#e4e4e4", lw=0, zorder=0)
            )
            tx.text(x_lab + 0.04, yc, labels[i], ha="left", va="center", fontweight="bold")
        else:
            lab, det = labels[i]
            nl = lab.count("\n") + 1
            top = yy - 0.04
            tx.text(x_lab + 0.04, top, lab, ha="left", va="top", linespacing=1.2)
            tx.text(
                x_lab + 0.04,
                top - nl * 0.165,
                det,
                ha="left",
                va="top",
                fontsize=7.5,
                color=NOTE,
                linespacing=1.2,
            )
            tx.text(
                x_eff + eff_w - 0.1,
                yc,
                eff_lines[i],
                ha="right",
                va="center",
                fontsize=SMALL_PT,
                linespacing=1.2,
            )
            tx.plot([MARGIN, width - MARGIN], [yy - h, yy - h], color="#e6e6e6", lw=0.5, zorder=0)
        yy -= h
    nmax = float(np.nanmax(rows["n"].to_numpy())) if rows["n"].notna().any() else 1.0
    for j, fam in enumerate(t.families):
        x0 = x_panels + j * (panel_w + PANEL_GAP)
        a = fam.axis
        ax = PlotArea(
            tx,
            x0,
            rows_bottom,
            panel_w,
            rows_top - rows_bottom,
            (a.lo, a.hi),
            (rows_bottom, rows_top),
        )
        ticks, tl = thin_ticks(me, a, panel_w)
        ax.x_axis(ticks, tl, length=3, pad=2, labelsize=SMALL_PT)
        tx.text(
            x0 + panel_w / 2,
            head_y,
            me.wrap(fam.title, panel_w, SMALL_PT, "bold"),
            ha="center",
            va="center",
            fontsize=SMALL_PT,
            fontweight="bold",
        )
        if a.null is not None:
            ax.axvline(a.null, color="#333333", lw=0.8, zorder=1)
        for i, r in enumerate(recs):
            if r["kind"] != "analysis" or r["family"] != fam.key:
                continue
            yc, c = centers[i], colors.get(str(r["color_key"]), "#555555")
            for lo_, hi_, lw in ((r["pi_lo"], r["pi_hi"], 1.0), (r["lo"], r["hi"], 2.4)):
                if math.isnan(lo_) or math.isnan(hi_):
                    continue
                ax.plot(
                    [max(lo_, a.lo), min(hi_, a.hi)],
                    [yc, yc],
                    color=c,
                    lw=lw,
                    solid_capstyle="butt",
                    zorder=2,
                    alpha=0.55 if lw < 2 else 1.0,
                )
                if lo_ < a.lo:
                    ax.plot(
                        [a.lo], [yc], marker="<", ls="none", ms=5, color=c, clip_on=False, zorder=3
                    )
                if hi_ > a.hi:
                    ax.plot(
                        [a.hi], [yc], marker=">", ls="none", ms=5, color=c, clip_on=False, zorder=3
                    )
            n = r["n"]
            s = 24 + 100 * (n / nmax if not math.isnan(n) and nmax > 0 else 0.1)
            ax.scatter(
                r["x"],
                yc,
                s,
                "o",
                zorder=3,
                alpha=0.9,
                facecolors=c if r["pooled"] else "white",
                edgecolors="white" if r["pooled"] else c,
                linewidths=0.8 if r["pooled"] else 1.5,
                clip_on=False,
            )
    if not len(t.families):
        tx.text(x_panels, rows_top - 0.2, "No analyses.", ha="left", va="center")
    y = rows_bottom - axis_h
    # legend
    x = MARGIN
    tx.text(x, y - 0.12, "Colour:", ha="left", va="center", fontsize=SMALL_PT, fontweight="bold")
    x += me.width("Colour:", SMALL_PT, "bold") + 0.12
    for key, lab in t.legend:
        w = me.width(lab, SMALL_PT)
        if x + 0.2 + w > width - MARGIN:
            y -= 0.2
            x = MARGIN + me.width("Colour:", SMALL_PT, "bold") + 0.12
        tx.add_patch(Rectangle((x, y - 0.17), 0.12, 0.1, color=colors[key], lw=0))
        tx.text(x + 0.17, y - 0.12, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.17 + w + 0.2
    y -= legend_h
    _notes(tx, me, width, y, t.notes)
    return fig


# ------------------------------------------------------------------------------------------
# Effect direction
# ------------------------------------------------------------------------------------------

_TRI = 0.55


def _double_arrow() -> MPath:
    verts = [
        (-1.0, 0.0),
        (-0.1, _TRI),
        (-0.1, -_TRI),
        (-1.0, 0.0),
        (1.0, 0.0),
        (0.1, _TRI),
        (0.1, -_TRI),
        (1.0, 0.0),
    ]
    codes = [MPath.MOVETO, MPath.LINETO, MPath.LINETO, MPath.CLOSEPOLY] * 2
    return MPath(verts, codes)


ROB_FILL = {
    "low": "#1a1a1a",
    "some_concerns": "#9a9a9a",
    "high": "#ffffff",
    "not_assessed": "#cfe3f3",
}
SIZE_PT = {"small": 7.0, "medium": 10.0, "large": 13.5}
#: ``zorder`` of the direction markers: over the grid and the texts ("?" one above them)
MARKER_Z = 4.0


def _direction_marker(direction: str):
    if direction == "better_with_ldn":
        return "^"
    if direction == "worse_with_ldn":
        return "v"
    if direction == "no_clear_difference":
        return _double_arrow()
    return None


def draw_effect_direction(t: EffectDirectionTable, condition_label: str) -> Figure:
    """Render the effect-direction plot (Thomson & Thomas 2013)."""
    me = Measurer()
    st = t.studies
    slot_w = 0.24
    max_slots = t.cells.groupby(["study_id", "domain"]).size().max() if len(t.cells) else 1
    heads = []
    for _, lab in t.domains:
        heads.append(me.wrap(lab, 0.95, SMALL_PT, "bold"))
    col_w = [max(me.width(h, SMALL_PT, "bold"), max_slots * slot_w) + 0.16 for h in heads]
    lab_w = (
        max([me.width(s, BASE_PT) for s in st["label"]] + [me.width("Study", BASE_PT, "bold")])
        + 0.15
    )
    des_w = max([me.width(s, SMALL_PT) for s in st["design"]] + [0.6]) + 0.15
    n_w = 0.45
    width = max(6.5, 2 * MARGIN + lab_w + des_w + n_w + sum(col_w))
    head_lines = max([h.count("\n") + 1 for h in heads] + [1])
    head_h = head_lines * 0.15 + 0.12
    row_h = 0.34
    legend_h = 0.95
    title = f"Effect direction: {condition_label}"
    subtitle = "Outcomes synthesised without meta-analysis (SWiM), studies \u00d7 outcome domains"
    notes_h = _notes_height(me, width, t.notes)
    th = _title_height(me, width, title, subtitle)
    rows_h = max(1, len(st)) * row_h
    height = MARGIN + th + head_h + rows_h + 0.1 + legend_h + notes_h + MARGIN
    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)
    y = _title(tx, me, width, height - MARGIN, title, subtitle)
    xs = [MARGIN, MARGIN + lab_w, MARGIN + lab_w + des_w]
    x_dom = MARGIN + lab_w + des_w + n_w
    tx.text(xs[0], y - head_h / 2, "Study", ha="left", va="center", fontweight="bold")
    tx.text(
        xs[1],
        y - head_h / 2,
        "Design",
        ha="left",
        va="center",
        fontsize=SMALL_PT,
        fontweight="bold",
    )
    tx.text(
        xs[2] + n_w - 0.1,
        y - head_h / 2,
        "n",
        ha="right",
        va="center",
        fontsize=SMALL_PT,
        fontweight="bold",
    )
    col_x = np.cumsum([x_dom, *col_w])
    for j, h in enumerate(heads):
        tx.text(
            col_x[j] + col_w[j] / 2,
            y - head_h / 2,
            h,
            ha="center",
            va="center",
            fontsize=SMALL_PT,
            fontweight="bold",
            linespacing=1.1,
        )
    y -= head_h
    tx.plot([MARGIN, width - MARGIN], [y, y], color="#888888", lw=0.7)
    rows_top = y
    ypos = {}
    for i, r in zip(st.index, records(st), strict=True):
        yc = rows_top - (i + 0.5) * row_h
        ypos[r["study_id"]] = yc
        if i % 2 == 1:
            tx.add_patch(
                Rectangle(
                    (MARGIN, yc - row_h / 2), width - 2 * MARGIN, row_h, color=BAND, lw=0, zorder=0
                )
            )
        tx.text(xs[0], yc, r["label"], ha="left", va="center")
        tx.text(xs[1], yc, r["design"], ha="left", va="center", fontsize=SMALL_PT)
        tx.text(xs[2] + n_w - 0.1, yc, r["n"], ha="right", va="center", fontsize=SMALL_PT)
    for j in range(len(col_w) + 1):
        tx.plot([col_x[j], col_x[j]], [rows_top, rows_top - rows_h], color="#dddddd", lw=0.5)
    dom_index = {d: j for j, (d, _) in enumerate(t.domains)}
    counts = t.cells.groupby(["study_id", "domain"]).size().to_dict()
    # one line of markers per marker style (direction, size, fill), in order of appearance
    markers: dict[tuple[str, str, str], tuple[list[float], list[float]]] = {}
    for c in records(t.cells):
        j = dom_index[c["domain"]]
        n_in = counts[(c["study_id"], c["domain"])]
        xc = col_x[j] + col_w[j] / 2 + (c["slot"] - (n_in - 1) / 2) * slot_w
        yc = ypos[c["study_id"]]
        if _direction_marker(c["direction"]) is None:
            tx.text(
                xc,
                yc,
                "?",
                ha="center",
                va="center",
                fontsize=BASE_PT + 1,
                fontweight="bold",
                color="#555555",
                zorder=MARKER_Z + 1,
            )
            continue
        fill = ROB_FILL.get(c["rob"], "#cfe3f3")
        at = markers.setdefault((c["direction"], c["size_class"], fill), ([], []))
        at[0].append(xc)
        at[1].append(yc)
    for (direction, size_class, fill), (mx, my) in markers.items():
        tx.plot(
            mx,
            my,
            marker=_direction_marker(direction),
            ms=SIZE_PT[size_class],
            mfc=fill,
            mec="black",
            mew=0.8,
            ls="none",
            zorder=MARKER_Z,
        )
    if not len(st):
        tx.text(
            MARGIN,
            rows_top - 0.2,
            "No outcomes in the narrative synthesis.",
            ha="left",
            va="center",
        )
    y = rows_top - rows_h - 0.15
    # legend: direction, size, risk of bias
    x = MARGIN
    for d in ("better_with_ldn", "worse_with_ldn", "no_clear_difference", "not_reported"):
        mk = _direction_marker(d)
        if mk is None:
            tx.text(
                x + 0.08,
                y - 0.1,
                "?",
                ha="center",
                va="center",
                fontweight="bold",
                color="#555555",
                zorder=MARKER_Z + 1,
            )
        else:
            tx.plot(
                [x + 0.08],
                [y - 0.1],
                marker=mk,
                ms=9,
                mfc="#9a9a9a",
                mec="black",
                mew=0.8,
                ls="none",
                zorder=MARKER_Z,
            )
        lab = DIRECTION_LABEL[d]
        tx.text(x + 0.22, y - 0.1, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.22 + me.width(lab, SMALL_PT) + 0.25
    y -= 0.3
    x = MARGIN
    tx.text(
        x, y - 0.1, "Participants:", ha="left", va="center", fontsize=SMALL_PT, fontweight="bold"
    )
    x += me.width("Participants:", SMALL_PT, "bold") + 0.15
    for key, lab in SIZE_CLASSES:
        tx.plot(
            [x + 0.08],
            [y - 0.1],
            marker="^",
            ms=SIZE_PT[key],
            mfc="#9a9a9a",
            mec="black",
            mew=0.8,
            ls="none",
            zorder=MARKER_Z,
        )
        tx.text(x + 0.22, y - 0.1, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.22 + me.width(lab, SMALL_PT) + 0.25
    y -= 0.3
    x = MARGIN
    tx.text(
        x, y - 0.1, "Risk of bias:", ha="left", va="center", fontsize=SMALL_PT, fontweight="bold"
    )
    x += me.width("Risk of bias:", SMALL_PT, "bold") + 0.15
    for key in ROB_ORDER:
        tx.plot(
            [x + 0.08],
            [y - 0.1],
            marker="^",
            ms=9,
            mfc=ROB_FILL[key],
            mec="black",
            mew=0.8,
            ls="none",
            zorder=MARKER_Z,
        )
        lab = rob_label(key)
        tx.text(x + 0.22, y - 0.1, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.22 + me.width(lab, SMALL_PT) + 0.25
    y -= 0.35
    _notes(tx, me, width, y, t.notes)
    return fig


# ------------------------------------------------------------------------------------------
# Risk of bias
# ------------------------------------------------------------------------------------------

ROB_SYMBOL = {"low": "+", "some_concerns": "\u2212", "high": "\u00d7", "not_assessed": "?"}


def draw_rob_traffic_light(t: RobTable, condition_label: str) -> Figure:
    """Render the traffic-light plot (robvis layout)."""
    me = Measurer()
    rows = t.rows
    lab_w = max([me.width(s, BASE_PT) for s in rows["label"]] + [0.8]) + 0.2
    des_w = max([me.width(s, SMALL_PT) for s in rows["design"]] + [0.8]) + 0.2
    tool_w = max([me.width(s, SMALL_PT) for s in rows["tool"]] + [0.7]) + 0.2
    head = "Overall\n(provisional)" if t.provisional else "Overall"
    col_w = max(me.width(head, SMALL_PT, "bold"), 0.6) + 0.3
    width = max(6.0, 2 * MARGIN + lab_w + des_w + tool_w + col_w * len(t.columns))
    row_h = 0.34
    title = f"Risk of bias (traffic light): {condition_label}"
    subtitle = (
        "PROVISIONAL \u2014 overall judgement derived from the study design; domain-level "
        "assessments not yet done"
        if t.provisional
        else "Overall risk-of-bias judgement"
    )
    legend_h = 0.4
    notes_h = _notes_height(me, width, t.notes)
    th = _title_height(me, width, title, subtitle)
    head_h = 0.42
    rows_h = max(1, len(rows)) * row_h
    height = MARGIN + th + head_h + rows_h + 0.1 + legend_h + notes_h + MARGIN
    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)
    y = _title(tx, me, width, height - MARGIN, title, subtitle)
    xs = np.cumsum([MARGIN, lab_w, des_w, tool_w])
    for x, h, size in (
        (xs[0], "Study", BASE_PT),
        (xs[1], "Design", SMALL_PT),
        (xs[2], "Tool", SMALL_PT),
    ):
        tx.text(x, y - head_h / 2, h, ha="left", va="center", fontsize=size, fontweight="bold")
    for j, _ in enumerate(t.columns):
        tx.text(
            xs[3] + (j + 0.5) * col_w,
            y - head_h / 2,
            head,
            ha="center",
            va="center",
            fontsize=SMALL_PT,
            fontweight="bold",
            linespacing=1.1,
        )
    y -= head_h
    tx.plot([MARGIN, width - MARGIN], [y, y], color="#888888", lw=0.7)
    # one line of circles per judgement, in order of appearance
    circles: dict[str, tuple[list[float], list[float]]] = {}
    for i, r in zip(rows.index, records(rows), strict=True):
        yc = y - (i + 0.5) * row_h
        if i % 2 == 1:
            tx.add_patch(
                Rectangle(
                    (MARGIN, yc - row_h / 2), width - 2 * MARGIN, row_h, color=BAND, lw=0, zorder=0
                )
            )
        tx.text(xs[0], yc, r["label"], ha="left", va="center")
        tx.text(xs[1], yc, r["design"], ha="left", va="center", fontsize=SMALL_PT)
        tx.text(xs[2], yc, r["tool"], ha="left", va="center", fontsize=SMALL_PT)
        for j, (key, _) in enumerate(t.columns):
            lvl = str(r[key])
            xc = xs[3] + (j + 0.5) * col_w
            at = circles.setdefault(lvl, ([], []))
            at[0].append(xc)
            at[1].append(yc)
            tx.text(
                xc,
                yc,
                ROB_SYMBOL.get(lvl, "?"),
                ha="center",
                va="center",
                fontsize=BASE_PT + 2,
                fontweight="bold",
                color="black" if lvl in ("some_concerns", "not_assessed") else "white",
            )
    for lvl, (cx, cy) in circles.items():
        tx.plot(
            cx,
            cy,
            marker="o",
            ls="none",
            ms=17,
            mfc=ROB_COLORS.get(lvl, "#aaaaaa"),
            mec="#333333",
            mew=0.6,
        )
    if not len(rows):
        tx.text(MARGIN, y - 0.2, "No included studies.", ha="left", va="center")
    y -= rows_h + 0.15
    x = MARGIN
    tx.text(x, y - 0.12, "Judgement:", ha="left", va="center", fontsize=SMALL_PT, fontweight="bold")
    x += me.width("Judgement:", SMALL_PT, "bold") + 0.15
    for lvl in ROB_ORDER:
        tx.plot(
            [x + 0.07],
            [y - 0.12],
            marker="o",
            ls="none",
            ms=10,
            mfc=ROB_COLORS[lvl],
            mec="#333333",
            mew=0.5,
        )
        tx.text(
            x + 0.07,
            y - 0.12,
            ROB_SYMBOL[lvl],
            ha="center",
            va="center",
            fontsize=SMALL_PT - 1,
            fontweight="bold",
            color="black" if lvl in ("some_concerns", "not_assessed") else "white",
        )
        lab = rob_label(lvl)
        tx.text(x + 0.2, y - 0.12, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.2 + me.width(lab, SMALL_PT) + 0.25
    y -= legend_h
    _notes(tx, me, width, y, t.notes)
    return fig


def draw_rob_summary(t: RobSummaryTable, condition_label: str) -> Figure:
    """Render the weighted risk-of-bias summary bars (robvis ``rob_summary`` layout)."""
    me = Measurer()
    bars = list(dict.fromkeys(t.bars["bar"]))
    lab_w = max(me.width(b, SMALL_PT) for b in bars) + 0.2
    width = 7.5
    title = f"Risk of bias (summary): {condition_label}"
    subtitle = (
        "PROVISIONAL \u2014 design-based overall judgements"
        if t.provisional
        else "Overall risk-of-bias judgements"
    )
    th = _title_height(me, width, title, subtitle)
    notes_h = _notes_height(me, width, t.notes)
    bar_h, gap = 0.36, 0.16
    plot_h = len(bars) * (bar_h + gap)
    height = MARGIN + th + plot_h + 0.45 + 0.35 + notes_h + MARGIN
    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)
    y = _title(tx, me, width, height - MARGIN, title, subtitle)
    x0 = MARGIN + lab_w
    pw = width - MARGIN - x0 - 0.1
    ax = PlotArea(tx, x0, y - plot_h, pw, plot_h, (0, 100), (len(bars) - 0.5, -0.5), "white")
    ax.x_axis([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], labelsize=SMALL_PT)
    bar_w = bar_h / (bar_h + gap)  # a bar's height in rows
    for i, b in enumerate(bars):
        tx.text(
            x0 - 0.1, y - (i + 0.5) * (bar_h + gap), b, ha="right", va="center", fontsize=SMALL_PT
        )
        left = 0.0
        sub = t.bars[t.bars["bar"] == b]
        for r in records(sub):
            p = float(r["percent"])
            if p <= 0:
                continue
            ax.add_patch(
                Rectangle(
                    (left, i - bar_w / 2),
                    p,
                    bar_w,
                    facecolor=ROB_COLORS[r["level"]],
                    edgecolor="white",
                    linewidth=0.8,
                )
            )
            if p / 100 * pw > 0.45:
                ax.text(
                    left + p / 2,
                    i,
                    f"{p:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=SMALL_PT,
                    fontweight="bold",
                    color="black" if r["level"] in ("some_concerns", "not_assessed") else "white",
                )
            left += p
    y -= plot_h + 0.45
    x = MARGIN
    for lvl in ROB_ORDER:
        tx.add_patch(Rectangle((x, y - 0.17), 0.14, 0.12, color=ROB_COLORS[lvl], lw=0))
        lab = rob_label(lvl)
        tx.text(x + 0.2, y - 0.11, lab, ha="left", va="center", fontsize=SMALL_PT)
        x += 0.2 + me.width(lab, SMALL_PT) + 0.3
    y -= 0.35
    _notes(tx, me, width, y, t.notes)
    return fig


# ------------------------------------------------------------------------------------------
# Study flow
# ------------------------------------------------------------------------------------------


def _ids_text(ids, me: Measurer, w: float, limit: int = 14) -> str:
    from ._text import study_label

    if not ids:
        return ""
    if len(ids) > limit:
        return f"({len(ids)} studies)"
    return me.wrap(", ".join(study_label(i) for i in ids), w, 7.5)


def draw_study_flow(t: FlowTable, condition_label: str) -> Figure:
    """Render the study-flow diagram (PRISMA 2020 layout, adapted)."""
    me = Measurer()
    width = 8.6
    title = f"Study flow: {condition_label}"
    subtitle = (
        "PRISMA 2020-style flow adapted to a curated evidence base (the extraction is the "
        "starting set; no database search is repeated here)"
    )
    th = _title_height(me, width, title, subtitle)
    main_w, side_w = 3.6, 3.9
    bottom_w = (width - 2 * MARGIN - 2 * 0.25) / 3

    def box_text(head: str, body: str, w: float) -> tuple[str, str, float]:
        hh = me.wrap(head, w - 0.2, BASE_PT, "bold")
        bb = body
        h = (hh.count("\n") + 1) * 0.17 + (bb.count("\n") + 1) * 0.15 * (1 if bb else 0) + 0.2
        return hh, bb, h

    excl_body = (
        "\n".join(
            me.wrap(f"\u2022 {reason} (n = {n})", side_w - 0.25, SMALL_PT)
            for reason, n, _ in t.excluded
        )
        or "none"
    )
    boxes = {
        "extracted": box_text(
            f"Studies in the curated extraction (n = {t.n_extracted})", "", main_w
        ),
        "excluded": box_text(f"Excluded (n = {t.n_excluded})", excl_body, side_w),
        "included": box_text(f"Included studies (n = {t.n_included})", "", main_w),
        "pooled": box_text(
            f"In \u2265 1 pooled analysis (n = {t.n_pooled})",
            me.wrap(f"{t.n_analyses_pooled} pooled analyses (k \u2265 2)", bottom_w - 0.2, SMALL_PT)
            + ("\n" + _ids_text(t.ids["pooled"], me, bottom_w - 0.2) if t.ids["pooled"] else ""),
            bottom_w,
        ),
        "single": box_text(
            f"Effect sizes in single-study analyses only (n = {t.n_single})",
            me.wrap(
                f"{t.n_analyses_single} single-study analyses (k = 1)", bottom_w - 0.2, SMALL_PT
            )
            + ("\n" + _ids_text(t.ids["single"], me, bottom_w - 0.2) if t.ids["single"] else ""),
            bottom_w,
        ),
        "narrative": box_text(
            f"Narrative synthesis only (n = {t.n_narrative})",
            me.wrap(
                f"{t.n_outcomes_narrative} outcomes without a pooled analysis",
                bottom_w - 0.2,
                SMALL_PT,
            )
            + (
                "\n" + _ids_text(t.ids["narrative"], me, bottom_w - 0.2)
                if t.ids["narrative"]
                else ""
            ),
            bottom_w,
        ),
    }
    gap = 0.45
    row1 = max(boxes["extracted"][2], 0.5)
    row2 = max(boxes["excluded"][2], 0.5)
    row3 = max(boxes["included"][2], 0.5)
    row4 = max(boxes[k][2] for k in ("pooled", "single", "narrative"))
    height = MARGIN + th + row1 + gap + row2 + gap + row3 + gap + row4 + 0.2 + MARGIN
    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)
    y = _title(tx, me, width, height - MARGIN, title, subtitle) - 0.05
    mx = MARGIN + 0.2

    def draw_box(key: str, x: float, ytop: float, w: float, h: float, fc: str) -> None:
        hh, bb, _ = boxes[key]
        tx.add_patch(
            FancyBboxPatch(
                (x, ytop - h),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.06",
                fc=fc,
                ec="#333333",
                lw=0.9,
            )
        )
        tx.text(x + 0.1, ytop - 0.1, hh, ha="left", va="top", fontweight="bold", linespacing=1.15)
        if bb:
            tx.text(
                x + 0.1,
                ytop - 0.1 - (hh.count("\n") + 1) * 0.17 - 0.03,
                bb,
                ha="left",
                va="top",
                fontsize=SMALL_PT,
                linespacing=1.25,
                color="#222222",
            )

    def arrow(x1, y1, x2, y2):
        tx.add_patch(
            FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                arrowstyle="-|>",
                mutation_scale=12,
                color="#333333",
                lw=1.0,
                shrinkA=0,
                shrinkB=0,
            )
        )

    draw_box("extracted", mx, y, main_w, row1, "#e8f0f8")
    y_mid = y - row1 - gap - row2 / 2
    y_inc = y - row1 - gap - row2 - gap
    spine_x = mx + main_w / 2
    arrow(spine_x, y - row1, spine_x, y_inc)
    side_x = width - MARGIN - side_w
    draw_box("excluded", side_x, y_mid + row2 / 2, side_w, row2, "#fbeaea")
    tx.plot([spine_x, side_x], [y_mid, y_mid], color="#333333", lw=1.0)
    arrow(side_x - 0.3, y_mid, side_x, y_mid)
    draw_box("included", mx, y_inc, main_w, row3, "#e8f0f8")
    y_b = y_inc - row3 - gap
    xs = [MARGIN + i * (bottom_w + 0.25) for i in range(3)]
    tx.plot([spine_x, spine_x], [y_inc - row3, y_b + gap / 2], color="#333333", lw=1.0)
    tx.plot(
        [xs[0] + bottom_w / 2, xs[2] + bottom_w / 2], [y_b + gap / 2] * 2, color="#333333", lw=1.0
    )
    for key, x, fc in zip(
        ("pooled", "single", "narrative"), xs, ("#e6f4ea", "#fdf6e3", "#f2f2f2"), strict=True
    ):
        arrow(x + bottom_w / 2, y_b + gap / 2, x + bottom_w / 2, y_b)
        draw_box(key, x, y_b, bottom_w, row4, fc)
    return fig
