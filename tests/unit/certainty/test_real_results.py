"""The certainty and claims stages on the bundled studies: every main analysis is rated and
every claim gets a verdict (the analyses are run here, from data/raw, not read from results/)."""

from pathlib import Path

import pandas as pd
import pytest

from ldn_evidence.analysis.plan import read_plan
from ldn_evidence.analysis.run import PoolSettings, run_condition
from ldn_evidence.certainty import (
    LEVELS,
    SYMBOLS,
    VERDICTS,
    assess_claims,
    assess_condition,
    attach_study_context,
    read_overrides,
    read_rules,
    write_certainty,
)
from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.studyfile import read_study_file
from ldn_evidence.io.tables import outcomes_table, studies_table

ROOT = Path(__file__).resolve().parents[3]
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")


@pytest.fixture(scope="module")
def real():
    plan = read_plan(ROOT / "config" / "analyses.yaml")
    rules = read_rules(ROOT / "config" / "certainty.yaml")
    overrides = read_overrides(ROOT / "config" / "certainty_overrides.yaml")
    out = {}
    for condition in CONDITIONS:
        paths = sorted((ROOT / "data" / "raw" / condition).glob("*.yaml"))
        items = [(p.relative_to(ROOT).as_posix(), read_study_file(p)) for p in paths]
        studies, outcomes = studies_table(items), outcomes_table(items)
        effects = derive_effects(outcomes, studies, EffectSettings())
        results = run_condition(
            [a for a in plan if a.condition == condition],
            effects,
            studies,
            outcomes,
            EffectSettings(),
            PoolSettings(),
        )
        members = attach_study_context(results["analysis_members"], effects)
        results["certainty"] = assess_condition(results["analyses"], members, rules, overrides)
        out[condition] = results
    return out, rules


def test_every_main_analysis_gets_a_certainty(real):
    results, _ = real
    for condition, res in results.items():
        main = res["analyses"][res["analyses"].scenario == "main"]
        certainty = res["certainty"]
        assert sorted(certainty.analysis_id) == sorted(main.analysis_id[main.k >= 1]), condition
        assert certainty.certainty.isin(LEVELS).all()
        assert (certainty.symbols == certainty.certainty.map(SYMBOLS)).all()
        for domain in ("risk_of_bias", "inconsistency", "indirectness", "imprecision"):
            assert certainty[domain].between(0, 2).all()
            assert (certainty[f"{domain}_reason"].str.len() > 0).all()
        single = certainty[certainty.k == 1]
        assert (~single.inconsistency_assessable).all()
        assert (~certainty.publication_bias_assessable).all()  # no analysis has k >= 10
        assert (certainty.plain_language.str.len() > 0).all()


def test_context_from_the_effects_table_reaches_indirectness(real):
    results, _ = real
    lc = results["long_covid"]["certainty"].set_index("analysis_id")
    assert "NAD+ iontophoresis patches" in lc.loc["lc_fatigue_prepost_smcr", "indirectness_reason"]
    cd = results["crohns_disease"]["certainty"].set_index("analysis_id")
    assert "mixed_ibd" in cd.loc["cd_remission_prop_plo", "indirectness_reason"]


def test_every_claim_gets_a_verdict_and_the_table_is_written(real, tmp_path):
    results, rules = real
    claims = pd.read_csv(ROOT / "data" / "reference" / "claims.csv")
    verdicts = assess_claims(
        claims,
        {c: r["analyses"] for c, r in results.items()},
        {c: r["certainty"] for c, r in results.items()},
        {c: r["narrative"] for c, r in results.items()},
        rules,
    )
    assert sorted(verdicts.claim_id) == sorted(claims.claim_id)
    assert verdicts.verdict.isin(VERDICTS).all()
    assert (verdicts.rationale.str.len() > 0).all()
    write_certainty(results["fibromyalgia"]["certainty"], tmp_path)
    again = pd.read_parquet(tmp_path / "certainty.parquet")
    pd.testing.assert_frame_equal(again, results["fibromyalgia"]["certainty"])
    assert (tmp_path / "certainty.csv").exists()
