"""One sign convention for every effect size in an analysis.

After :func:`harmonise_direction`, a POSITIVE ``yi`` means the outcome was better with LDN than
with the comparator (or better after than before, for single-arm change measures), whatever the
outcome's scale. Reports translate it per outcome, e.g. "positive = less pain with LDN".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ldn_evidence.effects.types import MEASURES, EffectEstimate

#: The project's single sign convention, as the sentence reports print.
DIRECTION_CONVENTION = "positive = better with LDN"

#: Better-direction values that can be harmonised. The vocabulary also has
#: ``"improvement_reported"`` (the source calls a change an improvement without saying which
#: end of the scale is better); such a value must be resolved to one of these two first.
BETTER_DIRECTIONS = ("higher", "lower")

#: Measures for which negating ``yi`` reverses the direction and leaves ``vi`` unchanged:
#: differences (MD, SMD, SMDH, RD, MC, SMCC, SMCR) and log ratios (ROM, OR, RR, PETO).
SIGN_SYMMETRIC_MEASURES = frozenset(MEASURES) - {"PLO"}


def direction_sign(better_direction: ArrayLike) -> np.ndarray | float:
    """+1 where higher values are better, -1 where lower values are better.

    Parameters
    ----------
    better_direction : str or array-like of str
        ``"higher"`` or ``"lower"`` per outcome.

    Returns
    -------
    float or numpy.ndarray
        The multiplier that puts ``yi`` on the :data:`DIRECTION_CONVENTION` scale.

    Examples
    --------
    >>> direction_sign("lower")
    -1.0
    """
    values = np.asarray(better_direction, dtype=object)
    flat = values.ravel()
    unknown = sorted({str(v) for v in flat if v not in BETTER_DIRECTIONS})
    if unknown:
        rows = [i for i, v in enumerate(flat) if v not in BETTER_DIRECTIONS]
        where = f" at row(s) {', '.join(map(str, rows))}" if values.ndim else ""
        raise ValueError(
            f"better_direction must be one of {BETTER_DIRECTIONS}; got {', '.join(unknown)}"
            f"{where} (resolve 'improvement_reported' to the scale's better end first)"
        )
    sign = np.where(values == "lower", -1.0, 1.0)
    return float(sign) if sign.ndim == 0 else sign


def harmonise_direction(yi: ArrayLike, better_direction: ArrayLike) -> np.ndarray | float:
    """Put effect sizes on the :data:`DIRECTION_CONVENTION` scale (positive = better with LDN).

    Parameters
    ----------
    yi : array-like
        Effect sizes computed as group 1 (LDN) versus group 2 (comparator), or post versus pre,
        on a difference or log-ratio scale (every measure in :data:`SIGN_SYMMETRIC_MEASURES`).
    better_direction : str or array-like of str
        ``"higher"`` (larger values are better; ``yi`` kept) or ``"lower"`` (``yi`` negated),
        one value or one per row.

    Returns
    -------
    float or numpy.ndarray
        Harmonised ``yi``. Variances are unchanged by a sign flip.

    Notes
    -----
    .. math:: y^{*} = s\\,y, \\quad s = +1 \\text{ (higher is better)}, \\ -1 \\text{ (lower)}

    For ratio measures the flip is on the log scale: :math:`-\\ln(R) = \\ln(1/R)`.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds). Chapter 6, section 6.5.1.2 (scales in different
    directions are multiplied by -1 before pooling). Cochrane Handbook, version 6.4, 2023.

    Examples
    --------
    >>> harmonise_direction([-1.5, 2.0], ["lower", "higher"])  # pain fell; QoL rose
    array([1.5, 2. ])
    """
    y = np.asarray(yi, dtype=float)
    result = y * direction_sign(better_direction)
    return float(result) if np.ndim(result) == 0 else result


def harmonise_effect(estimate: EffectEstimate, better_direction: str) -> EffectEstimate:
    """Harmonise one :class:`EffectEstimate`, recording the step in its derivation.

    Parameters
    ----------
    estimate : EffectEstimate
        The effect as computed (LDN minus comparator, or post minus pre).
    better_direction : {"higher", "lower"}
        Which end of the outcome's scale is better.

    Returns
    -------
    EffectEstimate
        Same ``vi``; ``yi`` negated when lower is better; derivation gains
        ``"direction_harmonised"`` and the assumptions the convention.

    Examples
    --------
    >>> est = EffectEstimate(-0.4, 0.05, "SMD", ("smd_from_means_sd",))
    >>> harmonise_effect(est, "lower").yi
    0.4
    """
    if estimate.measure not in SIGN_SYMMETRIC_MEASURES:
        raise ValueError(f"cannot harmonise measure {estimate.measure!r}")
    sign = direction_sign(better_direction)
    return estimate.with_step(
        "direction_harmonised",
        yi=sign * estimate.yi,
        assumptions=(f"{better_direction} is better; {DIRECTION_CONVENTION}",),
    )
