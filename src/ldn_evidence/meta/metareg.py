"""Random-effects meta-regression on study-level moderators, fitted through PyMARE.

The model is the mixed-effects meta-regression

.. math::
    y_i = x_i'\\beta + u_i + e_i, \\qquad u_i \\sim N(0, \\tau^2), \\quad e_i \\sim N(0, v_i),

with :math:`\\tau^2` the residual between-study variance. PyMARE (Salo et al.) estimates
:math:`\\tau^2` and :math:`\\beta` and applies the Knapp-Hartung correction; the omnibus test of
the moderators (QM), the residual heterogeneity test (QE), residual :math:`I^2`/:math:`H^2`,
the pseudo-:math:`R^2` and the standard error of :math:`\\tau^2` are computed here, because
PyMARE 0.0.13 does not report them in the form metafor's ``rma(yi, vi, mods=...)`` does.

References
----------
.. [1] Salo T, et al. PyMARE: Python Meta-Analysis & Regression Engine, version 0.0.13.
   https://github.com/neurostuff/PyMARE
.. [2] Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw.
   2010;36(3):1-48. doi:10.18637/jss.v036.i03
.. [3] Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single
   covariate. Stat Med. 2003;22(17):2693-2710. doi:10.1002/sim.1482
.. [4] Raudenbush SW. Analyzing effect sizes: random-effects models. In: Cooper H, Hedges LV,
   Valentine JC, eds. The Handbook of Research Synthesis and Meta-Analysis. 2nd ed. Russell
   Sage Foundation; 2009:295-315.
.. [5] Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med.
   2002;21(11):1539-1558. doi:10.1002/sim.1186
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import pandas as pd

from ldn_evidence import distributions

__all__ = ["METAREG_METHODS", "MetaRegressionResult", "meta_regression", "moderator_matrix"]

#: tau^2 estimators available for meta-regression, each mapped to the PyMARE estimator that
#: fits it (``"FE"`` and ``"CE"`` are accepted as aliases of ``"EE"``, tau^2 = 0). metafor's
#: other estimators (PM, SJ, HS, EB) have no PyMARE counterpart with moderators; asking for
#: one raises instead of silently using another.
METAREG_METHODS = ("EE", "DL", "HE", "ML", "REML")

#: Tests for the coefficients: ``"z"`` is the Wald test against a normal reference; ``"knha"``
#: is the Knapp-Hartung adjustment with t(k - p) for a coefficient and F(m, k - p) for QM;
#: ``"adhoc"`` is the same with the scale factor floored at 1 (metafor's ``test="adhoc"``,
#: PyMARE's ``"knapp-hartung-conservative"``).
METAREG_TESTS = ("z", "knha", "adhoc")

#: PyMARE's name of each test.
_PYMARE_CORRECTION = {"z": "wald", "knha": "knapp-hartung", "adhoc": "knapp-hartung-conservative"}

#: PyMARE's bounded search for tau^2 stops when the bracket has shrunk to this fraction of its
#: starting width. Its default (1e-6) leaves a relative error near 1e-4 in tau^2; 1e-10 puts
#: the optimum within about 1e-9 of the exact REML/ML solution (checked against metafor with
#: ``control=list(threshold=1e-12)``).
_PYMARE_XTOL = 1e-10


@dataclass(frozen=True)
class MetaRegressionResult:
    """A fitted mixed-effects meta-regression.

    Attributes
    ----------
    k, p : int
        Number of studies and of coefficients (intercept included).
    names : tuple of str
        Coefficient names, ``"intercept"`` first when an intercept is fitted.
    coef, se, stat, pval, ci_low, ci_high : tuple of float
        Per coefficient: estimate, standard error (Knapp-Hartung scaled if ``test="knha"``),
        z or t statistic, two-sided p-value, confidence bounds.
    df : int or None
        Residual degrees of freedom ``k - p`` of the t reference; None for ``test="z"``.
    tau2, tau2_se : float
        Residual between-study variance and its standard error (inverse Fisher information,
        ML/REML only; NaN for the moment estimators and for EE/FE).
    i2, h2 : float
        Residual :math:`I^2` (percent) and :math:`H^2` (Higgins & Thompson 2002, generalized
        to meta-regression as in metafor: typical within-study variance
        :math:`(k-p)/\\mathrm{tr}(P)`; for ``EE`` from QE: :math:`100(QE - df)/QE` and
        :math:`QE/df`).
    r2 : float
        Pseudo-:math:`R^2` (percent): proportional reduction of tau^2 against the
        intercept-only model with the same estimator (Raudenbush 2009), truncated at 0; NaN
        without an intercept or when the intercept-only tau^2 is 0. For ``EE`` the adjusted
        :math:`R^2` of the weighted regression (as metafor).
    qm, qm_df, qm_pval, qm_dist : float, tuple of int, float, str
        Omnibus test of all coefficients except the intercept. ``qm_dist`` is ``"chi2"``
        (``qm_df = (m,)``) for ``test="z"`` and ``"F"`` (``qm = QM / m``,
        ``qm_df = (m, k - p)``) for ``test="knha"``/``"adhoc"``, as metafor reports it.
    qe, qe_df, qe_pval : float, int, float
        Test for residual heterogeneity: weighted residual sum of squares of the
        fixed-effect fit, chi-square with ``k - p`` df.
    method, test : str
        The tau^2 estimator and the test used.
    level : float
        Confidence level of the intervals.
    engine : str
        What fitted the model, with the PyMARE version and its settings.
    notes : tuple of str
        Anything a reader should know about this fit.
    """

    k: int
    p: int
    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    stat: tuple[float, ...]
    pval: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    df: int | None
    tau2: float
    tau2_se: float
    i2: float
    h2: float
    r2: float
    qm: float
    qm_df: tuple[int, ...]
    qm_pval: float
    qm_dist: str
    qe: float
    qe_df: int
    qe_pval: float
    method: str
    test: str
    level: float
    engine: str
    notes: tuple[str, ...] = ()

    def coefficient(self, name: str) -> dict[str, float]:
        """Return one coefficient's estimate, SE, statistic, p-value and CI as a dict."""
        try:
            j = self.names.index(name)
        except ValueError:
            raise KeyError(f"no coefficient {name!r}; have {list(self.names)}") from None
        return {
            "estimate": self.coef[j],
            "se": self.se[j],
            "stat": self.stat[j],
            "pval": self.pval[j],
            "ci_low": self.ci_low[j],
            "ci_high": self.ci_high[j],
        }

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table, one row per coefficient, in model order."""
        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.coef,
                "se": self.se,
                "stat": self.stat,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )


def moderator_matrix(moderators: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Turn a moderator table into a numeric design matrix (without intercept).

    Numeric columns are used as they are. Non-numeric columns (object, string, category,
    bool) become treatment-coded indicators against their first level in sorted order (or
    the category order), named ``"column[level]"``, as R's ``factor`` coding does.

    Parameters
    ----------
    moderators : pandas.DataFrame
        One row per study, one column per moderator; no missing values.

    Returns
    -------
    X : numpy.ndarray of shape (k, q)
        Design matrix columns.
    names : list of str
        Column names.

    Raises
    ------
    ValueError
        If a moderator has missing values or a categorical moderator has a single level.
    """
    columns: list[np.ndarray] = []
    names: list[str] = []
    for name in moderators.columns:
        col = moderators[name]
        if col.isna().any():
            rows = [int(i) for i in np.flatnonzero(col.isna().to_numpy())]
            raise ValueError(
                f"moderator {name!r} has missing values at rows {rows}; "
                "drop those studies or impute the moderator before the meta-regression"
            )
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            columns.append(col.to_numpy(dtype=float))
            names.append(str(name))
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            levels = [lv for lv in col.cat.categories if (col == lv).any()]
        else:
            levels = sorted(col.unique(), key=str)
        if len(levels) < 2:
            raise ValueError(
                f"categorical moderator {name!r} has a single level {levels!r}; "
                "it cannot be estimated"
            )
        for level in levels[1:]:
            columns.append((col == level).to_numpy(dtype=float))
            names.append(f"{name}[{level}]")
    if not columns:
        return np.empty((len(moderators), 0)), names
    return np.column_stack(columns), names


