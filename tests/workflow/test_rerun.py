"""What re-runs after each kind of change (dry runs on a finished copy of the project).

Each test changes one thing in the copy, asks Snakemake what it would run, and restores it.
"""

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from tests.workflow.project import CONDITIONS, chain, planned_jobs, project_env

pytestmark = pytest.mark.workflow


@contextmanager
def edited(path: Path, text: str | None):
    """Replace a file's text (None: remove the file) for the duration of the block."""
    original = path.read_bytes() if path.exists() else None
    try:
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
        yield
    finally:
        if original is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(original)


def test_nothing_to_do_after_a_run(project):
    assert planned_jobs(project) == set()


@pytest.mark.parametrize("cores", ["1", "8"])
def test_another_core_count_reruns_nothing(project, cores):
    """The figures jobs draw with a share of --cores: not a reason to draw them again."""
    assert planned_jobs(project, "--cores", cores) == set()


def test_editing_one_study_reruns_only_its_condition(project):
    path = project / "data/raw/multiple_sclerosis/Cree2010.yaml"
    with edited(path, path.read_text() + "# corrected extraction\n"):
        assert planned_jobs(project) == chain("multiple_sclerosis")


def test_adding_one_study_reruns_only_its_condition(project):
    source = project / "data/raw/long_covid/Isman2024.yaml"
    added = source.with_name("Isman2024b.yaml")
    with edited(added, source.read_text().replace("Isman2024", "Isman2024b")):
        assert planned_jobs(project) == chain("long_covid")


def test_removing_one_study_reruns_only_its_condition(project):
    with edited(project / "data/raw/fibromyalgia/Younger2009.yaml", None):
        assert planned_jobs(project) == chain("fibromyalgia")


@pytest.mark.parametrize(
    ("module", "start"),
    [
        ("meta/pooling.py", "analyses"),
        ("analysis/run.py", "analyses"),
        ("effects/conversions.py", "effects"),
        ("io/tables.py", "ingest"),
        ("cli.py", "ingest"),
        ("jobclient.py", "ingest"),
    ],
)
def test_changing_package_code_reruns_the_rules_that_run_it(project, module, start):
    path = project / "src/ldn_evidence" / module
    with edited(path, path.read_text() + "\n# changed\n"):
        assert planned_jobs(project) == chain(*CONDITIONS, start=start)


@pytest.mark.parametrize(
    ("section", "key", "value", "start"),
    [
        ("effects", "crossover_correlation", 0.7, "effects"),
        ("analysis", "method", "DL", "analyses"),
    ],
)
def test_changing_config_reruns_the_rules_that_read_it(project, section, key, value, start):
    path = project / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    config[section][key] = value
    with edited(path, yaml.safe_dump(config, sort_keys=False)):
        assert planned_jobs(project) == chain(*CONDITIONS, start=start)


def test_a_config_relying_on_a_default_runs_with_it_when_validated_and_when_kept(project):
    """The schema's defaults fill in what the config leaves out, both when Snakemake validates
    the config and when a run takes the validated config kept from an earlier run."""
    path = project / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    assert config["effects"].pop("crossover_correlation") == 0.5  # the schema's default
    with edited(path, yaml.safe_dump(config, sort_keys=False)):
        kept = project / ".snakemake/ldn-valid-config"
        for old in kept.glob("*.json"):
            old.unlink()
        assert planned_jobs(project) == set()  # validated: the default, so no change
        assert len(list(kept.glob("*.json"))) == 1
        assert planned_jobs(project) == set()  # kept: the default again


def test_a_no_op_run_does_not_validate_an_unchanged_config_again(project):
    """jsonschema (about a quarter of a second) is imported only for a config not seen before."""
    assert planned_jobs(project) == set()
    assert "jsonschema" not in _imported_by_a_no_op_run(project)


def test_running_snakemake_from_another_environment_reruns_nothing(project, tmp_path):
    """Another interpreter path (a second virtual environment with the same packages)."""
    other = tmp_path / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", other], check=True)
    python = other / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "same-packages.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours)
    )
    assert str(python) != sys.executable
    assert planned_jobs(project, python=str(python)) == set()


def test_a_no_op_run_does_not_import_pandas(project):
    """Snakemake's start-up plus the rule files: no pandas (about 1 s) when nothing is to do."""
    assert "pandas" not in _imported_by_a_no_op_run(project)


def _imported_by_a_no_op_run(project) -> set[str]:
    """The modules a dry run with nothing to do imports (``python -X importtime``)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "--dry-run"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Nothing to be done" in run.stdout + run.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert "snakemake" in imported
    return imported


def test_plain_snakemake_uses_the_default_profile(project):
    """No --cores needed; shell commands printed; incomplete jobs re-run (profiles/default)."""
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--forcerun", "ingest"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Using workflow specific profile profiles/default" in out
    assert 'Shell command: "$LDN_EVIDENCE_PYTHON" -m ldn_evidence ingest' in out
    profile = yaml.safe_load((project / "profiles/default/config.yaml").read_text())
    assert profile["rerun-incomplete"] is True
    assert profile["printshellcmds"] is True
