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
    scale: str = "linear"

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
    log_scale: bool = False,
    null: float | None,
    max_ticks: int = 6,
    scale: str | None = None,
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
    scale : {"linear", "log", "logit"}, optional
        Overrides ``log_scale``; ``"logit"``: plot space is the logit of a proportion, ticks
        are labelled in percent.
    null : float or None
        Line of no effect in plot space, or ``None``.
    max_ticks : int
        Upper bound on the number of ticks.
    """
    scale = scale or ("log" if log_scale else "linear")
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
        w = max(ehi - elo, {"log": math.log(2.0), "logit": 1.0}.get(scale, 1.0))
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
    if scale == "log":
        return _log_axis(lo, hi, null, max_ticks)
    if scale == "logit":
        return _logit_axis(lo, hi, max_ticks)
    return _linear_axis(lo, hi, null, max_ticks)


_LOGIT_SETS = (
    (
        0.001,
        0.002,
        0.005,
        0.01,
        0.02,
        0.05,
        0.1,
        0.2,
        0.3,
        0.5,
        0.7,
        0.8,
        0.9,
        0.95,
        0.98,
        0.99,
        0.995,
        0.998,
        0.999,
    ),
    (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999),
    (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999),
    (0.001, 0.1, 0.5, 0.9, 0.999),
)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _logit_axis(lo: float, hi: float, max_ticks: int) -> Axis:
    for props in _LOGIT_SETS:
        logs = [_logit(p) for p in props]
        below = [x for x in logs if x <= lo + 1e-12]
        above = [x for x in logs if x >= hi - 1e-12]
        t_lo = below[-1] if below else logs[0]
        t_hi = above[0] if above else logs[-1]
        idx = [i for i, x in enumerate(logs) if t_lo - 1e-12 <= x <= t_hi + 1e-12]
        if len(idx) <= max_ticks:
            break
    ticks = tuple(logs[i] for i in idx)
    labels = tuple(_pct_text(props[i]) for i in idx)
    return Axis(ticks[0], ticks[-1], ticks, labels, False, None, "logit")


def _pct_text(p: float) -> str:
    s = f"{100 * p:.1f}".rstrip("0").rstrip(".")
    return s + "%"


def _linear_axis(lo: float, hi: float, null: float | None, max_ticks: int) -> Axis:
    span = hi - lo
    mag = 10.0 ** math.floor(math.log10(span / max_ticks))
    step = mag
    for m in (mag, 10 * mag, 100 * mag):
        done = False
        for s in _NICE_STEPS:
            step = s * m
            n_lo = math.floor(lo / step + 1e-9)
            n_hi = math.ceil(hi / step - 1e-9)
            if n_hi - n_lo + 1 <= max_ticks:
                done = True
                break
        if done:
            break
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
    return Axis(ticks[0], ticks[-1], tuple(ticks), labels, True, null, "log")


def _log_tick_text(v: float) -> str:
    if v >= 1e5 or v < 1e-4:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s
