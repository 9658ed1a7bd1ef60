"""Result containers of the pooling engine.

A :class:`PoolResult` is what :func:`ldn_evidence.meta.pool` returns for one analysis;
:func:`ldn_evidence.meta.pool_many` returns the same fields as the columns of a DataFrame
(:data:`POOL_FIELDS` lists them in order).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["POOL_FIELDS", "PoolResult"]


@dataclass(frozen=True, slots=True)
class PoolResult:
    """Random-effects (or common-effect) meta-analysis of one set of estimates.

    All interval bounds are at ``level`` (two-sided). Quantities that do not exist for the
    model (for example the prediction interval of a common-effect model, or any
    heterogeneity statistic when ``k == 1``) are ``nan``; ``notes`` says why.

    Attributes
    ----------
    k : int
        Number of estimates pooled.
    estimate, se : float
        Pooled mean and its standard error (Hartung-Knapp scaled when ``test`` is
        ``"knha"`` or ``"adhoc"``).
    stat, df, pval : float
        Test statistic of H0: mean = 0 (z or t), its degrees of freedom (``nan`` for z) and
        two-sided p-value.
    ci_low, ci_high : float
        Confidence interval of the mean.
    tau2, tau2_se : float
        Between-study variance and its standard error as metafor reports it for the
        estimator (``nan`` where metafor has none, e.g. common effect).
    tau2_ci_low, tau2_ci_high : float
        Q-profile confidence interval of tau^2.
    i2, i2_ci_low, i2_ci_high : float
        I^2 in percent and its Q-profile interval.
    h2, h2_ci_low, h2_ci_high : float
        H^2 and its Q-profile interval.
    q, q_df, q_pval : float
        Cochran's Q (common-effect weights), its degrees of freedom and p-value.
    pi_low, pi_high : float
        Prediction interval for the true effect in a new study.
    method : str
        Requested tau^2 estimator in canonical spelling (``"EE"`` for common effect).
    test : str
        Test and CI method actually used for the mean (``"z"``, ``"knha"``, ``"adhoc"``).
    converged : bool
        ``False`` when an iterative estimator did not converge (see ``tau2_estimator``).
    notes : tuple of str
        Short notes on edge cases, truncations and fallbacks.
    level : float
        Confidence level of every interval.
    tau2_estimator : str
        Estimator that produced ``tau2`` (differs from ``method`` after a fallback;
        ``"none"`` when ``k == 1``).
    iterations : int
        Iterations of the tau^2 algorithm (0 for closed forms).
    ci_method, pi_method, tau2_ci_method : str
        How the CI of the mean, the prediction interval and the tau^2 CI were computed.
    s2 : float
        Typical within-study variance (Higgins & Thompson 2002), the denominator of I^2.
    """

    k: int
    estimate: float
    se: float
    stat: float
    df: float
    pval: float
    ci_low: float
    ci_high: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    q: float
    q_df: float
    q_pval: float
    pi_low: float
    pi_high: float
    method: str
    test: str
    converged: bool
    notes: tuple[str, ...]
    level: float
    tau2_estimator: str
    iterations: int
    ci_method: str
    pi_method: str
    tau2_ci_method: str
    s2: float

    def as_dict(self) -> dict[str, object]:
        """Return the fields as a plain ``dict`` in declaration order."""
        return asdict(self)


#: Field names of :class:`PoolResult` in declaration order; the columns of ``pool_many``.
POOL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PoolResult))
