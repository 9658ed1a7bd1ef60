"""The pooling engine: one padded batch of analyses in, one column per result field out.

:func:`ldn_evidence.meta.pool` runs it on a batch of one analysis and
:func:`ldn_evidence.meta.pool_many` on many, so both give the same numbers by construction.
This module validates options, not data (the callers check the data and name the position
of a bad value).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ldn_evidence.meta.estimators import ESTIMATORS, ITERATIVE, estimate_tau2, tau2_dl
from ldn_evidence.meta.heterogeneity import i2_h2, i2_h2_from_q, q_profile_ci, q_statistic
from ldn_evidence.meta.intervals import TESTS, mean_inference, prediction_interval
from ldn_evidence.meta.results import POOL_FIELDS

__all__ = ["METHODS", "PI_METHODS", "check_options", "fit_padded"]

#: Accepted ``method`` spellings and their canonical code (metafor's vocabulary; FE and CE
#: are metafor's older and alternative names of the equal/common-effect model).
METHODS: dict[str, str] = {"EE": "EE", "FE": "EE", "CE": "EE"} | {m: m for m in ESTIMATORS}

#: Accepted ``test`` spellings; "hksj" is an alias of metafor's "knha".
_TESTS: dict[str, str] = {t: t for t in TESTS} | {"hksj": "knha"}

#: Prediction-interval methods (see :func:`ldn_evidence.meta.intervals.prediction_interval`).
PI_METHODS: tuple[str, ...] = ("default", "higgins")

#: Ratio of largest to smallest sampling variance above which metafor warns that results may
#: be unstable (``1 / control$evtol``).
VI_RATIO_WARN = 1e7

_CI_METHOD = {"z": "wald-z", "knha": "hksj-t(k-1)", "adhoc": "hksj-adhoc-t(k-1)"}


def check_options(
    method: str, test: str, level: float, pi_method: str, threshold: float, maxiter: int
) -> tuple[str, str]:
    """Validate the options and return the canonical ``(method, test)``.

    Raises
    ------
    ValueError
        With a message naming the option, the allowed values and the value given.
    """
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(METHODS)}; got {method!r}",
        )
    if not isinstance(test, str) or test.lower() not in _TESTS:
        raise ValueError(f"test must be one of {', '.join(_TESTS)}; got {test!r}")
    if not (isinstance(level, float | int) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}")
    if pi_method not in PI_METHODS:
        raise ValueError(f"pi_method must be one of {', '.join(PI_METHODS)}; got {pi_method!r}")
    if not (threshold > 0 and np.isfinite(threshold)):
        raise ValueError(f"threshold must be a positive number; got {threshold!r}")
    if not (isinstance(maxiter, int | np.integer) and maxiter >= 1):
        raise ValueError(f"maxiter must be a positive integer; got {maxiter!r}")
    return METHODS[method.upper()], _TESTS[test.lower()]


def _notes_column(flags: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Turn boolean flag arrays into one tuple of note strings per analysis."""
    code = np.zeros(n, dtype=np.int64)
    for bit, (_, flag) in enumerate(flags):
        code |= flag.astype(np.int64) << bit
    uniq, inverse = np.unique(code, return_inverse=True)
    table = np.empty(uniq.size, dtype=object)  # one shared tuple per distinct combination
    for j, c in enumerate(uniq.tolist()):
        table[j] = tuple(text for bit, (text, _) in enumerate(flags) if (c >> bit) & 1)
    return table[inverse]


#: Analyses per block: the batch is sorted by k and cut into blocks, each padded only to its
#: own largest k (less padding) and small enough to stay in cache.
BLOCK_ROWS = 4096


def fit_padded(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    *,
    method: str,
    test: str,
    level: float,
    pi_method: str,
    threshold: float,
    maxiter: int,
) -> dict[str, np.ndarray]:
    """Pool every row of a padded batch.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (n, K)
        Estimates and sampling variances (any finite values in padding cells).
    m : numpy.ndarray of bool, shape (n, K)
        ``True`` for real studies, which come first in each row (left-aligned); every row
        has at least one.
    method, test : str
        Canonical codes (see :func:`check_options`).
    level : float
        Confidence level.
    pi_method : {"default", "higgins"}
        Prediction-interval method.
    threshold : float
        Convergence threshold of the iterative estimators on the change of tau^2, relative
        to :math:`s^2`, the typical within-study variance.
    maxiter : int
        Maximum iterations of the iterative estimators.

    Returns
    -------
    dict of str to numpy.ndarray
        One array of length ``n`` per name in :data:`~ldn_evidence.meta.results.POOL_FIELDS`.

    Notes
    -----
    Rows are processed in blocks of similar k (:data:`BLOCK_ROWS`); every row follows its
    own iteration path, so the blocking does not change the numbers beyond rounding. When
    the rows already come sorted by k (as :func:`~ldn_evidence.meta.pool_many` pads them),
    the blocks are slices of the batch and no rows are copied or scattered.
    """
    opts = dict(
        method=method,
        test=test,
        level=level,
        pi_method=pi_method,
        threshold=threshold,
        maxiter=maxiter,
    )
    n = y.shape[0]
    if n <= BLOCK_ROWS:
        return _fit_block(y, v, m, **opts)
    k = np.count_nonzero(m, axis=1)
    in_order = bool(np.all(k[1:] >= k[:-1]))
    order = None if in_order else np.argsort(k, kind="stable")
    out: dict[str, np.ndarray] = {}
    for start in range(0, n, BLOCK_ROWS):
        if order is None:
            idx = slice(start, start + BLOCK_ROWS)
            width = int(k[min(start + BLOCK_ROWS, n) - 1])
        else:
            idx = order[start : start + BLOCK_ROWS]
            width = int(k[idx].max())
        block = _fit_block(y[idx, :width], v[idx, :width], m[idx, :width], **opts)
        for name, col in block.items():
            if name not in out:
                out[name] = np.empty(n, dtype=col.dtype)
            out[name][idx] = col
    return out


