"""Reading study files: bytes -> text -> YAML -> mapping, with every failure named.

A study file is read in three steps, and each step that can fail says which file failed and
why in the words a person editing the file needs ("not valid UTF-8 at byte 12", "malformed
YAML at line 3, column 5"), never with a traceback.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STUDY_FILE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, order=True)
class Issue:
    """One problem found in a study file, printed as ``FILE: RECORD: FIELD: message``."""

    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.field}: {self.message}"


#: Record and field names used for problems that concern the whole file.
FILE_RECORD = "file"
WHOLE_FILE = "-"


class StudyFileError(Exception):
    """A study file could not be read as a YAML mapping; ``issue`` says why."""

    def __init__(self, issue: Issue):
        super().__init__(str(issue))
        self.issue = issue


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first defined on line "
                f"{seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _file_issue(path: Path | str, message: str) -> StudyFileError:
    return StudyFileError(Issue(str(path), FILE_RECORD, WHOLE_FILE, message))


def parse_study_text(raw: bytes, path: Path | str) -> dict[str, Any]:
    """Parse the bytes of one study file into a mapping.

    Raises
    ------
    StudyFileError
        For a binary file, text that is not UTF-8, an empty file, malformed YAML, duplicate
        keys, or a top level that is not a mapping.
    """
    if b"\x00" in raw:
        raise _file_issue(path, "binary file (expected a UTF-8 text YAML file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _file_issue(
            path, f"not valid UTF-8 at byte {exc.start} (expected UTF-8 encoded text)"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _file_issue(path, "empty file (expected a YAML mapping describing one study)")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        raise _file_issue(path, f"malformed YAML{where}: {problem} (expected valid YAML)") from None
    except yaml.YAMLError as exc:
        raise _file_issue(path, f"malformed YAML: {exc} (expected valid YAML)") from None
    if data is None:
        raise _file_issue(path, "empty file (expected a YAML mapping describing one study)")
    if not isinstance(data, dict):
        raise _file_issue(
            path,
            f"top level is a {type(data).__name__} (expected a YAML mapping describing one study)",
        )
    return data


def read_study_file(path: Path | str) -> dict[str, Any]:
    """Read and parse one study file (see :func:`parse_study_text`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _file_issue(path, f"cannot be read: {exc.strerror}") from None
    return parse_study_text(raw, path)


def find_study_files(paths: list[Path | str]) -> list[Path]:
    """Expand files and folders into the sorted list of study files they contain.

    Folders are searched recursively for ``*.yaml`` / ``*.yml``; other files in them (a
    README, say) are ignored. A file named explicitly is always returned, whatever its suffix,
    so that the validator can say what is wrong with it.
    """
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and f.suffix in STUDY_FILE_SUFFIXES)
        else:
            found.add(p)
    return sorted(found)


@functools.cache
def study_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a study file, shipped with the package."""
    text = resources.files("ldn_evidence").joinpath("schemas/study.schema.yaml").read_text()
    return yaml.safe_load(text)
