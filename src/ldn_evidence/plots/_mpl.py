"""Matplotlib set-up shared by the renderers: fixed style, text measuring, deterministic saving.

Imported only when rendering. Everything that could make two runs differ is pinned: the Agg
backend, DejaVu Sans (shipped with matplotlib), fixed sizes, no mathtext (labels are printed as
given, so ``$`` in a study name stays a dollar sign), a fixed SVG hash salt and no date or
software metadata in either format.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import io
import itertools
import math
import os
import struct
import textwrap
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import cbook, ft2font

matplotlib.use("Agg", force=True)

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontPath, FontProperties, findfont, fontManager
from matplotlib.ft2font import Kerning, LoadFlags, RenderMode
from matplotlib.textpath import TextToPath

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
    _Canvas(fig)  # a canvas so that text can be measured and the figure saved
    return fig


class _TextFonts:
    """What the renderers below share: the faces a text's font properties select, and the
    line metrics matplotlib takes from them, each asked of matplotlib once per properties
    and drawing (its font lookup, about 0.2 ms a call, is keyed on the rcParams it reads
    again each time)."""

    #: The resolution text is laid out at: the figure's, 72 when drawn as SVG.
    text_dpi: float

    def _faces_for(self, prop: FontProperties) -> tuple[Face, ...]:
        known = vars(self).setdefault("_faces_by_prop", {})
        if prop not in known:
            known[prop] = _faces(tuple(fontManager._find_fonts_by_props(prop)))
        return known[prop]

    def _get_font_height_metrics(self, prop: FontProperties) -> tuple[float, float, float]:
        """The ascent, descent and line gap (pixels) matplotlib lays each line of text out
        with (``Text._get_layout`` asks a renderer for them when it has this method)."""
        return _height_metrics(self._faces_for(prop), prop.get_size_in_points(), self.text_dpi)


class _Renderer(_TextFonts, RendererAgg):
    """matplotlib's Agg renderer, with its text work done once per process, not once per call.

    Plain text (no mathtext, which these figures never use) costs matplotlib three pieces of
    work, each a pure function of its inputs: shaping a string to measure it (about 40 us per
    character here), shaping it again to place its glyphs, and rasterising every glyph. The
    figures of one condition draw the same strings and glyphs many times (headers, scale
    labels, numbers, PNG and layout passes), so each result is kept, keyed on everything it
    depends on: font files, size, resolution, hinting, string, and for a glyph bitmap its
    glyph, angle, antialiasing and sub-pixel offset. FreeType rasterises a glyph moved by
    whole pixels into the same bitmap moved by whole pixels, so a glyph is rendered once per
    sub-pixel phase and drawn at its place. The pixels are those matplotlib's own
    ``draw_text`` writes (``tests/unit/plots/test_text_cache.py`` compares the two).
    """

    @property
    def text_dpi(self) -> float:
        return self.dpi  # made by the canvas at the figure's resolution

    def clear(self) -> None:
        super().clear()
        vars(self).pop("_faces_by_prop", None)  # a new drawing may have other rcParams

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        faces = self._faces_for(prop)
        return _text_extent(faces, prop.get_size_in_points(), self.dpi, s, get_hinting_flag())

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        size = prop.get_size_in_points()
        flags = get_hinting_flag()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        glyphs = _text_glyphs(self._faces_for(prop), size, self.dpi, s, flags, features, language)
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        mode = RenderMode.NORMAL if gc.get_antialiased() else RenderMode.MONO
        for face, index, dx, dy in glyphs:  # dx, dy: pixels, dy upwards
            # the glyph origin in FreeType's 26.6 fixed point, y upwards (as matplotlib rounds it)
            ox = round(0x40 * (x + dx * cos - dy * sin))
            oy = round(0x40 * (self.height - y + dx * sin + dy * cos))
            buffer, left, top = _glyph_bitmap(
                face, size, self.dpi, index, angle, flags, mode, ox & 0x3F, oy & 0x3F
            )
            left, top = left + (ox >> 6), top + (oy >> 6)
            # draw_text_image's y is downwards and names the bitmap's bottom row
            self._renderer.draw_text_image(
                buffer, left, int(self.height) - top + buffer.shape[0], 0, gc
            )
        return None


class _SvgRenderer(_TextFonts, RendererSVG):
    """matplotlib's SVG renderer, with text measured once per process (see :class:`_Renderer`):
    SVG text is measured on the font's outlines at 100 pt, about 1.4 ms a string."""

    text_dpi = 72.0  # print_svg draws the figure at 72 dpi: SVG user units are points

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        return _outline_extent(self._faces_for(prop), prop.get_size_in_points(), s)


