"""Conversions from reported statistics to the inputs of an effect size, one published formula each.

Every function is vectorised over numpy arrays and returns a float when given scalars. None of
them records provenance: that is the caller's job (see :mod:`ldn_evidence.effects.designs`,
which wraps them into :class:`~ldn_evidence.effects.types.EffectEstimate` records).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ldn_evidence import distributions

Distribution = Literal["t", "z", "auto"]

#: Below this sample size a CI of a mean is taken to be t-based when ``distribution="auto"``.
#: The Cochrane Handbook (section 6.5.2.2) says intervals from samples smaller than about 60
#: per group should have been computed with the t distribution, and 3.92 is right above 100.
T_BELOW_N = 60


def _out(value: np.ndarray) -> float | np.ndarray:
    """Return a Python float for 0-d results, the array otherwise."""
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


def _critical_value(level: float, df: ArrayLike | None) -> np.ndarray:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1; got {level!r}")
    tail = (1 - level) / 2
    if df is None:
        return np.asarray(distributions.norm_isf(tail))
    return np.asarray(distributions.t_isf(tail, np.asarray(df, dtype=float)))


def hedges_correction(df: ArrayLike) -> float | np.ndarray:
    """Exact small-sample bias correction factor J(m) for a standardized mean difference.

    Parameters
    ----------
    df : array-like
        Degrees of freedom ``m`` of the SD used to standardize (``n1 + n2 - 2`` for two
        independent groups, ``n - 1`` for one group).

    Returns
    -------
    float or numpy.ndarray
        ``J(m)``; ``nan`` where ``m <= 1`` (undefined).

    Notes
    -----
    .. math::

        J(m) = \\frac{\\Gamma(m/2)}{\\sqrt{m/2}\\;\\Gamma((m-1)/2)} \\approx 1 - \\frac{3}{4m-1}

    computed on the log scale (``gammaln``) so large ``m`` does not overflow.

    References
    ----------
    Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. J Educ Stat 6:107-128.

    Examples
    --------
    >>> round(hedges_correction(18), 6)
    0.957646
    >>> round(1 - 3 / (4 * 18 - 1), 6)  # the usual approximation, for comparison
    0.957746
    """
    m = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_j = special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2)
        j = np.where(m > 1, np.exp(log_j), np.nan)
    return _out(j)


def sd_from_se(se: ArrayLike, n: ArrayLike) -> float | np.ndarray:
    """Standard deviation of a group from the standard error of its mean.

    Parameters
    ----------
    se : array-like
        Standard error of the group mean.
    n : array-like
        Number of participants in the group.

    Returns
    -------
    float or numpy.ndarray
        The SD.

    Notes
    -----
    .. math:: \\mathrm{SD} = \\mathrm{SE}\\,\\sqrt{n}

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.2.2. In: Cochrane Handbook for
    Systematic Reviews of Interventions, version 6.4, 2023.

    Examples
    --------
    >>> sd_from_se(2.0, 25)
    10.0
    """
    return _out(np.asarray(se, dtype=float) * np.sqrt(np.asarray(n, dtype=float)))


def sd_from_ci(
    lower: ArrayLike,
    upper: ArrayLike,
    n: ArrayLike,
    *,
    level: float = 0.95,
    distribution: Distribution = "auto",
) -> float | np.ndarray:
    """Standard deviation of a group from a confidence interval of its mean.

    Parameters
    ----------
    lower, upper : array-like
        Confidence limits of the group mean (symmetric around it).
    n : array-like
        Number of participants in the group.
    level : float, default 0.95
        Confidence level of the interval.
    distribution : {"auto", "t", "z"}, default "auto"
        ``"t"``: the interval used a t distribution with ``n - 1`` degrees of freedom;
        ``"z"``: a normal distribution; ``"auto"``: t when ``n < 60`` (:data:`T_BELOW_N`),
        z otherwise, following the Cochrane Handbook's advice.

    Returns
    -------
    float or numpy.ndarray
        The SD.

    Notes
    -----
    .. math:: \\mathrm{SD} = \\sqrt{n}\\,\\frac{\\mathrm{upper} - \\mathrm{lower}}{2\\,q}

    with :math:`q` the ``(1 + level) / 2`` quantile of :math:`t_{n-1}` or of the standard normal
    (``2q = 3.92`` for a large-sample 95% interval).

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.2.2: Obtaining standard deviations
    from standard errors and confidence intervals for group means. In: Cochrane Handbook for
    Systematic Reviews of Interventions, version 6.4, 2023.

    Examples
    --------
    >>> round(sd_from_ci(3.0, 7.0, 400, distribution="z"), 4)  # 20 * 4 / (2 * 1.95996)
    20.4085
    >>> round(sd_from_ci(3.0, 7.0, 25), 4)  # t with 24 df: 5 * 4 / (2 * 2.0639)
    4.8452
    """
    if distribution not in ("auto", "t", "z"):
        raise ValueError(f"distribution must be 'auto', 't' or 'z'; got {distribution!r}")
    n = np.asarray(n, dtype=float)
    t_quantile = _critical_value(level, np.maximum(n - 1, 1))
    z_quantile = _critical_value(level, None)
    if distribution == "t":
        q = t_quantile
    elif distribution == "z":
        q = z_quantile
    else:
        q = np.where(n < T_BELOW_N, t_quantile, z_quantile)
    width = np.asarray(upper, dtype=float) - np.asarray(lower, dtype=float)
    return _out(np.sqrt(n) * width / (2 * q))


def se_from_ci(
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    level: float = 0.95,
    df: ArrayLike | None = None,
    log_scale: bool = False,
) -> float | np.ndarray:
    """Standard error of an effect estimate (e.g. a mean difference) from its confidence interval.

    Parameters
    ----------
    lower, upper : array-like
        Confidence limits of the estimate, as reported.
    level : float, default 0.95
        Confidence level.
    df : array-like, optional
        Degrees of freedom when the interval was t-based (e.g. ``n1 + n2 - 2`` for a two-sample
        t test, ``n - 1`` for a paired one); ``None`` for a normal (z) interval.
    log_scale : bool, default False
        ``True`` for ratio measures (OR, RR, HR, ratio of means): the limits are logged first
        and the SE is that of the log ratio.

    Returns
    -------
    float or numpy.ndarray
        The standard error (of the log ratio if ``log_scale``).

    Notes
    -----
    .. math:: \\mathrm{SE} = \\frac{\\mathrm{upper} - \\mathrm{lower}}{2\\,q}

    with :math:`q` the ``(1 + level) / 2`` quantile of the normal or of :math:`t_{df}`.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, sections 6.3.1 (ratio measures: log scale) and
    6.5.2.3 (t-based intervals for a difference in means). Cochrane Handbook, version 6.4, 2023.

    Examples
    --------
    >>> round(se_from_ci(1.2, 6.4, df=45), 3)  # Cochrane 6.5.2.3: 5.2 / (2 * 2.014)
    1.291
    >>> round(se_from_ci(0.5, 2.0, log_scale=True), 4)  # log OR limits
    0.3537
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if log_scale:
        with np.errstate(divide="ignore", invalid="ignore"):
            lower, upper = np.log(lower), np.log(upper)
    return _out((upper - lower) / (2 * _critical_value(level, df)))


