"""Render the report (HTML, self-contained) and the Markdown summary with Jinja2."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from importlib.metadata import distribution, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ldn_evidence.io.atomic import atomic_write_text
from ldn_evidence.report import build
from ldn_evidence.vocab import LDN_MAX_DOSE_MG

SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very_low": "⊕◯◯◯"}
STRATUM_TITLES = {
    "randomized_between_arm": "Randomized comparisons (main evidence)",
    "nonrandomized_between_arm": "Non-randomized comparisons",
    "within_group_pre_post": "Change from baseline without a comparator",
    "single_arm_proportion": "Proportions among LDN-treated participants (no comparator)",
    "observational_before_after": "Observational before/after",
}


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


def web_url(url: Any) -> str | None:
    """``url`` if it is a web address (http or https with a host), else None.

    Study files are validated to hold web addresses only; this keeps any other address
    (``javascript:``, ``data:``, a bare path) out of the report's links even if a table was
    written some other way.
    """
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def environment(kind: str = "html"):
    """Jinja2 environment: autoescaping on for every template (hostile text stays text), or,
    for ``kind="markdown"``, off."""
    if kind not in ("html", "markdown"):
        raise ValueError(f"unknown kind of environment: {kind!r}")
    env = Environment(
        loader=PackageLoader("ldn_evidence.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True) if kind == "html" else False,
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
        web_url=web_url,
        pct=lambda x: "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.0f}%",
    )
    env.globals.update(
        STRATUM_TITLES=STRATUM_TITLES,
        effect_text=build.effect_text,
        member_effect_text=build.member_effect_text,
        interval_text=build.interval_text,
        GRADE_DOMAINS=build.GRADE_DOMAINS,
    )
    return env


def thin_evidence(data: Sequence[build.ConditionData]) -> dict[str, Any]:
    """The included studies the report must name where it says the evidence is thin: doses
    above the low-dose range, co-interventions, and no daily dose in mg, from the study tables
    (each is also flagged where it enters an analysis, by the certainty rules)."""
    above, co, unknown = [], [], []
    for d in data:
        for s in d.studies:
            dose = build._num(s.get("dose_mg_per_day"))
            if not math.isfinite(dose):
                unknown.append(s["id"])
            elif dose > LDN_MAX_DOSE_MG:
                above.append({"id": s["id"], "condition": d.title, "dose": dose})
            if s.get("co_interventions"):
                co.append({"id": s["id"], "condition": d.title, "what": s["co_interventions"]})
    return {
        "ldn_max_dose": LDN_MAX_DOSE_MG,
        "above_dose": above,
        "co_interventions": co,
        "dose_unknown": unknown,
    }


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
        **thin_evidence(data),
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


#: The report's templates and the environment (escaping) each is compiled in.
TEMPLATES = {"index.html.j2": "html", "summary.md.j2": "markdown"}


@functools.cache
def template(name: str) -> jinja2.Template:
    """A template of :data:`TEMPLATES`, compiled once per process (index.html.j2 takes about
    0.2 s to compile): the workflow's job server compiles them in advance
    (:func:`compile_templates`), so a report job forked from it starts with them compiled."""
    return environment(TEMPLATES[name]).get_template(name)


def compile_templates() -> None:
    """Compile every template of the report (kept by :func:`template`)."""
    for name in TEMPLATES:
        template(name)


def render(ctx: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write index.html and summary.md into ``out_dir``."""
    html = template("index.html.j2").render(**ctx)
    markdown = template("summary.md.j2").render(**ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "index.html", html)
    atomic_write_text(out_dir / "summary.md", markdown)
    return out_dir / "index.html", out_dir / "summary.md"
