"""Array kernels shared by the estimators and the interval code (private).

Every function works on a batch of analyses padded into 2-D arrays of shape
``(k_max, n_analyses)``, one column per analysis:

``y``
    estimates, centred at the unweighted mean of their analysis (0 in padding cells), so
    that sums of squares about that mean are plain sums of squares;
``v``
    sampling variances (``+inf`` in padding cells, so that a weight ``1 / (v + tau2)`` is
    exactly 0 there and the iterations need no mask);
``m``
    mask, 1.0 for a real study and 0.0 for padding.

Studies run down the columns so that every operation with a per-analysis value (adding
tau^2, subtracting the mean) and every sum over studies works along long contiguous rows
of ``n_analyses`` values, which numpy vectorises well; with analyses as rows, the same
operations run over rows of only k_max values and cost 10-25% more.

For the intercept-only model the projection matrix of weighted least squares with weights
``w`` is :math:`P = W - w w^\\top / \\sum w` (Viechtbauer 2005, eq. 6), so every trace and
quadratic form the estimators need reduces to power sums of the weights; they are computed
here without forming ``P``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Root-finding relative tolerance for the Paule-Mandel equation and the Q-profile bounds:
#: far below any reported digit (and below metafor's own solver tolerance, ~1e-5), so that
#: our values carry no solver slack of their own.
ROOT_RTOL = 1e-10

#: A Newton step at most this fraction of the previous one counts as being in the regime of
#: quadratic convergence, where the next step can be predicted from the last two.
QUADRATIC_RATIO = 0.1

#: Iteration cap of the safeguarded Newton root finder (bisection alone would need ~100
#: halvings to reach ``ROOT_RTOL`` from the widest bracket we build).
ROOT_MAXITER = 200

#: An iteration's working copy of the data is compacted to the analyses still iterating once
#: fewer than this share of its columns are; until then finished columns ride along (a fit
#: of a few idle columns costs less than copying the live ones).
COMPACT_BELOW = 0.8


class Scratch:
    """Preallocated work arrays, reused by every fit of one pooling call.

    Large numpy temporaries are fresh memory mappings whose pages are faulted in on first
    touch, which costs about as much as a pass of arithmetic over them (10% of a
    :func:`~ldn_evidence.meta.pool_many` call when every fit allocated its own). The fits,
    root finders and iterations write their ``(K, cols)`` temporaries into these buffers
    instead; each method returns contiguous arrays of the requested shape, views of the
    same memory every time, so a caller must be done with the previous ones. Buffers grow
    when a larger shape is asked for.

    Parameters
    ----------
    size : int
        Cells each buffer holds initially (e.g. ``K * n`` of the largest block).
    """

    def __init__(self, size: int) -> None:
        self._fit = [np.empty(size) for _ in range(3)]
        self._data: list[np.ndarray] = []  # allocated on first use of :meth:`data`

    @staticmethod
    def _views(buffers: list[np.ndarray], shape: tuple[int, int]) -> list[np.ndarray]:
        cells = shape[0] * shape[1]
        if cells > buffers[0].size:
            buffers[:] = [np.empty(cells) for _ in buffers]
        return [b[:cells].reshape(shape) for b in buffers]

    def fit(self, shape: tuple[int, int]) -> list[np.ndarray]:
        """Buffers for ``w``, ``r`` and ``w * r`` of :func:`weighted_fit`."""
        return self._views(self._fit, shape)

    def data(self, shape: tuple[int, int]) -> list[np.ndarray]:
        """Two more buffers, for a gathered subset of a batch's ``y`` and ``v``."""
        if not self._data:
            self._data = [np.empty(self._fit[0].size) for _ in range(2)]
        return self._views(self._data, shape)


def study_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the studies (axis 0) of each analysis of a (K, n) array."""
    return np.add.reduce(a, axis=0)


def study_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-analysis inner products :math:`\\sum_j a_{ji} b_{ji}` of two (K, n) arrays."""
    return np.einsum("ji,ji->i", a, b)


class WeightedFit(NamedTuple):
    """Weighted mean and residual sums for weights ``w = 1 / (v + tau2)``."""

    w: np.ndarray  # (K, n) weights (0 in padding)
    sw: np.ndarray  # (n,) sum of weights
    mu: np.ndarray  # (n,) weighted mean of the (centred) estimates
    r: np.ndarray  # (K, n) residuals y - mu (not masked)
    q: np.ndarray | None  # (n,) generalised Q: sum w r^2 (None if not requested)
    d: np.ndarray  # (n,) y'PPy = sum w^2 r^2 (= -dQ/dtau2)


