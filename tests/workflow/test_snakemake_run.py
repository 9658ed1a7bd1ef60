"""The workflow end to end, in a temporary copy of the project (data, config, rules)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with a finished run."""
    work = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "Snakefile", work)
    for folder in ("workflow", "config", "data/raw", "data/reference"):
        shutil.copytree(ROOT / folder, work / folder)
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    return work


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
    total = sum(
        len(pd.read_parquet(project / "data/processed" / c / "studies.parquet")) for c in CONDITIONS
    )
    assert total == 27


def test_second_run_has_nothing_to_do(project):
    run = snakemake(project, "-n")
    assert run.returncode == 0
    assert "Nothing to be done" in run.stdout + run.stderr


def test_editing_one_study_reruns_only_its_condition(project):
    path = project / "data/raw/multiple_sclerosis/Cree2010.yaml"
    original = path.read_text()
    try:
        path.write_text(original + "# corrected extraction\n")
        run = snakemake(project, "-n")
        out = run.stdout + run.stderr
        assert run.returncode == 0, out
        assert "condition=multiple_sclerosis" in out
        for other in ("fibromyalgia", "crohns_disease", "long_covid"):
            assert f"condition={other}" not in out
    finally:
        path.write_text(original)


def test_invalid_study_stops_the_run_and_keeps_earlier_results(project):
    processed = project / "data/processed"
    before = {p: p.read_bytes() for p in sorted(processed.rglob("*")) if p.is_file()}
    path = project / "data/raw/fibromyalgia/Bruun2024.yaml"
    original = path.read_text()
    other = project / "data/raw/long_covid/Isman2024.yaml"
    other_original = other.read_text()
    try:
        path.write_text(original.replace("n_ldn: 49", "n_ldn: 0", 1))
        other.write_text(other_original.replace("sd_ldn: 24.8", "sd_ldn: -24.8"))
        run = snakemake(project)
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
        after = {p: p.read_bytes() for p in sorted(processed.rglob("*")) if p.is_file()}
        assert after == before
    finally:
        path.write_text(original)
        other.write_text(other_original)


def test_outputs_are_byte_identical_across_runs(project, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(
        project, again, ignore=shutil.ignore_patterns(".snakemake", "processed", "logs")
    )
    run = snakemake(again)
    assert run.returncode == 0, run.stderr[-3000:]
    for path in sorted((project / "data/processed").rglob("*.*")):
        twin = again / path.relative_to(project)
        assert twin.read_bytes() == path.read_bytes(), path.name
