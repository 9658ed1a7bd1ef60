"""Each validation rule, with the exact message a person editing the file will see."""

import copy
from pathlib import Path

import pytest
import yaml

from ldn_evidence.io.validate import validate_paths


def minimal_study(**overrides):
    study = {
        "schema_version": 1,
        "id": "Test2020",
        "condition": "fibromyalgia",
        "title": "A trial",
        "design": "parallel_rct",
        "inclusion": {"status": "include"},
        "source": {"url": "https://example.org/abstract", "quote": "49 vs 50"},
        "outcomes": [
            {
                "id": "pain",
                "name": "pain NRS",
                "domain": "pain",
                "better_direction": "lower",
                "statistics": {
                    "n_ldn": 49,
                    "n_ctl": 50,
                    "mean_ldn": 3.1,
                    "sd_ldn": 1.2,
                    "mean_ctl": 3.5,
                    "sd_ctl": 1.1,
                },
                "source": {"url": "https://example.org/abstract"},
            }
        ],
    }
    study.update(overrides)
    return study


def write(tmp_path: Path, study, name="Test2020", condition="fibromyalgia") -> Path:
    path = tmp_path / condition / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


def messages(tmp_path: Path) -> list[str]:
    issues, _ = validate_paths([tmp_path])
    return [str(i).replace(f"{tmp_path}/", "") for i in issues]


def with_outcome_stats(**stats):
    study = minimal_study()
    study["outcomes"][0]["statistics"].update(stats)
    return study


def test_minimal_study_is_valid(tmp_path):
    write(tmp_path, minimal_study())
    assert messages(tmp_path) == []


def test_bundled_study_files_are_valid(project_root):
    issues, studies = validate_paths([project_root / "data" / "raw"])
    assert [str(i) for i in issues] == []
    assert len(studies) == 27


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        (
            {"n_ldn": 0},
            "statistics.n_ldn: 0 participants (expected n >= 1)",
        ),
        (
            {"sd_ldn": 0},
            "statistics.sd_ldn: 0 is not positive (expected a value > 0)",
        ),
        (
            {"se_ctl": -0.5},
            "statistics.se_ctl: -0.5 is not positive (expected a value > 0)",
        ),
        (
            {"events_ldn": 12, "total_ldn": 10},
            "statistics.events_ldn: 12 events exceed the total of 10 "
            "(expected events <= total_ldn)",
        ),
        (
            {"pct_ctl": 104.0},
            "statistics.pct_ctl: 104.0 is outside 0-100 (expected a percentage)",
        ),
        (
            {"mean_change_ldn": -1.3, "ci_low_change_ldn": -0.8, "ci_high_change_ldn": -1.7},
            "statistics.ci_low_change_ldn: lower limit -0.8 is above the upper limit -1.7 "
            "(expected ci_low_change_ldn <= ci_high_change_ldn)",
        ),
        (
            {"mean_change_ctl": 0.9, "ci_low_change_ctl": -1.4, "ci_high_change_ctl": -0.5},
            "statistics.mean_change_ctl: 0.9 lies outside its confidence interval [-1.4, -0.5] "
            "(expected the estimate within its CI)",
        ),
        (
            {"sd_ldn": float("nan")},
            "statistics.sd_ldn: nan is not a finite number (expected a number)",
        ),
    ],
)
def test_statistics_rules(tmp_path, stats, expected):
    write(tmp_path, with_outcome_stats(**stats))
    assert messages(tmp_path) == [f"fibromyalgia/Test2020.yaml: outcome pain: {expected}"]


def test_reported_effect_ci_must_contain_the_estimate(tmp_path):
    study = minimal_study()
    study["outcomes"][0]["reported_effect"] = {"value": 0.5, "ci_low": -0.95, "ci_high": 0.27}
    write(tmp_path, study)
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: outcome pain: reported_effect.value: 0.5 lies outside "
        "its confidence interval [-0.95, 0.27] (expected the estimate within its CI)"
    ]


@pytest.mark.parametrize("p", [0, 1.5])
def test_p_value_range(tmp_path, p):
    study = minimal_study()
    study["outcomes"][0]["p_value"] = {"operator": "=", "value": p}
    write(tmp_path, study)
    assert messages(tmp_path) == [
        f"fibromyalgia/Test2020.yaml: outcome pain: p_value.value: {p} is not a p-value "
        "(expected 0 < p <= 1)"
    ]


