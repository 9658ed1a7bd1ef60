"""The gate stops every run, a run with nothing to do included, and names each problem.

A finished run of the workflow in a temporary copy of the project; each case then breaks one
thing, runs ``snakemake --cores 2`` (no dry run), and checks the exact lines printed, the exit
code, and that ``data/processed/`` and ``results/`` are byte-identical afterwards.
"""

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
CHOICES = "fibromyalgia, crohns_disease, multiple_sclerosis, long_covid"
WHERE = f"(expected data/raw/<condition>/ with one of: {CHOICES})"
LAYOUT_STOP = (
    "{n} problem(s) with the study files in data/raw/; nothing was run and nothing under "
    "data/processed/ or results/ was replaced"
)
VALIDATE_STOP = (
    "invalid study files (every problem is listed above); nothing was run and nothing under "
    "data/processed/ or results/ was replaced"
)
ALIASES = "every value written out in full, without &anchors and *aliases"


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
    """A copy of the project with a finished run (and a results/ file to keep)."""
    work = tmp_path_factory.mktemp("gate")
    shutil.copy(ROOT / "Snakefile", work)
    for folder in ("workflow", "config", "data/raw", "data/reference"):
        shutil.copytree(ROOT / folder, work / folder)
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    (work / "results").mkdir(exist_ok=True)
    (work / "results" / "kept.txt").write_text("made by an earlier run\n")
    return work


def snapshot(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for folder in ("data/processed", "results")
        for p in sorted((project / folder).rglob("*"))
        if p.is_file()
    }


