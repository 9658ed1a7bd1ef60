"""Reading the inputs and writing the certainty and claims tables (the only file IO of the
certainty stage), and the command-line entry points the workflow calls."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ldn_evidence.certainty.claims import assess_claims
from ldn_evidence.certainty.grade import assess_condition
from ldn_evidence.certainty.rules import (
    DEFAULT_CONFIG,
    DEFAULT_OVERRIDES,
    CertaintyConfigError,
    read_overrides,
    read_rules,
)
from ldn_evidence.io.tables import write_table

#: Study-level context the analysis members do not carry, taken from effects.parquet.
CONTEXT_COLUMNS = ("co_interventions", "population_scope")


def attach_study_context(members: pd.DataFrame, effects: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``co_interventions`` and ``population_scope`` to the members from the effects
    table (matched on study and outcome; the first row of each pair)."""
    if effects is None or effects.empty:
        return members
    wanted = [c for c in CONTEXT_COLUMNS if c in effects and c not in members]
    if not wanted:
        return members
    context = effects[["study_id", "outcome_id", *wanted]].drop_duplicates(
        ["study_id", "outcome_id"]
    )
    return members.merge(context, on=["study_id", "outcome_id"], how="left")


def write_certainty(frame: pd.DataFrame, out_dir: Path | str) -> None:
    """``certainty.parquet`` and ``certainty.csv`` in ``out_dir`` (atomic, sorted)."""
    out_dir = Path(out_dir)
    frame = frame.sort_values("analysis_id").reset_index(drop=True)
    write_table(frame, out_dir / "certainty.parquet", out_dir / "certainty.csv")


def write_claims(frame: pd.DataFrame, out_dir: Path | str) -> None:
    """``claims.parquet`` and ``claims.csv`` in ``out_dir`` (atomic, sorted)."""
    out_dir = Path(out_dir)
    frame = frame.sort_values("claim_id").reset_index(drop=True)
    write_table(frame, out_dir / "claims.parquet", out_dir / "claims.csv")


def certainty_main(
    condition: str,
    results_dir: Path | str = "results",
    config_path: Path | str = DEFAULT_CONFIG,
    overrides_path: Path | str | None = DEFAULT_OVERRIDES,
    processed_dir: Path | str | None = "data/processed",
) -> int:
    """Rate one condition: read ``RESULTS/<condition>/analyses.parquet`` and
    ``analysis_members.parquet`` (and ``PROCESSED/<condition>/effects.parquet`` for
    co-interventions and population scope, if present), write ``certainty.parquet`` + csv
    beside them. Returns 0, or 1 with every problem on stderr."""
    try:
        rules = read_rules(config_path)
        overrides = read_overrides(overrides_path)
    except CertaintyConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    out_dir = Path(results_dir) / condition
    try:
        analyses = pd.read_parquet(out_dir / "analyses.parquet")
        members = pd.read_parquet(out_dir / "analysis_members.parquet")
    except (FileNotFoundError, OSError) as exc:
        print(f"error: {condition}: {exc}", file=sys.stderr)
        return 1
    effects_path = Path(processed_dir) / condition / "effects.parquet" if processed_dir else None
    effects = pd.read_parquet(effects_path) if effects_path and effects_path.exists() else None
    frame = assess_condition(analyses, attach_study_context(members, effects), rules, overrides)
    write_certainty(frame, out_dir)
    counts = frame.certainty.value_counts()
    summary = ", ".join(f"{counts.get(level, 0)} {level}" for level in counts.index)
    applied = int(frame.override_applied.sum())
    print(
        f"{condition}: certainty of {len(frame)} analyses ({summary}); "
        f"{applied} override(s) applied -> {out_dir / 'certainty.parquet'}"
    )
    return 0


def claims_main(
    conditions: list[str],
    claims_path: Path | str = "data/reference/claims.csv",
    results_dir: Path | str = "results",
    config_path: Path | str = DEFAULT_CONFIG,
    out_dir: Path | str | None = None,
) -> int:
    """Judge every claim from the conditions' analyses, certainty and narrative tables; write
    ``claims.parquet`` + csv to ``out_dir`` (default ``RESULTS/``). Returns 0 or 1."""
    try:
        rules = read_rules(config_path)
    except CertaintyConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    results_dir = Path(results_dir)
    analyses, certainty, narrative = {}, {}, {}
    for condition in conditions:
        folder = results_dir / condition
        try:
            analyses[condition] = pd.read_parquet(folder / "analyses.parquet")
            certainty[condition] = pd.read_parquet(folder / "certainty.parquet")
        except (FileNotFoundError, OSError) as exc:
            print(f"error: {condition}: {exc}", file=sys.stderr)
            return 1
        path = folder / "narrative.parquet"
        narrative[condition] = pd.read_parquet(path) if path.exists() else None
    claims = pd.read_csv(claims_path)
    frame = assess_claims(claims, analyses, certainty, narrative, rules)
    write_claims(frame, out_dir if out_dir is not None else results_dir)
    print(
        f"{len(frame)} claims: "
        + ", ".join(f"{v} {n}" for v, n in frame.verdict.value_counts().sort_index().items())
    )
    return 0