def test_unknown_field_with_suggestion(tmp_path):
    study = minimal_study()
    study["outcomes"][0]["statistics"]["sd_ldm"] = 1.0
    write(tmp_path, study)
    [message] = messages(tmp_path)
    from ldn_evidence.io.studyfile import study_schema

    n_fields = len(study_schema()["$defs"]["statistics"]["properties"])
    assert message == (
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.sd_ldm: unknown field "
        f"(expected one of the {n_fields} fields in docs/study-files.md; did you mean 'sd_ldn'?)"
    )


def test_typo_in_domain_value(tmp_path):
    study = minimal_study()
    study["outcomes"][0]["domain"] = "pian"
    write(tmp_path, study)
    [message] = messages(tmp_path)
    assert message == (
        "fibromyalgia/Test2020.yaml: outcome pain: domain: 'pian' is not an allowed value "
        "(expected one of the 15 values in docs/study-files.md; did you mean 'pain'?)"
    )


def test_typo_as_a_key(tmp_path):
    study = minimal_study()
    study["outcomes"][0]["pian"] = study["outcomes"][0].pop("domain")
    write(tmp_path, study)
    got = messages(tmp_path)
    assert (
        "fibromyalgia/Test2020.yaml: outcome pain: domain: missing required field "
        "(expected a value)" in got
    )
    assert any(
        m.startswith("fibromyalgia/Test2020.yaml: outcome pain: pian: unknown field") for m in got
    )


def test_unknown_condition_and_design(tmp_path):
    write(tmp_path, minimal_study(condition="gout", design="case_report"))
    got = messages(tmp_path)
    assert got[0].startswith(
        "fibromyalgia/Test2020.yaml: study Test2020: condition: 'gout' is not an allowed value "
        "(expected one of: fibromyalgia, crohns_disease, multiple_sclerosis, long_covid"
    )
    assert got[1].startswith(
        "fibromyalgia/Test2020.yaml: study Test2020: design: 'case_report' is not an allowed value"
    )
    assert len(got) == 2  # each field once: no "does not match the folder" for 'gout'


def test_condition_must_match_folder(tmp_path):
    write(tmp_path, minimal_study(condition="long_covid"))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: study Test2020: condition: 'long_covid' does not match "
        "the folder 'fibromyalgia' (expected 'fibromyalgia', or move the file to "
        "data/raw/long_covid/)"
    ]


def test_id_must_match_file_name(tmp_path):
    write(tmp_path, minimal_study(), name="Other2020")
    assert messages(tmp_path) == [
        "fibromyalgia/Other2020.yaml: study Test2020: id: 'Test2020' does not match the file "
        "name (expected 'Other2020')"
    ]


def test_study_ids_unique_across_files(tmp_path):
    write(tmp_path, minimal_study())
    write(tmp_path, minimal_study(), name="Test2020", condition="long_covid")
    got = messages(tmp_path)
    assert (
        "long_covid/Test2020.yaml: study Test2020: id: 'Test2020' is also the id of "
        "fibromyalgia/Test2020.yaml (expected study ids unique across all files)"
    ) in got


def test_duplicate_outcome_ids(tmp_path):
    study = minimal_study()
    study["outcomes"].append(copy.deepcopy(study["outcomes"][0]))
    write(tmp_path, study)
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: outcome pain: id: duplicate outcome id 'pain' "
        "(also outcome #1; expected ids unique within the study)"
    ]


def test_wrong_type(tmp_path):
    write(tmp_path, with_outcome_stats(n_ldn="49"))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.n_ldn: '49' is text "
        "(expected a whole number or empty)"
    ]


def test_missing_required_fields(tmp_path):
    study = minimal_study()
    del study["source"]
    del study["outcomes"][0]["better_direction"]
    write(tmp_path, study)
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: study Test2020: source: missing required field "
        "(expected a value)",
        "fibromyalgia/Test2020.yaml: outcome pain: better_direction: missing required field "
        "(expected a value)",
    ]


def test_excluded_study_needs_a_reason(tmp_path):
    write(tmp_path, minimal_study(inclusion={"status": "exclude"}))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: study Test2020: inclusion.reason: "
        "an excluded study needs a reason (expected the reason for excluding it)"
    ]


