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


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _cmd_validate(args: argparse.Namespace) -> int:
    from ldn_evidence.io.validate import validate_paths, validate_paths_known

    if args.known_valid:
        issues, files = validate_paths_known(args.paths, args.known_valid)
    else:
        issues, studies = validate_paths(args.paths)
        files = list(studies)
    for issue in issues:
        print(issue, file=sys.stderr)
    n_files = len({str(p) for p in files} | {i.file for i in issues})
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


def _cmd_plan(args: argparse.Namespace) -> int:
    import pandas as pd
    import yaml

    from ldn_evidence.analysis.plan import default_plan
    from ldn_evidence.io.atomic import atomic_write_text

    out = Path(args.out)
    if out.exists() and not args.force:
        print(
            f"error: {out} exists (the committed plan is the protocol); use --force",
            file=sys.stderr,
        )
        return 1
    frames = [pd.read_parquet(path) for path in args.effects]
    plan = default_plan(frames, json.loads(args.settings))
    header = (
        "# Analysis plan (the protocol as data): written by `ldn-evidence plan`, then edited by\n"
        "# hand. Every key is documented in config/README.md; checked against\n"
        "# workflow/schemas/analyses.schema.yaml when the workflow starts.\n"
    )
    text = yaml.safe_dump(plan, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(out, header + text)
    print(f"{len(plan['analyses'])} analyses written to {out}")
    return 0


def _cmd_analyses(args: argparse.Namespace) -> int:
    import pandas as pd

    from ldn_evidence.analysis.output import write_results
    from ldn_evidence.analysis.plan import PlanError, read_plan
    from ldn_evidence.analysis.run import BayesSettings, PoolSettings, run_condition
    from ldn_evidence.effects.normalize import EffectSettings

    try:
        plan = [a for a in read_plan(args.plan) if a.condition == args.condition]
        effect_settings = EffectSettings.from_mapping(json.loads(args.effect_settings))
        pool_settings = PoolSettings.from_mapping(json.loads(args.pool_settings))
        bayes_settings = BayesSettings.from_mapping(json.loads(args.bayes_settings))
    except PlanError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    processed = Path(args.processed_dir)
    effects = pd.read_parquet(processed / "effects.parquet")
    studies = pd.read_parquet(processed / "studies.parquet")
    outcomes = pd.read_parquet(processed / "outcomes.parquet")
    published = pd.read_csv(args.published) if args.published else None
    if published is not None:
        published = published[published.condition == args.condition]
    results = run_condition(
        plan, effects, studies, outcomes, effect_settings, pool_settings, published, bayes_settings
    )
    write_results(results, Path(args.out_dir), args.condition, effect_settings, pool_settings)
    main = results["analyses"]
    main = main[main.scenario == "main"]
    print(
        f"{args.condition}: {len(main)} analyses ({int((main.k >= 2).sum())} pooled), "
        f"{len(results['narrative'])} outcomes in the narrative synthesis -> {args.out_dir}"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd
    import yaml

    from ldn_evidence.report.render import context, render

    config = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    config.setdefault("analysis", {})
    for key, value in (("method", "REML"), ("test", "knha"), ("pi_method", "default")):
        config["analysis"].setdefault(key, value)
    claims = pd.read_parquet(args.claims) if args.claims and Path(args.claims).exists() else None
    source = Path(args.claims_source) if args.claims_source else None
    claims_source = pd.read_csv(source) if source and source.exists() else None
    changes = (
        json.loads(Path(args.changes).read_text(encoding="utf-8"))
        if args.changes and Path(args.changes).exists()
        else None
    )
    ctx = context(
        args.conditions,
        Path(args.results_dir),
        Path(args.processed_dir),
        config,
        claims,
        changes,
        claims_source,
    )
    html, markdown = render(ctx, Path(args.out_dir))
    print(f"report written: {html} and {markdown}")
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    from ldn_evidence.plots import render_condition_figures

    index = render_condition_figures(
        args.condition,
        Path(args.results_dir),
        Path(args.processed_dir),
        Path(args.out_dir),
        workers=args.workers,
    )
    print(
        f"{args.condition}: {len(index['figures'])} figures drawn, "
        f"{len(index['not_drawn'])} not drawn (reasons in index.json) -> {args.out_dir}"
    )
    return 0


def _cmd_certainty(args: argparse.Namespace) -> int:
    from ldn_evidence.certainty.output import certainty_main

    return certainty_main(
        args.condition, args.results_dir, args.config, args.overrides, args.processed_dir
    )


def _cmd_claims(args: argparse.Namespace) -> int:
    from ldn_evidence.certainty.output import claims_main

    return claims_main(args.conditions, args.claims, args.results_dir, args.config, args.out_dir)


def _cmd_changes(args: argparse.Namespace) -> int:
    from ldn_evidence.changes import write_changes

    document = write_changes(
        args.conditions, Path(args.results_dir), Path(args.out_md), Path(args.out_json)
    )
    moved = sum(
        r["change"] != "unchanged" for records in document["conditions"].values() for r in records
    )
    print(f"changes against {document['baseline']}: {moved} analyses changed -> {args.out_md}")
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
    p.add_argument(
        "--known-valid",
        metavar="FILE",
        help="skip the files this JSON file lists as valid with their current content, and"
        " list the files found valid there (the workflow keeps it in .snakemake/)",
    )
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

    p = sub.add_parser("plan", help="write a default analysis plan from the effects tables")
    p.add_argument("effects", nargs="+", help="data/processed/<condition>/effects.parquet files")
    p.add_argument("--settings", default="{}", help="effects settings as JSON (config: effects)")
    p.add_argument("--out", default="config/analyses.yaml")
    p.add_argument("--force", action="store_true", help="overwrite an existing plan")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("analyses", help="run one condition's planned analyses")
    p.add_argument("--condition", required=True)
    p.add_argument("--plan", default="config/analyses.yaml")
    p.add_argument("--processed-dir", required=True, help="data/processed/<condition>")
    p.add_argument("--published", help="data/reference/meta_analyses.csv")
    p.add_argument("--effect-settings", default="{}", help="config: effects, as JSON")
    p.add_argument("--pool-settings", default="{}", help="config: analysis, as JSON")
    p.add_argument("--bayes-settings", default="{}", help="config: bayes, as JSON")
    p.add_argument("--out-dir", required=True, help="results/<condition>")
    p.set_defaults(func=_cmd_analyses)

    p = sub.add_parser("figures", help="draw one condition's figures (PNG + SVG)")
    p.add_argument("--condition", required=True)
    p.add_argument("--results-dir", required=True, help="results/<condition>")
    p.add_argument("--processed-dir", required=True, help="data/processed/<condition>")
    p.add_argument("--out-dir", required=True, help="results/<condition>/figures")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="processes drawing at once (Linux; the files are the same for any number)",
    )
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("certainty", help="GRADE certainty of one condition's analyses")
    p.add_argument("--condition", required=True)
    p.add_argument("--results-dir", default="results")
    p.add_argument("--processed-dir", default="data/processed")
    p.add_argument("--config", default="config/certainty.yaml")
    p.add_argument("--overrides", default="config/certainty_overrides.yaml")
    p.set_defaults(func=_cmd_certainty)

    p = sub.add_parser("claims", help="set the popular claims against the evidence")
    p.add_argument("--conditions", nargs="+", required=True)
    p.add_argument("--claims", default="data/reference/claims.csv")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--config", default="config/certainty.yaml")
    p.add_argument("--out-dir", default=None)
    p.set_defaults(func=_cmd_claims)

    p = sub.add_parser("changes", help="what this run changed, against the committed results")
    p.add_argument("--conditions", nargs="+", required=True)
    p.add_argument("--results-dir", default="results")
    p.add_argument("--out-md", default="results/changes.md")
    p.add_argument("--out-json", default="results/changes.json")
    p.set_defaults(func=_cmd_changes)

    p = sub.add_parser("report", help="render the HTML report and the Markdown summary")
    p.add_argument("--conditions", nargs="+", required=True)
    p.add_argument("--results-dir", default="results")
    p.add_argument("--processed-dir", default="data/processed")
    p.add_argument("--config", default="config/config.yaml")
    p.add_argument("--claims", help="results/claims.parquet (optional)")
    p.add_argument("--changes", help="results/changes.json (optional)")
    p.add_argument("--claims-source", default="data/reference/claims.csv")
    p.add_argument("--out-dir", default="results/report")
    p.set_defaults(func=_cmd_report)

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
