"""Leave-one-out sensitivity analysis of a pooled estimate.

Each study is left out in turn and the remaining k - 1 studies are pooled again with the same
estimator, test and level (metafor's ``leave1out()`` for an ``rma.uni`` model).

References
----------
.. [1] Viechtbauer W, Cheung MW-L. Outlier and influence diagnostics for meta-analysis. Res
   Synth Methods. 2010;1(2):112-125. doi:10.1002/jrsm.11
.. [2] Higgins JPT, Thomas J, et al., eds. Cochrane Handbook for Systematic Reviews of
   Interventions, version 6.5. Cochrane; 2024. Section 10.14 (sensitivity analyses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence.meta.pooling import pool, validate_inputs
from ldn_evidence.meta.results import PoolResult

__all__ = ["LeaveOneOutResult", "LeaveOneOutRow", "leave_one_out"]


@dataclass(frozen=True)
class LeaveOneOutRow:
    """The pooled result without one study.

    Attributes
    ----------
    omitted : str
        Label of the study left out.
    index : int
        Its position (0-based) in the input.
    result : PoolResult
        The pooled result of the other k - 1 studies.
    """

    omitted: str
    index: int
    result: PoolResult

    @property
    def estimate(self) -> float:
        """Pooled estimate without the study."""
        return self.result.estimate


#: Columns of :meth:`LeaveOneOutResult.to_frame` after ``omitted`` and ``index``, in the order
#: metafor's ``leave1out()`` prints them (plus df and tau2 interval fields kept by ``pool``).
_FRAME_FIELDS = (
    "k",
    "estimate",
    "se",
    "stat",
    "df",
    "pval",
    "ci_low",
    "ci_high",
    "q",
    "q_df",
    "q_pval",
    "tau2",
    "i2",
    "h2",
    "pi_low",
    "pi_high",
    "converged",
)


@dataclass(frozen=True)
class LeaveOneOutResult:
    """Leave-one-out analysis: one pooled result per omitted study, in input order.

    Attributes
    ----------
    rows : tuple of LeaveOneOutRow
        One per study, in input order.
    full : PoolResult
        The pooled result of all k studies, for comparison.
    method, test : str
        Estimator and test of every fit.
    level : float
        Confidence level.
    notes : tuple of str
        Edge cases (e.g. k = 2, where each fit is a single study).
    """

    rows: tuple[LeaveOneOutRow, ...]
    full: PoolResult
    method: str
    test: str
    level: float
    notes: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        """Number of studies in the full analysis."""
        return self.full.k

    def to_frame(self) -> pd.DataFrame:
        """One row per omitted study with the main fields of each refit."""
        records = []
        for row in self.rows:
            rec: dict[str, Any] = {"omitted": row.omitted, "index": row.index}
            rec.update({name: getattr(row.result, name) for name in _FRAME_FIELDS})
            records.append(rec)
        return pd.DataFrame.from_records(records, columns=["omitted", "index", *_FRAME_FIELDS])

    def max_shift(self) -> tuple[str, float]:
        """The study whose omission moves the estimate most, and the signed shift."""
        shifts = np.array([r.result.estimate - self.full.estimate for r in self.rows])
        j = int(np.argmax(np.abs(shifts)))
        return self.rows[j].omitted, float(shifts[j])


def leave_one_out(
    yi,
    vi,
    *,
    method: str = "REML",
    test: str = "knha",
    level: float = 0.95,
    labels=None,
    **pool_options: Any,
) -> LeaveOneOutResult:
    """Pool the studies k times, leaving each one out once.

    Parameters
    ----------
    yi, vi : array_like of shape (k,)
        Effect sizes and sampling variances.
    method, test, level
        Passed to :func:`ldn_evidence.meta.pool` for every fit (and the full fit).
    labels : sequence of str, optional
        Study labels (default ``"1"``, ``"2"``, ...). Repeated labels are allowed (several
        reports by one author); each row also carries the study's input position.
    **pool_options
        Further keyword arguments of :func:`ldn_evidence.meta.pool` (e.g. ``threshold``,
        ``maxiter``, ``pi_method``), the same for every fit.

    Returns
    -------
    LeaveOneOutResult

    Raises
    ------
    ValueError
        If k < 2, the number of labels does not match, or ``pool`` rejects the input.

    Notes
    -----
    The same as metafor's ``leave1out()`` for a model without moderators [1]_: each refit
    re-estimates tau^2, so the columns are the estimate, its CI and test, Q and its p-value,
    tau^2, I^2 and H^2 of the k - 1 remaining studies. With k = 2 each refit is a single
    study, reported as such by ``pool`` (no tau^2 or I^2).

    Examples
    --------
    >>> res = leave_one_out([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05],
    ...                     method="DL", test="z", labels=["A", "B", "C", "D"])
    >>> [r.omitted for r in res.rows]
    ['A', 'B', 'C', 'D']
    >>> res.to_frame().shape[0]
    4
    """
    y, v = validate_inputs(yi, vi)
    k = y.size
    if k < 2:
        raise ValueError(f"leave-one-out needs k >= 2 studies; got k = {k}")
    if labels is None:
        names = [str(i + 1) for i in range(k)]
    else:
        names = [str(x) for x in labels]
        if len(names) != k:
            raise ValueError(f"got {len(names)} labels for {k} studies")
    full = pool(y, v, method=method, test=test, level=level, **pool_options)
    rows = []
    keep = np.ones(k, dtype=bool)
    for i in range(k):
        keep[:] = True
        keep[i] = False
        res = pool(y[keep], v[keep], method=method, test=test, level=level, **pool_options)
        rows.append(LeaveOneOutRow(omitted=names[i], index=i, result=res))
    notes = []
    if k == 2:
        notes.append("k = 2: every leave-one-out fit is a single study")
    if any(not r.result.converged for r in rows):
        bad = [r.omitted for r in rows if not r.result.converged]
        notes.append(f"tau^2 did not converge when omitting {bad} (see each result's notes)")
    return LeaveOneOutResult(
        rows=tuple(rows),
        full=full,
        method=full.method,
        test=full.test,
        level=float(level),
        notes=tuple(notes),
    )
