"""The committed results are what the code and the data produce: a clean run in a temporary
copy regenerates them, and any difference fails the test with the first differing lines.

The copy gets a git history holding the committed results (as the checkout has), so
``results/changes.*`` and the report's "what changed" section compare against the same
baseline and are checked too.
"""

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]


def committed_results():
    out = subprocess.run(
        ["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return [f for f in out.stdout.splitlines() if not f.endswith(".gitkeep")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A clean run of a copy of the project."""
    work = tmp_path_factory.mktemp("fresh") / "project"
    work.mkdir()
    shutil.copy(ROOT / "Snakefile", work)
    for folder in ("workflow", "config", "data/raw", "data/reference"):
        shutil.copytree(ROOT / folder, work / folder)
    committed = committed_results()
    if committed:  # the baseline "what changed" compares with, as in the checkout
        for name in committed:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, work / name)
        git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org"]
        for args in (["init", "-q"], ["add", "results"], ["commit", "-q", "-m", "baseline"]):
            subprocess.run([*git, *args], cwd=work, check=True, capture_output=True)
        shutil.rmtree(work / "results")
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return work


def test_snakemakes_own_report_collects_the_outputs(fresh):
    out = fresh / "results" / "workflow-report.html"
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--report", str(out)],
        cwd=fresh,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert out.stat().st_size > 100_000
    out.unlink()  # not one of the pipeline's results


def test_committed_results_match_a_fresh_run(fresh):
    files = committed_results()
    if not files:
        pytest.skip("no results are committed (a source archive without them)")
    work = fresh
    produced = {
        p.relative_to(work).as_posix() for p in (work / "results").rglob("*") if p.is_file()
    }
    problems = []
    missing = sorted(set(files) - produced)
    extra = sorted(produced - set(files))
    if missing:
        problems.append(f"committed but no longer produced: {missing[:10]}")
    if extra:
        problems.append(f"produced but not committed: {extra[:10]}")
    for name in sorted(set(files) & produced):
        old, new = (ROOT / name).read_bytes(), (work / name).read_bytes()
        if old == new:
            continue
        if name.endswith((".csv", ".md", ".json")):
            diff = difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(),
                new.decode("utf-8", "replace").splitlines(),
                "committed/" + name,
                "regenerated/" + name,
                n=0,
                lineterm="",
            )
            problems.append("\n".join(list(diff)[:12]))
        else:
            problems.append(f"{name}: bytes differ ({len(old)} committed, {len(new)} regenerated)")
    assert not problems, (
        "the committed results are out of date; re-run `snakemake --cores 4` and commit "
        "results/:\n" + "\n".join(problems[:20])
    )
