"""The contour-enhanced funnel-plot table (Peters et al. 2008), or the reason there is none.

A funnel plot shows each study's effect against its standard error. Contours mark where a
study's effect would be statistically significant (two-sided p = 0.10, 0.05, 0.01 around the
null), so that missing studies can be told apart from small-study effects that have other
causes (Peters, Sutton, Jones, Abrams & Rushton 2008, J Clin Epidemiol 61:991-996). Below ten
studies the plot cannot separate chance from asymmetry and is not drawn (Sterne et al. 2011,
BMJ 343:d4002; Cochrane Handbook 13.3.5.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ._axis import Axis, choose_axis
from ._text import (
    INDIRECT_TIERS,
    MEASURE_ABBREVIATION,
    flag,
    flips,
    is_missing,
    measure_scale,
    study_label,
    text_or,
)

__all__ = ["FunnelTable", "build_funnel_table", "funnel_reason"]

MIN_K = 10

#: Two-sided p-value contours and their normal quantiles.
CONTOURS: tuple[tuple[float, float], ...] = (
    (0.10, 1.6448536269514722),
    (0.05, 1.959963984540054),
    (0.01, 2.5758293035489004),
)


@dataclass(frozen=True)
class FunnelTable:
    """What a funnel plot shows.

    Attributes
    ----------
    points : pandas.DataFrame
        ``label``, ``study_id``, ``x`` (effect, plot space), ``se``, ``tier``, ``indirect``.
    estimate : float
        Pooled estimate (plot space), centre of the pseudo-95% CI lines.
    se_max : float
        Bottom of the y axis.
    contours : tuple of (p, z)
        Significance contours around the null.
    """

    analysis_id: str
    title: str
    measure: str
    scale_label: str
    points: pd.DataFrame
    estimate: float
    se_max: float
    contours: tuple[tuple[float, float], ...]
    axis: Axis


def _estimable_mask(members: pd.DataFrame) -> pd.Series:
    yi = pd.to_numeric(members["yi"], errors="coerce")
    se = pd.to_numeric(members["se"], errors="coerce")
    return yi.notna() & se.notna() & (se > 0)


def _estimable(members: pd.DataFrame) -> pd.DataFrame:
    return members[_estimable_mask(members)]


def funnel_reason(
    analysis: Mapping[str, object], members: pd.DataFrame, min_k: int = MIN_K
) -> str | None:
    """Why an analysis has no funnel plot (``None`` when it has one)."""
    k = int(_estimable_mask(members).sum())  # counted, not filtered
    if not flag(analysis.get("pooled")):
        return f"k = {k}: a single study is not pooled; a funnel plot needs at least {min_k}."
    if k < min_k:
        return f"k = {k} < {min_k}: too few studies to judge funnel asymmetry (Sterne et al. 2011)."
    return None


def build_funnel_table(analysis: Mapping[str, object], members: pd.DataFrame) -> FunnelTable:
    """Build the funnel-plot table of one analysis (when :func:`funnel_reason` is None)."""
    a = dict(analysis)
    measure = text_or(a.get("measure"))
    scale_kind = measure_scale(measure)
    sign = -1.0 if flips(measure, a.get("better_direction")) else 1.0
    m = _estimable(members)
    label = m["label"] if "label" in m else m["study_id"]
    pts = pd.DataFrame(
        {
            "label": [
                study_label(x) if x == s else x
                for x, s in zip(label.map(text_or), m["study_id"].map(text_or), strict=True)
            ],
            "study_id": m["study_id"].map(text_or).to_numpy(),
            "x": sign * pd.to_numeric(m["yi"]).to_numpy(float),
            "se": pd.to_numeric(m["se"]).to_numpy(float),
            "tier": m["tier"].map(text_or).to_numpy(),
        }
    )
    pts["indirect"] = pts["tier"].isin(INDIRECT_TIERS)
    pts = pts.sort_values(["se", "x", "study_id"], kind="mergesort").reset_index(drop=True)
    se_max = float(pts["se"].max()) * 1.08
    est = sign * float(a["estimate"]) if not is_missing(a.get("estimate")) else float("nan")
    null = None if measure in ("PR", "PLO") else 0.0
    z99 = CONTOURS[-1][1]
    core = [*pts["x"], est - 1.96 * se_max, est + 1.96 * se_max]
    extent = [] if null is None else [null - z99 * se_max, null + z99 * se_max]
    axis = choose_axis(core, extent, scale=scale_kind, null=null)
    scale = text_or(a.get("scale_label"), MEASURE_ABBREVIATION.get(measure, measure))
    if scale_kind == "log":
        scale += " (log scale), LDN vs control"
    return FunnelTable(
        analysis_id=text_or(a.get("analysis_id")),
        title=text_or(a.get("title"), text_or(a.get("analysis_id"))),
        measure=measure,
        scale_label=scale,
        points=pts,
        estimate=est,
        se_max=se_max if math.isfinite(se_max) else 1.0,
        contours=CONTOURS if null is not None else (),
        axis=axis,
    )
