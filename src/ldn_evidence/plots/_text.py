"""Text for figures: number formats, labels of the controlled vocabularies, safe file names.

Pure Python (no matplotlib): the plot-table builders use it, and the tables it fills are what
the tests check. Numbers are printed with the typographic minus sign (U+2212).
"""

from __future__ import annotations

import math
import re

MINUS = "\u2212"

#: Ratio measures: ``yi`` and intervals are on the log scale; figures draw them on a log axis
#: labelled in natural units.
RATIO_MEASURES = frozenset({"RR", "OR", "ROM", "PETO", "HR", "IRR"})

MEASURE_ABBREVIATION = {
    "SMD": "SMD",
    "SMDH": "SMD",
    "MD": "MD",
    "SMCR": "SMC",
    "SMCC": "SMC",
    "MC": "MC",
    "RR": "RR",
    "OR": "OR",
    "PETO": "OR",
    "ROM": "ROM",
    "RD": "RD",
    "PR": "Proportion",
    "PLO": "Proportion",
}

DESIGN_LABEL = {
    "parallel_rct": "parallel RCT",
    "crossover_rct": "crossover RCT",
    "nonrandomized_crossover": "non-random. crossover",
    "single_arm_pre_post": "single-arm pre-post",
    "retrospective_cohort": "retrospective cohort",
    "database_before_after": "database before-after",
    "not_reported": "design not reported",
}

STRATUM_LABEL = {
    "randomized_between_arm": "Randomized, between arms",
    "nonrandomized_between_arm": "Non-randomized, between arms",
    "within_group_pre_post": "Within-group pre-post",
    "single_arm_proportion": "Single-arm proportion",
    "observational_before_after": "Observational before-after",
}

ROB_LABEL = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "not_assessed": "Not assessed",
}

CERTAINTY_LABEL = {
    "high": "High",
    "moderate": "Moderate",
    "low": "Low",
    "very_low": "Very low",
}

#: Tiers whose effect comes from a reported effect, a p-value or percentages (README, Effect
#: sizes): marked in forest plots.
INDIRECT_TIERS = frozenset({"C", "D", "E"})
TIER_MARK = "\u2020"  # dagger

TIER_FOOTNOTE = (
    f"{TIER_MARK} Tier C\u2013E: effect derived from a reported effect with its CI (C), from a "
    "p-value (D) or from percentages (E), not from complete per-arm statistics; drawn as an "
    "open square."
)


