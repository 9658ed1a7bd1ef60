"""Draw a :class:`~ldn_evidence.plots.table_forest.ForestTable` (matplotlib; rendering only).

The layout is measured, not guessed: every text column is as wide as its widest cell (study
labels wrap beyond :data:`LABEL_MAX_IN`), every row as tall as its wrapped text, and the figure
as large as the sum, so nothing overlaps or is clipped with 1 or 30 studies, long names or
extreme intervals.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from ..io.tables import records
from . import _mpl
from ._axis import Axis
from ._mpl import BASE_PT, SMALL_PT, Measurer
from ._sheet import PlotArea, Sheet
from .table_forest import ForestTable

LABEL_MAX_IN = 2.5
GAP_IN = 0.14
MARGIN_IN = 0.2
LINE_IN = 0.168  # one line of 9 pt text with leading
ROW_PAD_IN = 0.07
TARGET_W_IN = 8.4
PLOT_MIN_IN, PLOT_MAX_IN = 2.3, 3.2
FOOT_PT = 8.5
NOTE_PT = 8.0

SQUARE = "#4d4d4d"
DIAMOND = "#1f5f99"
SUB_DIAMOND = "#8fbbe0"
PI_COLOR = "#c0392b"
RULE = "#888888"
NOTE = "#444444"


def thin_ticks(me: Measurer, axis: Axis, plot_w: float) -> tuple[list[float], list[str]]:
    """Drop every other tick (keeping the null) until the tick labels do not touch."""
    ticks, labels = list(axis.ticks), list(axis.labels)
    span = axis.hi - axis.lo
    null_i = ticks.index(axis.null) if axis.null in ticks else 0
    stride = 1
    while True:
        idx = [i for i in range(len(ticks)) if (i - null_i) % stride == 0]
        pos = [(ticks[i] - axis.lo) / span * plot_w for i in idx]
        wid = [me.width(labels[i], SMALL_PT) for i in idx]
        ok = all(
            pos[j + 1] - pos[j] >= (wid[j] + wid[j + 1]) / 2 + 0.08 for j in range(len(idx) - 1)
        )
        if ok or len(idx) <= 2:
            return [ticks[i] for i in idx], [labels[i] for i in idx]
        stride += 1


def _row_font(style: str) -> tuple[float, str, str]:
    if style == "bold":
        return BASE_PT, "bold", "normal"
    if style == "italic":
        return SMALL_PT, "normal", "italic"
    return BASE_PT, "normal", "normal"


def draw_forest(t: ForestTable) -> Figure:
    """Render the forest plot; call inside :func:`ldn_evidence.plots._mpl.style`."""
    me = Measurer()
    rows = t.rows.reset_index(drop=True)
    recs = records(rows)
    span_kinds = {"subgroup_header", "subgroup_note", "note"}

    # --- column widths -------------------------------------------------------------------
    def col_width(key: str, header: tuple[str, str], wrap_label: bool) -> float:
        w = max(me.width(h, BASE_PT, "bold") for h in header)
        for r in recs:
            if key == "label" and r["kind"] in span_kinds:
                continue
            s = str(r["weight_text"] if key == "weight" else r[key])
            size, weight, _ = _row_font(str(r["style"]))
            cw = me.width(s, size, weight)
            if wrap_label:
                cw = min(cw, LABEL_MAX_IN)
            w = max(w, cw)
        return w + GAP_IN

    left_w = [col_width(c.key, c.header, c.key == "label") for c in t.columns_left]
    right_w = [col_width(c.key, c.header, False) for c in t.columns_right]
    text_w = sum(left_w) + sum(right_w)
    plot_w = min(PLOT_MAX_IN, max(PLOT_MIN_IN, TARGET_W_IN - text_w - 2 * MARGIN_IN))
    width = 2 * MARGIN_IN + text_w + plot_w + GAP_IN
    inner_w = width - 2 * MARGIN_IN
    left_block_w = sum(left_w) - GAP_IN

    # x positions
    xs_left = np.cumsum([MARGIN_IN, *left_w])
    plot_x0 = xs_left[-1]
    plot_x1 = plot_x0 + plot_w
    xs_right = np.cumsum([plot_x1 + GAP_IN, *right_w])

    # --- wrapped texts and row heights ---------------------------------------------------
    labels: list[str] = []
    heights: list[float] = []
    for r in recs:
        size, weight, _ = _row_font(str(r["style"]))
        maxw = left_block_w if r["kind"] in span_kinds else left_w[0] - GAP_IN
        lab = me.wrap(str(r["label"]), maxw, size, weight)
        labels.append(lab)
        n_lines = lab.count("\n") + 1
        heights.append(n_lines * LINE_IN * size / BASE_PT + ROW_PAD_IN)

    title = me.wrap(t.title, inner_w, 11.0, "bold")
    subtitle = me.wrap(t.subtitle, inner_w, SMALL_PT)
    foot = [me.wrap(s, inner_w, FOOT_PT) for s in t.footer]
    notes = [me.wrap(s, inner_w, NOTE_PT) for s in t.footnotes]

    title_h = (title.count("\n") + 1) * 0.21 + (subtitle.count("\n") + 1) * 0.16 + 0.1
    header_h = 2 * LINE_IN + 0.06
    rows_h = float(sum(heights)) + 0.05
    axis_h = 0.78 if (t.favours_left or t.favours_right) else 0.56
    foot_h = sum((s.count("\n") + 1) * 0.16 for s in foot) + sum(
        (s.count("\n") + 1) * 0.15 for s in notes
    )
    foot_h += 0.12 if foot or notes else 0.0
    height = MARGIN_IN + title_h + header_h + rows_h + axis_h + foot_h + MARGIN_IN

    fig = _mpl.new_figure(width, height)
    tx = Sheet(fig)

    y = height - MARGIN_IN
    tx.text(MARGIN_IN, y, title, ha="left", va="top", fontsize=11.0, fontweight="bold")
    y -= (title.count("\n") + 1) * 0.21
    tx.text(MARGIN_IN, y, subtitle, ha="left", va="top", fontsize=SMALL_PT, color=NOTE)
    y -= (subtitle.count("\n") + 1) * 0.16 + 0.1

    # --- header ---------------------------------------------------------------------------
    def col_x(x0: float, w: float, align: str) -> tuple[float, str]:
        if align == "left":
            return x0, "left"
        if align == "center":
            return x0 + (w - GAP_IN) / 2, "center"
        return x0 + w - GAP_IN, "right"

    head_top = y
    for cols, xs, ws in ((t.columns_left, xs_left, left_w), (t.columns_right, xs_right, right_w)):
        for c, x0, w in zip(cols, xs, ws, strict=False):
            x, ha = col_x(float(x0), w, c.align)
            for i, h in enumerate(c.header):
                if h:
                    tx.text(
                        x,
                        head_top - (i + 0.5) * LINE_IN,
                        h,
                        ha=ha,
                        va="center",
                        fontweight="bold",
                    )
    y = head_top - header_h
    tx.plot([MARGIN_IN, width - MARGIN_IN], [y, y], color=RULE, lw=0.7)

    # --- rows (text) ------------------------------------------------------------------------
    rows_top = y
    centers: list[float] = []
    yy = rows_top - 0.03
    for i, r in enumerate(recs):
        h = heights[i]
        yc = yy - h / 2
        centers.append(yc)
        size, weight, fstyle = _row_font(str(r["style"]))
        color = NOTE if r["kind"] in ("subgroup_note", "note") else "black"
        tx.text(
            MARGIN_IN,
            yc,
            labels[i],
            ha="left",
            va="center",
            fontsize=size,
            fontweight=weight,
            fontstyle=fstyle,
            color=color,
            linespacing=1.25,
        )
        if r["kind"] not in span_kinds:
            for cols, xs, ws in (
                (t.columns_left, xs_left, left_w),
                (t.columns_right, xs_right, right_w),
            ):
                for c, x0, w in zip(cols, xs, ws, strict=False):
                    if c.key == "label":
                        continue
                    s = str(r["weight_text"] if c.key == "weight" else r[c.key])
                    if not s:
                        continue
                    x, ha = col_x(float(x0), w, c.align)
                    tx.text(x, yc, s, ha=ha, va="center", fontsize=size, fontweight=weight)
        yy -= h
    rows_bottom = rows_top - rows_h

    # --- plot area ------------------------------------------------------------------------
    ax = PlotArea(
        tx,
        plot_x0,
        rows_bottom,
        plot_w,
        rows_top - rows_bottom,
        (t.axis.lo, t.axis.hi),
        (rows_bottom, rows_top),
    )
    ticks, tick_labels = thin_ticks(me, t.axis, plot_w)
    ax.x_axis(ticks, tick_labels, length=3, width=0.7, pad=2, labelsize=SMALL_PT)

    if t.axis.null is not None:
        ax.axvline(t.axis.null, color="#333333", lw=0.8, zorder=1)
    pooled = rows[rows["kind"] == "pooled"]
    if len(pooled):
        ax.axvline(
            float(pooled["x"].iloc[0]), color=DIAMOND, lw=0.7, ls=(0, (3, 3)), zorder=1, alpha=0.7
        )

    wmax = float(np.nanmax(rows["weight"].to_numpy())) if rows["weight"].notna().any() else 0.0
    max_side_pt = 0.82 * LINE_IN * 72
    min_side_pt = 3.0
    lo, hi = t.axis.lo, t.axis.hi
    span = hi - lo
    arrow_pt = 5.0
    for i, r in enumerate(recs):
        yc = centers[i]
        marker = r["marker"]
        x, xl, xh = float(r["x"]), float(r["x_lo"]), float(r["x_hi"])
        if marker in ("square", "square_open"):
            a, b = max(xl, lo), min(xh, hi)
            if math.isfinite(a) and math.isfinite(b) and b > a:
                ax.plot([a, b], [yc, yc], color="black", lw=0.9, zorder=2, solid_capstyle="butt")
            for flag, edge, mk in ((r["arrow_low"], lo, "<"), (r["arrow_high"], hi, ">")):
                if flag:
                    ax.plot(
                        [edge],
                        [yc],
                        marker=mk,
                        markersize=arrow_pt,
                        color="black",
                        clip_on=False,
                        zorder=3,
                    )
            w = float(r["weight"]) if not math.isnan(float(r["weight"])) else wmax
            side = max_side_pt * math.sqrt(w / wmax) if wmax > 0 and w > 0 else min_side_pt
            side = max(side, min_side_pt)
            filled = marker == "square"
            ax.plot(
                [x],
                [yc],
                marker="s",
                markersize=side,
                markerfacecolor=SQUARE if filled else "white",
                markeredgecolor="black" if not filled else SQUARE,
                markeredgewidth=1.0 if not filled else 0.5,
                linestyle="none",
                zorder=4,
            )
        elif marker == "diamond":
            for flag, edge, mk in ((r["arrow_low"], lo, "<"), (r["arrow_high"], hi, ">")):
                if flag:
                    ax.plot(
                        [edge],
                        [yc],
                        marker=mk,
                        markersize=arrow_pt,
                        color="black",
                        clip_on=False,
                        zorder=5,
                    )
            hh = 0.32 * LINE_IN if r["kind"] == "subgroup_pooled" else 0.38 * LINE_IN
            color = SUB_DIAMOND if r["kind"] == "subgroup_pooled" else DIAMOND
            ax.add_patch(
                Polygon(
                    [(xl, yc), (x, yc + hh), (xh, yc), (x, yc - hh)],
                    closed=True,
                    facecolor=color,
                    edgecolor="black",
                    lw=0.7,
                    zorder=4,
                )
            )
        elif marker == "pi_bar":
            a, b = max(xl, lo), min(xh, hi)
            hh = 0.12 * LINE_IN
            ax.fill_between([a, b], yc - hh, yc + hh, color=PI_COLOR, lw=0, zorder=3)
            for flag, edge, mk in ((r["arrow_low"], lo, "<"), (r["arrow_high"], hi, ">")):
                if flag:
                    ax.plot(
                        [edge],
                        [yc],
                        marker=mk,
                        markersize=arrow_pt,
                        color=PI_COLOR,
                        clip_on=False,
                        zorder=3,
                    )

    # --- under the axis ---------------------------------------------------------------------
    y = rows_bottom - 0.34
    null = t.axis.null
    if (t.favours_left or t.favours_right) and null is not None:
        xn = plot_x0 + (null - lo) / span * plot_w
        tx.text(
            xn - 0.06,
            y,
            "\u2190 " + t.favours_left,
            ha="right",
            va="center",
            fontsize=SMALL_PT,
            color=NOTE,
        )
        tx.text(
            xn + 0.06,
            y,
            t.favours_right + " \u2192",
            ha="left",
            va="center",
            fontsize=SMALL_PT,
            color=NOTE,
        )
        y -= 0.22
    scale = me.wrap(t.scale_label, plot_w + sum(right_w), SMALL_PT)
    tx.text(
        plot_x0 + plot_w / 2,
        y,
        scale,
        ha="center",
        va="center",
        fontsize=SMALL_PT,
        fontweight="bold",
    )
    y = rows_bottom - axis_h

    # --- footer -----------------------------------------------------------------------------
    if foot or notes:
        tx.plot([MARGIN_IN, width - MARGIN_IN], [y + 0.04, y + 0.04], color=RULE, lw=0.5)
        y -= 0.08
    for s in foot:
        tx.text(MARGIN_IN, y, s, ha="left", va="top", fontsize=FOOT_PT, linespacing=1.2)
        y -= (s.count("\n") + 1) * 0.16
    for s in notes:
        tx.text(MARGIN_IN, y, s, ha="left", va="top", fontsize=NOTE_PT, color=NOTE, linespacing=1.2)
        y -= (s.count("\n") + 1) * 0.15
    return fig
