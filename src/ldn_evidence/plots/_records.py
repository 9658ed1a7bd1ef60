"""Rows of a plot table's input frame as dicts, read column by column.

Row-wise access (``iterrows``, ``itertuples``, ``.loc`` in a loop) costs a pandas call per row
and per column, which is slow on the Arrow-backed columns of the contract tables. Reading each
column once with ``Series.tolist`` gives the same values ``DataFrame.iterrows`` gives: Python
scalars, and ``pd.NA`` or NaN for a missing value as the column's dtype has it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict[str, object]]:
    """The rows of ``frame``, in order, as ``{column: value}`` dicts.

    ``columns`` limits the dicts to those columns (the ones ``frame`` has; ``dict.get`` then
    gives None for the others, as ``Series.get`` does for a row of ``iterrows``).
    """
    names = list(frame.columns) if columns is None else [c for c in columns if c in frame]
    values = [frame[c].tolist() for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
