"""The layout's text widths against matplotlib's own measurement of the drawn text."""

import random
import string

import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

from ldn_evidence.plots._mpl import DPI, FONT, Measurer, style

ALPHABET = string.ascii_letters + string.digits + " .,;:()[]%–−≥≤²τ·×/-+*'\"&?!†▲▼◄►"


def _samples() -> list[str]:
    rng = random.Random(20261130)
    made_up = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 90))) for _ in range(150)]
    typical = [
        "RodriguezFreire INNOVA",
        "0.14 [−0.31, 0.59]",
        "Heterogeneity: τ² = 0.04 [0.00, 1.17]; I² = 55% [0%, 97%]; Q = 6.48, df = 3 (p = 0.090)",
        "AVAVAV WAWAWA To Ty Yo",  # kerned pairs
        "fjord ƒ j",  # glyphs whose ink overhangs their advance
    ]
    return typical + made_up


@pytest.mark.parametrize(("size", "weight"), [(7.5, "normal"), (8.0, "bold"), (9.0, "normal")])
def test_widths_are_never_narrower_than_drawn_and_close_to_it(size, weight):
    measurer = Measurer()
    with style():
        renderer = RendererAgg(10, 10, DPI)
        prop = FontProperties(family=FONT, size=size, weight=weight)
        for text in _samples():
            drawn = renderer.get_text_width_height_descent(text, prop, ismath=False)[0] / DPI
            estimate = measurer.width(text, size, weight)
            # never narrower (beyond 1/100 pixel), so a line that fits is drawn inside its box
            assert estimate >= drawn - 0.01 / DPI, text
            # and not much wider: kerning left out costs at most ~2%
            assert estimate <= drawn * 1.025 + 2 / DPI, text


def test_widest_line_counts_and_empty_text_is_zero():
    measurer = Measurer()
    with style():
        assert measurer.width("") == 0
        assert measurer.width("short\na much longer line") == measurer.width("a much longer line")
