"""Command line: ``ldn-evidence <command>``; the Snakemake rules call these commands.

Exit codes: 0 success, 1 invalid input (every problem printed, one per line, on stderr),
2 wrong usage (including an input file that does not exist; one line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ldn_evidence import __version__


def _cmd_validate(args: argparse.Namespace) -> int:
    from ldn_evidence.io.validate import validate_paths

    issues, studies = validate_paths(args.paths)
    for issue in issues:
        print(issue, file=sys.stderr)
    n_files = len(studies) + len({i.file for i in issues} - {str(p) for p in studies})
    if issues:
        print(
            f"{len(issues)} problem(s) in {len({i.file for i in issues})} of {n_files} file(s)",
            file=sys.stderr,
        )
    else:
        print(f"{n_files} study file(s) valid")
    return 1 if issues else 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from ldn_evidence.io.studyfile import show
    from ldn_evidence.io.tables import outcomes_table, studies_table, write_table
    from ldn_evidence.io.validate import validate_paths

    issues, studies = validate_paths(args.paths)
    wrong_condition = [
        f"{path}: study {show(s.get('id'))}: condition: {show(s.get('condition'))} "
        f"(expected {args.condition!r} for this ingest)"
        for path, s in studies.items()
        if s.get("condition") != args.condition
    ]
    problems = [str(i) for i in issues] + wrong_condition
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    items = [(Path(p).as_posix(), s) for p, s in sorted(studies.items())]
    out = Path(args.out_dir)
    write_table(studies_table(items), out / "studies.parquet", out / "studies.csv")
    write_table(outcomes_table(items), out / "outcomes.parquet", out / "outcomes.csv")
    print(f"{args.condition}: {len(items)} studies ingested into {out}")
    return 0


def _cmd_effects(args: argparse.Namespace) -> int:
    import pandas as pd

    from ldn_evidence.effects.normalize import EffectSettings, derive_effects, method_record
    from ldn_evidence.io.atomic import atomic_write_text
    from ldn_evidence.io.tables import write_table

    try:
        settings = EffectSettings.from_mapping(json.loads(args.settings))
    except (ValueError, TypeError) as exc:
        print(f"error: --settings: {exc}", file=sys.stderr)
        return 1
    outcomes = pd.read_parquet(args.outcomes)
    studies = pd.read_parquet(args.studies)
    effects = derive_effects(outcomes, studies, settings)
    out = Path(args.out_dir)
    write_table(effects, out / "effects.parquet", out / "effects.csv")
    record = json.dumps(method_record(settings), indent=2, sort_keys=True) + "\n"
    atomic_write_text(out / "effects_method.json", record)
    computed = int((effects["tier"] != "F").sum())
    print(f"{computed} effect sizes and {len(effects) - computed} narrative-only outcomes in {out}")
    return 0


def _cmd_import_curated(args: argparse.Namespace) -> int:
    from ldn_evidence.io.curated import import_curated

    try:
        written = import_curated(
            args.studies_csv, args.outcomes_csv, args.out_dir, force=args.force
        )
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(written)} study files written under {args.out_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ldn-evidence", description="Evidence synthesis of low-dose naltrexone trials."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check study files; report every problem at once")
    p.add_argument("paths", nargs="*", default=["data/raw"], help="files or folders (data/raw)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("ingest", help="validate one condition's study files and tabulate them")
    p.add_argument("paths", nargs="*", help="the condition's study files (may be none)")
    p.add_argument("--condition", required=True)
    p.add_argument("--out-dir", required=True, help="e.g. data/processed/fibromyalgia")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("effects", help="derive effect sizes for one condition")
    p.add_argument("--studies", required=True, help="data/processed/<condition>/studies.parquet")
    p.add_argument("--outcomes", required=True, help="data/processed/<condition>/outcomes.parquet")
    p.add_argument("--settings", default="{}", help="effects settings as JSON (config: effects)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_cmd_effects)

    p = sub.add_parser(
        "import-curated", help="turn the curated CSV extraction into study files (one-off)"
    )
    p.add_argument("studies_csv")
    p.add_argument("outcomes_csv")
    p.add_argument("--out-dir", default="data/raw")
    p.add_argument("--force", action="store_true", help="overwrite existing study files")
    p.set_defaults(func=_cmd_import_curated)
    return parser


def _missing_input(args: argparse.Namespace) -> str | None:
    """The first input file named on the command line that does not exist, as one line."""
    for option in ("studies", "outcomes", "studies_csv", "outcomes_csv"):
        value = getattr(args, option, None)
        if isinstance(value, str) and not Path(value).is_file():
            what = "a folder" if Path(value).is_dir() else "no such file"
            flag = f"--{option} " if option in ("studies", "outcomes") else ""
            return f"{flag}{value}: {what} (expected an existing input file)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an input file that is missing or unreadable is one line, exit 2."""
    args = build_parser().parse_args(argv)
    prefix = f"ldn-evidence {args.command}: error:"
    if problem := _missing_input(args):
        print(f"{prefix} {problem}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except OSError as exc:
        name = exc.filename or (exc.args[0] if exc.args else "")
        reason = exc.strerror or "cannot be read"
        print(f"{prefix} {name}: {reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
