"""The claims verdicts follow their rules (config/README.md, "The claims check") on
constructed analyses, certainty tables and narrative syntheses."""

import pandas as pd
import pytest

from ldn_evidence.certainty import CertaintyRules, assess_claims


def claim(domain="pain", condition="fibromyalgia", claim_id="c1"):
    return pd.DataFrame(
        [
            {
                "claim_id": claim_id,
                "condition": condition,
                "outcome_domain": domain,
                "claim": "LDN helps",
            }
        ]
    )


def cert(analysis_id, lo, hi, level, stratum="randomized_between_arm", domain="pain", t=0.2):
    return {
        "analysis_id": analysis_id,
        "domain": domain,
        "stratum": stratum,
        "k": 2,
        "certainty": level,
        "assessed_scale": "SMD",
        "assessed_estimate": (lo + hi) / 2,
        "assessed_ci_low": lo,
        "assessed_ci_high": hi,
        "threshold_small": t,
    }


def tables(*rows):
    certainty = pd.DataFrame(list(rows))
    analyses = pd.DataFrame(
        {"analysis_id": certainty.analysis_id, "scenario": "main", "k": 2}
        if not certainty.empty
        else {"analysis_id": [], "scenario": [], "k": []}
    )
    return analyses, certainty


def verdict(claims, by_condition, narrative=None, rules=None):
    analyses = {c: a for c, (a, _) in by_condition.items()}
    certainty = {c: t for c, (_, t) in by_condition.items()}
    out = assess_claims(claims, analyses, certainty, narrative, rules)
    assert len(out) == len(claims)
    return out.iloc[0]


@pytest.mark.parametrize(
    ("lo", "hi", "level", "expected"),
    [
        (0.3, 0.9, "moderate", "supported"),
        (0.3, 0.9, "high", "supported"),
        (0.3, 0.9, "low", "uncertain"),  # favourable CI, certainty too low
        (-0.2, 0.6, "high", "uncertain"),  # CI includes no effect and an important benefit
        (-0.4, 0.15, "very_low", "not supported"),  # CI excludes an important benefit
        (-0.9, -0.3, "low", "not supported"),  # harm
    ],
)
def test_benefit_claim_rules(lo, hi, level, expected):
    result = verdict(claim(), {"fibromyalgia": tables(cert("a1", lo, hi, level))})
    assert result.verdict == expected
    assert result.analysis_ids == "a1"
    assert result.certainty == f"a1: {level}"


def test_randomized_analyses_decide_before_non_randomized_ones():
    both = tables(
        cert("rct", -0.4, 0.15, "low"),
        cert("nrs", 0.5, 1.5, "high", stratum="nonrandomized_between_arm"),
    )
    result = verdict(claim(), {"fibromyalgia": both})
    assert result.verdict == "not supported" and result.analysis_ids == "rct"
    nrs_only = tables(cert("nrs", 0.5, 1.5, "moderate", stratum="nonrandomized_between_arm"))
    assert verdict(claim(), {"fibromyalgia": nrs_only}).verdict == "supported"


def test_uncontrolled_analyses_never_decide():
    pre_post = tables(cert("pp", 1.0, 2.0, "moderate", stratum="within_group_pre_post"))
    result = verdict(claim(), {"fibromyalgia": pre_post})
    assert result.verdict == "no controlled evidence"
    assert "uncontrolled analyses only: pp" in result.rationale


def test_narrative_only_controlled_studies_make_it_uncertain():
    narrative = pd.DataFrame(
        [
            {
                "domain": "sleep",
                "comparison_group": "controlled",
                "disposition": "narrative_only",
                "study_id": "Younger2013",
                "direction": "no_clear_difference",
            },
            {
                "domain": "sleep",
                "comparison_group": "uncontrolled",
                "disposition": "narrative_only",
                "study_id": "OKelly2022",
                "direction": "better_with_ldn",
            },
        ]
    )
    result = verdict(claim("sleep"), {"fibromyalgia": tables()}, {"fibromyalgia": narrative})
    assert result.verdict == "uncertain"
    assert "1 controlled study (1 no clear difference)" in result.rationale
    uncontrolled_only = narrative[narrative.comparison_group == "uncontrolled"]
    result = verdict(
        claim("sleep"), {"fibromyalgia": tables()}, {"fibromyalgia": uncontrolled_only}
    )
    assert result.verdict == "no controlled evidence"


def test_no_harm_claims():
    rules = CertaintyRules()
    cases = [
        (-0.1, 0.15, "moderate", "supported"),  # excludes an important harm (-0.2)
        (-0.1, 0.15, "low", "uncertain"),  # ... but certainty too low
        (-0.5, 0.3, "high", "uncertain"),  # includes an important harm
        (-0.9, -0.1, "very_low", "not supported"),  # harm
    ]
    for lo, hi, level, expected in cases:
        result = verdict(
            claim("adverse_events"),
            {"fibromyalgia": tables(cert("ae", lo, hi, level, domain="adverse_events"))},
            rules=rules,
        )
        assert result.verdict == expected, (lo, hi, level)
        assert result.rule.startswith("no-harm claim")


def test_condition_all_combines_every_condition():
    fm = tables(cert("fm_ae", -0.1, 0.15, "high", domain="adverse_events"))
    ms = tables(cert("ms_ae", -0.1, 0.1, "moderate", domain="adverse_events"))
    both = {"fibromyalgia": fm, "multiple_sclerosis": ms}
    result = verdict(claim("adverse_events", "all"), both)
    assert result.verdict == "supported" and result.analysis_ids == "fm_ae; ms_ae"
    ms_harm = tables(cert("ms_ae", -0.9, -0.1, "low", domain="adverse_events"))
    conflict = verdict(
        claim("adverse_events", "all"), {"fibromyalgia": fm, "multiple_sclerosis": ms_harm}
    )
    assert conflict.verdict == "uncertain"  # one supports, one does not: rule 3
    one_uncertain = tables(cert("ms_ae", -0.5, 0.3, "high", domain="adverse_events"))
    assert (
        verdict(
            claim("adverse_events", "all"),
            {"fibromyalgia": fm, "multiple_sclerosis": one_uncertain},
        ).verdict
        == "uncertain"
    )


def test_not_supported_needs_no_support_elsewhere():
    rows = tables(cert("a1", -0.4, 0.1, "low"), cert("a2", -0.2, 0.8, "low"))
    assert verdict(claim(), {"fibromyalgia": rows}).verdict == "not supported"


def test_analyses_of_other_domains_are_not_used():
    other = tables(cert("mood", 0.3, 0.9, "high", domain="mood"))
    assert verdict(claim("pain"), {"fibromyalgia": other}).verdict == "no controlled evidence"
    multi = tables(cert("pm", 0.3, 0.9, "high", domain="pain, mood"))
    assert verdict(claim("pain"), {"fibromyalgia": multi}).verdict == "supported"


def test_the_minimum_certainty_is_configurable():
    rules = CertaintyRules.from_mapping({"claims": {"supported_min_certainty": "low"}})
    rows = tables(cert("a1", 0.3, 0.9, "low"))
    assert verdict(claim(), {"fibromyalgia": rows}, rules=rules).verdict == "supported"
    assert verdict(claim(), {"fibromyalgia": rows}).verdict == "uncertain"
