"""The commands the workflow's rules run, as argument lists for ``ldn_evidence.cli.main``, for
tests that run the pipeline in-process in a project-like folder ``work`` (``config/``,
``data/processed/``, ``results/``)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = PROJECT_ROOT / "data" / "reference"


def condition_commands(work: Path, condition: str, study_files: list[str]) -> dict[str, list]:
    """Ingest, effects, analyses, certainty and figures of one condition, in that order."""
    processed, results = work / "data" / "processed", work / "results"
    here, out = processed / condition, results / condition
    config = work / "config"
    return {
        "ingest": ["ingest", *study_files, "--condition", condition, "--out-dir", str(here)],
        "effects": [
            "effects",
            *("--studies", str(here / "studies.parquet")),
            *("--outcomes", str(here / "outcomes.parquet")),
            *("--out-dir", str(here)),
        ],
        "analyses": [
            "analyses",
            *("--condition", condition, "--plan", str(config / "analyses.yaml")),
            *("--processed-dir", str(here)),
            *("--published", str(REFERENCE / "meta_analyses.csv")),
            *("--out-dir", str(out)),
        ],
        "certainty": [
            "certainty",
            *("--condition", condition, "--results-dir", str(results)),
            *("--processed-dir", str(processed)),
            *("--config", str(config / "certainty.yaml")),
            *("--overrides", str(config / "certainty_overrides.yaml")),
        ],
        "figures": [
            "figures",
            *("--condition", condition, "--results-dir", str(out)),
            *("--processed-dir", str(here)),
            *("--out-dir", str(out / "figures")),
        ],
    }


def claims_command(work: Path, conditions: list[str]) -> list:
    return [
        "claims",
        *("--conditions", *conditions),
        *("--claims", str(REFERENCE / "claims.csv")),
        *("--results-dir", str(work / "results")),
        *("--config", str(work / "config" / "certainty.yaml")),
    ]


def report_command(work: Path, conditions: list[str], *, with_claims: bool = True) -> list:
    results = work / "results"
    claims = ["--claims", str(results / "claims.parquet")] if with_claims else []
    return [
        "report",
        *("--conditions", *conditions, "--results-dir", str(results)),
        *("--processed-dir", str(work / "data" / "processed")),
        *("--config", str(work / "config" / "config.yaml")),
        *claims,
        *("--claims-source", str(REFERENCE / "claims.csv")),
        *("--out-dir", str(results / "report")),
    ]
