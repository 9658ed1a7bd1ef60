"""Render every figure of one condition from the analyses tables, and write ``index.json``.

Reads ``results/<condition>/analyses.parquet``, ``analysis_members.parquet``,
``narrative.parquet`` (and ``certainty.parquet`` when it exists) and
``data/processed/<condition>/studies.parquet``; draws scenario ``main`` only. Nothing is
recomputed: the plot tables carry the numbers of those files.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable
from importlib import metadata
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


def _canonical(obj: object) -> object:
    """A JSON-able, deterministic form of a plot table (dataclasses, frames, tuples, numbers)."""
    kind = type(obj)
    if kind is str or kind is bool:  # the most common cells first (same result as below)
        return obj
    if kind is float:
        return _number(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        return [type(obj).__name__, {f.name: _canonical(getattr(obj, f.name)) for f in fields}]
    if isinstance(obj, pd.DataFrame):
        # read column by column: row-wise access is slow on Arrow-backed columns
        columns = [obj.iloc[:, j].tolist() for j in range(obj.shape[1])]
        rows = zip(*columns, strict=True) if columns else ([] for _ in range(len(obj)))
        return {
            "columns": [str(c) for c in obj.columns],
            "dtypes": [str(t) for t in obj.dtypes],
            "index": [_canonical(i) for i in obj.index],
            "rows": [[_canonical(v) for v in row] for row in rows],
        }
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | float) or hasattr(obj, "dtype"):  # numpy scalars too
        return _number(obj)
    return repr(obj)


def _number(obj: object) -> object:
    """A number as an int when it is whole, else as the ``repr`` of its float."""
    value = float(obj)  # type: ignore[arg-type]
    return repr(value) if not math.isfinite(value) or value != int(value) else int(value)


@functools.cache
def _drawing_version() -> str:
    """What, besides the plot table, decides a figure's bytes: the source of this subpackage
    (tables and renderers; nothing else of the package shapes a figure) and the versions of
    matplotlib, Pillow and numpy."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("matplotlib", "pillow", "numpy"):
        digest.update(f"{package}=={metadata.version(package)}\0".encode())
    return digest.hexdigest()


