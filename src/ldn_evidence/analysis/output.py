"""Writing one condition's analysis results: Parquet + CSV tables and the nested JSON."""

from __future__ import annotations

import json
import math
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from ldn_evidence.io.atomic import atomic_write_text
from ldn_evidence.io.tables import records, write_table

TABLES = ("analyses", "analysis_members", "narrative", "vote_counts", "published_comparison")


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and NA become null, numpy scalars plain Python."""
    if type(value) is str or type(value) is int or type(value) is bool:
        return value  # the common cases first, already plain
    if type(value) is float:
        return value if math.isfinite(value) else None
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (column by column: per-row access to a frame is slow)."""
    return [{c: _clean(v) for c, v in row.items()} for row in records(frame)]


def write_results(results, out_dir: Path, condition: str, effect_settings, pool_settings) -> None:
    """Write every table (sorted, no timestamps) and ``analyses.json`` atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        write_table(results[name], out_dir / f"{name}.parquet", out_dir / f"{name}.csv")
    analyses, members = results["analyses"], results["analysis_members"]
    scenarios: dict[str, list[dict[str, Any]]] = {}
    for row in _records(analyses):
        scenarios.setdefault(row["analysis_id"], []).append(row)
    main_members: dict[str, list[dict[str, Any]]] = {}
    for row in _records(members[members.scenario == "main"]):
        main_members.setdefault(row["analysis_id"], []).append(row)
    nested = []
    for analysis_id, rows in scenarios.items():
        nested.append(
            {
                "analysis_id": analysis_id,
                "main": next(r for r in rows if r["scenario"] == "main"),
                "scenarios": [r for r in rows if r["scenario"] != "main"],
                "members": main_members.get(analysis_id, []),
            }
        )
    document = {
        "condition": condition,
        "direction_convention": "positive = better with LDN (ratios on the log scale)",
        "method": {
            "pooling": {**pool_settings.__dict__},
            "effects": effect_settings.as_dict(),
            "sensitivity": "leave-one-out; non-randomized added; doses above 4.5 mg/day "
            "excluded; high risk of bias excluded; tiers A-C only; estimators DL, PM, EE; "
            "z test; crossover and pre-post correlation 0.3 and 0.7 (effects re-derived)",
            "versions": {
                p: version(p) for p in ("ldn-evidence", "numpy", "scipy", "pandas", "pymare")
            },
        },
        "analyses": nested,
        "narrative": _records(results["narrative"]),
        "vote_counts": _records(results["vote_counts"]),
        "published_comparison": _records(results["published_comparison"]),
    }
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    atomic_write_text(out_dir / "analyses.json", text + "\n")
