"""The analyses stage on the bundled studies and on constructed examples.

Pooled numbers are re-computed independently here from the member rows (the weighted mean
by hand; tau^2 of the Paule-Mandel scenario by statsmodels), never by calling the code under test.
"""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from ldn_evidence import vocab
from ldn_evidence.analysis.plan import PlanError, check_plan, default_plan, read_plan
from ldn_evidence.analysis.run import PoolSettings, run_condition, vote_counts
from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.studyfile import read_study_file
from ldn_evidence.io.tables import outcomes_table, studies_table

ROOT = Path(__file__).resolve().parents[3]
CONDITIONS = ("fibromyalgia", "crohns_disease", "multiple_sclerosis", "long_covid")


def tables(condition):
    paths = sorted((ROOT / "data" / "raw" / condition).glob("*.yaml"))
    items = [(p.relative_to(ROOT).as_posix(), read_study_file(p)) for p in paths]
    studies, outcomes = studies_table(items), outcomes_table(items)
    return studies, outcomes, derive_effects(outcomes, studies, EffectSettings())


@pytest.fixture(scope="module")
def results():
    plan = read_plan(ROOT / "config" / "analyses.yaml")
    published = pd.read_csv(ROOT / "data" / "reference" / "meta_analyses.csv")
    out = {}
    for condition in CONDITIONS:
        studies, outcomes, effects = tables(condition)
        out[condition] = run_condition(
            [a for a in plan if a.condition == condition],
            effects,
            studies,
            outcomes,
            EffectSettings(),
            PoolSettings(),
            published[published.condition == condition],
        ) | {"effects": effects}
    return out


def members_of(res, analysis_id, scenario="main"):
    m = res["analysis_members"]
    return m[(m.analysis_id == analysis_id) & (m.scenario == scenario)]


