"""No good result lost: a job that fails past validation leaves the last good outputs of
every stage in place, and a truncated intermediate file is rebuilt, not read."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.workflow.project import planned_jobs

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]


def snakemake(work):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
    )


def digest(work):
    files = sorted(
        p
        for folder in ("data/processed", "results")
        for p in (work / folder).rglob("*")
        if p.is_file()
    )
    return {
        p.relative_to(work).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def test_a_failed_job_costs_no_result_and_a_truncated_table_is_rebuilt(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "Snakefile", work)
    for folder in ("workflow", "config", "data/raw", "data/reference"):
        shutil.copytree(ROOT / folder, work / folder)
    first = snakemake(work)
    assert first.returncode == 0, first.stderr[-3000:]
    good = digest(work)
    assert "results/fibromyalgia/analyses.parquet" in good

    # a plan that validation of the study files cannot catch: the analyses jobs fail, in a run
    # that also has a new setting of theirs (a parameter, not an input file)
    plan = work / "config" / "analyses.yaml"
    original = plan.read_text()
    planned = plan.stat()
    plan.write_text(original.replace("measure: SMD", "measure: HR", 1))
    config = work / "config" / "config.yaml"
    config.write_text(config.read_text().replace("  method: REML\n", "  method: DL\n", 1))
    failed = snakemake(work)
    assert failed.returncode != 0
    assert "measure: 'HR' is not allowed" in failed.stdout + failed.stderr
    assert "put back after the failure" in failed.stderr
    assert digest(work) == good

    # the plan as it was, to the second: what is put back is still the old setting's result,
    # and the next run must know it (Snakemake records a failed job's new parameters)
    plan.write_text(original)
    os.utime(plan, ns=(planned.st_atime_ns, planned.st_mtime_ns))
    assert ("analyses", "fibromyalgia") in planned_jobs(work, "--cores", "2")

    # a truncated intermediate is found before it is read, and rebuilt
    studies = work / "data" / "processed" / "long_covid" / "studies.parquet"
    studies.write_bytes(studies.read_bytes()[:100])
    again = snakemake(work)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "studies.parquet: truncated; removed so that it is rebuilt" in again.stderr
    after = digest(work)
    assert (
        after["data/processed/long_covid/studies.parquet"]
        == good["data/processed/long_covid/studies.parquet"]
    )