def weighted_fit(
    y: np.ndarray,
    v: np.ndarray,
    tau2: np.ndarray,
    *,
    with_q: bool = True,
    scratch: Scratch | None = None,
) -> WeightedFit:
    """Weighted least-squares fit of the intercept with weights ``1 / (v + tau2)``.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (K, n)
        Centred estimates and variances (``+inf`` in padding cells).
    tau2 : numpy.ndarray of shape (n,)
        Between-study variance per analysis.
    with_q : bool, default True
        Compute ``q``; the Fisher-scoring updates of ML and REML do not need it and skip
        one pass over the batch with ``with_q=False`` (``q`` is then ``None``).
    scratch : Scratch, optional
        Where to write ``w`` and ``r`` (and a temporary) instead of new arrays; the
        returned ``w`` and ``r`` are then overwritten by the next fit with the same scratch.

    Returns
    -------
    WeightedFit
        ``q`` is the generalised Q statistic
        :math:`Q(\\tau^2) = \\sum_i w_i (y_i - \\hat\\mu)^2` computed around the weighted mean
        (stable for very unequal weights), ``d`` its negative derivative in tau^2.
        ``r`` is not masked (``w`` is 0 in padding cells).
    """
    w, r, wr = (None, None, None) if scratch is None else scratch.fit(y.shape)
    w = np.add(v, tau2, out=w)
    np.divide(1.0, w, out=w)
    sw = study_sum(w)
    mu = study_dot(w, y) / sw
    r = np.subtract(y, mu, out=r)
    wr = np.multiply(w, r, out=wr)
    q = study_dot(wr, r) if with_q else None
    d = study_dot(wr, wr)
    return WeightedFit(w, sw, mu, r, q, d)


class PSums(NamedTuple):
    """Traces of products of the projection matrix ``P`` for given weights."""

    tr_p: np.ndarray  # tr(P)
    sum_pp: np.ndarray  # sum_ij P_ij^2 = tr(PP)


