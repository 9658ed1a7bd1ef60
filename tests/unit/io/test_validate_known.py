"""Validation that skips the files already found valid (the workflow's gate before a run):
the same problems as a full validation, whatever changed since the files were last checked."""

import json
import shutil
from pathlib import Path

import pytest
from tests.unit.io.test_validate import minimal_study, with_outcome_stats, write

from ldn_evidence.io import validate as validation
from ldn_evidence.io.validate import validate_paths, validate_paths_known


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files parsed (and so validated) by the calls that follow, by name."""
    names: list[str] = []
    real = validation.parse_study_text

    def counting(raw, path):
        names.append(Path(path).name)
        return real(raw, path)

    monkeypatch.setattr(validation, "parse_study_text", counting)
    return names


def corpus(root: Path) -> None:
    """Two valid files, an invalid one, an unreadable one and two with one study id."""
    write(root, minimal_study(id="Good2020"), name="Good2020")
    fine = minimal_study(id="Fine2021", condition="long_covid")
    write(root, fine, name="Fine2021", condition="long_covid")
    write(root, with_outcome_stats(sd_ldn=-1.0) | {"id": "Bad2022"}, name="Bad2022")
    (root / "fibromyalgia" / "Broken2023.yaml").write_bytes(b"id: [x\n")
    write(root, minimal_study(id="Twin2024"), name="Twin2024")
    twin = minimal_study(id="Twin2024", condition="crohns_disease")
    write(root, twin, name="Twin2024", condition="crohns_disease")


def full(root: Path) -> list[str]:
    return [str(issue) for issue in validate_paths([root])[0]]


def known(root: Path, kept: Path) -> list[str]:
    return [str(issue) for issue in validate_paths_known([root], kept)[0]]


def test_the_same_problems_first_and_again_and_only_changed_files_are_parsed(tmp_path, parsed):
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    corpus(root)
    expected = full(root)
    assert len(expected) == 3, expected  # the invalid, the unreadable, the repeated id
    parsed.clear()
    assert known(root, kept) == expected
    assert len(parsed) == 6  # every file
    parsed.clear()
    assert known(root, kept) == expected
    assert sorted(parsed) == ["Bad2022.yaml", "Broken2023.yaml"]  # only the invalid, again
    assert sorted(json.loads(kept.read_text())["valid"]) == sorted(
        str(p)
        for p in (
            root / "fibromyalgia/Good2020.yaml",
            root / "long_covid/Fine2021.yaml",
            root / "fibromyalgia/Twin2024.yaml",
            root / "crohns_disease/Twin2024.yaml",  # valid itself: the clash is rechecked
        )
    )


def test_a_valid_file_made_invalid_is_reported(tmp_path):
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    path = write(root, minimal_study())
    assert known(root, kept) == []
    write(root, with_outcome_stats(sd_ldn=-1.0))  # same size or not, same times or not
    assert known(root, kept) == full(root) != []
    path.write_text(path.read_text().replace("sd_ldn: -1.0", "sd_ldn: 1.0"))
    assert known(root, kept) == []


def test_a_new_file_with_a_known_files_id_is_reported(tmp_path):
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    write(root, minimal_study())
    assert known(root, kept) == []
    write(root, minimal_study(), condition="long_covid")
    assert known(root, kept) == full(root)
    assert any("is also the id of" in line for line in known(root, kept))


def test_a_known_file_moved_is_validated_at_its_new_place(tmp_path):
    """The path decides some rules (the condition folder), so a file is known by path too."""
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    write(root, minimal_study())
    assert known(root, kept) == []
    (root / "long_covid").mkdir()
    shutil.move(root / "fibromyalgia/Test2020.yaml", root / "long_covid/Test2020.yaml")
    assert known(root, kept) == full(root) != []


def test_other_validation_code_validates_everything_again(tmp_path, parsed, monkeypatch):
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    write(root, minimal_study())
    known(root, kept)
    monkeypatch.setattr(validation, "_validation_code_version", lambda: "other code")
    parsed.clear()
    assert known(root, kept) == []
    assert parsed == ["Test2020.yaml"]
    assert json.loads(kept.read_text())["version"] == "other code"


def test_the_version_follows_the_validation_code_and_schemas():
    version = validation._validation_code_version()
    assert version.startswith("ldn_evidence code ") and version == (
        validation._validation_code_version()
    )


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"format": 1}',
        '{"format": 2, "version": "%s", "valid": {}}',
        '{"format": 1, "version": "%s", "valid": {"%s": "not a list"}}',
        '{"format": 1, "version": "%s", "valid": {"%s": [1, 2]}}',
        '{"format": 1, "version": "%s", "valid": {"%s": ["nonsense", "Test2020"]}}',
    ],
)
def test_a_damaged_or_foreign_list_is_ignored_and_replaced(tmp_path, parsed, content):
    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    path = write(root, with_outcome_stats(sd_ldn=-1.0))
    version = validation._validation_code_version()
    kept.write_text(content.replace("%s", version, 1).replace("%s", str(path)))
    parsed.clear()
    assert known(root, kept) == full(root) != []
    assert parsed == ["Test2020.yaml"]
    assert json.loads(kept.read_text())["valid"] == {}


def test_a_list_that_cannot_be_written_only_costs_time(tmp_path):
    root = tmp_path / "raw"
    write(root, minimal_study())
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert known(root, blocker / "kept.json") == []  # its folder would be a file


def test_cli_validate_known_valid_says_what_the_full_check_says(tmp_path, capsys):
    from ldn_evidence.cli import main

    root, kept = tmp_path / "raw", tmp_path / "kept.json"
    corpus(root)
    assert main(["validate", str(root)]) == 1
    expected = capsys.readouterr()
    for _ in range(2):
        assert main(["validate", str(root), "--known-valid", str(kept)]) == 1
        assert capsys.readouterr() == expected
    shutil.rmtree(root)
    write(root, minimal_study())
    assert main(["validate", str(root), "--known-valid", str(kept)]) == 0
    assert capsys.readouterr().out == "1 study file(s) valid\n"
    assert main(["validate", str(root), "--known-valid", str(kept)]) == 0
    assert capsys.readouterr().out == "1 study file(s) valid\n"
