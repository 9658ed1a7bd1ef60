"""Rendering: every figure is written, not blank, without overlapping or clipped text, with
hostile labels intact, and byte-identical across two renders (each figure drawn a second time
in the tests below is compared, PNG and SVG, with the module render)."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.unit.plots.synthetic import HOSTILE, write_condition

from ldn_evidence.plots import render_condition_figures
from ldn_evidence.plots._mpl import save as _REAL_SAVE

#: The analyses the render tests draw: k = 1, k = 2, k = 30, a ratio with a zero-event study,
#: and an analysis with subgroup panels.
RENDERED = ("fatigue_k1", "sleep_k2", "qol_k30", "response_rr", "mood_design")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("render")
    res, proc = write_condition(root, only=RENDERED)
    out = root / "figures"
    out.mkdir()
    (out / "forest_stale.png").write_bytes(b"old")  # from an earlier run: removed
    (out / "notes.txt").write_text("kept")  # not ours: kept
    idx = render_condition_figures("synthetic", res, proc, out)
    return idx, out


@pytest.fixture(scope="module")
def inputs(rendered) -> dict[str, pd.DataFrame]:
    """The tables the module render read (read back from its files)."""
    _, out = rendered
    res = out.parent / "results" / "synthetic"
    proc = out.parent / "data" / "processed" / "synthetic"
    t = {
        n: pd.read_parquet(res / f"{n}.parquet")
        for n in ("analyses", "analysis_members", "narrative")
    }
    t["studies"] = pd.read_parquet(proc / "studies.parquet")
    return t


def _same_bytes_as_module_render(fig, stem: str, out: Path, tmp: Path) -> None:
    """A second render of the same figure gives the same bytes, PNG and SVG."""
    from ldn_evidence.plots import _mpl

    _mpl.save(fig, tmp, stem)
    for ext in ("png", "svg"):
        assert (tmp / f"{stem}.{ext}").read_bytes() == (out / f"{stem}.{ext}").read_bytes(), (
            f"{stem}.{ext} differs between two renders"
        )


def test_index_lists_every_figure_and_every_missing_one(rendered):
    idx, out = rendered
    names = {f["name"] for f in idx["figures"]}
    expected = {f"forest_{a}" for a in RENDERED} | {
        "funnel_qol_k30",
        "evidence_map",
        "effect_direction",
        "rob_traffic_light",
        "rob_summary",
        "study_flow",
    }
    assert names == expected
    missing = {d["name"]: d["reason"] for d in idx["not_drawn"]}
    assert set(missing) == {f"funnel_{a}" for a in RENDERED if a != "qol_k30"}
    assert missing["funnel_sleep_k2"].startswith("k = 2 < 10")
    on_disk = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert on_disk == idx
    text = (out / "index.json").read_text(encoding="utf-8")
    assert text == json.dumps(idx, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    files = sorted(p.name for p in out.iterdir())
    listed = sorted(f for fig in idx["figures"] for f in fig["files"])
    assert files == sorted([*listed, "drawn.json", "index.json", "notes.txt"])
    assert all(len(fig["files"]) == 2 for fig in idx["figures"])


def test_pngs_are_not_blank_and_large_enough(rendered):
    from PIL import Image

    idx, out = rendered
    for fig in idx["figures"]:
        im = Image.open(out / f"{fig['name']}.png")
        assert im.info.get("dpi", (150, 150))[0] == pytest.approx(150, abs=1)
        assert "Software" not in im.info and not any("date" in k.lower() for k in im.info)
        a = np.asarray(im.convert("L"))
        assert a.shape[1] >= 900, fig["name"]
        ink = (a < 200).mean()
        assert 0.005 < ink < 0.5, (fig["name"], ink)


def test_svg_has_no_date_and_keeps_hostile_text_as_escaped_text(rendered):
    _, out = rendered
    svg = (out / "forest_qol_k30.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "<script" not in svg
    assert "$x^2$ Dollar &amp; Co 2021" in svg  # literal dollars: no mathtext
    assert "\u200fRTL\u200f" in svg


def _texts_overlap(fig):
    """Pairs of visible texts whose boxes intersect, and texts outside the figure."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    from matplotlib.text import Text

    boxes = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        boxes.append((t.get_text(), t.get_window_extent(r)))
    W, H = fig.bbox.width, fig.bbox.height
    outside = [
        s for s, b in boxes if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > W + 0.5 or b.y1 > H + 0.5
    ]
    overlaps = []
    for (s1, b1), (s2, b2) in itertools.combinations(boxes, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w > 1.0 and h > 1.0:
            overlaps.append((s1, s2))
    return overlaps, outside


@pytest.mark.parametrize("aid", RENDERED)
def test_forest_text_neither_overlaps_nor_leaves_the_figure(aid, rendered, inputs, tmp_path):
    from matplotlib.text import Text

    from ldn_evidence.plots import _mpl
    from ldn_evidence.plots.draw_forest import draw_forest
    from ldn_evidence.plots.table_forest import build_forest_table

    an, mem = inputs["analyses"], inputs["analysis_members"]
    a = an[(an.analysis_id == aid) & (an.scenario == "main")].iloc[0]
    m = mem[(mem.analysis_id == aid) & (mem.scenario == "main")]
    sg = an[(an.analysis_id == aid) & an.scenario.str.startswith("subgroup:")]
    with _mpl.style():
        fig = draw_forest(build_forest_table(a, m, sg))
        overlaps, outside = _texts_overlap(fig)
        labels = {t.get_text().replace("\n", " ") for t in fig.findobj(Text)}
        _same_bytes_as_module_render(fig, f"forest_{aid}", rendered[1], tmp_path)
        _mpl.close(fig)
    assert overlaps == []
    assert outside == []
    if aid == "qol_k30":
        # wrapped, never cut: every hostile label's words are all there
        joined = " ".join(labels)
        for h in HOSTILE:
            assert all(w in joined for w in h.split(" ")), h


def test_condition_figures_text_does_not_overlap(rendered, inputs, tmp_path):
    from ldn_evidence.plots import _mpl
    from ldn_evidence.plots.draw_condition import (
        draw_effect_direction,
        draw_evidence_map,
        draw_study_flow,
    )
    from ldn_evidence.plots.table_condition import (
        build_effect_direction_table,
        build_evidence_map_table,
        build_flow_table,
    )

    t, c, label = inputs, "synthetic", "Synthetic"
    with _mpl.style():
        figs = {
            "evidence_map": draw_evidence_map(
                build_evidence_map_table(c, t["analyses"], t["analysis_members"]), label
            ),
            "effect_direction": draw_effect_direction(
                build_effect_direction_table(c, t["narrative"], t["studies"]), label
            ),
            "study_flow": draw_study_flow(
                build_flow_table(
                    c, t["studies"], t["analyses"], t["analysis_members"], t["narrative"]
                ),
                label,
            ),
        }
        for stem, fig in figs.items():
            overlaps, outside = _texts_overlap(fig)
            _same_bytes_as_module_render(fig, stem, rendered[1], tmp_path)
            _mpl.close(fig)
            assert overlaps == [] and outside == [], stem


def test_png_metadata_is_fixed(rendered):
    _, out = rendered
    raw = (out / "study_flow.png").read_bytes()
    assert b"Software" not in raw and b"matplotlib" not in raw.lower()
    with io.BytesIO(raw) as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# ---- figures already drawn are kept ----------------------------------------------------------


def _render_counting_draws(monkeypatch, res, proc, out) -> list[str]:
    """Render, recording which figures were drawn (not taken from the previous run)."""
    from ldn_evidence.plots import _mpl

    saved: list[str] = []

    def counting_save(fig, out_dir, stem):
        saved.append(stem)
        return _REAL_SAVE(fig, out_dir, stem)

    monkeypatch.setattr(_mpl, "save", counting_save)
    render_condition_figures("synthetic", res, proc, out)
    return saved


def test_a_rerun_redraws_only_the_figures_whose_table_or_files_changed(tmp_path, monkeypatch):
    res, proc = write_condition(tmp_path, only=("fatigue_k1", "sleep_k2"))
    out = tmp_path / "figures"
    first = _render_counting_draws(monkeypatch, res, proc, out)
    assert "forest_sleep_k2" in first and "study_flow" in first
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # nothing changed: nothing drawn, the same bytes
    assert _render_counting_draws(monkeypatch, res, proc, out) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # a truncated file (a killed run) and a deleted one are drawn again, identically
    (out / "forest_sleep_k2.png").write_bytes(before["forest_sleep_k2.png"][:100])
    (out / "study_flow.svg").unlink()
    assert sorted(_render_counting_draws(monkeypatch, res, proc, out)) == [
        "forest_sleep_k2",
        "study_flow",
    ]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # one study's effect changes: its forest plot and the evidence map, not the rest
    members_path = res / "analysis_members.parquet"
    members = pd.read_parquet(members_path)
    row = members.index[(members.analysis_id == "sleep_k2")][0]
    members.loc[row, "yi"] = members.loc[row, "yi"] + 0.5
    members.to_parquet(members_path)
    redrawn = _render_counting_draws(monkeypatch, res, proc, out)
    assert "forest_sleep_k2" in redrawn and "forest_fatigue_k1" not in redrawn
    assert "rob_summary" not in redrawn

    # an unreadable record of what was drawn: everything is drawn again
    (out / "drawn.json").write_text("{not json", encoding="utf-8")
    assert sorted(_render_counting_draws(monkeypatch, res, proc, out)) == sorted(first)


def test_the_key_covers_the_drawing_code(monkeypatch):
    from ldn_evidence.plots import render

    table = pd.DataFrame({"x": [1.0, float("nan")], "label": ["a", None]})
    key = render.figure_key("draw_forest", table, "Fibromyalgia")
    assert key == render.figure_key("draw_forest", table.copy(), "Fibromyalgia")
    assert key != render.figure_key("draw_forest", table, "Long COVID")
    assert key != render.figure_key("draw_forest", table.assign(x=[1.0, 2.0]), "Fibromyalgia")
    monkeypatch.setattr(render, "_drawing_version", lambda: "another version of the code")
    assert key != render.figure_key("draw_forest", table, "Fibromyalgia")


def test_the_evidence_map_cuts_an_extreme_prediction_interval_with_arrows(tmp_path):
    """A prediction interval far wider than the confidence intervals is cut at the panel's
    edges and drawn with an arrow at each (found drawing a synthetic evidence base)."""
    from matplotlib.lines import Line2D

    from ldn_evidence.plots import _mpl
    from ldn_evidence.plots.draw_condition import draw_evidence_map
    from ldn_evidence.plots.table_condition import build_evidence_map_table

    res, _ = write_condition(tmp_path, only=("fatigue_k1", "sleep_k2", "qol_k30"))
    analyses = pd.read_parquet(res / "analyses.parquet")
    pooled = analyses["analysis_id"] == "qol_k30"
    analyses.loc[pooled, "pi_low"] = -40.0
    analyses.loc[pooled, "pi_high"] = 40.0
    members = pd.read_parquet(res / "analysis_members.parquet")
    table = build_evidence_map_table("synthetic", analyses, members)
    with _mpl.style():
        fig = draw_evidence_map(table, "Synthetic")
        markers = [line.get_marker() for line in fig.findobj(Line2D)]
        _mpl.save(fig, tmp_path, "evidence_map")
    assert markers.count("<") == 1 and markers.count(">") == 1
    assert (tmp_path / "evidence_map.png").stat().st_size > 0
