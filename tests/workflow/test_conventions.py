"""Conventions of the workflow files: every rule declares what Snakemake and a cluster need,
the conda environment pins what constraints.txt pins, the rules are snakefmt-formatted and
``snakemake --lint`` has nothing to say."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.workflow.project import ROOT, copy_project, project_env

RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))


def _rules() -> dict[str, str]:
    """Every rule's text (up to the next rule or the end of its file), by name."""
    rules = {}
    for path in RULE_FILES:
        parts = re.split(r"^rule (\w+):\n", path.read_text(), flags=re.MULTILINE)
        rules.update(dict(zip(parts[1::2], parts[2::2], strict=True)))
    return rules


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


@pytest.mark.parametrize("name", sorted(_rules()))
def test_every_rule_declares_log_conda_threads_resources_and_code_version(name):
    text = _rules()[name]
    for directive in ("log:", "conda:", "threads:", "resources:", "params:", "shell:"):
        assert f"\n    {directive}" in text, (name, directive)
    assert re.search(r"\n        mem_mb=\d+,", text), name
    assert re.search(r"\n        runtime=\d+,", text), name
    assert "\n        code=code_version(" in text, name
    assert '"../envs/ldn-evidence.yaml"' in text, name
    assert "sys.executable" not in text, name


def test_conda_environment_pins_what_constraints_pins():
    env = yaml.safe_load((ROOT / "workflow/envs/ldn-evidence.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    in_env = _pins(pip)
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    assert len(in_env) == len(pip)
    assert {name: constraints.get(name) for name in in_env} == in_env
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    direct = _pins(re.findall(r'"([^"]+)"', dependencies))
    del direct["snakemake"]  # runs the jobs; the jobs themselves do not import it
    assert direct and {name: in_env.get(name) for name in direct} == direct


def test_rule_files_are_snakefmt_formatted():
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent))
    if snakefmt is None:
        pytest.skip("snakefmt is not installed (pip install -e '.[test]')")
    files = [ROOT / "Snakefile", *RULE_FILES]
    run = subprocess.run([snakefmt, "--check", *map(str, files)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.workflow
def test_snakemake_lint_is_clean(tmp_path):
    work = copy_project(tmp_path / "project")
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"],
        cwd=work,
        env=project_env(work),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Lints for" not in run.stdout + run.stderr


@pytest.mark.workflow
def test_slurm_profile_dry_run(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the cluster extra")
    work = copy_project(tmp_path / "project")
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", "--dry-run"],
        cwd=work,
        env=project_env(work),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "profiles/slurm" in out
    assert re.search(r"^analyses\s+4$", out, re.MULTILINE), out[-3000:]


@pytest.mark.workflow
def test_figures_jobs_share_the_cores_between_the_conditions(tmp_path):
    """Each condition's figures job is given (and draws with) an equal share of --cores, at
    least one process and at most four; changing --cores re-runs nothing."""
    work = copy_project(tmp_path / "project")

    def workers(*args: str) -> list[str]:
        run = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "-p", *args],
            cwd=work,
            env=project_env(work),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return re.findall(r"ldn_evidence figures .* --workers (\d+) ", run.stdout)

    conditions = len(yaml.safe_load((work / "config" / "config.yaml").read_text())["conditions"])
    assert conditions == 4
    assert workers("--cores", "2") == ["1"] * 4
    assert workers("--cores", "8") == ["2"] * 4
    assert workers("--cores", "64") == ["4"] * 4
