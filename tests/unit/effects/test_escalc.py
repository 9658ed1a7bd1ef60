"""Unit tests for ldn_evidence.effects.escalc: hand-computed values, zero cells, errors, NaN.

The number-for-number comparison with metafor is in tests/reference/metafor/.
"""

import math

import numpy as np
import pandas as pd
import pytest

from ldn_evidence.effects import escalc


def smd_inputs(**overrides):
    data = {
        "m1i": [10.0, 12.0],
        "sd1i": [2.0, 3.0],
        "n1i": [20, 15],
        "m2i": [8.0, 12.5],
        "sd2i": [2.5, 3.0],
        "n2i": [22, 15],
    }
    data.update(overrides)
    return data


def test_smd_is_hedges_g_with_exact_gamma_correction():
    out = escalc("SMD", **smd_inputs())
    sd_pooled = math.sqrt((19 * 4 + 21 * 6.25) / 40)
    j = math.gamma(20) / (math.sqrt(20) * math.gamma(19.5))  # J(40), Hedges 1981
    g = j * 2.0 / sd_pooled
    assert out["yi"][0] == pytest.approx(g, rel=1e-12)
    assert out["vi"][0] == pytest.approx(1 / 20 + 1 / 22 + g**2 / (2 * 42), rel=1e-12)
    assert list(out.columns) == ["yi", "vi"]
    assert isinstance(out.index, pd.RangeIndex) and len(out) == 2


def test_md_and_rom_by_hand():
    md = escalc("MD", **smd_inputs())
    assert md["yi"][0] == 2.0
    assert md["vi"][0] == pytest.approx(4 / 20 + 6.25 / 22)
    rom = escalc("ROM", **smd_inputs())
    assert rom["yi"][0] == pytest.approx(math.log(10 / 8))
    assert rom["vi"][0] == pytest.approx(4 / (20 * 100) + 6.25 / (22 * 64))


def test_change_measures_use_m1i_minus_m2i():
    data = {"m1i": [38.5], "m2i": [30.6], "sd1i": [15.0], "sd2i": [11.6], "ni": [20], "ri": [0.47]}
    mc = escalc("MC", **data)
    assert mc["yi"][0] == pytest.approx(7.9)
    var_change = 15.0**2 + 11.6**2 - 2 * 0.47 * 15.0 * 11.6
    assert mc["vi"][0] == pytest.approx(var_change / 20)
    smcr = escalc("SMCR", **data)
    assert smcr["yi"][0] > 0


def test_change_sd_can_be_passed_as_sd1i_with_sd2i_and_ri_zero():
    # metafor's documented convention for a reported SD of the change scores.
    out = escalc("SMCC", m1i=[5.0], m2i=[0.0], sd1i=[10.0], sd2i=[0.0], ri=[0.0], ni=[30])
    j = math.gamma(14.5) / (math.sqrt(14.5) * math.gamma(14))
    assert out["yi"][0] == pytest.approx(j * 0.5)


# --- zero cells -------------------------------------------------------------------------------

ZERO_TABLE = {"ai": [0, 3], "bi": [10, 7], "ci": [2, 4], "di": [8, 6]}


def test_only0_corrects_only_tables_with_a_zero_cell():
    out = escalc("OR", **ZERO_TABLE)
    assert out["yi"][0] == pytest.approx(math.log(0.5 * 8.5 / (10.5 * 2.5)))
    assert out["vi"][0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 2.5 + 1 / 8.5)
    assert out["yi"][1] == pytest.approx(math.log(3 * 6 / (7 * 4)))


def test_all_corrects_every_table():
    out = escalc("OR", to="all", **ZERO_TABLE)
    assert out["yi"][1] == pytest.approx(math.log(3.5 * 6.5 / (7.5 * 4.5)))