def row_of(res, analysis_id, scenario="main"):
    a = res["analyses"]
    hit = a[(a.analysis_id == analysis_id) & (a.scenario == scenario)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_fibromyalgia_pain_pools_the_four_randomized_trials(results):
    fm = results["fibromyalgia"]
    members = members_of(fm, "fm_pain_rct_smd")
    assert sorted(members.study_id) == [
        "Bested2023",
        "Bruun2024",
        "RodriguezFreire_INNOVA",
        "Younger2013",
    ]
    assert set(members.stratum) == {"randomized_between_arm"}
    younger2009 = members_of(fm, "fm_pain_nrs_smd")
    assert list(younger2009.study_id) == ["Younger2009"]
    assert row_of(fm, "fm_pain_nrs_smd").pooled is False or not row_of(fm, "fm_pain_nrs_smd").pooled


def test_pooled_mean_equals_the_weighted_mean_of_its_members(results):
    for res in results.values():
        main = res["analyses"][(res["analyses"].scenario == "main") & (res["analyses"].k >= 2)]
        for row in main.itertuples():
            m = members_of(res, row.analysis_id)
            w = 1 / (m.vi + row.tau2)
            assert row.estimate == pytest.approx((w * m.yi).sum() / w.sum(), rel=1e-10)
            assert m.weight_percent.sum() == pytest.approx(100)
            assert m.weight_percent.to_numpy() == pytest.approx(100 * w / w.sum())
            # Hartung-Knapp: q = sum w (y - mu)^2 / (k - 1), SE = sqrt(q / sum w), t(k-1)
            k = len(m)
            q = (w * (m.yi - row.estimate) ** 2).sum() / (k - 1)
            se = math.sqrt(q / w.sum())
            half = stats.t.isf(0.025, k - 1) * se
            assert row.ci_low == pytest.approx(row.estimate - half, rel=1e-8)
            assert row.ci_high == pytest.approx(row.estimate + half, rel=1e-8)


def test_paule_mandel_scenario_matches_statsmodels(results):
    fm = results["fibromyalgia"]
    m = members_of(fm, "fm_pain_rct_smd", "estimator:PM")
    res = combine_effects(m.yi.to_numpy(), m.vi.to_numpy(), method_re="iterated")
    row = row_of(fm, "fm_pain_rct_smd", "estimator:PM")
    assert row.tau2 == pytest.approx(res.tau2, rel=1e-4, abs=1e-6)


def test_strata_are_never_mixed_and_no_study_appears_twice(results):
    for res in results.values():
        m = res["analysis_members"]
        a = res["analyses"].set_index(["analysis_id", "scenario"])
        for (analysis_id, scenario), group in m.groupby(["analysis_id", "scenario"]):
            assert not group.study_id.duplicated().any(), (analysis_id, scenario)
            stratum = a.loc[(analysis_id, scenario), "stratum"]
            if scenario == "add_nonrandomized":
                assert set(group.stratum) <= {stratum, "nonrandomized_between_arm"}
            else:
                assert set(group.stratum) == {stratum}, (analysis_id, scenario)
            assert set(group.stratum) <= set(vocab.STRATA)


def test_every_scenario_has_the_members_its_name_says(results):
    fm = results["fibromyalgia"]
    main = set(members_of(fm, "fm_pain_rct_smd").study_id)
    for study in main:
        got = set(members_of(fm, "fm_pain_rct_smd", f"leave_out:{study}").study_id)
        assert got == main - {study}
    no_high_dose = members_of(fm, "fm_pain_rct_smd", "exclude_dose_above_4_5mg")
    assert "Bruun2024" not in set(no_high_dose.study_id)
    assert (no_high_dose.dose_mg_per_day <= 4.5).all()
    with_nrs = members_of(fm, "fm_pain_rct_smd", "add_nonrandomized")
    assert set(with_nrs.study_id) == main | {"Younger2009"}
    # a scenario that leaves k < 2 says so and repeats nothing
    tiers = row_of(fm, "fm_pain_rct_smd", "tiers_a_to_c")
    assert tiers.scenario_status == "not_applicable" and math.isnan(tiers.estimate)
    assert "k = 1" in tiers.scenario_note
    unchanged = row_of(fm, "fm_pain_rct_smd", "exclude_high_rob")
    assert unchanged.scenario_status == "unchanged" and math.isnan(unchanged.estimate)


def test_correlation_scenarios_re_derive_the_effects(results):
    fm = results["fibromyalgia"]
    main = members_of(fm, "fm_pain_rct_smd").set_index("study_id")
    low = members_of(fm, "fm_pain_rct_smd", "correlation:0.3").set_index("study_id")
    # Bested: SMD = J(57) t sqrt(2 (1 - r) / n) with r = 0.3 instead of 0.5
    ratio = math.sqrt(2 * 0.7) / math.sqrt(2 * 0.5)
    assert low.loc["Bested2023", "yi"] == pytest.approx(main.loc["Bested2023", "yi"] * ratio)
    # parallel trials do not depend on r
    assert low.loc["Bruun2024", "yi"] == main.loc["Bruun2024", "yi"]


def test_every_outcome_is_in_exactly_one_place(results):
    for condition, res in results.items():
        effects = res["effects"]
        outcomes = set(zip(effects.study_id, effects.outcome_id, strict=True))
        a = res["analyses"]
        pooled_ids = set(a.analysis_id[(a.scenario == "main") & (a.k >= 2)])
        m = res["analysis_members"]
        m = m[m.scenario == "main"]
        pooled = set(
            zip(
                m.study_id[m.analysis_id.isin(pooled_ids)],
                m.outcome_id[m.analysis_id.isin(pooled_ids)],
                strict=True,
            )
        )
        narrative = res["narrative"]
        elsewhere = list(zip(narrative.study_id, narrative.outcome_id, strict=True))
        assert len(elsewhere) == len(set(elsewhere)), condition
        assert pooled.isdisjoint(elsewhere), condition
        assert pooled | set(elsewhere) == outcomes, condition
        singles = narrative[narrative.disposition == "single_study_analysis"]
        assert set(zip(singles.study_id, singles.outcome_id, strict=True)) <= set(
            zip(m.study_id, m.outcome_id, strict=True)
        )


def test_vote_counting_with_a_sign_test_by_hand():
    narrative = pd.DataFrame(
        {
            "domain": ["pain"] * 7,
            "comparison_group": ["controlled"] * 7,
            "study_id": ["A", "B", "C", "D", "E", "F", "F"],
            "direction": [
                "better_with_ldn",
                "better_with_ldn",
                "better_with_ldn",
                "better_with_ldn",
                "worse_with_ldn",
                "better_with_ldn",
                "worse_with_ldn",
            ],
            "counted_in_vote": [True] * 7,
        }
    )
    got = vote_counts(narrative).iloc[0]
    # F is mixed; 4 better of 5 decided: two-sided sign test p = 2 * P(X >= 4) = 2 * 6/32
    assert (got.better_with_ldn, got.worse_with_ldn, got.mixed) == (4, 1, 1)
    assert got.sign_test_p == pytest.approx(2 * (5 + 1) / 32)
    assert got.proportion_better == pytest.approx(0.8)


def entry(**overrides):
    base = {
        "id": "fm_x",
        "condition": "fibromyalgia",
        "title": "x",
        "domains": ["pain"],
        "measure": "SMD",
        "stratum": "randomized_between_arm",
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"domains": ["pian"]},
            "analysis fm_x: domains.0: 'pian' is not allowed (expected one of:",
        ),
        ({"measure": "HR"}, "analysis fm_x: measure: 'HR' is not allowed (expected one of: SMD"),
        ({"stratum": "controlled"}, "analysis fm_x: stratum: 'controlled' is not allowed"),
        (
            {"measure": "PLO"},
            "analysis fm_x: measure: 'PLO' cannot pool the randomized_between_arm",
        ),
    ],
)
def test_plan_schema_names_the_entry(override, message):
    with pytest.raises(PlanError) as err:
        check_plan({"analyses": [entry(**override)]}, "config/analyses.yaml")
    assert any(p.startswith("config/analyses.yaml: " + message) for p in err.value.problems), (
        err.value.problems
    )