def test_every_problem_is_reported_in_one_run(tmp_path):
    write(tmp_path, with_outcome_stats(sd_ldn=-1, n_ctl=0, pct_ldn=120))
    write(tmp_path, minimal_study(id="Second2021"), name="Second2021", condition="long_covid")
    got = messages(tmp_path)
    assert len(got) == 4  # three in the first file, the condition mismatch in the second
    assert got[-1].startswith("long_covid/Second2021.yaml: study Second2021: condition:")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file (expected a YAML mapping describing one study)"),
        (b"  \n# only a comment\n", "empty file (expected a YAML mapping describing one study)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file (expected a UTF-8 text YAML file)"),
        (b"id: Caf\xe9\n", "not valid UTF-8 at byte 7 (expected UTF-8 encoded text)"),
        (
            b"id: [Test2020\n",
            "malformed YAML at line 2, column 1: did not find expected ',' or ']' "
            "(expected valid YAML)",
        ),
        (
            b"id: A\nid: B\n",
            "unsupported YAML at line 2, column 1: duplicate key 'id' (first on line 1) "
            "(expected each field once)",
        ),
        (b"- a\n- b\n", "top level is a list (expected a YAML mapping describing one study)"),
    ],
)
def test_unreadable_files_are_named_not_tracebacks(tmp_path, content, expected):
    path = tmp_path / "fibromyalgia" / "Broken2020.yaml"
    path.parent.mkdir()
    path.write_bytes(content)
    assert messages(tmp_path) == [f"fibromyalgia/Broken2020.yaml: file: -: {expected}"]


def test_schema_enums_match_vocabulary():
    from ldn_evidence import vocab
    from ldn_evidence.io.studyfile import study_schema

    schema = study_schema()
    props, outcome = schema["properties"], schema["$defs"]["outcome"]["properties"]
    assert tuple(props["condition"]["enum"]) == vocab.CONDITIONS
    assert tuple(props["design"]["enum"]) == vocab.DESIGNS
    assert tuple(outcome["domain"]["enum"]) == vocab.DOMAINS
    assert tuple(outcome["better_direction"]["enum"]) == vocab.BETTER_DIRECTIONS
    assert tuple(props["risk_of_bias"]["properties"]["overall"]["enum"]) == (
        vocab.RISK_OF_BIAS_LEVELS
    )


def test_quartiles_must_be_ordered(tmp_path):
    write(tmp_path, with_outcome_stats(q1_ldn=5.0, median_ldn=4.0, q3_ldn=7.0))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.median_ldn: 4.0 is below "
        "q1_ldn = 5.0 (expected q1_ldn <= median_ldn)"
    ]


def test_study_sample_size_dose_and_duration(tmp_path):
    study = minimal_study(
        sample_size={"randomized": 0}, dose={"mg_per_day": 0}, duration={"weeks": -2}
    )
    write(tmp_path, study)
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: study Test2020: sample_size.randomized: 0 participants "
        "(expected n >= 1)",
        "fibromyalgia/Test2020.yaml: study Test2020: dose.mg_per_day: 0 is not positive "
        "(expected > 0)",
        "fibromyalgia/Test2020.yaml: study Test2020: duration.weeks: -2 is not positive "
        "(expected > 0)",
    ]


def test_mixed_ibd_only_for_crohns(tmp_path):
    write(tmp_path, minimal_study(population_scope="mixed_ibd"))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: study Test2020: population_scope: "
        "mixed_ibd is only meaningful for crohns_disease (expected target_condition)"
    ]


def test_negative_events(tmp_path):
    write(tmp_path, with_outcome_stats(events_ctl=-1, total_ctl=50))
    assert messages(tmp_path) == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.events_ctl: -1 is negative "
        "(expected >= 0)"
    ]


def test_file_outside_a_condition_folder(tmp_path):
    write(tmp_path, minimal_study(), condition="misc")
    assert messages(tmp_path) == [
        "misc/Test2020.yaml: study Test2020: condition: the file is in folder 'misc', not a "
        "condition folder (expected data/raw/<condition>/ with one of: fibromyalgia, "
        "crohns_disease, multiple_sclerosis, long_covid)"
    ]


def test_cli_validate_exit_codes(tmp_path, capsys):
    from ldn_evidence.cli import main

    write(tmp_path, minimal_study())
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "1 study file(s) valid\n"
    write(tmp_path, with_outcome_stats(sd_ldn=-1.0))
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith(
        "outcome pain: statistics.sd_ldn: -1.0 is not positive (expected a value > 0)"
    )
    assert err[-1] == "1 problem(s) in 1 of 1 file(s)"
