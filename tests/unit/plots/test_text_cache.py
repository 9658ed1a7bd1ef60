"""The figures' renderers keep text work between calls: what they draw and measure must be
exactly what matplotlib's own renderers draw and measure."""

import io
import random

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from ldn_evidence.plots import _mpl
from ldn_evidence.plots._mpl import DPI, FONT, style

TEXTS = [
    "RodriguezFreire INNOVA",
    "0.14 [−0.31, 0.59]",
    "Heterogeneity: τ² = 0.04; I² = 55%",
    "AVAVAV WAWAWA To Ty Yo fi fl",  # kerned pairs and ligatures
    "† ▲▼ ≥ ≤ ×",
    "x",
    "",
]
PROPS = [
    FontProperties(family=FONT, size=9.0),
    FontProperties(family=FONT, size=11.0, weight="bold"),
    FontProperties(family=FONT, size=8.0, style="italic"),
]


class _GC:
    """What ``draw_text`` asks of a graphics context."""

    def __init__(self, renderer, antialiased: bool) -> None:
        self._gc = renderer.new_gc()
        self._gc.set_antialiased(antialiased)
        self._gc.set_foreground("black")

    def __getattr__(self, name):
        return getattr(self._gc, name)


def _pixels(renderer_class, draws) -> np.ndarray:
    renderer = renderer_class(320, 120, DPI)
    for s, prop, x, y, angle, antialiased in draws:
        renderer.draw_text(_GC(renderer, antialiased), x, y, s, prop, angle)
    return np.asarray(renderer.buffer_rgba()).copy()


def _draws(seed: int) -> list[tuple]:
    """Texts at random sub-pixel places, some rotated, some drawn twice at another phase."""
    rng = random.Random(seed)
    draws = []
    for s in TEXTS:
        for prop in PROPS:
            angle = rng.choice([0.0, 0.0, 90.0, 33.0])
            antialiased = rng.random() < 0.8
            x, y = rng.uniform(2, 200), rng.uniform(10, 110)
            draws.append((s, prop, x, y, angle, antialiased))
            draws.append((s, prop, x + rng.uniform(-1, 1), y + 0.37, angle, antialiased))
    return draws


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drawn_text_pixels_equal_matplotlibs(seed):
    with style():
        draws = _draws(seed)
        expected = [_pixels(RendererAgg, [d]) for d in draws]
        # twice: the second pass draws from the kept shapes and bitmaps
        for _ in range(2):
            got = [_pixels(_mpl._Renderer, [d]) for d in draws]
            for d, e, g in zip(draws, expected, got, strict=True):
                assert np.array_equal(e, g), d[:5]


def test_text_extents_equal_matplotlibs():
    with style():
        agg, ours = RendererAgg(10, 10, DPI), _mpl._Renderer(10, 10, DPI)
        outline = TextToPath()
        for _ in range(2):
            for s in TEXTS:
                for prop in PROPS:
                    expected = agg.get_text_width_height_descent(s, prop, ismath=False)
                    assert ours.get_text_width_height_descent(s, prop, False) == expected
                    faces = _mpl._faces(tuple(_mpl.fontManager._find_fonts_by_props(prop)))
                    expected = outline.get_text_width_height_descent(s, prop, ismath=False)
                    assert _mpl._outline_extent(faces, prop.get_size_in_points(), s) == expected


def _figure(canvas_class) -> Figure:
    fig = Figure(figsize=(3.1, 1.7), dpi=DPI, facecolor="white")
    canvas_class(fig)
    ax = fig.add_axes((0.2, 0.25, 0.7, 0.6))
    ax.plot([0, 1, 2], [1, 0.3, 2], color="#0072B2")
    ax.set_xticks([0, 1, 2])
    ax.set_xticklabels(["−1.0", "0", "1.5"])
    ax.set_title("Forest 0.25 [−0.14, 0.65]", fontweight="bold")
    ax.text(0.3, 1.2, "Bruun 2024\nsecond line", ha="center", va="center", rotation=12)
    fig.text(0.02, 0.02, "τ² = 0.04; I² = 55%", fontsize=8, fontstyle="italic")
    return fig


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_saved_figures_equal_matplotlibs_byte_for_byte(fmt):
    with style():
        kwargs = {"metadata": {"Software": None}} if fmt == "png" else {"metadata": {"Date": None}}
        reference = io.BytesIO()
        plain = _figure(FigureCanvasAgg if fmt == "png" else FigureCanvasSVG)
        plain.savefig(reference, format=fmt, **kwargs)
        for _ in range(2):
            ours = io.BytesIO()
            _figure(_mpl._Canvas).savefig(ours, format=fmt, **kwargs)
            assert ours.getvalue() == reference.getvalue()


