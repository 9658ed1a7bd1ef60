"""Figure artists placed as an Axes would place them, without building an Axes.

An Axes costs matplotlib its ticks, spines and limits to build, to clear at close and to lay
out at each save, about 30 ms a figure here; the figures only need its transforms. Every PNG
drawn this way is byte-identical to the one the Axes drew (``tests/unit/plots/test_sheet.py``
compares the pixels with a real Axes). They follow matplotlib 3.11's Axes (transforms, clip
rectangle, bottom spine, x ticks): the pin in ``constraints.txt`` keeps them in step.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.collections import FillBetweenPolyCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import TICKDOWN, Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import (
    Bbox,
    BboxTransformFrom,
    BboxTransformTo,
    IdentityTransform,
    ScaledTranslation,
    TransformedBbox,
    blended_transform_factory,
)


class Sheet:
    """Texts, lines and patches placed in inches from the figure's lower left corner.

    They are artists of the figure itself, not of an Axes spanning the figure: an Axes costs
    matplotlib its ticks, spines and limits to build, to clear at close and to lay out at
    each save, and the tables around the plots only need inches. Everything else is as such
    an Axes (limits 0 to the figure's width and height in inches) had it: the same transform
    (inches to figure fraction to pixels, so positions round to the same pixels), artists
    drawn by ``zorder``, then in the order they were added, and all of them before the
    plots (:class:`PlotArea`), which sit over the sheet as their Axes did.
    """

    #: ``zorder`` a :class:`PlotArea` adds to its artists' own: above every artist of the sheet
    PLOT_ZORDER = 10.0

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        width, height = fig.get_size_inches()
        self.transform = BboxTransformFrom(Bbox.from_bounds(0, 0, width, height)) + fig.transFigure

    def _add(self, artist: Artist) -> Artist:
        artist.set_transform(self.transform)
        self.fig.add_artist(artist)
        return artist

    def text(self, x: float, y: float, s: str, **kwargs) -> Text:
        """A text at (``x``, ``y``) inches; ``kwargs`` as for :class:`matplotlib.text.Text`."""
        return self._add(Text(x, y, s, **kwargs))

    def plot(self, xs, ys, **kwargs) -> Line2D:
        """A line (or markers) through the points (``xs``, ``ys``) in inches; ``kwargs`` as
        for :class:`matplotlib.lines.Line2D`."""
        return self._add(Line2D(xs, ys, **kwargs))

    def add_patch(self, patch: Patch) -> Patch:
        """``patch``, its coordinates read as inches."""
        return self._add(patch)


class PlotArea:
    """A plot with fixed limits, a bottom spine and x ticks, drawn as matplotlib's Axes draws
    one, by artists of the sheet's figure (no Axes to build, clear and lay out).

    The transforms, clip rectangle, spine, tick marks and tick labels are those an Axes at
    (``x0``, ``y0``) inches, ``w`` by ``h`` inches, with limits ``xlim`` and ``ylim``, makes
    (its ``transData``, ``get_xaxis_transform()``, ``patch``, bottom spine and ``XTick``), and
    the artists are drawn in the order that Axes would draw them (by ``zorder`` within it,
    over the sheet): the pixels are the same. Its background is drawn only when given a
    ``background`` colour (an Axes's ``patch``). The artists of several plots on one sheet
    are drawn interleaved by ``zorder``, not plot after plot: plots must not overlap.
    """

    def __init__(
        self,
        sheet: Sheet,
        x0: float,
        y0: float,
        w: float,
        h: float,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        background: str | None = None,
    ) -> None:
        fig = self.fig = sheet.fig
        self.xlim = xlim
        width, height = fig.get_size_inches()
        position = Bbox.from_bounds(x0 / width, y0 / height, w / width, h / height)
        self.trans_axes = BboxTransformTo(TransformedBbox(position, fig.transFigure))
        limits = Bbox([[xlim[0], ylim[0]], [xlim[1], ylim[1]]])
        self.trans_data = BboxTransformFrom(limits) + self.trans_axes
        #: x in data, y in fractions of the plot's height (as ``Axes.get_xaxis_transform``)
        self.trans_x = blended_transform_factory(self.trans_data, self.trans_axes)
        #: what clipped artists are clipped to (an Axes's ``patch``)
        self.patch = Rectangle((0.0, 0.0), 1.0, 1.0, transform=self.trans_axes)
        if background is not None:  # first: under everything of the plot
            self.patch.set(facecolor=background, edgecolor="none", linewidth=0)
            self.patch.set_zorder(Sheet.PLOT_ZORDER)
            self.fig.add_artist(self.patch)

    def _add(self, artist: Artist, transform=None) -> Artist:
        artist.set_transform(self.trans_data if transform is None else transform)
        artist.set_clip_path(self.patch)
        artist.set_zorder(Sheet.PLOT_ZORDER + artist.get_zorder())
        self.fig.add_artist(artist)
        return artist

    def plot(self, xs, ys, **kwargs) -> Line2D:
        """A line (or markers) through (``xs``, ``ys``) in data coordinates, as ``Axes.plot``
        (``kwargs`` as for :class:`matplotlib.lines.Line2D`; clipped unless ``clip_on=False``).
        """
        return self._add(Line2D(xs, ys, **kwargs))

    def axvline(self, x: float, **kwargs) -> Line2D:
        """A vertical line at ``x`` over the whole height, as ``Axes.axvline``."""
        return self._add(Line2D([x, x], [0, 1], **kwargs), self.trans_x)

    def add_patch(self, patch: Patch) -> Patch:
        """``patch`` in data coordinates, as ``Axes.add_patch``."""
        return self._add(patch)

    def text(self, x: float, y: float, s: str, **kwargs) -> Text:
        """A text at (``x``, ``y``) in data coordinates, as ``Axes.text`` (not clipped)."""
        return self._add(Text(x, y, s, **{"clip_on": False, **kwargs}))

    def scatter(self, x: float, y: float, s: float, marker: str, **kwargs) -> PathCollection:
        """One marker of area ``s`` (points squared) at (``x``, ``y``), as ``Axes.scatter``
        makes it: the marker's path at ``offsets`` in data coordinates; ``kwargs``
        (``facecolors``, ``edgecolors``, ``linewidths``, ``alpha``, ...) as for
        :class:`matplotlib.collections.PathCollection`."""
        style = MarkerStyle(marker)
        collection = PathCollection(
            (style.get_path().transformed(style.get_transform()),),
            [s],
            offsets=[[x, y]],
            offset_transform=self.trans_data,
            **kwargs,
        )
        return self._add(collection, IdentityTransform())

    def fill_between(self, xs, y1, y2, **kwargs) -> FillBetweenPolyCollection:
        """The area between ``y1`` and ``y2`` over ``xs``, as ``Axes.fill_between``."""
        xs, y1, y2 = map(np.ma.masked_invalid, (xs, y1, y2))
        return self._add(FillBetweenPolyCollection("x", xs, y1, y2, **kwargs))

    def x_axis(
        self,
        ticks,
        labels,
        *,
        labelsize: float,
        length: float | None = None,
        width: float | None = None,
        pad: float | None = None,
    ) -> None:
        """The bottom spine and outward ticks at ``ticks`` labelled ``labels``, as an Axes
        draws them with ``tick_params(axis="x", length=, width=, pad=, labelsize=)`` (the rc
        ``xtick.major.*`` values where not given, rc colours and the spine's line width): the
        spine at ``zorder`` 2.5, ticks at 1.5."""
        rc = matplotlib.rcParams
        length = rc["xtick.major.size"] if length is None else length
        width = rc["xtick.major.width"] if width is None else width
        pad = rc["xtick.major.pad"] if pad is None else pad
        ticks = list(ticks)
        spine = PathPatch(
            Path([(self.xlim[0], 0.0), (self.xlim[1], 0.0)]),
            facecolor="none",
            edgecolor=matplotlib.rcParams["axes.edgecolor"],
            linewidth=matplotlib.rcParams["axes.linewidth"],
            capstyle="projecting",
            zorder=2.5,
        )
        spine.set_transform(self.trans_x)
        spine.set_zorder(Sheet.PLOT_ZORDER + 2.5)
        self.fig.add_artist(spine)
        color = matplotlib.rcParams["xtick.color"]
        labelcolor = matplotlib.rcParams["xtick.labelcolor"]
        if labelcolor == "inherit":
            labelcolor = color
        marks = Line2D(
            ticks,
            [0.0] * len(ticks),
            color=color,
            linestyle="none",
            marker=TICKDOWN,
            markeredgecolor=color,
            markersize=length,
            markeredgewidth=width,
            zorder=Sheet.PLOT_ZORDER + 1.5,
            transform=self.trans_x,
        )
        self.fig.add_artist(marks)
        # the labels hang below the marks: pad + length points (an XTick's text transform)
        below = self.trans_x + ScaledTranslation(
            0, -1 * (pad + length) / 72, self.fig.dpi_scale_trans
        )
        for x, label in zip(ticks, labels, strict=True):
            self.fig.add_artist(
                Text(
                    x,
                    0,
                    label,
                    fontsize=labelsize,
                    color=labelcolor,
                    verticalalignment="top",
                    horizontalalignment="center",
                    transform=below,
                    zorder=Sheet.PLOT_ZORDER + 1.5,
                )
            )
