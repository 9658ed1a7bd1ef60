"""Subgroup analysis: pooled result per subgroup and the test for subgroup differences.

Two variants of the test, both common in practice, both reported when they can be computed:

* **separate tau^2** (the default; Cochrane Handbook 10.11.3.1, RevMan; Borenstein et al.
  2009, ch. 19): each subgroup is pooled on its own, with its own tau^2, and the subgroup
  estimates are compared with a Q statistic for heterogeneity between them,
  :math:`Q_B = \\sum_g w_g(\\hat\\theta_g - \\bar\\theta)^2`, :math:`w_g = 1/\\mathrm{SE}_g^2`,
  chi-square with G - 1 df. This is metafor's recipe of fitting ``rma()`` per subgroup and
  then ``rma(estimates, sei=ses, method="FE")`` on the results (its QE).
* **pooled tau^2** (Borenstein et al. 2009, ch. 19, "pooled estimate of tau^2"): one
  meta-regression on the subgroup indicator, ``rma(yi, vi, mods = ~ factor(g))``, whose
  omnibus test QM (chi-square with G - 1 df, or F(G - 1, k - G) under Knapp-Hartung)
  compares the subgroup means under a common residual tau^2.

References
----------
.. [1] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis.
   Wiley; 2009. Chapter 19: Subgroup analyses.
.. [2] Deeks JJ, Higgins JPT, Altman DG, eds. Chapter 10: Analysing data and undertaking
   meta-analyses. In: Cochrane Handbook for Systematic Reviews of Interventions, version 6.5.
   Cochrane; 2024. Section 10.11.3.
.. [3] Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw.
   2010;36(3):1-48. doi:10.18637/jss.v036.i03
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence import distributions
from ldn_evidence.meta.metareg import METAREG_METHODS, MetaRegressionResult, meta_regression
from ldn_evidence.meta.pooling import pool, validate_inputs
from ldn_evidence.meta.results import PoolResult

__all__ = [
    "SubgroupAnalysis",
    "SubgroupDifferenceTest",
    "SubgroupResult",
    "subgroup_analysis",
]

#: What the default test for subgroup differences is, in words; stored with every result.
SEPARATE_TAU2_VARIANT = (
    "separate tau^2 per subgroup; Q-between on the subgroup estimates with weights "
    "1/SE^2 (SE as reported by pool for the chosen test), chi-square with G - 1 df "
    "(Borenstein et al. 2009 ch. 19; Cochrane Handbook 10.11.3)"
)


@dataclass(frozen=True)
class SubgroupResult:
    """The pooled result of one subgroup.

    Attributes
    ----------
    label : str
        Subgroup label.
    indices : tuple of int
        Positions (0-based) of its studies in the input.
    result : PoolResult
        ``pool`` on those studies (a single study is reported as such, not pooled).
    """

    label: str
    indices: tuple[int, ...]
    result: PoolResult

    @property
    def k(self) -> int:
        """Number of studies in the subgroup."""
        return len(self.indices)


@dataclass(frozen=True)
class SubgroupDifferenceTest:
    """A test for differences between subgroups.

    Attributes
    ----------
    performed : bool
        False when the test could not be computed; ``reason`` says why.
    reason : str
        Empty when performed.
    variant : str
        ``"separate_tau2"`` or ``"pooled_tau2"``.
    description : str
        The method in words.
    stat : float
        Q-between (chi-square) or QM/m (F).
    df : tuple of int
        ``(G - 1,)`` for chi-square; ``(G - 1, k - G)`` for F.
    pval : float
        p-value.
    distribution : str
        ``"chi2"`` or ``"F"``.
    """

    performed: bool
    reason: str
    variant: str
    description: str
    stat: float = float("nan")
    df: tuple[int, ...] = ()
    pval: float = float("nan")
    distribution: str = ""


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Subgroup analysis: per-subgroup results and the tests for subgroup differences.

    Attributes
    ----------
    subgroups : tuple of SubgroupResult
        In sorted label order.
    difference : SubgroupDifferenceTest
        The separate-tau^2 Q-between test (the primary test).
    difference_pooled_tau2 : SubgroupDifferenceTest
        The pooled-tau^2 test (meta-regression QM), or not performed with its reason.
    metaregression : MetaRegressionResult or None
        The meta-regression behind ``difference_pooled_tau2``.
    method, test : str
        Estimator and test used in every subgroup.
    level : float
        Confidence level.
    notes : tuple of str
        Edge cases (single-study subgroups, ...).
    """

    subgroups: tuple[SubgroupResult, ...]
    difference: SubgroupDifferenceTest
    difference_pooled_tau2: SubgroupDifferenceTest
    metaregression: MetaRegressionResult | None
    method: str
    test: str
    level: float
    notes: tuple[str, ...] = ()

    def subgroup(self, label: str) -> SubgroupResult:
        """The subgroup with this label."""
        for s in self.subgroups:
            if s.label == label:
                return s
        raise KeyError(f"no subgroup {label!r}; have {[s.label for s in self.subgroups]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup: k, estimate, CI, p-value, tau2, I2, Q."""
        cols = ("estimate", "se", "ci_low", "ci_high", "pval", "tau2", "i2", "q", "q_pval")
        return pd.DataFrame.from_records(
            [
                {"subgroup": s.label, "k": s.k} | {c: getattr(s.result, c) for c in cols}
                for s in self.subgroups
            ],
            columns=["subgroup", "k", *cols],
        )


def _q_between(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, int, float]:
    """Q of the subgroup estimates around their inverse-variance weighted mean."""
    w = 1.0 / ses**2
    mean = float(np.sum(w * estimates) / np.sum(w))
    q = float(np.sum(w * (estimates - mean) ** 2))
    df = estimates.size - 1
    return q, df, float(distributions.chi2_sf(q, df))


def subgroup_analysis(
    yi,
    vi,
    groups,
    *,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    pooled_tau2: bool = True,
    **pool_options: Any,
) -> SubgroupAnalysis:
    """Pool each subgroup separately and test for differences between subgroups.

    Parameters
    ----------
    yi, vi : array_like of shape (k,)
        Effect sizes and sampling variances.
    groups : array_like of shape (k,)
        Subgroup label of every study (converted to ``str``; no missing labels).
    method, test, level
        Passed to :func:`ldn_evidence.meta.pool` for every subgroup.
    pooled_tau2 : bool
        Also compute the pooled-tau^2 variant (meta-regression on the subgroup indicator);
        it is skipped, with the reason recorded, when the estimator or test has no
        meta-regression counterpart or k <= G.
    **pool_options
        Further keyword arguments of ``pool`` (e.g. ``threshold``, ``maxiter``).

    Returns
    -------
    SubgroupAnalysis

    Raises
    ------
    ValueError
        If ``groups`` does not have one non-missing label per study.

    Notes
    -----
    The test for subgroup differences uses, for every subgroup, the estimate and standard
    error that ``pool`` reports for it; with ``test="knha"`` that SE carries the
    Hartung-Knapp scale factor, exactly as fitting metafor's ``rma(..., test="knha")`` per
    subgroup and then ``rma(est, sei=se, method="FE")`` on the subgroup results [3]_. A
    single-study subgroup enters with the study's own estimate and SE (as RevMan does);
    it is listed in ``notes``. With fewer than two subgroups the test is not performed.

    References
    ----------
    .. [1] Borenstein M, et al. Introduction to Meta-Analysis. Wiley; 2009. Ch. 19.
    .. [2] Cochrane Handbook for Systematic Reviews of Interventions, v6.5, section 10.11.3.
    .. [3] Viechtbauer W. J Stat Softw. 2010;36(3):1-48.

    Examples
    --------
    >>> res = subgroup_analysis([0.1, 0.3, 0.35, 0.6, 0.8], [0.02, 0.03, 0.01, 0.05, 0.04],
    ...                         ["a", "a", "b", "b", "b"], method="DL", test="z")
    >>> [s.label for s in res.subgroups], res.difference.df
    (['a', 'b'], (1,))
    """
    y, v = validate_inputs(yi, vi)
    g_raw = pd.Series(list(groups), dtype=object)
    if len(g_raw) != y.size:
        raise ValueError(f"groups has {len(g_raw)} labels for {y.size} studies")
    if g_raw.isna().any():
        missing = [int(i) for i in np.flatnonzero(g_raw.isna().to_numpy())]
        raise ValueError(f"groups has missing labels at positions {missing}")
    g = np.array([str(x) for x in g_raw], dtype=object)
    labels = sorted(set(g.tolist()))

    subgroups = []
    notes: list[str] = []
    for label in labels:
        idx = np.flatnonzero(g == label)
        res = pool(y[idx], v[idx], method=method, test=test, level=level, **pool_options)
        subgroups.append(
            SubgroupResult(label=label, indices=tuple(int(i) for i in idx), result=res)
        )
    single = [s.label for s in subgroups if s.k == 1]
    if single:
        notes.append(
            f"single-study subgroups {single}: reported as the study itself and entered "
            "in the test for subgroup differences with the study's own SE"
        )
    # Canonical spellings as pool reports them (a single study falls back to a z interval,
    # so the test is read from a subgroup with k > 1 when there is one).
    method_c = subgroups[0].result.method
    canon_test = next((s.result.test for s in subgroups if s.k > 1), None)
    if canon_test is None:
        canon_test = {"hksj": "knha"}.get(test.lower(), test.lower())

    n_groups = len(subgroups)
    if n_groups < 2:
        difference = SubgroupDifferenceTest(
            performed=False,
            reason=f"G = {n_groups} subgroup: nothing to compare",
            variant="separate_tau2",
            description=SEPARATE_TAU2_VARIANT,
        )
    else:
        est = np.array([s.result.estimate for s in subgroups])
        se = np.array([s.result.se for s in subgroups])
        if not (np.all(np.isfinite(est)) and np.all(np.isfinite(se)) and np.all(se > 0)):
            difference = SubgroupDifferenceTest(
                performed=False,
                reason=(
                    "a subgroup's standard error is 0 or not finite (e.g. a Hartung-Knapp "
                    "scale factor of 0): Q-between is undefined"
                ),
                variant="separate_tau2",
                description=SEPARATE_TAU2_VARIANT,
            )
        else:
            q, df, p = _q_between(est, se)
            difference = SubgroupDifferenceTest(
                performed=True,
                reason="",
                variant="separate_tau2",
                description=SEPARATE_TAU2_VARIANT,
                stat=q,
                df=(df,),
                pval=p,
                distribution="chi2",
            )

    metareg_res = None
    pooled_desc = (
        "common residual tau^2: meta-regression on the subgroup indicator "
        f"(method {method_c}, test {canon_test}); omnibus QM "
        + ("F(G - 1, k - G)" if canon_test == "knha" else "chi-square with G - 1 df")
    )
    reason = ""
    if not pooled_tau2:
        reason = "not requested"
    elif n_groups < 2:
        reason = f"G = {n_groups} subgroup: nothing to compare"
    elif method_c not in METAREG_METHODS:
        reason = f"method {method_c} has no meta-regression in PyMARE ({list(METAREG_METHODS)})"
    elif canon_test not in ("z", "knha"):
        reason = f"test {canon_test!r} is not available for the meta-regression"
    elif y.size <= n_groups:
        reason = f"k = {y.size} <= G = {n_groups}: no residual degree of freedom"
    if reason:
        difference_pooled = SubgroupDifferenceTest(
            performed=False, reason=reason, variant="pooled_tau2", description=pooled_desc
        )
    else:
        mods = pd.DataFrame({"group": pd.Categorical(g, categories=labels)})
        metareg_res = meta_regression(y, v, mods, method=method_c, test=canon_test, level=level)
        difference_pooled = SubgroupDifferenceTest(
            performed=True,
            reason="",
            variant="pooled_tau2",
            description=pooled_desc,
            stat=metareg_res.qm,
            df=metareg_res.qm_df,
            pval=metareg_res.qm_pval,
            distribution=metareg_res.qm_dist,
        )
    return SubgroupAnalysis(
        subgroups=tuple(subgroups),
        difference=difference,
        difference_pooled_tau2=difference_pooled,
        metaregression=metareg_res,
        method=method_c,
        test=canon_test,
        level=float(level),
        notes=tuple(notes),
    )
