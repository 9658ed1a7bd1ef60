"""Study files -> tidy tables (``studies`` and ``outcomes``), written as Parquet + CSV.

The column set comes from the study-file schema, not from whichever fields happen to be
filled in, so every table has the same columns and types on every run and a new optional
field is a new (empty) column rather than a different file layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ldn_evidence.io.atomic import atomic_write_text, atomic_write_with


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The rows of ``frame``, in order, as ``{column: value}`` dicts, read column by column.

    Row-wise access (``to_dict("records")``, ``iterrows``, ``itertuples``, ``.loc`` in a loop)
    costs a pandas call per row and per column, which is slow on the Arrow-backed columns of
    the result tables. ``Series.tolist`` gives the same values ``iterrows`` gives: Python
    scalars, and ``pd.NA`` or NaN for a missing value as the column's dtype has it.
    ``columns`` limits the dicts to those columns (the ones ``frame`` has).
    """
    names = list(frame.columns) if columns is None else [c for c in columns if c in frame]
    values = [frame[c].tolist() for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


_SCHEMA_TYPE_TO_DTYPE = {"integer": "Int64", "number": "float64", "string": "string"}

#: Column-name prefix for each nested block of a study file (flat names read better in CSV).
_PREFIX = {
    "statistics": "",
    "identifiers": "",
    "reported_effect": "effect_",
    "p_value": "p_",
    "timepoint": "timepoint_",
    "source": "source_",
    "sample_size": "n_",
    "dose": "dose_",
    "duration": "duration_",
    "inclusion": "inclusion_",
    "risk_of_bias": "rob_",
}
#: Renamed top-level fields, so that outcome rows do not clash with study keys.
_RENAME = {"outcome.id": "outcome_id", "outcome.name": "outcome"}


def _leaf_columns(node: Mapping[str, Any], defs: Mapping[str, Any], prefix: str = "") -> dict:
    """Flatten a schema object into {dotted column name: pandas dtype}."""
    columns: dict[str, str] = {}
    for name, spec in node.get("properties", {}).items():
        if "$ref" in spec:
            spec = {**defs[spec["$ref"].rsplit("/", 1)[1]], **spec}
        column = f"{prefix}{name}"
        if spec.get("type") == "object" or "properties" in spec:
            columns.update(_leaf_columns(spec, defs, _PREFIX[name]))
            continue
        if spec.get("type") == "array" or name == "outcomes":
            continue
        types = spec.get("type", "string")
        types = [types] if isinstance(types, str) else types
        kinds = [t for t in types if t != "null"]
        dtype = _SCHEMA_TYPE_TO_DTYPE.get(kinds[0], "string") if len(kinds) == 1 else "string"
        columns[column] = dtype
    return columns


def study_columns() -> dict[str, str]:
    """Columns of ``studies.parquet`` and their dtypes."""
    from ldn_evidence.io.studyfile import study_schema  # yaml: only ingest needs it

    schema = study_schema()
    columns = _leaf_columns(schema, schema["$defs"])
    columns["co_interventions"] = "string"
    columns["source_file"] = "string"
    return columns


def outcome_columns() -> dict[str, str]:
    """Columns of ``outcomes.parquet`` and their dtypes (study keys first)."""
    from ldn_evidence.io.studyfile import study_schema

    schema = study_schema()
    defs = schema["$defs"]
    head = {"study_id": "string", "condition": "string", "population_scope": "string"}
    body = _leaf_columns(defs["outcome"], defs)
    body.pop("population_scope")
    body = {_RENAME.get(f"outcome.{k}", k): v for k, v in body.items()}
    body["test_statistic"] = "string"
    return {**head, **body, "source_file": "string"}


def _flatten(mapping: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update({f"{_PREFIX[key]}{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _text_or_missing(value: Any) -> str | None:
    """A text cell: missing stays missing (a field absent from every row comes back as NaN)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)


def _frame(rows: list[dict[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    typed = {}
    for column, dtype in columns.items():
        values = frame[column]
        if dtype == "string":
            values = values.map(_text_or_missing)
        typed[column] = values.astype(dtype)
    # one new frame of the typed columns (faster than replacing them one by one)
    return pd.DataFrame(typed, index=frame.index)


def studies_table(studies: Iterable[tuple[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """One row per study, sorted by id. ``studies`` yields (source file, parsed study)."""
    rows = []
    for source_file, study in studies:
        row = _flatten({k: v for k, v in study.items() if k != "outcomes"})
        row.setdefault("population_scope", "target_condition")
        row["co_interventions"] = "; ".join(study.get("co_interventions") or []) or None
        row["source_file"] = source_file
        rows.append(row)
    frame = _frame(rows, study_columns())
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def outcomes_table(studies: Iterable[tuple[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """One row per study x outcome, sorted by study id then the outcome's order in its file."""
    rows = []
    for source_file, study in studies:
        scope = study.get("population_scope", "target_condition")
        for outcome in study.get("outcomes") or []:
            row = {_RENAME.get(f"outcome.{k}", k): v for k, v in _flatten(outcome).items()}
            row["study_id"] = study["id"]
            row["condition"] = study["condition"]
            row["population_scope"] = outcome.get("population_scope", scope)
            row["source_file"] = source_file
            rows.append(row)
    frame = _frame(rows, outcome_columns())
    return frame.sort_values("study_id", kind="stable").reset_index(drop=True)


def write_table(frame: pd.DataFrame, parquet_path: Path | str, csv_path: Path | str) -> None:
    """Write ``frame`` as Parquet (for the pipeline) and CSV (for people), each atomically.

    Floats in the CSV use ``repr`` precision (shortest round-trip) so the text is identical
    on every run and loses nothing.
    """
    atomic_write_with(parquet_path, lambda tmp: frame.to_parquet(tmp, index=False))
    atomic_write_text(csv_path, frame.to_csv(index=False, lineterminator="\n"))
