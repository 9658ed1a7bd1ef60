"""Draw a contour-enhanced funnel plot (matplotlib; rendering only)."""

from __future__ import annotations

from matplotlib.figure import Figure

from . import _mpl
from ._mpl import BASE_PT, SMALL_PT, Measurer
from .table_funnel import FunnelTable

#: Shades from the inner (p > 0.10) to the outer (p < 0.01) region (metafor's defaults
#: in spirit: white centre, darker bands for 0.10 > p > 0.05 and 0.05 > p > 0.01).
SHADES = ("#ffffff", "#9e9e9e", "#c8c8c8", "#ededed")


def draw_funnel(t: FunnelTable) -> Figure:
    """Render the funnel plot; call inside :func:`ldn_evidence.plots._mpl.style`."""
    me = Measurer()
    width, height = 7.0, 5.6
    fig = _mpl.new_figure(width, height)
    title = me.wrap(f"Funnel plot: {t.title}", width - 0.4, 11.0, "bold")
    n_title = title.count("\n") + 1
    top = 0.35 + 0.21 * n_title
    ax = fig.add_axes(
        (0.85 / width, 1.3 / height, (width - 1.15) / width, (height - 1.3 - top) / height)
    )
    fig.text(
        0.2 / width, 1 - 0.2 / height, title, ha="left", va="top", fontsize=11.0, fontweight="bold"
    )
    lo, hi = t.axis.lo, t.axis.hi
    ax.set_xlim(lo, hi)
    ax.set_ylim(t.se_max, 0.0)
    ax.set_facecolor(SHADES[-1] if t.contours else "white")
    if t.contours:
        null = t.axis.null or 0.0
        for (_, z), shade in zip(reversed(t.contours), reversed(SHADES[:-1]), strict=True):
            ax.fill(
                [null - z * t.se_max, null, null + z * t.se_max],
                [t.se_max, 0.0, t.se_max],
                color=shade,
                lw=0,
                zorder=1,
            )
        ax.axvline(null, color="#333333", lw=0.8, zorder=2)
    e = t.estimate
    ax.plot(
        [e - 1.959964 * t.se_max, e, e + 1.959964 * t.se_max],
        [t.se_max, 0, t.se_max],
        color="black",
        lw=0.8,
        ls=(0, (4, 3)),
        zorder=3,
    )
    ax.axvline(e, color="#1f5f99", lw=1.0, zorder=3)
    p = t.points
    direct = p[~p["indirect"]]
    ind = p[p["indirect"]]
    ax.plot(
        direct["x"], direct["se"], "o", ms=5.5, mfc="black", mec="black", zorder=4, clip_on=False
    )
    ax.plot(
        ind["x"], ind["se"], "o", ms=5.5, mfc="white", mec="black", mew=1.0, zorder=4, clip_on=False
    )
    ax.set_xticks(list(t.axis.ticks))
    ax.set_xticklabels(list(t.axis.labels), fontsize=SMALL_PT)
    ax.tick_params(labelsize=SMALL_PT)
    ax.set_ylabel("Standard error", fontsize=BASE_PT)
    ax.set_xlabel(me.wrap(t.scale_label, width - 1.5, BASE_PT), fontsize=BASE_PT)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    legend = (
        "Shading: white p > 0.10; dark grey 0.05 < p < 0.10; light grey 0.01 < p < 0.05; "
        "lightest p < 0.01 (two-sided, against the null; Peters et al. 2008). Solid blue line: "
        "pooled estimate; dashed: its pseudo-95% limits. Open circles: tier C\u2013E effects. "
        f"k = {len(p)}."
    )
    fig.text(
        0.2 / width,
        0.2 / height,
        me.wrap(legend, width - 0.4, 7.5),
        ha="left",
        va="bottom",
        fontsize=7.5,
        color="#444444",
        linespacing=1.2,
    )
    return fig
