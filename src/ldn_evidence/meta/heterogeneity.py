"""Heterogeneity statistics: Cochran's Q, I^2, H^2 and Q-profile intervals (vectorised).

References
----------
.. [C54] Cochran WG (1954). The combination of estimates from different experiments.
   Biometrics 10:101-129.
.. [HT02] Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis.
   Stat Med 21:1539-1558.
.. [V07] Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
   meta-analysis. Stat Med 26:37-52.
.. [V10] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
   J Stat Softw 36(3):1-48.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ldn_evidence.meta._kernels import (
    Scratch,
    by_unique,
    p_trace,
    q_upper_bracket,
    solve_q,
    study_sum,
    weighted_fit,
)

__all__ = ["QStats", "Tau2Interval", "i2_h2", "q_profile_ci", "q_statistic"]


class QStats(NamedTuple):
    """Cochran's Q with common-effect weights, its test and the typical variance."""

    q: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    s2: np.ndarray
    dq: np.ndarray  # -dQ/dtau2 at tau2 = 0 (starts the Q-profile root finder)
    sw: np.ndarray  # sum of the common-effect weights 1 / v


def q_statistic(
    y: np.ndarray, v: np.ndarray, m: np.ndarray, scratch: Scratch | None = None
) -> QStats:
    """Cochran's Q test of homogeneity [C54]_ and the typical within-study variance.

    Parameters
    ----------
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask (``k >= 2``).

    Returns
    -------
    QStats
        ``q``, ``df = k - 1``, ``pval`` (upper chi-square tail), ``s2``, ``dq``, the
        negative derivative of the generalised Q statistic at tau^2 = 0, and ``sw``, the sum
        of the weights.

    Notes
    -----
    :math:`Q = \\sum w_i (y_i - \\hat\\mu_{CE})^2` with :math:`w_i = 1/v_i`, computed around
    the weighted mean (never as :math:`\\sum w y^2 - (\\sum w y)^2/\\sum w`, which loses all
    digits when weights are very unequal). The typical within-study variance [HT02]_ is

    .. math:: s^2 = \\frac{(k-1)\\sum w_i}{(\\sum w_i)^2 - \\sum w_i^2}
              = \\frac{k-1}{\\mathrm{tr}(P)}.
    """
    k = study_sum(m)
    fit = weighted_fit(y, v, np.zeros(y.shape[1]), scratch=scratch)
    q = np.maximum(fit.q, 0.0)
    df = k - 1.0
    pval = special.chdtrc(df, q)
    s2 = df / p_trace(fit.w, fit.sw)
    return QStats(q, df, pval, s2, fit.d, fit.sw)


