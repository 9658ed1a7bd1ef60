"""Figure artists placed as an Axes places them (plots/_sheet.py) draw the pixels that the Axes
draws: a plot drawn both ways, with every method the figures use, gives the same PNG pixels."""

import numpy as np
import pytest
from matplotlib.patches import Polygon

from ldn_evidence.plots import _mpl
from ldn_evidence.plots._sheet import PlotArea, Sheet

WIDTH, HEIGHT = 5.3, 3.1
X0, Y0, W, H = 1.4, 0.9, 3.2, 1.7
XLIM, YLIM = (-1.7, 2.3), (0.4, 4.6)
TICKS, LABELS = [-1.5, 0.0, 1.0, 2.0], ["−1.5", "0", "1.0", "2.0"]


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _contents(plot, text) -> None:
    """The marks of a forest plot, evidence map and bar chart, on ``plot`` (an Axes or a
    PlotArea); ``text`` places a figure text in inches."""
    text(0.2, 2.9, "Title of the figure", ha="left", va="top", fontsize=11, fontweight="bold")
    text(0.2, 2.0, "Bruun 2024\nsecond line", ha="left", va="center", linespacing=1.25)
    plot.axvline(0.0, color="#333333", lw=0.8, zorder=1)
    plot.axvline(0.7, color="#1f5f99", lw=0.7, ls=(0, (3, 3)), zorder=1, alpha=0.7)
    plot.plot([-1.2, 1.9], [3.5, 3.5], color="black", lw=0.9, zorder=2, solid_capstyle="butt")
    plot.plot(
        [0.4],
        [3.5],
        marker="s",
        markersize=7.3,
        markerfacecolor="#4d4d4d",
        markeredgecolor="#4d4d4d",
        markeredgewidth=0.5,
        linestyle="none",
        zorder=4,
    )
    plot.plot([XLIM[1]], [2.5], marker=">", markersize=5, color="black", clip_on=False, zorder=3)
    plot.add_patch(
        Polygon(
            [(-0.3, 1.5), (0.5, 1.8), (1.4, 1.5), (0.5, 1.2)],
            closed=True,
            facecolor="#1f5f99",
            edgecolor="black",
            lw=0.7,
            zorder=4,
        )
    )
    plot.fill_between([-1.0, 2.2], 0.9, 1.1, color="#c0392b", lw=0, zorder=3)
    plot.scatter(
        1.2,
        2.5,
        s=60.0,
        marker="D",
        facecolors="#E69F00",
        edgecolors="black",
        linewidths=0.6,
        zorder=5,
    )
    plot.text(-1.5, 4.2, "12%", ha="left", va="center", fontsize=8)


def _axes_figure(background):
    fig = _mpl.new_figure(WIDTH, HEIGHT)
    page = fig.add_axes((0, 0, 1, 1))
    page.set_xlim(0, WIDTH)
    page.set_ylim(0, HEIGHT)
    page.set_axis_off()
    ax = fig.add_axes((X0 / WIDTH, Y0 / HEIGHT, W / WIDTH, H / HEIGHT))
    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.set_xticks(TICKS)
    ax.set_xticklabels(LABELS, fontsize=_mpl.SMALL_PT)
    ax.tick_params(axis="x", length=3, width=0.7, pad=2)
    if background is None:
        ax.patch.set_alpha(0.0)
    else:
        ax.set_facecolor(background)

    class Plot:  # what the figures call, spelt as the Axes spells it
        axvline = ax.axvline
        plot = ax.plot
        add_patch = ax.add_patch
        fill_between = ax.fill_between
        text = ax.text

        @staticmethod
        def scatter(x, y, s, marker, **kwargs):
            return ax.scatter([x], [y], s=s, marker=marker, **kwargs)

    _contents(Plot, page.text)
    return fig


def _sheet_figure(background):
    fig = _mpl.new_figure(WIDTH, HEIGHT)
    sheet = Sheet(fig)
    plot = PlotArea(sheet, X0, Y0, W, H, XLIM, YLIM, background)
    plot.x_axis(TICKS, LABELS, length=3, width=0.7, pad=2, labelsize=_mpl.SMALL_PT)
    _contents(plot, sheet.text)
    return fig


@pytest.mark.parametrize("background", [None, "white", "#f0f0f0"])
def test_a_plot_area_draws_the_pixels_of_an_axes(background):
    with _mpl.style():
        expected = _pixels(_axes_figure(background))
        got = _pixels(_sheet_figure(background))
    assert expected.shape == got.shape
    differ = np.argwhere((expected != got).any(axis=2))
    assert len(differ) == 0, f"{len(differ)} pixels differ, first at {differ[:5].tolist()}"
