"""Effect sizes and sampling variances from summary statistics, number for number as metafor.

:func:`escalc` mirrors R's ``metafor::escalc`` (version 3.8-1) for the measures this review needs:
the same measure codes, argument names, defaults and zero-cell handling, so that its output can
be compared with metafor's value by value (``tests/reference/metafor/``). Group 1 is LDN, group 2
the comparator; for the change measures, ``m1i - m2i`` is the change (metafor's convention: pass
the later occasion as ``m1i`` to get post minus pre).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ldn_evidence.effects._arrays import as_float_array, check_rows
from ldn_evidence.effects.conversions import hedges_correction
from ldn_evidence.effects.types import ESCALC_MEASURES as MEASURES

#: Continuous two-group measures: means, SDs and sizes of two independent groups.
TWO_GROUP_MEASURES = ("MD", "SMD", "SMDH", "ROM")
#: Binary two-group measures: a 2x2 table (events ``ai``/``ci``, non-events ``bi``/``di``).
BINARY_MEASURES = ("OR", "RR", "RD", "PETO")
#: Single-group change measures: two occasions of the same ``ni`` people, correlation ``ri``.
CHANGE_MEASURES = ("MC", "SMCC", "SMCR")

#: When ``add`` is added to the 2x2 cells (metafor's ``to`` argument).
ZERO_CELL_RULES = ("all", "only0", "if0all", "none")

#: Variance types accepted per measure (metafor's ``vtype``); "LS" (large sample) is the default.
VTYPES: Mapping[str, tuple[str, ...]] = {
    "MD": ("LS", "HO"),
    "SMD": ("LS", "UB", "LS2"),
    "SMDH": ("LS",),
    "ROM": ("LS", "HO"),
    "OR": ("LS",),
    "RR": ("LS",),
    "RD": ("LS", "UB"),
    "PETO": ("LS",),
    "MC": ("LS",),
    "SMCC": ("LS", "LS2"),
    "SMCR": ("LS", "LS2"),
}

_REQUIRED = {
    **{m: ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i") for m in TWO_GROUP_MEASURES},
    **{m: ("ai", "ci") for m in BINARY_MEASURES},
    "MC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
}
_OPTIONAL = {
    **{m: ("bi", "di", "n1i", "n2i") for m in BINARY_MEASURES},
    "SMCR": ("sd2i",),  # accepted and ignored, as in metafor: SMCR standardizes by sd1i only
}


def escalc(
    measure: str,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    **arrays: object,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi``, one row per input row.

    Parameters
    ----------
    measure : str
        metafor measure code: ``"MD"``, ``"SMD"``, ``"SMDH"``, ``"ROM"`` (two groups,
        continuous), ``"OR"``, ``"RR"``, ``"RD"``, ``"PETO"`` (two groups, binary), ``"MC"``,
        ``"SMCC"``, ``"SMCR"`` (one group measured twice).
    add : float, default 0.5
        Amount added to the cells of a 2x2 table (binary measures only); must be >= 0.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which tables get ``add``: those with a zero cell (``"only0"``), all tables
        (``"all"``), all tables but only if at least one has a zero cell (``"if0all"``), or none.
    drop00 : bool, default False
        Give ``nan`` for tables with no events in both groups (``ai = ci = 0``) or only events in
        both groups (``bi = di = 0``), which carry no information on the relative effect.
    vtype : str, default "LS"
        Variance type: ``"LS"`` (large-sample) for every measure; also ``"HO"`` for MD and ROM
        (pooled SD), ``"UB"`` for SMD and RD (unbiased), ``"LS2"`` for SMD, SMCC, SMCR.
    **arrays : array-like
        The data, 1-d and all of one length, named as in metafor:

        - MD, SMD, SMDH, ROM: ``m1i, sd1i, n1i, m2i, sd2i, n2i``;
        - OR, RR, RD, PETO: ``ai, ci`` and ``bi`` or ``n1i`` and ``di`` or ``n2i`` (when both
          are given they must agree, ``n1i = ai + bi``);
        - MC, SMCC: ``m1i, m2i, sd1i, sd2i, ni, ri``; SMCR: ``m1i, m2i, sd1i, ni, ri``
          (``sd2i`` is ignored). The change is ``m1i - m2i``; ``sd1i`` standardizes SMCR, so
          pass the pre-test SD there. If the SD of the change scores is reported instead,
          pass it as ``sd1i`` with ``sd2i = 0`` and ``ri = 0`` (MC, SMCC).

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` and ``vi`` (float64), a ``RangeIndex`` aligned with the input rows.
        Rows with a missing input, a dropped table (``drop00``) or a non-finite result
        (e.g. a zero cell with ``to="none"``) are ``nan`` in both columns, as metafor's ``NA``.

    Raises
    ------
    ValueError
        Unknown measure, ``to``, ``vtype`` or argument; a missing required argument; arrays of
        different lengths; or an invalid value, with the argument and the 0-based row index
        named (SD <= 0, n < 1, n < 2 per group for SMD/SMDH, n < 3 for SMCC/SMCR, negative
        counts, events > group size, ``n1i != ai + bi``, ``|ri| > 1``, non-positive means for ROM).

    Notes
    -----
    With :math:`J(m) = \\Gamma(m/2) / (\\sqrt{m/2}\\,\\Gamma((m-1)/2))` the exact small-sample
    correction (Hedges 1981), the standardized measures are

    .. math::

        \\mathrm{SMD}: y = J(n_1+n_2-2)\\,\\frac{m_1-m_2}{s_p},\\quad
        v = \\frac{1}{n_1} + \\frac{1}{n_2} + \\frac{y^2}{2(n_1+n_2)}

        \\mathrm{SMCR}: y = J(n-1)\\,\\frac{m_1-m_2}{s_1},\\quad
        v = \\frac{2(1-r)}{n} + \\frac{y^2}{2n}

    and the binary measures use the (possibly corrected) cells, e.g.
    :math:`\\log\\mathrm{OR} = \\log(ad/bc)`, :math:`v = 1/a+1/b+1/c+1/d`. In metafor 3.8-1
    the ``add``/``to`` correction is applied to the 2x2 table before every binary measure,
    including ``RD`` and ``PETO`` (unlike ``rma.mh``, which pools RD from the uncorrected
    tables). For SMDH, as in metafor, the corrected estimate enters the variance
    (Bonett 2009) before it is multiplied by :math:`J^2`.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48 (``escalc`` documentation, metafor 3.8-1). Hedges LV (1981). J Educ Stat
    6:107-128. Bonett DG (2009). Psychol Methods 14:225-238. Hedges LV, Gurevitch J, Curtis PS
    (1999). Ecology 80:1150-1156 (ROM). Becker BJ (1988). Br J Math Stat Psychol 41:257-278
    (SMCR). Gibbons RD, Hedeker DR, Davis JM (1993). J Educ Stat 18:271-279 (SMCC).
    Yusuf S et al. (1985). Prog Cardiovasc Dis 27:335-371 (Peto).

    Examples
    --------
    >>> out = escalc("SMD", m1i=[55], sd1i=[47], n1i=[155], m2i=[75], sd2i=[64], n2i=[156])
    >>> out.round(4).to_dict("list")
    {'yi': [-0.3552], 'vi': [0.0131]}
    >>> escalc("OR", ai=[0], bi=[10], ci=[2], di=[8]).round(4).to_dict("list")
    {'yi': [-1.8207], 'vi': [2.6129]}
    """
    context = f"escalc(measure={measure!r})"
    if measure not in MEASURES:
        raise ValueError(f"{context}: unknown measure; expected one of {', '.join(MEASURES)}")
    if to not in ZERO_CELL_RULES:
        raise ValueError(f"{context}: to must be one of {ZERO_CELL_RULES}; got {to!r}")
    if vtype not in VTYPES[measure]:
        raise ValueError(f"{context}: vtype must be one of {VTYPES[measure]}; got {vtype!r}")
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"{context}: add must be a finite number >= 0; got {add!r}")

    data = _collect(context, measure, arrays)
    with np.errstate(all="ignore"):
        if measure in BINARY_MEASURES:
            yi, vi = _binary(context, measure, data, add=add, to=to, drop00=drop00, vtype=vtype)
        elif measure in TWO_GROUP_MEASURES:
            yi, vi = _two_group(context, measure, data, vtype=vtype)
        else:
            yi, vi = _change(context, measure, data, vtype=vtype)
        # metafor recodes non-finite results (division by zero) to NA, and negative variances.
        unusable = ~np.isfinite(yi) | ~np.isfinite(vi)
        yi = np.where(unusable, np.nan, yi)
        vi = np.where(unusable | (vi < 0), np.nan, vi)
    return pd.DataFrame({"yi": yi.astype(float), "vi": vi.astype(float)})


