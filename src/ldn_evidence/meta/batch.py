"""Pool many analyses at once: :func:`pool_many`.

The rows of a long table are padded into 2-D arrays (analyses x k_max) with a mask, and the
engine iterates every estimator, root finder and interval on all analyses together: there is
no Python loop over analyses. Each analysis still follows its own iteration path (converged
analyses are frozen), so the numbers equal those of :func:`ldn_evidence.meta.pool`.
"""

from __future__ import annotations

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


def _positions(gid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row within its group, and the first row of every group.

    ``gid`` numbers the groups 0, 1, ... (every number used); rows keep their order within
    a group (a stable sort), as ``groupby().cumcount()`` numbers them.
    """
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid)
    starts = np.cumsum(sizes) - sizes
    pos = np.empty(gid.size, dtype=np.intp)
    pos[order] = np.arange(gid.size) - np.repeat(starts, sizes)
    return pos, order[starts]


def _column(col: np.ndarray | Labels) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A result column as pandas stores it.

    A label column becomes a pandas string column (tuples of notes stay objects), built by
    converting its few distinct names once and repeating them by their codes, which is
    several times faster than converting every value.
    """
    if not isinstance(col, Labels):
        return col
    if all(isinstance(name, str) for name in col.names):
        return pd.Series(list(col.names)).array.take(col.codes)
    return col.values()


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
    missing = [c for c in [*key_cols, yi, vi] if c not in frame.columns]
    if missing:
        raise KeyError(f"pool_many: columns not in frame: {missing}")
    if len(frame) == 0:
        raise ValueError("pool_many: frame has no rows")
    y = frame[yi].to_numpy(dtype=float, na_value=np.nan)
    v = frame[vi].to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise _bad_value_error(frame, yi, bad, key_cols, "finite")
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise _bad_value_error(frame, vi, bad, key_cols, "finite and > 0")

    gid = frame.groupby(key_cols, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    pos, first = _positions(gid)
    n_groups = first.size
    k_max = int(pos.max()) + 1
    # pad the analyses (one per column) sorted by k, the order in which the engine cuts them
    # into blocks (it then works on slices); column_of[g] is the padded column of group g
    group_of = np.argsort(np.bincount(gid), kind="stable")  # group padded in each column
    column_of = np.empty(n_groups, dtype=np.intp)
    column_of[group_of] = np.arange(n_groups)
    cols = column_of[gid]
    ypad = np.zeros((k_max, n_groups))
    vpad = np.full((k_max, n_groups), np.inf)
    mask = np.zeros((k_max, n_groups), dtype=bool)
    ypad[pos, cols] = y
    vpad[pos, cols] = v
    mask[pos, cols] = True

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
    keys = frame[key_cols].iloc[first].reset_index(drop=True)
    if keys.columns.is_unique and not set(keys.columns) & set(POOL_FIELDS):
        # one frame from one dict of columns: cheaper than concatenating two frames
        return pd.DataFrame(
            {**{c: keys[c] for c in keys.columns}, **cols}, columns=[*keys.columns, *POOL_FIELDS]
        )
    result = pd.DataFrame({name: cols[name] for name in POOL_FIELDS})
    return pd.concat([keys, result], axis=1)
