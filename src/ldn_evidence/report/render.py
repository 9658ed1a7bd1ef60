"""Render the report (HTML, self-contained) and the Markdown summary with Jinja2."""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Mapping, Sequence
from importlib.metadata import distribution, version
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket, FileSystemBytecodeCache

from ldn_evidence.io.atomic import atomic_write_text
from ldn_evidence.report import build

SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very_low": "⊕◯◯◯"}
STRATUM_TITLES = {
    "randomized_between_arm": "Randomized comparisons (main evidence)",
    "nonrandomized_between_arm": "Non-randomized comparisons",
    "within_group_pre_post": "Change from baseline without a comparator",
    "single_arm_proportion": "Proportions among LDN-treated participants (no comparator)",
    "observational_before_after": "Observational before/after",
}


#: Where compiled templates are kept between runs: beside the templates, as Python keeps its
#: own bytecode (``__pycache__`` is ignored by git). Compiling index.html.j2 takes about
#: 0.2 s of CPU on every run; loading it compiled takes about a millisecond. None: no cache.
TEMPLATE_CACHE: Path | None = Path(__file__).parent / "templates" / "__pycache__"


class TemplateCache(FileSystemBytecodeCache):
    """Jinja2's bytecode cache in files, safe to share between runs and processes.

    A compiled template is reused only while everything its code depends on is unchanged:
    the template's text (Jinja2 stores its checksum in the file), the Python version (in the
    file's header), and, in the file name, the Jinja2 version and the text of this module and
    of :mod:`ldn_evidence.report.build` (the environment's settings and filters) and which
    environment (``kind``: the HTML and the Markdown environments escape differently). The
    output is the same with or without the cache; a cache that cannot be written or read is
    skipped (the template is compiled as without it).
    """

    def __init__(self, directory: Path, kind: str) -> None:
        digest = hashlib.sha1(f"{kind}|jinja2 {jinja2.__version__}|".encode())
        for source in (Path(__file__), Path(build.__file__)):
            digest.update(source.read_bytes())
        super().__init__(str(directory), f"{kind}-{digest.hexdigest()[:16]}-%s.cache")

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # a damaged file: compile

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass  # read-only install: compile on every run


def installed_version(package: str) -> str:
    """The installed version of ``package``, as :func:`importlib.metadata.version` gives it.

    Read from the Version line of the package's metadata file: ``version`` parses the whole
    file as an e-mail message first, about 5 ms per package.
    """
    dist = distribution(package)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line:
            break  # the end of the header fields
        if line.startswith("Version:"):
            return line.removeprefix("Version:").strip()
    return version(package)


def environment(kind: str = "html", cache: Path | None = None):
    """Jinja2 environment: autoescaping on for every template (hostile text stays text), or,
    for ``kind="markdown"``, off. ``cache``: a folder for compiled templates
    (:class:`TemplateCache`), or None to compile every template on every run."""
    if kind not in ("html", "markdown"):
        raise ValueError(f"unknown kind of environment: {kind!r}")
    env = Environment(
        loader=PackageLoader("ldn_evidence.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True) if kind == "html" else False,
        bytecode_cache=TemplateCache(cache, kind) if cache is not None else None,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        fmt=build.fmt,
        pval=build.pvalue_text,
        natural=build.natural,
        label=lambda s: str(s).replace("_", " ") if s is not None else "–",
        symbols=lambda c: SYMBOLS.get(str(c), ""),
        md=lambda s: "–" if s is None else str(s).replace("|", "\\|").replace("\n", " "),
        pct=lambda x: "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.0f}%",
    )
    env.globals.update(
        STRATUM_TITLES=STRATUM_TITLES,
        effect_text=build.effect_text,
        interval_text=build.interval_text,
        GRADE_DOMAINS=build.GRADE_DOMAINS,
    )
    return env


def context(
    conditions: Sequence[str],
    results: Path,
    processed: Path,
    config: Mapping[str, Any],
    claims: pd.DataFrame | None = None,
    changes: Mapping[str, Any] | None = None,
    claims_source: pd.DataFrame | None = None,
) -> dict[str, Any]:
    data = [build.condition_data(c, results, processed) for c in conditions]
    analysis_conditions = {a["analysis_id"]: d.condition for d in data for a in d.analyses}
    claim_rows = []
    if claims is not None and not claims.empty:
        where = {}
        if claims_source is not None:
            where = dict(zip(claims_source.claim_id, claims_source.where_made, strict=True))
        for row in build._records(claims):
            row["where_made"] = where.get(row.get("claim_id"))
            ids = [i.strip() for i in str(row.get("analysis_ids") or "").split(";") if i.strip()]
            row["links"] = [(i, f"#a-{i}") for i in ids if i in analysis_conditions]
            claim_rows.append(row)
    tiers: dict[str, int] = {}
    quality: dict[str, int] = {}
    for d in data:
        for k, v in d.effects_summary["tiers"].items():
            tiers[k] = tiers.get(k, 0) + int(v)
        for k, v in d.effects_summary["source_quality"].items():
            quality[k] = quality.get(k, 0) + int(v)
    total = sum(tiers.values())
    abstracts = sum(v for k, v in quality.items() if k != "primary_full_text")
    changed = []
    if changes:
        for condition, records in changes.get("conditions", {}).items():
            changed += [
                {"condition": condition, **r} for r in records if r["change"] != "unchanged"
            ]
    return {
        "changes": changes,
        "changed": changed,
        "conditions": data,
        "claims": claim_rows,
        "config": config,
        "tiers": dict(sorted(tiers.items())),
        "quality": dict(sorted(quality.items(), key=lambda kv: -kv[1])),
        "n_outcomes": total,
        "n_abstract": abstracts,
        "n_studies": sum(len(d.studies) + len(d.excluded) for d in data),
        "n_included": sum(len(d.studies) for d in data),
        "versions": {
            p: installed_version(p)
            for p in ("ldn-evidence", "numpy", "scipy", "pandas", "matplotlib")
        },
    }


def render(ctx: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write index.html and summary.md into ``out_dir`` (compiled templates kept in
    :data:`TEMPLATE_CACHE`)."""
    html = environment("html", TEMPLATE_CACHE).get_template("index.html.j2").render(**ctx)
    markdown = environment("markdown", TEMPLATE_CACHE).get_template("summary.md.j2").render(**ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "index.html", html)
    atomic_write_text(out_dir / "summary.md", markdown)
    return out_dir / "index.html", out_dir / "summary.md"
