"""Random-effects pooling of one analysis: :func:`pool`.

References
----------
.. [V10] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
   J Stat Softw 36(3):1-48.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ldn_evidence.meta.engine import Labels, check_options, fit_padded
from ldn_evidence.meta.results import POOL_FIELDS, PoolResult

__all__ = ["pool", "validate_inputs"]

#: Default convergence threshold of ML/REML/EB (metafor's ``control$threshold``). metafor
#: applies it to the absolute change of tau^2; we apply it to the change relative to s^2 (the
#: typical within-study variance), so results do not depend on the unit of yi (metafor's
#: absolute rule stops after one step on data with variances ~1e-15, e.g. physical constants).
THRESHOLD = 1e-5

#: Default iteration cap of ML/REML/EB (metafor's ``control$maxiter``).
MAXITER = 100


def validate_inputs(yi: object, vi: object) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``yi`` and ``vi`` to 1-D float arrays and check them.

    Parameters
    ----------
    yi, vi : array_like
        Effect estimates and their sampling variances.

    Returns
    -------
    yi, vi : numpy.ndarray of float

    Raises
    ------
    ValueError
        If the lengths differ, there is no study, an estimate is not finite, or a variance is
        not finite and > 0. The message names the first offending position (0-based).

    Examples
    --------
    >>> validate_inputs([0.1, 0.2], [0.01, 0.0])
    Traceback (most recent call last):
    ...
    ValueError: vi[1] must be finite and > 0; got 0.0
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or v.ndim != 1:
        raise ValueError(f"yi and vi must be 1-D; got shapes {y.shape} and {v.shape}")
    if y.shape != v.shape:
        raise ValueError(f"yi and vi must have the same length; got {y.size} and {v.size}")
    if y.size == 0:
        raise ValueError("need at least one study; got 0")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"yi[{bad[0]}] must be finite; got {float(y[bad[0]])!r}")
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise ValueError(f"vi[{bad[0]}] must be finite and > 0; got {float(v[bad[0]])!r}")
    return y, v


def pool(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    pi_method: str = "default",
    threshold: float = THRESHOLD,
    maxiter: int = MAXITER,
) -> PoolResult:
    """Pool effect estimates with a random-effects (or common-effect) model.

    The numbers are those of metafor's ``rma.uni(yi, vi, method=, test=)``, its
    ``confint()`` (Q-profile intervals for tau^2, I^2, H^2) and ``predict()`` [V10]_.

    Parameters
    ----------
    yi : array_like of shape (k,)
        Effect estimates (e.g. log odds ratios, SMDs).
    vi : array_like of shape (k,)
        Their sampling variances, finite and > 0.
    method : str, default "REML"
        tau^2 estimator: ``"REML"``, ``"ML"``, ``"DL"``, ``"HE"``, ``"HS"``, ``"SJ"``,
        ``"EB"``, ``"PM"``; or ``"EE"`` (aliases ``"FE"``, ``"CE"``) for the common-effect
        model. See :mod:`ldn_evidence.meta.estimators`.
    test : {"knha", "z", "adhoc"}, default "knha"
        Hartung-Knapp-Sidik-Jonkman t-test and CI (alias ``"hksj"``); Wald z; or HKSJ with
        the ad hoc correction that floors the scale factor at 1.
    level : float, default 0.95
        Confidence level of all intervals.
    pi_method : {"default", "higgins"}, default "default"
        Prediction interval as metafor's ``predict()`` (normal under z, t(k-1) under
        HKSJ) or with t(k-2) as Higgins et al. (2009).
    threshold : float, default 1e-5
        Convergence threshold of ML/REML/EB on the change of tau^2 relative to ``s2``, the
        typical within-study variance (metafor: absolute change), so that results do not
        depend on the unit of ``yi``.
    maxiter : int, default 100
        Maximum iterations of ML/REML/EB; on non-convergence tau^2 falls back to DL,
        ``converged`` is ``False`` and a note says so.

    Returns
    -------
    PoolResult
        Frozen dataclass; see :class:`~ldn_evidence.meta.results.PoolResult`.

    Raises
    ------
    ValueError
        For invalid options, or data that are not finite or variances that are not > 0
        (the message names the position).

    Notes
    -----
    With :math:`w_i = 1/(v_i + \\hat\\tau^2)` the pooled mean is
    :math:`\\hat\\mu = \\sum w_i y_i / \\sum w_i`. k = 1 returns the study's own estimate with
    a z interval and no heterogeneity statistics or prediction interval.

    Examples
    --------
    >>> res = pool([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05], method="DL", test="z")
    >>> round(res.estimate, 4), round(res.tau2, 4), res.k
    (0.3059, 0.0078, 4)
    """
    method, test = check_options(method, test, level, pi_method, threshold, maxiter)
    y, v = validate_inputs(yi, vi)
    cols = fit_padded(
        y[:, None],
        v[:, None],
        np.ones((y.size, 1), dtype=bool),
        method=method,
        test=test,
        level=float(level),
        pi_method=pi_method,
        threshold=float(threshold),
        maxiter=int(maxiter),
    )
    values = {}
    for name in POOL_FIELDS:
        col = cols[name]
        x = col.names[col.codes[0]] if isinstance(col, Labels) else col[0]
        if isinstance(x, np.floating):
            x = float(x)
        elif isinstance(x, np.integer):
            x = int(x)
        elif isinstance(x, np.bool_):
            x = bool(x)
        values[name] = x
    return PoolResult(**values)
