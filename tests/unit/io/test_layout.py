"""Where study files are (the workflow's parse-time gate) and config messages, line by line."""

import os
from pathlib import Path

import pytest
import yaml

from ldn_evidence.io.studyfile import layout_issues
from ldn_evidence.io.validate import config_problems
from ldn_evidence.vocab import CONDITIONS

CONFIGURED = ["fibromyalgia", "long_covid"]
EXPECTED = (
    "(expected data/raw/<condition>/ with one of: fibromyalgia, long_covid)"  # configured only
)


@pytest.fixture
def raw(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for condition in CONFIGURED:
        Path("data/raw", condition).mkdir(parents=True)
    Path("data/raw/fibromyalgia/Bruun2024.yaml").write_text("id: Bruun2024\n")
    Path("data/raw/README.md").write_text("not a study file\n")
    return Path("data/raw")


def lines(raw: Path) -> tuple[list[str], list[str]]:
    issues, notes = layout_issues(raw, CONFIGURED, CONDITIONS)
    return [str(i) for i in issues], notes


def test_a_tidy_folder_has_no_problems(raw):
    assert lines(raw) == ([], [])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/raw/Stray2020.yaml", f"study file directly in data/raw/ {EXPECTED}"),
        ("data/raw/misc/Stray2020.yaml", f"folder 'misc' is not a condition {EXPECTED}"),
        (
            "data/raw/fibromyalgia/old/Stray2020.yml",
            f"study file in a subfolder of data/raw/fibromyalgia/ {EXPECTED}",
        ),
        (
            "data/raw/fibromyalgia/Stray2020.YAML",
            "suffix '.YAML' (expected .yaml or .yml, in lower case)",
        ),
    ],
)
def test_misplaced_study_files(raw, path, expected):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("id: Stray2020\n")
    assert lines(raw) == ([f"{path}: file: -: {expected}"], [])


def test_a_dangling_link_of_any_name(raw):
    os.symlink("../gone.txt", "data/raw/long_covid/notes.txt")
    assert lines(raw) == (
        [
            "data/raw/long_covid/notes.txt: file: -: dangling symbolic link to ../gone.txt, "
            "which does not exist (expected a study file, or remove the link)"
        ],
        [],
    )


def test_an_editors_lock_on_a_study_file_is_not_a_problem(raw):
    # Emacs, while Bruun2024.yaml has unsaved changes: a link to user@host.pid
    os.symlink("reviewer@laptop.4242:1764600000", "data/raw/fibromyalgia/.#Bruun2024.yaml")
    assert lines(raw) == ([], [])
    # any other dangling link still is
    os.symlink("gone.yaml", "data/raw/fibromyalgia/#Bruun2024.yaml")
    assert len(lines(raw)[0]) == 1


def test_yaml_beside_yml_and_one_id_in_two_folders(raw):
    Path("data/raw/fibromyalgia/Bruun2024.yml").write_text("id: Bruun2024\n")
    Path("data/raw/long_covid/Bruun2024.yaml").write_text("id: Bruun2024\n")
    assert lines(raw)[0] == [
        "data/raw/fibromyalgia/Bruun2024.yml: file: -: study id 'Bruun2024' is also used by "
        "data/raw/fibromyalgia/Bruun2024.yaml (expected one file per study id under data/raw/)",
        "data/raw/long_covid/Bruun2024.yaml: file: -: study id 'Bruun2024' is also used by "
        "data/raw/fibromyalgia/Bruun2024.yaml (expected one file per study id under data/raw/)",
    ]


def test_the_misplaced_copy_is_the_one_named(raw):
    Path("data/raw/Bruun2024.yaml").write_text("id: Bruun2024\n")
    assert lines(raw)[0] == [
        f"data/raw/Bruun2024.yaml: file: -: study file directly in data/raw/ {EXPECTED}",
        "data/raw/Bruun2024.yaml: file: -: study id 'Bruun2024' is also used by "
        "data/raw/fibromyalgia/Bruun2024.yaml (expected one file per study id under data/raw/)",
    ]


def test_a_condition_not_configured_is_a_note(raw):
    Path("data/raw/crohns_disease").mkdir()
    Path("data/raw/crohns_disease/Smith2007.yaml").write_text("id: Smith2007\n")
    assert lines(raw) == (
        [],
        [
            "data/raw/crohns_disease/: 1 study file(s) not analysed (crohns_disease is not in "
            "'conditions' of config/config.yaml)"
        ],
    )


def test_a_folder_link_loop_ends(raw):
    os.symlink("..", "data/raw/fibromyalgia/loop")
    assert lines(raw) == ([], [])


def test_config_problems_name_the_file_and_the_key(project_root):
    schema = yaml.safe_load((project_root / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((project_root / "config/config.yaml").read_text())
    config["effects"]["crossover_correlation"] = 1.5
    config["effects"]["binary_measure"] = "HR"
    config["conditon"] = ["fibromyalgia"]
    top = ", ".join(sorted(schema["properties"]))
    assert config_problems(config, schema) == [
        f"config/config.yaml: conditon: unknown field (expected one of: {top}; "
        "did you mean 'conditions'?)",
        "config/config.yaml: effects.binary_measure: 'HR' is not an allowed value (expected "
        "one of: RR, OR, RD)",
        "config/config.yaml: effects.crossover_correlation: 1.5 is out of range (expected a "
        "value < 1)",
    ]