class _Canvas(FigureCanvasAgg):
    """The Agg canvas, drawing PNG with :class:`_Renderer` and SVG with :class:`_SvgRenderer`."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _Renderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer

    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, **applied):
        """Write the figure as SVG, as ``FigureCanvasSVG.print_svg`` does (72 dpi user units,
        raster parts at the figure's resolution), with :class:`_SvgRenderer`. ``applied``: what
        ``savefig`` passes every backend (dpi, colours, orientation) and has already set on
        the figure."""
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):  # a binary file object
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            renderer = MixedModeRenderer(
                self.figure,
                width,
                height,
                dpi,
                _SvgRenderer(width * 72, height * 72, fh, image_dpi=dpi, metadata=metadata),
                bbox_inches_restore=bbox_inches_restore,
            )
            self.figure.draw(renderer)
            renderer.finalize()


_IDENTITY = [[0x10000, 0], [0, 0x10000]]

#: A face: a font file's real path and the index of the face in it.
Face = tuple[str, int]

_LAST_RESORT: Face = (
    os.path.realpath(Path(matplotlib.get_data_path(), "fonts", "ttf", "LastResortHE-Regular.ttf")),
    0,
)


@functools.cache
def _font_file(path: str) -> bytes:
    """A font file's bytes, read once per process."""
    return Path(path).read_bytes()


#: The face of each font object :func:`_font` made (by ``id``; the objects live in its cache).
_FACE_OF: dict[int, Face] = {}


@functools.cache
def _font(
    faces: tuple[Face, ...], kerning_factor: int, last_resort: bool, thread: int
) -> ft2font.FT2Font:
    """A font object for ``faces`` (the first, falling back through the others for glyphs it
    lacks), as matplotlib's ``get_font`` builds it, but reading its files from memory.

    matplotlib's font objects read a font file through a Python file object: every glyph
    FreeType loads (for shaping, measuring and rendering, several times a string) is a few
    seeks and reads through Python, about 60 us a glyph here, several times FreeType's own
    work. In memory the same reads cost a third of that. The bytes are the same, so is every
    measurement and pixel (``tests/unit/plots/test_text_cache.py``). Like matplotlib's own,
    the font objects are not carried into a forked process (each makes its own); the bytes are.

    As in matplotlib, matplotlib's "Last Resort" font is the final fallback when
    ``font.enable_last_resort`` is set (it draws a box for a character no font has, with a
    warning), and its symbol character map is the one used. Each thread has its own objects
    (``thread``), as in matplotlib: a font object holds the state of its last use.
    """

    def load(face: Face, **options) -> ft2font.FT2Font:
        path, index = face
        font = ft2font.FT2Font(
            io.BytesIO(_font_file(path)),
            face_index=index,
            _kerning_factor=kerning_factor,
            **options,
        )
        _FACE_OF[id(font)] = face
        return font

    first, *rest = faces
    fallbacks = [load(face) for face in rest]
    if last_resort and _LAST_RESORT not in faces:
        fallbacks.append(load(_LAST_RESORT, _warn_if_used=True))
    font = load(first, _fallback_list=fallbacks)
    for face, each in zip([first, *rest, _LAST_RESORT], [font, *fallbacks], strict=False):
        if face == _LAST_RESORT:
            each.set_charmap(0)  # its Unicode map is empty; matplotlib uses the first
    return font


def _forget_fonts() -> None:
    _font.cache_clear()
    _FACE_OF.clear()


os.register_at_fork(after_in_child=_forget_fonts)


@functools.lru_cache(maxsize=256)
def _faces(fonts: str | tuple[str, ...]) -> tuple[Face, ...]:
    """``fonts`` (a path, or a tuple of paths or ``FontPath`` objects) as faces."""
    if isinstance(fonts, str):
        fonts = (fonts,)
    return tuple(
        (os.path.realpath(f), f.face_index if isinstance(f, FontPath) else 0) for f in fonts
    )


def _font_of(faces: tuple[Face, ...]) -> ft2font.FT2Font:
    """The (memory-read) font object for ``faces``, as ``matplotlib.font_manager.get_font``
    returns it: with the current rcParams' kerning factor and last-resort fallback, and no
    transform left from an earlier use."""
    font = _font(
        faces,
        matplotlib.rcParams["text.kerning_factor"],
        matplotlib.rcParams["font.enable_last_resort"],
        threading.get_ident(),
    )
    font._set_transform(_IDENTITY, [0, 0])
    return font


def get_font(fonts: str | tuple[str, ...]) -> ft2font.FT2Font:
    """:func:`_font_of` for a path, or a tuple of paths or ``FontPath`` objects."""
    return _font_of(_faces(fonts))


def _prepared_font(faces: tuple[Face, ...], size: float, dpi: float) -> ft2font.FT2Font:
    """The font object for ``faces``, cleared and set to ``size`` at ``dpi``."""
    font = _font_of(faces)
    font.clear()
    font.set_size(size, dpi)
    return font


@functools.lru_cache(maxsize=256)
def _height_metrics(faces: tuple[Face, ...], size: float, dpi: float) -> tuple[float, float, float]:
    """A font's ascent, descent and line gap in pixels, as ``Text._get_layout`` takes them
    from its first font's tables: the OS/2 table's typographic values, else the hhea table's,
    in font units scaled by size (points) x dpi / 72 / units per em."""
    font = _font_of(faces)
    units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
    scale = 1 / units_per_em * size * dpi / 72  # in matplotlib's order: the same last bit
    for table_name, gap, ascent, descent in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is not None:
            return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    raise ValueError(f"font {faces[0][0]} has neither an OS/2 nor an hhea table")


@functools.lru_cache(maxsize=1 << 14)
def _text_extent(
    faces: tuple[Face, ...], size: float, dpi: float, s: str, flags: LoadFlags
) -> tuple[float, float, float]:
    """Width, height and descent (pixels) of one line of text, as ``RendererAgg`` measures it."""
    font = _prepared_font(faces, size, dpi)
    font.set_text(s, 0.0, flags=flags)
    w, h = font.get_width_height()
    return w / 64.0, h / 64.0, font.get_descent() / 64.0


@functools.lru_cache(maxsize=1 << 14)
def _outline_extent(faces: tuple[Face, ...], size: float, s: str) -> tuple[float, float, float]:
    """Width, height and descent (points) of one line of text, as matplotlib's ``TextToPath``
    measures it for SVG: unhinted, at ``TextToPath.FONT_SCALE`` and scaled to ``size``."""
    font = _font_of(faces)
    font.set_size(TextToPath.FONT_SCALE, TextToPath.DPI)
    font.set_text(s, 0.0, flags=LoadFlags.NO_HINTING)
    w, h = font.get_width_height()
    scale = size / TextToPath.FONT_SCALE
    return w / 64.0 * scale, h / 64.0 * scale, font.get_descent() / 64.0 * scale


@functools.lru_cache(maxsize=1 << 14)
def _text_glyphs(
    faces: tuple[Face, ...], size: float, dpi: float, s: str, flags: LoadFlags, features, language
) -> tuple[tuple[Face, int, float, float], ...]:
    """The shaped glyphs of one line of text: (font face, glyph index, x, y in pixels).

    Faces, not font objects, are kept: a forked process makes its own font objects
    (:func:`_glyph_bitmap` asks for them)."""
    font = _prepared_font(faces, size, dpi)
    items = font._layout(s, flags=flags, features=features, language=language)
    return tuple((_FACE_OF[id(item.ft_object)], item.glyph_index, item.x, item.y) for item in items)


@functools.lru_cache(maxsize=1 << 16)
def _glyph_bitmap(face, size, dpi, index, angle, flags, mode, phase_x, phase_y):
    """A glyph rasterised with its origin at (``phase_x``, ``phase_y``)/64 pixel: its coverage
    bitmap and the bitmap's left and top pixel (y upwards)."""
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    font = _font_of((face,))
    font.set_size(size, dpi)
    # the glyph's rotation in 16.16 fixed point, rounded as matplotlib rounds it
    matrix = [
        [round(0x10000 * cos), round(0x10000 * -sin)],
        [round(0x10000 * sin), round(0x10000 * cos)],
    ]
    font._set_transform(matrix, [phase_x, phase_y])
    bitmap = font._render_glyph(index, flags, mode)
    font._set_transform(_IDENTITY, [0, 0])  # the object is shared: leave it as found
    buffer = bitmap.buffer
    if mode == RenderMode.MONO:
        buffer *= 0xFF
    return buffer, bitmap.left, bitmap.top


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
    right ink edge), and the kerning between two characters.

    The font object is asked for at each use, not kept: each thread and each forked process
    has its own (:func:`_font`)."""
    path = findfont(FontProperties(family=FONT, size=size, weight=weight))

    @functools.cache
    def glyph(char: str) -> tuple[float, float, float]:
        font = get_font(path)
        font.set_size(size, DPI)  # the font object is shared with the renderers: set it each time
        unhinted = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
        left = unhinted.horiBearingX / 64
        # hinting rounds advances to whole pixels, up for some glyphs: take the larger
        hinted = font.load_char(ord(char), flags=get_hinting_flag()).horiAdvance / 64
        return max(unhinted.linearHoriAdvance / 65536, hinted), left, left + unhinted.width / 64

    @functools.cache
    def kerning(left: str, right: str) -> float:
        font = get_font(path)
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
    atomic_write_with(png, lambda p: _write_png(fig, p))
    atomic_write_with(
        svg,
        lambda p: fig.savefig(p, format="svg", metadata={"Date": None, "Creator": None}),
    )
    return [png.name, svg.name]


def _write_png(fig: Figure, path: Path) -> None:
    """The figure as PNG at :data:`DPI`, without metadata: the pixels ``savefig`` draws, stored
    as RGB when they are all opaque (always, on the figures' white background: a quarter less
    to compress than RGBA)."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    pixels = rgba[..., :3] if rgba[..., 3].min() == 255 else rgba
    Path(path).write_bytes(png_bytes(pixels, DPI))