def _collect(context: str, measure: str, arrays: Mapping[str, object]) -> dict[str, np.ndarray]:
    required = _REQUIRED[measure]
    allowed = set(required) | set(_OPTIONAL.get(measure, ()))
    unknown = sorted(set(arrays) - allowed)
    if unknown:
        raise ValueError(
            f"{context}: unexpected argument(s) {', '.join(unknown)}; "
            f"this measure uses {', '.join(sorted(allowed))}"
        )
    missing = [name for name in required if arrays.get(name) is None]
    if measure in BINARY_MEASURES:
        for cells, size in (("bi", "n1i"), ("di", "n2i")):
            if arrays.get(cells) is None and arrays.get(size) is None:
                missing.append(f"{cells} (or {size})")
    if missing:
        raise ValueError(f"{context}: missing required argument(s) {', '.join(missing)}")
    data = {
        name: as_float_array(name, values) for name, values in arrays.items() if values is not None
    }
    lengths = {name: len(values) for name, values in data.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"{context}: arrays must all have the same length; got {listed}")
    return data


def _binary(
    context: str,
    measure: str,
    data: dict[str, np.ndarray],
    *,
    add: float,
    to: str,
    drop00: bool,
    vtype: str,
) -> tuple[np.ndarray, np.ndarray]:
    ai, ci = data["ai"], data["ci"]
    for name in ("ai", "ci", "bi", "di", "n1i", "n2i"):
        if name in data:
            check_rows(context, name, data[name], lambda x: x >= 0, ">= 0")
    bi = _cells_from_size(context, data, events="ai", cells="bi", size="n1i")
    di = _cells_from_size(context, data, events="ci", cells="di", size="n2i")

    if drop00:
        uninformative = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        ai, bi, ci, di = (np.where(uninformative, np.nan, x) for x in (ai, bi, ci, di))

    has_zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)  # nan compares False
    if to == "all":
        corrected = np.ones_like(ai, dtype=bool)
    elif to == "only0":
        corrected = has_zero
    elif to == "if0all":
        corrected = np.full_like(ai, has_zero.any(), dtype=bool)
    else:
        corrected = np.zeros_like(ai, dtype=bool)
    increment = np.where(corrected, add, 0.0)
    ai, bi, ci, di = (x + increment for x in (ai, bi, ci, di))

    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    if measure == "OR":
        return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
    if measure == "RR":
        return np.log(p1 / p2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    if measure == "RD":
        d1, d2 = (n1, n2) if vtype == "LS" else (n1 - 1, n2 - 1)
        return p1 - p2, p1 * (1 - p1) / d1 + p2 * (1 - p2) / d2
    # PETO: one-step estimate from observed minus expected events in group 1.
    total = n1 + n2
    events, non_events = ai + ci, bi + di
    expected = events * n1 / total
    hypergeometric_var = events * non_events * n1 * n2 / (total**2 * (total - 1))
    return (ai - expected) / hypergeometric_var, 1 / hypergeometric_var


def _cells_from_size(
    context: str, data: dict[str, np.ndarray], *, events: str, cells: str, size: str
) -> np.ndarray:
    """Non-event cells from ``bi``/``di``, or from the group size when only that is given."""
    ev = data[events]
    if size in data:
        n = data[size]
        check_rows(context, events, ev, lambda x: x <= n, f"<= {size} (events > group size)")
        from_size = n - ev
        if cells not in data:
            return from_size
        given = data[cells]
        check_rows(
            context,
            size,
            n,
            lambda x: np.isnan(given) | np.isnan(ev) | np.isclose(x, ev + given, rtol=0, atol=1e-9),
            f"equal to {events} + {cells}",
        )
        return np.where(np.isnan(given), from_size, given)
    return data[cells]


def _two_group(
    context: str, measure: str, data: dict[str, np.ndarray], *, vtype: str
) -> tuple[np.ndarray, np.ndarray]:
    m1, sd1, n1 = data["m1i"], data["sd1i"], data["n1i"]
    m2, sd2, n2 = data["m2i"], data["sd2i"], data["n2i"]
    check_rows(context, "sd1i", sd1, lambda x: x > 0, "> 0")
    check_rows(context, "sd2i", sd2, lambda x: x > 0, "> 0")
    min_n = 2 if measure in ("SMD", "SMDH") else 1
    check_rows(context, "n1i", n1, lambda x: x >= min_n, f">= {min_n}")
    check_rows(context, "n2i", n2, lambda x: x >= min_n, f">= {min_n}")

    df = n1 + n2 - 2
    sd_pooled = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    if measure == "MD":
        if vtype == "HO":
            return m1 - m2, sd_pooled**2 * (1 / n1 + 1 / n2)
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    if measure == "ROM":
        check_rows(context, "m1i", m1, lambda x: x > 0, "> 0 for ROM (a ratio of means)")
        check_rows(context, "m2i", m2, lambda x: x > 0, "> 0 for ROM (a ratio of means)")
        s1, s2 = (sd_pooled, sd_pooled) if vtype == "HO" else (sd1, sd2)
        return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
    j = hedges_correction(df)
    if measure == "SMD":
        d = (m1 - m2) / sd_pooled
        g = j * d
        if vtype == "UB":
            return g, 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * j**2)) * g**2
        if vtype == "LS2":
            return g, j**2 * (1 / n1 + 1 / n2 + d**2 / (2 * (n1 + n2)))
        return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    # SMDH: standardized by the root of the average of the two variances (Bonett 2009).
    var_sum = sd1**2 + sd2**2
    g = j * (m1 - m2) / np.sqrt(var_sum / 2)
    vi = g**2 * (sd1**4 / (n1 - 1) + sd2**4 / (n2 - 1)) / (2 * var_sum**2) + (
        sd1**2 / (n1 - 1) + sd2**2 / (n2 - 1)
    ) / (var_sum / 2)
    return g, j**2 * vi


