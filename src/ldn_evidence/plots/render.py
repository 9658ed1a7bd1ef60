"""Render every figure of one condition from the analyses tables, and write ``index.json``.

Reads ``results/<condition>/analyses.parquet``, ``analysis_members.parquet``,
``narrative.parquet`` (and ``certainty.parquet`` when it exists) and
``data/processed/<condition>/studies.parquet``; draws scenario ``main`` only. Nothing is
recomputed: the plot tables carry the numbers of those files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..io.atomic import atomic_write_text
from ._text import safe_name, text_or
from .table_condition import (
    build_effect_direction_table,
    build_evidence_map_table,
    build_flow_table,
    build_rob_summary_table,
    build_rob_table,
)
from .table_forest import build_forest_table
from .table_funnel import build_funnel_table, funnel_reason

__all__ = ["CONDITION_LABEL", "render_condition_figures"]

CONDITION_LABEL = {
    "fibromyalgia": "Fibromyalgia",
    "crohns_disease": "Crohn's disease",
    "multiple_sclerosis": "Multiple sclerosis",
    "long_covid": "Long COVID",
}

REQUIRED = {
    "analyses.parquet": ("analysis_id", "scenario", "title", "measure", "k", "pooled", "estimate"),
    "analysis_members.parquet": ("analysis_id", "scenario", "study_id", "yi", "weight_percent"),
    "narrative.parquet": ("study_id", "domain", "disposition", "direction"),
    "studies.parquet": ("id", "design", "inclusion_status", "rob_overall"),
}

_OWNED = re.compile(
    r"^(forest_.+|funnel_.+|evidence_map|effect_direction|rob_traffic_light|rob_summary|"
    r"study_flow)\.(png|svg)$"
)


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path)
    missing = [c for c in REQUIRED.get(path.name, ()) if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (see the contract)")
    return df


def render_condition_figures(
    condition: str, results_dir: Path, processed_dir: Path, out_dir: Path
) -> dict:
    """Draw every figure of a condition as PNG and SVG into ``out_dir``.

    Parameters
    ----------
    condition : str
        Condition code (e.g. ``fibromyalgia``).
    results_dir : Path
        ``results/<condition>`` with the analyses tables.
    processed_dir : Path
        ``data/processed/<condition>`` with ``studies.parquet``.
    out_dir : Path
        Where the figures and ``index.json`` go (created if needed). Figures of earlier runs
        that this run does not produce (e.g. of an analysis that no longer exists) are removed.

    Returns
    -------
    dict
        The index: ``figures`` (name, kind, analysis_id, title, files) and ``not_drawn``
        (name, kind, analysis_id, reason), also written as ``out_dir/index.json``.
    """
    results_dir, processed_dir, out_dir = Path(results_dir), Path(processed_dir), Path(out_dir)
    analyses = _read(results_dir / "analyses.parquet")
    members = _read(results_dir / "analysis_members.parquet")
    narrative = _read(results_dir / "narrative.parquet")
    studies = _read(processed_dir / "studies.parquet")
    cert_path = results_dir / "certainty.parquet"
    certainty = pd.read_parquet(cert_path) if cert_path.exists() else None

    # matplotlib only from here on
    from . import _mpl
    from .draw_condition import (
        draw_effect_direction,
        draw_evidence_map,
        draw_rob_summary,
        draw_rob_traffic_light,
        draw_study_flow,
    )
    from .draw_forest import draw_forest
    from .draw_funnel import draw_funnel

    label = CONDITION_LABEL.get(condition, condition.replace("_", " ").capitalize())
    figures: list[dict] = []
    not_drawn: list[dict] = []
    used: set[str] = set()

    def stem_for(prefix: str, aid: str) -> str:
        base = f"{prefix}_{safe_name(aid)}"
        stem, i = base, 2
        while stem in used:
            stem, i = f"{base}_{i}", i + 1
        used.add(stem)
        return stem

    def emit(fig, stem: str, kind: str, title: str, aid: str | None = None) -> None:
        try:
            files = _mpl.save(fig, out_dir, stem)
        finally:
            _mpl.close(fig)
        used.add(stem)
        figures.append(
            {"name": stem, "kind": kind, "analysis_id": aid, "title": title, "files": files}
        )

    def skip(stem: str, kind: str, reason: str, aid: str | None = None) -> None:
        not_drawn.append({"name": stem, "kind": kind, "analysis_id": aid, "reason": reason})

    main = analyses[analyses["scenario"] == "main"]
    mem_main = members[members["scenario"] == "main"]
    out_dir.mkdir(parents=True, exist_ok=True)
    with _mpl.style():
        for aid in sorted(main["analysis_id"].astype(str).unique()):
            a = main[main["analysis_id"] == aid].iloc[0]
            m = mem_main[mem_main["analysis_id"] == aid]
            sg = analyses[
                (analyses["analysis_id"] == aid)
                & analyses["scenario"].astype(str).str.startswith("subgroup:")
            ]
            title = text_or(a.get("title"), aid)
            f_stem = stem_for("forest", aid)
            if len(m) == 0:
                skip(f_stem, "forest", "no member rows in analysis_members.parquet", aid)
            else:
                emit(draw_forest(build_forest_table(a, m, sg)), f_stem, "forest", title, aid)
            u_stem = stem_for("funnel", aid)
            reason = funnel_reason(a, m)
            if reason is None:
                emit(draw_funnel(build_funnel_table(a, m)), u_stem, "funnel", title, aid)
            else:
                skip(u_stem, "funnel", reason, aid)

        if len(main):
            t = build_evidence_map_table(condition, analyses, members, certainty)
            emit(draw_evidence_map(t, label), "evidence_map", "evidence_map", "Evidence map")
        else:
            skip("evidence_map", "evidence_map", "no analyses for this condition")

        ed = build_effect_direction_table(condition, narrative, studies)
        if len(ed.cells):
            emit(
                draw_effect_direction(ed, label),
                "effect_direction",
                "effect_direction",
                "Effect direction (narrative synthesis)",
            )
        else:
            skip("effect_direction", "effect_direction", "no outcomes in the narrative synthesis")

        rob = build_rob_table(condition, studies)
        if len(rob.rows):
            emit(
                draw_rob_traffic_light(rob, label),
                "rob_traffic_light",
                "rob_traffic_light",
                "Risk of bias (traffic light)" + (", provisional" if rob.provisional else ""),
            )
            rs = build_rob_summary_table(condition, studies)
            emit(
                draw_rob_summary(rs, label),
                "rob_summary",
                "rob_summary",
                "Risk of bias (summary)" + (", provisional" if rs.provisional else ""),
            )
        else:
            skip("rob_traffic_light", "rob_traffic_light", "no included studies")
            skip("rob_summary", "rob_summary", "no included studies")

        flow = build_flow_table(condition, studies, analyses, members, narrative)
        emit(draw_study_flow(flow, label), "study_flow", "study_flow", "Study flow")

    written = {f for fig in figures for f in fig["files"]}
    for p in sorted(out_dir.iterdir()):
        if p.is_file() and _OWNED.match(p.name) and p.name not in written:
            p.unlink()

    index = {
        "condition": condition,
        "scenario": "main",
        "figures": sorted(figures, key=lambda d: d["name"]),
        "not_drawn": sorted(not_drawn, key=lambda d: d["name"]),
    }
    atomic_write_text(
        out_dir / "index.json",
        json.dumps(index, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
    )
    return index
