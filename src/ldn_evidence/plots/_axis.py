"""Axis limits and ticks chosen from the data (no matplotlib), so that they are tested as data.

Values are in *plot space*: the log scale for ratio measures (``log_scale=True``), the measure's
own scale otherwise. Tick labels are on the natural scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._text import fmt_num

_NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class Axis:
    """Limits and ticks of an effect axis.

    Attributes
    ----------
    lo, hi : float
        Limits in plot space (log for ratio measures).
    ticks : tuple of float
        Tick positions in plot space.
    labels : tuple of str
        Tick labels on the natural scale.
    log_scale : bool
        True for ratio measures.
    null : float or None
        Line of no effect in plot space (``None`` for a single-arm proportion).
    """

    lo: float
    hi: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    log_scale: bool
    null: float | None

    def clips_low(self, v: float) -> bool:
        """True when ``v`` lies left of the axis."""
        return math.isfinite(v) and v < self.lo - 1e-12 * max(1.0, abs(self.lo))

    def clips_high(self, v: float) -> bool:
        """True when ``v`` lies right of the axis."""
        return math.isfinite(v) and v > self.hi + 1e-12 * max(1.0, abs(self.hi))


def _finite(xs: Iterable[object]) -> list[float]:
    out = []
    for x in xs:
        try:
            f = float(x)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def choose_axis(
    core: Iterable[object],
    extent: Iterable[object],
    *,
    log_scale: bool,
    null: float | None,
    max_ticks: int = 6,
) -> Axis:
    """Pick effect-axis limits and ticks.

    ``core`` holds what must be visible (point estimates, pooled CIs, prediction intervals, the
    null); ``extent`` what should be visible if it is not extreme (study CIs). Study intervals
    reaching beyond the core by more than the core's own width are cut at the axis and drawn
    with an arrow, as R meta's ``forest()`` and RevMan do. The line of no effect is kept within
    the middle half of the axis so that both "favours" labels fit beside it.

    Parameters
    ----------
    core, extent : iterable of float
        Values in plot space; non-finite values are ignored.
    log_scale : bool
        Plot space is the natural log of a ratio; ticks at 1-2-5 steps of the natural scale.
    null : float or None
        Line of no effect in plot space, or ``None``.
    max_ticks : int
        Upper bound on the number of ticks.
    """
    c = _finite(core)
    if null is not None:
        c.append(null)
    e = _finite(extent)
    if not c:
        c = e or [0.0]
    clo, chi = min(c), max(c)
    elo, ehi = min([*c, *e]), max([*c, *e])
    w = chi - clo
    if w <= 0:
        w = max(ehi - elo, 1.0 if not log_scale else math.log(2.0))
    lo = max(elo, clo - 0.6 * w)
    hi = min(ehi, chi + 0.6 * w)
    if hi - lo <= 0:
        lo, hi = lo - 0.5 * w, hi + 0.5 * w
    if null is not None:
        span = hi - lo
        f = (null - lo) / span
        if f < 0.25:
            lo = null - (hi - null) / 3.0
        elif f > 0.75:
            hi = null + (null - lo) / 3.0
    if log_scale:
        return _log_axis(lo, hi, null, max_ticks)
    return _linear_axis(lo, hi, null, max_ticks)


def _linear_axis(lo: float, hi: float, null: float | None, max_ticks: int) -> Axis:
    span = hi - lo
    mag = 10.0 ** math.floor(math.log10(span / 3.0))
    step = mag * 10.0
    for s in _NICE_STEPS:
        if span / (s * mag) <= max_ticks - 1:
            step = s * mag
            break
    n_lo = math.floor(lo / step + 1e-9)
    n_hi = math.ceil(hi / step - 1e-9)
    ticks = tuple(round(n * step, 12) for n in range(n_lo, n_hi + 1))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if step / 10.0 ** math.floor(math.log10(step) + 1e-9) == 2.5:
        decimals += 1
    labels = tuple(_tick_text(t, decimals) for t in ticks)
    return Axis(ticks[0], ticks[-1], ticks, labels, False, null)


def _tick_text(t: float, decimals: int) -> str:
    if abs(t) >= 1e5 or (t != 0 and abs(t) < 1e-4):
        return fmt_num(t)
    s = f"{t:.{decimals}f}"
    if s.lstrip("-").strip("0.") == "":
        s = s.lstrip("-")
    return "\u2212" + s[1:] if s.startswith("-") else s


def _log_axis(lo: float, hi: float, null: float | None, max_ticks: int) -> Axis:
    # candidate ticks: 1-2-5 per decade, thinned until few enough
    d_lo = math.floor(lo / math.log(10)) - 1
    d_hi = math.ceil(hi / math.log(10)) + 1
    for mantissas, every in (((1, 2, 5), 1), ((1, 3), 1), ((1,), 1), ((1,), 2), ((1,), 3)):
        cand = sorted(
            m * 10.0**d for d in range(d_lo, d_hi + 1) if d % every == 0 for m in mantissas
        )
        logs = [math.log(v) for v in cand]
        below = [x for x in logs if x <= lo + 1e-12]
        above = [x for x in logs if x >= hi - 1e-12]
        t_lo = below[-1] if below else logs[0]
        t_hi = above[0] if above else logs[-1]
        ticks = [x for x in logs if t_lo - 1e-12 <= x <= t_hi + 1e-12]
        if len(ticks) <= max_ticks:
            break
    labels = tuple(_log_tick_text(math.exp(t)) for t in ticks)
    return Axis(ticks[0], ticks[-1], tuple(ticks), labels, True, null)


def _log_tick_text(v: float) -> str:
    if v >= 1e5 or v < 1e-4:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s
