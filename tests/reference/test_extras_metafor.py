"""Leave-one-out, subgroups, meta-regression, Egger, trim-and-fill and Mantel-Haenszel
against metafor.

The reference numbers are in ``metafor/extras_reference.json``, written by
``metafor/extras_reference.R`` (R and metafor versions recorded in the file). This test needs
no R. Iterative tau^2 estimators were run in R with ``threshold = 1e-10``; we pass the same
threshold to ``pool`` so both sit at the optimum.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    CLOSED_FORM,
    HETEROGENEITY_PERCENT,
    ITERATIVE_DERIVED,
    ITERATIVE_TAU2,
    PVALUE,
)

from ldn_evidence.meta.bias import egger_test, trim_and_fill
from ldn_evidence.meta.influence import leave_one_out
from ldn_evidence.meta.mantel_haenszel import mantel_haenszel
from ldn_evidence.meta.metareg import meta_regression
from ldn_evidence.meta.subgroups import subgroup_analysis

HERE = Path(__file__).parent
DATA = HERE / "data"
REF = json.loads((HERE / "metafor" / "extras_reference.json").read_text(encoding="utf-8"))

#: Passed to pool() so that iterative estimators converge as tightly as the R references.
TIGHT = {"threshold": 1e-10, "maxiter": 1000}

ITERATIVE = {"REML", "ML", "PM", "EB", "SJ"}

# ---------------------------------------------------------------------------------------------
# The grid of reference cases. Adding a case to the R script without listing it here, or
# dropping one from the R script, fails test_reference_grid_is_complete.
# ---------------------------------------------------------------------------------------------
LEAVE1OUT_CASES = [
    ("bcg", "REML", "knha"),
    ("bcg", "DL", "z"),
    ("bcg", "EE", "z"),
    ("egger2001", "REML", "knha"),
    ("hackshaw1998", "REML", "knha"),
    ("hackshaw1998", "PM", "z"),
]
SUBGROUP_CASES = [
    ("bcg", "alloc", "REML", "knha"),
    ("bcg", "alloc", "DL", "z"),
    ("bcg", "alloc", "REML", "z"),
    ("bcg", "era", "REML", "knha"),
]
METAREG_CASES = [
    ("bcg", ("ablat",), "REML", "knha"),
    ("bcg", ("ablat",), "REML", "z"),
    ("bcg", ("ablat",), "ML", "z"),
    ("bcg", ("ablat",), "DL", "knha"),
    ("bcg", ("ablat",), "HE", "z"),
    ("bcg", ("ablat",), "FE", "z"),
    ("bcg", ("ablat", "year"), "REML", "knha"),
    ("bcg", ("ablat", "year"), "ML", "knha"),
]
REGTEST_CASES = [
    ("bcg", "rma", "REML", "knha"),
    ("bcg", "rma", "REML", "z"),
    ("bcg", "lm", None, None),
    ("hackshaw1998", "rma", "REML", "knha"),
    ("hackshaw1998", "rma", "DL", "z"),
    ("hackshaw1998", "lm", None, None),
    ("egger2001", "rma", "REML", "knha"),
    ("egger2001", "rma", "EE", "z"),
    ("egger2001", "lm", None, None),
]
TRIMFILL_CASES = [
    ("hackshaw1998", "EE", "z", "L0"),
    ("hackshaw1998", "REML", "knha", "L0"),
    ("hackshaw1998", "REML", "z", "R0"),
    ("hackshaw1998", "DL", "z", "L0"),
    ("egger2001", "REML", "knha", "L0"),
    ("egger2001", "EE", "z", "R0"),
    ("egger2001", "DL", "z", "L0"),
    ("bcg", "REML", "knha", "L0"),
    ("bcg", "REML", "z", "R0"),
]
MH_CASES = [
    (ds, measure, True)
    for ds in ("egger2001", "collins1985b", "nielweise2007", "yusuf1985_t9")
    for measure in ("OR", "RR", "RD")
] + [("collins1985b", "OR", False), ("nielweise2007", "OR", False)]


def _key_leave1out(c):
    return (c["dataset"], c["method"], c["test"])


def _key_subgroups(c):
    return (c["dataset"], c["grouping"], c["method"], c["test"])


def _key_metareg(c):
    mods = c["moderators"]
    return (c["dataset"], tuple([mods] if isinstance(mods, str) else mods), c["method"], c["test"])


def _key_regtest(c):
    return (c["dataset"], c["model"], c["method"], c["test"])


def _key_trimfill(c):
    return (c["dataset"], c["method"], c["test"], c["estimator"])


def _key_mh(c):
    return (c["dataset"], c["measure"], c["correct"])


GRID = {
    "leave1out": (LEAVE1OUT_CASES, _key_leave1out),
    "subgroups": (SUBGROUP_CASES, _key_subgroups),
    "metareg": (METAREG_CASES, _key_metareg),
    "regtest": (REGTEST_CASES, _key_regtest),
    "trimfill": (TRIMFILL_CASES, _key_trimfill),
    "rma_mh": (MH_CASES, _key_mh),
}


def _case(section: str, key: tuple):
    _, keyfun = GRID[section]
    found = [c for c in REF[section] if keyfun(c) == key]
    assert len(found) == 1, f"{section}: reference case {key} found {len(found)} times"
    return found[0]


# ---------------------------------------------------------------------------------------------
# Data, computed as metafor's escalc does for these datasets.
# ---------------------------------------------------------------------------------------------
def _log_rr(a, b, c, d):
    n1, n2 = a + b, c + d
    return np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2


def _log_or(a, b, c, d):
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def _bcg() -> pd.DataFrame:
    d = pd.read_csv(DATA / "dat.bcg.csv")
    yi, vi = _log_rr(*(d[c].to_numpy(float) for c in ("tpos", "tneg", "cpos", "cneg")))
    return d.assign(yi=yi, vi=vi)


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "bcg":
        d = _bcg()
        return d["yi"].to_numpy(), d["vi"].to_numpy()
    if name == "hackshaw1998":
        d = pd.read_csv(DATA / "dat.hackshaw1998.csv")
        return d["yi"].to_numpy(float), d["vi"].to_numpy(float)
    if name == "egger2001":
        d = pd.read_csv(DATA / "dat.egger2001.csv")
        a, c = d["ai"].to_numpy(float), d["ci"].to_numpy(float)
        return _log_or(a, d["n1i"].to_numpy(float) - a, c, d["n2i"].to_numpy(float) - c)
    raise KeyError(name)


def _tol(method: str | None, kind: str) -> dict:
    """Tolerance for a quantity of ``kind`` under estimator ``method``."""
    if kind == "percent":
        return HETEROGENEITY_PERCENT
    iterative = method in ITERATIVE
    if kind == "tau2":
        return ITERATIVE_TAU2 if iterative else CLOSED_FORM
    if kind == "pval":
        return ITERATIVE_DERIVED if iterative else PVALUE
    return ITERATIVE_DERIVED if iterative else CLOSED_FORM


def _close(actual, expected, tol, what):
    expected = np.asarray([np.nan if x is None else x for x in np.atleast_1d(expected)], float)
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(actual, float)), expected, equal_nan=True, err_msg=what, **tol
    )


# ---------------------------------------------------------------------------------------------
# Grid completeness and provenance
# ---------------------------------------------------------------------------------------------
def test_reference_grid_is_complete():
    for section, (cases, keyfun) in GRID.items():
        in_json = [keyfun(c) for c in REF[section]]
        assert len(in_json) == len(set(in_json)), f"{section}: duplicate reference cases"
        assert set(in_json) == set(cases), (
            f"{section}: reference JSON and test grid differ; "
            f"missing in JSON {sorted(set(cases) - set(in_json), key=str)}, "
            f"not tested {sorted(set(in_json) - set(cases), key=str)}"
        )


def test_reference_records_versions():
    meta = REF["meta"]
    assert meta["metafor_version"]
    assert meta["r_version"].startswith("R version")
    assert meta["control"]["threshold"] == pytest.approx(1e-10)


# ---------------------------------------------------------------------------------------------
# leave1out
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", LEAVE1OUT_CASES, ids=lambda k: "-".join(k))
def test_leave_one_out(key):
    ref = _case("leave1out", key)
    dataset, method, test = key
    yi, vi = _data(dataset)
    res = leave_one_out(yi, vi, method=method, test=test, labels=ref["labels"], **TIGHT)
    frame = res.to_frame()
    assert list(frame["omitted"]) == [str(x) for x in ref["labels"]]
    for ours, theirs, kind in [
        ("estimate", "estimate", "mean"),
        ("se", "se", "mean"),
        ("stat", "stat", "mean"),
        ("pval", "pval", "pval"),
        ("ci_low", "ci_low", "mean"),
        ("ci_high", "ci_high", "mean"),
        ("q", "q", "closed"),
        ("q_pval", "q_pval", "pval_closed"),
        ("tau2", "tau2", "tau2"),
        ("i2", "i2", "percent"),
        ("h2", "h2", "percent"),
    ]:
        if ref[theirs] == []:  # metafor reports no tau2 column for a common-effect model
            assert method == "EE" and np.all(frame[ours] == 0)
            continue
        tol = PVALUE if kind == "pval_closed" else (CLOSED_FORM if kind == "closed" else None)
        _close(frame[ours], ref[theirs], tol or _tol(method, kind), f"{key} {ours}")


# ---------------------------------------------------------------------------------------------
# Subgroups
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", SUBGROUP_CASES, ids=lambda k: "-".join(k))
def test_subgroups(key):
    ref = _case("subgroups", key)
    dataset, _, method, test = key
    yi, vi = _data(dataset)
    res = subgroup_analysis(yi, vi, ref["groups"], method=method, test=test, **TIGHT)
    assert [s.label for s in res.subgroups] == sorted(ref["subgroups"])
    for s in res.subgroups:
        r = ref["subgroups"][s.label]
        assert s.k == r["k"]
        for f in ("estimate", "se", "stat", "ci_low", "ci_high"):
            _close(getattr(s.result, f), r[f], _tol(method, "mean"), f"{key} {s.label} {f}")
        _close(s.result.pval, r["pval"], _tol(method, "pval"), f"{key} {s.label} pval")
        _close(s.result.tau2, r["tau2"], _tol(method, "tau2"), f"{key} {s.label} tau2")
        _close(s.result.i2, r["i2"], HETEROGENEITY_PERCENT, f"{key} {s.label} i2")
        _close(s.result.q, r["q"], CLOSED_FORM, f"{key} {s.label} q")
    # Separate tau^2: Q-between on the subgroup estimates.
    assert res.difference.performed
    assert res.difference.df == (ref["between"]["df"],)
    _close(res.difference.stat, ref["between"]["q"], _tol(method, "mean"), f"{key} Qb")
    _close(res.difference.pval, ref["between"]["pval"], _tol(method, "pval"), f"{key} Qb p")
    # Pooled tau^2: meta-regression on the factor.
    pooled = ref["pooled_tau2"]
    assert res.difference_pooled_tau2.performed
    assert res.difference_pooled_tau2.df == tuple(pooled["qm_df"])
    _close(res.difference_pooled_tau2.stat, pooled["qm"], _tol(method, "mean"), f"{key} QM")
    _close(res.difference_pooled_tau2.pval, pooled["qm_pval"], _tol(method, "pval"), f"{key} p")
    _close(res.metaregression.tau2, pooled["tau2"], _tol(method, "tau2"), f"{key} tau2")
    _close(res.metaregression.qe, pooled["qe"], CLOSED_FORM, f"{key} QE")


# ---------------------------------------------------------------------------------------------
# Meta-regression
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key", METAREG_CASES, ids=lambda k: f"{k[0]}-{'+'.join(k[1])}-{k[2]}-{k[3]}"
)
def test_meta_regression(key):
    ref = _case("metareg", key)
    _, mods, method, test = key
    d = _bcg()
    res = meta_regression(d["yi"], d["vi"], d[list(mods)], method=method, test=test)
    assert list(res.names) == ref["names"]
    for f in ("coef", "se", "stat", "ci_low", "ci_high"):
        _close(getattr(res, f), ref[f], _tol(method, "mean"), f"{key} {f}")
    _close(res.pval, ref["pval"], _tol(method, "pval"), f"{key} pval")
    _close(res.tau2, ref["tau2"], _tol(method, "tau2"), f"{key} tau2")
    if method in ("ML", "REML"):
        _close(res.tau2_se, ref["tau2_se"], ITERATIVE_DERIVED, f"{key} tau2_se")
    for f in ("i2", "h2"):
        _close(getattr(res, f), ref[f], HETEROGENEITY_PERCENT, f"{key} {f}")
    if ref["r2"] is not None:
        _close(res.r2, ref["r2"], HETEROGENEITY_PERCENT, f"{key} R2")
    assert res.qm_df == tuple(ref["qm_df"])
    _close(res.qm, ref["qm"], _tol(method, "mean"), f"{key} QM")
    _close(res.qm_pval, ref["qm_pval"], _tol(method, "pval"), f"{key} QM p")
    assert res.qe_df == ref["qe_df"]
    _close(res.qe, ref["qe"], CLOSED_FORM, f"{key} QE")
    _close(res.qe_pval, ref["qe_pval"], PVALUE, f"{key} QE p")


# ---------------------------------------------------------------------------------------------
# regtest
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", REGTEST_CASES, ids=lambda k: "-".join(str(x) for x in k))
def test_egger(key):
    ref = _case("regtest", key)
    dataset, model, method, test = key
    yi, vi = _data(dataset)
    kwargs = {} if model == "lm" else {"method": method, "test": test}
    res = egger_test(yi, vi, model=model, **kwargs)
    assert res.performed
    _close(res.stat, ref["stat"], _tol(method, "mean"), f"{key} stat")
    _close(res.pval, ref["pval"], _tol(method, "pval"), f"{key} pval")
    _close(res.df, ref["df"], CLOSED_FORM, f"{key} df")
    for ours, theirs in (
        ("limit_estimate", "limit"),
        ("limit_ci_low", "limit_ci_low"),
        ("limit_ci_high", "limit_ci_high"),
    ):
        _close(getattr(res, ours), ref[theirs], _tol(method, "mean"), f"{key} {ours}")


# ---------------------------------------------------------------------------------------------
# trimfill
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", TRIMFILL_CASES, ids=lambda k: "-".join(k))
def test_trim_and_fill(key):
    ref = _case("trimfill", key)
    dataset, method, test, estimator = key
    yi, vi = _data(dataset)
    res = trim_and_fill(yi, vi, method=method, test=test, estimator=estimator, **TIGHT)
    assert res.performed
    assert res.side == ref["side"]
    assert res.k0 == ref["k0"]
    _close(res.se_k0, ref["se_k0"], CLOSED_FORM, f"{key} se_k0")
    _close(res.p_k0, ref["p_k0"], CLOSED_FORM, f"{key} p_k0")
    assert res.adjusted.k == ref["k"]
    for f in ("estimate", "se", "stat", "ci_low", "ci_high"):
        _close(getattr(res.adjusted, f), ref[f], _tol(method, "mean"), f"{key} {f}")
    _close(res.adjusted.pval, ref["pval"], _tol(method, "pval"), f"{key} pval")
    _close(res.adjusted.tau2, ref["tau2"], _tol(method, "tau2"), f"{key} tau2")
    _close(res.filled_yi, ref["filled_yi"], _tol(method, "mean"), f"{key} filled yi")
    _close(res.filled_vi, ref["filled_vi"], CLOSED_FORM, f"{key} filled vi")


# ---------------------------------------------------------------------------------------------
# rma.mh
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", MH_CASES, ids=lambda k: f"{k[0]}-{k[1]}-correct{k[2]}")
def test_mantel_haenszel(key):
    ref = _case("rma_mh", key)
    _, measure, correct = key
    res = mantel_haenszel(
        ref["ai"], ref["bi"], ref["ci"], ref["di"], measure=measure, correct=correct
    )
    assert res.k == ref["k"]
    assert res.k_yi == ref["k_yi"]
    for f in ("estimate", "se", "stat", "ci_low", "ci_high", "q"):
        _close(getattr(res, f), ref[f], CLOSED_FORM, f"{key} {f}")
    for f in ("pval", "q_pval"):
        _close(getattr(res, f), ref[f], PVALUE, f"{key} {f}")
    for f in ("i2", "h2"):
        _close(getattr(res, f), ref[f], HETEROGENEITY_PERCENT, f"{key} {f}")
    for f in ("cochran", "cmh", "breslow_day", "tarone"):
        _close(getattr(res, f), ref[f], CLOSED_FORM, f"{key} {f}")
        _close(getattr(res, f + "_pval"), ref[f + "_pval"], PVALUE, f"{key} {f} p")
    if measure == "OR":
        assert res.k_pos == ref["k_pos"]