def _fit_block(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    *,
    method: str,
    test: str,
    level: float,
    pi_method: str,
    threshold: float,
    maxiter: int,
) -> dict[str, np.ndarray]:
    """Pool one block of rows (see :func:`fit_padded`)."""
    n = y.shape[0]
    mf = m.astype(float)
    k = mf.sum(axis=1)
    v = np.where(m, v, 1.0)
    centre = (np.where(m, y, 0.0)).sum(axis=1) / k
    yc = np.where(m, y - centre[:, None], 0.0)
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {
        name: nan.copy()
        for name in POOL_FIELDS
        if name not in ("k", "method", "test", "converged", "notes")
    }
    out["k"] = k.astype(np.int64)
    out["method"] = np.full(n, method, dtype=object)
    out["level"] = np.full(n, float(level))
    out["converged"] = np.ones(n, dtype=bool)
    out["iterations"] = np.zeros(n, dtype=np.int64)
    re = method != "EE"
    false = np.zeros(n, dtype=bool)
    f = {
        name: false.copy()
        for name in (
            "k1",
            "k2",
            "boundary",
            "truncated",
            "fallback",
            "ll0",
            "damped",
            "equal_v",
            "unequal_v",
            "s2w_zero",
            "floored",
            "ci_null",
            "low_zero",
            "qp_fail",
            "pi_k3",
        )
    }

    one = np.flatnonzero(k == 1)
    many = np.flatnonzero(k >= 2)
    test_used = np.full(n, test, dtype=object)
    tau2_est = np.full(n, method if re else "EE", dtype=object)

    # --- k = 1: the study's own estimate, Wald z ------------------------------------------
    if one.size:
        f["k1"][one] = True
        vi1 = (v[one] * mf[one]).sum(axis=1)
        se1 = np.sqrt(vi1)
        crit = special.ndtri(0.5 + level / 2.0)
        out["estimate"][one] = centre[one]
        out["se"][one] = se1
        with np.errstate(divide="ignore", invalid="ignore"):
            out["stat"][one] = centre[one] / se1
        out["pval"][one] = 2.0 * special.ndtr(-np.abs(out["stat"][one]))
        out["ci_low"][one] = centre[one] - crit * se1
        out["ci_high"][one] = centre[one] + crit * se1
        out["q"][one] = 0.0
        out["q_df"][one] = 0.0
        test_used[one] = "z"
        tau2_est[one] = "none"

    # --- k >= 2 -----------------------------------------------------------------------------
    if many.size:
        ys, vs, ms, ks = yc[many], v[many], mf[many], k[many]
        qs = q_statistic(ys, vs, ms)
        s2 = qs.s2
        vmin = np.where(ms > 0, vs, np.inf).min(axis=1)
        vmax = np.where(ms > 0, vs, -np.inf).max(axis=1)
        f["k2"][many] = ks == 2
        f["equal_v"][many] = vmin == vmax
        f["unequal_v"][many] = vmax / vmin >= VI_RATIO_WARN
        if re:
            thr = threshold * s2
            est = estimate_tau2(method, ys, vs, ms, threshold=thr, maxiter=maxiter, scale=s2)
            tau2, tau2_se = est.tau2, est.se
            bad = ~est.converged
            if bad.any() and method in ITERATIVE:
                fb = tau2_dl(ys[bad], vs[bad], ms[bad])
                tau2 = tau2.copy()
                tau2_se = tau2_se.copy()
                tau2[bad] = fb.tau2
                tau2_se[bad] = fb.se
                tau2_est[many[bad]] = "DL"
            out["converged"][many] = est.converged
            out["iterations"][many] = est.iterations
            f["fallback"][many] = bad
            f["ll0"][many] = est.ll0
            f["damped"][many] = est.damped & est.converged
            f["truncated"][many] = (est.raw < 0) & ~bad
            f["boundary"][many] = tau2 == 0
        else:
            tau2 = np.zeros(many.size)
            tau2_se = np.full(many.size, np.nan)
        # the estimator's fit at tau2 serves unless some tau2 came from the DL fallback
        fit = est.fit if re and not f["fallback"][many].any() else None
        mi = mean_inference(ys, vs, ms, tau2, test, level, offset=centre[many], fit=fit)
        est_mu = mi.estimate
        out["estimate"][many] = est_mu
        out["se"][many] = mi.se
        out["stat"][many] = mi.stat
        out["df"][many] = mi.df
        out["pval"][many] = mi.pval
        out["ci_low"][many] = est_mu - mi.crit * mi.se
        out["ci_high"][many] = est_mu + mi.crit * mi.se
        f["s2w_zero"][many] = (mi.scale_factor == 0) if test != "z" else False
        f["floored"][many] = mi.floored
        out["tau2"][many] = tau2
        out["tau2_se"][many] = tau2_se
        out["q"][many] = qs.q
        out["q_df"][many] = qs.df
        out["q_pval"][many] = qs.pval
        out["s2"][many] = s2
        if re:
            i2, h2 = i2_h2(tau2, s2)
            known = (tau2, mi.q_gen, mi.dq_gen)
            ci = q_profile_ci(ys, vs, ms, qs.q, level, s2, qs.dq, known)
            out["tau2_ci_low"][many] = ci.low
            out["tau2_ci_high"][many] = ci.high
            out["i2_ci_low"][many], out["h2_ci_low"][many] = i2_h2(ci.low, s2)
            out["i2_ci_high"][many], out["h2_ci_high"][many] = i2_h2(ci.high, s2)
            f["ci_null"][many] = ci.null_set
            f["low_zero"][many] = ci.low_at_zero & ~ci.null_set
            f["qp_fail"][many] = ~ci.converged
            lo, hi = prediction_interval(est_mu, mi.se, tau2, ks, test, level, pi_method)
            out["pi_low"][many] = lo
            out["pi_high"][many] = hi
            f["pi_k3"][many] = (pi_method == "higgins") & (ks < 3)
        else:
            i2, h2 = i2_h2_from_q(qs.q, qs.df)
        out["i2"][many] = i2
        out["h2"][many] = h2

    out["test"] = test_used
    out["tau2_estimator"] = tau2_est
    out["ci_method"] = np.full(n, _CI_METHOD[test], dtype=object)
    out["ci_method"][one] = _CI_METHOD["z"]
    if re:
        if pi_method == "higgins":
            pi_name = "t(k-2)"
        else:
            pi_name = "normal" if test == "z" else "t(k-1)"
        has = (k >= 2) & ~f["pi_k3"]
        out["pi_method"] = np.where(has, pi_name, "none").astype(object)
        out["tau2_ci_method"] = np.where(k >= 2, "q-profile", "none").astype(object)
    else:
        out["pi_method"] = np.full(n, "none", dtype=object)
        out["tau2_ci_method"] = np.full(n, "none", dtype=object)

    ee_knha = np.full(n, (not re) and test != "z") & (k >= 2)
    ee_pi = np.full(n, not re) & (k >= 2)
    flags = [
        ("k = 1: single study, not pooled; no heterogeneity or prediction interval", f["k1"]),
        ("k = 1: z-test used (Hartung-Knapp needs k >= 2)", f["k1"] & (test != "z")),
        ("k = 2: tau2, its CI and the prediction interval are very imprecise", f["k2"]),
        (f"{method} did not converge in {maxiter} iterations; tau2 from DL", f["fallback"]),
        (
            f"{method} Fisher scoring oscillated; continued with half steps (stepadj = 0.5)",
            f["damped"],
        ),
        (
            "log-likelihood larger at tau2 = 0 than at the Fisher-scoring solution; tau2 = 0",
            f["ll0"],
        ),
        ("negative moment estimate of tau2 truncated at 0", f["truncated"]),
        ("tau2 = 0 (boundary of the parameter space)", f["boundary"]),
        ("all sampling variances are equal", f["equal_v"]),
        ("sampling variances differ by a factor >= 1e7; weights very unequal", f["unequal_v"]),
        ("Hartung-Knapp scale factor is 0 (no residual heterogeneity): SE = 0", f["s2w_zero"]),
        ("ad hoc correction applied: Hartung-Knapp scale factor floored at 1", f["floored"]),
        ("Hartung-Knapp test used with a common-effect model", ee_knha),
        (
            "Q-profile CI for tau2 is the null set (Q below its lower quantile); set to [0, 0]",
            f["ci_null"],
        ),
        ("Q-profile CI for tau2: lower bound truncated at 0", f["low_zero"]),
        ("Q-profile root finding did not converge", f["qp_fail"]),
        ("prediction interval with t(k-2) needs k >= 3", f["pi_k3"]),
        ("common-effect model: no prediction interval", ee_pi),
    ]
    out["notes"] = _notes_column(flags, n)
    return out