def se_from_p(
    estimate: ArrayLike, p: ArrayLike, *, df: ArrayLike | None = None
) -> float | np.ndarray:
    """Standard error of an effect estimate from its two-sided p-value.

    Parameters
    ----------
    estimate : array-like
        The effect estimate the test was about (a difference; a log ratio for ratio measures).
    p : array-like
        Two-sided p-value, ``0 < p < 1``. A bound such as "p < 0.05" is not a p-value; using the
        bound gives a conservative (too large) SE, which the caller must record as an assumption.
    df : array-like, optional
        Degrees of freedom of a t test (``n1 + n2 - 2`` two-sample, ``n - 1`` paired);
        ``None`` for a z test.

    Returns
    -------
    float or numpy.ndarray
        ``|estimate| / statistic``; ``nan`` where ``p`` is outside (0, 1).

    Notes
    -----
    The test statistic is recovered from the p-value and the estimate divided by it:

    .. math:: \\mathrm{SE} = \\frac{|\\hat\\theta|}{q_{1-p/2}}

    with :math:`q` the normal or :math:`t_{df}` quantile. Exact quantiles are used, not the
    approximation :math:`z = -0.862 + \\sqrt{0.743 - 2.404\\ln p}` of Altman & Bland (2011).

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, sections 6.3.2 and 6.5.2.3. Cochrane Handbook,
    version 6.4, 2023. Altman DG, Bland JM (2011). How to obtain the confidence interval from a
    P value. BMJ 343:d2090.

    Examples
    --------
    >>> round(se_from_p(3.8, 0.008, df=45), 2)  # Cochrane: t = 2.78, SE = 3.8 / 2.78
    1.37
    >>> round(se_from_p(np.log(0.30), 0.034), 2)  # Altman & Bland 2011: RR 0.30, P = 0.034
    0.57
    """
    p = np.asarray(p, dtype=float)
    valid = (p > 0) & (p < 1)
    safe_p = np.where(valid, p, 0.5)
    if df is None:
        statistic = distributions.norm_isf(safe_p / 2)
    else:
        statistic = distributions.t_isf(safe_p / 2, np.asarray(df, dtype=float))
    se = np.abs(np.asarray(estimate, dtype=float)) / statistic
    return _out(np.where(valid, se, np.nan))