def is_missing(x: object) -> bool:
    """True for ``None``, ``pd.NA`` and float NaN (without importing pandas)."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN and pd.NA (pd.NA != pd.NA is NA, bool(NA) raises)
    except TypeError:
        return True


def flag(x: object) -> bool:
    """Truth of a possibly nullable boolean (``pd.NA`` and NaN are False)."""
    return False if is_missing(x) else bool(x)


def text_or(x: object, default: str = "") -> str:
    """``str(x)``, or ``default`` for a missing value."""
    return default if is_missing(x) else str(x)


def fmt_num(v: object, *, nan: str = "", ratio: bool = False) -> str:
    """Format a number for a figure: 2 decimals below 100, fewer above, scientific from 1e5.

    ``ratio=True`` (natural-scale ratios) keeps two significant digits below 0.1.

    >>> fmt_num(-0.254), fmt_num(1234.5), fmt_num(-0.0044), fmt_num(0.0044, ratio=True)
    ('−0.25', '1234', '−0.00', '0.0044')
    >>> fmt_num(float("nan"), nan="NA"), fmt_num(2.5e6)
    ('NA', '2.50e6')
    """
    if is_missing(v):
        return nan
    v = float(v)
    if math.isinf(v):
        return "\u221e" if v > 0 else MINUS + "\u221e"
    a = abs(v)
    if a >= 1e5:
        mant, exp = f"{v:.2e}".split("e")
        s = f"{mant}e{int(exp)}"
    elif a >= 1000:
        s = f"{v:.0f}"
    elif a >= 100:
        s = f"{v:.1f}"
    elif ratio and 0 < a < 0.1:
        s = f"{v:.2g}" if a >= 1e-4 else f"{v:.1e}"
    else:
        s = f"{v:.2f}"
    if v == 0:
        s = s.lstrip("-")
    return MINUS + s[1:] if s.startswith("-") else s


def fmt_ci(est: object, lo: object, hi: object, *, ratio: bool = False) -> str:
    """``"0.25 [−0.14, 0.65]"``; empty when the estimate is missing."""
    if is_missing(est):
        return ""
    f = lambda x: fmt_num(x, nan="NA", ratio=ratio)  # noqa: E731
    return f"{f(est)} [{f(lo)}, {f(hi)}]"


def fmt_interval(lo: object, hi: object, *, ratio: bool = False) -> str:
    """``"[−0.40, 1.02]"``."""
    return f"[{fmt_num(lo, nan='NA', ratio=ratio)}, {fmt_num(hi, nan='NA', ratio=ratio)}]"


def fmt_p(p: object) -> str:
    """``"p = 0.033"``, ``"p < 0.001"``; ``"p = NA"`` when missing.

    >>> fmt_p(0.0332), fmt_p(1e-6), fmt_p(0.5)
    ('p = 0.033', 'p < 0.001', 'p = 0.50')
    """
    if is_missing(p):
        return "p = NA"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def fmt_pct(v: object, decimals: int = 0) -> str:
    """``"12%"``; empty when missing."""
    if is_missing(v):
        return ""
    return f"{float(v):.{decimals}f}%"


def fmt_int(v: object) -> str:
    """Integer text; empty when missing."""
    if is_missing(v):
        return ""
    return str(int(v))


def study_label(study_id: str) -> str:
    """Display label of a study id: a space before a trailing year, ``_`` as a space.

    >>> study_label("Bruun2024"), study_label("RodriguezFreire_INNOVA")
    ('Bruun 2024', 'RodriguezFreire INNOVA')
    """
    s = re.sub(r"(?<=[A-Za-z])((?:19|20)\d\d)$", r" \1", str(study_id))
    return s.replace("_", " ")


def design_label(design: object) -> str:
    """Short display label of a design code."""
    d = text_or(design)
    return DESIGN_LABEL.get(d, d.replace("_", " "))


def stratum_label(stratum: object) -> str:
    """Display label of a stratum code."""
    s = text_or(stratum)
    return STRATUM_LABEL.get(s, s.replace("_", " ").capitalize())


def domain_label(domain: object) -> str:
    """Display label of an outcome domain (``quality_of_life`` -> ``Quality of life``)."""
    s = text_or(domain, "other")
    return s.replace("_", " ").capitalize()


def safe_name(s: str) -> str:
    """File-name-safe form of an id: characters outside ``[A-Za-z0-9._-]`` become ``_``.

    >>> safe_name("pain/rct:main")
    'pain_rct_main'
    """
    out = re.sub(r"[^A-Za-z0-9._-]", "_", str(s))
    return out.lstrip(".") or "_"


def measure_scale(measure: object) -> str:
    """Plot scale of a measure: ``log`` (ratios), ``logit`` (PLO proportions) or ``linear``."""
    m = text_or(measure)
    if m in RATIO_MEASURES:
        return "log"
    if m == "PLO":
        return "logit"
    return "linear"


def flips(measure: object, better_direction: object) -> bool:
    """True when a ratio is shown as LDN over control although stored harmonised.

    Ratios of lower-is-better outcomes (e.g. adverse events) are stored with the sign turned
    so that positive = better with LDN; figures show them, like the report, as LDN vs control
    (RR < 1 = fewer events with LDN), i.e. with the sign turned back.
    """
    return text_or(measure) in RATIO_MEASURES and text_or(better_direction) == "lower"


def natural(v: float, scale: str) -> float:
    """Back-transform a plot-space value to the scale people read."""
    if math.isnan(v):
        return v
    if scale == "log":
        return math.exp(v)
    if scale == "logit":
        return 1.0 / (1.0 + math.exp(-v))
    return v


def fmt_pct1(p: float) -> str:
    """Proportion as percent with one decimal (``0.125`` -> ``12.5%``)."""
    return "NA" if is_missing(p) or math.isnan(p) else f"{100 * p:.1f}%"


def fmt_effect(est: float, lo: float, hi: float, scale: str) -> str:
    """Effect and CI on the natural scale of ``scale`` (values in plot space)."""
    e, a, b = (natural(float(v), scale) for v in (est, lo, hi))
    if math.isnan(e):
        return ""
    if scale == "logit":
        return f"{fmt_pct1(e)} [{fmt_pct1(a)}, {fmt_pct1(b)}]"
    return fmt_ci(e, a, b, ratio=scale == "log")


def fmt_effect_interval(lo: float, hi: float, scale: str) -> str:
    """An interval alone (prediction interval) on the natural scale."""
    a, b = (natural(float(v), scale) for v in (lo, hi))
    if scale == "logit":
        return f"[{fmt_pct1(a)}, {fmt_pct1(b)}]"
    return fmt_interval(a, b, ratio=scale == "log")