def i2_h2(tau2: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """I^2 (percent) and H^2 of a random-effects model from tau^2 [HT02]_ [V10]_.

    Notes
    -----
    .. math:: I^2 = 100\\,\\frac{\\tau^2}{\\tau^2 + s^2}, \\qquad
              H^2 = \\frac{\\tau^2 + s^2}{s^2},

    which is how metafor reports them for every random-effects estimator (for DL they equal
    the Q-based :math:`(Q-(k-1))/Q` and :math:`Q/(k-1)`). Works element-wise, so it also
    maps the bounds of a tau^2 interval to I^2 and H^2 intervals.
    """
    return 100.0 * tau2 / (s2 + tau2), tau2 / s2 + 1.0


def i2_h2_from_q(q: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """I^2 and H^2 of a common-effect model from Q [HT02]_.

    Notes
    -----
    :math:`I^2 = \\max\\{0, 100 (Q - (k-1))/Q\\}` (0 when Q = 0) and :math:`H^2 = Q/(k-1)`.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, 100.0 * (q - df) / q, 0.0)
    return np.maximum(i2, 0.0), q / df


class Tau2Interval(NamedTuple):
    """Q-profile interval of tau^2 with boundary flags."""

    low: np.ndarray
    high: np.ndarray
    low_at_zero: np.ndarray  # lower bound truncated at 0
    null_set: np.ndarray  # both bounds below 0: the interval is the null set, set to [0, 0]
    converged: np.ndarray


def q_profile_ci(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    q0: np.ndarray,
    level: float,
    scale: np.ndarray,
    dq0: np.ndarray | None = None,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    vmin: np.ndarray | None = None,
    scratch: Scratch | None = None,
) -> Tau2Interval:
    """Q-profile confidence interval for tau^2 [V07]_, as metafor's ``confint()``.

    Parameters
    ----------
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask (``k >= 2``).
    q0 : numpy.ndarray of shape (n,)
        Cochran's Q (the generalised Q at tau^2 = 0).
    level : float
        Confidence level, e.g. 0.95.
    scale : numpy.ndarray of shape (n,)
        Typical within-study variance (tolerance scale of the root finder).
    dq0 : numpy.ndarray of shape (n,), optional
        :math:`-dQ/d\\tau^2` at 0 (``QStats.dq``); with it the root finder does not
        evaluate Q at its starting point 0 again.
    known : tuple of three numpy.ndarray of shape (n,), optional
        ``(tau2, Q(tau2), -Q'(tau2))`` at another point, e.g. the estimate of tau^2
        (``MeanInference.q_gen`` and ``dq_gen``): a second start and bracket end for the
        root finder (used together with ``dq0``).
    vmin : numpy.ndarray of shape (n,), optional
        Smallest sampling variance of each analysis, if the caller has it (it sets the
        upper end of the root finder's bracket).
    scratch : Scratch, optional
        Work arrays for the root finder (see :class:`~ldn_evidence.meta._kernels.Scratch`).

    Returns
    -------
    Tau2Interval

    Notes
    -----
    The generalised Q statistic :math:`Q(\\tau^2) = \\sum (y_i - \\hat\\mu)^2/(v_i+\\tau^2)`
    follows :math:`\\chi^2_{k-1}` at the true tau^2 and decreases in tau^2, so the bounds solve

    .. math:: Q(\\tau^2_{lo}) = \\chi^2_{k-1,\\,1-\\alpha/2}, \\qquad
              Q(\\tau^2_{hi}) = \\chi^2_{k-1,\\,\\alpha/2}.

    A bound whose equation has no root in :math:`[0, \\infty)` is set to 0: the lower bound
    when :math:`Q(0) < \\chi^2_{1-\\alpha/2}`; both when :math:`Q(0) < \\chi^2_{\\alpha/2}`, in
    which case the interval is the null set (metafor reports it as [0, 0]). Unlike metafor,
    whose search stops at ``tau2.max = max(100, 10 tau^2)``, the upper end of the bracket is
    derived from the data, so the upper bound is never capped. Roots are found by
    :func:`~ldn_evidence.meta._kernels.solve_q` for all analyses at once.
    """
    n = y.shape[1]
    df = study_sum(m) - 1.0
    alpha = 1.0 - level
    crit_u = by_unique(special.chdtri, df, alpha / 2.0)  # upper quantile
    crit_l = by_unique(special.chdtri, df, 1.0 - alpha / 2.0)  # lower quantile
    # both bounds of all analyses in one root-finding problem (targets: upper bounds, then
    # lower bounds; the upper bounds usually cover every analysis in order, see solve_q)
    crit = np.concatenate([crit_l, crit_u])
    need = np.flatnonzero(np.concatenate([q0, q0]) >= crit)
    bounds = np.zeros(2 * n)
    converged2 = np.ones(2 * n, dtype=bool)
    if need.size:
        rows = need % n
        hi = q_upper_bracket(y, v, m, crit[need], rows, vmin)
        at_zero = None if dq0 is None else (q0[rows], dq0[rows])
        point = None if known is None else tuple(a[rows] for a in known)
        root, conv = solve_q(y, v, crit[need], hi, scale[rows], at_zero, point, rows, scratch)
        bounds[need] = root
        converged2[need] = conv
    high, low = bounds[:n], bounds[n:]
    converged = converged2[:n] & converged2[n:]
    return Tau2Interval(low, high, q0 < crit_u, q0 < crit_l, converged)
