"""Popular claims about LDN (``data/reference/claims.csv``) against the controlled evidence.

A claim names a condition (or ``all``) and an outcome domain. Its verdict comes from explicit
rules (documented in ``config/README.md``):

1. The evidence: the condition's main analyses whose domains include the claim's domain, from
   the randomized stratum if there is one, else from non-randomized between-arm comparisons.
   Uncontrolled analyses (pre-post, single-arm proportions) never decide a verdict.
2. Each analysis, on the scale its certainty was judged on (``assessed_*`` columns; positive =
   better with LDN) with its small-effect threshold t (0 when none is configured):

   - benefit claims: *supported* when the CI excludes the null on the side of benefit
     (lower limit > 0) and the certainty is at least ``claims.supported_min_certainty``;
     *not supported* when the CI excludes an important benefit (upper limit < t), whatever the
     certainty; otherwise *uncertain*;
   - "no important harm" claims (domains in ``claims.no_harm_domains``, e.g. tolerability):
     *supported* when the CI excludes an important harm (lower limit > -t) at that certainty;
     *not supported* when the CI lies wholly on the side of harm (upper limit < 0);
     otherwise *uncertain*.
3. Several analyses: *supported* only if all are; *not supported* if at least one is and none
   supports; otherwise *uncertain* (including conflicting analyses).
4. No controlled analysis: *uncertain* if controlled studies report the domain in the
   narrative synthesis only (``disposition == "narrative_only"``; their vote count by
   direction of effect is given), else *no controlled evidence*. Those votes are quoted in the
   rationale of every claim but never change a verdict.

The verdict speaks to the direction and size of the effect in the domain only, never to a
claimed time course, mechanism or magnitude given in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ldn_evidence.certainty.grade import level_at_least
from ldn_evidence.certainty.rules import CertaintyRules

VERDICTS = ("supported", "uncertain", "not supported", "no controlled evidence")
SCOPE = "the verdict concerns the direction and size of the effect in the domain only"

CONTROLLED = ("randomized_between_arm", "nonrandomized_between_arm")

CLAIM_COLUMNS = [
    "claim_id",
    "condition",
    "outcome_domain",
    "claim",
    "verdict",
    "analysis_ids",
    "certainty",
    "controlled_votes",
    "rationale",
    "rule",
]


def _domains(value) -> list[str]:
    return [d.strip() for d in str(value or "").split(",") if d.strip()]


def _stratum(row: Mapping) -> str | None:
    """The row's stratum, None when missing (never equal to a stratum name)."""
    value = row["stratum"]
    return value if isinstance(value, str) else None


def analysis_verdict(row: Mapping, no_harm: bool, min_certainty: str) -> tuple[str, str]:
    """Verdict of one analysis (rule 2) and the reason in words."""
    lo, hi = float(row["assessed_ci_low"]), float(row["assessed_ci_high"])
    t = float(row.get("threshold_small", math.nan))
    t = t if math.isfinite(t) else 0.0
    level = str(row["certainty"])
    strong = level_at_least(level, min_certainty)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "uncertain", "no confidence interval"
    if not no_harm:
        if lo > 0 and strong:
            return "supported", "the CI excludes no effect, on the side of benefit"
        if hi < t:
            return "not supported", (
                f"the CI excludes an important benefit (upper limit {hi:.2f} < {t:g})"
                if t > 0
                else f"the CI lies below no effect (upper limit {hi:.2f})"
            )
        if lo > 0:
            return "uncertain", (
                f"the CI excludes no effect but the certainty is {level.replace('_', ' ')} "
                f"(needs {min_certainty.replace('_', ' ')})"
            )
        return "uncertain", "the CI includes both no effect and an important benefit"
    if lo > -t and strong:
        return "supported", f"the CI excludes an important harm (lower limit {lo:.2f} > {-t:g})"
    if hi < 0:
        return "not supported", f"the CI lies wholly on the side of harm (upper limit {hi:.2f})"
    if lo > -t:
        return "uncertain", (
            f"the CI excludes an important harm but the certainty is {level.replace('_', ' ')} "
            f"(needs {min_certainty.replace('_', ' ')})"
        )
    return "uncertain", f"the CI includes an important harm (lower limit {lo:.2f} < {-t:g})"


def combine(verdicts: list[str]) -> str:
    """Rule 3: all supported -> supported; some not supported and none supported -> not
    supported; otherwise uncertain."""
    if verdicts and all(v == "supported" for v in verdicts):
        return "supported"
    if "not supported" in verdicts and "supported" not in verdicts:
        return "not supported"
    return "uncertain"


def _votes(narrative: pd.DataFrame | None, domain: str) -> tuple[int, str]:
    """Controlled studies reporting the domain only in the narrative synthesis (outcomes in
    no analysis; excluded studies and single-study analyses left out), one vote per study
    (its direction if its outcomes agree, else mixed; Cochrane Handbook 12.2.2.5)."""
    if narrative is None or narrative.empty:
        return 0, ""
    # only the two columns used are filtered and grouped
    rows = narrative.loc[
        (narrative.domain == domain)
        & (narrative.comparison_group == "controlled")
        & (narrative.disposition == "narrative_only"),
        ["study_id", "direction"],
    ]
    if rows.empty:
        return 0, ""
    votes = {}
    for study, g in rows.groupby("study_id", sort=True):
        directions = set(g.direction)
        votes[study] = directions.pop() if len(directions) == 1 else "mixed"
    counts: dict[str, int] = {}
    for v in votes.values():
        counts[v] = counts.get(v, 0) + 1
    text = ", ".join(f"{n} {d.replace('_', ' ')}" for d, n in sorted(counts.items()))
    return len(votes), f"{len(votes)} controlled stud{'y' if len(votes) == 1 else 'ies'} ({text})"