def _chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC-32 of type and data (PNG specification, 5.3)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(pixels: np.ndarray, dpi: float) -> bytes:
    """An 8-bit RGB or RGBA image (height x width x 3 or 4) as a PNG file with its resolution
    and nothing else (W3C PNG specification, 3rd edition: IHDR, pHYs, IDAT, IEND).

    Every row is stored unfiltered (filter type 0) and the data compressed at zlib level 1.
    Pillow, the usual writer, tries the five filters on every row, which for these figures
    costs three times the compression and, on their flat colours, gives larger files; these
    are written about four times faster and are about 5% smaller. Readers see the same pixels
    and resolution Pillow writes (``tests/unit/plots/test_png.py``).
    """
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected 8-bit pixels, got {pixels.dtype}")
    height, width, channels = pixels.shape
    colour_type = {3: 2, 4: 6}[channels]  # truecolour, truecolour with alpha
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 0] = 0  # each row's filter type: none
    body = rows[:, 1:]
    body.shape = (height, width, channels)  # a view of the rows (an error if it could not be)
    body[...] = pixels  # one copy, from whatever layout the pixels have
    per_metre = round(dpi / 0.0254)  # pHYs holds pixels per metre (unit 1)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(rows.data, 1)),
            _chunk(b"IEND", b""),
        )
    )


def close(fig: Figure) -> None:
    """Release a figure (it is not registered with pyplot, so this only clears it)."""
    fig.clear()
