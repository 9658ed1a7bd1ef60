"""Pool many analyses at once: :func:`pool_many`.

The rows of a long table are padded into 2-D arrays (k_max x analyses) with a mask, and the
engine iterates every estimator, root finder and interval on all analyses together: there is
no Python loop over analyses. Each analysis still follows its own iteration path (converged
analyses are frozen), so the numbers equal those of :func:`ldn_evidence.meta.pool`.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ldn_evidence.meta.engine import Labels, check_options, fit_padded
from ldn_evidence.meta.pooling import MAXITER, THRESHOLD
from ldn_evidence.meta.results import POOL_FIELDS

__all__ = ["pool_many"]


def _bad_value_error(frame, column, rows, key_cols, what) -> ValueError:
    pos = int(rows[0])
    label = frame.index[pos]
    key = tuple(frame[c].iloc[pos] for c in key_cols)
    value = float(frame[column].iloc[pos])
    return ValueError(
        f"column {column!r} at row {label!r} (group {key!r}) must be {what}; got {value!r}"
    )


def checked_effects(frame, key_cols, yi, vi, caller, extra=()):
    """The ``yi`` and ``vi`` columns of a long table as float arrays, after checking that every
    named column exists, the table has rows, estimates are finite and variances finite and > 0
    (errors name the row and its group)."""
    missing = [c for c in [*key_cols, yi, vi, *extra] if c not in frame.columns]
    if missing:
        raise KeyError(f"{caller}: columns not in frame: {missing}")
    if len(frame) == 0:
        raise ValueError(f"{caller}: frame has no rows")
    y = frame[yi].to_numpy(dtype=float, na_value=np.nan)
    v = frame[vi].to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise _bad_value_error(frame, yi, bad, key_cols, "finite")
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise _bad_value_error(frame, vi, bad, key_cols, "finite and > 0")
    return y, v


def _group_numbers(frame: pd.DataFrame, key_cols: list) -> tuple[np.ndarray, bool]:
    """Number the groups 0, 1, ... in the sorted order of their keys (missing keys last).

    Returns the number of each row and whether the numbers are already in row order. A
    single integer key column that is sorted (the usual layout of a long table) is numbered
    from its changes of value; anything else goes through ``groupby().ngroup()``.
    """
    if len(key_cols) == 1:
        col = frame[key_cols[0]]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
            a = col.to_numpy()
            if np.all(a[1:] >= a[:-1]):
                starts = np.flatnonzero(a[1:] != a[:-1]) + 1
                sizes = np.diff(starts, prepend=0, append=a.size)
                return np.repeat(np.arange(sizes.size), sizes), True
    gid = frame.groupby(key_cols, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    return gid, False


def _positions(gid: np.ndarray, in_order: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position of each row within its group, the first row and the size of every group.

    ``gid`` numbers the groups 0, 1, ... (every number used), ``in_order`` says whether it
    never decreases; rows keep their order within a group (a stable sort), as
    ``groupby().cumcount()`` numbers them.
    """
    sizes = np.bincount(gid)
    starts = np.cumsum(sizes) - sizes
    within = np.arange(gid.size) - np.repeat(starts, sizes)
    if in_order:
        return within, starts, sizes
    order = np.argsort(gid, kind="stable")
    pos = np.empty(gid.size, dtype=np.intp)
    pos[order] = within
    return pos, order[starts], sizes


