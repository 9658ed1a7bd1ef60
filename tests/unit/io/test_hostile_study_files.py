"""Study files written to hurt: each is refused with one exact line, never a traceback.

Each case runs ``ldn-evidence validate`` on a folder holding one valid study and one hostile
file, and checks the exact lines printed, the exit code, and that the valid study still gets
validated (one bad file hides nothing else). Time and memory bounds are measured in
``benchmarks/bench_validate_hostile.py``, not here.
"""

import copy
import os
import re
from pathlib import Path

import pytest
import yaml
from tests.unit.io.test_validate import minimal_study, with_outcome_stats, write

from ldn_evidence.cli import main
from ldn_evidence.io.studyfile import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    CParser,
    read_study_file,
    show,
    study_schema,
)

HEADER = yaml.safe_dump(minimal_study(id="Bad2020"), sort_keys=False).encode()
FILE = "fibromyalgia/Bad2020.yaml"


def run_validate(tmp_path: Path, capsys) -> tuple[int, list[str], str]:
    code = main(["validate", str(tmp_path)])
    captured = capsys.readouterr()
    err = [line.replace(f"{tmp_path}/", "") for line in captured.err.splitlines()]
    return code, err, captured.out


def hostile(tmp_path: Path, content: bytes, name: str = "Bad2020") -> Path:
    write(tmp_path, minimal_study())  # a valid neighbour
    path = tmp_path / "fibromyalgia" / f"{name}.yaml"
    path.write_bytes(content)
    return path


def assert_one_problem(tmp_path, capsys, expected: str, files: int = 2) -> None:
    code, err, out = run_validate(tmp_path, capsys)
    assert code == 1
    assert err == [expected, f"1 problem(s) in 1 of {files} file(s)"]
    assert out == ""
    assert all(len(line) < 300 for line in err)


def alias_bomb() -> bytes:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return HEADER + ("\n".join(lines) + "\n").encode()


def test_alias_bomb_is_refused_at_the_first_anchor(tmp_path, capsys):
    content = alias_bomb()
    assert len(content) < 3000
    line = HEADER.count(b"\n") + 1
    hostile(tmp_path, content)
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line {line}, column 5: anchor &l0 is not "
        "supported (expected every value written out in full, without &anchors and *aliases)",
    )


def test_an_alias_alone_is_refused(tmp_path, capsys):
    hostile(tmp_path, HEADER + b"notes: *elsewhere\n")
    line = HEADER.count(b"\n") + 1
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line {line}, column 8: alias *elsewhere is not "
        "supported (expected every value written out in full, without &anchors and *aliases)",
    )


def test_merge_keys_are_refused(tmp_path, capsys):
    hostile(tmp_path, HEADER + b"dose:\n  <<: {mg_per_day: 4.5}\n")
    line = HEADER.count(b"\n") + 2
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line {line}, column 3: merge keys (<<) are not "
        "supported (expected every field written out in full)",
    )


@pytest.mark.parametrize(
    ("content", "column"),
    [
        # libyaml looks ahead along a flow collection and stops at its own bound first
        (b"notes: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", 7 + (1000 if CParser else MAX_DEPTH)),
        (b"notes: " + b"{a: " * 5_000 + b"1" + b"}" * 5_000 + b"\n", 4 + 4 * MAX_DEPTH),
    ],
    ids=["20000 brackets", "5000 braces"],
)
def test_deep_nesting_is_refused(tmp_path, capsys, content, column):
    hostile(tmp_path, content)
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line 1, column {column}: lists and mappings "
        f"nested more than {MAX_DEPTH} deep (expected the few levels of a study file)",
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (b"? [a, b]\n: 1\n", "a key is a list (expected a field name)"),
        (b"? {a: 1}\n: 1\n", "a key is a mapping (expected a field name)"),
        (
            b"2020: x\n",
            "the key 2020 is a whole number (expected a field name; put it in quotes if it is "
            "meant as text)",
        ),
        (
            b"true: x\n",
            "the key true is true/false (expected a field name; put it in quotes if it is "
            "meant as text)",
        ),
        (
            b"~: x\n",
            "a key is empty (expected a field name; put it in quotes if it is meant as text)",
        ),
    ],
    ids=["list", "mapping", "number", "boolean", "empty"],
)
def test_keys_must_be_field_names(tmp_path, capsys, key, problem):
    hostile(tmp_path, key + HEADER)
    column = 3 if key.startswith(b"?") else 1
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line 1, column {column}: {problem}",
    )


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        (b"!!binary aGVsbG8=", "!!binary"),
        (b"!!python/object/apply:os.system ['true']", "!!python/object/apply:os.system"),
        (b"!custom x", "!custom"),
    ],
)
def test_tags_are_refused(tmp_path, capsys, value, tag):
    hostile(tmp_path, b"notes: " + value + b"\n" + HEADER.replace(b"\nnotes:", b"\nx:"))
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line 1, column 8: tag {tag} is not supported "
        "(expected plain values without YAML tags)",
    )