def p_trace(w: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Return tr(P) = :math:`S_1 - S_2/S_1` alone (see :func:`p_sums`)."""
    return sw - study_dot(w, w) / sw


def p_sums(w: np.ndarray, sw: np.ndarray) -> PSums:
    """Return tr(P) and tr(PP) of :math:`P = W - w w^\\top/\\sum w`.

    Notes
    -----
    With :math:`S_r = \\sum_i w_i^r`:
    :math:`\\mathrm{tr}(P) = S_1 - S_2/S_1` and
    :math:`\\sum_{ij} P_{ij}^2 = S_2 - 2 S_3/S_1 + S_2^2/S_1^2`.
    """
    s2 = study_dot(w, w)
    s3 = np.einsum("ji,ji,ji->i", w, w, w)  # one pass, no temporary w^2
    tr_p = sw - s2 / sw
    sum_pp = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
    return PSums(tr_p, sum_pp)


def p_sums_v(w: np.ndarray, sw: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return :math:`\\sum_{ij} P_{ij}^2 a_j` and :math:`\\sum_{ij} P_{ij}^2 a_i a_j`.

    These are ``sum(PV * P)`` and ``tr(PVPV)`` for ``V = diag(a)``, needed by the
    standard errors of the method-of-moments estimators (``a`` must be 0 in padding).
    """
    w2 = w * w
    s2 = study_sum(w2)
    w2a = study_sum(w2 * a)
    w3a = study_sum(w2 * w * a)
    w2aa = study_sum(w2 * a * a)
    w3aa = study_sum(w2 * w * a * a)
    pv_p = w2a - 2.0 * w3a / sw + s2 * w2a / sw**2
    pvpv = w2aa - 2.0 * w3aa / sw + (w2a / sw) ** 2
    return pv_p, pvpv


def solve_q(
    y: np.ndarray,
    v: np.ndarray,
    target: np.ndarray,
    hi: np.ndarray,
    scale: np.ndarray,
    at_zero: tuple[np.ndarray, np.ndarray] | None = None,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    rows: np.ndarray | None = None,
    scratch: Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve :math:`Q(\\tau^2) = c` for tau^2 on ``[0, hi]``, one root per target.

    :math:`Q(\\tau^2)` is strictly decreasing and convex in tau^2 (its derivative is
    :math:`-y^\\top P P y` and its second derivative :math:`2 y^\\top PPP y \\ge 0`), so the
    root is unique. Newton's method is applied to :math:`1/Q(\\tau^2) - 1/c`, which is exactly
    linear for a single study, inside a bracket that is shrunk every step; a step that would
    leave the bracket is replaced by bisection. All analyses iterate together.

    A root is accepted when the step is below the tolerance, or when the Newton iteration is
    in its quadratic regime (the step shrank to at most :data:`QUADRATIC_RATIO` of the
    previous one) and the error it leaves, estimated as
    :math:`|s_k|^3 / |s_{k-1}|^2` from the last two steps, is below the tolerance: this
    spares the evaluation that would only confirm convergence.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (K, N)
        Centred estimates and variances (``+inf`` in padding cells).
    target : numpy.ndarray of shape (n,)
        Value ``c`` of Q to reach; the caller guarantees :math:`Q(0) \\ge c`. The other
        arrays of shape ``(n,)`` also have one entry per target.
    hi : numpy.ndarray of shape (n,)
        Upper end of the bracket, with :math:`Q(hi) \\le c`.
    scale : numpy.ndarray of shape (n,)
        Typical within-study variance, sets the absolute tolerance.
    at_zero : tuple of two numpy.ndarray of shape (n,), optional
        :math:`Q(0)` and :math:`-Q'(0)` (the ``q`` and ``d`` of :func:`weighted_fit` at
        tau^2 = 0) when the caller has them: the iteration starts at 0, so its first
        evaluation is then skipped.
    known : tuple of three numpy.ndarray of shape (n,), optional
        A second point ``(t, Q(t), -Q'(t))`` already evaluated (with ``at_zero``), e.g. at
        the estimate of tau^2. It narrows the bracket, and the iteration starts from
        whichever of 0 and ``t`` has :math:`1/Q` closer to :math:`1/c`.
    rows : numpy.ndarray of int, shape (n,), optional
        Column of ``y``, ``v``, ``m`` holding the analysis of each target (several targets
        can share an analysis, e.g. the two bounds of an interval); by default target ``i``
        is column ``i`` (then ``N = n``).
    scratch : Scratch, optional
        Work arrays to use (see :class:`Scratch`); by default they are allocated here.

    Returns
    -------
    root : numpy.ndarray of shape (n,)
    converged : numpy.ndarray of bool, shape (n,)
    """
    n = target.shape[0]
    if rows is None:
        rows = np.arange(n)
    lo = np.zeros(n)
    hi = hi.astype(float).copy()
    t = np.zeros(n)
    converged = np.zeros(n, dtype=bool)
    prev = np.full(n, np.nan)  # length of the previous Newton step (nan: none yet)
    active = np.arange(n)
    scratch = Scratch(y.shape[0] * n) if scratch is None else scratch
    start = None
    if at_zero is not None:
        start = at_zero  # every root starts at tau2 = 0
        if known is not None:
            t1, q1, d1 = known
            lo = np.where(q1 > target, t1, lo)  # the root lies above t1
            hi = np.where(q1 <= target, np.minimum(hi, t1), hi)  # ... or not
            closer = np.abs(1.0 / q1 - 1.0 / target) < np.abs(1.0 / at_zero[0] - 1.0 / target)
            t = np.where(closer, t1, t)
            start = (np.where(closer, q1, at_zero[0]), np.where(closer, d1, at_zero[1]))
    # the working copy of the data: parts (targets work[cut], y, v) of the targets in work;
    # while every target is iterating, the first N targets may be the N analyses in order
    # (the upper bounds of an interval), whose data are used in place instead of copied
    n_cols = y.shape[1]
    in_place = n >= n_cols and np.array_equal(rows[:n_cols], np.arange(n_cols))
    work = None
    for it in range(ROOT_MAXITER):
        if active.size == 0:
            break
        ta = t[active]
        if it == 0 and start is not None:
            q, d = start
        else:
            if work is None or active.size < COMPACT_BELOW * work.size:
                first = in_place and work is None and active.size == n
                work, at = active, slice(None)
                cut = n_cols if first else 0  # targets [cut:] are copied
                ya, va = scratch.data((y.shape[0], work.size - cut))
                for full, part in ((y, ya), (v, va)):
                    # mode="clip" (the indices are valid) spares the buffered copy of "raise"
                    np.take(full, rows[work[cut:]], axis=1, out=part, mode="clip")
                parts = [(slice(cut, None), ya, va)]
                if cut:
                    parts.insert(0, (slice(0, cut), y, v))
            else:
                at = np.searchsorted(work, active)  # active is a sorted subset of work
            q, d = np.empty(work.size), np.empty(work.size)
            tw = t[work]
            for part, yp, vp in parts:
                if yp.shape[1]:
                    fit = weighted_fit(yp, vp, tw[part], scratch=scratch)
                    q[part], d[part] = fit.q, fit.d
            q, d = q[at], d[at]
        c = target[active]
        f = q - c
        lo_a = np.where(f > 0, ta, lo[active])
        hi_a = np.where(f <= 0, ta, hi[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = q * f / (c * d)
        cand = ta + step
        bad = ~np.isfinite(cand) | (cand <= lo_a) | (cand >= hi_a)
        cand = np.where(bad, 0.5 * (lo_a + hi_a), cand)
        tol = ROOT_RTOL * (scale[active] + np.abs(ta))
        size = np.abs(cand - ta)
        prev_a = prev[active]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # quadratic convergence: the error left after this step is about
            # size^2 * (size / prev^2), the contraction seen over the last two steps
            settled = ~bad & (size <= QUADRATIC_RATIO * prev_a) & (size**3 <= tol * prev_a**2)
        done = (size <= tol) | settled | (f == 0) | (hi_a - lo_a <= tol)
        cand = np.where(f == 0, ta, cand)
        prev[active] = np.where(bad, np.nan, size)
        t[active] = cand
        lo[active] = lo_a
        hi[active] = hi_a
        converged[active[done]] = True
        active = active[~done]
    return t, converged


def q_upper_bracket(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    target: np.ndarray,
    rows: np.ndarray | None = None,
    vmin: np.ndarray | None = None,
) -> np.ndarray:
    """A tau^2 value at which :math:`Q(\\tau^2) \\le c` is guaranteed, per target ``c``.

    ``rows`` gives the analysis (column of ``y``, ``v``, ``m``) of each target, by default
    target ``i`` is column ``i``; ``vmin``, the smallest variance of each analysis, is
    computed if not given.

    Notes
    -----
    Because the weighted mean minimises the weighted sum of squares,
    :math:`Q(\\tau^2) \\le \\sum_i (y_i - \\bar y)^2 / (v_i + \\tau^2)
    \\le S / (v_{min} + \\tau^2)` with :math:`S = \\sum_i (y_i - \\bar y)^2`, so
    :math:`\\tau^2 = S/c - v_{min}` (or 0) is an upper end of the bracket (``y`` is centred,
    so :math:`S = \\sum_i y_i^2`).
    """
    s = study_dot(y, y)
    if vmin is None:
        vmin = np.minimum.reduce(v, axis=0, where=m > 0, initial=np.inf)
    if rows is not None:
        s, vmin = s[rows], vmin[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = s / target - vmin
    return np.where(np.isfinite(hi) & (hi > 0), hi * (1.0 + 1e-9), 0.0) + 1e-300


#: Largest whole-number argument :func:`by_unique` looks up in a table.
_TABLE_MAX = 100_000


def by_unique(func, df: np.ndarray, *args: float) -> np.ndarray:
    """Evaluate ``func(df, *args)`` once per distinct ``df`` and broadcast back.

    Quantile functions (``scipy.special.stdtrit``, ``chdtri``) are slow per call and the
    degrees of freedom of a batch take few distinct values (k - 1). Small whole numbers, the
    usual case, index a table of the function's values instead of being sorted.
    """
    if df.size and df.min() >= 0 and df.max() <= _TABLE_MAX:
        whole = df.astype(np.intp)
        if np.array_equal(whole, df):
            present = np.flatnonzero(np.bincount(whole))
            table = np.empty(present[-1] + 1)
            table[present] = func(present.astype(float), *args)
            return table[whole]
    uniq, inverse = np.unique(df, return_inverse=True)
    return np.asarray(func(uniq, *args), dtype=float)[inverse]