def _describe(row: Mapping) -> str:
    stratum = "randomized" if row["stratum"] == "randomized_between_arm" else "non-randomized"
    return (
        f"{row['analysis_id']} ({stratum}, k = {int(row['k'])}, "
        f"{str(row['certainty']).replace('_', ' ')} certainty): {row['assessed_estimate']:.2f} "
        f"{row['assessed_scale']} (95% CI {row['assessed_ci_low']:.2f} to "
        f"{row['assessed_ci_high']:.2f})"
    )


def assess_claims(
    claims: pd.DataFrame,
    analyses_by_condition: Mapping[str, pd.DataFrame],
    certainty_by_condition: Mapping[str, pd.DataFrame],
    narrative_by_condition: Mapping[str, pd.DataFrame] | None = None,
    rules: CertaintyRules | None = None,
) -> pd.DataFrame:
    """Verdict, evidence and one-line rationale for every claim (rules in the module doc).

    Parameters
    ----------
    claims : DataFrame
        ``claim_id``, ``condition`` (a condition or ``all``), ``outcome_domain``, ``claim``.
    analyses_by_condition : mapping of DataFrame
        ``analyses.parquet`` per condition (the main rows list the analyses that exist).
    certainty_by_condition : mapping of DataFrame
        :func:`ldn_evidence.certainty.assess_condition` output per condition.
    narrative_by_condition : mapping of DataFrame, optional
        ``narrative.parquet`` per condition (outcomes not pooled, with their direction).
    rules : CertaintyRules, optional
        For ``claims.supported_min_certainty`` and ``claims.no_harm_domains``.
    """
    rules = rules or CertaintyRules()
    narrative_by_condition = narrative_by_condition or {}
    min_certainty = rules.claims.supported_min_certainty
    rated: dict[str, list[dict] | None] = {}

    def rated_main(condition: str) -> list[dict] | None:
        """The certainty rows of the condition's main analyses with k >= 1, as records made
        once per condition (not filtered again for every claim); None without tables."""
        if condition not in rated:
            analyses = analyses_by_condition.get(condition)
            certainty = certainty_by_condition.get(condition)
            if analyses is None or certainty is None or certainty.empty:
                rated[condition] = None
            else:
                main = (analyses.scenario == "main") & (analyses.k >= 1)
                main_ids = set(analyses.analysis_id[main])
                rated[condition] = [
                    r for r in certainty.to_dict("records") if r["analysis_id"] in main_ids
                ]
        return rated[condition]

    rows = []
    for claim in claims.sort_values("claim_id").to_dict("records"):
        domain = str(claim["outcome_domain"]).strip()
        conditions = (
            sorted(analyses_by_condition) if claim["condition"] == "all" else [claim["condition"]]
        )
        no_harm = domain in rules.claims.no_harm_domains
        evidence = []
        uncontrolled = []
        n_votes, vote_texts = 0, []
        for condition in conditions:
            n, text = _votes(narrative_by_condition.get(condition), domain)
            if n:
                n_votes += n
                vote_texts.append(f"{condition}: {text}" if len(conditions) > 1 else text)
            candidates = rated_main(condition)
            if candidates is None:
                continue
            mine = [r for r in candidates if domain in _domains(r["domain"])]
            randomized = [r for r in mine if _stratum(r) == CONTROLLED[0]]
            chosen = randomized or [r for r in mine if _stratum(r) == CONTROLLED[1]]
            evidence.extend(sorted(chosen, key=lambda r: r["analysis_id"]))
            uncontrolled.extend(r["analysis_id"] for r in mine if _stratum(r) not in CONTROLLED)
        votes = "; ".join(vote_texts)
        if evidence:
            judged = [(r, *analysis_verdict(r, no_harm, min_certainty)) for r in evidence]
            verdict = combine([v for _, v, _ in judged])
            rationale = "; ".join(f"{_describe(r)}: {why} -> {v}" for r, v, why in judged)
            rule = (
                "no-harm claim: supported when the CI excludes an important harm at "
                if no_harm
                else "benefit claim: supported when the CI excludes no effect at "
            ) + f"{min_certainty.replace('_', ' ')} certainty or better; combined by rule 3"
        elif n_votes:
            verdict = "uncertain"
            rationale = f"no controlled analysis; narrative synthesis: {votes}"
            rule = "rule 4: controlled studies report the domain only narratively"
        else:
            verdict = "no controlled evidence"
            rationale = "no controlled study reports this domain" + (
                f"; uncontrolled analyses only: {', '.join(sorted(uncontrolled))}"
                if uncontrolled
                else ""
            )
            rule = "rule 4: no controlled analysis and no controlled study in the narrative"
        if evidence and votes:
            rationale += f"; narrative synthesis: {votes}"
        rows.append(
            {
                "claim_id": claim["claim_id"],
                "condition": claim["condition"],
                "outcome_domain": domain,
                "claim": claim["claim"],
                "verdict": verdict,
                "analysis_ids": "; ".join(r["analysis_id"] for r in evidence),
                "certainty": "; ".join(f"{r['analysis_id']}: {r['certainty']}" for r in evidence),
                "controlled_votes": votes,
                "rationale": rationale,
                "rule": rule + "; " + SCOPE,
            }
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