def append_to(relative: str, text: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        path = project / relative
        path.write_text(path.read_text() + text)

    return change


def replace_in(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        path = project / relative
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    return change


def copy_study(source: str, target: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        (project / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / source, project / target)

    return change


def dangling_link(relative: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        (project / relative).symlink_to("Removed2020.yaml")

    return change


BRUUN = "data/raw/fibromyalgia/Bruun2024.yaml"
ALIAS_BOMB = "l0: &l0 [lol, lol, lol]\nl1: &l1 [*l0, *l0, *l0]\nl2: &l2 [*l1, *l1, *l1]\n"

# (case id, change, expected stderr lines, whether the lines are the whole of stderr)
CASES = [
    (
        "file directly in data/raw",
        copy_study(BRUUN, "data/raw/Stray2020.yaml"),
        [
            f"data/raw/Stray2020.yaml: file: -: study file directly in data/raw/ {WHERE}",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        "unknown condition folder",
        copy_study(BRUUN, "data/raw/gout/Stray2020.yaml"),
        [
            f"data/raw/gout/Stray2020.yaml: file: -: folder 'gout' is not a condition {WHERE}",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        "subfolder",
        copy_study(BRUUN, "data/raw/fibromyalgia/old/Stray2020.yaml"),
        [
            "data/raw/fibromyalgia/old/Stray2020.yaml: file: -: study file in a subfolder of "
            f"data/raw/fibromyalgia/ {WHERE}",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        "dangling symlink",
        dangling_link("data/raw/long_covid/Gone2020.yaml"),
        [
            "data/raw/long_covid/Gone2020.yaml: file: -: dangling symbolic link to "
            "Removed2020.yaml, which does not exist (expected a study file, or remove the link)",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        ".yml beside .yaml",
        copy_study(BRUUN, "data/raw/fibromyalgia/Bruun2024.yml"),
        [
            "data/raw/fibromyalgia/Bruun2024.yml: file: -: study id 'Bruun2024' is also used "
            f"by {BRUUN} (expected one file per study id under data/raw/)",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        "one id in two conditions",
        copy_study(BRUUN, "data/raw/long_covid/Bruun2024.yaml"),
        [
            "data/raw/long_covid/Bruun2024.yaml: file: -: study id 'Bruun2024' is also used "
            f"by {BRUUN} (expected one file per study id under data/raw/)",
            LAYOUT_STOP.format(n=1),
        ],
        True,
    ),
    (
        "config value out of range",
        replace_in("config/config.yaml", "crossover_correlation: 0.5", "crossover_correlation: 2"),
        [
            "config/config.yaml: effects.crossover_correlation: 2 is out of range (expected a "
            "value < 1)",
            "invalid config/config.yaml; nothing was run",
        ],
        True,
    ),
    (
        "alias bomb",
        append_to(BRUUN, ALIAS_BOMB),
        [
            f"{BRUUN}: file: -: unsupported YAML at line {{line}}, column 5: anchor &l0 is not "
            f"supported (expected {ALIASES})",
            "1 problem(s) in 1 of 27 file(s)",
            VALIDATE_STOP,
        ],
        False,
    ),
    (
        "20000 brackets",
        append_to(BRUUN, "l0: " + "[" * 20_000 + "]" * 20_000 + "\n"),
        [
            f"{BRUUN}: file: -: unsupported YAML at line {{line}}, column 1004: lists and "
            "mappings nested more than 20 deep (expected the few levels of a study file)",
            "1 problem(s) in 1 of 27 file(s)",
            VALIDATE_STOP,
        ],
        False,
    ),
    (
        "list as a key",
        append_to(BRUUN, "? [a, b]\n: 1\n"),
        [
            f"{BRUUN}: file: -: unsupported YAML at line {{line}}, column 3: a key is a list "
            "(expected a field name)",
            "1 problem(s) in 1 of 27 file(s)",
            VALIDATE_STOP,
        ],
        False,
    ),
    (
        "1e12 participants",
        replace_in(BRUUN, "n_ldn: 49", "n_ldn: 1e12"),
        [
            f"{BRUUN}: outcome pain_intensity_nrs_0_10: statistics.n_ldn: 1000000000000.0 is "
            "a decimal number (expected a whole number or empty)",
            "1 problem(s) in 1 of 27 file(s)",
            VALIDATE_STOP,
        ],
        False,
    ),
    (
        "n above the arm size",
        replace_in(BRUUN, "n_ldn: 49", "n_ldn: 94"),
        [
            f"{BRUUN}: outcome pain_intensity_nrs_0_10: statistics.n_ldn: 94 participants "
            "exceed the study's sample_size.ldn of 49 (expected at most 49)",
            f"{BRUUN}: outcome pain_intensity_nrs_0_10: statistics.n_ctl: n_ldn + n_ctl = 144 "
            "exceed the study's sample_size.randomized of 99 (expected at most 99)",
            "2 problem(s) in 1 of 27 file(s)",
            VALIDATE_STOP,
        ],
        False,
    ),
]


@pytest.mark.parametrize(
    ("change", "expected", "whole"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_gate_stops_the_run_and_changes_nothing(project, tmp_path, change, expected, whole):
    backup = tmp_path / "backup"
    shutil.copytree(project, backup, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    before = snapshot(project)
    line = len((project / BRUUN).read_text().splitlines()) + 1  # first appended line
    try:
        change(project)
        run = snakemake(project)
    finally:
        for folder in ("data/raw", "config"):
            shutil.rmtree(project / folder)
            shutil.copytree(backup / folder, project / folder, symlinks=True)
    expected = [e.replace("{line}", str(line)) for e in expected]
    err = run.stderr.splitlines()
    assert run.returncode == 1, run.stderr[-3000:]
    if whole:  # stopped when the workflow was parsed: only these lines
        assert err == expected
    else:  # stopped by the onstart gate: the problems, then Snakemake's WorkflowError
        start = err.index(expected[0])
        assert err[start : start + len(expected) - 1] == expected[:-1]
        assert err.index(expected[-1]) > start
    assert snapshot(project) == before


def test_a_no_op_run_still_succeeds_after_the_cases(project):
    run = snakemake(project)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Nothing to be done" in run.stdout + run.stderr
