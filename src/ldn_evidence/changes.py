"""What a run changed in the conclusions, relative to the committed results.

The committed results are read from git (``git show HEAD:results/<condition>/...``); a project
without git history (or without committed results) says so. Per analysis the pooled estimate,
CI, k and certainty before and after, with the studies added or removed. "No conclusion
changed" is an explicit answer.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ldn_evidence.io.atomic import atomic_write_text

#: Relative and absolute tolerance below which an estimate or bound has "not changed".
TOLERANCE = 1e-9


def committed_csv(path: str, repo: Path = Path()) -> pd.DataFrame | None:
    """A CSV as committed at ``HEAD`` (None when there is no git history or no such file)."""
    try:
        out = subprocess.run(
            ["git", "show", f"HEAD:{path}"], cwd=repo, capture_output=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return pd.read_csv(io.BytesIO(out.stdout))


def committed_csvs(
    paths: Sequence[str], repo: Path = Path(), columns: Mapping[str, Sequence[str]] | None = None
) -> dict[str, pd.DataFrame | None]:
    """Several CSVs as committed at ``HEAD``, read by one ``git cat-file --batch`` process
    instead of one ``git show`` each; as :func:`committed_csv`, None for a file that is not
    there (or for all, without git history). ``columns`` may name, per file name, the only
    columns to read (those of them the file has)."""
    columns = columns or {}
    request = "".join(f"HEAD:{path}\n" for path in paths).encode()
    try:
        out = subprocess.run(
            ["git", "cat-file", "--batch"],
            input=request,
            cwd=repo,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return dict.fromkeys(paths)
    # per request: "<oid> <type> <size>\n<content>\n", or "<name> missing\n" (or ambiguous)
    frames: dict[str, pd.DataFrame | None] = {}
    at = 0
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] in (b"blob", b"tree", b"commit", b"tag"):
            size = int(header[2])
            content = out[at : at + size]
            at += size + 1
            wanted = columns.get(Path(path).name)
            frames[path] = (
                pd.read_csv(io.BytesIO(content), usecols=_among(wanted))
                if header[1] == b"blob"
                else None
            )
        else:
            frames[path] = None
    return frames


#: The analyses columns :func:`compare` reads.
_ANALYSIS_COLUMNS = ("analysis_id", "estimate", "ci_low", "ci_high", "k")
#: The columns :func:`write_changes` reads of each table (a column is read on its own, so its
#: values are those of reading the whole table).
READ_COLUMNS = {
    "analyses": ("scenario", *_ANALYSIS_COLUMNS),
    "analysis_members": ("scenario", "analysis_id", "study_id"),
    "certainty": ("analysis_id", "certainty"),
}


def _among(wanted: Sequence[str] | None):
    """A ``usecols`` for ``pandas.read_csv``: the wanted columns the file has (all if None)."""
    return None if wanted is None else (lambda column: column in wanted)


def _read_parquet(path: Path, wanted: Sequence[str]) -> pd.DataFrame:
    """The wanted columns of a Parquet table (those it has)."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in wanted if c in names])


def _main(analyses: pd.DataFrame | None) -> dict[str, Mapping[str, Any]]:
    if analyses is None or analyses.empty:
        return {}
    main = analyses[analyses.scenario == "main"]
    # only the columns compared are turned into records (slow on Arrow-backed columns)
    main = main[[c for c in _ANALYSIS_COLUMNS if c in main]]
    return {r["analysis_id"]: r for r in main.to_dict("records")}


def _studies(members: pd.DataFrame | None) -> dict[str, set[str]]:
    if members is None or members.empty:
        return {}
    main = members[members.scenario == "main"][["analysis_id", "study_id"]]
    return {a: set(g.study_id) for a, g in main.groupby("analysis_id")}


def _same(a: Any, b: Any) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _excludes_null(row: Mapping[str, Any]) -> bool | None:
    try:
        lo, hi = float(row["ci_low"]), float(row["ci_high"])
    except (KeyError, TypeError, ValueError):
        return None
    if math.isnan(lo) or math.isnan(hi):
        return None
    return lo > 0 or hi < 0


