"""The figures' PNG writer: what a reader (Pillow) reads back is the pixels and resolution
given, in RGB or RGBA, at any size; the file is a valid PNG (chunk CRCs checked)."""

import io

import numpy as np
import pytest
from PIL import Image

from ldn_evidence.plots._mpl import png_bytes


def _read(data: bytes) -> Image.Image:
    Image.open(io.BytesIO(data)).verify()  # signature, chunk order and CRCs
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (4, "RGBA")])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (120, 333)])
def test_a_reader_gets_back_the_pixels(channels, mode, shape):
    rng = np.random.default_rng(sum(shape) + channels)
    pixels = rng.integers(0, 256, size=(*shape, channels), dtype=np.uint8)
    pixels[: shape[0] // 2] = 255  # flat and noisy parts
    image = _read(png_bytes(pixels, 150))
    assert image.mode == mode
    assert image.size == (shape[1], shape[0])
    assert np.array_equal(np.asarray(image), pixels)


def test_the_resolution_and_nothing_else_is_stored_as_pillow_stores_it():
    pixels = np.full((10, 20, 3), 255, dtype=np.uint8)
    pillow = io.BytesIO()
    Image.fromarray(pixels).save(pillow, format="png", dpi=(150, 150))
    ours = _read(png_bytes(pixels, 150))
    assert ours.info == _read(pillow.getvalue()).info
    # pixels per metre, a whole number: 5906 is 150.0124 dpi
    assert ours.info["dpi"] == pytest.approx((150, 150), abs=0.02)


def test_a_view_of_other_memory_is_written_as_its_pixels():
    """The figures pass the RGB channels of the canvas's RGBA buffer: a strided view."""
    rgba = np.random.default_rng(1).integers(0, 256, size=(9, 11, 4), dtype=np.uint8)
    assert np.array_equal(np.asarray(_read(png_bytes(rgba[..., :3], 72))), rgba[..., :3])


def test_other_shapes_are_refused():
    with pytest.raises((KeyError, ValueError)):
        png_bytes(np.zeros((4, 4, 2), dtype=np.uint8), 150)
    with pytest.raises(ValueError):
        png_bytes(np.zeros((4, 4), dtype=np.uint8), 150)
    with pytest.raises(ValueError, match="8-bit"):
        png_bytes(np.zeros((4, 4, 3), dtype=np.float64), 150)
