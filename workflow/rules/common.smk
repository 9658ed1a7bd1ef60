# Shared setup: validate the config, find the study files, define input functions.
# Kept light: it runs on every dry-run, so it imports nothing heavy.

import json
import sys
from pathlib import Path

from snakemake.utils import validate


def _stop(lines, summary):
    """Print each problem on one line, then stop: no traceback, no job, exit code 1."""
    for line in lines:
        print(line, file=sys.stderr)
    print(summary, file=sys.stderr)
    sys.exit(1)


try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError:
    # Snakemake's message is a schema dump; say instead which key is wrong, one line each.
    import yaml

    from ldn_evidence.io.validate import config_problems

    schema_path = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
    _stop(
        config_problems(config, yaml.safe_load(schema_path.read_text())),
        "invalid config/config.yaml; nothing was run",
    )

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
    if not folder.is_dir():
        return []
    return sorted(
        str(p) for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir()
    )


def all_study_files():
    return [f for c in CONDITIONS for f in study_files(c)]


def _check_study_file_layout():
    """Stop, on every run (a run with nothing to do included), if a study file is misplaced.

    Runs when the workflow is parsed, because `onstart` runs only when there are jobs: study
    files outside a configured condition folder or in a subfolder (which no rule would read),
    dangling symbolic links, and two files with one study id are named, one per line. Only a
    directory walk: no file is parsed and nothing heavy is imported.
    """
    from ldn_evidence.io.studyfile import layout_issues
    from ldn_evidence.vocab import CONDITIONS as KNOWN_CONDITIONS

    issues, notes = layout_issues(RAW_DIR, CONDITIONS, KNOWN_CONDITIONS)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if issues:
        _stop(
            issues,
            f"{len(issues)} problem(s) with the study files in {RAW_DIR}/; nothing was run "
            "and nothing under data/processed/ or results/ was replaced",
        )


_check_study_file_layout()


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


# No good result lost (ldn_evidence.io.safety): Snakemake deletes a job's outputs before it
# runs and when it fails, so the outputs of the last good run are hard-linked aside at start
# and what a failed run deleted is put back; truncated Parquet/PNG files are removed before
# the DAG is built, so they are rebuilt instead of read.
LAST_GOOD = Path(".snakemake") / "ldn-last-good"


def _remove_truncated_outputs():
    from ldn_evidence.io.safety import remove_truncated

    for path in remove_truncated([PROCESSED_DIR, Path(RESULTS_DIR)]):
        print(f"{path}: truncated; removed so that it is rebuilt", file=sys.stderr)


_remove_truncated_outputs()


onstart:
    validate_all_study_files()
    from ldn_evidence.io.safety import snapshot

    snapshot([PROCESSED_DIR, Path(RESULTS_DIR)], LAST_GOOD)


onsuccess:
    from ldn_evidence.io.safety import drop_snapshot

    drop_snapshot(LAST_GOOD)


onerror:
    from ldn_evidence.io.safety import restore_missing

    restored = restore_missing(LAST_GOOD)
    if restored:
        print(
            f"{len(restored)} output file(s) of the last good run put back after the failure "
            "(they will be rebuilt by the next run that can)",
            file=sys.stderr,
        )


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
