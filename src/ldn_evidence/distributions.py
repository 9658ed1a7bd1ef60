"""The few distribution functions the pipeline needs, on ``scipy.special`` alone.

Why this module exists: every Snakemake job is a fresh ``python -m ldn_evidence <command>``
process, so what a command imports is paid once per job (about 25 jobs per run). Importing
``scipy.stats`` costs about 1.5-2 s of CPU on a small machine and
``statsmodels.stats.proportion`` about 2 s, while ``scipy.special``, which holds the functions
that ``scipy.stats`` itself evaluates, costs a fraction of that. The statistics modules of
:mod:`ldn_evidence.effects`, :mod:`ldn_evidence.meta` and :mod:`ldn_evidence.analysis` therefore
take their distribution functions from here.

Where ``scipy.stats`` evaluates a function as one call of a special function (the normal
``sf``/``isf``/``ppf``/``cdf`` through ``ndtr``/``ndtri``, Student's t through ``stdtr`` and
``stdtrit``, chi-square and F tails through ``chdtrc`` and ``fdtrc``), the same special function
is called here, so the values are bit-for-bit those of ``scipy.stats`` (checked in
``tests/unit/test_distributions.py``). Arguments broadcast like NumPy ufuncs; a scalar argument
gives a NumPy scalar.

Functions
---------
Normal: :func:`norm_cdf`, :func:`norm_sf`, :func:`norm_ppf`, :func:`norm_isf`.
Student's t: :func:`t_sf`, :func:`t_ppf`, :func:`t_isf`, :func:`t_logpdf`, :func:`t_logcdf`,
:func:`t_logsf`. Chi-square: :func:`chi2_sf`. F: :func:`f_sf`. A proportion:
:func:`wilson_interval` (Wilson 1927; Newcombe 1998) and :func:`sign_test_p` (the exact
two-sided binomial test of p = 1/2).

References
----------
Abramowitz M, Stegun IA (1964). *Handbook of Mathematical Functions*. NBS, ch. 26 (normal,
t, chi-square and F distributions as incomplete gamma and beta functions).
Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
J Am Stat Assoc 22:209-212.
Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Stat Med 17:857-872 (method 3).
Conover WJ (1999). *Practical Nonparametric Statistics*, 3rd ed. Wiley, section 3.4 (the sign
test).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = [
    "chi2_sf",
    "f_sf",
    "norm_cdf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
    "sign_test_p",
    "t_isf",
    "t_logcdf",
    "t_logpdf",
    "t_logsf",
    "t_ppf",
    "t_sf",
    "wilson_interval",
]

_LOG_SQRT_2PI = float(np.log(np.sqrt(2 * np.pi)))  # computed as scipy.stats does: same bits
_LOG_PI = float(np.log(np.pi))


# ---- normal --------------------------------------------------------------------------------


def norm_cdf(x: ArrayLike) -> np.ndarray:
    """Standard normal distribution function :math:`\\Phi(x)`.

    Parameters
    ----------
    x : array_like
        Quantiles.

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`P(Z \\le x)`, computed as ``scipy.special.ndtr(x)``.

    Examples
    --------
    >>> float(norm_cdf(0.0))
    0.5
    >>> round(float(norm_cdf(1.959963984540054)), 6)
    0.975
    """
    return special.ndtr(x)


def norm_sf(x: ArrayLike) -> np.ndarray:
    """Standard normal survival function :math:`1 - \\Phi(x) = \\Phi(-x)`.

    Computed as ``ndtr(-x)``, which keeps full relative precision in the upper tail (no
    cancellation in ``1 - ndtr(x)``).

    Parameters
    ----------
    x : array_like
        Quantiles.

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`P(Z > x)`.

    Examples
    --------
    >>> round(float(2 * norm_sf(1.96)), 4)  # the two-sided p-value of z = 1.96
    0.05
    >>> float(norm_sf(30.0)) > 0  # 1 - norm_cdf(30.0) would be 0
    True
    """
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q: ArrayLike) -> np.ndarray:
    """Standard normal quantile function :math:`\\Phi^{-1}(q)`.

    Parameters
    ----------
    q : array_like
        Lower-tail probabilities in [0, 1] (0 gives -inf, 1 gives inf, outside gives nan).

    Returns
    -------
    numpy.ndarray or numpy.float64
        The ``z`` with :math:`\\Phi(z) = q`, computed as ``scipy.special.ndtri(q)``.

    Examples
    --------
    >>> round(float(norm_ppf(0.975)), 6)
    1.959964
    >>> float(norm_ppf(0.0)), float(norm_ppf(1.0))
    (-inf, inf)
    """
    return special.ndtri(q)


def norm_isf(q: ArrayLike) -> np.ndarray:
    """Standard normal inverse survival function: the ``z`` with :math:`P(Z > z) = q`.

    Computed as ``-ndtri(q)``, so a small upper-tail probability keeps its precision.

    Parameters
    ----------
    q : array_like
        Upper-tail probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`-\\Phi^{-1}(q)`.

    Examples
    --------
    >>> round(float(norm_isf(0.025)), 6)  # the critical value of a 95% interval
    1.959964
    """
    return -special.ndtri(q)


# ---- Student's t ---------------------------------------------------------------------------


def t_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Survival function of Student's t with ``df`` degrees of freedom.

    Computed as ``stdtr(df, -x)`` (the distribution is symmetric about 0); ``df = inf`` gives
    the normal survival function.

    Parameters
    ----------
    x : array_like
        Quantiles.
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`P(T_{df} > x)`.

    Examples
    --------
    >>> round(float(2 * t_sf(2.262157, 9)), 4)  # two-sided p at the 97.5% point of t(9)
    0.05
    >>> float(t_sf(0.0, 3))
    0.5
    """
    return special.stdtr(df, -np.asarray(x, dtype=float))


