"""The finished project copy shared by the workflow tests."""

from pathlib import Path

import pytest
from tests.workflow.project import copy_project, snakemake


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """A copy of the project with a finished run (shared: tests restore what they change)."""
    work = copy_project(tmp_path_factory.mktemp("project"))
    run = snakemake(work, "--cores", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    return work