def _pymare_estimator(method: str, test: str):
    """Build the PyMARE estimator for a method/test pair."""
    from pymare import estimators as pe

    correction = _PYMARE_CORRECTION[test]
    if method == "EE":
        return pe.WeightedLeastSquares(tau2=0.0, small_sample_correction=correction), (
            f"WeightedLeastSquares(tau2=0, small_sample_correction={correction!r})"
        )
    if method == "DL":
        return pe.DerSimonianLaird(small_sample_correction=correction), (
            f"DerSimonianLaird(small_sample_correction={correction!r})"
        )
    if method == "HE":
        return pe.Hedges(small_sample_correction=correction), (
            f"Hedges(small_sample_correction={correction!r})"
        )
    est = pe.VarianceBasedLikelihoodEstimator(
        method=method, small_sample_correction=correction, xtol=_PYMARE_XTOL
    )
    return est, (
        f"VarianceBasedLikelihoodEstimator(method={method!r}, "
        f"small_sample_correction={correction!r}, xtol={_PYMARE_XTOL:g})"
    )


def _fit_pymare(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str):
    """Fit with PyMARE; return beta, covariance, tau2 and the engine description."""
    est, desc = _pymare_estimator(method, test)
    with warnings.catch_warnings():
        # PyMARE warns (UserWarning) before falling back to a Wald test when k - p < 1;
        # meta_regression refuses that case itself, so nothing useful is lost here.
        warnings.simplefilter("ignore", UserWarning)
        if method == "EE":
            est.fit(y=y[:, None], X=X, v=v[:, None])
        else:
            est.fit(y=y[:, None], v=v[:, None], X=X)
    params = est.params_
    beta = np.asarray(params["fe_params"], dtype=float).reshape(-1)
    cov = np.asarray(params["inv_cov"], dtype=float)
    cov = cov.reshape(X.shape[1], X.shape[1]) if cov.size == X.shape[1] ** 2 else cov[..., 0]
    tau2 = float(np.asarray(params["tau2"], dtype=float).reshape(-1)[0])
    return beta, cov, max(tau2, 0.0), f"PyMARE {version('pymare')} {desc}"


