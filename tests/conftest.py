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

    from ldn_evidence.cli import main

    work = tmp_path_factory.mktemp("bundled")
    shutil.copytree(PROJECT_ROOT / "config", work / "config")
    conditions = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")
    for condition in conditions:
        processed = work / "data" / "processed" / condition
        results = work / "results" / condition
        files = sorted(str(p) for p in (PROJECT_ROOT / "data" / "raw" / condition).glob("*.yaml"))
        assert main(["ingest", *files, "--condition", condition, "--out-dir", str(processed)]) == 0
        assert (
            main(
                [
                    "effects",
                    "--studies",
                    str(processed / "studies.parquet"),
                    "--outcomes",
                    str(processed / "outcomes.parquet"),
                    "--out-dir",
                    str(processed),
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "analyses",
                    "--condition",
                    condition,
                    "--plan",
                    str(work / "config" / "analyses.yaml"),
                    "--processed-dir",
                    str(processed),
                    "--published",
                    str(PROJECT_ROOT / "data" / "reference" / "meta_analyses.csv"),
                    "--out-dir",
                    str(results),
                ]
            )
            == 0
        )
    results = work / "results"
    processed_root = work / "data" / "processed"
    for condition in conditions:
        certainty = [
            "certainty",
            "--condition",
            condition,
            "--results-dir",
            str(results),
            "--processed-dir",
            str(processed_root),
            "--config",
            str(work / "config" / "certainty.yaml"),
            "--overrides",
            str(work / "config" / "certainty_overrides.yaml"),
        ]
        assert main(certainty) == 0
        figures = [
            "figures",
            "--condition",
            condition,
            "--results-dir",
            str(results / condition),
            "--processed-dir",
            str(processed_root / condition),
            "--out-dir",
            str(results / condition / "figures"),
        ]
        assert main(figures) == 0
    claims_csv = str(PROJECT_ROOT / "data" / "reference" / "claims.csv")
    claims = [
        "claims",
        "--conditions",
        *conditions,
        "--claims",
        claims_csv,
        "--results-dir",
        str(results),
        "--config",
        str(work / "config" / "certainty.yaml"),
    ]
    assert main(claims) == 0
    report = [
        "report",
        "--conditions",
        *conditions,
        "--results-dir",
        str(results),
        "--processed-dir",
        str(processed_root),
        "--config",
        str(work / "config" / "config.yaml"),
        "--claims",
        str(results / "claims.parquet"),
        "--claims-source",
        claims_csv,
        "--out-dir",
        str(results / "report"),
    ]
    assert main(report) == 0
    return work
