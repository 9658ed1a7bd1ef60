"""Import of the curated CSV extraction (``studies.csv`` + ``outcomes.csv``) into study files.

The curated extraction is a long-format table with one quote behind every number. This module
turns it into one YAML file per study, moving every cell to a named field: no number is added,
dropped or rounded (numbers are written with the exact text of the CSV cell). The column maps
below are the contract; ``tests/unit/io/test_curated_fidelity.py`` checks every non-empty cell
of the CSVs against the committed study files through them.

Where the extraction's labels differ from the study-file vocabulary the mapping is explicit and
the original label is kept next to the new one (``design_as_extracted``,
``better_direction_note``); where this module records a judgement the extraction did not make
(inclusion status, a provisional risk-of-bias level), the reason is written into the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ldn_evidence import vocab
from ldn_evidence.io.atomic import atomic_write_text

#: studies.csv column -> path in the study file. ``condition`` is handled separately because
#: ``ibd_mixed`` becomes ``condition: crohns_disease`` + ``population_scope: mixed_ibd``.
STUDY_COLUMNS: dict[str, tuple[str, ...]] = {
    "study_id": ("id",),
    "title": ("title",),
    "journal": ("journal",),
    "year": ("year",),
    "pmid": ("identifiers", "pmid"),
    "pmcid": ("identifiers", "pmcid"),
    "doi": ("identifiers", "doi"),
    "nct": ("identifiers", "nct"),
    "other_registry": ("identifiers", "other_registry"),
    "design": ("design",),
    "design_detail": ("design_detail",),
    "blinding": ("blinding",),
    "comparator": ("comparator",),
    "n_randomized": ("sample_size", "randomized"),
    "n_ldn": ("sample_size", "ldn"),
    "n_control": ("sample_size", "control"),
    "n_analyzed": ("sample_size", "analyzed"),
    "n_note": ("sample_size", "note"),
    "dose_mg": ("dose", "mg_per_day"),
    "dose_note": ("dose", "note"),
    "duration_weeks": ("duration", "weeks"),
    "duration_note": ("duration", "note"),
    "population": ("population",),
    "publication_status": ("publication_status",),
    "suggested_use": ("suggested_use",),
    "has_numeric_outcomes": ("has_numeric_outcomes",),
    "source_url": ("source", "url"),
    "quote": ("source", "quote"),
    "notes": ("notes",),
}

_STATISTICS = (
    "mean_ldn sd_ldn se_ldn mean_ctl sd_ctl se_ctl mean_baseline_ldn sd_baseline_ldn "
    "plusminus_baseline_ldn plusminus_ldn mean_change_ldn sd_change_ldn ci_low_change_ldn "
    "ci_high_change_ldn mean_change_ctl sd_change_ctl ci_low_change_ctl ci_high_change_ctl "
    "median_ldn iqr_ldn median_ctl iqr_ctl pct_ldn pct_ctl events_ldn total_ldn events_ctl "
    "total_ctl"
).split()

#: outcomes.csv column -> path inside one outcome. ``study_id`` and ``condition`` place the
#: outcome in its study file (``condition`` also sets the outcome's ``population_scope``).
OUTCOME_COLUMNS: dict[str, tuple[str, ...]] = {
    "outcome": ("name",),
    "outcome_domain": ("domain",),
    "better_direction": ("better_direction",),
    "unit_or_scale": ("unit_or_scale",),
    "timepoint_weeks": ("timepoint", "weeks"),
    "timepoint_note": ("timepoint", "note"),
    "comparison": ("comparison",),
    "analysis_population": ("analysis_population",),
    "n_ldn_outcome": ("statistics", "n_ldn"),
    "n_ctl_outcome": ("statistics", "n_ctl"),
    **{column: ("statistics", column) for column in _STATISTICS},
    "effect_type": ("reported_effect", "type"),
    "effect_value": ("reported_effect", "value"),
    "effect_iqr": ("reported_effect", "iqr"),
    "ci_low": ("reported_effect", "ci_low"),
    "ci_high": ("reported_effect", "ci_high"),
    "effect_direction_note": ("reported_effect", "direction_note"),
    "reported_smd_type": ("reported_effect", "smd_type"),
    "reported_smd_value": ("reported_effect", "smd_value"),
    "p_operator": ("p_value", "operator"),
    "p_value": ("p_value", "value"),
    "p_value_text": ("p_value", "text"),
    "test_statistic": ("test_statistic",),
    "computability": ("computability",),
    "source_type": ("source", "type"),
    "source_url": ("source", "url"),
    "quote": ("source", "quote"),
    "quote2": ("source", "quote2"),
    "notes": ("notes",),
}

#: Columns whose cells are numbers (written as YAML numbers, with the CSV's own text).
NUMERIC_STUDY_COLUMNS = frozenset(
    {"year", "n_randomized", "n_ldn", "n_control", "n_analyzed", "dose_mg", "duration_weeks"}
)
NUMERIC_OUTCOME_COLUMNS = frozenset(
    {"timepoint_weeks", "n_ldn_outcome", "n_ctl_outcome", *_STATISTICS}
    | {"effect_value", "effect_iqr", "ci_low", "ci_high", "reported_smd_value", "p_value"}
    | {"test_statistic"}
)

#: The extraction's condition label for CD and UC analysed together.
MIXED_IBD = "ibd_mixed"

#: The extraction labels these designs ``other``; the design_detail of each says which of
#: the study-file designs it is.
DESIGN_OF_OTHER = {
    "Younger2009": "nonrandomized_crossover",  # "fixed-sequence crossover ...; not randomized"
    "Raknes2017": "database_before_after",  # "quasi-experimental before-after, ... Database"
    "Raknes2018": "database_before_after",
    "Griffith_ACTRN12624001162505": "not_reported",  # "design details not visible"
}

#: better_direction labels of the extraction that say "improvement" without a scale end.
IMPROVEMENT_LABELS = frozenset({"improvement", "improvement (direction per item)"})

#: Studies excluded for a reason other than "no results yet" (see ``_inclusion``).
EXCLUDED = {
    "Tamariz2024": (
        "unverified source: the only numbers come from an AI-generated secondary summary; "
        "the primary abstract, title, PMID and DOI were not seen"
    ),
}

#: What the sign of a reported effect means, read from the effect type and the extraction's
#: direction notes (outcomes.csv ``effect_type``/``effect_direction_note``; README "Sign and
#: direction conventions"). Written to ``reported_effect.sign_convention``.
SIGN_CONVENTION_BY_STUDY = {
    "Cree2010": "improvement_with_ldn",  # "reported as magnitude of improvement favouring LDN"
    "Tamariz2024": "ratio_ldn_over_comparator",  # relative hazard of improvement (HR)
}
DEFAULT_SIGN_CONVENTION = "ldn_minus_comparator"  # "MD (between-group ...)", "(LDN - placebo)"
#: Every reported standardized effect in the extraction is printed without a sign
#: (Bruun d 0.23 with MD -0.34; INNOVA d 0.19 with MD +0.49; Bested ES "without a sign").
SMD_SIGN_CONVENTION = "magnitude"

#: Co-interventions given with LDN (not to the comparator), from the extraction's dose notes.
CO_INTERVENTIONS = {"Isman2024": ["NAD+ iontophoresis patches"]}


class _RawNumber(str):
    """A number kept as the exact text of its CSV cell, emitted as a plain YAML scalar."""


def _represent_raw_number(dumper: yaml.SafeDumper, value: _RawNumber) -> yaml.ScalarNode:
    tag = "tag:yaml.org,2002:int" if re.fullmatch(r"[-+]?\d+", value) else "tag:yaml.org,2002:float"
    return dumper.represent_scalar(tag, str(value))


class _StudyDumper(yaml.SafeDumper):
    pass


_StudyDumper.add_representer(_RawNumber, _represent_raw_number)


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _cell(column: str, text: str, numeric: frozenset[str]) -> Any:
    if column not in numeric:
        return text
    float(text)  # a non-numeric cell in a numeric column is a broken extraction: fail loudly
    return _RawNumber(text.strip())


def _outcome_id(name: str, domain: str, taken: set[str]) -> str:
    head = re.split(r"[,(]", name, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", head.lower())[:5]
    slug = "_".join(words) or domain
    if not slug[0].isalpha():
        slug = f"{domain}_{slug}"
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _inclusion(row: Mapping[str, str]) -> dict[str, str]:
    if row["suggested_use"].startswith("protocol_no_results"):
        return {
            "status": "exclude",
            "reason": f"registered or ongoing trial without results ({row['publication_status']})",
        }
    if row["study_id"] in EXCLUDED:
        return {"status": "exclude", "reason": EXCLUDED[row["study_id"]]}
    return {"status": "include"}


def _risk_of_bias(design: str, inclusion: Mapping[str, str]) -> dict[str, str]:
    """A provisional, design-based judgement; full RoB 2 / ROBINS-I needs the full texts."""
    if inclusion["status"] == "exclude":
        return {"overall": "not_assessed", "reason": inclusion["reason"]}
    if design in vocab.RANDOMIZED_DESIGNS:
        return {
            "overall": "some_concerns",
            "tool": "provisional (RoB 2 domains not assessed)",
            "reason": "randomized as reported, but judged from abstract-level reports only; "
            "the full text has not been assessed",
        }
    return {
        "overall": "high",
        "tool": "provisional (ROBINS-I domains not assessed)",
        "reason": "non-randomized design: no concurrent randomized control, so confounding "
        "and regression to the mean are not addressed",
    }


def convert(studies: list[dict[str, str]], outcomes: list[dict[str, str]]) -> dict[str, dict]:
    """Turn the rows of the curated CSVs into study-file mappings, keyed by study id."""
    unknown = (set(studies[0]) - set(STUDY_COLUMNS) - {"condition"}) | (
        set(outcomes[0]) - set(OUTCOME_COLUMNS) - {"study_id", "condition"}
    )
    if unknown:
        raise ValueError(f"curated extraction has unmapped columns: {sorted(unknown)}")
    files: dict[str, dict[str, Any]] = {}
    for row in studies:
        study: dict[str, Any] = {"schema_version": 1}
        for column, path in STUDY_COLUMNS.items():
            if row[column].strip():
                _set(study, path, _cell(column, row[column], NUMERIC_STUDY_COLUMNS))
        study = _order_study(study, row)
        files[row["study_id"]] = study
    taken: dict[str, set[str]] = {sid: set() for sid in files}
    for row in outcomes:
        study = files[row["study_id"]]
        outcome: dict[str, Any] = {}
        for column, path in OUTCOME_COLUMNS.items():
            if row[column].strip():
                _set(outcome, path, _cell(column, row[column], NUMERIC_OUTCOME_COLUMNS))
        effect = outcome.get("reported_effect", {})
        if "value" in effect:
            effect["sign_convention"] = SIGN_CONVENTION_BY_STUDY.get(
                row["study_id"], DEFAULT_SIGN_CONVENTION
            )
        if "smd_value" in effect:
            effect["smd_sign_convention"] = SMD_SIGN_CONVENTION
        label = outcome["better_direction"]
        if label in IMPROVEMENT_LABELS:
            outcome["better_direction"] = "improvement_reported"
            outcome["better_direction_note"] = label
        scope = "mixed_ibd" if row["condition"] == MIXED_IBD else "target_condition"
        if scope != study.get("population_scope", "target_condition"):
            outcome["population_scope"] = scope
        outcome = {
            "id": _outcome_id(outcome["name"], outcome["domain"], taken[row["study_id"]]),
            **outcome,
        }
        study["outcomes"].append(outcome)
    return files


def _order_study(study: dict[str, Any], row: Mapping[str, str]) -> dict[str, Any]:
    design = study["design"]
    if design == "other":
        design = DESIGN_OF_OTHER[row["study_id"]]
    inclusion = _inclusion(row)
    condition = row["condition"]
    head: dict[str, Any] = {
        "schema_version": 1,
        "id": study["id"],
        "condition": "crohns_disease" if condition == MIXED_IBD else condition,
    }
    if condition == MIXED_IBD:
        head["population_scope"] = "mixed_ibd"
    for key in ("title", "journal", "year", "identifiers"):
        if key in study:
            head[key] = study[key]
    head["design"] = design
    if design != study["design"]:
        head["design_as_extracted"] = study["design"]
    for key in ("design_detail", "blinding", "comparator", "sample_size", "dose", "duration"):
        if key in study:
            head[key] = study[key]
    if row["study_id"] in CO_INTERVENTIONS:
        head["co_interventions"] = CO_INTERVENTIONS[row["study_id"]]
    for key in ("population", "publication_status", "suggested_use", "has_numeric_outcomes"):
        if key in study:
            head[key] = study[key]
    head["inclusion"] = inclusion
    head["risk_of_bias"] = _risk_of_bias(design, inclusion)
    head["source"] = study["source"]
    if "notes" in study:
        head["notes"] = study["notes"]
    head["outcomes"] = []
    return head


_HEADER = """\
# Study file for ldn-evidence (schema: workflow/schemas/study.schema.yaml; every field is
# documented in docs/study-files.md). Imported from the curated extraction; every number is
# as the source reports it, with the quote under `source:`. Edit by hand; validate with
#   ldn-evidence validate {path}
"""


def dump_study(study: Mapping[str, Any], relpath: str) -> str:
    """The YAML text of one study file (numbers written as their CSV text)."""
    body = yaml.dump(study, Dumper=_StudyDumper, sort_keys=False, allow_unicode=True, width=100_000)
    return _HEADER.format(path=relpath) + body


def read_csv(path: Path | str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def import_curated(
    studies_csv: Path | str, outcomes_csv: Path | str, out_dir: Path | str, *, force: bool = False
) -> list[Path]:
    """Write one study file per row of ``studies_csv`` under ``out_dir/<condition>/``.

    Existing files are left alone unless ``force`` is set (they may carry hand corrections).
    Returns the paths written.
    """
    files = convert(read_csv(studies_csv), read_csv(outcomes_csv))
    out_dir = Path(out_dir)
    targets = {sid: out_dir / s["condition"] / f"{sid}.yaml" for sid, s in files.items()}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} study files exist already (first: {existing[0]}); "
            "use --force to overwrite them"
        )
    written = []
    for sid, path in sorted(targets.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, dump_study(files[sid], path.as_posix()))
        written.append(path)
    return written