def test_a_second_document_is_refused(tmp_path, capsys):
    hostile(tmp_path, HEADER + b"---\nid: Other\n")
    line = HEADER.count(b"\n") + 1
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line {line}, column 1: a second document "
        "(expected one study per file, without ---)",
    )


def test_yaml_1_2_core_schema(tmp_path):
    text = (
        "a: 1e12\nb: 1.5E-3\nc: 0o17\nd: 0x1F\ne: yes\nf: on\ng: 2020-01-01\nh: 012\n"
        "i: 1:20\nj: .inf\nk: -.Inf\nl: True\nm: NULL\nn: '1e12'\n"
    )
    path = tmp_path / "x.yaml"
    path.write_text(text)
    data = read_study_file(path)
    assert data == {
        "a": 1e12,
        "b": 0.0015,
        "c": 15,
        "d": 31,
        "e": "yes",
        "f": "on",
        "g": "2020-01-01",
        "h": 12,
        "i": "1:20",
        "j": float("inf"),
        "k": float("-inf"),
        "l": True,
        "m": None,
        "n": "1e12",
    }
    assert type(data["a"]) is float and type(data["h"]) is int


def test_1e12_participants_is_a_number_and_refused_as_a_count(tmp_path, capsys):
    write(tmp_path, with_outcome_stats(n_ldn=1e12, mean_ldn=1e1))
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.n_ldn: 1000000000000.0 is a "
        "decimal number (expected a whole number or empty)",
        "1 problem(s) in 1 of 1 file(s)",
    ]


def test_a_whole_number_too_large_for_a_table(tmp_path, capsys):
    write(tmp_path, with_outcome_stats(mean_ldn=10**30))
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err[0] == (
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.mean_ldn: "
        "a whole number of about 31 digits is too large (expected at most 15 digits)"
    )


@pytest.mark.parametrize("value", [2**63 - 1, 2**53 + 1, 10**15])
def test_whole_numbers_past_15_digits_are_refused(tmp_path, capsys, value):
    # 2**63 - 1 in one row and a gap in another crashed ingest (float64 on the way to Int64)
    write(tmp_path, with_outcome_stats(n_ldn=value))
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err[0].endswith("is too large (expected at most 15 digits)")


def test_a_whole_number_of_15_digits_is_accepted(tmp_path, capsys):
    write(tmp_path, with_outcome_stats(n_ldn=10**15 - 1, n_ctl=10))
    code, _, _ = run_validate(tmp_path, capsys)
    assert code == 0


def test_a_number_of_thousands_of_digits(tmp_path, capsys):
    hostile(tmp_path, HEADER.replace(b"n_ldn: 49", b"n_ldn: " + b"9" * 5000))
    line = HEADER.split(b"n_ldn")[0].count(b"\n") + 1
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: unsupported YAML at line {line}, column 12: a whole number of "
        "5,000 digits (expected a number as the source prints it)",
    )


def test_messages_quote_only_an_excerpt(tmp_path, capsys):
    study = minimal_study(design="x" * 200_000, id="Y" * 1000)
    write(tmp_path, study)
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    record = "study " + "Y" * 40 + "... (1,000 characters)"
    assert err == [
        f"fibromyalgia/Test2020.yaml: {record}: design: " + repr("x" * 40) + "... (200,000 "
        "characters) is not an allowed value (expected one of the 7 values in "
        "docs/study-files.md)",
        f"fibromyalgia/Test2020.yaml: {record}: id: " + repr("Y" * 40) + "... (1,000 "
        "characters) does not match the file name (expected 'Test2020')",
        "2 problem(s) in 1 of 1 file(s)",
    ]


def test_a_file_too_large_is_not_read(tmp_path, capsys):
    hostile(tmp_path, HEADER + b"notes: " + b"x" * MAX_FILE_BYTES + b"\n")
    assert_one_problem(
        tmp_path,
        capsys,
        f"{FILE}: file: -: file of 257 KB is too large (expected a study file under 256 KB)",
    )


