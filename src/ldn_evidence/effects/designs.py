"""Effect sizes for one study at a time, by design, each with its derivation and assumptions.

Crossover trials are analysed as paired (Elbourne et al. 2002; Cochrane Handbook ch. 23.2): the
within-person correlation ``r`` is rarely reported, so it is imputed and recorded. Single-arm
pre-post studies give standardized mean changes (Becker 1988; Morris 2008) in their own stratum.
Reported effects (Cohen's d, an MD or a ratio with its CI) are turned into ``yi``/``vi``.

Every function returns an :class:`~ldn_evidence.effects.types.EffectEstimate` whose
``derivation`` names the route (e.g. ``"crossover_paired_from_p_value"``) and whose
``assumptions`` say what was imputed (e.g. ``"r = 0.5 (config)"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ldn_evidence.distributions import t_isf, wilson_interval
from ldn_evidence.effects import conversions
from ldn_evidence.effects.escalc import escalc
from ldn_evidence.effects.types import EffectEstimate

#: The crossover SMD standardizer used unless asked otherwise. "between": the between-person SD
#: (root of the average of the two period variances), which the Cochrane Handbook recommends so
#: that crossover SMDs sit on the same scale as parallel-group SMDs; "within": the SD of the
#: within-person differences (d_z), which inflates the SMD as r grows.
DEFAULT_CROSSOVER_STANDARDIZER = "between"


def _r_assumption(r: float, r_source: str) -> str:
    return f"r = {r:g} ({r_source})"


def _check_r(r: float) -> None:
    if not -1 <= r <= 1:
        raise ValueError(f"r must be between -1 and 1; got {r!r}")


def _check_n(n: float, minimum: int) -> None:
    if not n >= minimum:
        raise ValueError(f"n must be >= {minimum}; got {n!r}")


def _check_sd(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")


def crossover_md_paired(
    m_ldn: float,
    sd_ldn: float,
    m_control: float,
    sd_control: float,
    n: float,
    r: float,
    *,
    r_source: str = "config",
) -> EffectEstimate:
    """Within-person mean difference of a crossover trial from per-condition means and SDs.

    Parameters
    ----------
    m_ldn, sd_ldn : float
        Mean and SD of the outcome while on LDN (all participants, pooled over periods).
    m_control, sd_control : float
        Mean and SD while on the comparator.
    n : float
        Number of participants who completed both periods.
    r : float
        Within-person correlation between the two conditions (imputed unless reported).
    r_source : str, default "config"
        Where ``r`` came from, written into the assumptions (e.g. ``"config"``,
        ``"reported"``, ``"sensitivity"``).

    Returns
    -------
    EffectEstimate
        ``measure="MD"``, ``yi = m_ldn - m_control``, ``vi = SD_diff^2 / n``.

    Notes
    -----
    .. math::

        \\mathrm{SD}_{diff} = \\sqrt{\\mathrm{SD}_E^2 + \\mathrm{SD}_C^2
        - 2r\\,\\mathrm{SD}_E\\,\\mathrm{SD}_C}, \\qquad
        \\mathrm{SE}(\\mathrm{MD}) = \\mathrm{SD}_{diff}/\\sqrt n

    It ignores period effects (as a paired t test does), which Elbourne et al. discuss.

    References
    ----------
    Elbourne DR, Altman DG, Higgins JPT, Curtin F, Worthington HV, Vail A (2002). Meta-analyses
    involving cross-over trials: methodological issues. Int J Epidemiol 31:140-149.
    Higgins JPT, Eldridge S, Li T (eds). Chapter 23, section 23.2. Cochrane Handbook, version
    6.4, 2023 (worked example: section 16.4.6.4 of version 5.1).

    Examples
    --------
    >>> est = crossover_md_paired(7.0, 2.38, 6.5, 2.21, 10, 0.68)  # Cochrane 5.1, 16.4.6.4
    >>> est.yi, round(est.sei, 3)
    (0.5, 0.583)
    >>> est.assumptions[0]
    'r = 0.68 (config)'
    """
    _check_r(r)
    _check_n(n, 2)
    _check_sd("sd_ldn", sd_ldn)
    _check_sd("sd_control", sd_control)
    out = escalc(
        "MC",
        m1i=[m_ldn],
        m2i=[m_control],
        sd1i=[sd_ldn],
        sd2i=[sd_control],
        ni=[n],
        ri=[r],
    )
    return EffectEstimate(
        out.yi[0],
        out.vi[0],
        "MD",
        ("crossover_paired_with_imputed_r",),
        (
            _r_assumption(r, r_source),
            "paired analysis ignoring period effects (Elbourne 2002)",
        ),
    )


def crossover_md_from_p_value(md: float, p: float, n: float) -> EffectEstimate:
    """Within-person mean difference of a crossover trial with its SE from a paired p-value.

    Parameters
    ----------
    md : float
        Within-person mean difference, LDN minus comparator.
    p : float
        Two-sided p-value of the paired t test (exact, ``0 < p < 1``).
    n : float
        Number of participants in the paired analysis.

    Returns
    -------
    EffectEstimate
        ``measure="MD"``, ``vi = (|md| / t_{n-1, 1-p/2})^2``.

    Notes
    -----
    .. math:: \\mathrm{SE} = \\frac{|\\mathrm{MD}|}{t_{n-1}^{-1}(1-p/2)}

    A p-value reported only as a bound (p < 0.05) must not be passed here as if exact.

    References
    ----------
    Elbourne DR et al. (2002). Int J Epidemiol 31:140-149. Higgins JPT, Li T, Deeks JJ (eds).
    Chapter 6, section 6.5.2.3; chapter 23, section 23.2.7. Cochrane Handbook, version 6.4, 2023.

    Examples
    --------
    >>> est = crossover_md_from_p_value(-1.2, 0.02, 15)
    >>> round(est.sei, 4), est.derivation
    (0.4572, ('se_from_p_value', 'crossover_paired_from_p_value'))
    """
    _check_n(n, 2)
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1 (exclusive); got {p!r}")
    if md == 0:
        raise ValueError("md = 0 carries no information on the SE (any SE fits p)")
    se = conversions.se_from_p(md, p, df=n - 1)
    return EffectEstimate(
        md,
        se**2,
        "MD",
        ("se_from_p_value", "crossover_paired_from_p_value"),
        (f"paired t test with {n - 1:g} df", "p-value reported exactly"),
    )


def crossover_smd_paired(
    m_ldn: float,
    sd_ldn: float,
    m_control: float,
    sd_control: float,
    n: float,
    r: float,
    *,
    r_source: str = "config",
    standardizer: Literal["between", "within"] = DEFAULT_CROSSOVER_STANDARDIZER,
    small_sample_correction: bool = True,
) -> EffectEstimate:
    """Standardized mean difference of a crossover trial, analysed as paired.

    Parameters
    ----------
    m_ldn, sd_ldn, m_control, sd_control : float
        Per-condition means and SDs.
    n : float
        Number of participants in the paired analysis.
    r : float
        Within-person correlation (imputed unless reported).
    r_source : str, default "config"
        Where ``r`` came from, for the assumptions.
    standardizer : {"between", "within"}, default "between"
        ``"between"`` (default, Cochrane's recommendation): divide by the between-person SD,
        :math:`\\sqrt{(\\mathrm{SD}_E^2 + \\mathrm{SD}_C^2)/2}`, so the SMD is comparable with
        parallel-group SMDs; ``"within"``: divide by the SD of the differences (d_z).
    small_sample_correction : bool, default True
        Multiply by Hedges' exact :math:`J(n-1)`, as for the parallel-group SMD (Hedges' g).
        ``False`` reproduces the Cochrane Handbook's uncorrected formula.

    Returns
    -------
    EffectEstimate
        ``measure="SMD"``.

    Notes
    -----
    Between-person standardization (Elbourne 2002; Cochrane Handbook 5.1, 16.4.6.3):

    .. math::

        \\mathrm{SMD} = J\\,\\frac{\\mathrm{MD}}{\\sqrt{(\\mathrm{SD}_E^2 + \\mathrm{SD}_C^2)/2}},
        \\qquad \\mathrm{SE} = \\sqrt{\\frac1n + \\frac{\\mathrm{SMD}^2}{2n}}\\,\\sqrt{2(1-r)}

    Within-person standardization (change-score SMD, as metafor's SMCC):
    :math:`d_z = J\\,\\mathrm{MD}/\\mathrm{SD}_{diff}`, :math:`v = 1/n + d_z^2/(2n)`.

    References
    ----------
    Elbourne DR et al. (2002). Int J Epidemiol 31:140-149. Higgins JPT, Deeks JJ, Altman DG
    (eds). Section 16.4.6. Cochrane Handbook, version 5.1, 2011; chapter 23, version 6.4, 2023.
    Gibbons RD, Hedeker DR, Davis JM (1993). J Educ Stat 18:271-279 (d_z).

    Examples
    --------
    >>> est = crossover_smd_paired(7.0, 2.38, 6.5, 2.21, 10, 0.68, small_sample_correction=False)
    >>> round(est.yi, 3), round(est.sei, 3)  # Cochrane 5.1, 16.4.6.4: 0.218 and 0.256
    (0.218, 0.256)
    """
    _check_r(r)
    _check_n(n, 3)
    _check_sd("sd_ldn", sd_ldn)
    _check_sd("sd_control", sd_control)
    if standardizer not in ("between", "within"):
        raise ValueError(f"standardizer must be 'between' or 'within'; got {standardizer!r}")
    j = conversions.hedges_correction(n - 1) if small_sample_correction else 1.0
    md = m_ldn - m_control
    assumptions = [_r_assumption(r, r_source)]
    if standardizer == "between":
        smd = j * md / math.sqrt((sd_ldn**2 + sd_control**2) / 2)
        vi = (1 / n + smd**2 / (2 * n)) * 2 * (1 - r)
        assumptions.append("standardized by the between-person SD (Cochrane recommendation)")
        derivation = "crossover_smd_between_person_sd"
    else:
        sd_diff = math.sqrt(sd_ldn**2 + sd_control**2 - 2 * r * sd_ldn * sd_control)
        smd = j * md / sd_diff
        vi = 1 / n + smd**2 / (2 * n)
        assumptions.append("standardized by the SD of within-person differences (d_z)")
        derivation = "crossover_smd_within_person_sd"
    if small_sample_correction:
        assumptions.append(f"Hedges' exact small-sample correction J({n - 1:g})")
    return EffectEstimate(
        smd, vi, "SMD", ("crossover_paired_with_imputed_r", derivation), tuple(assumptions)
    )


def pre_post_change(
    m_pre: float,
    sd_pre: float,
    m_post: float,
    sd_post: float,
    n: float,
    r: float,
    *,
    measure: Literal["SMCR", "SMCC", "SMCRP", "MC"] = "SMCR",
    r_source: str = "config",
) -> EffectEstimate:
    """Change from baseline in a single group (post minus pre), raw or standardized.

    Parameters
    ----------
    m_pre, sd_pre : float
        Baseline mean and SD.
    m_post, sd_post : float
        Follow-up mean and SD (same participants).
    n : float
        Number of participants measured at both occasions.
    r : float
        Pre-post correlation (imputed unless reported).
    measure : {"SMCR", "SMCC", "MC"}, default "SMCR"
        ``"SMCR"``: standardized by the baseline SD (Becker 1988; Morris 2008), the default
        because it does not depend on ``r`` for the estimate; ``"SMCC"``: standardized by the
        SD of the change scores; ``"SMCRP"``: standardized by the pooled pre/post SD
        :math:`\\sqrt{(SD_{pre}^2 + SD_{post}^2)/2}` (Cousineau 2020), useful when eligibility
        restricts the baseline SD; ``"MC"``: raw mean change.
    r_source : str, default "config"
        Where ``r`` came from, for the assumptions.

    Returns
    -------
    EffectEstimate
        ``yi`` is post minus pre, with metafor's ``escalc`` definitions.

    Notes
    -----
    For SMCR, with :math:`J(m)` Hedges' exact correction:

    .. math:: g = J(n-1)\\,\\frac{\\bar x_{post} - \\bar x_{pre}}{\\mathrm{SD}_{pre}}, \\qquad
        v = \\frac{2(1-r)}{n} + \\frac{g^2}{2n}

    References
    ----------
    Becker BJ (1988). Synthesizing standardized mean-change measures. Br J Math Stat Psychol
    41:257-278. Morris SB (2008). Estimating effect sizes from pretest-posttest-control group
    designs. Organ Res Methods 11:364-386. Viechtbauer W (2010). J Stat Softw 36(3) (escalc).

    Examples
    --------
    >>> est = pre_post_change(30.6, 15.0, 38.5, 11.6, 20, 0.47)  # Morris 2008, treatment study 1
    >>> round(est.yi, 4), round(est.vi, 4)
    (0.5056, 0.0594)
    """
    if measure not in ("SMCR", "SMCC", "SMCRP", "MC"):
        raise ValueError(f"measure must be 'SMCR', 'SMCC', 'SMCRP' or 'MC'; got {measure!r}")
    _check_r(r)
    _check_sd("sd_pre", sd_pre)
    _check_sd("sd_post", sd_post)
    if measure == "SMCRP":
        return _pre_post_pooled_sd(m_pre, sd_pre, m_post, sd_post, n, r, r_source)
    out = escalc(
        measure,
        m1i=[m_post],
        m2i=[m_pre],
        sd1i=[sd_pre],
        sd2i=[sd_post],
        ni=[n],
        ri=[r],
    )
    assumptions = [_r_assumption(r, r_source)]
    if measure == "SMCR":
        assumptions.append("standardized by the baseline SD")
    return EffectEstimate(
        out.yi[0],
        out.vi[0],
        measure,
        (f"single_arm_pre_post_{measure.lower()}",),
        tuple(assumptions),
    )


def _pre_post_pooled_sd(m_pre, sd_pre, m_post, sd_post, n, r, r_source) -> EffectEstimate:
    """SMCRP: mean change standardized by the pooled pre/post SD (Cousineau 2020).

    .. math:: g = J(m)\\,\\frac{\\bar x_{post} - \\bar x_{pre}}{\\sqrt{(s_{pre}^2+s_{post}^2)/2}},
        \\quad m = \\frac{2(n-1)}{1+r^2},\\quad
        v = \\frac{2(1-r)}{n} + \\frac{g^2 (1+r^2)}{4n}

    References
    ----------
    Cousineau D (2020). Approximating the distribution of Cohen's d_p in within-subject
    designs. Quant Methods Psychol 16(4):418-421 (equation 2 for the variance; the degrees of
    freedom of the correction as metafor's escalc "SMCRP" uses them).
    """
    _check_n(n, 3)
    sd_pooled = math.sqrt((sd_pre**2 + sd_post**2) / 2)
    j = float(conversions.hedges_correction(2 * (n - 1) / (1 + r**2)))
    g = j * (m_post - m_pre) / sd_pooled
    vi = 2 * (1 - r) / n + g**2 * (1 + r**2) / (4 * n)
    return EffectEstimate(
        g,
        vi,
        "SMCRP",
        ("single_arm_pre_post_smcrp",),
        (_r_assumption(r, r_source), "standardized by the pooled baseline and follow-up SD"),
    )


def crossover_smd_from_p_value(p: float, n: float, r: float, sign: float) -> EffectEstimate:
    """Standardized mean difference of a crossover trial from its paired p-value alone.

    With the paired t statistic :math:`t = t^{-1}_{n-1}(1-p/2)`, the SD of the within-person
    differences is :math:`|MD|\\sqrt n / t`; the per-period SD under the imputed correlation
    follows from :math:`SD_{diff}^2 = 2 SD^2 (1-r)`, and the between-person SMD is

    .. math:: \\mathrm{SMD} = J(n-1)\\; t \\sqrt{2(1-r)/n}

    so it depends only on ``p``, ``n`` and ``r`` (the difference itself cancels): the sign
    must come from the reported direction. Its variance is that of
    :func:`crossover_smd_paired`.

    Parameters
    ----------
    p : float
        Two-sided p-value of the paired comparison (``0 < p < 1``).
    n : float
        Participants in the paired analysis.
    r : float
        Within-person correlation (imputed).
    sign : {+1, -1}
        +1 when LDN is better, -1 when worse (on the review's convention).

    References
    ----------
    Elbourne DR et al. (2002). Int J Epidemiol 31:140-149. Higgins JPT, Li T, Deeks JJ (eds).
    Chapter 23, section 23.2.7.2. Cochrane Handbook, version 6.4, 2023.

    Examples
    --------
    >>> est = crossover_smd_from_p_value(0.045, 28, 0.5, 1.0)  # Younger 2013, satisfaction
    >>> round(est.yi, 3)
    0.386
    """
    _check_n(n, 3)
    _check_r(r)
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1 (exclusive); got {p!r}")
    if sign not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1; got {sign!r}")
    t = float(t_isf(p / 2, n - 1))
    # A unit SD of the differences: MD = t / sqrt(n); per-period SD = 1 / sqrt(2 (1 - r)).
    sd = 1 / math.sqrt(2 * (1 - r))
    est = crossover_smd_paired(sign * t / math.sqrt(n), sd, 0.0, sd, n, r)
    return EffectEstimate(
        est.yi,
        est.vi,
        "SMD",
        ("t_from_p_value", "crossover_smd_from_p_value", est.derivation[-1]),
        (
            f"paired t test with {n - 1:g} df",
            "SMD = J t sqrt(2(1 - r)/n): it depends only on p, n and the imputed r",
            *est.assumptions,
        ),
    )


#: Continuity correction added to both cells of a single-arm proportion with 0 or n events
#: (metafor's escalc default for "PLO": add = 1/2, to = "only0").
PROPORTION_ADD = 0.5


@dataclass(frozen=True, slots=True)
class SingleArmProportion:
    """A single-arm proportion: the logit effect for pooling and the Wilson CI for reading."""

    estimate: EffectEstimate
    events: int
    total: int
    proportion: float
    ci_low: float
    ci_high: float


def single_arm_proportion(events: int, total: int, level: float = 0.95) -> SingleArmProportion:
    """Proportion of participants with an event in one group, with its Wilson score CI.

    The effect for pooling is the logit proportion (metafor's ``PLO``):
    :math:`y = \\ln\\frac{x}{n-x}`, :math:`v = \\frac1x + \\frac1{n-x}`, with 1/2 added to
    both cells when ``x = 0`` or ``x = n``. The interval people read is Wilson's score
    interval on the proportion scale (Wilson 1927; recommended by Newcombe 1998 and Brown, Cai
    & DasGupta 2001 for small n), :func:`ldn_evidence.distributions.wilson_interval`.

    References
    ----------
    Wilson EB (1927). J Am Stat Assoc 22:209-212. Newcombe RG (1998). Stat Med 17:857-872.
    Viechtbauer W (2010). J Stat Softw 36(3) (escalc "PLO").

    Examples
    --------
    >>> res = single_arm_proportion(2, 9)  # AJG 2011: 2 of 9 improved
    >>> round(res.proportion, 3), round(res.ci_low, 3), round(res.ci_high, 3)
    (0.222, 0.063, 0.547)
    """
    if total < 1 or not 0 <= events <= total:
        raise ValueError(f"need 0 <= events <= total and total >= 1; got {events}/{total}")
    x, n = float(events), float(total)
    assumptions: tuple[str, ...] = ()
    if events in (0, total):
        x, n = x + PROPORTION_ADD, n + 2 * PROPORTION_ADD
        assumptions = (f"{PROPORTION_ADD:g} added to both cells ({events} of {total})",)
    yi = math.log(x / (n - x))
    vi = 1 / x + 1 / (n - x)
    low, high = wilson_interval(events, total, alpha=1 - level)
    estimate = EffectEstimate(yi, vi, "PLO", ("plo_from_counts",), assumptions)
    return SingleArmProportion(estimate, events, total, events / total, float(low), float(high))


def smd_from_cohens_d(d: float, n1: float, n2: float) -> EffectEstimate:
    """Hedges' g and its variance from a reported Cohen's d and the two group sizes.

    Parameters
    ----------
    d : float
        Reported Cohen's d (pooled-SD standardized, LDN minus comparator).
    n1, n2 : float
        Group sizes (LDN, comparator), each >= 2.

    Returns
    -------
    EffectEstimate
        ``measure="SMD"``, identical to ``escalc("SMD", ...)`` on the underlying means.

    Notes
    -----
    .. math:: g = J(n_1+n_2-2)\\,d, \\qquad v = \\frac1{n_1} + \\frac1{n_2}
        + \\frac{g^2}{2(n_1+n_2)}

    References
    ----------
    Hedges LV (1981). J Educ Stat 6:107-128. Viechtbauer W (2010). J Stat Softw 36(3)
    (escalc's SMD with ``vtype="LS"``).

    Examples
    --------
    >>> est = smd_from_cohens_d(0.5, 20, 20)
    >>> round(est.yi, 4), round(est.vi, 4)
    (0.4901, 0.103)
    """
    out = escalc("SMD", m1i=[d], sd1i=[1.0], n1i=[n1], m2i=[0.0], sd2i=[1.0], n2i=[n2])
    return EffectEstimate(
        out.yi[0],
        out.vi[0],
        "SMD",
        ("smd_from_reported_cohens_d",),
        ("reported d standardized by the pooled SD",),
    )


def md_from_ci(
    md: float,
    lower: float,
    upper: float,
    *,
    level: float = 0.95,
    df: float | None = None,
) -> EffectEstimate:
    """A reported mean difference with its confidence interval as ``yi``/``vi``.

    Parameters
    ----------
    md : float
        Mean difference, LDN minus comparator.
    lower, upper : float
        Confidence limits.
    level : float, default 0.95
        Confidence level.
    df : float, optional
        Degrees of freedom when the interval was t-based; ``None`` for z.

    Returns
    -------
    EffectEstimate
        ``measure="MD"``, ``vi = SE^2`` with SE from :func:`conversions.se_from_ci`.

    Notes
    -----
    .. math:: \\mathrm{SE} = \\frac{\\mathrm{upper}-\\mathrm{lower}}{2\\,q}

    An interval that is far from symmetric around ``md`` suggests a transformed scale; check
    before using.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, sections 6.3.1 and 6.5.2.3. Cochrane
    Handbook, version 6.4, 2023.

    Examples
    --------
    >>> est = md_from_ci(3.8, 1.2, 6.4, df=45)
    >>> round(est.sei, 3), est.assumptions
    (1.291, ('95% CI, t with 45 df',))
    """
    if not lower <= md <= upper:
        raise ValueError(f"md must lie within its CI; got {md} ({lower} to {upper})")
    se = conversions.se_from_ci(lower, upper, level=level, df=df)
    spec = "z" if df is None else f"t with {df:g} df"
    return EffectEstimate(md, se**2, "MD", ("md_from_ci",), (f"{level:.0%} CI, {spec}",))


def smd_from_md_ci(
    md: float,
    lower: float,
    upper: float,
    n1: float,
    n2: float,
    *,
    level: float = 0.95,
) -> EffectEstimate:
    """Hedges' g from a mean difference with its CI and the group sizes.

    Parameters
    ----------
    md : float
        Mean difference, LDN minus comparator.
    lower, upper : float
        Confidence limits (assumed from a pooled two-sample t test, ``n1 + n2 - 2`` df).
    n1, n2 : float
        Group sizes.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    EffectEstimate
        ``measure="SMD"``.

    Notes
    -----
    :math:`\\mathrm{SD}_{pooled} = \\mathrm{SE}/\\sqrt{1/n_1+1/n_2}`, then Hedges' g as in
    :func:`smd_from_cohens_d`.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.2.3. Cochrane Handbook, version
    6.4, 2023. Hedges LV (1981). J Educ Stat 6:107-128.

    Examples
    --------
    >>> est = smd_from_md_ci(3.8, 1.2, 6.4, 25, 22)
    >>> round(est.yi, 4), est.derivation
    (0.8461, ('sd_pooled_from_ci', 'smd_from_md_and_pooled_sd'))
    """
    d = conversions.smd_from_md_ci(md, lower, upper, n1, n2, level=level, distribution="t")
    est = smd_from_cohens_d(d, n1, n2)
    return EffectEstimate(
        est.yi,
        est.vi,
        "SMD",
        ("sd_pooled_from_ci", "smd_from_md_and_pooled_sd"),
        (f"{level:.0%} CI from a pooled two-sample t test", "equal SDs in both groups"),
    )


def log_ratio_from_ci(
    ratio: float,
    lower: float,
    upper: float,
    *,
    measure: Literal["OR", "RR", "ROM"],
    level: float = 0.95,
) -> EffectEstimate:
    """A reported ratio (odds ratio, risk ratio, ratio of means) with its CI, on the log scale.

    Parameters
    ----------
    ratio : float
        Reported ratio, LDN over comparator.
    lower, upper : float
        Confidence limits of the ratio.
    measure : {"OR", "RR", "ROM"}
        Which ratio it is.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    EffectEstimate
        ``yi = ln(ratio)``, ``vi`` from the log limits.

    Notes
    -----
    .. math:: \\mathrm{SE}(\\ln R) = \\frac{\\ln U - \\ln L}{2 z_{(1+level)/2}}

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.3.1. Cochrane Handbook, version
    6.4, 2023.

    Examples
    --------
    >>> est = log_ratio_from_ci(2.0, 1.0, 4.0, measure="OR")
    >>> round(est.yi, 4), round(est.sei, 4)
    (0.6931, 0.3537)
    """
    if measure not in ("OR", "RR", "ROM"):
        raise ValueError(f"measure must be 'OR', 'RR' or 'ROM'; got {measure!r}")
    if not 0 < lower <= ratio <= upper:
        raise ValueError(f"need 0 < lower <= ratio <= upper; got {ratio} ({lower} to {upper})")
    se = conversions.se_from_ci(lower, upper, level=level, log_scale=True)
    return EffectEstimate(
        math.log(ratio),
        se**2,
        measure,
        (f"log_{measure.lower()}_from_ci",),
        (f"{level:.0%} CI, z-based on the log scale",),
    )
