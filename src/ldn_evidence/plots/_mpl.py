"""Matplotlib set-up shared by the renderers: fixed style, text measuring, deterministic saving.

Imported only when rendering. Everything that could make two runs differ is pinned: the Agg
backend, DejaVu Sans (shipped with matplotlib), fixed sizes, no mathtext (labels are printed as
given, so ``$`` in a study name stays a dollar sign), a fixed SVG hash salt and no date or
software metadata in either format.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

from matplotlib.backends.backend_agg import get_hinting_flag
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ft2font import Kerning, LoadFlags

from ..io.atomic import atomic_write_with

DPI = 150
FONT = "DejaVu Sans"
BASE_PT = 9.0
SMALL_PT = 8.0

#: Colours (colour-blind safe; Okabe & Ito 2008 palette).
COLORS = {
    "black": "#000000",
    "grey": "#6b6b6b",
    "light": "#d9d9d9",
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
ROB_COLORS = {
    "low": "#02C100",
    "some_concerns": "#E2DF07",
    "high": "#BF0000",
    "not_assessed": "#AAAAAA",
}

RC = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": BASE_PT,
    "text.parse_math": False,
    "text.usetex": False,
    "svg.hashsalt": "ldn-evidence",
    "svg.fonttype": "none",  # text stays text: searchable, accessible, 2x faster
    "svg.id": None,
    "axes.unicode_minus": True,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "path.simplify": False,
    "axes.linewidth": 0.8,
    "lines.solid_capstyle": "butt",
    "figure.max_open_warning": 0,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context with the fixed rcParams of every figure."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure of the given size (inches), white, not attached to pyplot's state."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, facecolor="white")
    # a canvas so that text can be measured and the figure saved
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    return fig


class Measurer:
    """Measures text (inches) at the figure resolution, from the font's glyph metrics.

    Laying a string out with matplotlib's text engine costs about 30 us per character on this
    matplotlib (shaping on every call), and the layout code measures thousands of candidate
    lines per figure. A line's width here is the sum of its glyphs' advances and kerning
    (cached per glyph and per pair), plus any ink that overhangs the first or last advance:
    never less than what matplotlib draws, and at most a pixel or two more (advances rounded
    up by hinting, side bearings), so layout stays conservative and nothing is clipped.
    ``tests/unit/plots/test_measure.py`` checks this against matplotlib's own measurement.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, float, str], float] = {}

    def width(self, s: str, size: float = BASE_PT, weight: str = "normal") -> float:
        """Width of the widest line of ``s`` in inches."""
        key = (s, size, weight)
        if key not in self._cache:
            glyph, kerning = _font_metrics(size, weight)
            widest = 0.0
            for line in s.split("\n"):
                if line:
                    first, last = glyph(line[0]), glyph(line[-1])
                    width = sum(glyph(c)[0] for c in line)
                    width += sum(kerning(a, b) for a, b in itertools.pairwise(line))
                    width += max(0.0, -first[1]) + max(0.0, last[2] - last[0])
                    widest = max(widest, width)
            self._cache[key] = widest / DPI
        return self._cache[key]

    def wrap(self, s: str, max_in: float, size: float = BASE_PT, weight: str = "normal") -> str:
        """Wrap ``s`` at spaces (and inside over-long words) to lines at most ``max_in`` wide."""
        out: list[str] = []
        max_in += 1e-6  # widths that came from the same measurement fit exactly
        for para in s.split("\n"):
            words = para.split(" ")
            line = ""
            for w in words:
                cand = w if not line else line + " " + w
                if self.width(cand, size, weight) <= max_in:
                    line = cand
                    continue
                if line:
                    out.append(line)
                    line = ""
                # the word alone may be too wide: cut it
                while self.width(w, size, weight) > max_in and len(w) > 1:
                    cut = len(w)
                    while cut > 1 and self.width(w[:cut], size, weight) > max_in:
                        cut -= 1
                    out.append(w[:cut])
                    w = w[cut:]
                line = w
            out.append(line)
        return "\n".join(out)


@functools.cache
def _font_metrics(
    size: float, weight: str
) -> tuple[Callable[[str], tuple[float, float, float]], Callable[[str, str], float]]:
    """Two cached functions, in pixels at ``DPI``: a character's (advance, left ink edge,
    right ink edge), and the kerning between two characters."""
    font = get_font(findfont(FontProperties(family=FONT, size=size, weight=weight)))

    @functools.cache
    def glyph(char: str) -> tuple[float, float, float]:
        font.set_size(size, DPI)  # the font object is matplotlib's, shared: set it each time
        unhinted = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
        left = unhinted.horiBearingX / 64
        # hinting rounds advances to whole pixels, up for some glyphs: take the larger
        hinted = font.load_char(ord(char), flags=get_hinting_flag()).horiAdvance / 64
        return max(unhinted.linearHoriAdvance / 65536, hinted), left, left + unhinted.width / 64

    @functools.cache
    def kerning(left: str, right: str) -> float:
        font.set_size(size, DPI)
        pair = font.get_char_index(ord(left)), font.get_char_index(ord(right))
        return font.get_kerning(*pair, Kerning.UNFITTED) / 64

    return glyph, kerning


def wrap_chars(s: str, width: int) -> str:
    """Plain character-count wrap (for text whose width is not critical)."""
    return "\n".join(textwrap.wrap(s, width)) or s


def save(fig: Figure, out_dir: Path, stem: str) -> list[str]:
    """Write ``stem.png`` and ``stem.svg`` atomically; return the file names."""
    out_dir = Path(out_dir)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    atomic_write_with(
        png,
        lambda p: fig.savefig(
            p,
            format="png",
            dpi=DPI,
            metadata={"Software": None},
            # zlib level 1: several times faster than the default and, for these flat-colour
            # figures, no larger
            pil_kwargs={"compress_level": 1},
        ),
    )
    atomic_write_with(
        svg,
        lambda p: fig.savefig(p, format="svg", metadata={"Date": None, "Creator": None}),
    )
    return [png.name, svg.name]


def close(fig: Figure) -> None:
    """Release a figure (it is not registered with pyplot, so this only clears it)."""
    fig.clear()