def test_saved_png_holds_the_pixels_savefig_draws_as_rgb(tmp_path):
    from PIL import Image

    with style():
        reference = io.BytesIO()
        _figure(FigureCanvasAgg).savefig(reference, format="png", metadata={"Software": None})
        fig = _figure(_mpl._Canvas)
        _mpl.save(fig, tmp_path, "f")
    expected = Image.open(reference)
    saved = Image.open(tmp_path / "f.png")
    assert expected.mode == "RGBA" and np.asarray(expected)[..., 3].min() == 255
    assert saved.mode == "RGB"
    assert np.array_equal(np.asarray(saved), np.asarray(expected)[..., :3])
    assert saved.info == expected.info  # resolution, and no software or date


def test_a_character_no_font_has_is_drawn_as_matplotlib_draws_it():
    """The fonts are read from memory, with matplotlib's fall-back chain: a character DejaVu
    Sans lacks comes from matplotlib's Last Resort font (a box)."""
    draws = [("Lee 漢 2021", PROPS[0], 12.3, 40.6, 0.0, True), ("漢", PROPS[1], 50, 80, 90.0, True)]
    spaced = [(s.replace("漢", " "), *rest) for s, *rest in draws]
    with style():
        got = _pixels(_mpl._Renderer, draws)
        assert np.array_equal(got, _pixels(RendererAgg, draws))
        assert not np.array_equal(got, _pixels(_mpl._Renderer, spaced))  # the box is drawn


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_lines_of_text_are_laid_out_as_matplotlib_lays_them_out(fmt):
    """The line height the renderers give matplotlib (ascent, descent and gap from the font's
    tables) places each line of a multi-line text where matplotlib's own renderers place it."""

    def extents(canvas_class) -> list:
        fig = Figure(figsize=(4, 3), dpi=DPI)
        canvas = canvas_class(fig)
        texts = [
            fig.text(0.1, 0.5, "one\ntwo lines\nthree", fontproperties=prop, linespacing=spacing)
            for prop in PROPS
            for spacing in (1.2, 2.0)
        ]
        out = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}  # no date
        fig.savefig(out, format=fmt, metadata=metadata)  # laid out by the format's renderer
        if fmt == "svg":  # the lines' places are in the file
            return [out.getvalue()]
        return [t.get_window_extent(canvas.get_renderer()).bounds for t in texts] + [out.getvalue()]

    with style():
        assert extents(_mpl._Canvas) == extents(
            FigureCanvasAgg if fmt == "png" else FigureCanvasSVG
        )


def test_threads_drawing_at_once_draw_what_matplotlib_draws():
    """Each thread has its own font objects (a font object holds the size and text of its last
    use): texts of several sizes drawn from four threads at once are matplotlib's pixels."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"{word} {i} −0.{i}7 [0.1{i}, 2.{i}3]" for i, word in enumerate(TEXTS * 3)]
    props = [FontProperties(family=FONT, size=6.0 + i) for i in range(4)]
    with style():
        jobs = [[(s, prop, 3.3, 60.7, 0.0, True)] for s in texts for prop in props]
        expected = [_pixels(RendererAgg, draws) for draws in jobs]
        for _ in range(8):  # a race shows in some rounds (without own fonts: most runs)
            _mpl._text_extent.cache_clear()
            _mpl._text_glyphs.cache_clear()
            _mpl._glyph_bitmap.cache_clear()
            with ThreadPoolExecutor(4) as pool:
                got = list(pool.map(lambda draws: _pixels(_mpl._Renderer, draws), jobs))
            for draws, e, g in zip(jobs, expected, got, strict=True):
                assert np.array_equal(e, g), draws[0][:2]