def d_from_t(t: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> float | np.ndarray:
    """Cohen's d from an independent-samples t statistic.

    Parameters
    ----------
    t : array-like
        Two-sample (pooled-variance) t statistic, signed as group 1 minus group 2.
    n1, n2 : array-like
        Group sizes.

    Returns
    -------
    float or numpy.ndarray
        Cohen's d (not bias-corrected; see :func:`hedges_correction`).

    Notes
    -----
    .. math:: d = t\\,\\sqrt{\\frac{1}{n_1} + \\frac{1}{n_2}}

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis,
    ch. 7 (Wiley). The same relation is used by metafor's ``escalc(measure="SMD", ti=...)``.

    Examples
    --------
    >>> round(d_from_t(2.5, 20, 20), 4)
    0.7906
    """
    n1 = np.asarray(n1, dtype=float)
    n2 = np.asarray(n2, dtype=float)
    return _out(np.asarray(t, dtype=float) * np.sqrt(1 / n1 + 1 / n2))


def sd_pooled_from_se(se_md: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> float | np.ndarray:
    """Pooled within-group SD from the standard error of a mean difference.

    Parameters
    ----------
    se_md : array-like
        Standard error of the difference between two independent group means.
    n1, n2 : array-like
        Group sizes.

    Returns
    -------
    float or numpy.ndarray
        The SD common to both groups (assumes equal SDs, as the pooled t test does).

    Notes
    -----
    .. math:: \\mathrm{SD} = \\frac{\\mathrm{SE}}{\\sqrt{1/n_1 + 1/n_2}}

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.2.3. Cochrane Handbook, version
    6.4, 2023.

    Examples
    --------
    >>> round(sd_pooled_from_se(1.291, 25, 22), 3)  # 1.291 / sqrt(1/25 + 1/22)
    4.416
    """
    n1 = np.asarray(n1, dtype=float)
    n2 = np.asarray(n2, dtype=float)
    return _out(np.asarray(se_md, dtype=float) / np.sqrt(1 / n1 + 1 / n2))


def smd_from_md_ci(
    md: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    level: float = 0.95,
    distribution: Literal["t", "z"] = "t",
) -> float | np.ndarray:
    """Cohen's d from a mean difference, its confidence interval and the two group sizes.

    Parameters
    ----------
    md : array-like
        Mean difference, group 1 minus group 2.
    lower, upper : array-like
        Confidence limits of the mean difference.
    n1, n2 : array-like
        Group sizes.
    level : float, default 0.95
        Confidence level.
    distribution : {"t", "z"}, default "t"
        ``"t"``: the interval came from a two-sample t test (``n1 + n2 - 2`` df); ``"z"``:
        a normal interval.

    Returns
    -------
    float or numpy.ndarray
        Cohen's d (uncorrected). Apply :func:`hedges_correction` with ``n1 + n2 - 2`` df, or use
        :func:`ldn_evidence.effects.designs.smd_from_md_ci`, for Hedges' g with its variance.

    Notes
    -----
    The SE of the MD comes from the interval (:func:`se_from_ci`), the pooled SD from the SE
    (:func:`sd_pooled_from_se`), and

    .. math:: d = \\frac{\\mathrm{MD}}{\\mathrm{SE}/\\sqrt{1/n_1 + 1/n_2}}

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.2.3. Cochrane Handbook, version
    6.4, 2023.

    Examples
    --------
    >>> round(smd_from_md_ci(3.8, 1.2, 6.4, 25, 22), 3)  # 3.8 / 4.416
    0.861
    """
    if distribution not in ("t", "z"):
        raise ValueError(f"distribution must be 't' or 'z'; got {distribution!r}")
    n1 = np.asarray(n1, dtype=float)
    n2 = np.asarray(n2, dtype=float)
    df = n1 + n2 - 2 if distribution == "t" else None
    se = se_from_ci(lower, upper, level=level, df=df)
    return _out(np.asarray(md, dtype=float) / sd_pooled_from_se(se, n1, n2))


def _range_divisor(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) xi(n): expected range of n standard normal values (Blom's formula)."""
    return 2 * distributions.norm_ppf((n - 0.375) / (n + 0.25))


def _iqr_divisor(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) eta(n): expected interquartile range of n standard normal values."""
    return 2 * distributions.norm_ppf((0.75 * n - 0.125) / (n + 0.25))


def mean_from_median(
    median: ArrayLike,
    n: ArrayLike,
    *,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
) -> float | np.ndarray:
    """Sample mean from the median with the range, the quartiles, or both (Luo et al. 2018).

    Parameters
    ----------
    median : array-like
        Sample median.
    n : array-like
        Sample size.
    q1, q3 : array-like, optional
        First and third quartiles (give both or neither).
    minimum, maximum : array-like, optional
        Smallest and largest values (give both or neither).

    Returns
    -------
    float or numpy.ndarray
        Estimated sample mean.

    Notes
    -----
    Luo et al.'s optimally weighted estimators, with scenario S1 = {min, median, max},
    S2 = {min, q1, median, q3, max}, S3 = {q1, median, q3}:

    .. math::

        S_1:\\ \\bar x \\approx w\\,\\frac{a+b}{2} + (1-w)\\,m,\\quad w = \\frac{4}{4+n^{0.75}}

        S_3:\\ \\bar x \\approx w\\,\\frac{q_1+q_3}{2} + (1-w)\\,m,\\quad w = 0.7 + \\frac{0.39}{n}

        S_2:\\ \\bar x \\approx w_1\\frac{a+b}{2} + w_2\\frac{q_1+q_3}{2} + (1-w_1-w_2)\\,m,\\quad
        w_1 = \\frac{2.2}{2.2+n^{0.75}},\\ w_2 = 0.7 - \\frac{0.72}{n^{0.55}}

    They assume roughly normal data; a median reported because the data are skewed is a reason
    to treat the result as an approximation (record it as an assumption).

    References
    ----------
    Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample
    size, median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27:1785-1805.

    Examples
    --------
    >>> round(mean_from_median(20, 50, q1=15, q3=27), 4)  # 0.7078 * 21 + 0.2922 * 20
    20.7078
    >>> round(mean_from_median(20, 50, minimum=5, maximum=60), 4)
    22.1927
    """
    m = np.asarray(median, dtype=float)
    n = np.asarray(n, dtype=float)
    has_iqr = _pair_given("q1", q1, "q3", q3)
    has_range = _pair_given("minimum", minimum, "maximum", maximum)
    if not (has_iqr or has_range):
        raise ValueError("mean_from_median needs q1 and q3, or minimum and maximum, or both")
    if has_iqr and has_range:
        mid_range = (np.asarray(minimum, dtype=float) + np.asarray(maximum, dtype=float)) / 2
        mid_quartiles = (np.asarray(q1, dtype=float) + np.asarray(q3, dtype=float)) / 2
        w1 = 2.2 / (2.2 + n**0.75)
        w2 = 0.7 - 0.72 / n**0.55
        return _out(w1 * mid_range + w2 * mid_quartiles + (1 - w1 - w2) * m)
    if has_range:
        mid_range = (np.asarray(minimum, dtype=float) + np.asarray(maximum, dtype=float)) / 2
        w = 4 / (4 + n**0.75)
        return _out(w * mid_range + (1 - w) * m)
    mid_quartiles = (np.asarray(q1, dtype=float) + np.asarray(q3, dtype=float)) / 2
    w = 0.7 + 0.39 / n
    return _out(w * mid_quartiles + (1 - w) * m)


def sd_from_median(
    n: ArrayLike,
    *,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
    method: Literal["wan", "shi"] = "wan",
) -> float | np.ndarray:
    """Sample SD from the range, the interquartile range, or both (Wan 2014; Shi 2020).

    Parameters
    ----------
    n : array-like
        Sample size.
    q1, q3 : array-like, optional
        First and third quartiles (give both or neither).
    minimum, maximum : array-like, optional
        Smallest and largest values (give both or neither).
    method : {"wan", "shi"}, default "wan"
        With all five numbers: ``"wan"`` averages the range- and IQR-based estimates with equal
        weights (Wan et al. 2014, scenario C2); ``"shi"`` uses Shi et al.'s (2020) optimal,
        sample-size dependent weight. With only the range or only the IQR both methods are Wan's.

    Returns
    -------
    float or numpy.ndarray
        Estimated sample SD.

    Notes
    -----
    With :math:`\\xi(n) = 2\\Phi^{-1}\\left(\\frac{n-0.375}{n+0.25}\\right)` and
    :math:`\\eta(n) = 2\\Phi^{-1}\\left(\\frac{0.75n-0.125}{n+0.25}\\right)`:

    .. math::

        \\text{range}:\\ S \\approx \\frac{b-a}{\\xi(n)}, \\qquad
        \\text{IQR}:\\ S \\approx \\frac{q_3-q_1}{\\eta(n)}

        \\text{both}:\\ S \\approx w\\,\\frac{b-a}{\\xi(n)} + (1-w)\\,\\frac{q_3-q_1}{\\eta(n)},
        \\quad w_{Wan} = \\tfrac12,\\quad w_{Shi} = \\frac{1}{1 + 0.07\\,n^{0.6}}

    References
    ----------
    Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from
    the sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
    Shi J, Luo D, Weng H, Zeng XT, Lin L, Chu H, Tong T (2020). Optimally estimating the sample
    standard deviation from the five-number summary. Res Synth Methods 11:641-654.

    Examples
    --------
    >>> round(sd_from_median(50, q1=15, q3=27), 4)  # 12 / eta(50) = 12 / 1.3101
    9.1597
    >>> round(sd_from_median(50, q1=15, q3=27, minimum=5, maximum=60, method="shi"), 4)
    10.9489
    """
    if method not in ("wan", "shi"):
        raise ValueError(f"method must be 'wan' or 'shi'; got {method!r}")
    n = np.asarray(n, dtype=float)
    has_iqr = _pair_given("q1", q1, "q3", q3)
    has_range = _pair_given("minimum", minimum, "maximum", maximum)
    if not (has_iqr or has_range):
        raise ValueError("sd_from_median needs q1 and q3, or minimum and maximum, or both")
    with np.errstate(invalid="ignore", divide="ignore"):
        if has_range:
            width = np.asarray(maximum, dtype=float) - np.asarray(minimum, dtype=float)
            from_range = width / _range_divisor(n)
        if has_iqr:
            iqr = np.asarray(q3, dtype=float) - np.asarray(q1, dtype=float)
            from_iqr = iqr / _iqr_divisor(n)
    if has_range and has_iqr:
        w = 0.5 if method == "wan" else 1 / (1 + 0.07 * n**0.6)
        return _out(w * from_range + (1 - w) * from_iqr)
    return _out(from_range if has_range else from_iqr)


def _pair_given(name_a: str, a: object, name_b: str, b: object) -> bool:
    if (a is None) != (b is None):
        raise ValueError(f"give both {name_a} and {name_b}, or neither")
    return a is not None


def count_from_percent(percent: float | str, n: int, *, decimals: int | None = None) -> int | None:
    """The event count behind a reported percentage, when it is the only one that fits.

    Parameters
    ----------
    percent : float or str
        Reported percentage (e.g. ``33.3`` or ``"33.3"``). Give it as a string to keep its
        number of decimals (``"12.0"`` has one).
    n : int
        Number of participants the percentage is of (the arm size).
    decimals : int, optional
        Decimals the percentage was reported with; inferred from a string ``percent`` when
        omitted, and required for a float.

    Returns
    -------
    int or None
        The count ``k`` in ``0..n`` such that ``100 k / n`` rounds to ``percent``, when exactly
        one ``k`` does; ``None`` when none or several do (not derivable).

    Notes
    -----
    A count :math:`k` is consistent when

    .. math:: \\left|\\frac{100k}{n} - p\\right| \\le \\tfrac12\\,10^{-\\text{decimals}}

    (the boundary is kept so both round-half-up and round-half-even reporting are accepted;
    if that makes two counts fit, the count is not derivable). Exact decimal arithmetic is used
    so the boundary is not lost to floating point.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.4 (dichotomous data need the count
    and the denominator). Cochrane Handbook, version 6.4, 2023. The uniqueness rule is this
    project's: a percentage is used only when it pins the count down.

    Examples
    --------
    >>> count_from_percent("33.3", 27)
    9
    >>> count_from_percent(1, 300, decimals=0) is None  # 2, 3 and 4 of 300 all round to 1%
    True
    """
    if isinstance(percent, str):
        text = percent.strip().rstrip("%").strip()
        if decimals is None:
            decimals = len(text.split(".")[1]) if "." in text else 0
        reported = Decimal(text)
    else:
        if decimals is None:
            raise ValueError("decimals is required when percent is a number (give a string)")
        if isinstance(percent, float) and math.isnan(percent):
            return None
        reported = Decimal(str(percent))
    if not reported.is_finite():
        raise ValueError(f"percent must be a finite number; got {percent!r}")
    if n != int(n) or n < 1:
        raise ValueError(f"n must be a positive whole number; got {n!r}")
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0; got {decimals!r}")
    n = int(n)
    # the counts that fit form the integer range [n (p - h) / 100, n (p + h) / 100]: solved
    # directly (not by trying every k, which never ends for n = 10**12), exactly in Decimal
    with localcontext() as exact:
        _sign, digits, exponent = reported.as_tuple()
        exact.prec = len(str(n)) + len(digits) + abs(int(exponent)) + decimals + 10
        half_unit = Decimal(1).scaleb(-decimals) / 2
        lowest = max(0, int(((reported - half_unit) * n / 100).to_integral_value(ROUND_CEILING)))
        highest = min(n, int(((reported + half_unit) * n / 100).to_integral_value(ROUND_FLOOR)))
    return lowest if lowest == highest else None


def counts_from_percent(percent: ArrayLike, n: ArrayLike, *, decimals: ArrayLike) -> np.ndarray:
    """Vectorised :func:`count_from_percent`: a float array with ``nan`` where not derivable.

    Parameters
    ----------
    percent, n, decimals : array-like
        Reported percentages, arm sizes and reported decimals, one per row; missing ``n`` or
        ``percent`` gives ``nan``.

    Returns
    -------
    numpy.ndarray
        Counts as floats, ``nan`` where zero or several counts fit.

    Notes
    -----
    See :func:`count_from_percent` for the rule
    (:math:`|100k/n - p| \\le \\tfrac12 10^{-\\text{decimals}}`, exactly one :math:`k`).

    References
    ----------
    As :func:`count_from_percent`.

    Examples
    --------
    >>> counts_from_percent([33.3, 1.0], [27, 300], decimals=[1, 0])
    array([ 9., nan])
    """
    percent, n, decimals = np.broadcast_arrays(
        np.asarray(percent, dtype=float), np.asarray(n, dtype=float), np.asarray(decimals)
    )
    out = np.full(percent.size, np.nan)
    rows = zip(percent.ravel(), n.ravel(), decimals.ravel(), strict=True)
    for i, (p, size, dec) in enumerate(rows):
        if np.isnan(p) or np.isnan(size):
            continue
        count = count_from_percent(float(p), int(size), decimals=int(dec))
        if count is not None:
            out[i] = count
    return out.reshape(percent.shape)


def log_odds_ratio_from_d(
    d: ArrayLike, var_d: ArrayLike | None = None
) -> tuple[float | np.ndarray, float | np.ndarray | None]:
    """Log odds ratio (and its variance) from a standardized mean difference (Chinn 2000).

    Parameters
    ----------
    d : array-like
        Standardized mean difference.
    var_d : array-like, optional
        Its sampling variance.

    Returns
    -------
    tuple
        ``(log_or, var_log_or)``; the variance is ``None`` when ``var_d`` is not given.

    Notes
    -----
    Assumes logistic distributions in both groups:

    .. math:: \\ln\\mathrm{OR} = \\frac{\\pi}{\\sqrt3}\\,d, \\qquad
        \\mathrm{Var}(\\ln\\mathrm{OR}) = \\frac{\\pi^2}{3}\\,\\mathrm{Var}(d)

    References
    ----------
    Chinn S (2000). A simple method for converting an odds ratio to effect size for use in
    meta-analysis. Stat Med 19:3127-3131.

    Examples
    --------
    >>> lnor, v = log_odds_ratio_from_d(0.5, 0.04)
    >>> round(lnor, 4), round(v, 4)
    (0.9069, 0.1316)
    """
    log_or = _out(np.asarray(d, dtype=float) * math.pi / math.sqrt(3))
    if var_d is None:
        return log_or, None
    return log_or, _out(np.asarray(var_d, dtype=float) * math.pi**2 / 3)


def d_from_log_odds_ratio(
    log_or: ArrayLike, var_log_or: ArrayLike | None = None
) -> tuple[float | np.ndarray, float | np.ndarray | None]:
    """Standardized mean difference (and its variance) from a log odds ratio (Chinn 2000).

    Parameters
    ----------
    log_or : array-like
        Log odds ratio.
    var_log_or : array-like, optional
        Its sampling variance.

    Returns
    -------
    tuple
        ``(d, var_d)``; the variance is ``None`` when ``var_log_or`` is not given.

    Notes
    -----
    The inverse of :func:`log_odds_ratio_from_d`:

    .. math:: d = \\frac{\\sqrt3}{\\pi}\\,\\ln\\mathrm{OR}, \\qquad
        \\mathrm{Var}(d) = \\frac{3}{\\pi^2}\\,\\mathrm{Var}(\\ln\\mathrm{OR})

    References
    ----------
    Chinn S (2000). Stat Med 19:3127-3131.

    Examples
    --------
    >>> d, v = d_from_log_odds_ratio(np.log(2.0), 0.25)
    >>> round(d, 4), round(v, 4)
    (0.3822, 0.076)
    """
    d = _out(np.asarray(log_or, dtype=float) * math.sqrt(3) / math.pi)
    if var_log_or is None:
        return d, None
    return d, _out(np.asarray(var_log_or, dtype=float) * 3 / math.pi**2)
