"""Shared fixtures: paths of the project, forcing a non-interactive matplotlib backend."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory):
    """The whole pipeline on the bundled study files, run in-process into a temporary folder
    (the library functions the rules call, without Snakemake). Returns the folder, which holds
    ``data/processed/``, ``results/`` and ``config/`` like the project."""
    import shutil

    from tests.pipeline import claims_command, condition_commands, report_command

    from ldn_evidence.cli import main

    work = tmp_path_factory.mktemp("bundled")
    shutil.copytree(PROJECT_ROOT / "config", work / "config")
    conditions = ["fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid"]
    for condition in conditions:
        files = sorted(str(p) for p in (PROJECT_ROOT / "data" / "raw" / condition).glob("*.yaml"))
        for command in condition_commands(work, condition, files).values():
            assert main(command) == 0, command[0]
    assert main(claims_command(work, conditions)) == 0
    assert main(report_command(work, conditions)) == 0
    return work
