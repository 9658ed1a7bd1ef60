"""The certainty and claims entry points on a constructed results folder: what they read,
what they write (the same bytes twice), and how a bad rules file is reported."""

import pandas as pd

from ldn_evidence.certainty import certainty_main, claims_main


def make_results(tmp_path):
    folder = tmp_path / "results" / "fibromyalgia"
    folder.mkdir(parents=True)
    analyses = pd.DataFrame(
        [
            {
                "analysis_id": "fm_pain_rct_smd",
                "scenario": "main",
                "title": "Pain: randomized comparisons",
                "condition": "fibromyalgia",
                "domain": "pain",
                "measure": "SMD",
                "stratum": "randomized_between_arm",
                "k": 1,
                "n_participants": 60,
                "estimate": 0.3,
                "ci_low": -0.2,
                "ci_high": 0.8,
                "i2": float("nan"),
                "pi_low": float("nan"),
                "pi_high": float("nan"),
            }
        ]
    )
    members = pd.DataFrame(
        [
            {
                "analysis_id": "fm_pain_rct_smd",
                "scenario": "main",
                "study_id": "S1",
                "outcome_id": "pain",
                "yi": 0.3,
                "vi": 0.065,
                "weight_percent": 100.0,
                "dose_mg_per_day": 4.5,
                "dose_above_ldn_range": False,
                "rob_overall": "some_concerns",
                "source_quality": "primary_abstract",
                "selective_reporting_risk": None,
            }
        ]
    )
    analyses.to_parquet(folder / "analyses.parquet")
    members.to_parquet(folder / "analysis_members.parquet")
    processed = tmp_path / "processed" / "fibromyalgia"
    processed.mkdir(parents=True)
    pd.DataFrame(
        [
            {
                "study_id": "S1",
                "outcome_id": "pain",
                "co_interventions": "exercise",
                "population_scope": "target_condition",
            }
        ]
    ).to_parquet(processed / "effects.parquet")
    return tmp_path


def test_certainty_main_writes_the_table_deterministically(tmp_path, capsys):
    root = make_results(tmp_path)
    config = root / "certainty.yaml"
    config.write_text("inconsistency:\n  i2_serious: 40\n")
    args = ("fibromyalgia", root / "results", config, root / "none.yaml", root / "processed")
    assert certainty_main(*args) == 0
    out = root / "results" / "fibromyalgia"
    first = (out / "certainty.parquet").read_bytes(), (out / "certainty.csv").read_bytes()
    assert certainty_main(*args) == 0
    assert first == ((out / "certainty.parquet").read_bytes(), (out / "certainty.csv").read_bytes())
    table = pd.read_parquet(out / "certainty.parquet")
    assert list(table.analysis_id) == ["fm_pain_rct_smd"]
    # co-interventions come from the effects table
    assert table.indirectness.iloc[0] == 1
    assert "exercise" in table.indirectness_reason.iloc[0]
    assert "fibromyalgia: certainty of 1 analyses (1 very_low)" in capsys.readouterr().out


def test_certainty_main_reports_a_bad_rules_file(tmp_path, capsys):
    root = make_results(tmp_path)
    config = root / "certainty.yaml"
    config.write_text("imprecision:\n  ois: 400\n")
    assert certainty_main("fibromyalgia", root / "results", config, None, None) == 1
    err = capsys.readouterr().err
    assert f"{config}: imprecision: Additional properties are not allowed ('ois'" in err
    assert not (root / "results" / "fibromyalgia" / "certainty.parquet").exists()


def test_claims_main_writes_a_verdict_per_claim(tmp_path):
    root = make_results(tmp_path)
    config = root / "certainty.yaml"
    config.write_text("{}\n")
    assert certainty_main("fibromyalgia", root / "results", config, None, None) == 0
    claims = root / "claims.csv"
    pd.DataFrame(
        [
            {"claim_id": "a", "condition": "fibromyalgia", "outcome_domain": "pain", "claim": "x"},
            {"claim_id": "b", "condition": "all", "outcome_domain": "sleep", "claim": "y"},
        ]
    ).to_csv(claims, index=False)
    assert claims_main(["fibromyalgia"], claims, root / "results", config) == 0
    verdicts = pd.read_parquet(root / "results" / "claims.parquet")
    assert list(verdicts.verdict) == ["uncertain", "no controlled evidence"]