def test_plan_reports_every_problem_at_once():
    with pytest.raises(PlanError) as err:
        check_plan({"analyses": [entry(measure="HR"), entry(id="fm_y", stratum="x")]})
    assert len(err.value.problems) == 2


def test_default_plan_covers_every_domain_with_an_effect(results):
    plan = default_plan([res["effects"] for res in results.values()])
    analyses = check_plan(plan)
    covered = {(a.condition, d, a.stratum) for a in analyses for d in a.domains}
    for res in results.values():
        e = res["effects"]
        e = e[(e.tier != "F") & (e.inclusion_status == "include")]
        assert set(zip(e.condition, e.domain, e.stratum, strict=True)) <= covered
    # it round-trips through YAML as the committed plan does
    assert check_plan(yaml.safe_load(yaml.safe_dump(plan))) == analyses


def test_published_comparison_on_our_sign_convention(results):
    comparison = results["fibromyalgia"]["published_comparison"].set_index("review_id")
    # Vatvani 2024: "MD –0.86, 95% CI –1.20, –0.51" (less pain) -> +0.86 (0.51 to 1.20)
    assert tuple(
        comparison.loc["Vatvani2024", ["their_estimate", "their_ci_low", "their_ci_high"]]
    ) == (0.86, 0.51, 1.20)
    assert "doses above 4.5 mg/day: Bruun2024" in comparison.loc["Vatvani2024", "reasons"]


def test_reexpression_on_the_pain_scale(results):
    row = row_of(results["fibromyalgia"], "fm_pain_rct_smd")
    assert row.familiar_estimate == pytest.approx(row.estimate * 1.59)
    assert row.reference_sd_unit == "points on a 0-10 pain NRS"


def test_bayesian_scenario_equals_bayes_pool_on_the_members():
    from ldn_evidence.analysis.run import BayesSettings
    from ldn_evidence.meta.bayes import bayes_pool

    plan = [
        a for a in read_plan(ROOT / "config" / "analyses.yaml") if a.condition == "fibromyalgia"
    ]
    studies, outcomes, effects = tables("fibromyalgia")
    res = run_condition(
        plan, effects, studies, outcomes, EffectSettings(), PoolSettings(), bayes=BayesSettings()
    )
    members = members_of(res, "fm_pain_rct_smd")
    expected = bayes_pool(
        members.yi.to_numpy(),
        members.vi.to_numpy(),
        tau_prior="halfnormal",
        tau_scale=0.5,
        thresholds=(0.2,),
    )
    row = row_of(res, "fm_pain_rct_smd", "bayes")
    assert row.estimate == pytest.approx(expected.mu_median, rel=1e-10)
    assert (row.ci_low, row.ci_high) == pytest.approx((expected.mu_ci_low, expected.mu_ci_high))
    assert row.bayes_prob_positive == pytest.approx(expected.prob_mu_positive)
    assert row.bayes_prob_above_important == pytest.approx(expected.prob_mu_above[0.2])
    # k <= 4: the probabilities also sit beside the frequentist main result
    main = row_of(res, "fm_pain_rct_smd")
    assert main.bayes_prob_positive == pytest.approx(expected.prob_mu_positive)
    # every analysis gets the scenario; measures without a default prior scale say why
    a = res["analyses"]
    bayes_rows = a[a.scenario == "bayes"]
    assert set(bayes_rows.analysis_id) == set(a.analysis_id)
    assert set(bayes_rows.scenario_status) == {"ok"}


def test_a_scenario_without_a_finite_estimate_says_it_failed():
    """Accepted but extreme inputs (an SMD of 6e12 with a variance of 1e-26 beside ordinary
    ones): DerSimonian-Laird gives tau2 = inf and no estimate; that row must not read "ok"."""
    plan = [
        a
        for a in read_plan(ROOT / "config" / "analyses.yaml")
        if a.condition == "fibromyalgia" and a.id == "fm_pain_rct_smd"
    ]
    studies, outcomes, effects = tables("fibromyalgia")
    normal = run_condition(plan, effects, studies, outcomes, EffectSettings(), PoolSettings())
    member = members_of(normal, "fm_pain_rct_smd").iloc[0]
    row = (effects.study_id == member.study_id) & (effects.outcome_id == member.outcome_id)
    effects = effects.copy()
    effects.loc[row, ["yi", "vi"]] = [6.3e12, 1e-26]
    with pytest.warns(RuntimeWarning):
        res = run_condition(plan, effects, studies, outcomes, EffectSettings(), PoolSettings())
    a = res["analyses"]
    a = a[a.scenario_status.isin(["ok", "failed"])]
    finite = a[["estimate", "ci_low", "ci_high"]].apply(lambda c: c.map(math.isfinite)).all(axis=1)
    assert list(a.scenario_status == "ok") == list(finite)
    failed = a[a.scenario_status == "failed"]
    assert len(failed) >= 1 and "no finite pooled estimate" in failed.iloc[0].scenario_note
