"""Benchmark: time and memory of ``ldn-evidence validate`` on hostile study files.

Run on demand (not part of the test suite)::

    python benchmarks/bench_validate_hostile.py
    python benchmarks/bench_validate_hostile.py --max-seconds 5 --max-mb 300

Each case writes one study file that tries to exhaust the reader (alias expansion, deep
nesting, the largest file allowed, thousands of keys or outcomes, ...) next to a copy of the
bundled study files, and runs ``python -m ldn_evidence validate`` on that folder in a child
process, which is timed and whose peak resident memory is read from ``wait4``. The child runs
under a hard address-space limit (``--limit-mb``) and a timeout, so that a reader without the
bounds fails here instead of taking the machine down (the YAML 1.1 reader that came before
spent 277 s and 9.3 GB on the alias bomb).

The last lines check the bounds: every case under ``--max-seconds`` and ``--max-mb``, every
printed line shorter than ``--max-line`` characters, and the exit code 1 (0 for the bundled
files alone). The exit code of the benchmark is 0 when all bounds hold.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from ldn_evidence.io.studyfile import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "schema_version: 1\nid: Hostile2020\ncondition: fibromyalgia\ndesign: parallel_rct\n"
    "inclusion: {status: include}\nsource: {url: 'https://example.org'}\n"
)
ROOM = MAX_FILE_BYTES - len(HEADER) - 1024  # the largest content a file may hold


def alias_bomb() -> str:
    """About 2.7 KB: nine levels of aliases, each level nine times the one below (9**9 leaves)."""
    lines = ["outcomes: []", "l0: &l0 [" + ", ".join(["lolololololololololo"] * 9) + "]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return HEADER + "\n".join(lines) + "\n" + "# " + "padding " * 140 + "\n"


def brackets(n: int) -> str:
    return HEADER + "outcomes: []\nnotes: " + "[" * n + "]" * n + "\n"


def braces(n: int) -> str:
    return HEADER + "outcomes: []\nnotes: " + "{a: " * n + "1" + "}" * n + "\n"


def block_nesting() -> str:
    lines, depth = [], 0
    size = 0
    while size + 2 * depth + 6 < ROOM:
        lines.append("  " * depth + "a:")
        size += len(lines[-1]) + 3
        depth += 1
    return HEADER + "outcomes: []\nnotes:\n" + "\n".join("  " + line for line in lines) + " 1\n"


def long_text() -> str:
    return HEADER + "outcomes: []\nnotes: '" + "x" * ROOM + "'\n"


def many_keys() -> str:
    keys, size = [], 0
    while size < ROOM:
        keys.append(f"unknown_field_{len(keys):06d}: 1")
        size += len(keys[-1]) + 1
    return HEADER + "outcomes: []\n" + "\n".join(keys) + "\n"


def many_outcomes() -> str:
    outcome = {
        "id": "o",
        "name": "pain",
        "domain": "pain",
        "better_direction": "lower",
        "statistics": {"n_ldn": 0, "n_ctl": 50, "mean_ldn": 1.0, "sd_ldn": -1.0},
        "source": {"url": "u"},
    }
    one = yaml.safe_dump([outcome], default_flow_style=True, width=10**9).strip()[1:-1]
    count = ROOM // (len(one) + 2)
    return HEADER + "outcomes: [" + ", ".join([one] * count) + "]\n"


def wide_list() -> str:
    return HEADER + "outcomes: []\nco_interventions: [" + "1, " * (ROOM // 3) + "1]\n"


def many_digits() -> str:
    return HEADER + "outcomes: []\nyear: " + "9" * ROOM + "\n"


def too_large() -> str:
    return HEADER + "outcomes: []\nnotes: '" + "x" * (4 * MAX_FILE_BYTES) + "'\n"


def list_keys() -> str:
    return HEADER + "outcomes: []\n" + "".join(f"? [a, {i}]\n: 1\n" for i in range(10_000))


#: The cases, and whether the hostile file is valid (a long text is allowed).
VALID = {"bundled files only", "max-size text value"}
CASES: dict[str, Callable[[], str] | None] = {
    "bundled files only": None,
    "alias bomb (9 levels x 9)": alias_bomb,
    "20,000 nested brackets": lambda: brackets(20_000),
    "max-size nested brackets": lambda: brackets(ROOM // 2),
    "5,000 nested braces": lambda: braces(5_000),
    "max-size block nesting": block_nesting,
    "list keys": list_keys,
    "max-size text value": long_text,
    "max-size unknown keys": many_keys,
    "max-size invalid outcomes": many_outcomes,
    "max-size flow list": wide_list,
    "max-size number": many_digits,
    "4x max size": too_large,
}


def run_case(folder: Path, limit_mb: int, timeout: float) -> tuple[float, float, int, str]:
    """Run validate on ``folder`` in a child; (seconds, peak MB, exit code, stderr)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))

    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "ldn_evidence", "validate", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=limit,
        )
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return seconds, usage.ru_maxrss / 1024, child.returncode, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=5.0)
    parser.add_argument("--max-mb", type=float, default=300.0)
    parser.add_argument("--max-line", type=int, default=300)
    parser.add_argument("--limit-mb", type=int, default=2048, help="hard limit per child")
    parser.add_argument("--timeout", type=float, default=60.0, help="per child, seconds")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, PyYAML {yaml.__version__}, {os.cpu_count()} CPUs")
    print(f"{'case':28s} {'file':>9s} {'seconds':>8s} {'peak MB':>8s} {'exit':>4s} {'line':>5s}")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            raw = Path(tmp) / "raw"
            shutil.rmtree(raw, ignore_errors=True)
            shutil.copytree(ROOT / "data" / "raw", raw)
            size = 0
            if make is not None:
                content = make().encode()
                size = len(content)
                (raw / "fibromyalgia" / "Hostile2020.yaml").write_bytes(content)
            seconds, peak, code, text = run_case(raw, args.limit_mb, args.timeout)
            lines = text.splitlines()
            longest = max((len(line) for line in lines), default=0)
            print(
                f"{name:28s} {size / 1024:8.1f}K {seconds:8.2f} {peak:8.1f} {code:4d} {longest:5d}"
            )
            first = next((line for line in lines if "Hostile2020" in line), "")
            if first:
                print(f"    {first.split(': ', 3)[-1][:110]}")
            expected_code = 0 if name in VALID else 1
            if seconds > args.max_seconds:
                failures.append(f"{name}: {seconds:.1f} s > {args.max_seconds} s")
            if peak > args.max_mb:
                failures.append(f"{name}: {peak:.0f} MB > {args.max_mb} MB")
            if longest > args.max_line:
                failures.append(f"{name}: a line of {longest} characters > {args.max_line}")
            if code != expected_code:
                failures.append(f"{name}: exit code {code} (expected {expected_code})")
            if "Traceback" in text:
                failures.append(f"{name}: a traceback")
    print()
    for failure in failures:
        print(f"BOUND NOT MET: {failure}")
    if not failures:
        print(
            f"all {len(CASES)} cases within {args.max_seconds} s and {args.max_mb} MB, "
            f"lines under {args.max_line} characters, exit codes as expected"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