def _t_quantile(q: ArrayLike, df: ArrayLike) -> np.ndarray:
    """``stdtrit(df, q)`` with the end points set: ``stdtrit`` returns ``+inf`` at ``q = 0``."""
    q = np.asarray(q, dtype=float)
    df = np.asarray(df, dtype=float)
    out = special.stdtrit(df, q)
    valid = df > 0
    out = np.where(valid & (q == 0), -np.inf, out)
    out = np.where(valid & (q == 1), np.inf, out)
    return out[()]


def t_ppf(q: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Quantile function of Student's t with ``df`` degrees of freedom.

    Computed as ``stdtrit(df, q)``, except at the end points, which are set to ``-inf``
    (``q = 0``) and ``inf`` (``q = 1``) as ``scipy.stats`` does (``stdtrit`` itself returns
    ``inf`` at ``q = 0``).

    Parameters
    ----------
    q : array_like
        Lower-tail probabilities in [0, 1].
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        The ``t`` with :math:`P(T_{df} \\le t) = q`.

    Examples
    --------
    >>> round(float(t_ppf(0.975, 9)), 6)
    2.262157
    >>> round(float(t_ppf(0.975, 1)), 6)  # t(1) is the Cauchy distribution: tan(0.475 pi)
    12.706205
    >>> float(t_ppf(0.0, 5)), float(t_ppf(1.0, 5))
    (-inf, inf)
    """
    return _t_quantile(q, df)


def t_isf(q: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Inverse survival function of Student's t: the ``t`` with :math:`P(T_{df} > t) = q`.

    Computed as ``-stdtrit(df, q)`` (with ``q = 0`` giving ``inf`` and ``q = 1`` giving
    ``-inf``, as in :func:`t_ppf`).

    Parameters
    ----------
    q : array_like
        Upper-tail probabilities in [0, 1].
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        The upper ``q`` point of :math:`t_{df}`.

    Examples
    --------
    >>> round(float(t_isf(0.025, 9)), 6)
    2.262157
    """
    return -_t_quantile(q, df)


def t_logpdf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Log density of Student's t with ``df`` degrees of freedom.

    .. math::
        \\log f(x) = \\log\\frac{\\Gamma((\\nu+1)/2)}{\\Gamma(\\nu/2)}
        - \\tfrac12 (\\log\\nu + \\log\\pi) - \\tfrac{\\nu+1}{2}\\log(1 + x^2/\\nu)

    (Abramowitz & Stegun 1964, 26.7.1). The gamma ratio is the Pochhammer symbol
    :math:`(\\nu/2)_{1/2}` (``scipy.special.poch``), which stays accurate for large
    :math:`\\nu` where two ``gammaln`` values would cancel; :math:`\\nu = \\infty` gives the
    standard normal log density.

    Parameters
    ----------
    x : array_like
        Quantiles.
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`\\log f(x)`.

    Examples
    --------
    >>> round(float(t_logpdf(0.0, 1)), 12) == round(-math.log(math.pi), 12)  # Cauchy at 0
    True
    >>> round(float(t_logpdf(1.0, np.inf)), 6)  # the normal log density at 1
    -1.418939
    """
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    x, df = np.broadcast_arrays(x, df)
    finite = ~np.isinf(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(finite, df, 1.0)
        student = (
            np.log(special.poch(0.5 * d, 0.5))
            - 0.5 * (np.log(d) + _LOG_PI)
            - (d + 1) / 2 * np.log1p(x * x / d)
        )
    normal = -(x**2) / 2.0 - _LOG_SQRT_2PI
    out = np.where(finite, student, normal)
    out = np.where(df > 0, out, np.nan)
    return out[()]


def t_logcdf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Log of the distribution function of Student's t.

    Below the median 0 this is ``log(stdtr(df, x))``; above it, ``log1p(-stdtr(df, -x))``,
    so the value near 0 (probability near 1) keeps its precision.

    Parameters
    ----------
    x : array_like
        Quantiles.
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`\\log P(T_{df} \\le x)`; ``-inf`` where the probability underflows to 0.

    Examples
    --------
    >>> round(float(t_logcdf(0.0, 4)), 12) == round(math.log(0.5), 12)
    True
    >>> float(t_logcdf(np.inf, 4))
    0.0
    """
    return _t_log_tail(np.asarray(x, dtype=float), df)


def t_logsf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Log of the survival function of Student's t.

    Above the median 0 this is ``log(stdtr(df, -x))``; below it, ``log1p(-stdtr(df, x))``.

    Parameters
    ----------
    x : array_like
        Quantiles.
    df : array_like
        Degrees of freedom, > 0 (``inf`` allowed).

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`\\log P(T_{df} > x)`; ``-inf`` where the probability underflows to 0.

    Examples
    --------
    >>> round(float(t_logsf(2.262157, 9)), 4) == round(math.log(0.025), 4)
    True
    """
    return _t_log_tail(-np.asarray(x, dtype=float), df)


def _t_log_tail(x: np.ndarray, df: ArrayLike) -> np.ndarray:
    """``log P(T <= x)``: the log of the near tail, or log1p of minus the far tail."""
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.where(x < 0, np.log(special.stdtr(df, x)), np.log1p(-special.stdtr(df, -x)))
    out = np.where(np.isposinf(x) & (df > 0), 0.0, out)
    return out[()]


# ---- chi-square and F ----------------------------------------------------------------------


def chi2_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Survival function of the chi-square distribution with ``df`` degrees of freedom.

    Computed as ``chdtrc(df, x)``, the regularized upper incomplete gamma function
    :math:`Q(df/2, x/2)` (Abramowitz & Stegun 1964, 26.4.19). The distribution lives on
    :math:`[0, \\infty)`, so ``x < 0`` gives 1.

    Parameters
    ----------
    x : array_like
        Quantiles (a heterogeneity statistic Q, for instance).
    df : array_like
        Degrees of freedom, > 0.

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`P(\\chi^2_{df} > x)`.

    Examples
    --------
    >>> round(float(chi2_sf(3.841459, 1)), 4)
    0.05
    >>> float(chi2_sf(-1.0, 2))
    1.0
    """
    x = np.asarray(x, dtype=float)
    return special.chdtrc(df, np.where(x < 0, 0.0, x))[()]


def f_sf(x: ArrayLike, dfn: ArrayLike, dfd: ArrayLike) -> np.ndarray:
    """Survival function of the F distribution with ``(dfn, dfd)`` degrees of freedom.

    Computed as ``fdtrc(dfn, dfd, x)``, a regularized incomplete beta function (Abramowitz &
    Stegun 1964, 26.6.2). ``x < 0`` gives 1.

    Parameters
    ----------
    x : array_like
        Quantiles.
    dfn, dfd : array_like
        Numerator and denominator degrees of freedom, > 0.

    Returns
    -------
    numpy.ndarray or numpy.float64
        :math:`P(F_{dfn, dfd} > x)`.

    Examples
    --------
    >>> round(float(f_sf(5.117355, 1, 9)), 4)  # F(1, 9) is t(9) squared
    0.05
    """
    x = np.asarray(x, dtype=float)
    return special.fdtrc(dfn, dfd, np.where(x < 0, 0.0, x))[()]


# ---- a proportion --------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score confidence interval for a binomial proportion.

    The interval holds the proportions :math:`\\pi` not rejected by the score test
    :math:`|\\hat p - \\pi| \\le z \\sqrt{\\pi(1-\\pi)/n}` (Wilson 1927; method 3 of Newcombe
    1998), which solves to

    .. math::
        \\frac{\\hat p + z^2/(2n)}{1 + z^2/n} \\pm
        \\frac{z}{1 + z^2/n}\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}

    with :math:`\\hat p = x/n` and :math:`z` the upper :math:`\\alpha/2` normal point (the
    interval's level is :math:`1 - \\alpha`). It stays inside [0, 1] and is not degenerate at
    :math:`x = 0` or :math:`x = n`; the limits are clipped to [0, 1] against rounding there.

    Parameters
    ----------
    successes : int
        Number of successes ``x``, ``0 <= x <= n``.
    trials : int
        Number of trials ``n >= 1``.
    alpha : float, default 0.05
        One minus the confidence level, in (0, 1); a caller holding a level passes
        ``1 - level``.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Raises
    ------
    ValueError
        If the counts or the level are out of range.

    Examples
    --------
    >>> low, high = wilson_interval(2, 9)  # 2 of 9 improved
    >>> round(low, 4), round(high, 4)
    (0.0632, 0.5474)
    >>> wilson_interval(0, 10)[0]
    0.0
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1; got {successes}/{trials}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    n = float(trials)
    p_hat = successes / n
    z = float(norm_isf(alpha / 2.0))
    z2 = z**2
    shrink = 1 + z2 / n
    centre = (p_hat + z2 / (2 * n)) / shrink
    half = z * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n**2)) / shrink
    return min(max(centre - half, 0.0), 1.0), min(max(centre + half, 0.0), 1.0)


