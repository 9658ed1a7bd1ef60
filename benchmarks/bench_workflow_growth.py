"""Benchmark: how the workflow's run times grow with the evidence base.

Run on demand (not part of the test suite)::

    python benchmarks/bench_workflow_growth.py                      # bundled data + 4 sizes
    python benchmarks/bench_workflow_growth.py --sizes 4x10x8 40x50x8 --repeat 3

For each size, a temporary copy of the project (Snakefile, rules, profiles, config, package
source) gets an evidence base and three things are timed with the interpreter that runs this
script and ``--cores`` (default 2):

- clean: every job, from no outputs (``.snakemake/`` removed too);
- no-op: nothing to do, next to ``snakemake --version`` (Snakemake's own start-up);
- one-study edit: one reported mean in one study file changed, so that condition's jobs
  re-run (and redraw the figures that show the changed numbers).

Jobs run in the job server as in any local run (``ldn_evidence.jobserver``);
``LDN_EVIDENCE_JOB_SERVER=off python benchmarks/bench_workflow_growth.py`` times them each in
its own interpreter instead.

The first size, ``bundled``, is the 27 studies of ``data/raw/``. The other sizes are
``CxSxO``: C conditions x S studies x O outcomes per study, all **synthetic**, generated with a
fixed seed: every file says so in its id (``Synthetic...``), title, notes and source URL
(``https://example.invalid/``), and they are only ever written into the temporary copy, never
into the repository's ``data/raw/``. Beyond the four real conditions the copy's vocabularies
(``vocab.CONDITIONS`` and the schemas' enums) are extended with ``synthetic_NN`` conditions,
and the copy's analysis plan gets one analysis per condition and outcome domain.

The last lines compare the bundled-data figures with the goals (2 cores): clean <= 20 s, no-op
<= 0.5 s above ``snakemake --version``, one-study edit <= 8 s. Timings on a shared machine vary;
the header prints the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REAL_CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")
ENUM = "fibromyalgia, crohns_disease, multiple_sclerosis, long_covid"
DOMAINS = (
    "pain",
    "fatigue",
    "quality_of_life",
    "mood",
    "sleep",
    "cognition",
    "physical_function",
    "global_impression",
)
SYNTHETIC_URL = "https://example.invalid/synthetic-benchmark-study"


def copy_project(dest: Path, raw: bool) -> None:
    """The workflow, profiles, config and package source (and data/raw when ``raw``)."""
    for name in ("Snakefile", "workflow", "profiles", "config", "data/reference"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        else:
            shutil.copy(source, dest / name)
    if raw:
        shutil.copytree(ROOT / "data/raw", dest / "data/raw")
    shutil.copytree(
        ROOT / "src/ldn_evidence",
        dest / "src/ldn_evidence",
        ignore=shutil.ignore_patterns("__pycache__"),
    )


def condition_names(n: int) -> list[str]:
    return list(REAL_CONDITIONS[:n]) + [f"synthetic_{i:02d}" for i in range(5, n + 1)]


def extend_vocabulary(dest: Path, conditions: list[str]) -> None:
    """Let the copy accept the synthetic conditions (schemas' enums, vocab.CONDITIONS)."""
    extra = [c for c in conditions if c not in REAL_CONDITIONS]
    if not extra:
        return
    files = [*dest.joinpath("workflow/schemas").glob("*.yaml")]
    files += [*dest.joinpath("src/ldn_evidence/schemas").glob("*.yaml")]
    for path in files:
        text = path.read_text()
        path.write_text(text.replace(ENUM, ENUM + ", " + ", ".join(extra)))
    vocab = dest / "src/ldn_evidence/vocab.py"
    text = vocab.read_text()
    old = 'CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid"'
    assert old in text, "vocab.CONDITIONS has changed; update the benchmark"
    vocab.write_text(text.replace(old, old + "".join(f', "{c}"' for c in extra)))


def synthetic_study(study_id: str, condition: str, n_outcomes: int, rng: random.Random) -> dict:
    """One synthetic parallel RCT with per-arm means, SDs and sizes for every outcome."""
    n_ldn, n_ctl = rng.randint(12, 120), rng.randint(12, 120)
    outcomes = []
    for j in range(n_outcomes):
        domain = DOMAINS[j % len(DOMAINS)]
        sd = round(rng.uniform(5, 25), 1)
        mean_ctl = round(rng.uniform(20, 80), 1)
        outcomes.append(
            {
                "id": f"{domain}_{j:02d}",
                "name": f"SYNTHETIC {domain.replace('_', ' ')} score {j}",
                "domain": domain,
                "better_direction": "higher",
                "timepoint": {"weeks": 12},
                "statistics": {
                    "n_ldn": n_ldn,
                    "n_ctl": n_ctl,
                    "mean_ldn": round(mean_ctl + rng.gauss(3, 5), 1),
                    "sd_ldn": round(sd * rng.uniform(0.8, 1.25), 1),
                    "mean_ctl": mean_ctl,
                    "sd_ctl": sd,
                },
                "source": {"url": SYNTHETIC_URL, "quote": "synthetic numbers, not from a study"},
            }
        )
    return {
        "schema_version": 1,
        "id": study_id,
        "condition": condition,
        "title": "SYNTHETIC benchmark study: not real data",
        "year": 2000 + rng.randint(0, 25),
        "design": "parallel_rct",
        "comparator": "placebo",
        "sample_size": {"randomized": n_ldn + n_ctl, "ldn": n_ldn, "control": n_ctl},
        "inclusion": {"status": "include"},
        "risk_of_bias": {"overall": rng.choice(["low", "some_concerns", "high"])},
        "source": {"url": SYNTHETIC_URL, "quote": "synthetic study for benchmarks/"},
        "notes": "SYNTHETIC: generated by benchmarks/bench_workflow_growth.py; not evidence.",
        "outcomes": outcomes,
    }


def write_synthetic(dest: Path, n_conditions: int, n_studies: int, n_outcomes: int) -> None:
    """A synthetic evidence base, config and analysis plan in the copy at ``dest``."""
    assert ROOT not in dest.resolve().parents, "synthetic studies never go into the repository"
    conditions = condition_names(n_conditions)
    extend_vocabulary(dest, conditions)
    rng = random.Random(20261130)
    for condition in conditions:
        folder = dest / "data/raw" / condition
        folder.mkdir(parents=True)
        for i in range(n_studies):
            study_id = f"Synthetic{condition.title().replace('_', '')}{i:04d}"
            study = synthetic_study(study_id, condition, n_outcomes, rng)
            text = "# SYNTHETIC benchmark study (not real data)\n"
            text += yaml.safe_dump(study, sort_keys=False)
            (folder / f"{study_id}.yaml").write_text(text)
    config_path = dest / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["conditions"] = conditions
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    plan = [
        {
            "id": f"{condition}_{domain}_smd",
            "condition": condition,
            "title": f"SYNTHETIC {domain}",
            "domains": [domain],
            "measure": "SMD",
            "stratum": "randomized_between_arm",
        }
        for condition in conditions
        for domain in DOMAINS[: min(n_outcomes, len(DOMAINS))]
    ]
    (dest / "config/analyses.yaml").write_text(yaml.safe_dump({"analyses": plan}, sort_keys=False))


def timed(workdir: Path, *args: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system of Snakemake and its jobs) of one run, in s."""
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    # Python's default: jobs reuse the compiled package (a shell that sets this makes every
    # job recompile it, about 0.2 CPU s each, which no user's default setup pays)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {workdir}:\n{run.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def edit_one_number(studies: list[Path], i: int) -> Path:
    """A correction as a reviewer makes one: one reported mean changes in the first study file
    that has one (in the temporary copy only), so its effect sizes, analyses and figures
    change, not just its bytes. Without any mean, the first file gets a comment line."""
    for study in studies:
        doc = yaml.safe_load(study.read_text(encoding="utf-8"))
        for outcome in doc.get("outcomes", []):
            statistics = outcome.get("statistics") or {}
            for field in ("mean_ldn", "mean_change_ldn"):
                if isinstance(statistics.get(field), int | float):
                    statistics[field] += 0.1 * (i + 1)
                    study.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
                    return study
    with studies[0].open("a", encoding="utf-8") as handle:
        handle.write(f"# benchmark edit {i}\n")
    return studies[0]


def count_jobs(workdir: Path) -> int:
    """Jobs of a clean run (from a dry run's job stats; the ``all`` target not counted)."""
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    total = [line.split() for line in run.stdout.splitlines() if line.startswith("total")]
    return int(total[0][1]) - 1


MINIMAL_SNAKEFILE = """\
rule all:
    input:
        "done.txt",


rule done:
    output:
        "done.txt",
    shell:
        "touch {output}"
"""


def snakemake_floor(cores: int, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds by which a no-op run of a two-rule workflow exceeds
    ``snakemake --version``, measured in alternation: what Snakemake itself spends on any
    workflow (reading a Snakefile, building a DAG), whatever the workflow does."""
    with tempfile.TemporaryDirectory(prefix="ldn-bench-minimal-") as tmp:
        work = Path(tmp)
        (work / "Snakefile").write_text(MINIMAL_SNAKEFILE)
        timed(work, "--cores", str(cores))
        over = []
        for _ in range(repeat):
            version = timed(work, "--version")
            noop = timed(work, "--cores", str(cores))
            over.append((noop[0] - version[0], noop[1] - version[1]))
    return statistics.median(w for w, _ in over), statistics.median(c for _, c in over)


def measure(workdir: Path, cores: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) times (s) of clean, no-op, --version and one-study-edit runs."""
    cores_args = ("--cores", str(cores))
    clean = []
    for _ in range(repeat):
        for folder in ("data/processed", "results", "logs", ".snakemake"):
            shutil.rmtree(workdir / folder, ignore_errors=True)
        clean.append(timed(workdir, *cores_args))
    noop, version = [], []
    for _ in range(repeat):  # in alternation, so that a drift of the machine's speed hits both
        version.append(timed(workdir, "--version"))
        noop.append(timed(workdir, *cores_args))
    studies = sorted((workdir / "data/raw").rglob("*.yaml"))
    edit = []
    for i in range(repeat):
        edit_one_number(studies, i)
        edit.append(timed(workdir, *cores_args))

    def median(runs):
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    return {
        "clean": median(clean),
        "noop": median(noop),
        "version": median(version),
        "edit": median(edit),
    }


def parse_size(text: str) -> tuple[int, int, int] | None:
    if text == "bundled":
        return None
    c, s, o = (int(x) for x in text.lower().split("x"))
    return c, s, o


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["bundled", "4x10x8", "4x50x8", "10x50x8", "40x50x8"],
        help="'bundled' and/or CxSxO (conditions x studies x outcomes per study)",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (median)")
    args = parser.parse_args(argv)

    print(f"Python {sys.version.split()[0]}, --cores {args.cores}, os.cpu_count() {os.cpu_count()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("seconds, wall (CPU: user + system of Snakemake and its jobs)")
    header = f"{'size':>10} {'studies':>8} {'outcomes':>9} {'jobs':>5} {'clean':>14}"
    header += f" {'no-op':>12} {'--version':>12} {'no-op - ver':>12} {'edit':>12}"
    print(header)
    results = {}
    for size in args.sizes:
        shape = parse_size(size)
        with tempfile.TemporaryDirectory(prefix="ldn-bench-") as tmp:
            work = Path(tmp)
            copy_project(work, raw=shape is None)
            if shape is not None:
                write_synthetic(work, *shape)
            files = sorted((work / "data/raw").rglob("*.yaml"))
            n_outcomes = sum(len(yaml.safe_load(f.read_text())["outcomes"]) for f in files)
            n_jobs = count_jobs(work)
            r = measure(work, args.cores, args.repeat)
        results[size] = r
        over = (r["noop"][0] - r["version"][0], r["noop"][1] - r["version"][1])
        cells = [f"{w:.2f} ({c:.2f})".rjust(12) for w, c in (r["noop"], r["version"], over)]
        print(
            f"{size:>10} {len(files):>8} {n_outcomes:>9} {n_jobs:>5}"
            f" {r['clean'][0]:>6.1f} ({r['clean'][1]:>5.1f}) {' '.join(cells)}"
            f" {r['edit'][0]:>5.1f} ({r['edit'][1]:>4.1f})",
            flush=True,
        )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "bundled" in results:
        r = results["bundled"]
        print("goals on the bundled data:")
        over = r["noop"][0] - r["version"][0]
        print(f"  clean run {r['clean'][0]:.1f} s (goal <= 20 s)")
        print(f"  no-op run {over:+.2f} s over --version (goal <= 0.5 s)")
        floor = snakemake_floor(args.cores, args.repeat)[0]
        print(f"    of which Snakemake's own, for a two-rule workflow: {floor:+.2f} s")
        print(f"  one-study edit {r['edit'][0]:.1f} s (goal <= 8 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
