"""Small-study effects: Egger's regression test and Duval & Tweedie's trim-and-fill.

Both are run only when there are enough studies (``min_k``, 10 by default, as the Cochrane
Handbook 13.3.5.4 advises for funnel-plot asymmetry tests); below that they return a result
with ``performed=False`` and the reason, never an exception, so a pipeline can report "not
assessable" next to every analysis.

References
----------
.. [1] Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a
   simple, graphical test. BMJ. 1997;315(7109):629-634. doi:10.1136/bmj.315.7109.629
.. [2] Sterne JAC, Egger M. Regression methods to detect publication and other bias in
   meta-analysis. In: Rothstein HR, Sutton AJ, Borenstein M, eds. Publication Bias in
   Meta-Analysis. Wiley; 2005:99-110.
.. [3] Duval S, Tweedie R. Trim and fill: a simple funnel-plot-based method of testing and
   adjusting for publication bias in meta-analysis. Biometrics. 2000;56(2):455-463.
   doi:10.1111/j.0006-341X.2000.00455.x
.. [4] Duval S, Tweedie R. A nonparametric "trim and fill" method of accounting for
   publication bias in meta-analysis. J Am Stat Assoc. 2000;95(449):89-98.
.. [5] Page MJ, Higgins JPT, Sterne JAC. Chapter 13: Assessing risk of bias due to missing
   results in a synthesis. In: Cochrane Handbook for Systematic Reviews of Interventions,
   version 6.5. Cochrane; 2024. Section 13.3.5.4.
.. [6] Viechtbauer W. metafor: ``regtest`` and ``trimfill`` (version 3.8-1), R package
   documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence import distributions
from ldn_evidence.meta.metareg import METAREG_METHODS, meta_regression
from ldn_evidence.meta.pooling import pool, validate_inputs
from ldn_evidence.meta.results import PoolResult

__all__ = [
    "DEFAULT_MIN_K",
    "EggerTestResult",
    "TrimFillResult",
    "egger_test",
    "trim_and_fill",
]

#: Fewest studies for which small-study tests are run (Cochrane Handbook 13.3.5.4: "tests for
#: funnel plot asymmetry should be used only when there are at least 10 studies").
DEFAULT_MIN_K = 10

#: Iteration cap of the trim-and-fill algorithm (metafor's ``maxiter``).
TRIMFILL_MAXITER = 100


def _refusal(k: int, min_k: int, what: str) -> str:
    return (
        f"k = {k} < {min_k} (min_k): {what} is not performed with fewer than {min_k} "
        "studies (too little power to tell asymmetry from chance; Cochrane Handbook 13.3.5.4)"
    )


def _check_min_k(min_k: int) -> None:
    if not isinstance(min_k, int | np.integer) or min_k < 3:
        raise ValueError(f"min_k must be an integer >= 3; got {min_k!r}")


# ---------------------------------------------------------------------------------------------
# Egger's regression test
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EggerTestResult:
    """Egger-type regression test for funnel-plot asymmetry (predictor: the standard error).

    Attributes
    ----------
    performed : bool
        False when k < ``min_k``; then ``reason`` says why and the numbers are NaN.
    reason : str
        Empty when performed.
    k, min_k : int
        Number of studies and the threshold used.
    model : str
        ``"rma"`` (mixed-effects meta-regression on the SE, metafor's default for a fitted
        model) or ``"lm"`` (the classical weighted regression of Egger et al. 1997).
    method, test : str
        tau^2 estimator and test of the ``"rma"`` model; for ``"lm"``: ``"OLS"`` on the
        weighted data and ``"t"``.
    slope, slope_se : float
        Coefficient of the standard error (the asymmetry) and its SE.
    stat, df, pval : float
        Test statistic of H0: no asymmetry (z or t), its df (NaN for z) and the two-sided
        p-value.
    limit_estimate, limit_ci_low, limit_ci_high : float
        The intercept: the effect expected for a study of infinite precision (SE -> 0),
        with its confidence interval.
    level : float
        Confidence level.
    description : str
        The method in words.
    notes : tuple of str
        Extra notes.
    """

    performed: bool
    reason: str
    k: int
    min_k: int
    model: str
    method: str
    test: str
    slope: float = float("nan")
    slope_se: float = float("nan")
    stat: float = float("nan")
    df: float = float("nan")
    pval: float = float("nan")
    limit_estimate: float = float("nan")
    limit_ci_low: float = float("nan")
    limit_ci_high: float = float("nan")
    level: float = 0.95
    description: str = ""
    notes: tuple[str, ...] = ()


def _egger_lm(y: np.ndarray, v: np.ndarray, level: float) -> dict[str, float]:
    """Weighted least squares of y on (1, sei) with weights 1/vi and estimated scale."""
    sei = np.sqrt(v)
    X = np.column_stack([np.ones_like(y), sei])
    w = 1.0 / v
    xtwx = X.T @ (X * w[:, None])
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    resid = y - X @ beta
    df = y.size - 2
    sigma2 = float(np.sum(w * resid**2) / df)
    cov = sigma2 * np.linalg.inv(xtwx)
    se = np.sqrt(np.diag(cov))
    crit = float(distributions.t_isf((1.0 - level) / 2.0, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(beta[1] / se[1])  # +-inf for a perfect fit, as R's lm
    return {
        "slope": float(beta[1]),
        "slope_se": float(se[1]),
        "stat": stat,
        "df": float(df),
        "pval": float(2.0 * distributions.t_sf(abs(stat), df)),
        "limit_estimate": float(beta[0]),
        "limit_ci_low": float(beta[0] - crit * se[0]),
        "limit_ci_high": float(beta[0] + crit * se[0]),
    }


def egger_test(
    yi,
    vi,
    *,
    model: str = "rma",
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    min_k: int = DEFAULT_MIN_K,
) -> EggerTestResult:
    """Egger's regression test for small-study effects.

    Parameters
    ----------
    yi, vi : array_like of shape (k,)
        Effect sizes and sampling variances.
    model : {"rma", "lm"}
        ``"rma"``: the mixed-effects meta-regression ``yi ~ sei`` with the same tau^2
        estimator and test as the main analysis (metafor's ``regtest(res)`` for a fitted
        ``rma`` model, the default there). ``"lm"``: the classical test of Egger et al.
        (1997), a weighted linear regression with a multiplicative dispersion parameter
        (metafor's ``regtest(..., model="lm")``).
    method, test : str
        tau^2 estimator and test of the ``"rma"`` model (see
        :func:`ldn_evidence.meta.metareg.meta_regression`); ignored for ``"lm"``.
    level : float
        Confidence level of the limit estimate.
    min_k : int
        Fewest studies for which the test is run (default 10).

    Returns
    -------
    EggerTestResult
        ``performed=False`` with the reason when k < ``min_k``.

    Raises
    ------
    ValueError
        For an unknown ``model``, a ``method`` without meta-regression support, invalid
        data, or ``min_k < 3``.

    Notes
    -----
    Egger's original regression of the standardized effect :math:`y_i/\\sqrt{v_i}` on the
    precision :math:`1/\\sqrt{v_i}` tests the intercept [1]_; multiplying through by
    :math:`\\sqrt{v_i}` shows it is the same as the weighted regression
    :math:`y_i = \\beta_0 + \\beta_1 \\sqrt{v_i} + \\varepsilon_i`, weights :math:`1/v_i`,
    testing :math:`\\beta_1` with t(k - 2). The ``"rma"`` variant replaces the dispersion
    parameter by an additive tau^2 [2]_ [6]_. In both, :math:`\\beta_0` is the limit
    estimate (effect at SE = 0).

    References
    ----------
    .. [1] Egger M, et al. BMJ. 1997;315:629-634.
    .. [2] Sterne JAC, Egger M. In: Publication Bias in Meta-Analysis. Wiley; 2005:99-110.
    .. [6] Viechtbauer W. metafor ``regtest`` documentation (version 3.8-1).

    Examples
    --------
    >>> res = egger_test([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
    >>> res.performed, res.reason.startswith("k = 4 < 10 (min_k): Egger's regression test")
    (False, True)
    """
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be 'rma' or 'lm'; got {model!r}")
    _check_min_k(min_k)
    y, v = validate_inputs(yi, vi)
    k = y.size
    if model == "rma":
        method_c = {"FE": "EE", "CE": "EE"}.get(method.upper(), method.upper())
        if method_c not in METAREG_METHODS:
            raise ValueError(
                f"Egger's test with model='rma' needs a meta-regression estimator "
                f"{list(METAREG_METHODS)}; got {method!r} (use model='lm' or another method)"
            )
        test_c = {"hksj": "knha"}.get(test.lower(), test.lower())
        desc = (
            "Egger-type test: mixed-effects meta-regression of yi on sqrt(vi) "
            f"(method {method_c}, test {test_c}); H0: slope = 0 (metafor regtest, model='rma')"
        )
    else:
        method_c, test_c = "OLS", "t"
        desc = (
            "Egger et al. (1997): weighted regression of yi on sqrt(vi), weights 1/vi, "
            "multiplicative dispersion; H0: slope = 0, t(k - 2) (metafor regtest, model='lm')"
        )
    common = {
        "k": k,
        "min_k": int(min_k),
        "model": model,
        "method": method_c,
        "test": test_c,
        "level": float(level),
        "description": desc,
    }
    if k < min_k:
        return EggerTestResult(
            performed=False, reason=_refusal(k, min_k, "Egger's regression test"), **common
        )
    if model == "lm":
        return EggerTestResult(performed=True, reason="", **common, **_egger_lm(y, v, level))
    fit = meta_regression(
        y, v, pd.DataFrame({"sei": np.sqrt(v)}), method=method_c, test=test_c, level=level
    )
    return EggerTestResult(
        performed=True,
        reason="",
        **common,
        slope=fit.coef[1],
        slope_se=fit.se[1],
        stat=fit.stat[1],
        df=float("nan") if fit.df is None else float(fit.df),
        pval=fit.pval[1],
        limit_estimate=fit.coef[0],
        limit_ci_low=fit.ci_low[0],
        limit_ci_high=fit.ci_high[0],
        notes=fit.notes,
    )


# ---------------------------------------------------------------------------------------------
# Trim and fill
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill analysis (Duval & Tweedie 2000).

    Attributes
    ----------
    performed : bool
        False when k < ``min_k`` or the algorithm did not converge; ``reason`` says why.
    reason : str
        Empty when performed.
    k, min_k : int
        Number of observed studies and the threshold used.
    estimator : str
        ``"L0"`` or ``"R0"``.
    side : str
        Side of the funnel plot on which studies are imputed (``"left"``/``"right"``).
    side_source : str
        How the side was chosen (given, or from the sign of the Egger-type slope).
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Its standard error (Duval & Tweedie 2000b).
    p_k0 : float
        R0 only: p-value of H0 k0 = 0 (Duval & Tweedie 2000a); NaN for L0.
    filled_yi, filled_vi : tuple of float
        The imputed (mirrored) studies.
    observed : PoolResult or None
        The model of the observed studies.
    adjusted : PoolResult or None
        The model of the observed plus the imputed studies (``observed`` when k0 = 0).
    method, test : str
        Estimator and test of every fit.
    level : float
        Confidence level.
    iterations : int
        Iterations of the trim step.
    notes : tuple of str
        Extra notes.
    """

    performed: bool
    reason: str
    k: int
    min_k: int
    estimator: str
    method: str
    test: str
    level: float
    side: str = ""
    side_source: str = ""
    k0: int = 0
    se_k0: float = float("nan")
    p_k0: float = float("nan")
    filled_yi: tuple[float, ...] = ()
    filled_vi: tuple[float, ...] = ()
    observed: PoolResult | None = None
    adjusted: PoolResult | None = None
    iterations: int = 0
    notes: tuple[str, ...] = ()


def _first_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties broken by position (R's ``rank(ties.method = "first")``)."""
    ranks = np.empty(x.size, dtype=float)
    ranks[np.argsort(x, kind="stable")] = np.arange(1, x.size + 1)
    return ranks


def _k0_estimate(centered: np.ndarray, estimator: str) -> tuple[float, float]:
    """Unrounded k0 and its SE from the signed ranks of the centred effects."""
    k = centered.size
    signed = np.sign(centered) * _first_ranks(np.abs(centered))
    if estimator == "R0":
        negative = -signed[signed < 0]
        # Length of the rightmost run of positive ranks, minus one (Duval & Tweedie 2000a).
        k0 = (k - float(negative.max())) - 1.0 if negative.size else float(k - 1)
        se = float(np.sqrt(2.0 * max(0.0, k0) + 2.0))
        return k0, se
    # L0: from the Wilcoxon signed-rank sum of the positive side (Duval & Tweedie 2000a, b).
    s_rank = float(signed[signed > 0].sum())
    k0 = (4.0 * s_rank - k * (k + 1.0)) / (2.0 * k - 1.0)
    var_s = (
        k * (k + 1.0) * (2.0 * k + 1.0)
        + 10.0 * k0**3
        + 27.0 * k0**2
        + 17.0 * k0
        - 18.0 * k * k0**2
        - 18.0 * k * k0
        + 6.0 * k**2 * k0
    ) / 24.0
    se = 4.0 * float(np.sqrt(var_s)) / (2.0 * k - 1.0) if var_s >= 0 else float("nan")
    return k0, se


def trim_and_fill(
    yi,
    vi,
    *,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    estimator: str = "L0",
    side: str | None = None,
    min_k: int = DEFAULT_MIN_K,
    maxiter: int = TRIMFILL_MAXITER,
    **pool_options: Any,
) -> TrimFillResult:
    """Duval & Tweedie's trim-and-fill adjustment for funnel-plot asymmetry.

    Parameters
    ----------
    yi, vi : array_like of shape (k,)
        Effect sizes and sampling variances.
    method, test, level
        Estimator, test and level of every ``pool`` fit (the trimmed fits and the filled
        model).
    estimator : {"L0", "R0"}
        Estimator of the number of missing studies (metafor's default is L0).
    side : {"left", "right"}, optional
        Side on which studies are missing. By default it is chosen as metafor does: fit the
        meta-regression ``yi ~ sqrt(vi)`` with the same estimator; a negative slope means
        the small studies sit on the left, so studies are imputed on the right, otherwise
        on the left.
    min_k : int
        Fewest studies for which the method is run (default 10).
    maxiter : int
        Iteration cap of the trim step.
    **pool_options
        Further keyword arguments of :func:`ldn_evidence.meta.pool`.

    Returns
    -------
    TrimFillResult
        ``performed=False`` with the reason when k < ``min_k`` or without convergence.

    Raises
    ------
    ValueError
        For an unknown estimator or side, invalid data, or ``min_k < 3``.

    Notes
    -----
    Iteration (Duval & Tweedie 2000 [3]_ [4]_), on data flipped so that missing studies are
    on the left and sorted by effect size: pool the k - k0 smallest effects; centre all
    effects at that estimate; rank the absolute centred values; estimate k0 from the
    signed ranks (L0: :math:`(4S_r - k(k+1))/(2k-1)`, :math:`S_r` the sum of the positive
    ranks; R0: length of the rightmost run of positive ranks minus 1), round it (half to
    even) and truncate at 0; repeat until k0 no longer changes. The k0 most extreme studies
    are then mirrored about the last trimmed estimate, :math:`2\\hat\\mu - y_i` with the same
    variance, and all k + k0 effects are pooled. The SE of k0 and the R0 p-value,
    :math:`P(R_0 \\geq k_0) = 2^{-(k_0+1)}`, follow Duval & Tweedie (2000a) as metafor
    reports them [6]_.

    When the estimator has no meta-regression counterpart (PM, SJ, HS, EB), the default
    side is chosen with REML and a note says so.

    References
    ----------
    .. [3] Duval S, Tweedie R. Biometrics. 2000;56:455-463.
    .. [4] Duval S, Tweedie R. J Am Stat Assoc. 2000;95:89-98.
    .. [6] Viechtbauer W. metafor ``trimfill`` documentation (version 3.8-1).

    Examples
    --------
    >>> res = trim_and_fill([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05], min_k=5)
    >>> res.performed, res.reason[:20]
    (False, 'k = 4 < 5 (min_k): t')
    """
    if estimator not in ("L0", "R0"):
        raise ValueError(f"estimator must be 'L0' or 'R0'; got {estimator!r}")
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None; got {side!r}")
    _check_min_k(min_k)
    y, v = validate_inputs(yi, vi)
    k = y.size
    observed = None
    common = {
        "k": k,
        "min_k": int(min_k),
        "estimator": estimator,
        "level": float(level),
    }
    if k < min_k:
        method_c = {"FE": "EE", "CE": "EE"}.get(method.upper(), method.upper())
        test_c = {"hksj": "knha"}.get(test.lower(), test.lower())
        return TrimFillResult(
            performed=False,
            reason=_refusal(k, min_k, "trim-and-fill"),
            method=method_c,
            test=test_c,
            **common,
        )
    observed = pool(y, v, method=method, test=test, level=level, **pool_options)
    common |= {"method": observed.method, "test": observed.test}
    notes: list[str] = []

    if side is None:
        side_method = observed.method
        if side_method not in METAREG_METHODS:
            notes.append(f"side chosen with REML: {side_method} has no meta-regression in PyMARE")
            side_method = "REML"
        slope = meta_regression(
            y, v, pd.DataFrame({"sei": np.sqrt(v)}), method=side_method, test="z"
        ).coef[1]
        side = "right" if slope < 0 else "left"
        side_source = f"sign of the slope of yi on sqrt(vi) ({side_method}): {slope:+.6g}"
    else:
        side_source = "given"

    flip = -1.0 if side == "right" else 1.0
    yf = flip * y
    order = np.argsort(yf, kind="stable")
    ys, vs = yf[order], v[order]

    k0, k0_prev, iterations = 0, -1, 0
    se_k0 = float("nan")
    beta = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            return TrimFillResult(
                performed=False,
                reason=f"the trim-and-fill algorithm did not converge in {maxiter} iterations",
                side=side,
                side_source=side_source,
                observed=observed,
                iterations=maxiter,
                notes=tuple(notes),
                **common,
            )
        trimmed = pool(
            ys[: k - k0], vs[: k - k0], method=method, test=test, level=level, **pool_options
        )
        beta = trimmed.estimate
        k0_raw, se_k0 = _k0_estimate(ys - beta, estimator)
        k0 = max(0, round(k0_raw))
        se_k0 = max(0.0, se_k0) if np.isfinite(se_k0) else se_k0

    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else float("nan")
    if k0 > 0:
        fill_flipped = 2.0 * beta - ys[k - k0 :]
        filled_yi = flip * fill_flipped
        filled_vi = vs[k - k0 :]
        adjusted = pool(
            np.concatenate([y, filled_yi]),
            np.concatenate([v, filled_vi]),
            method=method,
            test=test,
            level=level,
            **pool_options,
        )
    else:
        filled_yi = filled_vi = np.empty(0)
        adjusted = observed
    return TrimFillResult(
        performed=True,
        reason="",
        side=side,
        side_source=side_source,
        k0=int(k0),
        se_k0=float(se_k0),
        p_k0=float(p_k0),
        filled_yi=tuple(float(x) for x in filled_yi),
        filled_vi=tuple(float(x) for x in filled_vi),
        observed=observed,
        adjusted=adjusted,
        iterations=iterations,
        notes=tuple(notes),
        **common,
    )