def sign_test_p(successes: int, trials: int) -> float:
    """Exact two-sided p-value of the sign test: the binomial test of :math:`\\pi = 1/2`.

    Under :math:`H_0` the number of successes is Binomial(n, 1/2), which is symmetric, so the
    two-sided p-value (the probability of an outcome at most as likely as the one seen) is
    :math:`\\min\\{1, 2 P(X \\le m)\\}` with :math:`m = \\min(x, n - x)` (Conover 1999,
    section 3.4). The binomial tail is the regularized incomplete beta function,
    :math:`P(X \\le m) = I_{1/2}(n - m, m + 1)` (Abramowitz & Stegun 1964, 26.5.24), evaluated
    by ``scipy.special.betainc``.

    Parameters
    ----------
    successes : int
        Number of successes ``x`` (e.g. studies favouring the intervention), ``0 <= x <= n``.
    trials : int
        Number of trials ``n >= 1`` (studies with a direction).

    Returns
    -------
    float
        The p-value, in [0, 1] (0 only by underflow, below 2**-1074, for n > 1073).

    Raises
    ------
    ValueError
        If the counts are out of range.

    Examples
    --------
    >>> sign_test_p(9, 10)  # 2 * (1 + 10) / 2**10
    0.021484375
    >>> sign_test_p(5, 10)
    1.0
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1; got {successes}/{trials}")
    n = int(trials)
    m = min(int(successes), n - int(successes))
    if 2 * m >= n:
        return 1.0
    return min(1.0, 2.0 * float(special.betainc(n - m, m + 1, 0.5)))