def test_problems_per_file_are_capped(tmp_path, capsys):
    study = minimal_study()
    study.update({f"unknown_{i:03d}": 1 for i in range(120)})
    write(tmp_path, study)
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert len(err) == 52
    assert err[-2] == (
        "fibromyalgia/Test2020.yaml: file: -: 70 more problem(s) not shown (expected at most "
        "50 per file: fix these first)"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["a", "b"], "a list of 2 item(s) (expected text or empty)"),
        ({"a": 1}, "a mapping of 1 field(s) (expected text or empty)"),
        (True, "true is true/false (expected text or empty)"),
        (3.5, "3.5 is a decimal number (expected text or empty)"),
    ],
)
def test_wrong_kinds_are_named_without_python_type_names(tmp_path, capsys, value, message):
    write(tmp_path, minimal_study(title=value))
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err[0] == f"fibromyalgia/Test2020.yaml: study Test2020: title: {message}"


def test_a_required_field_left_empty(tmp_path, capsys):
    study = minimal_study()
    study["source"]["url"] = None
    write(tmp_path, study)
    _, err, _ = run_validate(tmp_path, capsys)
    assert err[0] == (
        "fibromyalgia/Test2020.yaml: study Test2020: source.url: an empty value (expected text)"
    )


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", "www.example.org", "https://a b", ""],
)
def test_a_source_that_is_not_a_web_address(tmp_path, capsys, url):
    study = minimal_study()
    study["source"]["url"] = url
    write(tmp_path, study)
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err[0] == (
        f"fibromyalgia/Test2020.yaml: study Test2020: source.url: {show(url)} has the wrong form"
        " (expected a web address starting with https:// or http://)"
    )


def test_an_outcome_id_with_a_final_newline_is_refused(tmp_path, capsys):
    # "any_adverse_event\n" passed the id pattern (Python's $ matches before a final newline)
    # and silently dropped a study from its analysis
    study = minimal_study()
    study["outcomes"][0]["id"] = "pain\n"
    study["source"]["url"] = "https://example.org/a\n"
    write(tmp_path, study)
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err == [
        "fibromyalgia/Test2020.yaml: outcome 'pain\\n': id: 'pain\\n' has the wrong form "
        "(expected lower-case letters, digits and _, starting with a letter)",
        "fibromyalgia/Test2020.yaml: study Test2020: source.url: 'https://example.org/a\\n' has "
        "the wrong form (expected a web address starting with https:// or http://)",
        "2 problem(s) in 1 of 1 file(s)",
    ]


def test_a_ratio_that_is_not_positive_is_refused(tmp_path, capsys):
    study = minimal_study()
    study["outcomes"][0]["reported_effect"] = {
        "type": "RR",
        "value": -2.0,
        "ci_low": -3.0,
        "ci_high": 0.0,
        "sign_convention": "ratio_ldn_over_comparator",
    }
    write(tmp_path, study)
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    assert err == [
        f"fibromyalgia/Test2020.yaml: outcome pain: reported_effect.{key}: {value} is not a "
        "ratio (expected a value > 0 for a ratio LDN/comparator)"
        for key, value in (("value", -2.0), ("ci_low", -3.0), ("ci_high", 0.0))
    ] + ["3 problem(s) in 1 of 1 file(s)"]


def test_not_a_regular_file(tmp_path, capsys):
    write(tmp_path, minimal_study())
    os.mkfifo(tmp_path / "fibromyalgia" / "Pipe2020.yaml")
    assert_one_problem(
        tmp_path,
        capsys,
        "fibromyalgia/Pipe2020.yaml: file: -: is not a regular file (expected a YAML text file)",
    )


def test_a_dangling_link_is_named(tmp_path, capsys):
    write(tmp_path, minimal_study())
    (tmp_path / "fibromyalgia" / "Gone2020.yaml").symlink_to("nowhere.yaml")
    assert_one_problem(
        tmp_path,
        capsys,
        "fibromyalgia/Gone2020.yaml: file: -: dangling symbolic link to nowhere.yaml, which "
        "does not exist (expected a study file, or remove the link)",
    )


# ---- a per-outcome n larger than the study's sample size -------------------------------------


def test_n_larger_than_the_arm_size(tmp_path, capsys):
    study = with_outcome_stats(n_ldn=60)
    study["sample_size"] = {"randomized": 120, "ldn": 50, "control": 50}
    write(tmp_path, study)
    _, err, _ = run_validate(tmp_path, capsys)
    assert err == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.n_ldn: 60 participants exceed "
        "the study's sample_size.ldn of 50 (expected at most 50)",
        "1 problem(s) in 1 of 1 file(s)",
    ]