def _change(
    context: str, measure: str, data: dict[str, np.ndarray], *, vtype: str
) -> tuple[np.ndarray, np.ndarray]:
    m1, m2, sd1, n, r = data["m1i"], data["m2i"], data["sd1i"], data["ni"], data["ri"]
    check_rows(context, "sd1i", sd1, lambda x: x > 0, "> 0")
    check_rows(context, "ri", r, lambda x: np.abs(x) <= 1, "between -1 and 1")
    min_n = 1 if measure == "MC" else 3
    check_rows(context, "ni", n, lambda x: x >= min_n, f">= {min_n}")
    change = m1 - m2
    if measure == "SMCR":
        j = hedges_correction(n - 1)
        d = change / sd1
        g = j * d
        if vtype == "LS2":
            return g, j**2 * (2 * (1 - r) / n + d**2 / (2 * n))
        return g, 2 * (1 - r) / n + g**2 / (2 * n)

    sd2 = data["sd2i"]
    # sd2i = 0 with ri = 0 is metafor's way to pass the SD of the change scores as sd1i.
    check_rows(
        context,
        "sd2i",
        sd2,
        lambda x: (x > 0) | ((x == 0) & (r == 0)),
        "> 0 (or 0 with ri = 0 when sd1i is the SD of the change scores)",
    )
    var_change = sd1**2 + sd2**2 - 2 * r * sd1 * sd2
    if measure == "MC":
        return change, var_change / n
    j = hedges_correction(n - 1)
    d = change / np.sqrt(var_change)
    g = j * d
    if vtype == "LS2":
        return g, j**2 * (1 / n + d**2 / (2 * n))
    return g, 1 / n + g**2 / (2 * n)