def _residual_matrix(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:math:`P = W - WX(X'WX)^{-1}X'W` for weights ``w``."""
    W = np.diag(w)
    WX = X * w[:, None]
    return W - WX @ np.linalg.solve(X.T @ WX, WX.T)


def meta_regression(
    yi,
    vi,
    moderators: pd.DataFrame,
    *,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    intercept: bool = True,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression of effect sizes on study-level moderators.

    The coefficients, their (Knapp-Hartung-scaled) covariance and tau^2 come from PyMARE
    [1]_; the omnibus and heterogeneity statistics are computed here so that the result
    reads like metafor's ``rma(yi, vi, mods = ~ ..., method=method, test=test)`` [2]_.

    Parameters
    ----------
    yi, vi : array_like of shape (k,)
        Effect sizes and their sampling variances (``vi > 0``).
    moderators : pandas.DataFrame
        k rows, one column per moderator (e.g. ``dose_mg``, ``duration_weeks``); categorical
        columns are treatment-coded (see :func:`moderator_matrix`).
    method : {"REML", "ML", "DL", "HE", "EE"}
        tau^2 estimator. ``EE`` (aliases ``FE``, ``CE``) fixes tau^2 at 0.
    test : {"knha", "z", "adhoc"}
        ``"knha"`` (alias ``"hksj"``): Knapp & Hartung (2003) [3]_: covariance scaled by
        :math:`s^2 = \\sum w_i e_i^2/(k-p)` with :math:`w_i = 1/(v_i+\\hat\\tau^2)`,
        t(k - p) for each coefficient and F(m, k - p) for QM (PyMARE's
        ``small_sample_correction="knapp-hartung"``, which does not truncate
        :math:`s^2` at 1, as metafor's ``"knha"``). ``"adhoc"``: the same with
        :math:`s^2` floored at 1. ``"z"``: Wald tests, normal and chi-square references.
    level : float
        Confidence level, e.g. 0.95.
    intercept : bool
        Whether to add an intercept column (metafor's default).

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    ValueError
        On unknown method/test, mismatched lengths, non-positive variances, missing
        moderator values, or too few studies for the model (``k <= p``).

    Notes
    -----
    QM is the Wald statistic :math:`b_m' V_m^{-1} b_m` over the non-intercept coefficients;
    under ``"knha"`` it is divided by :math:`m` and referred to F(m, k-p). QE is
    :math:`\\sum (y_i - x_i'\\hat\\beta_{FE})^2 / v_i` with k - p df. Residual
    :math:`I^2 = 100\\,\\hat\\tau^2/(\\hat\\tau^2 + \\tilde v)` with
    :math:`\\tilde v = (k-p)/\\mathrm{tr}(P)`, :math:`P = W - WX(X'WX)^{-1}X'W`, :math:`W =
    \\mathrm{diag}(1/v_i)` [2]_ [5]_. The standard error of tau^2 is the inverse Fisher
    information: :math:`\\sqrt{2/\\mathrm{tr}(P_\\tau P_\\tau)}` for REML and
    :math:`\\sqrt{2/\\sum w_i^2}` for ML, with :math:`w_i = 1/(v_i + \\hat\\tau^2)`.

    References
    ----------
    .. [1] Salo T, et al. PyMARE 0.0.13. https://github.com/neurostuff/PyMARE
    .. [2] Viechtbauer W. J Stat Softw. 2010;36(3):1-48. doi:10.18637/jss.v036.i03
    .. [3] Knapp G, Hartung J. Stat Med. 2003;22:2693-2710. doi:10.1002/sim.1482
    .. [4] Raudenbush SW. In: Handbook of Research Synthesis and Meta-Analysis, 2009.
    .. [5] Higgins JPT, Thompson SG. Stat Med. 2002;21:1539-1558. doi:10.1002/sim.1186

    Examples
    --------
    >>> import pandas as pd
    >>> res = meta_regression(
    ...     [0.1, 0.3, 0.35, 0.6, 0.8], [0.04, 0.05, 0.03, 0.06, 0.05],
    ...     pd.DataFrame({"dose": [1.5, 3.0, 3.0, 4.5, 4.5]}),
    ... )
    >>> res.names
    ('intercept', 'dose')
    >>> res.qm_dist, res.qm_df
    ('F', (1, 3))
    """
    method = {"FE": "EE", "CE": "EE"}.get(method.upper(), method.upper())
    if method not in METAREG_METHODS:
        raise ValueError(
            f"method {method!r} is not available for meta-regression; choose one of "
            f"{list(METAREG_METHODS)} (PyMARE has no moderator version of PM, SJ, HS or EB)"
        )
    test = {"hksj": "knha"}.get(test.lower(), test.lower())
    if test not in METAREG_TESTS:
        raise ValueError(f"test {test!r} is not one of {list(METAREG_TESTS)}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    if y.shape != v.shape:
        raise ValueError(f"yi has {y.size} values but vi has {v.size}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise ValueError("yi and vi must be finite")
    if np.any(v <= 0):
        raise ValueError("every vi must be > 0")
    if not isinstance(moderators, pd.DataFrame):
        moderators = pd.DataFrame(moderators)
    if len(moderators) != y.size:
        raise ValueError(f"moderators have {len(moderators)} rows but there are {y.size} studies")
    Xm, mod_names = moderator_matrix(moderators.reset_index(drop=True))
    if intercept:
        X = np.column_stack([np.ones(y.size), Xm])
        names = ["intercept", *mod_names]
    else:
        X = Xm
        names = mod_names
    k, p = X.shape
    if p == 0:
        raise ValueError("the model has no coefficients: give moderators or intercept=True")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError(f"the design matrix ({names}) is not of full rank")
    if k <= p:
        raise ValueError(
            f"k = {k} studies cannot support {p} coefficients; need k > p "
            "(at least one residual degree of freedom)"
        )

    beta, cov, tau2, engine = _fit_pymare(y, v, X, method, test)
    se = np.sqrt(np.diag(cov))
    alpha = 1.0 - level
    df_resid = k - p
    notes: list[str] = []
    if np.any(se == 0):
        # Knapp-Hartung with a perfect fit: the scale factor is 0 and so is every SE. The
        # statistic is then +-inf (nan for a zero coefficient), as in metafor.
        notes.append("Knapp-Hartung scale factor is 0 (residuals are all 0): SE = 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    t_based = test in ("knha", "adhoc")
    if t_based:
        pval = 2.0 * distributions.t_sf(np.abs(stat), df_resid)
        crit = distributions.t_isf(alpha / 2.0, df_resid)
    else:
        pval = 2.0 * distributions.norm_sf(np.abs(stat))
        crit = distributions.norm_isf(alpha / 2.0)

    # Omnibus test of the moderators (all coefficients but the intercept).
    idx = np.arange(1, p) if intercept else np.arange(p)
    m = idx.size
    if m > 0:
        b_m = beta[idx]
        cov_m = cov[np.ix_(idx, idx)]
        if np.all(np.diag(cov_m) > 0):
            qm = float(b_m @ np.linalg.solve(cov_m, b_m))
        else:
            qm = float("nan")
        if t_based:
            qm = qm / m
            qm_df: tuple[int, ...] = (m, df_resid)
            qm_pval = float(distributions.f_sf(qm, m, df_resid))
            qm_dist = "F"
        else:
            qm_df = (m,)
            qm_pval = float(distributions.chi2_sf(qm, m))
            qm_dist = "chi2"
    else:
        qm, qm_df, qm_pval, qm_dist = float("nan"), (0,), float("nan"), "none"

    # Residual heterogeneity from the fixed-effect fit.
    w0 = 1.0 / v
    P0 = _residual_matrix(X, w0)
    qe = float(max(0.0, y @ P0 @ y))
    qe_pval = float(distributions.chi2_sf(qe, df_resid))
    if method == "EE":
        # No tau^2 in the model: I^2 and H^2 from QE (Higgins & Thompson 2002), as metafor.
        i2 = max(0.0, 100.0 * (qe - df_resid) / qe) if qe > 0 else 0.0
        h2 = qe / df_resid
    else:
        v_typical = df_resid / float(np.trace(P0))
        i2 = 100.0 * tau2 / (v_typical + tau2)
        h2 = (v_typical + tau2) / v_typical

    if method in ("ML", "REML"):
        wt = 1.0 / (v + tau2)
        if method == "REML":
            Pt = _residual_matrix(X, wt)
            info = float(np.sum(Pt * Pt))
        else:
            info = float(np.sum(wt**2))
        tau2_se = float(np.sqrt(2.0 / info))
        notes.append(
            "PyMARE does not report convergence of the bounded tau^2 search; "
            f"xtol = {_PYMARE_XTOL:g} of the starting bracket"
        )
    else:
        tau2_se = float("nan")

    r2 = float("nan")
    if intercept and m > 0 and method == "EE":
        # No tau^2 to explain: adjusted R^2 of the weighted regression, as metafor for FE.
        q_null = float(np.sum(w0 * (y - np.sum(w0 * y) / np.sum(w0)) ** 2))
        if q_null > 0:
            r2 = max(0.0, 100.0 * (1.0 - (qe / q_null) * (k - 1) / df_resid))
    elif intercept and m > 0:
        _, _, tau2_null, _ = _fit_pymare(y, v, np.ones((k, 1)), method, "z")
        if tau2_null > 0:
            r2 = max(0.0, 100.0 * (tau2_null - tau2) / tau2_null)
        else:
            notes.append("R^2 undefined: tau^2 of the intercept-only model is 0")

    return MetaRegressionResult(
        k=k,
        p=p,
        names=tuple(names),
        coef=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in se),
        stat=tuple(float(s) for s in stat),
        pval=tuple(float(s) for s in pval),
        ci_low=tuple(float(b - crit * s) for b, s in zip(beta, se, strict=True)),
        ci_high=tuple(float(b + crit * s) for b, s in zip(beta, se, strict=True)),
        df=df_resid if t_based else None,
        tau2=tau2,
        tau2_se=tau2_se,
        i2=float(i2),
        h2=float(h2),
        r2=r2,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        qm_dist=qm_dist,
        qe=qe,
        qe_df=df_resid,
        qe_pval=qe_pval,
        method=method,
        test=test,
        level=level,
        engine=engine,
        notes=tuple(notes),
    )
