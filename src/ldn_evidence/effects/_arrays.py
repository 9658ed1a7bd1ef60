"""Array coercion and row-level checks shared by the effect-size functions (private)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def as_float_array(name: str, values: object) -> np.ndarray:
    """Return ``values`` as a 1-d float array; missing values (None, pd.NA) become ``nan``."""
    if hasattr(values, "to_numpy"):
        array = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric; got {values!r}") from err
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array-like (one value per row); got {values!r}")
    return array


def rows_text(rows: np.ndarray) -> str:
    """'row 3' or 'rows 3, 7' for 0-based positional row indices."""
    listed = ", ".join(str(int(r)) for r in rows)
    return f"row {listed}" if len(rows) == 1 else f"rows {listed}"


def check_rows(
    context: str,
    name: str,
    values: np.ndarray,
    is_valid: Callable[[np.ndarray], np.ndarray],
    requirement: str,
) -> None:
    """Raise ``ValueError`` naming ``name`` and the offending rows where ``is_valid`` fails.

    Missing values (``nan``) are never offending: they give a missing effect instead.
    """
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~is_valid(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        got = ", ".join(f"{values[r]:g}" for r in rows)
        raise ValueError(f"{context}: {name} must be {requirement}; {rows_text(rows)} ({got})")
