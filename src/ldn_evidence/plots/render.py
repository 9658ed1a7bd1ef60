"""Render every figure of one condition from the analyses tables, and write ``index.json``.

Reads ``results/<condition>/analyses.parquet``, ``analysis_members.parquet``,
``narrative.parquet`` (and ``certainty.parquet`` when it exists) and
``data/processed/<condition>/studies.parquet``; draws scenario ``main`` only. Nothing is
recomputed: the plot tables carry the numbers of those files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import signal
import sys
import traceback
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
    (tables and renderers; nothing else of the package shapes a figure), the versions of
    matplotlib and numpy, and that of the zlib the interpreter compresses PNGs with."""
    import zlib

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("matplotlib", "numpy"):
        digest.update(f"{package}=={metadata.version(package)}\0".encode())
    digest.update(f"zlib=={zlib.ZLIB_RUNTIME_VERSION}\0".encode())
    return digest.hexdigest()


def _figure_payload(kind: str, table: object, *extra: str) -> bytes:
    """What decides a figure's bytes, as canonical JSON (see :func:`figure_key`)."""
    payload = json.dumps(
        [kind, _canonical(table), list(extra), _drawing_version()],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return payload.encode("utf-8")


def figure_key(kind: str, table: object, *extra: str) -> str:
    """Content key of one figure: its kind, its plot table, its other drawing arguments and the
    drawing code (:func:`_drawing_version`). Equal keys mean byte-identical PNG and SVG files,
    since drawing is deterministic (``tests/workflow`` checks that two runs agree byte for byte).
    """
    return hashlib.sha256(_figure_payload(kind, table, *extra)).hexdigest()


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


@dataclasses.dataclass(frozen=True)
class _Drawing:
    """One figure to draw: its renderer's name, plot table, file stem and other arguments, and
    the size of its canonical table (a proxy for its drawing time, to share the work)."""

    renderer: str
    table: object
    stem: str
    args: tuple
    cost: int


def _renderer(name: str) -> Callable:
    # matplotlib is imported only when a figure has to be drawn
    from . import draw_condition, draw_forest, draw_funnel

    for module in (draw_condition, draw_forest, draw_funnel):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(name)


def _draw(drawings: list[_Drawing], out_dir: Path) -> None:
    """Draw and save figures, one after the other, in this process."""
    if not drawings:
        return
    from . import _mpl

    for d in drawings:
        with _mpl.style():
            fig = _renderer(d.renderer)(d.table, *d.args)
            try:
                _mpl.save(fig, out_dir, d.stem)
            finally:
                _mpl.close(fig)


def _shares(drawings: list[_Drawing], n: int) -> list[list[_Drawing]]:
    """``drawings`` split into ``n`` shares of about equal cost (longest first, each to the
    least loaded share; deterministic)."""
    shares: list[list[_Drawing]] = [[] for _ in range(n)]
    loads = [0] * n
    for d in sorted(drawings, key=lambda d: (-d.cost, d.stem)):
        i = loads.index(min(loads))
        shares[i].append(d)
        loads[i] += d.cost
    return shares


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this (forked) process when its parent ends, as a killed job must
    not leave figures being written (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def draw_figures(drawings: list[_Drawing], out_dir: Path, workers: int = 1) -> None:
    """Draw ``drawings`` into ``out_dir`` with up to ``workers`` processes.

    The shares beyond the first are drawn in forked copies of this process (on Linux, where
    forking a process that has imported matplotlib is safe; elsewhere everything is drawn
    here). A figure's files do not depend on which process draws it. A worker that fails
    prints its traceback and the call raises; when this process ends, its workers are killed.
    """
    workers = max(1, min(workers, len(drawings)))
    if workers == 1 or sys.platform != "linux":
        _draw(drawings, out_dir)
        return
    from . import _mpl, draw_condition, draw_forest, draw_funnel  # noqa: F401 (once, shared)

    first, *rest = _shares(drawings, workers)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    children: dict[int, list[_Drawing]] = {}
    try:
        for share in rest:
            pid = os.fork()
            if pid == 0:  # the worker
                status = 1
                try:
                    _die_with_parent(parent)
                    _draw(share, out_dir)
                    status = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(status)
            children[pid] = share
        _draw(first, out_dir)
    except BaseException:  # this process failed: its workers' figures are of no use
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raise
    finally:
        failed = []
        for pid, share in children.items():
            _, status = os.waitpid(pid, 0)
            if status != 0:
                failed.extend(d.stem for d in share)
    if failed:
        raise RuntimeError(
            f"a worker process failed drawing {', '.join(failed)} (its error is printed above)"
        )


def render_condition_figures(
    condition: str, results_dir: Path, processed_dir: Path, out_dir: Path, workers: int = 1
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
    workers : int
        Processes drawing at once (:func:`draw_figures`); the files are the same for any number.

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
    keys: dict[str, str] = {}
    digests: dict[str, list] = {}
    to_draw: list[_Drawing] = []

    def emit(
        renderer: str, table, stem: str, kind: str, title: str, aid: str | None = None, *args
    ) -> None:
        """Plan one figure: drawn later, or the files of a previous run kept when its key and
        the files' digests say they are what drawing would write again."""
        payload = _figure_payload(renderer, table, *args)
        key = keys[stem] = hashlib.sha256(payload).hexdigest()
        files = [f"{stem}.png", f"{stem}.svg"]
        old = previous.get(stem, {})
        # the files are read only when the key says they could be kept
        kept = [_file_digest(out_dir / f) for f in files] if old.get("key") == key else None
        if kept is None or None in kept or kept != old.get("sha256"):
            to_draw.append(_Drawing(renderer, table, stem, args, len(payload)))
        else:
            digests[stem] = kept
        used.add(stem)
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

    draw_figures(to_draw, out_dir, workers)
    for d in to_draw:
        digests[d.stem] = [_file_digest(out_dir / f"{d.stem}.{ext}") for ext in ("png", "svg")]
    drawn = {stem: {"key": keys[stem], "sha256": digests[stem]} for stem in keys}

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
