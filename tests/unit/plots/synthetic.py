"""Synthetic, contract-conforming tables for the figure tests (helpers/ANALYSES_CONTRACT.md).

The pooled numbers come from :func:`ldn_evidence.meta.pool` (REML, Hartung-Knapp), the weights
are the random-effects weights of that fit, so the tables are internally consistent. Study
labels include hostile text (markup, right-to-left marks, dollar signs, very long names) and one
interval is extreme.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ldn_evidence.meta import pool

CONDITION = "synthetic"

HOSTILE = (
    "<script>alert(1)</script>",
    "\u200fRTL\u200f \u0645\u0637\u0627\u0644\u0639\u0647 2020",
    "$x^2$ Dollar & Co 2021",
    "Rodr\u00edguez-Freire de la Cruz y Villanueva-Hern\u00e1ndez Multicentre Consortium "
    "for Fibromyalgia Research (INNOVA-Extended follow-up cohort) 2022",
)

DESIGN_CYCLE = ("parallel_rct", "crossover_rct")


def _effects(rng: np.random.Generator, k: int, mu: float, tau: float, n_lo: int, n_hi: int):
    n1 = rng.integers(n_lo, n_hi, size=k)
    n2 = n1 + rng.integers(-3, 4, size=k)
    vi = 1.0 / n1 + 1.0 / n2 + 0.02
    yi = mu + rng.normal(0, tau, size=k) + rng.normal(0, np.sqrt(vi))
    return yi, vi, n1, n2


def _analysis_row(aid, scenario, title, domain, measure, stratum, yi, vi, n_part, **extra):
    k = len(yi)
    r = pool(np.asarray(yi, float), np.asarray(vi, float), method="REML", test="knha")
    d = r.as_dict()
    d["notes"] = "; ".join(d["notes"])
    scale = {
        "SMD": "Standardized mean difference (Hedges' g)",
        "RR": "Risk ratio",
        "PR": "Proportion responding",
        "SMCR": "Standardized mean change (SMCR)",
    }[measure]
    row = {
        "analysis_id": aid,
        "scenario": scenario,
        "scenario_label": "Main analysis" if scenario == "main" else scenario,
        "scenario_status": "ok",
        "scenario_note": "",
        "title": title,
        "condition": CONDITION,
        "domain": domain,
        "measure": measure,
        "stratum": stratum,
        "n_participants": n_part,
        "pooled": k >= 2,
        **d,
        "subgroup_by": None,
        "favours_label_positive": "favours LDN",
        "favours_label_negative": "favours control",
        "scale_label": scale,
        "reference_sd": np.nan,
        "reference_sd_unit": None,
        "reference_sd_source": None,
        "familiar_estimate": np.nan,
        "familiar_ci_low": np.nan,
        "familiar_ci_high": np.nan,
    }
    row.update(extra)
    return row, r


def _study_id(label: str) -> str:
    """Study id from a display label: letters and digits only (``Bruun 2024`` -> ``Bruun2024``)."""
    return "".join(ch for ch in label if ch.isascii() and ch.isalnum())[:40] or "Study"


def _weights(vi, tau2):
    w = 1.0 / (np.asarray(vi) + (0.0 if np.isnan(tau2) else tau2))
    return 100.0 * w / w.sum()


def build_tables() -> dict[str, pd.DataFrame]:
    """Return ``analyses``, ``analysis_members``, ``narrative`` and ``studies`` tables."""
    rng = np.random.default_rng(20240601)
    analyses: list[dict] = []
    members: list[dict] = []

    def add(
        aid,
        title,
        domain,
        measure,
        stratum,
        labels,
        yi,
        vi,
        n1,
        n2,
        *,
        designs=None,
        tiers=None,
        events=None,
        subgroup_by=None,
        extra_scenarios=(),
    ):
        k = len(yi)
        yi, vi = np.asarray(yi, float), np.asarray(vi, float)
        ok = ~np.isnan(yi)
        n_part = int(np.nansum(n1) + (0 if n2 is None else np.nansum(n2)))
        row, res = _analysis_row(
            aid, "main", title, domain, measure, stratum, yi[ok], vi[ok], n_part
        )
        row["k"] = int(ok.sum())
        row["subgroup_by"] = subgroup_by
        analyses.append(row)
        w = np.zeros(k)
        w[ok] = _weights(vi[ok], res.tau2)
        designs = designs or ["parallel_rct"] * k
        tiers = tiers or ["A"] * k
        for i in range(k):
            se = np.sqrt(vi[i])
            ev = events[i] if events is not None else (None, None)
            members.append(
                {
                    "analysis_id": aid,
                    "scenario": "main",
                    "study_id": _study_id(labels[i]),
                    "outcome_id": f"{domain}_{i}",
                    "outcome": f"{domain.replace('_', ' ')} score",
                    "label": labels[i],
                    "design": designs[i],
                    "randomized": designs[i] in ("parallel_rct", "crossover_rct"),
                    "stratum": stratum,
                    "subgroup": designs[i] if subgroup_by == "design" else None,
                    "measure": measure,
                    "yi": yi[i],
                    "vi": vi[i],
                    "se": se,
                    "ci_low": yi[i] - 1.959964 * se,
                    "ci_high": yi[i] + 1.959964 * se,
                    "weight_percent": w[i],
                    "tier": tiers[i],
                    "derivation": "synthetic",
                    "assumptions": "",
                    "n_ldn": int(n1[i]),
                    "n_ctl": None if n2 is None else int(n2[i]),
                    "events_ldn": ev[0],
                    "events_ctl": ev[1],
                    "dose_mg_per_day": 4.5,
                    "rob_overall": "some_concerns",
                    "selection_reason": "primary outcome",
                }
            )
        if subgroup_by == "design":
            for d in sorted(set(designs)):
                sel = np.array([x == d for x in designs]) & ok
                r2, _ = _analysis_row(
                    aid,
                    f"subgroup:{d}",
                    title,
                    domain,
                    measure,
                    stratum,
                    yi[sel],
                    vi[sel],
                    int(np.sum(n1[sel]) + np.sum(n2[sel])),
                )
                r2["k"] = int(sel.sum())
                analyses.append(r2)
        for sc in extra_scenarios:
            r2, _ = _analysis_row(
                aid, sc, title, domain, measure, stratum, yi[ok][1:], vi[ok][1:], n_part
            )
            r2["k"] = int(ok.sum()) - 1
            analyses.append(r2)

    # 1. SMD, k = 3, mixed tiers
    yi, vi, n1, n2 = _effects(rng, 3, 0.3, 0.1, 20, 60)
    add(
        "pain_rct",
        "Pain \u2014 randomized trials",
        "pain",
        "SMD",
        "randomized_between_arm",
        ["Bruun 2024", "Younger 2013", "Bested 2023"],
        yi,
        vi,
        n1,
        n2,
        designs=["parallel_rct", "crossover_rct", "crossover_rct"],
        tiers=["A", "D", "C"],
        extra_scenarios=("leave_out:Bruun2024", "estimator:DL"),
    )
    # 2. RR with events: one zero-event arm (0.5 correction) and one double-zero study
    ev = [(12, 8), (0, 3), (20, 14), (9, 9), (0, 0)]
    ns = [(40, 41), (25, 24), (60, 58), (30, 30), (15, 15)]
    yi2, vi2 = [], []
    for (a, c), (na, nc) in zip(ev, ns, strict=True):
        if a == 0 and c == 0:
            yi2.append(np.nan)
            vi2.append(np.nan)
            continue
        cc = 0.5 if 0 in (a, c) else 0.0
        a2, c2, na2, nc2 = a + cc, c + cc, na + 2 * cc, nc + 2 * cc
        yi2.append(np.log((a2 / na2) / (c2 / nc2)))
        vi2.append(1 / a2 - 1 / na2 + 1 / c2 - 1 / nc2)
    add(
        "response_rr",
        "Response (\u226530% pain reduction) \u2014 randomized trials",
        "response",
        "RR",
        "randomized_between_arm",
        ["Alpha 2019", "Zero-event 2020", "Gamma 2021", "Delta 2022", "Double-zero 2023"],
        yi2,
        vi2,
        np.array([n[0] for n in ns]),
        np.array([n[1] for n in ns]),
        tiers=["B", "B", "E", "B", "B"],
        events=ev,
    )
    # 3. k = 1 with a hostile, very long label
    add(
        "fatigue_k1",
        "Fatigue \u2014 randomized trials",
        "fatigue",
        "SMD",
        "randomized_between_arm",
        [HOSTILE[3]],
        [0.42],
        [0.09],
        np.array([24]),
        np.array([25]),
        tiers=["D"],
    )
    # 4. k = 2
    add(
        "sleep_k2",
        "Sleep quality \u2014 randomized trials",
        "sleep",
        "SMD",
        "randomized_between_arm",
        [HOSTILE[0], HOSTILE[1]],
        [0.15, 0.55],
        [0.05, 0.08],
        np.array([40, 25]),
        np.array([41, 26]),
    )
    # 5. k = 30 with an extreme interval and hostile labels
    yi, vi, n1, n2 = _effects(rng, 30, 0.2, 0.25, 8, 120)
    vi[7] = 40.0  # extreme CI
    yi[7] = 2.5
    labels = [f"Study {chr(65 + i % 26)}{i // 26 or ''} {1990 + i}" for i in range(30)]
    labels[3], labels[11], labels[19] = HOSTILE[0], HOSTILE[2], HOSTILE[3]
    labels[25] = HOSTILE[1]
    tiers = ["A", "B", "C", "D", "E"] * 6
    add(
        "qol_k30",
        "Quality of life \u2014 randomized trials (simulated large analysis)",
        "quality_of_life",
        "SMD",
        "randomized_between_arm",
        labels,
        yi,
        vi,
        n1,
        n2,
        tiers=tiers,
    )
    # 6. subgroup panels by design
    yi, vi, n1, n2 = _effects(rng, 5, 0.25, 0.15, 15, 50)
    add(
        "mood_design",
        "Mood \u2014 randomized trials, by design",
        "mood",
        "SMD",
        "randomized_between_arm",
        [
            "Parallel One 2015",
            "Parallel Two 2018",
            "Parallel Three 2020",
            "Cross A 2016",
            "Cross B 2019",
        ],
        yi,
        vi,
        n1,
        n2,
        designs=["parallel_rct"] * 3 + ["crossover_rct"] * 2,
        subgroup_by="design",
    )
    # 7. single-arm proportion
    add(
        "remission_pr",
        "Remission \u2014 single-arm studies",
        "remission",
        "PR",
        "single_arm_proportion",
        ["Smith 2007", "Lie 2018", "Open 2021"],
        [0.67, 0.45, 0.52],
        [0.67 * 0.33 / 17, 0.45 * 0.55 / 40, 0.52 * 0.48 / 25],
        np.array([17, 40, 25]),
        None,
        designs=["single_arm_pre_post"] * 3,
    )
    # 8. SMCR, single arm, k = 2
    add(
        "activity_prepost",
        "Disease activity \u2014 within-group pre-post",
        "disease_activity",
        "SMCR",
        "within_group_pre_post",
        ["Gironi 2008", "Isman 2024"],
        [0.8, 0.35],
        [0.06, 0.03],
        np.array([40, 36]),
        None,
        designs=["single_arm_pre_post"] * 2,
    )

    an = pd.DataFrame(analyses)
    an["k"] = an["k"].astype("int64")
    an["n_participants"] = an["n_participants"].astype("Int64")
    for c in ("subgroup_by", "reference_sd_unit", "reference_sd_source"):
        an[c] = an[c].astype("string")
    an = an.sort_values(["analysis_id", "scenario"], kind="mergesort").reset_index(drop=True)
    mem = pd.DataFrame(members)
    for c in ("n_ldn", "n_ctl", "events_ldn", "events_ctl"):
        mem[c] = mem[c].astype("Int64")
    mem["subgroup"] = mem["subgroup"].astype("string")
    mem = mem.sort_values(["analysis_id", "scenario", "study_id"], kind="mergesort").reset_index(
        drop=True
    )

    study_ids = [
        ("Bruun2024", "parallel_rct", "include", "", "some_concerns", 99),
        ("Younger2013", "crossover_rct", "include", "", "some_concerns", 31),
        ("Younger2009", "nonrandomized_crossover", "include", "", "high", 10),
        ("Metyas2018", "single_arm_pre_post", "include", "", "high", None),
        ("Parkitny2017", "single_arm_pre_post", "include", "", "high", 8),
        ("Bested2023", "crossover_rct", "include", "", "low", 58),
        (
            "Naik2024_protocol",
            "parallel_rct",
            "exclude",
            "registered or ongoing trial without results",
            "not_assessed",
            None,
        ),
        (
            "Griffith2025_protocol",
            "not_reported",
            "exclude",
            "registered or ongoing trial without results",
            "not_assessed",
            None,
        ),
        (
            "Tamariz2024",
            "retrospective_cohort",
            "exclude",
            "unverified source: the only numbers come from an AI-generated summary",
            "not_assessed",
            None,
        ),
    ]
    studies = pd.DataFrame(
        [
            {
                "id": s,
                "title": f"Title of {s}",
                "year": int(s[-4:]) if s[-4:].isdigit() else None,
                "design": d,
                "blinding": "double",
                "n_randomized": n,
                "n_ldn": None,
                "n_control": None,
                "n_analyzed": n,
                "dose_mg_per_day": 4.5,
                "inclusion_status": inc,
                "inclusion_reason": reason or None,
                "rob_overall": rob,
                "rob_reason": "design-based",
                "rob_tool": (
                    "not assessed"
                    if rob == "not_assessed"
                    else "provisional (RoB 2 domains not assessed)"
                    if "rct" in d
                    else "provisional (ROBINS-I domains not assessed)"
                ),
                "source_type": None,
            }
            for s, d, inc, reason, rob, n in study_ids
        ]
    )
    known = set(studies["id"])
    extra = (
        mem[~mem["study_id"].isin(known)]
        .drop_duplicates("study_id")
        .assign(
            id=lambda d: d["study_id"],
            title=lambda d: d["label"],
            year=None,
            blinding="double",
            n_randomized=lambda d: d["n_ldn"] + d["n_ctl"].fillna(0),
            n_ldn=lambda d: d["n_ldn"],
            n_control=lambda d: d["n_ctl"],
            n_analyzed=None,
            inclusion_status="include",
            inclusion_reason=None,
            rob_reason="design-based",
            rob_tool="provisional (RoB 2 domains not assessed)",
            source_type=None,
        )[list(studies.columns)]
    )
    studies = pd.concat([studies, extra], ignore_index=True).sort_values("id", ignore_index=True)
    for c in ("year", "n_randomized", "n_ldn", "n_control", "n_analyzed"):
        studies[c] = studies[c].astype("Int64")

    narrative = pd.DataFrame(
        [
            # study, outcome, domain, design, disposition, direction, n, rob, tier
            (
                "Bruun2024",
                "cpm",
                "pain_sensitivity",
                "parallel_rct",
                "single_study_analysis",
                "better_with_ldn",
                99,
                "some_concerns",
                "A",
            ),
            (
                "Younger2013",
                "mood",
                "mood",
                "crossover_rct",
                "narrative_only",
                "better_with_ldn",
                31,
                "some_concerns",
                "F",
            ),
            (
                "Younger2013",
                "fatigue",
                "fatigue",
                "crossover_rct",
                "narrative_only",
                "no_clear_difference",
                31,
                "some_concerns",
                "F",
            ),
            (
                "Younger2013",
                "sleep",
                "sleep",
                "crossover_rct",
                "narrative_only",
                "not_reported",
                31,
                "some_concerns",
                "F",
            ),
            (
                "Younger2009",
                "symptoms",
                "pain",
                "nonrandomized_crossover",
                "narrative_only",
                "better_with_ldn",
                10,
                "high",
                "F",
            ),
            (
                "Metyas2018",
                "pain",
                "pain",
                "single_arm_pre_post",
                "narrative_only",
                "better_with_ldn",
                None,
                "high",
                "F",
            ),
            (
                "Metyas2018",
                "pain2",
                "pain",
                "single_arm_pre_post",
                "narrative_only",
                "worse_with_ldn",
                None,
                "high",
                "F",
            ),
            (
                "Parkitny2017",
                "symptoms",
                "disease_activity",
                "single_arm_pre_post",
                "narrative_only",
                "better_with_ldn",
                8,
                "high",
                "F",
            ),
            (
                "Bested2023",
                "adverse",
                "adverse_events",
                "crossover_rct",
                "narrative_only",
                "worse_with_ldn",
                400,
                "low",
                "F",
            ),
            (
                "Tamariz2024",
                "pain",
                "pain",
                "retrospective_cohort",
                "excluded_study",
                "better_with_ldn",
                None,
                "not_assessed",
                "F",
            ),
        ],
        columns=[
            "study_id",
            "outcome_id",
            "domain",
            "design",
            "disposition",
            "direction",
            "n_participants",
            "rob_overall",
            "tier",
        ],
    )
    narrative.insert(0, "condition", CONDITION)
    narrative["outcome"] = narrative["outcome_id"].str.replace("_", " ")
    narrative["stratum"] = "randomized_between_arm"
    narrative["direction_basis"] = "reported p-value"
    narrative["counted_in_vote"] = narrative["direction"] != "not_reported"
    narrative["reason_not_pooled"] = "no effect size"
    narrative["source_quote"] = "quote"
    narrative["n_participants"] = narrative["n_participants"].astype("Int64")
    return {"analyses": an, "analysis_members": mem, "narrative": narrative, "studies": studies}


def write_condition(
    root: Path, *, certainty: bool = False, only: tuple[str, ...] | None = None
) -> tuple[Path, Path]:
    """Write the synthetic tables under ``root``; return ``(results_dir, processed_dir)``.

    ``only`` keeps the listed analyses (and the studies they use plus the narrative ones).
    """
    t = build_tables()
    if only is not None:
        t["analyses"] = t["analyses"][t["analyses"]["analysis_id"].isin(only)]
        t["analysis_members"] = t["analysis_members"][
            t["analysis_members"]["analysis_id"].isin(only)
        ]
        keep = set(t["analysis_members"]["study_id"]) | set(t["narrative"]["study_id"])
        t["studies"] = t["studies"][t["studies"]["id"].isin(keep)]
    results = root / "results" / CONDITION
    processed = root / "data" / "processed" / CONDITION
    results.mkdir(parents=True, exist_ok=True)
    processed.mkdir(parents=True, exist_ok=True)
    for name in ("analyses", "analysis_members", "narrative"):
        t[name].to_parquet(results / f"{name}.parquet", index=False)
    t["studies"].to_parquet(processed / "studies.parquet", index=False)
    if certainty:
        ids = sorted(t["analyses"]["analysis_id"].unique())
        levels = ["high", "moderate", "low", "very_low"]
        pd.DataFrame(
            {"analysis_id": ids, "certainty": [levels[i % 4] for i in range(len(ids))]}
        ).to_parquet(results / "certainty.parquet", index=False)
    return results, processed
