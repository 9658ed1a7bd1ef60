"""Helpers of the workflow tests: a copy of the project, run by Snakemake.

The copy has its own ``src/`` (put first on PYTHONPATH), so tests can change the package's code
there and ask Snakemake what would re-run, without touching the checkout.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")
COPIED = ("Snakefile", "workflow", "profiles", "config", "data/raw", "data/reference")


def copy_project(dest: Path) -> Path:
    """The workflow, its profiles, config, data and package source, without any results."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        else:
            shutil.copy(source, dest / name)
    shutil.copytree(
        ROOT / "src" / "ldn_evidence",
        dest / "src" / "ldn_evidence",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return dest


def project_env(workdir: Path) -> dict[str, str]:
    """The environment with the copy's package first on the path."""
    path = [str(workdir / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def job_server_logs(workdir: Path) -> list[Path]:
    """The job server's log of each run in a project copy, oldest first (a line per job)."""
    return sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log.job-server"))


def job_server_pid(log: Path) -> int:
    """The pid of the job server that wrote ``log``."""
    return int(re.search(r"^\[job server (\d+)\]", log.read_text(), re.M).group(1))


def snakemake(
    workdir: Path,
    *args: str,
    python: str = sys.executable,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``workdir`` (the profile in profiles/default applies); ``env``:
    variables to set besides the copy's package path."""
    return subprocess.run(
        [python, "-m", "snakemake", *args],
        cwd=workdir,
        env={**project_env(workdir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_JOB = re.compile(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    wildcards: condition=(\w+)", re.M)


def planned_jobs(workdir: Path, *args: str, python: str = sys.executable) -> set[tuple[str, str]]:
    """(rule, condition) of every job a dry run says would run."""
    run = snakemake(workdir, "--dry-run", *args, python=python)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    return set(_JOB.findall(run.stdout))


#: The jobs of one condition, in order (each depends on the one before).
STAGES = ("ingest", "effects", "analyses", "certainty", "figures")
#: Logs of the jobs that combine all conditions (under logs/).
COMBINED_LOGS = ("claims.log", "changes.log", "report.log")


def chain(*conditions: str, start: str = "ingest") -> set[tuple[str, str]]:
    """The jobs of these conditions from the stage ``start`` on."""
    return {(rule, c) for rule in STAGES[STAGES.index(start) :] for c in conditions}


def output_bytes(workdir: Path) -> dict[Path, bytes]:
    """Every file the workflow wrote under data/processed/ and results/, by relative path."""
    return {
        path.relative_to(workdir): path.read_bytes()
        for folder in ("data/processed", "results")
        for path in sorted((workdir / folder).rglob("*"))
        if path.is_file()
    }