def test_if0all_corrects_every_table_only_when_one_has_a_zero():
    out = escalc("OR", to="if0all", **ZERO_TABLE)
    assert out["yi"][1] == pytest.approx(math.log(3.5 * 6.5 / (7.5 * 4.5)))
    no_zero = escalc("OR", to="if0all", ai=[3], bi=[7], ci=[4], di=[6])
    assert no_zero["yi"][0] == pytest.approx(math.log(3 * 6 / (7 * 4)))


def test_none_leaves_zero_cells_and_gives_nan_where_undefined():
    out = escalc("OR", to="none", **ZERO_TABLE)
    assert np.isnan(out["yi"][0]) and np.isnan(out["vi"][0])
    assert out["yi"][1] == pytest.approx(math.log(3 * 6 / (7 * 4)))
    same = escalc("OR", add=0, **ZERO_TABLE)
    assert np.isnan(same["yi"][0])


def test_rd_gets_the_same_correction_as_the_ratio_measures():
    # metafor 3.8-1's escalc adds to RD tables too (rma.mh, not escalc, pools RD uncorrected).
    out = escalc("RD", ai=[0], n1i=[10], ci=[2], n2i=[10])
    assert out["yi"][0] == pytest.approx(0.5 / 11 - 2.5 / 11)
    raw = escalc("RD", to="none", ai=[0], n1i=[10], ci=[2], n2i=[10])
    assert raw["yi"][0] == pytest.approx(-0.2)
    assert raw["vi"][0] == pytest.approx(0.2 * 0.8 / 10)


def test_drop00_drops_double_zero_and_double_full_tables():
    data = {"ai": [0, 10, 1], "n1i": [10, 10, 10], "ci": [0, 12, 0], "n2i": [12, 12, 12]}
    kept = escalc("OR", **data)
    assert not kept["yi"].isna().any()
    dropped = escalc("OR", drop00=True, **data)
    assert dropped["yi"].isna().tolist() == [True, True, False]
    assert dropped["vi"].isna().tolist() == [True, True, False]


def test_drop00_rows_do_not_trigger_if0all():
    data = {"ai": [0, 3], "n1i": [10, 10], "ci": [0, 4], "n2i": [10, 10]}
    out = escalc("OR", to="if0all", drop00=True, **data)
    assert out["yi"][1] == pytest.approx(math.log(3 * 6 / (7 * 4)))


def test_bi_and_n1i_may_both_be_given_when_consistent():
    a = escalc("RR", ai=[3], bi=[7], n1i=[10], ci=[4], n2i=[10])
    b = escalc("RR", ai=[3], n1i=[10], ci=[4], di=[6])
    pd.testing.assert_frame_equal(a, b)


# --- missing values -----------------------------------------------------------------------------


def test_missing_values_give_nan_rows_without_warnings():
    out = escalc("SMD", **smd_inputs(sd1i=[np.nan, 3.0]))
    assert np.isnan(out["yi"][0]) and np.isnan(out["vi"][0])
    assert np.isfinite(out["yi"][1])
    binary = escalc("OR", ai=[None, 3], n1i=[10, 10], ci=[2, 4], n2i=[10, 10])
    assert binary["yi"].isna().tolist() == [True, False]


