"""The workflow end to end, in a temporary copy of the project (data, config, rules)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from tests.workflow.project import (
    COMBINED_LOGS,
    CONDITIONS,
    STAGES,
    copy_project,
    job_server_logs,
    job_server_pid,
    output_bytes,
    planned_jobs,
    project_env,
    snakemake,
)

pytestmark = pytest.mark.workflow


def test_run_writes_processed_tables_for_every_condition(project):
    for condition in CONDITIONS:
        studies = pd.read_parquet(project / "data/processed" / condition / "studies.parquet")
        outcomes = pd.read_parquet(project / "data/processed" / condition / "outcomes.parquet")
        assert len(studies) > 0 and (studies["condition"] == condition).all()
        assert set(outcomes["study_id"]) <= set(studies["id"])
        assert (project / "data/processed" / condition / "outcomes.csv").exists()
        effects = pd.read_parquet(project / "data/processed" / condition / "effects.parquet")
        assert set(effects["outcome_id"]) == set(outcomes["outcome_id"])
        assert (project / "data/processed" / condition / "effects_method.json").exists()
        assert (project / "results" / condition / "analyses.json").exists()
    total = sum(
        len(pd.read_parquet(project / "data/processed" / c / "studies.parquet")) for c in CONDITIONS
    )
    assert total == 27


def test_one_log_per_job(project):
    logs = sorted(p.relative_to(project / "logs").as_posix() for p in (project / "logs").rglob("*"))
    expected = sorted([*(f"{rule}/{c}.log" for rule in STAGES for c in CONDITIONS), *COMBINED_LOGS])
    assert [p for p in logs if p.endswith(".log")] == expected


def test_invalid_study_stops_the_run_and_keeps_earlier_results(project):
    before = output_bytes(project)
    path = project / "data/raw/fibromyalgia/Bruun2024.yaml"
    original = path.read_text()
    other = project / "data/raw/long_covid/Isman2024.yaml"
    other_original = other.read_text()
    try:
        path.write_text(original.replace("n_ldn: 49", "n_ldn: 0", 1))
        other.write_text(other_original.replace("sd_ldn: 24.8", "sd_ldn: -24.8"))
        run = snakemake(project, "--cores", "2")
        out = run.stdout + run.stderr
        assert run.returncode != 0
        assert (
            "data/raw/fibromyalgia/Bruun2024.yaml: outcome pain_intensity_nrs_0_10: "
            "statistics.n_ldn: 0 participants (expected n >= 1)"
        ) in out
        assert (
            "data/raw/long_covid/Isman2024.yaml: outcome sf_36_total_score: "
            "statistics.sd_ldn: -24.8 is not positive (expected a value > 0)"
        ) in out
        assert output_bytes(project) == before
    finally:
        path.write_text(original)
        other.write_text(other_original)


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """A second clean run in a fresh copy, killed (SIGKILL) once its first jobs have started,
    then recovered as the README says: ``snakemake --unlock``, then ``snakemake``."""
    work = copy_project(tmp_path_factory.mktemp("killed"))
    run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=work,
        env=project_env(work),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    incomplete = work / ".snakemake" / "incomplete"
    deadline = time.monotonic() + 300
    while not (incomplete.is_dir() and any(incomplete.iterdir())):
        assert run.poll() is None and time.monotonic() < deadline, "no job started"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    server = job_server_pid(job_server_logs(work)[-1])
    deadline = time.monotonic() + 60
    while Path(f"/proc/{server}").exists() and "Z" not in _state(server):
        assert time.monotonic() < deadline, "the job server outlived the killed run"
        time.sleep(0.05)
    refused = snakemake(work, "--cores", "2")
    unlock = snakemake(work, "--unlock")
    # Resumed without the job server: every job in its own interpreter, for the comparison
    # of bytes with the run that used it (test_two_clean_runs_give_byte_identical_outputs).
    servers = job_server_logs(work)
    resumed = snakemake(work, "--cores", "2", env={"LDN_EVIDENCE_JOB_SERVER": "off"})
    assert job_server_logs(work) == servers, "the resumed run started a job server"
    return work, refused, unlock, resumed


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_recovery_after_a_killed_run(recovered):
    work, refused, unlock, resumed = recovered
    assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert planned_jobs(work) == set()


def test_every_job_of_a_run_ran_in_the_job_server(project):
    log = job_server_logs(project)[0].read_text()  # the first run: all jobs
    jobs = len(STAGES) * len(CONDITIONS) + len(COMBINED_LOGS)
    assert len(re.findall(r"job \d+ ended: exit 0", log)) == jobs, log
    assert "not preloaded" not in log and "request failed" not in log
    for job_log in (project / "logs").rglob("*.log"):
        assert "job server" not in job_log.read_text(), job_log  # no fallback, no failure


def test_two_clean_runs_give_byte_identical_outputs(project, recovered):
    """The second run was killed, then resumed with every job in its own interpreter."""
    work = recovered[0]
    ours, theirs = output_bytes(project), output_bytes(work)
    assert sorted(ours) == sorted(theirs)
    assert {p.parts[1] for p in ours if p.parts[0] == "results"} >= set(CONDITIONS)
    for path, content in ours.items():
        assert theirs[path] == content, path