def test_arms_together_larger_than_randomized(tmp_path, capsys):
    study = copy.deepcopy(with_outcome_stats(total_ldn=49, total_ctl=50, events_ldn=3))
    study["sample_size"] = {"randomized": 90}
    write(tmp_path, study)
    _, err, _ = run_validate(tmp_path, capsys)
    assert err == [
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.n_ctl: n_ldn + n_ctl = 99 exceed "
        "the study's sample_size.randomized of 90 (expected at most 90)",
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.total_ctl: total_ldn + total_ctl "
        "= 99 exceed the study's sample_size.randomized of 90 (expected at most 90)",
        "2 problem(s) in 1 of 1 file(s)",
    ]


def test_crossover_arms_are_the_same_people(tmp_path, capsys):
    study = with_outcome_stats(n_ldn=28, n_ctl=28)
    study.update(design="crossover_rct", sample_size={"randomized": 31, "analyzed": 20})
    write(tmp_path, study)
    assert run_validate(tmp_path, capsys)[0] == 0  # analyzed is no bound, arms not summed
    study["outcomes"][0]["statistics"]["n_ctl"] = 32
    write(tmp_path, study)
    _, err, _ = run_validate(tmp_path, capsys)
    assert err[0] == (
        "fibromyalgia/Test2020.yaml: outcome pain: statistics.n_ctl: 32 participants exceed "
        "the study's sample_size.randomized of 31 (expected at most 31)"
    )


# ---- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [
                "effects",
                "--studies",
                "missing.parquet",
                "--outcomes",
                "o.parquet",
                "--out-dir",
                "x",
            ],
            "ldn-evidence effects: error: --studies missing.parquet: no such file "
            "(expected an existing input file)",
        ),
        (
            ["import-curated", "missing.csv", "outcomes.csv"],
            "ldn-evidence import-curated: error: missing.csv: no such file "
            "(expected an existing input file)",
        ),
    ],
)
def test_a_missing_input_file_is_one_line(tmp_path, capsys, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [expected]
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_validate_of_a_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "Nope2020.yaml")]) == 1
    err = capsys.readouterr().err.replace(f"{tmp_path}/", "").splitlines()
    assert err == [
        "Nope2020.yaml: file: -: no such file (expected a study file)",
        "1 problem(s) in 1 of 1 file(s)",
    ]


BROKEN = [
    {"schema_version": 2},
    {"id": 5},
    {"id": "lower case"},
    {"condition": ["fibromyalgia"]},
    {"design": None},
    {"year": "2020"},
    {"year": 2020.5},
    {"co_interventions": "diet"},
    {"co_interventions": [1, [2]]},
    {"sample_size": {"randomized": 0, "ldn": 9.5}},
    {"dose": {"mg_per_day": float("inf")}},
    {"inclusion": {"status": "exclude"}},
    {"inclusion": {}},
    {"population_scope": "mixed_ibd"},
    {"source": {"url": ""}},
    {"source": "https://example.org"},
    {"outcomes": {"id": "pain"}},
    {"outcomes": [None, 1, "pain"]},
    {"unknown": 1, "Id": "Test2020"},
]


@pytest.mark.parametrize("change", BROKEN, ids=[str(c)[:40] for c in BROKEN])
def test_every_message_has_the_form_and_no_python_type_names(tmp_path, capsys, change):
    write(tmp_path, minimal_study(**change))
    code, err, _ = run_validate(tmp_path, capsys)
    assert code == 1
    *problems, summary = err
    assert problems and summary.endswith("file(s)")
    for line in problems:
        assert re.fullmatch(r"fibromyalgia/Test2020\.yaml: [^:]+: [^:]+: .+ \(expected .+\)", line)
        assert not re.search(r"\b(str|int|float|dict|NoneType|bool)\b", line), line
        assert len(line) < 250, line
    fields = [line.split(": ")[1:3] for line in problems]
    assert len(fields) == len({tuple(f) for f in fields})  # each field once


def test_a_key_in_the_wrong_letter_case_gets_a_suggestion(tmp_path, capsys):
    study = minimal_study()
    study["Design"] = study.pop("design")
    write(tmp_path, study)
    _, err, _ = run_validate(tmp_path, capsys)
    n_fields = len(study_schema()["properties"])
    assert err[:2] == [
        "fibromyalgia/Test2020.yaml: study Test2020: Design: unknown field (expected one of the "
        f"{n_fields} fields in docs/study-files.md; did you mean 'design'?)",
        "fibromyalgia/Test2020.yaml: study Test2020: design: missing required field "
        "(expected a value)",
    ]