def test_pandas_nullable_columns_are_accepted():
    frame = pd.DataFrame(smd_inputs()).astype("Float64")
    frame.loc[1, "m1i"] = pd.NA
    out = escalc("MD", **{name: frame[name] for name in frame.columns})
    assert out["yi"].isna().tolist() == [False, True]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "data", "message"),
    [
        (
            "SMD",
            smd_inputs(sd1i=[2.0, -1.0]),
            "escalc(measure='SMD'): sd1i must be > 0; row 1 (-1)",
        ),
        ("MD", smd_inputs(sd2i=[0.0, 3.0]), "escalc(measure='MD'): sd2i must be > 0; row 0 (0)"),
        ("SMD", smd_inputs(n1i=[1, 15]), "escalc(measure='SMD'): n1i must be >= 2; row 0 (1)"),
        (
            "SMDH",
            smd_inputs(n2i=[1, 1]),
            "escalc(measure='SMDH'): n2i must be >= 2; rows 0, 1 (1, 1)",
        ),
        (
            "ROM",
            smd_inputs(m2i=[8.0, -1.0]),
            "escalc(measure='ROM'): m2i must be > 0 for ROM (a ratio of means); row 1 (-1)",
        ),
        (
            "OR",
            {"ai": [5, 12], "n1i": [10, 10], "ci": [1, 1], "n2i": [10, 10]},
            "escalc(measure='OR'): ai must be <= n1i (events > group size); row 1 (12)",
        ),
        (
            "RR",
            {"ai": [-1, 2], "n1i": [10, 10], "ci": [1, 1], "n2i": [10, 10]},
            "escalc(measure='RR'): ai must be >= 0; row 0 (-1)",
        ),
        (
            "RD",
            {"ai": [1, 2], "bi": [9, 8], "ci": [1, 1], "di": [9, -9]},
            "escalc(measure='RD'): di must be >= 0; row 1 (-9)",
        ),
        (
            "OR",
            {"ai": [3], "bi": [7], "n1i": [11], "ci": [1], "n2i": [10]},
            "escalc(measure='OR'): n1i must be equal to ai + bi; row 0 (11)",
        ),
        (
            "SMCR",
            {
                "m1i": [1, 2, 3],
                "m2i": [0, 0, 0],
                "sd1i": [1, 1, 1],
                "ni": [10, 10, 10],
                "ri": [1.5, 0.5, -2],
            },
            "escalc(measure='SMCR'): ri must be between -1 and 1; rows 0, 2 (1.5, -2)",
        ),
        (
            "SMCC",
            {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [2], "ri": [0.5]},
            "escalc(measure='SMCC'): ni must be >= 3; row 0 (2)",
        ),
        (
            "MC",
            {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [0], "ni": [20], "ri": [0.5]},
            "escalc(measure='MC'): sd2i must be > 0 (or 0 with ri = 0 when sd1i is the SD of "
            "the change scores); row 0 (0)",
        ),
    ],
)
def test_invalid_values_name_the_argument_and_row(measure, data, message):
    with pytest.raises(ValueError) as err:
        escalc(measure, **data)
    assert str(err.value) == message


def test_missing_required_argument():
    data = smd_inputs()
    del data["sd2i"]
    with pytest.raises(ValueError) as err:
        escalc("SMD", **data)
    assert str(err.value) == "escalc(measure='SMD'): missing required argument(s) sd2i"


def test_missing_binary_size_names_both_alternatives():
    with pytest.raises(ValueError) as err:
        escalc("OR", ai=[1], bi=[9], ci=[2])
    assert str(err.value) == "escalc(measure='OR'): missing required argument(s) di (or n2i)"


def test_unknown_measure():
    with pytest.raises(ValueError) as err:
        escalc("HR", ai=[1])
    assert str(err.value) == (
        "escalc(measure='HR'): unknown measure; expected one of "
        "MD, SMD, SMDH, ROM, OR, RR, RD, PETO, MC, SMCC, SMCR"
    )


def test_unexpected_argument_is_named():
    with pytest.raises(ValueError, match=r"unexpected argument\(s\) sd1"):
        escalc("MD", sd1=[1.0], **smd_inputs())


def test_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="arrays must all have the same length"):
        escalc("MD", **smd_inputs(m1i=[1.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "some"}, "to must be one of"),
        ({"vtype": "HO"}, "vtype must be one of ('LS', 'UB', 'LS2'); got 'HO'"),
        ({"add": -0.5}, "add must be a finite number >= 0"),
    ],
)
def test_invalid_options(kwargs, message):
    with pytest.raises(ValueError) as err:
        escalc("SMD", **kwargs, **smd_inputs())
    assert message in str(err.value)
