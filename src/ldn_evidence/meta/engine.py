"""The pooling engine: one padded batch of analyses in, one column per result field out.

:func:`ldn_evidence.meta.pool` runs it on a batch of one analysis and
:func:`ldn_evidence.meta.pool_many` on many, so both give the same numbers by construction.
This module validates options, not data (the callers check the data and name the position
of a bad value).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from scipy import special

from ldn_evidence.meta._kernels import Scratch, study_sum
from ldn_evidence.meta.estimators import ESTIMATORS, ITERATIVE, estimate_tau2, tau2_dl
from ldn_evidence.meta.heterogeneity import i2_h2, i2_h2_from_q, q_profile_ci, q_statistic
from ldn_evidence.meta.intervals import TESTS, mean_inference, prediction_interval
from ldn_evidence.meta.results import POOL_FIELDS

__all__ = ["METHODS", "PI_METHODS", "Labels", "check_options", "fit_padded", "label_names"]

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


class Labels(NamedTuple):
    """A column of labels stored as small codes into a tuple of names.

    Label columns take a handful of distinct values (the method, the test, the note
    combinations), so the engine computes codes and each caller turns them into the
    values it needs once: :func:`~ldn_evidence.meta.pool` one name, and
    :func:`~ldn_evidence.meta.pool_many` a pandas column built from the distinct names.
    """

    codes: np.ndarray  # (n,) integer index into ``names``
    names: tuple  # the label of each code

    def values(self) -> np.ndarray:
        """The labels as an object array (one shared object per distinct label)."""
        table = np.empty(len(self.names), dtype=object)
        for i, name in enumerate(self.names):  # element-wise: tuples stay elements
            table[i] = name
        return table[self.codes]


def _note_codes(flags: list[np.ndarray]) -> np.ndarray:
    """One integer per analysis whose bit ``b`` says whether note ``b`` applies."""
    code = np.zeros(flags[0].shape[0], dtype=np.int64)
    for bit, flag in enumerate(flags):
        code |= flag.astype(np.int64) << bit
    return code


def _notes_labels(code: np.ndarray, texts: list[str]) -> Labels:
    """Decode note bit codes into one tuple of note strings per distinct combination."""
    uniq, inverse = np.unique(code, return_inverse=True)
    names = tuple(
        tuple(text for bit, text in enumerate(texts) if (c >> bit) & 1) for c in uniq.tolist()
    )
    return Labels(inverse, names)


def label_names(method: str, test: str, pi_method: str) -> dict[str, tuple[str, ...]]:
    """The names behind the codes of each label column of :func:`fit_padded`.

    Code 0 is the value of an analysis pooled as requested; the others mark the exceptions
    (k = 1 analyses, a DL fallback, no prediction interval).
    """
    re = method != "EE"
    if not re:
        pi_name = "none"
    elif pi_method == "higgins":
        pi_name = "t(k-2)"
    else:
        pi_name = "normal" if test == "z" else "t(k-1)"
    return {
        "method": (method,),
        "test": (test, "z"),
        "tau2_estimator": (method if re else "EE", "DL", "none"),
        "ci_method": (_CI_METHOD[test], _CI_METHOD["z"]),
        "pi_method": (pi_name, "none"),
        "tau2_ci_method": ("q-profile" if re else "none", "none"),
    }


#: Analyses per block. The batch is sorted by k and cut into blocks, each padded only to its
#: own largest k: a block is closed where k changes once it holds BLOCK_MIN analyses (padding
#: cells cost as much as real ones, and small blocks pay numpy's per-call overhead more
#: often), and at BLOCK_MAX analyses in any case (to stay in cache).
BLOCK_MIN = 2500
BLOCK_MAX = 8192


def _block_edges(k: np.ndarray) -> list[int]:
    """Where to cut analyses sorted by ``k`` (ascending) into blocks (see :data:`BLOCK_MIN`)."""
    n = k.size
    edges = [0]
    for change in [*(np.flatnonzero(k[1:] != k[:-1]) + 1).tolist(), n]:
        while change - edges[-1] > BLOCK_MAX:
            edges.append(edges[-1] + BLOCK_MAX)
        if change - edges[-1] >= BLOCK_MIN or change == n:
            edges.append(change)
    return edges


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
    dest: np.ndarray | None = None,
) -> dict[str, np.ndarray | Labels]:
    """Pool every row of a padded batch.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (K, n)
        Estimates and sampling variances, one column per analysis; padding cells must hold
        ``y = 0`` and ``v = inf``.
    m : numpy.ndarray of bool, shape (K, n)
        ``True`` for real studies, which come first in each column (top-aligned); every
        column has at least one.
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
    dest : numpy.ndarray of int, shape (n,), optional
        Output position of each analysis (a permutation); by default column ``i`` gives
        output ``i``. Lets a caller pad analyses in the order that suits the engine and
        still receive the results in its own order.

    Returns
    -------
    dict of str to numpy.ndarray or Labels
        One column of length ``n`` per name in
        :data:`~ldn_evidence.meta.results.POOL_FIELDS`; the label columns (names in
        :func:`label_names`, and ``notes``) as :class:`Labels`.

    Notes
    -----
    Analyses are processed in blocks of similar k (:data:`BLOCK_MIN`); every analysis
    follows its own iteration path, so the blocking does not change the numbers beyond
    rounding. When the analyses already come sorted by k (as
    :func:`~ldn_evidence.meta.pool_many` pads them), the blocks are slices of the batch.
    """
    opts = dict(
        method=method,
        test=test,
        level=level,
        pi_method=pi_method,
        threshold=threshold,
        maxiter=maxiter,
    )
    n = y.shape[1]
    k = np.count_nonzero(m, axis=0)
    if n <= BLOCK_MIN:
        blocks = [(slice(None), y.shape[0])]
    elif np.all(k[1:] >= k[:-1]):
        edges = _block_edges(k)
        blocks = [(slice(a, b), int(k[b - 1])) for a, b in itertools.pairwise(edges)]
    else:
        order = np.argsort(k, kind="stable")
        edges = _block_edges(k[order])
        blocks = [(order[a:b], int(k[order[b - 1]])) for a, b in itertools.pairwise(edges)]
    # one set of work arrays for every block (twice the largest: a Q-profile problem has up to
    # two roots per analysis)
    sizes = [len(range(n)[idx]) if isinstance(idx, slice) else idx.size for idx, _ in blocks]
    scratch = Scratch(2 * max(size * width for size, (_, width) in zip(sizes, blocks, strict=True)))
    out: dict[str, np.ndarray] = {}
    for idx, width in blocks:
        block, texts = _fit_block(
            y[:width, idx], v[:width, idx], m[:width, idx], k[idx], scratch=scratch, **opts
        )
        to = idx if dest is None else dest[idx]
        for name, col in block.items():
            if name not in out:
                out[name] = np.empty(n, dtype=col.dtype)
            out[name][to] = col
    result: dict[str, np.ndarray | Labels] = dict(out)
    for name, names in label_names(method, test, pi_method).items():
        result[name] = Labels(out[name], names)
    result["notes"] = _notes_labels(out["notes"], texts)
    return result


def _fit_block(
    y: np.ndarray,
    v: np.ndarray,
    m: np.ndarray,
    k: np.ndarray,
    *,
    method: str,
    test: str,
    level: float,
    pi_method: str,
    threshold: float,
    maxiter: int,
    scratch: Scratch,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Pool one block of rows (see :func:`fit_padded`).

    Returns the columns, with label columns as codes (see :func:`label_names`) and
    ``notes`` as bit codes, and the text of each note bit.
    """
    n = y.shape[1]
    mf = m.astype(float)
    k = k.astype(float)
    centre = study_sum(y) / k  # padding holds y = 0
    yc = np.where(m, y - centre, 0.0)
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {
        name: nan.copy() for name in POOL_FIELDS if name not in ("k", "converged", "notes")
    }
    out["k"] = k.astype(np.int64)
    out["level"] = np.full(n, float(level))
    out["converged"] = np.ones(n, dtype=bool)
    out["iterations"] = np.zeros(n, dtype=np.int64)
    # label codes, indices into label_names(); 0 = pooled as requested
    codes = {name: np.zeros(n, dtype=np.int8) for name in label_names(method, test, pi_method)}
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
    # the analyses with k >= 2, as a slice when that is all of them (the usual case)
    sel = slice(None) if many.size == n else many

    # --- k = 1: the study's own estimate, Wald z ------------------------------------------
    if one.size:
        f["k1"][one] = True
        se1 = np.sqrt(v[0, one])
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
        codes["test"][one] = 1
        codes["tau2_estimator"][one] = 2
        codes["ci_method"][one] = 1

    # --- k >= 2 -----------------------------------------------------------------------------
    if many.size:
        ys, vs, ms, ks = yc[:, sel], v[:, sel], mf[:, sel], k[sel]
        qs = q_statistic(ys, vs, ms, scratch)
        s2 = qs.s2
        vmin = np.minimum.reduce(vs, axis=0, where=m[:, sel], initial=np.inf)
        vmax = np.maximum.reduce(vs, axis=0, where=m[:, sel], initial=-np.inf)
        f["k2"][sel] = ks == 2
        f["equal_v"][sel] = vmin == vmax
        f["unequal_v"][sel] = vmax / vmin >= VI_RATIO_WARN
        if re:
            thr = threshold * s2
            est = estimate_tau2(
                method,
                ys,
                vs,
                ms,
                threshold=thr,
                maxiter=maxiter,
                scale=s2,
                at_zero=(qs.q, qs.sw),
                scratch=scratch,
            )
            tau2, tau2_se = est.tau2, est.se
            bad = ~est.converged
            if bad.any() and method in ITERATIVE:
                fb = tau2_dl(ys[:, bad], vs[:, bad], ms[:, bad])
                tau2 = tau2.copy()
                tau2_se = tau2_se.copy()
                tau2[bad] = fb.tau2
                tau2_se[bad] = fb.se
                codes["tau2_estimator"][many[bad]] = 1
            out["converged"][sel] = est.converged
            out["iterations"][sel] = est.iterations
            f["fallback"][sel] = bad
            f["ll0"][sel] = est.ll0
            f["damped"][sel] = est.damped & est.converged
            f["truncated"][sel] = (est.raw < 0) & ~bad
            f["boundary"][sel] = tau2 == 0
        else:
            tau2 = np.zeros(many.size)
            tau2_se = np.full(many.size, np.nan)
        # the estimator's fit at tau2 serves unless some tau2 came from the DL fallback
        fit = est.fit if re and not f["fallback"][sel].any() else None
        mi = mean_inference(ys, vs, ms, tau2, test, level, offset=centre[sel], fit=fit)
        est_mu = mi.estimate
        out["estimate"][sel] = est_mu
        out["se"][sel] = mi.se
        out["stat"][sel] = mi.stat
        out["df"][sel] = mi.df
        out["pval"][sel] = mi.pval
        out["ci_low"][sel] = est_mu - mi.crit * mi.se
        out["ci_high"][sel] = est_mu + mi.crit * mi.se
        f["s2w_zero"][sel] = (mi.scale_factor == 0) if test != "z" else False
        f["floored"][sel] = mi.floored
        out["tau2"][sel] = tau2
        out["tau2_se"][sel] = tau2_se
        out["q"][sel] = qs.q
        out["q_df"][sel] = qs.df
        out["q_pval"][sel] = qs.pval
        out["s2"][sel] = s2
        if re:
            i2, h2 = i2_h2(tau2, s2)
            known = (tau2, mi.q_gen, mi.dq_gen)
            ci = q_profile_ci(ys, vs, ms, qs.q, level, s2, qs.dq, known, vmin, scratch)
            out["tau2_ci_low"][sel] = ci.low
            out["tau2_ci_high"][sel] = ci.high
            out["i2_ci_low"][sel], out["h2_ci_low"][sel] = i2_h2(ci.low, s2)
            out["i2_ci_high"][sel], out["h2_ci_high"][sel] = i2_h2(ci.high, s2)
            f["ci_null"][sel] = ci.null_set
            f["low_zero"][sel] = ci.low_at_zero & ~ci.null_set
            f["qp_fail"][sel] = ~ci.converged
            lo, hi = prediction_interval(est_mu, mi.se, tau2, ks, test, level, pi_method)
            out["pi_low"][sel] = lo
            out["pi_high"][sel] = hi
            f["pi_k3"][sel] = (pi_method == "higgins") & (ks < 3)
        else:
            i2, h2 = i2_h2_from_q(qs.q, qs.df)
        out["i2"][sel] = i2
        out["h2"][sel] = h2

    if re:
        codes["pi_method"][(k < 2) | f["pi_k3"]] = 1
        codes["tau2_ci_method"][k < 2] = 1
    else:
        codes["pi_method"][:] = 1
    out.update(codes)

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
    out["notes"] = _note_codes([flag for _, flag in flags])
    return out, [text for text, _ in flags]