def figure_key(kind: str, table: object, *extra: str) -> str:
    """Content key of one figure: its kind, its plot table, its other drawing arguments and the
    drawing code (:func:`_drawing_version`). Equal keys mean byte-identical PNG and SVG files,
    since drawing is deterministic (``tests/workflow`` checks that two runs agree byte for byte).
    """
    payload = json.dumps(
        [kind, _canonical(table), list(extra), _drawing_version()],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


#: Beside ``index.json``: each drawn figure's key and file digests. Not a declared output of
#: the figures rule, so Snakemake does not delete it before the job runs (it does delete
#: ``index.json``), and a re-run redraws only the figures whose key or files changed.
DRAWN = "drawn.json"


def _previous_figures(out_dir: Path) -> dict[str, dict]:
    """The figures a previous run drew, by name, with their keys and file digests (empty when
    there is no readable record)."""
    try:
        drawn = json.loads((out_dir / DRAWN).read_text(encoding="utf-8"))
        return {name: entry for name, entry in drawn.items() if isinstance(entry, dict)}
    except (OSError, ValueError, AttributeError):
        return {}


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path)
    missing = [c for c in REQUIRED.get(path.name, ()) if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (see the contract)")
    return df


def _positions(frame: pd.DataFrame) -> dict[str, list[int]]:
    """The row positions of each ``analysis_id`` of ``frame``, in row order (missing ids left
    out, as a comparison with ``==`` leaves them out)."""
    return {
        aid: positions.tolist()
        for aid, positions in frame.groupby("analysis_id", sort=False).indices.items()
    }


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

    def draw(name: str) -> Callable:
        # matplotlib is imported only when a figure has to be drawn
        from . import draw_condition, draw_forest, draw_funnel

        for module in (draw_condition, draw_forest, draw_funnel):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(name)

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

    previous = _previous_figures(out_dir)
    drawn: dict[str, dict] = {}

    def emit(
        renderer: str, table, stem: str, kind: str, title: str, aid: str | None = None, *args
    ) -> None:
        """Draw one figure, or keep the files of a previous run when its key and the files'
        digests say they are what drawing would write again."""
        key = figure_key(renderer, table, *args)
        files = [f"{stem}.png", f"{stem}.svg"]
        old = previous.get(stem, {})
        # the files are read only when the key says they could be kept
        digests = [_file_digest(out_dir / f) for f in files] if old.get("key") == key else None
        if digests is None or None in digests or digests != old.get("sha256"):
            from . import _mpl

            with _mpl.style():
                fig = draw(renderer)(table, *args)
                try:
                    files = _mpl.save(fig, out_dir, stem)
                finally:
                    _mpl.close(fig)
            digests = [_file_digest(out_dir / f) for f in files]
        used.add(stem)
        drawn[stem] = {"key": key, "sha256": digests}
        figures.append(
            {"name": stem, "kind": kind, "analysis_id": aid, "title": title, "files": files}
        )

    def skip(stem: str, kind: str, reason: str, aid: str | None = None) -> None:
        not_drawn.append({"name": stem, "kind": kind, "analysis_id": aid, "reason": reason})

    main = analyses[analyses["scenario"] == "main"]
    mem_main = members[members["scenario"] == "main"]
    subgroups = analyses[analyses["scenario"].astype(str).str.startswith("subgroup:")]
    # each analysis's row positions, found once (not by filtering the frames per analysis)
    main_at = _positions(main)
    members_at = _positions(mem_main)
    subgroups_at = _positions(subgroups)
    out_dir.mkdir(parents=True, exist_ok=True)
    for aid in sorted(main["analysis_id"].astype(str).unique()):
        a = main.iloc[main_at[aid][0]]
        m = mem_main.iloc[members_at.get(aid, [])]
        sg = subgroups.iloc[subgroups_at.get(aid, [])]
        title = text_or(a.get("title"), aid)
        f_stem = stem_for("forest", aid)
        if len(m) == 0:
            skip(f_stem, "forest", "no member rows in analysis_members.parquet", aid)
        else:
            emit("draw_forest", build_forest_table(a, m, sg), f_stem, "forest", title, aid)
        u_stem = stem_for("funnel", aid)
        reason = funnel_reason(a, m)
        if reason is None:
            emit("draw_funnel", build_funnel_table(a, m), u_stem, "funnel", title, aid)
        else:
            skip(u_stem, "funnel", reason, aid)

    if len(main):
        t = build_evidence_map_table(condition, analyses, members, certainty)
        emit("draw_evidence_map", t, "evidence_map", "evidence_map", "Evidence map", None, label)
    else:
        skip("evidence_map", "evidence_map", "no analyses for this condition")

    ed = build_effect_direction_table(condition, narrative, studies)
    if len(ed.cells):
        emit(
            "draw_effect_direction",
            ed,
            "effect_direction",
            "effect_direction",
            "Effect direction (narrative synthesis)",
            None,
            label,
        )
    else:
        skip("effect_direction", "effect_direction", "no outcomes in the narrative synthesis")

    rob = build_rob_table(condition, studies)
    if len(rob.rows):
        emit(
            "draw_rob_traffic_light",
            rob,
            "rob_traffic_light",
            "rob_traffic_light",
            "Risk of bias (traffic light)" + (", provisional" if rob.provisional else ""),
            None,
            label,
        )
        rs = build_rob_summary_table(condition, studies)
        emit(
            "draw_rob_summary",
            rs,
            "rob_summary",
            "rob_summary",
            "Risk of bias (summary)" + (", provisional" if rs.provisional else ""),
            None,
            label,
        )
    else:
        skip("rob_traffic_light", "rob_traffic_light", "no included studies")
        skip("rob_summary", "rob_summary", "no included studies")

    flow = build_flow_table(condition, studies, analyses, members, narrative)
    emit("draw_study_flow", flow, "study_flow", "study_flow", "Study flow", None, label)

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
        out_dir / DRAWN, json.dumps(drawn, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )
    atomic_write_text(
        out_dir / "index.json",
        json.dumps(index, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
    )
    return index