def compare(
    before: pd.DataFrame | None,
    after: pd.DataFrame,
    members_before: pd.DataFrame | None,
    members_after: pd.DataFrame,
    certainty_before: pd.DataFrame | None = None,
    certainty_after: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """One record per analysis present before or after, with what changed."""
    old, new = _main(before), _main(after)
    old_s, new_s = _studies(members_before), _studies(members_after)

    def certainty(frame):
        if frame is None or frame.empty or "certainty" not in frame:
            return {}
        return dict(zip(frame.analysis_id, frame.certainty, strict=True))

    old_c, new_c = certainty(certainty_before), certainty(certainty_after)
    records = []
    for analysis_id in sorted(set(old) | set(new)):
        a, b = old.get(analysis_id), new.get(analysis_id)
        record: dict[str, Any] = {"analysis_id": analysis_id}
        if a is None:
            record["change"] = "new analysis"
        elif b is None:
            record["change"] = "analysis removed"
        for when, row, studies, cert in (
            ("before", a, old_s, old_c),
            ("after", b, new_s, new_c),
        ):
            record[when] = (
                None
                if row is None
                else {
                    "estimate": _json(row.get("estimate")),
                    "ci_low": _json(row.get("ci_low")),
                    "ci_high": _json(row.get("ci_high")),
                    "k": int(row["k"]),
                    "certainty": cert.get(analysis_id),
                    "studies": sorted(studies.get(analysis_id, ())),
                }
            )
        if a is not None and b is not None:
            added = sorted(new_s.get(analysis_id, set()) - old_s.get(analysis_id, set()))
            removed = sorted(old_s.get(analysis_id, set()) - new_s.get(analysis_id, set()))
            numbers = not all(_same(a.get(k), b.get(k)) for k in ("estimate", "ci_low", "ci_high"))
            cert = old_c.get(analysis_id) != new_c.get(analysis_id)
            conclusion = _excludes_null(a) != _excludes_null(b) or cert
            record.update(
                studies_added=added,
                studies_removed=removed,
                change=(
                    "conclusion changed"
                    if conclusion and (numbers or cert)
                    else "numbers changed"
                    if numbers or added or removed
                    else "unchanged"
                ),
            )
        records.append(record)
    return records


def _json(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _fmt(side: Mapping[str, Any] | None) -> str:
    if side is None:
        return "–"
    if side["estimate"] is None:
        return f"k = {side['k']}"
    text = (
        f"{side['estimate']:.3f} ({side['ci_low']:.3f} to {side['ci_high']:.3f}), k = {side['k']}"
    )
    return text + (f", {side['certainty'].replace('_', ' ')}" if side.get("certainty") else "")


def render_markdown(by_condition: Mapping[str, Sequence[Mapping[str, Any]]], baseline: str) -> str:
    lines = [
        "# What this run changed",
        "",
        f"Compared with: {baseline}. Estimates on the analysis scale: differences and log",
        "ratios with positive = better with LDN; proportions without a comparator as the logit",
        "of the proportion (positive = more than half).",
        "",
    ]
    changed = [
        (c, r) for c, records in by_condition.items() for r in records if r["change"] != "unchanged"
    ]
    conclusions = [
        x
        for x in changed
        if x[1]["change"] in ("conclusion changed", "new analysis", "analysis removed")
    ]
    if not changed:
        lines.append("**No conclusion changed**, and no pooled number moved.")
    elif not conclusions:
        lines.append("**No conclusion changed**; some numbers moved (below).")
    else:
        lines.append(
            f"**{len(conclusions)} analyses changed their conclusion, or are new or removed.**"
        )
    if changed:
        lines += [
            "",
            "| Condition | Analysis | Change | Before | After | Studies added | Studies removed |",
            "|---|---|---|---|---|---|---|",
        ]
        for condition, r in changed:
            lines.append(
                f"| {condition} | {r['analysis_id']} | {r['change']} | {_fmt(r['before'])} | "
                f"{_fmt(r['after'])} | {', '.join(r.get('studies_added', [])) or '–'} | "
                f"{', '.join(r.get('studies_removed', [])) or '–'} |"
            )
    return "\n".join(lines) + "\n"


def write_changes(
    conditions: Sequence[str], results: Path, out_md: Path, out_json: Path, repo: Path = Path()
) -> dict[str, Any]:
    """Compare every condition's results with the committed ones and write both files."""
    by_condition = {}
    have_baseline = False
    names = ("analyses.csv", "analysis_members.csv", "certainty.csv")
    committed = committed_csvs(
        [f"results/{c}/{name}" for c in conditions for name in names],
        repo,
        {f"{table}.csv": wanted for table, wanted in READ_COLUMNS.items()},
    )
    for condition in conditions:
        before, members_before, certainty_before = (
            committed[f"results/{condition}/{name}"] for name in names
        )
        have_baseline |= before is not None
        folder = results / condition
        after = _read_parquet(folder / "analyses.parquet", READ_COLUMNS["analyses"])
        members_after = _read_parquet(
            folder / "analysis_members.parquet", READ_COLUMNS["analysis_members"]
        )
        cert_path = folder / "certainty.parquet"
        certainty_after = (
            _read_parquet(cert_path, READ_COLUMNS["certainty"]) if cert_path.exists() else None
        )
        by_condition[condition] = compare(
            before, after, members_before, members_after, certainty_before, certainty_after
        )
    baseline = (
        "the results committed at HEAD"
        if have_baseline
        else ("nothing (no committed results found in git); every analysis is new")
    )
    atomic_write_text(out_md, render_markdown(by_condition, baseline))
    document = {"baseline": baseline, "conditions": by_condition}
    atomic_write_text(out_json, json.dumps(document, indent=1, sort_keys=True) + "\n")
    return document
