"""Inference on the pooled mean and prediction intervals (vectorised over analyses).

References
----------
.. [HK01] Hartung J, Knapp G (2001). On tests of the overall treatment effect in
   meta-analysis with normally distributed responses. Stat Med 20:1771-1782.
.. [SJ02] Sidik K, Jonkman JN (2002). A simple confidence interval for meta-analysis.
   Stat Med 21:3153-3159.
.. [KH03] Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression
   with a single covariate. Stat Med 22:2693-2710.
.. [R15] Röver C, Knapp G, Friede T (2015). Hartung-Knapp-Sidik-Jonkman approach and its
   modification for random-effects meta-analysis with few studies. BMC Med Res Methodol
   15:99.
.. [H09] Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of
   random-effects meta-analysis. J R Stat Soc A 172:137-159.
.. [I16] IntHout J, Ioannidis JPA, Rovers MM, Goeman JJ (2016). Plea for routinely
   presenting prediction intervals in meta-analysis. BMJ Open 6:e010247.
.. [V10] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
   J Stat Softw 36(3):1-48.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ldn_evidence.meta._kernels import WeightedFit, by_unique, study_sum, weighted_fit

__all__ = ["TESTS", "MeanInference", "mean_inference", "prediction_interval"]

#: Tests of the mean: Wald z, Hartung-Knapp(-Sidik-Jonkman) t, and HKSJ with the ad hoc
#: variance correction (scale factor floored at 1).
TESTS: tuple[str, ...] = ("z", "knha", "adhoc")

#: metafor treats a Hartung-Knapp residual sum of squares at or below machine epsilon as 0.
_RSS_EPS = np.finfo(float).eps

#: Flooring of the HKSJ factor by less than this is not reported (root-finding rounding).
_FLOOR_NOTE_TOL = 1e-9


class MeanInference(NamedTuple):
    """Pooled mean, its SE, test, CI and the HKSJ scale factor per analysis.

    ``q_gen`` and ``dq_gen`` are the generalised Q statistic at the tau^2 used and its
    negative derivative in tau^2 (a starting point for the Q-profile root finder).
    """

    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    crit: np.ndarray
    scale_factor: np.ndarray  # s^2_w of HKSJ (1 under z)
    floored: np.ndarray  # ad hoc correction was applied (s^2_w < 1)
    q_gen: np.ndarray  # generalised Q at tau2 (starts the Q-profile root finder)
    dq_gen: np.ndarray  # its negative derivative in tau2


def mean_inference(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    tau2: np.ndarray,
    test: str,
    level: float,
    offset: np.ndarray | float = 0.0,
    fit: WeightedFit | None = None,
) -> MeanInference:
    """Inverse-variance weighted mean and its test under ``test`` [HK01]_ [SJ02]_.

    Parameters
    ----------
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask.
    tau2 : numpy.ndarray of shape (n,)
        Between-study variance (0 for a common-effect model).
    test : {"z", "knha", "adhoc"}
        Wald z-test; Hartung-Knapp-Sidik-Jonkman t-test with k-1 df; or HKSJ with the scale
        factor floored at 1 [KH03]_ [R15]_.
    level : float
        Confidence level.
    offset : numpy.ndarray of shape (n,) or float
        Centre subtracted from ``y`` by the caller; added back to the estimate.
    fit : WeightedFit, optional
        :func:`~ldn_evidence.meta._kernels.weighted_fit` at ``tau2`` (with ``q``) if the
        caller has it; otherwise it is computed here.

    Returns
    -------
    MeanInference

    Notes
    -----
    With :math:`w_i = 1/(v_i+\\hat\\tau^2)`, :math:`\\hat\\mu = \\sum w_i y_i/\\sum w_i` and
    :math:`\\mathrm{Var}(\\hat\\mu) = 1/\\sum w_i`. Under HKSJ the variance is multiplied by

    .. math:: s_w^2 = \\frac{1}{k-1}\\sum w_i (y_i - \\hat\\mu)^2

    (taken as 0 when the weighted residual sum of squares is <= machine epsilon, as in
    metafor) and the reference distribution is :math:`t_{k-1}`; the ad hoc variant uses
    :math:`\\max(1, s_w^2)`.
    """
    k = study_sum(m)
    if fit is None:
        fit = weighted_fit(y, v, tau2)
    vb = 1.0 / fit.sw
    n = y.shape[1]
    floored = np.zeros(n, dtype=bool)
    if test == "z":
        s2w = np.ones(n)
        df = np.full(n, np.nan)
        crit = np.full(n, special.ndtri(0.5 + level / 2.0))
    else:
        df = k - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(fit.q <= _RSS_EPS, 0.0, fit.q / df)
        if test == "adhoc":
            # the note ignores rounding-level flooring (PM solves Q = k - 1, i.e. s2w = 1)
            floored = s2w < 1.0 - _FLOOR_NOTE_TOL
            s2w = np.maximum(s2w, 1.0)
        crit = by_unique(special.stdtrit, df, 0.5 + level / 2.0)
    se = np.sqrt(s2w * vb)
    estimate = offset + fit.mu
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = estimate / se
    if test == "z":
        pval = 2.0 * special.ndtr(-np.abs(stat))
    else:
        pval = 2.0 * special.stdtr(df, -np.abs(stat))
    return MeanInference(estimate, se, stat, df, pval, crit, s2w, floored, fit.q, fit.d)


def prediction_interval(
    estimate: np.ndarray,
    se: np.ndarray,
    tau2: np.ndarray,
    k: np.ndarray,
    test: str,
    level: float,
    pi_method: str = "default",
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction interval for the true effect of a new study [H09]_ [V10]_.

    Parameters
    ----------
    estimate, se, tau2, k : numpy.ndarray of shape (n,)
        Pooled mean, its SE under the chosen test, tau^2 and the number of studies.
    test : {"z", "knha", "adhoc"}
        Test used for the mean; sets the default reference distribution.
    level : float
        Coverage of the interval.
    pi_method : {"default", "higgins"}
        ``"default"`` is metafor's ``predict()``: the normal quantile under the z-test,
        :math:`t_{k-1}` under HKSJ. ``"higgins"`` uses :math:`t_{k-2}` [H09]_ [I16]_ and
        is undefined (``nan``) for k < 3.

    Returns
    -------
    low, high : numpy.ndarray

    Notes
    -----
    .. math:: \\hat\\mu \\pm c \\sqrt{\\hat\\tau^2 + SE(\\hat\\mu)^2}.
    """
    if pi_method == "higgins":
        q = by_unique(special.stdtrit, np.maximum(k - 2.0, 1.0), 0.5 + level / 2.0)
        crit = np.where(k >= 3, q, np.nan)
    elif test == "z":
        crit = np.full(estimate.shape, special.ndtri(0.5 + level / 2.0))
    else:
        crit = by_unique(special.stdtrit, k - 1.0, 0.5 + level / 2.0)
    half = crit * np.sqrt(tau2 + se**2)
    return estimate - half, estimate + half
