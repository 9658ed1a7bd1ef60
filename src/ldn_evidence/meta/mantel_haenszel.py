"""Mantel-Haenszel pooling of 2x2 tables (odds ratio, risk ratio, risk difference).

The common-effect Mantel-Haenszel estimators with the variance estimators that stay valid
for sparse tables, the heterogeneity statistics metafor's ``rma.mh`` reports next to them,
and the Cochran-Mantel-Haenszel test. Table layout follows metafor's ``escalc``: for study i,
``ai``/``bi`` are events/non-events in group 1 (LDN) and ``ci``/``di`` in group 2.

References
----------
.. [1] Mantel N, Haenszel W. Statistical aspects of the analysis of data from retrospective
   studies of disease. J Natl Cancer Inst. 1959;22(4):719-748.
.. [2] Robins J, Breslow N, Greenland S. Estimators of the Mantel-Haenszel variance consistent
   in both sparse data and large-strata limiting models. Biometrics. 1986;42(2):311-323.
.. [3] Greenland S, Robins JM. Estimation of a common effect parameter from sparse follow-up
   data. Biometrics. 1985;41(1):55-68.
.. [4] Sato T, Greenland S, Robins JM. On the variance estimator for the Mantel-Haenszel risk
   difference. Biometrics. 1989;45(4):1323-1324.
.. [5] Cochran WG. Some methods for strengthening the common chi-squared tests. Biometrics.
   1954;10(4):417-451.
.. [6] Breslow NE, Day NE. Statistical Methods in Cancer Research, Vol. I: The Analysis of
   Case-Control Studies. IARC Scientific Publications No. 32; 1980.
.. [7] Tarone RE. On heterogeneity tests based on efficient scores. Biometrika.
   1985;72(1):91-95.
.. [8] Viechtbauer W. metafor: ``rma.mh`` (version 3.8-1), R package documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

import numpy as np

from ldn_evidence import distributions

__all__ = ["MH_MEASURES", "MantelHaenszelResult", "mantel_haenszel"]

#: Measures with a Mantel-Haenszel estimator here (metafor's codes).
MH_MEASURES = ("OR", "RR", "RD")

#: Where a continuity correction goes (metafor's ``to``): every table, only tables with a zero
#: cell, every table if any has a zero cell, or none.
_TO = ("all", "only0", "if0all", "none")

_VARIANCE_METHOD = {
    "OR": "Robins-Breslow-Greenland (1986)",
    "RR": "Greenland-Robins (1985)",
    "RD": "Sato-Greenland-Robins (1989)",
}


@dataclass(frozen=True)
class MantelHaenszelResult:
    """Mantel-Haenszel common-effect estimate of 2x2 tables.

    Attributes
    ----------
    measure : str
        ``"OR"``, ``"RR"`` (both on the log scale) or ``"RD"``.
    k : int
        Tables that entered the Mantel-Haenszel sums (metafor's ``k``).
    k_yi : int
        Studies with a defined study-level effect, used for Q/I^2 (metafor's ``k.yi``).
    estimate, se, stat, pval, ci_low, ci_high : float
        Pooled log OR / log RR / RD, its standard error, z statistic, two-sided p-value
        and confidence bounds (NaN when undefined, e.g. no events in one group overall).
    q, q_df, q_pval, i2, h2 : float
        Cochran's Q of the study-level effects around the MH estimate (inverse-variance
        weights), its df (``k_yi - 1``) and p-value, I^2 (percent) and H^2, as ``rma.mh``.
    cochran, cochran_pval, cmh, cmh_pval : float
        OR only: Cochran's (1954) test and the Cochran-Mantel-Haenszel test of a common
        OR of 1 (chi-square, 1 df); NaN for RR/RD.
    breslow_day, breslow_day_pval, tarone, tarone_pval : float
        OR only: Breslow-Day test of homogeneous odds ratios and Tarone's (1985) corrected
        version, each with ``k_pos - 1`` df.
    k_pos : int
        OR only: tables used in the Breslow-Day test (positive expected count, events and
        non-events present); 0 otherwise.
    correct : bool
        Whether the continuity correction was used in the Cochran/CMH tests.
    level : float
        Confidence level.
    variance_method : str
        Name of the variance estimator.
    zero_cell_policy : str
        The correction settings, in words.
    double_zero : tuple of int
        Indices (0-based, input order) of studies with no events in both groups or only
        events in both groups.
    corrected : tuple of int
        Indices of studies whose study-level effect (for Q) received the continuity
        correction ``add``.
    dropped_from_q : tuple of int
        Indices of studies left out of Q/I^2 (``drop00``).
    dropped_from_mh : tuple of int
        Indices of studies left out of the MH sums (``mh_drop00``).
    engine : str
        What computed the estimate.
    notes : tuple of str
        Edge cases met.
    """

    measure: str
    k: int
    k_yi: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    cochran: float
    cochran_pval: float
    cmh: float
    cmh_pval: float
    breslow_day: float
    breslow_day_pval: float
    tarone: float
    tarone_pval: float
    k_pos: int
    correct: bool
    level: float
    variance_method: str
    zero_cell_policy: str
    double_zero: tuple[int, ...]
    corrected: tuple[int, ...]
    dropped_from_q: tuple[int, ...]
    dropped_from_mh: tuple[int, ...]
    engine: str
    notes: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """Short method label, e.g. ``"MH (OR), Robins-Breslow-Greenland (1986) variance"``."""
        return f"MH ({self.measure}), {self.variance_method} variance"

    def ratio(self) -> tuple[float, float, float]:
        """Estimate and CI back-transformed to the ratio scale (OR/RR only)."""
        if self.measure == "RD":
            raise ValueError("the risk difference has no ratio scale")
        return (
            float(np.exp(self.estimate)),
            float(np.exp(self.ci_low)),
            float(np.exp(self.ci_high)),
        )


def _add_correction(tables: np.ndarray, add: float, to: str) -> tuple[np.ndarray, np.ndarray]:
    """Add ``add`` to all four cells of the selected tables; return tables and the mask."""
    has_zero = np.any(tables == 0, axis=1)
    if to == "all":
        mask = np.ones(len(tables), dtype=bool)
    elif to == "only0":
        mask = has_zero
    elif to == "if0all":
        mask = np.full(len(tables), bool(has_zero.any()))
    else:
        mask = np.zeros(len(tables), dtype=bool)
    if add == 0:
        mask = np.zeros(len(tables), dtype=bool)
    out = tables.astype(float)
    out[mask] += add
    return out, mask


def _study_effects(tables: np.ndarray, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Study-level yi, vi as metafor's ``escalc`` (tables already corrected); NaN if undefined."""
    a, b, c, d = tables.T
    n1 = a + b
    n2 = c + d
    yi = np.full(len(a), np.nan)
    vi = np.full(len(a), np.nan)
    if measure == "OR":
        ok = (a > 0) & (b > 0) & (c > 0) & (d > 0)
        yi[ok] = np.log(a[ok] * d[ok] / (b[ok] * c[ok]))
        vi[ok] = 1 / a[ok] + 1 / b[ok] + 1 / c[ok] + 1 / d[ok]
    elif measure == "RR":
        ok = (a > 0) & (c > 0)
        yi[ok] = np.log((a[ok] / n1[ok]) / (c[ok] / n2[ok]))
        vi[ok] = 1 / a[ok] - 1 / n1[ok] + 1 / c[ok] - 1 / n2[ok]
    else:
        yi = a / n1 - c / n2
        vi = a * b / n1**3 + c * d / n2**3
        ok = vi > 0
        yi = np.where(ok, yi, np.nan)
        vi = np.where(ok, vi, np.nan)
    return yi, vi


def _mh_or(a, b, c, d, n):
    """MH odds ratio (log) and RBG standard error, via statsmodels' StratifiedTable."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    tab = StratifiedTable(np.stack([np.stack([a, b]), np.stack([c, d])]))
    return float(tab.logodds_pooled), float(tab.logodds_pooled_se), tab


def _mh_rr(a, b, c, d, n):
    """MH log risk ratio and the Greenland-Robins (1985) standard error."""
    n1, n2 = a + b, c + d
    r = np.sum(a * n2 / n)
    s = np.sum(c * n1 / n)
    var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (r * s)
    return float(np.log(r / s)), float(np.sqrt(var))


def _mh_rd(a, b, c, d, n):
    """MH risk difference and the Sato-Greenland-Robins (1989) standard error."""
    n1, n2 = a + b, c + d
    wsum = np.sum(n1 * n2 / n)
    rd = np.sum((a * n2 - c * n1) / n) / wsum
    p_term = np.sum((n1 * n2 * (n2 - n1) / 2 + c * n1**2 - a * n2**2) / n**2)
    q_term = np.sum((a * (n2 - c) + c * (n1 - a)) / n) / 2
    var = (rd * p_term + q_term) / wsum**2
    return float(rd), float(np.sqrt(var))


def _breslow_day(a, b, c, d, n, odds_ratio):
    """Breslow-Day and Tarone tests of a common odds ratio; tables as metafor selects them."""
    n1 = a + b
    m1 = a + c  # events
    m0 = b + d  # non-events
    if odds_ratio == 1:
        e11 = n1 * m1 / n
    else:
        # Expected a under the common OR: the root in [max(0, n1 - m0), min(n1, m1)] of
        # (e (n - n1 - m1 + e)) / ((n1 - e)(m1 - e)) = OR (Breslow & Day 1980, eq. 4.30).
        qa = odds_ratio * (n1 + m1) + (n - n1 - m1)
        disc = np.sqrt(qa**2 - 4 * n1 * m1 * odds_ratio * (odds_ratio - 1))
        e11 = (qa - disc) / (2 * (odds_ratio - 1))
    use = (e11 > 0) & (m1 > 0) & (m0 > 0)
    k_pos = int(use.sum())
    e = e11[use]
    e12 = n1[use] - e
    e21 = m1[use] - e
    e22 = n[use] - n1[use] - m1[use] + e
    var = 1.0 / (1 / e + 1 / e12 + 1 / e21 + 1 / e22)
    dev = a[use] - e
    bd = max(0.0, float(np.sum(dev**2 / var)))
    ta = max(0.0, bd - float(np.sum(dev)) ** 2 / float(np.sum(var)))
    if k_pos > 1:
        return (
            bd,
            float(distributions.chi2_sf(bd, k_pos - 1)),
            ta,
            float(distributions.chi2_sf(ta, k_pos - 1)),
            k_pos,
        )
    return bd, float("nan"), ta, float("nan"), k_pos


def _indices(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask))


def mantel_haenszel(
    ai,
    bi,
    ci,
    di,
    *,
    measure: str = "OR",
    level: float = 0.95,
    correct: bool = True,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    mh_add: float = 0.0,
    mh_to: str = "none",
    mh_drop00: bool = False,
) -> MantelHaenszelResult:
    """Mantel-Haenszel pooled OR, RR or RD of 2x2 tables, as metafor's ``rma.mh``.

    Parameters
    ----------
    ai, bi, ci, di : array_like of shape (k,)
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``);
        non-negative counts, at least one participant per group.
    measure : {"OR", "RR", "RD"}
        Effect measure; OR and RR are pooled on the log scale.
    level : float
        Confidence level of the Wald interval.
    correct : bool
        Continuity correction (subtract 1/2) in the Cochran and CMH tests.
    add, to, drop00 : float, str, bool
        Continuity correction of the *study-level* effects that enter Q and I^2 (metafor's
        first elements of ``add``/``to``/``drop00``): ``add`` is added to every cell of the
        tables selected by ``to`` (``"only0"``: tables with a zero cell; ``"all"``,
        ``"if0all"``, ``"none"``); ``drop00`` leaves out studies without events (or with only
        events) in both groups.
    mh_add, mh_to, mh_drop00 : float, str, bool
        The same for the Mantel-Haenszel sums themselves (metafor's second elements). The
        default applies no correction and keeps every table: the MH estimators need none,
        and a table without events contributes exactly nothing to the MH OR and RR (it does
        contribute weight to the MH RD).

    Returns
    -------
    MantelHaenszelResult

    Raises
    ------
    ValueError
        On an unknown measure or ``to``, unequal lengths, negative or non-finite counts, or a
        group with no participants.

    Notes
    -----
    With :math:`n_{1i}=a_i+b_i`, :math:`n_{2i}=c_i+d_i`, :math:`N_i=n_{1i}+n_{2i}`:

    * OR [1]_: :math:`\\hat\\psi = \\sum a_i d_i/N_i \\big/ \\sum b_i c_i/N_i`, with the
      Robins-Breslow-Greenland variance of :math:`\\log\\hat\\psi` [2]_ (computed by
      statsmodels' ``StratifiedTable``, which implements the same formula).
    * RR [3]_: :math:`\\sum a_i n_{2i}/N_i \\big/ \\sum c_i n_{1i}/N_i`, variance
      :math:`\\sum (n_{1i}n_{2i}(a_i+c_i) - a_i c_i N_i)/N_i^2 \\,/\\, (RS)`.
    * RD [4]_: :math:`\\sum (a_i n_{2i} - c_i n_{1i})/N_i \\big/ \\sum n_{1i}n_{2i}/N_i`,
      with the Sato-Greenland-Robins variance, as ``rma.mh``.

    Q is :math:`\\sum w_i (y_i - \\hat\\theta_{MH})^2` over the study-level effects
    :math:`y_i` (with ``add``/``to``/``drop00``), :math:`w_i = 1/v_i`, df = ``k_yi - 1``;
    :math:`I^2 = \\max(0, 100 (Q - df)/Q)`, :math:`H^2 = Q/df` ([8]_). The CMH statistic
    [1]_ uses the hypergeometric variance (:math:`N_i^2(N_i-1)` in the denominator),
    Cochran's [5]_ the binomial one (:math:`N_i^3`). Breslow-Day [6]_ and Tarone [7]_ use the
    tables with a positive expected count and with both events and non-events, as
    ``rma.mh`` does.

    References
    ----------
    .. [1] Mantel N, Haenszel W. J Natl Cancer Inst. 1959;22:719-748.
    .. [2] Robins J, Breslow N, Greenland S. Biometrics. 1986;42:311-323.
    .. [3] Greenland S, Robins JM. Biometrics. 1985;41:55-68.
    .. [4] Sato T, Greenland S, Robins JM. Biometrics. 1989;45:1323-1324.
    .. [5] Cochran WG. Biometrics. 1954;10:417-451.
    .. [6] Breslow NE, Day NE. Statistical Methods in Cancer Research I. IARC; 1980.
    .. [7] Tarone RE. Biometrika. 1985;72:91-95.
    .. [8] Viechtbauer W. metafor ``rma.mh`` documentation (version 3.8-1).

    Examples
    --------
    >>> res = mantel_haenszel([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    >>> res.measure, res.k
    ('OR', 3)
    >>> round(res.ratio()[0], 3)
    0.243
    """
    measure = measure.upper()
    if measure not in MH_MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {list(MH_MEASURES)}")
    for name, value in (("to", to), ("mh_to", mh_to)):
        if value not in _TO:
            raise ValueError(f"{name} {value!r} is not one of {list(_TO)}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if add < 0 or mh_add < 0:
        raise ValueError("add and mh_add must be >= 0")
    cols = [np.asarray(x, dtype=float).reshape(-1) for x in (ai, bi, ci, di)]
    if len({c.size for c in cols}) != 1:
        raise ValueError(f"ai, bi, ci, di have lengths {[c.size for c in cols]}; expected equal")
    tables = np.column_stack(cols)
    if tables.shape[0] == 0:
        raise ValueError("no tables given")
    if not np.all(np.isfinite(tables)) or np.any(tables < 0):
        raise ValueError("counts must be finite and >= 0")
    empty = (tables[:, 0] + tables[:, 1] == 0) | (tables[:, 2] + tables[:, 3] == 0)
    if empty.any():
        raise ValueError(f"studies {_indices(empty)} have a group with no participants")

    a0, b0, c0, d0 = tables.T
    double_zero = ((a0 == 0) & (c0 == 0)) | ((b0 == 0) & (d0 == 0))
    notes: list[str] = []

    # Study-level effects for Q / I^2.
    q_tables, corrected = _add_correction(tables, add, to)
    yi, vi = _study_effects(q_tables, measure)
    if drop00:
        yi[double_zero] = np.nan
        vi[double_zero] = np.nan
    in_q = np.isfinite(yi) & np.isfinite(vi)
    dropped_from_q = ~in_q

    # Mantel-Haenszel sums.
    in_mh = ~double_zero if mh_drop00 else np.ones(len(tables), dtype=bool)
    mh_tables, _ = _add_correction(tables[in_mh], mh_add, mh_to)
    a, b, c, d = mh_tables.T
    n = a + b + c + d
    n1, n2 = a + b, c + d
    k = int(in_mh.sum())
    if k == 0:
        raise ValueError("no tables left after dropping studies without events in both groups")

    nan = float("nan")
    cochran = cochran_p = cmh = cmh_p = nan
    bd = bd_p = ta = ta_p = nan
    k_pos = 0
    engine = "numpy (own implementation)"
    estimate = se = nan
    if measure == "OR":
        if np.sum(a * d / n) == 0 or np.sum(b * c / n) == 0:
            notes.append("MH odds ratio undefined: sum(a d / N) or sum(b c / N) is 0")
        else:
            estimate, se, _ = _mh_or(a, b, c, d, n)
            engine = (
                f"statsmodels {version('statsmodels')} StratifiedTable (MH OR, RBG SE, CMH); "
                "numpy (Cochran, Breslow-Day, Tarone, Q)"
            )
            bd, bd_p, ta, ta_p, k_pos = _breslow_day(a, b, c, d, n, float(np.exp(estimate)))
        events = a + c
        non_events = b + d
        if events.sum() > 0 and non_events.sum() > 0:
            dev = abs(float(np.sum(a - n1 * events / n))) - (0.5 if correct else 0.0)
            base = n1 * n2 * events * non_events / n**2
            cochran = dev**2 / float(np.sum(base / n))
            cmh = dev**2 / float(np.sum(base / (n - 1)))
            cochran_p = float(distributions.chi2_sf(cochran, 1))
            cmh_p = float(distributions.chi2_sf(cmh, 1))
    elif measure == "RR":
        if a.sum() == 0 or c.sum() == 0:
            notes.append("MH risk ratio undefined: no events in one group across all studies")
        else:
            estimate, se = _mh_rr(a, b, c, d, n)
    else:
        estimate, se = _mh_rd(a, b, c, d, n)

    alpha = 1.0 - level
    crit = float(distributions.norm_isf(alpha / 2.0))
    if np.isfinite(estimate) and se > 0:
        stat = estimate / se
        pval = float(2.0 * distributions.norm_sf(abs(stat)))
        ci_low, ci_high = estimate - crit * se, estimate + crit * se
    else:
        stat = pval = ci_low = ci_high = nan

    k_yi = int(in_q.sum())
    if k_yi > 1 and np.isfinite(estimate):
        w = 1.0 / vi[in_q]
        q = max(0.0, float(np.sum(w * (yi[in_q] - estimate) ** 2)))
        q_pval = float(distributions.chi2_sf(q, k_yi - 1))
        i2 = max(0.0, 100.0 * (q - (k_yi - 1)) / q) if q > 0 else 0.0
        h2 = q / (k_yi - 1)
    elif k_yi <= 1:
        q, q_pval, i2, h2 = 0.0, 1.0, 0.0, 1.0
        notes.append(f"k_yi = {k_yi}: no heterogeneity statistics (Q = 0, I^2 = 0, as rma.mh)")
    else:
        q = q_pval = i2 = h2 = nan

    if double_zero.any():
        ids = _indices(double_zero)
        if mh_drop00:
            where = "dropped from the MH sums"
        elif measure == "RD":
            where = "kept in the MH risk difference (they add weight, rma.mh default)"
        else:
            where = f"kept in the MH sums, to which they contribute nothing for the {measure}"
        in_q_txt = "left out of Q/I^2" if drop00 else "kept in Q/I^2"
        notes.append(
            f"studies {list(ids)} have no events (or only events) in both groups: "
            f"{where}; {in_q_txt}"
        )
    policy = (
        f"study-level effects for Q: add {add:g} to {to} (drop00={drop00}); "
        f"MH sums: add {mh_add:g} to {mh_to} (drop00={mh_drop00})"
    )
    return MantelHaenszelResult(
        measure=measure,
        k=k,
        k_yi=k_yi,
        estimate=float(estimate),
        se=float(se),
        stat=float(stat),
        pval=float(pval),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        q=float(q),
        q_df=max(k_yi - 1, 0),
        q_pval=float(q_pval),
        i2=float(i2),
        h2=float(h2),
        cochran=float(cochran),
        cochran_pval=float(cochran_p),
        cmh=float(cmh),
        cmh_pval=float(cmh_p),
        breslow_day=float(bd),
        breslow_day_pval=float(bd_p),
        tarone=float(ta),
        tarone_pval=float(ta_p),
        k_pos=k_pos,
        correct=correct,
        level=level,
        variance_method=_VARIANCE_METHOD[measure],
        zero_cell_policy=policy,
        double_zero=_indices(double_zero),
        corrected=_indices(corrected),
        dropped_from_q=_indices(dropped_from_q),
        dropped_from_mh=_indices(~in_mh),
        engine=engine,
        notes=tuple(notes),
    )
