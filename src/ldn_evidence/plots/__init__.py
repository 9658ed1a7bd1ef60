"""Figures of the evidence synthesis, drawn from the analyses tables (nothing recomputed).

Two layers: *plot tables* (``table_*`` modules; pandas only, tested as data) say what each
figure shows; *renderers* (``draw_*``; matplotlib, imported only when rendering) draw them.
:func:`render_condition_figures` renders every figure of one condition.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["render_condition_figures"]


def render_condition_figures(
    condition: str, results_dir: Path, processed_dir: Path, out_dir: Path, workers: int = 1
) -> dict:
    """Render every figure of a condition.

    See :func:`ldn_evidence.plots.render.render_condition_figures`; matplotlib is imported only
    here, when rendering.
    """
    from .render import render_condition_figures as _render

    return _render(condition, results_dir, processed_dir, out_dir, workers)
