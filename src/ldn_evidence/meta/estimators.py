"""Estimators of the between-study variance tau^2, vectorised over analyses.

Each estimator takes a padded batch (see :mod:`ldn_evidence.meta._kernels`) of analyses with
``k >= 2`` and returns a :class:`Tau2Estimate`. The definitions, starting values, truncation
and iteration rules follow metafor's ``rma.uni`` (Viechtbauer 2010) so that the numbers agree
with it; the standard errors are the ones metafor reports for each estimator.

References
----------
.. [DL] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin
   Trials 7:177-188.
.. [HE] Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.
.. [HS] Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.
.. [SJ] Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
   meta-analysis. J R Stat Soc C 54:367-384; Sidik K, Jonkman JN (2007). A comparison of
   heterogeneity variance estimators in combining results of studies. Stat Med 26:1964-1981.
.. [PM] Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur
   Stand 87:377-385.
.. [EB] Morris CN (1983). Parametric empirical Bayes inference: theory and applications.
   J Am Stat Assoc 78:47-55.
.. [V05] Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in
   the random-effects model. J Educ Behav Stat 30:261-293.
.. [V10] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
   J Stat Softw 36(3):1-48.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ldn_evidence.meta._kernels import (
    COMPACT_BELOW,
    Scratch,
    WeightedFit,
    p_sums,
    p_sums_v,
    q_upper_bracket,
    solve_q,
    study_dot,
    study_sum,
    weighted_fit,
)

__all__ = [
    "ESTIMATORS",
    "ITERATIVE",
    "Tau2Estimate",
    "estimate_tau2",
    "tau2_dl",
    "tau2_eb",
    "tau2_he",
    "tau2_hs",
    "tau2_ml",
    "tau2_pm",
    "tau2_reml",
    "tau2_sj",
]

#: Random-effects estimators of tau^2 (metafor's ``method`` codes).
ESTIMATORS: tuple[str, ...] = ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

#: Estimators computed by iteration (they can fail to converge).
ITERATIVE: frozenset[str] = frozenset({"ML", "REML", "EB", "PM"})

#: metafor's ``ll0check`` tolerance (``control$tol = .Machine$double.eps^0.25``): ML/REML
#: estimates are set to 0 when the (restricted) log-likelihood at tau^2 = 0 is larger by more.
LL0_TOL = np.finfo(float).eps ** 0.25

#: Step-length factor once Fisher scoring oscillates (metafor's help suggests
#: ``stepadj = 0.5`` when the algorithm does not converge).
STEPADJ_RETRY = 0.5

#: Iterations of plain Fisher scoring before linearly converging analyses are accelerated,
#: the smallest |ratio| of successive steps that is extrapolated, and the largest
#: extrapolation factor. Fisher scoring converges linearly (successive steps shrink by a
#: roughly constant ratio, often alternating in sign), so extrapolating from the third
#: iteration on saves about a quarter of the iterations on typical data; the solution is the
#: same fixed point (see :func:`_fisher_scoring`).
ACCEL_AFTER = 2
ACCEL_MIN_RATIO = 0.05
ACCEL_MAX_FACTOR = 100.0

#: Consecutive sign changes of the step (each at least half as long as the previous one)
#: after which an analysis switches to damped steps.
OSCILLATION_STREAK = 3


class Tau2Estimate(NamedTuple):
    """tau^2 per analysis with its standard error and iteration record.

    Attributes
    ----------
    tau2 : numpy.ndarray
        Estimate, truncated at 0.
    se : numpy.ndarray
        Standard error as metafor reports it.
    raw : numpy.ndarray
        Value before truncation at 0 (equal to ``tau2`` for iterative estimators except
        after the ``ll0check``).
    converged : numpy.ndarray of bool
    iterations : numpy.ndarray of int
    ll0 : numpy.ndarray of bool
        ``True`` where the ML/REML estimate was reset to 0 by the log-likelihood check.
    damped : numpy.ndarray of bool
        ``True`` where the full-step iteration oscillated and switched to half steps
        (``stepadj = 0.5``).
    fit : WeightedFit or None
        The weighted fit at ``tau2`` where the estimator computed it anyway (ML, REML,
        EB), so that the inference on the mean need not repeat it; ``None`` otherwise.
    """

    tau2: np.ndarray
    se: np.ndarray
    raw: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    ll0: np.ndarray
    damped: np.ndarray
    fit: WeightedFit | None = None


def _result(tau2_raw, se, converged=None, iterations=None, ll0=None, tau2=None) -> Tau2Estimate:
    n = tau2_raw.shape[0]
    return Tau2Estimate(
        damped=np.zeros(n, dtype=bool),
        tau2=np.maximum(tau2_raw, 0.0) if tau2 is None else tau2,
        se=se,
        raw=tau2_raw,
        converged=np.ones(n, dtype=bool) if converged is None else converged,
        iterations=np.zeros(n, dtype=np.int64) if iterations is None else iterations,
        ll0=np.zeros(n, dtype=bool) if ll0 is None else ll0,
    )


def tau2_dl(y: np.ndarray, v: np.ndarray, m: np.ndarray) -> Tau2Estimate:
    """DerSimonian-Laird method-of-moments estimator [DL]_.

    Parameters
    ----------
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask of ``n`` analyses with ``k >= 2``.

    Returns
    -------
    Tau2Estimate

    Notes
    -----
    With common-effect weights :math:`w_i = 1/v_i` and :math:`P = W - ww^\\top/\\sum w`,

    .. math:: \\hat\\tau^2 = \\max\\{0, (Q - (k-1)) / \\mathrm{tr}(P)\\}, \\qquad
              \\mathrm{tr}(P) = \\sum w_i - \\sum w_i^2 / \\sum w_i,

    and :math:`SE^2 = \\{2(k-1) + 4\\tau^2 \\mathrm{tr}(P) + 2\\tau^4 \\mathrm{tr}(PP)\\}
    / \\mathrm{tr}(P)^2` with the truncated :math:`\\tau^2` (metafor's expression).
    """
    k = study_sum(m)
    fit = weighted_fit(y, v, np.zeros(y.shape[1]))
    ps = p_sums(fit.w, fit.sw)
    raw = (fit.q - (k - 1.0)) / ps.tr_p
    t = np.maximum(raw, 0.0)
    se = np.sqrt(2.0 * (k - 1.0) + 4.0 * t * ps.tr_p + 2.0 * t**2 * ps.sum_pp) / ps.tr_p
    return _result(raw, se)


def tau2_he(y: np.ndarray, v: np.ndarray, m: np.ndarray) -> Tau2Estimate:
    """Hedges (unweighted method-of-moments) estimator [HE]_ [V05]_.

    Notes
    -----
    With :math:`P = I - J/k` (unweighted),

    .. math:: \\hat\\tau^2 = \\max\\Big\\{0, \\frac{\\sum (y_i-\\bar y)^2 - \\frac{k-1}{k}
              \\sum v_i}{k-1}\\Big\\},

    :math:`SE^2 = \\{2\\,\\mathrm{tr}(PVPV) + 4\\tau^2\\mathrm{tr}(PV) + 2\\tau^4(k-1)\\}
    / (k-1)^2`.
    """
    raw, k, tr_pv, vm, sv = _hedges(y, v, m)
    tr_pvpv = study_dot(vm, vm) * (1.0 - 2.0 / k) + (sv / k) ** 2
    t = np.maximum(raw, 0.0)
    se = np.sqrt(2.0 * tr_pvpv + 4.0 * t * tr_pv + 2.0 * t**2 * (k - 1.0)) / (k - 1.0)
    return _result(raw, se)


def _hedges(y: np.ndarray, v: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, ...]:
    """Untruncated Hedges estimate and the sums it is made of (see :func:`tau2_he`).

    Returns ``raw``, ``k``, :math:`\\mathrm{tr}(PV)`, the masked variances (0 in padding) and
    their row sums.
    """
    k = study_sum(m)
    vm = np.where(m > 0, v, 0.0)
    sv = study_sum(vm)
    tr_pv = sv * (k - 1.0) / k
    raw = (study_dot(y, y) - tr_pv) / (k - 1.0)  # y is centred at its unweighted mean
    return raw, k, tr_pv, vm, sv


def tau2_hs(y: np.ndarray, v: np.ndarray, m: np.ndarray) -> Tau2Estimate:
    """Hunter-Schmidt estimator [HS]_ as defined in metafor.

    Notes
    -----
    .. math:: \\hat\\tau^2 = \\max\\{0, (Q - k)/\\textstyle\\sum w_i\\}, \\quad w_i = 1/v_i,

    :math:`SE^2 = \\{2(k-1) + 4\\tau^2\\mathrm{tr}(P) + 2\\tau^4\\mathrm{tr}(PP)\\}
    / (\\sum w_i)^2`.
    """
    k = study_sum(m)
    fit = weighted_fit(y, v, np.zeros(y.shape[1]))
    ps = p_sums(fit.w, fit.sw)
    raw = (fit.q - k) / fit.sw
    t = np.maximum(raw, 0.0)
    se = np.sqrt(2.0 * (k - 1.0) + 4.0 * t * ps.tr_p + 2.0 * t**2 * ps.sum_pp) / fit.sw
    return _result(raw, se)


def tau2_sj(y: np.ndarray, v: np.ndarray, m: np.ndarray) -> Tau2Estimate:
    """Sidik-Jonkman two-step estimator [SJ]_.

    Notes
    -----
    Starting value :math:`\\tau_0^2 = \\sum (y_i - \\bar y)^2 / k` (unweighted, divisor k),
    then with weights :math:`w_i = 1/(v_i + \\tau_0^2)`:

    .. math:: \\hat\\tau^2 = \\tau_0^2 \\, Q(\\tau_0^2) / (k - 1),

    :math:`SE^2 = \\tau_0^4 \\{2\\,\\mathrm{tr}(PVPV) + 4\\tau^2 \\textstyle\\sum_{ij}
    P_{ij}^2 v_j + 2\\tau^4 \\mathrm{tr}(PP)\\} / (k-1)^2` (metafor's expression).
    """
    k = study_sum(m)
    t0 = study_dot(y, y) / k  # y is centred at its unweighted mean
    fit = weighted_fit(y, v, t0)
    ps = p_sums(fit.w, fit.sw)
    pv_p, pvpv = p_sums_v(fit.w, fit.sw, np.where(m > 0, v, 0.0))
    raw = t0 * fit.q / (k - 1.0)
    t = np.maximum(raw, 0.0)
    se = (t0 / (k - 1.0)) * np.sqrt(2.0 * pvpv + 4.0 * t * pv_p + 2.0 * t**2 * ps.sum_pp)
    return _result(raw, se)


def _fisher_scoring(
    kind: str,
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    start: np.ndarray,
    threshold: np.ndarray,
    maxiter: int,
    scratch: Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Iterate the ML / REML Fisher-scoring or EB fixed-point update on all analyses.

    The update is metafor's: a full step, halved until tau^2 stays >= 0, stopping when the
    change is <= ``threshold``; more than ``maxiter`` updates count as non-convergence.
    Analyses that have converged are frozen, so each follows its own path.

    Full Fisher-scoring steps can oscillate between two values for ever (metafor then stops
    with "did not converge" and suggests ``control = list(stepadj = 0.5)``). An analysis
    whose step changes sign with at least half the previous length
    :data:`OSCILLATION_STREAK` times in a row is switched to half steps from there on
    (reported as ``damped``). Where successive steps shrink by a ratio r with |r| < 1
    (linear convergence, monotone or alternating in sign; slowest on a flat likelihood),
    the step is extended to its geometric limit
    ``adj / (1 - r)`` (Aitken acceleration). Convergence is always judged on the plain
    Fisher-scoring step, so the solution is the same fixed point metafor converges to.

    Returns
    -------
    tau2, converged, iterations, damped : numpy.ndarray
    """
    n = y.shape[1]
    tau2 = start.astype(float).copy()
    converged = np.zeros(n, dtype=bool)
    iterations = np.zeros(n, dtype=np.int64)
    damped = np.zeros(n, dtype=bool)
    # working set: the analyses still iterating and their state; compacted once fewer than
    # COMPACT_BELOW of them are live (analyses are independent, so this changes no number)
    idx = np.arange(n)
    ya, va, thr = y, v, threshold
    ka = study_sum(m)
    ta = tau2.copy()  # current tau2 of the working rows
    prev = np.zeros(n)  # previous plain step
    streak = np.zeros(n, dtype=np.int64)  # consecutive oscillating steps
    dmp = np.zeros(n, dtype=bool)  # switched to half steps
    jumped = np.zeros(n, dtype=bool)  # extrapolated in the previous iteration
    live = np.ones(n, dtype=bool)
    n_live = n
    scratch = Scratch(y.size) if scratch is None else scratch
    for it in range(1, maxiter + 2):
        if n_live == 0:
            break
        if n_live < COMPACT_BELOW * idx.size:
            tau2[idx], damped[idx] = ta, dmp
            keep = np.flatnonzero(live)
            idx, ka, thr = idx[keep], ka[keep], thr[keep]
            ya, va = scratch.data((y.shape[0], idx.size))
            for full, part in ((y, ya), (v, va)):  # from the originals: no aliasing
                np.take(full, idx, axis=1, out=part, mode="clip")
            ta, prev, streak, dmp, jumped = (
                ta[keep],
                prev[keep],
                streak[keep],
                dmp[keep],
                jumped[keep],
            )
            live = np.ones(keep.size, dtype=bool)
        fit = weighted_fit(ya, va, ta, with_q=kind == "EB", scratch=scratch)
        if kind == "EB":
            adj = (fit.q * ka / (ka - 1.0) - ka) / fit.sw
        else:
            if kind == "ML":
                num_sub = fit.sw
                den = study_dot(fit.w, fit.w)
            else:  # REML
                ps = p_sums(fit.w, fit.sw)
                num_sub, den = ps.tr_p, ps.sum_pp
            # den (the information) underflows to 0 when one study's weight swamps the
            # rest by ~1e11: such a step is not finite and is dropped just below
            with np.errstate(divide="ignore", invalid="ignore"):
                adj = (fit.d - num_sub) / den
        adj = np.where(np.isfinite(adj) & live, adj, 0.0)
        p_a = prev
        osc = (adj * p_a < 0) & (np.abs(adj) >= 0.5 * np.abs(p_a))
        streak = np.where(osc, streak + 1, 0)
        prev = adj
        dmp = dmp | (streak >= OSCILLATION_STREAK)
        plain = _keep_nonnegative(ta, np.where(dmp, STEPADJ_RETRY * adj, adj))
        small = np.abs(plain) <= thr
        step = plain
        if it > ACCEL_AFTER:
            # linear convergence: successive steps shrink by a steady ratio r, of one sign
            # (monotone) or alternating, so jump by the geometric sum step / (1 - r)
            # (Aitken's delta^2); |r| >= 1 is divergence, left to the damping above
            ratio = np.divide(plain, p_a, out=np.zeros_like(plain), where=p_a != 0)
            size = np.abs(ratio)
            jumped = ~dmp & ~small & ~jumped & (size > ACCEL_MIN_RATIO) & (size < 1.0)
            if jumped.any():
                factor = 1.0 / np.maximum(1.0 - ratio, 1.0 / ACCEL_MAX_FACTOR)
                step = _keep_nonnegative(ta, np.where(jumped, plain * factor, plain))
        ta = np.where(live, ta + step, ta)
        if it > maxiter:  # metafor counts this as failure even if the last step was small
            iterations[idx[live]] = it
            break
        done = live & small
        finished = idx[done]
        converged[finished] = True
        iterations[finished] = it
        live &= ~done
        n_live -= finished.size
    tau2[idx], damped[idx] = ta, dmp
    return tau2, converged, iterations, damped


def _keep_nonnegative(tau2: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Halve each step as often as needed (metafor's rule) so that tau2 + step >= 0."""
    neg = np.flatnonzero(tau2 + adj < 0)
    if neg.size == 0:
        return adj
    t, a = tau2[neg], adj[neg]  # only these steps change; at t = 0 the step becomes 0
    inside = t > 0
    halvings = np.ceil(np.log2(np.divide(-a, t, out=np.ones_like(t), where=inside)))
    a = np.where(inside, a / np.exp2(halvings), 0.0)
    hair = t + a < 0  # rounding of log2 can leave a hair below zero
    while hair.any():
        a[hair] /= 2.0
        hair = t + a < 0
    out = adj.copy()
    out[neg] = a
    return out


def _loglik_gain_at_zero(kind, v, tau2, q_t, sw_t, q_0, sw_0) -> np.ndarray:
    """How much larger the (restricted) log-likelihood is at tau^2 = 0 than at ``tau2``.

    ``q_t``, ``sw_t`` and ``q_0``, ``sw_0`` are the generalised Q and the sum of weights at
    ``tau2`` and at 0; ``v`` is ``+inf`` in padding cells. With
    :math:`\\ell(\\tau^2) = -\\tfrac12 \\sum \\log(v_i+\\tau^2) - \\tfrac12 Q(\\tau^2)
    \\,[-\\tfrac12 \\log \\sum w_i` for REML], the difference is
    :math:`\\tfrac12 \\sum \\log(1 + \\tau^2/v_i) - \\tfrac12 (Q(0) - Q(\\tau^2))
    \\,[-\\tfrac12 \\log(\\sum w_i(0) / \\sum w_i(\\tau^2))]`.
    """
    gain = 0.5 * study_sum(np.log1p(tau2 / v)) - 0.5 * (q_0 - q_t)
    if kind == "REML":
        gain -= 0.5 * np.log(sw_0 / sw_t)
    return gain


def _iterative(kind, y, v, m, threshold, maxiter, at_zero=None, scratch=None) -> Tau2Estimate:
    start = np.maximum(_hedges(y, v, m)[0], 0.0)
    tau2, converged, iterations, damped = _fisher_scoring(
        kind, y, v, m, start, threshold, maxiter, scratch
    )
    ll0 = np.zeros(y.shape[1], dtype=bool)
    fit_t = weighted_fit(y, v, tau2, scratch=scratch)
    if kind in ("ML", "REML"):
        # metafor's ll0check, guarding against a local maximum away from 0; it can only
        # reset converged estimates above the threshold, so only those are checked
        check = np.flatnonzero(converged & (tau2 > threshold))
        if check.size:
            if at_zero is None:
                fit_0 = weighted_fit(y[:, check], v[:, check], np.zeros(check.size))
                q_0, sw_0 = fit_0.q, fit_0.sw
            else:
                q_0, sw_0 = at_zero[0][check], at_zero[1][check]
            gain = _loglik_gain_at_zero(
                kind, v[:, check], tau2[check], fit_t.q[check], fit_t.sw[check], q_0, sw_0
            )
            ll0[check] = gain > LL0_TOL
    final = np.maximum(np.where(ll0, 0.0, tau2), 0.0)
    # the fit at the final tau2 is usually the one just made
    fit = fit_t if np.array_equal(final, tau2) else weighted_fit(y, v, final, scratch=scratch)
    tau2 = final
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ML":
            se = np.sqrt(2.0 / study_dot(fit.w, fit.w))
        elif kind == "REML":
            se = np.sqrt(2.0 / p_sums(fit.w, fit.sw).sum_pp)
        else:
            se = _se_pm_eb(m, fit.sw)
    # an information that underflowed to 0 (extreme variance ratios) has no usable SE
    se = np.where(np.isfinite(se), se, np.nan)
    return Tau2Estimate(tau2, se, tau2, converged, iterations, ll0, damped, fit)


def _se_pm_eb(m: np.ndarray, sw: np.ndarray) -> np.ndarray:
    k = study_sum(m)
    return np.sqrt(2.0 * k**2 / (k - 1.0)) / sw


def tau2_ml(y, v, m, threshold, maxiter=100, at_zero=None, scratch=None) -> Tau2Estimate:
    """Maximum-likelihood estimator by Fisher scoring [V05]_ [V10]_.

    Parameters
    ----------
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask (``k >= 2``).
    threshold : numpy.ndarray of shape (n,)
        Convergence threshold on the change of tau^2 per analysis.
    maxiter : int
        Maximum number of updates.
    at_zero : tuple of two numpy.ndarray of shape (n,), optional
        Q and the sum of weights at tau^2 = 0 if the caller has them (the check of the
        log-likelihood at 0 needs them).
    scratch : Scratch, optional
        Work arrays (see :class:`~ldn_evidence.meta._kernels.Scratch`); the ``fit`` of the
        result lives in them.

    Notes
    -----
    Start at the truncated Hedges estimate; update
    :math:`\\tau^2 \\leftarrow \\tau^2 + \\{\\sum w_i^2 (y_i-\\hat\\mu)^2 - \\sum w_i\\}
    / \\sum w_i^2` with :math:`w_i = 1/(v_i+\\tau^2)`, halving the step while it would
    make tau^2 negative. :math:`SE = \\sqrt{2/\\sum w_i^2}`.
    """
    return _iterative("ML", y, v, m, threshold, maxiter, at_zero, scratch)


def tau2_reml(y, v, m, threshold, maxiter=100, at_zero=None, scratch=None) -> Tau2Estimate:
    """Restricted maximum-likelihood estimator by Fisher scoring [V05]_ [V10]_.

    Notes
    -----
    As :func:`tau2_ml` with the update
    :math:`\\{y^\\top P P y - \\mathrm{tr}(P)\\} / \\mathrm{tr}(PP)` and
    :math:`SE = \\sqrt{2/\\mathrm{tr}(PP)}`, :math:`P = W - ww^\\top/\\sum w`.
    """
    return _iterative("REML", y, v, m, threshold, maxiter, at_zero, scratch)


def tau2_eb(y, v, m, threshold, maxiter=100, scratch=None) -> Tau2Estimate:
    """Empirical Bayes estimator [EB]_ by metafor's fixed-point iteration.

    Notes
    -----
    Update :math:`\\tau^2 \\leftarrow \\tau^2 + \\{Q(\\tau^2)\\,k/(k-1) - k\\}/\\sum w_i`
    from the truncated Hedges estimate; the fixed point solves :math:`Q(\\tau^2) = k - 1`,
    so EB and PM coincide in the intercept-only model. metafor reports
    :math:`SE = \\sqrt{2k^2/(k-1)} / \\sum w_i`.
    """
    return _iterative("EB", y, v, m, threshold, maxiter, scratch=scratch)


def tau2_pm(y: np.ndarray, v: np.ndarray, m: np.ndarray, scale: np.ndarray) -> Tau2Estimate:
    """Paule-Mandel estimator [PM]_: the root of the generalised Q equation.

    Notes
    -----
    :math:`\\hat\\tau^2` solves :math:`Q(\\tau^2) = \\sum_i (y_i-\\hat\\mu)^2/(v_i+\\tau^2)
    = k-1`, and is 0 when :math:`Q(0) < k-1`. metafor brackets the root with ``uniroot``;
    here a safeguarded Newton iteration (:func:`~ldn_evidence.meta._kernels.solve_q`) solves
    it to near machine precision. :math:`SE = \\sqrt{2k^2/(k-1)} / \\sum w_i`.
    """
    n = y.shape[1]
    k = study_sum(m)
    target = k - 1.0
    q0 = weighted_fit(y, v, np.zeros(n)).q
    tau2 = np.zeros(n)
    converged = np.ones(n, dtype=bool)
    need = np.flatnonzero(q0 >= target)
    if need.size:
        ys, vs, ms = y[:, need], v[:, need], m[:, need]
        hi = q_upper_bracket(ys, vs, ms, target[need])
        root, conv = solve_q(ys, vs, target[need], hi, scale[need])
        tau2[need] = root
        converged[need] = conv
    sw = weighted_fit(y, v, tau2).sw
    zeros = np.zeros(n, dtype=np.int64)
    false = zeros.astype(bool)
    return Tau2Estimate(tau2, _se_pm_eb(m, sw), tau2, converged, zeros, false, false)


def estimate_tau2(
    method: str,
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    *,
    threshold: np.ndarray,
    maxiter: int,
    scale: np.ndarray,
    at_zero: tuple[np.ndarray, np.ndarray] | None = None,
    scratch: Scratch | None = None,
) -> Tau2Estimate:
    """Dispatch to the estimator named by ``method`` (one of :data:`ESTIMATORS`).

    Parameters
    ----------
    method : str
        metafor's code of the estimator.
    y, v, m : numpy.ndarray of shape (K, n)
        Centred estimates, sampling variances and mask (every analysis ``k >= 2``).
    threshold : numpy.ndarray of shape (n,)
        Convergence threshold of the Fisher-scoring / fixed-point iterations.
    maxiter : int
        Maximum number of iterations.
    scale : numpy.ndarray of shape (n,)
        Typical within-study variance (tolerance scale of the PM root finder).
    at_zero : tuple of two numpy.ndarray of shape (n,), optional
        Cochran's Q and the sum of common-effect weights, if the caller has them (ML and
        REML use them to check the log-likelihood at tau^2 = 0).
    scratch : Scratch, optional
        Work arrays for the iterative estimators (see
        :class:`~ldn_evidence.meta._kernels.Scratch`).

    Returns
    -------
    Tau2Estimate
    """
    if method == "DL":
        return tau2_dl(y, v, m)
    if method == "HE":
        return tau2_he(y, v, m)
    if method == "HS":
        return tau2_hs(y, v, m)
    if method == "SJ":
        return tau2_sj(y, v, m)
    if method == "ML":
        return tau2_ml(y, v, m, threshold, maxiter, at_zero, scratch)
    if method == "REML":
        return tau2_reml(y, v, m, threshold, maxiter, at_zero, scratch)
    if method == "EB":
        return tau2_eb(y, v, m, threshold, maxiter, scratch)
    if method == "PM":
        return tau2_pm(y, v, m, scale)
    raise ValueError(f"unknown tau2 estimator {method!r}")
