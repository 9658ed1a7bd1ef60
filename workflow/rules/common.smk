# Shared setup: validate the config, find the study files, define input functions.
# Kept light: it runs on every dry-run, so it imports nothing heavy.

import json
import sys
from collections import Counter
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RAW_DIR = Path("data/raw")
PROCESSED_DIR = Path("data/processed")
RESULTS_DIR = "results"
CONDITIONS = list(config["conditions"])

# The rules call the package with the interpreter that runs Snakemake, so a virtual
# environment works whether or not it is activated.
LDN = f'"{sys.executable}" -m ldn_evidence'


wildcard_constraints:
    condition="|".join(CONDITIONS),


def study_files(condition):
    """The study files of one condition, sorted (data/raw/<condition>/*.yaml)."""
    folder = RAW_DIR / condition
    return sorted(str(p) for p in folder.glob("*.y*ml")) if folder.is_dir() else []


def all_study_files():
    return [f for c in CONDITIONS for f in study_files(c)]


def _check_unique_study_names():
    counts = Counter(Path(f).stem for f in all_study_files())
    duplicated = sorted(name for name, n in counts.items() if n > 1)
    if duplicated:
        raise WorkflowError(
            "study ids must be unique across data/raw/; used in more than one folder: "
            + ", ".join(duplicated)
        )


_check_unique_study_names()


def validate_all_study_files():
    """Stop the whole run, before any job, if any study file anywhere is invalid.

    A gate here rather than a rule: a rule every ingest job depends on would make an edit in
    one condition re-run all of them. Every problem is printed, one per line.
    """
    from ldn_evidence.cli import main as ldn_evidence

    if ldn_evidence(["validate", str(RAW_DIR)]) != 0:
        raise WorkflowError(
            "invalid study files (every problem is listed above); "
            "nothing was run and nothing under data/processed/ or results/ was replaced"
        )


onstart:
    validate_all_study_files()


def get_final_output():
    outputs = []
    for condition in CONDITIONS:
        for table in ("studies", "outcomes", "effects"):
            outputs += [
                f"{PROCESSED_DIR}/{condition}/{table}.parquet",
                f"{PROCESSED_DIR}/{condition}/{table}.csv",
            ]
        outputs.append(f"{PROCESSED_DIR}/{condition}/effects_method.json")
        outputs += [
            f"{RESULTS_DIR}/{condition}/{table}.{ext}"
            for table in ("analyses", "analysis_members", "narrative", "published_comparison")
            for ext in ("parquet", "csv")
        ]
        outputs.append(f"{RESULTS_DIR}/{condition}/analyses.json")
        outputs.append(f"{RESULTS_DIR}/{condition}/certainty.parquet")
        outputs.append(f"{RESULTS_DIR}/{condition}/figures/index.json")
    outputs += [f"{RESULTS_DIR}/report/index.html", f"{RESULTS_DIR}/report/summary.md"]
    outputs += [f"{RESULTS_DIR}/changes.md", f"{RESULTS_DIR}/changes.json"]
    outputs += [f"{RESULTS_DIR}/claims.parquet", f"{RESULTS_DIR}/claims.csv"]
    return outputs
