"""Plot tables as data: rows, order, weights, text columns, markers, axes (no rendering)."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest
from tests.unit.plots.synthetic import HOSTILE, build_tables

from ldn_evidence.plots._text import MINUS, TIER_MARK, fmt_num
from ldn_evidence.plots.table_condition import (
    build_effect_direction_table,
    build_evidence_map_table,
    build_flow_table,
    build_rob_summary_table,
    build_rob_table,
)
from ldn_evidence.plots.table_forest import build_forest_table
from ldn_evidence.plots.table_funnel import build_funnel_table, funnel_reason


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_tables()


def _parts(t, aid):
    an, mem = t["analyses"], t["analysis_members"]
    a = an[(an.analysis_id == aid) & (an.scenario == "main")].iloc[0]
    m = mem[(mem.analysis_id == aid) & (mem.scenario == "main")]
    sg = an[(an.analysis_id == aid) & an.scenario.str.startswith("subgroup:")]
    return a, m, sg


def forest(t, aid):
    return build_forest_table(*_parts(t, aid))


def test_forest_k3_rows_order_weights_and_text(tables):
    ft = forest(tables, "pain_rct")
    rows = ft.rows
    assert list(rows["kind"]) == ["study"] * 3 + ["pooled", "prediction"]
    studies = rows[rows["kind"] == "study"]
    assert list(studies["label"]) == ["Bested 2023", "Bruun 2024", "Younger 2013"]
    assert studies["weight"].sum() == pytest.approx(100.0, abs=1e-9)
    a, m, _ = _parts(tables, "pain_rct")
    for _, r in studies.iterrows():
        mr = m[m["label"] == r["label"]].iloc[0]
        assert r["effect"] == (
            f"{fmt_num(mr.yi)} [{fmt_num(mr.ci_low, nan='NA')}, {fmt_num(mr.ci_high)}]"
        )
        assert r["weight_text"] == f"{mr.weight_percent:.1f}%"
        assert r["arm1"] == str(mr.n_ldn) and r["arm2"] == str(mr.n_ctl)
    # tiers C-E: open square and dagger; tier A: filled square
    by_label = studies.set_index("label")
    assert by_label.loc["Bruun 2024", "marker"] == "square"
    assert by_label.loc["Bruun 2024", "tier"] == "A"
    assert by_label.loc["Younger 2013", "marker"] == "square_open"
    assert by_label.loc["Younger 2013", "tier"] == "D" + TIER_MARK
    assert any(f.startswith(TIER_MARK) for f in ft.footnotes)
    pooled = rows[rows["kind"] == "pooled"].iloc[0]
    assert pooled["marker"] == "diamond"
    assert (pooled["x"], pooled["x_lo"], pooled["x_hi"]) == (a.estimate, a.ci_low, a.ci_high)
    assert pooled["arm1"] == str(int(m["n_ldn"].sum()))
    pi = rows[rows["kind"] == "prediction"].iloc[0]
    assert pi["marker"] == "pi_bar" and (pi["x_lo"], pi["x_hi"]) == (a.pi_low, a.pi_high)
    assert ft.footer[0].startswith("Heterogeneity: \u03c4\u00b2 = ")
    assert "I\u00b2 = " in ft.footer[0] and "Q = " in ft.footer[0]
    assert ft.footer[1] == (
        f"Test for overall effect: t = {a.stat:.2f}, df = {a.df:.0f} (p = {a.pval:.3f})"
        if a.pval < 0.1
        else f"Test for overall effect: t = {a.stat:.2f}, df = {a.df:.0f} (p = {a.pval:.2f})"
    )
    assert "REML" in ft.footer[2] and "Hartung-Knapp" in ft.footer[2]
    assert (ft.favours_left, ft.favours_right) == ("favours control", "favours LDN")
    assert [c.key for c in ft.columns_right] == ["effect", "weight"]


def test_prediction_row_only_for_pooled_k3_or_more(tables):
    main = tables["analyses"][tables["analyses"]["scenario"] == "main"]
    for _, a in main.iterrows():
        ft = forest(tables, a.analysis_id)
        has_pi = (ft.rows["kind"] == "prediction").any()
        assert has_pi == (bool(a.pooled) and a.k >= 3), a.analysis_id
        assert (ft.rows["kind"] == "pooled").any() == bool(a.pooled)


def test_weights_sum_to_100_in_every_pooled_analysis(tables):
    main = tables["analyses"][tables["analyses"]["scenario"] == "main"]
    for aid in main["analysis_id"]:
        st = forest(tables, aid).rows.query("kind == 'study'")
        assert st["weight"].sum() == pytest.approx(100.0, abs=1e-9), aid


def test_single_study_has_no_diamond_and_says_why(tables):
    ft = forest(tables, "fatigue_k1")
    assert list(ft.rows["kind"]) == ["study", "note"]
    assert "diamond" not in set(ft.rows["marker"])
    assert "Single study (k = 1)" in ft.rows.iloc[1]["label"]
    assert ft.footer == ()
    assert [c.key for c in ft.columns_right] == ["effect"]  # no weight column
    assert ft.rows.iloc[0]["label"] == HOSTILE[3]  # very long name kept whole


def test_k2_has_no_prediction_interval_and_a_note(tables):
    ft = forest(tables, "sleep_k2")
    assert list(ft.rows["kind"]) == ["study", "study", "pooled"]
    assert any("No prediction interval for k = 2" in f for f in ft.footnotes)


def test_hostile_labels_are_kept_verbatim(tables):
    ft = forest(tables, "qol_k30")
    labels = set(ft.rows["label"])
    for h in HOSTILE:
        assert h in labels
    assert "$x^2$ Dollar & Co 2021" in labels  # no mathtext, no escaping in the table


def test_ratio_measure_natural_scale_events_and_zero_cells(tables):
    ft = forest(tables, "response_rr")
    assert ft.axis.log_scale and ft.axis.null == 0.0
    assert "1" in ft.axis.labels
    st = ft.rows[ft.rows["kind"] == "study"].set_index("label")
    a = st.loc["Alpha 2019"]
    assert a["arm1"] == "12/40" and a["arm2"] == "8/41"
    assert a["effect"].startswith(fmt_num(math.exp(a["x"]), ratio=True) + " [")
    dz = st.loc["Double-zero 2023"]
    assert dz["effect"] == "not estimable" and dz["marker"] == "none" and dz["weight"] == 0.0
    assert any(f.startswith("Not estimable") for f in ft.footnotes)
    assert st.loc["Zero-event 2020", "arm1"] == "0/25"
    pooled = ft.rows[ft.rows["kind"] == "pooled"].iloc[0]
    assert pooled["arm1"] == "41/170" and pooled["arm2"] == "34/168"


def test_ratio_of_lower_is_better_outcome_is_shown_ldn_vs_control(tables):
    a, m, sg = _parts(tables, "response_rr")
    a = a.copy()
    a["better_direction"] = "lower"
    ft = build_forest_table(a, m, sg)
    pooled = ft.rows[ft.rows["kind"] == "pooled"].iloc[0]
    assert pooled["x"] == -a.estimate
    assert pooled["effect"].startswith(fmt_num(math.exp(-a.estimate), ratio=True))
    assert (ft.favours_left, ft.favours_right) == ("favours LDN", "favours control")
    assert "below 1 = fewer with LDN" in ft.scale_label


def test_subgroup_panels_with_their_own_diamonds(tables):
    ft = forest(tables, "mood_design")
    kinds = list(ft.rows["kind"])
    assert kinds == [
        "subgroup_header",
        "study",
        "study",
        "study",
        "subgroup_pooled",
        "subgroup_note",
        "subgroup_header",
        "study",
        "study",
        "subgroup_pooled",
        "subgroup_note",
        "pooled",
        "prediction",
    ]
    heads = ft.rows[ft.rows["kind"] == "subgroup_header"]["label"].tolist()
    assert heads == ["parallel RCT", "crossover RCT"]  # design order of the vocabulary
    an = tables["analyses"]
    for v in ("parallel_rct", "crossover_rct"):
        sub = an[(an.analysis_id == "mood_design") & (an.scenario == f"subgroup:{v}")].iloc[0]
        row = ft.rows[(ft.rows["kind"] == "subgroup_pooled") & (ft.rows["subgroup"] == v)].iloc[0]
        assert (row["x"], row["x_lo"], row["x_hi"]) == (sub.estimate, sub.ci_low, sub.ci_high)
        w = ft.rows[(ft.rows["kind"] == "study") & (ft.rows["subgroup"] == v)]["weight"].sum()
        assert row["weight_text"] == f"{w:.1f}%"


def test_axis_keeps_null_in_middle_and_clips_extreme_ci_with_arrows(tables):
    for aid in ("pain_rct", "qol_k30", "response_rr", "sleep_k2", "fatigue_k1"):
        ax = forest(tables, aid).axis
        f = (ax.null - ax.lo) / (ax.hi - ax.lo)
        assert 0.2 <= f <= 0.8, aid
        assert ax.ticks[0] == ax.lo and ax.ticks[-1] == ax.hi
    ft = forest(tables, "qol_k30")
    st = ft.rows[ft.rows["kind"] == "study"]
    ext = st[st["label"] == "Study H 1997"].iloc[0]
    assert ext["arrow_low"] and ext["arrow_high"]
    assert (st["arrow_low"] == (st["x_lo"] < ft.axis.lo)).all()
    assert (st["arrow_high"] == (st["x_hi"] > ft.axis.hi)).all()
    assert ((st["x"] >= ft.axis.lo) & (st["x"] <= ft.axis.hi)).all()  # every square visible


def test_logit_proportions_on_a_percent_axis(tables):
    a, m, sg = _parts(tables, "remission_pr")
    a, m = a.copy(), m.copy()
    a["measure"] = "PLO"
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    m["measure"] = "PLO"
    m["yi"] = [logit(0.67), logit(0.45), logit(0.52)]
    m["ci_low"] = m["yi"] - 0.5
    m["ci_high"] = m["yi"] + 0.5
    a["estimate"], a["ci_low"], a["ci_high"] = logit(0.53), logit(0.4), logit(0.66)
    m["events_ldn"] = pd.array([11, 18, 13], dtype="Int64")
    ft = build_forest_table(a, m, sg)
    assert ft.columns_left[-1].header == ("LDN", "events/N")
    # members are in study-id order (Lie2018, Open2021, Smith2007), rows in label order
    assert ft.rows.loc[ft.rows["kind"] == "study", "arm1"].tolist() == ["11/40", "18/25", "13/17"]
    assert ft.axis.scale == "logit" and ft.axis.null is None
    assert all(lab.endswith("%") for lab in ft.axis.labels)
    pooled = ft.rows[ft.rows["kind"] == "pooled"].iloc[0]
    assert pooled["effect"] == "53.0% [40.0%, 66.0%]"
    assert (ft.favours_left, ft.favours_right) == ("", "")
    assert "H0: proportion = 50%" in ft.footer[1]


def test_negative_numbers_use_the_minus_sign():
    assert fmt_num(-0.5) == MINUS + "0.50"
    assert fmt_num(-0.0) == "0.00"


def test_funnel_only_from_k10(tables):
    for aid in ("pain_rct", "sleep_k2", "fatigue_k1", "mood_design"):
        a, m, _ = _parts(tables, aid)
        assert funnel_reason(a, m) is not None
    a, m, _ = _parts(tables, "response_rr")
    assert funnel_reason(a, m) == (
        "k = 4 < 10: too few studies to judge funnel asymmetry (Sterne et al. 2011)."
    )
    a, m, _ = _parts(tables, "qol_k30")
    assert funnel_reason(a, m) is None
    ft = build_funnel_table(a, m)
    assert len(ft.points) == 30
    assert ft.points["se"].is_monotonic_increasing
    assert ft.se_max >= ft.points["se"].max()
    assert [p for p, _ in ft.contours] == [0.10, 0.05, 0.01]


def test_evidence_map_rows_grouped_by_domain(tables):
    em = build_evidence_map_table("synthetic", tables["analyses"], tables["analysis_members"], None)
    rows = em.rows
    main = tables["analyses"].query("scenario == 'main'")
    assert sorted(rows.loc[rows["kind"] == "analysis", "analysis_id"]) == sorted(
        main["analysis_id"]
    )
    # a domain header before each group, vocabulary order
    doms = rows.loc[rows["kind"] == "domain", "label"].tolist()
    assert doms[:3] == ["Pain", "Fatigue", "Quality of life"]
    assert em.color_by == "stratum"
    assert {f.key for f in em.families} == {"std", "ratio", "pr"}
    fam = rows.set_index("analysis_id")["family"]
    assert fam["response_rr"] == "ratio" and fam["remission_pr"] == "pr"
    assert not rows.set_index("analysis_id").loc["fatigue_k1", "pooled"]
    cert = pd.DataFrame({"analysis_id": ["pain_rct"], "certainty": ["low"]})
    em2 = build_evidence_map_table(
        "synthetic", tables["analyses"], tables["analysis_members"], cert
    )
    assert em2.color_by == "certainty"
    assert dict(em2.legend) == {"low": "Low", "not_rated": "Not rated"}


def test_effect_direction_table(tables):
    ed = build_effect_direction_table("synthetic", tables["narrative"], tables["studies"])
    assert "Tamariz2024" not in set(ed.cells["study_id"])  # excluded study left out
    assert ed.studies["study_id"].tolist()[:3] == ["Bruun2024", "Bested2023", "Younger2013"]
    met = ed.cells[ed.cells["study_id"] == "Metyas2018"]
    assert met["slot"].tolist() == [0, 1] and set(met["direction"]) == {
        "better_with_ldn",
        "worse_with_ldn",
    }
    sizes = ed.cells.set_index(["study_id", "domain"])["size_class"]
    assert sizes[("Bested2023", "adverse_events")] == "large"
    assert sizes[("Bruun2024", "pain_sensitivity")] == "medium"
    assert sizes[("Younger2009", "pain")] == "small"


def test_rob_tables(tables):
    rob = build_rob_table("synthetic", tables["studies"])
    inc = tables["studies"].query("inclusion_status == 'include'")
    assert sorted(rob.rows["study_id"]) == sorted(inc["id"])
    assert rob.provisional and rob.columns == (("overall", "Overall"),)
    rs = build_rob_summary_table("synthetic", tables["studies"])
    for _, g in rs.bars.groupby("bar"):
        assert g["percent"].sum() == pytest.approx(100.0)
    unweighted = rs.bars[rs.bars["bar"].str.contains("unweighted")].set_index("level")
    assert unweighted["count"].sum() == len(inc)


def test_flow_counts_add_up(tables):
    fl = build_flow_table(
        "synthetic",
        tables["studies"],
        tables["analyses"],
        tables["analysis_members"],
        tables["narrative"],
    )
    assert fl.n_extracted == fl.n_included + fl.n_excluded
    assert fl.n_included == fl.n_pooled + fl.n_single + fl.n_narrative
    reasons = {r: n for r, n, _ in fl.excluded}
    assert reasons == {"Protocol or registered trial without results": 2, "Unverified source": 1}
    assert "Metyas2018" in fl.ids["narrative"]
    assert "Bruun2024" in fl.ids["pooled"]


def test_table_builders_import_without_matplotlib():
    code = (
        "import sys\n"
        "import ldn_evidence.plots, ldn_evidence.plots.table_forest, "
        "ldn_evidence.plots.table_funnel, ldn_evidence.plots.table_condition, "
        "ldn_evidence.plots.render\n"
        "assert not any(m.startswith(('matplotlib', 'seaborn')) for m in sys.modules), "
        "'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pre_post_favours_labels_name_before_and_after(tables):
    ft = forest(tables, "activity_prepost")
    assert (ft.favours_left, ft.favours_right) == ("worse after LDN", "better after LDN")
    assert [c.key for c in ft.columns_left][-1] == "arm1"  # single arm: no control column


def test_condition_without_analyses(tables):
    an = tables["analyses"].iloc[0:0]
    mem = tables["analysis_members"].iloc[0:0]
    fl = build_flow_table("s", tables["studies"], an, mem, tables["narrative"])
    assert fl.n_pooled == fl.n_single == 0 and fl.n_narrative == fl.n_included
    em = build_evidence_map_table("s", an, mem)
    assert em.families == () and len(em.rows) == 0


def test_single_arm_proportion_text_is_the_observed_proportion_with_wilson_ci():
    import pandas as pd

    from ldn_evidence.plots.table_forest import _study_effect_text

    row = pd.Series({"proportion": 0.0, "proportion_ci_low": 0.0, "proportion_ci_high": 0.2991})
    # 0/9 with 1/2 added to both cells would back-transform to 5%: the text shows 0%
    assert _study_effect_text(row, -2.944, -4.9, -1.0, "logit") == "0.0% [0.0%, 29.9%] (Wilson)"


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_forest_row_order_is_pandas_stable_sort_order(dtype):
    """The forest's row order, sorted in Python, is that of pandas' stable multi-key sort,
    with missing values last and ties kept in row order (the frame sort it replaced)."""
    from ldn_evidence.plots.table_forest import _sorted_positions

    frame = pd.DataFrame(
        {
            "_sort": ["b", "a", "b", "é", "a", "z", "b", "a"],
            "study_id": ["S2", None, "S1", "S1", "S10", "S2", "S1", "S9"],
            "outcome_id": ["o1", "o2", None, "o1", "o1", "o3", "o1", "o1"],
        },
        dtype=dtype,
    )
    by = ("_sort", "study_id", "outcome_id")
    expected = frame.sort_values(list(by), kind="mergesort").index.tolist()
    assert _sorted_positions(frame, by) == expected


def test_arm_totals_with_crossover_trials_are_explained(tables):
    crossover_note = "Arm totals count each crossover trial's participants in both arms"
    seen = set()
    for aid in ("pain_rct", "response_rr", "sleep_k2", "qol_k30"):
        a, m, sg = _parts(tables, aid)
        ft = build_forest_table(a, m, sg)
        has_crossover = bool(m["design"].isin(["crossover_rct", "nonrandomized_crossover"]).any())
        assert any(f.startswith(crossover_note) for f in ft.footnotes) == has_crossover, aid
        seen.add(has_crossover)
    assert seen == {True, False}  # both cases are exercised
    # a single crossover trial has no totals row to explain
    a, m, sg = _parts(tables, "fatigue_k1")
    ft = build_forest_table(a, m.assign(design="crossover_rct"), sg)
    assert not any(f.startswith(crossover_note) for f in ft.footnotes)
