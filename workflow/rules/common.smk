# Shared setup: validate the config, find the study files, define input functions.
# Kept light: it runs on every dry-run, so it imports nothing heavy.

import functools
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from snakemake.utils import validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod


def _stop(lines, summary):
    """Print each problem on one line, then stop: no traceback, no job, exit code 1."""
    for line in lines:
        print(line, file=sys.stderr)
    print(summary, file=sys.stderr)
    sys.exit(1)


def _validate_config():
    """Snakemake's `validate` (which also fills in the schema's defaults), once per content.

    It runs on every run, a run with nothing to do included, and importing jsonschema for it
    costs about a quarter of a second; so the filled-in config of a valid one is kept in
    .snakemake/, under a digest of the config, the schema and Snakemake's version, and taken
    from there while none of them changes.
    """
    import snakemake

    schema = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
    try:
        text = json.dumps(config, sort_keys=True)
    except (TypeError, ValueError):  # not JSON-able (e.g. from --config): just validate
        validate(config, schema="../schemas/config.schema.yaml")
        return
    digest = hashlib.sha256()
    for part in (text.encode(), schema.read_bytes(), snakemake.__version__.encode()):
        digest.update(part + b"\0")
    kept = Path(".snakemake") / "ldn-valid-config" / f"{digest.hexdigest()}.json"
    try:
        filled = json.loads(kept.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        validate(config, schema="../schemas/config.schema.yaml")
        from ldn_evidence.io.atomic import atomic_write_text

        try:  # only the latest is kept; a read-only folder just means validating each time
            kept.parent.mkdir(parents=True, exist_ok=True)
            for other in kept.parent.glob("*.json"):
                other.unlink()
            atomic_write_text(kept, json.dumps(config, sort_keys=True))
        except OSError:
            pass
        return
    config.clear()
    config.update(filled)


try:
    _validate_config()
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

# The command of every job, `shell: ldn("...")`. The interpreter comes from an environment
# variable, not a parameter, so running Snakemake from another environment re-runs nothing: by
# default the interpreter that runs Snakemake (a virtual environment works whether or not it is
# activated); with `--sdm conda`, the conda environment with this repository's src/ on the path.
LDN = '"$LDN_EVIDENCE_PYTHON" -m ldn_evidence'
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    os.environ.update(
        LDN_EVIDENCE_PYTHON="python", LDN_EVIDENCE_SRC=str(Path(workflow.basedir) / "src")
    )
    shell.prefix('set -euo pipefail; export PYTHONPATH="$LDN_EVIDENCE_SRC"; ')
else:
    os.environ.update(LDN_EVIDENCE_PYTHON=sys.executable)


def ldn(arguments):
    """The shell command ``ldn-evidence ARGUMENTS`` (Snakemake placeholders allowed)."""
    return f"{LDN} {arguments}"


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
    one condition re-run all of them. Every problem is printed, one per line. Files found
    valid before, with the same content and validation code, are not parsed again: 500 files
    take 6.8 s to validate here, and 0.5 s when all but the edited one are known.
    """
    from ldn_evidence.cli import main as ldn_evidence

    known = Path(".snakemake") / "ldn-valid-studies.json"
    if ldn_evidence(["validate", str(RAW_DIR), "--known-valid", str(known)]) != 0:
        raise WorkflowError(
            "invalid study files (every problem is listed above); "
            "nothing was run and nothing under data/processed/ or results/ was replaced"
        )


# No good result lost (ldn_evidence.io.safety): Snakemake deletes a job's outputs before it
# runs and when it fails, so the outputs of the last good run are hard-linked aside at start
# and what a failed run deleted is put back; truncated Parquet/PNG files are removed before
# the DAG is built, so they are rebuilt instead of read, and a figure index that lists a missing
# figure is removed, so that the figure is redrawn.
LAST_GOOD = Path(".snakemake") / "ldn-last-good"


def _remove_truncated_outputs():
    from ldn_evidence.io.safety import remove_stale_figure_indexes, remove_truncated

    for path in remove_truncated([PROCESSED_DIR, Path(RESULTS_DIR)]):
        print(f"{path}: truncated; removed so that it is rebuilt", file=sys.stderr)
    for path in remove_stale_figure_indexes(RESULTS_DIR):
        print(
            f"{path}: lists a figure that is missing; removed so that the figures are redrawn",
            file=sys.stderr,
        )


_remove_truncated_outputs()


# The jobs of a local run are forks of one process that has imported the libraries once
# (ldn_evidence.jobserver): about a second less per job. Not on a cluster, not with --sdm conda
# (the jobs run another interpreter), and not when LDN_EVIDENCE_JOB_SERVER=off; a job that
# finds no server runs in its own interpreter, with the same result.
JOB_SERVER = []


def start_job_server(snakemake_logs):
    """Start the run's job server; its log (a line per job) is beside Snakemake's own."""
    from ldn_evidence import jobserver

    if (
        os.environ.get(jobserver.ENV) == jobserver.OFF
        or not workflow.local_exec
        or DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    ):
        return
    log = Path((list(snakemake_logs) or [".snakemake/log/run.snakemake.log"])[0])
    log.parent.mkdir(parents=True, exist_ok=True)
    server = jobserver.start(sys.executable, log.with_name(f"{log.name}.job-server"))
    if server is not None:
        os.environ[jobserver.ENV] = server.address
        JOB_SERVER.append(server)


def stop_job_server():
    while JOB_SERVER:
        JOB_SERVER.pop().stop()


def exit_promptly():
    """Let Snakemake's process end as soon as the run is over (about a second sooner).

    After every scheduling round Snakemake 9 starts a 1-second ``threading.Timer`` to look
    again (its default ``--max-jobs-per-timespan`` rate limit); the interpreter waits for the
    last one before it exits. The run is over when onsuccess/onerror is called, so those
    timers are cancelled. The objects of the run are frozen, so that the interpreter's final
    garbage collections skip them.
    """
    import gc
    import threading

    for thread in threading.enumerate():
        task = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and "_schedule_reevalutation" in getattr(
            task, "__qualname__", ""
        ):
            thread.cancel()
    gc.freeze()


def forget_records(paths):
    """Drop Snakemake's records of files put back after a failure (ldn_evidence.io.safety):
    it wrote them for the failed job as if it had finished, new parameters and input checksums
    included, which would let the old files pass for the new job's results."""
    persistence = getattr(workflow, "persistence", None)
    if persistence is None:
        return
    from snakemake.io import IOFile

    for path in paths:
        persistence.cleanup_metadata(IOFile(str(path)))


onstart:
    start_job_server(log)
    validate_all_study_files()
    from ldn_evidence.io.safety import snapshot

    snapshot([PROCESSED_DIR, Path(RESULTS_DIR)], LAST_GOOD)


onsuccess:
    stop_job_server()
    from ldn_evidence.io.safety import drop_snapshot

    drop_snapshot(LAST_GOOD)
    exit_promptly()


onerror:
    stop_job_server()
    from ldn_evidence.io.safety import restore_missing

    restored = restore_missing(LAST_GOOD)
    forget_records(restored)
    if restored:
        print(
            f"{len(restored)} output file(s) of the last good run put back after the failure "
            "(they will be rebuilt by the next run that can)",
            file=sys.stderr,
        )
    exit_promptly()


def figure_threads():
    """The processes that draw one condition's figures: an equal share of the cores the run
    was given (--cores, which a cluster run passes on to its jobs; one when not given there),
    at least one and at most four.

    On a small machine the conditions' figures are then drawn side by side, one process each,
    not one condition at a time with several: each process starts cold (its own font caches,
    its own copy of the pages it writes), and a clean run of the bundled data on 2 cores took
    about 3 s longer that way (benchmarks/bench_workflow_growth.py). A run that redraws one
    condition's figures only redraws those whose data changed, a few seconds at most.
    """
    cores = workflow.resource_settings.cores
    if not isinstance(cores, int):
        return 2
    return max(1, min(4, cores // max(1, len(CONDITIONS))))


def report_inputs(wildcards):
    tables = ("analyses", "analysis_members", "narrative", "vote_counts", "published_comparison")
    inputs = [f"{RESULTS_DIR}/{c}/{t}.parquet" for c in CONDITIONS for t in tables]
    inputs += [
        f"{PROCESSED_DIR}/{c}/{t}.parquet" for c in CONDITIONS for t in ("studies", "effects")
    ]
    inputs += [f"{RESULTS_DIR}/{c}/certainty.parquet" for c in CONDITIONS]
    inputs += [f"{RESULTS_DIR}/{c}/figures/index.json" for c in CONDITIONS]
    return inputs


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


# ---- what a job depends on besides its input files (the pattern for every rule) -------------
# Snakemake re-runs a job when its input files, its shell command or its params change, but it
# cannot see the Python code the command imports. So every rule has
#     code=code_version("effects", "io"),     the subpackages its command imports
#     settings=config_json("effects"),        each config section it reads (if any)
# in its params: a change to that code or to those config values re-runs the rule and what
# follows it, and nothing else.


@functools.cache
def _package_dir():
    """The source of ldn_evidence that the jobs import (found without importing it)."""
    spec = importlib.util.find_spec("ldn_evidence")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(workflow.basedir) / "src" / "ldn_evidence"


@functools.cache
def _package_code():
    from ldn_evidence.codeversion import PackageCode, foreign_package_warning

    warning = foreign_package_warning(_package_dir(), Path(workflow.basedir))
    if warning:
        print(warning, file=sys.stderr)
    return PackageCode(_package_dir(), Path(".snakemake") / "ldn-code-facts.json")


@functools.cache
def code_version(*units):
    """A content hash of the package code a rule's command runs
    (:meth:`ldn_evidence.codeversion.PackageCode.version`): the named subpackages or
    top-level modules, what they import, and the shared entry points and data files."""
    code = _package_code()
    version = code.version(*units)
    code.save()
    return version


def config_json(section, default=None):
    """One section of config/config.yaml as canonical JSON (a param, and the command's input)."""
    return json.dumps(config.get(section, default), sort_keys=True)


def _compare_params_without_pandas():
    """Let Snakemake compare params without importing pandas (about 1 s on every run).

    Snakemake imports pandas, when it is installed, only to hash pandas objects given as
    params; these rules' params are strings, which it records identically either way.
    """
    from snakemake.persistence import PersistenceBase

    if hasattr(PersistenceBase, "_serialize_param_builtin"):
        PersistenceBase._serialize_param = property(lambda self: self._serialize_param_builtin)


_compare_params_without_pandas()