def _column(col: np.ndarray | Labels) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A result column as pandas stores it.

    A label column becomes a pandas string column (tuples of notes stay objects), built by
    converting its few distinct names once and repeating them by their codes, which is
    several times faster than converting every value.
    """
    if not isinstance(col, Labels):
        return col
    if all(isinstance(name, str) for name in col.names):
        return _string_array(col.names).take(col.codes)
    return col.values()


@functools.lru_cache(maxsize=256)
def _string_array(names: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    """The pandas string array of ``names`` (label vocabularies recur in every call)."""
    return pd.Series(list(names)).array


def pool_many(
    frame: pd.DataFrame,
    by: Hashable | Sequence[Hashable],
    *,
    yi: str = "yi",
    vi: str = "vi",
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    pi_method: str = "default",
    threshold: float = THRESHOLD,
    maxiter: int = MAXITER,
) -> pd.DataFrame:
    """Pool every group of rows of ``frame`` as one analysis.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table, one row per effect estimate.
    by : column name or list of column names
        Columns that identify an analysis.
    yi, vi : str
        Names of the estimate and sampling-variance columns.
    method, test, level, pi_method, threshold, maxiter
        As in :func:`ldn_evidence.meta.pool`; the same for every analysis.

    Returns
    -------
    pandas.DataFrame
        One row per analysis, sorted by the ``by`` columns (missing keys last), with the
        ``by`` columns followed by the fields of
        :class:`~ldn_evidence.meta.results.PoolResult`; ``notes`` holds tuples of strings.
        The index is a fresh ``RangeIndex``.

    Raises
    ------
    KeyError
        If a named column is missing.
    ValueError
        For invalid options, an empty frame, or a non-finite estimate / a variance that is
        not finite and > 0 (the message names the column, row label and group).

    Notes
    -----
    Within an analysis the rows keep their order in ``frame``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": ["x", "x", "y"], "yi": [0.1, 0.3, 0.2],
    ...                    "vi": [0.01, 0.02, 0.04]})
    >>> out = pool_many(df, "a", method="DL", test="z")
    >>> out["a"].tolist(), out["k"].tolist(), out["estimate"].round(4).tolist()
    (['x', 'y'], [2, 1], [0.175, 0.2])
    """
    method, test = check_options(method, test, level, pi_method, threshold, maxiter)
    key_cols = [by] if isinstance(by, str) or not isinstance(by, Sequence) else list(by)
    y, v = checked_effects(frame, key_cols, yi, vi, "pool_many")

    gid, in_order = _group_numbers(frame, key_cols)
    pos, first, sizes = _positions(gid, in_order)
    n_groups = first.size
    k_max = int(sizes.max())
    # pad the analyses (one per column) sorted by k, the order in which the engine cuts them
    # into blocks (it then works on slices): group_of[c] is the group padded in column c and
    # column_of[g] the column of group g (k fits in 16 bits in practice: numpy radix-sorts)
    group_of = np.argsort(sizes.astype(np.int16) if k_max < 2**15 else sizes, kind="stable")
    column_of = np.empty(n_groups, dtype=np.intp)
    column_of[group_of] = np.arange(n_groups)
    cell = pos * n_groups + column_of[gid]  # flat index of each row's cell
    ypad = np.zeros((k_max, n_groups))
    vpad = np.full((k_max, n_groups), np.inf)
    ypad.reshape(-1)[cell] = y
    vpad.reshape(-1)[cell] = v
    mask = np.arange(k_max)[:, None] < sizes[group_of]

    cols = fit_padded(
        ypad,
        vpad,
        mask,
        method=method,
        test=test,
        level=float(level),
        pi_method=pi_method,
        threshold=float(threshold),
        maxiter=int(maxiter),
        dest=group_of,
    )
    cols = {name: _column(col) for name, col in cols.items()}
    if len(set(key_cols)) == len(key_cols) and not set(key_cols) & set(POOL_FIELDS):
        # one frame from one dict of fresh columns (no copies): cheaper than concatenating
        keys = {c: frame[c].array.take(first) for c in key_cols}  # arrays: nothing to align
        return pd.DataFrame({**keys, **cols}, columns=[*key_cols, *POOL_FIELDS], copy=False)
    keys = frame[key_cols].iloc[first].reset_index(drop=True)
    result = pd.DataFrame({name: cols[name] for name in POOL_FIELDS})
    return pd.concat([keys, result], axis=1)
