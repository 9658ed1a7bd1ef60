"""Reading study files: bytes -> text -> YAML -> mapping, with every failure named.

A study file is read in three steps, and each step that can fail says which file failed and
why in the words a person editing the file needs ("not valid UTF-8 at byte 12", "malformed
YAML at line 3, column 5"), never with a traceback.

The YAML reader is deliberately small, so that reading any file takes bounded time and memory
whatever it contains:

- the YAML 1.2 core schema (``1e12`` is a number; ``yes``, ``on``, ``2020-01-01`` and ``012``
  stay text or decimal, as YAML 1.2 reads them), not PyYAML's YAML 1.1 rules;
- no anchors or aliases (``&name``, ``*name``), no merge keys (``<<``), no tags (``!!binary``,
  ``!custom``): a study file writes every value out;
- keys are field names (text); a list, a number or ``true`` as a key is refused;
- at most :data:`MAX_DEPTH` nested lists or mappings and :data:`MAX_FILE_BYTES` bytes.

Messages quote at most a short excerpt of any value (:func:`show`).

This module imports only the standard library and PyYAML, so the workflow can use the cheap
layout checks (:func:`layout_issues`) when it parses, on every run.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, MappingEndEvent, NodeEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from . import yamltext

try:  # libyaml's scanner and parser, when PyYAML was built with it (the wheels are)
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover
    CParser = None

STUDY_FILE_SUFFIXES = (".yaml", ".yml")
#: A study file is a few kilobytes; anything larger is refused before it is parsed.
MAX_FILE_BYTES = 256 * 1024
#: Lists and mappings nested deeper than this are refused (a study file needs 5).
MAX_DEPTH = 20
#: Characters of a value quoted in a message.
EXCERPT_CHARS = 40
#: Digits of a whole number the reader accepts (a table cell holds at most 18).
_MAX_DIGITS = 100


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


# ---- values in messages ----------------------------------------------------------------------


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was when cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def show(value: Any) -> str:
    """A short, readable rendering of a value from a study file, for messages."""
    if isinstance(value, str):
        if len(value) <= EXCERPT_CHARS:
            return repr(value)
        return f"{value[:EXCERPT_CHARS]!r}... ({len(value):,} characters)"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"a whole number of about {int(value.bit_length() * 0.30103) + 1} digits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return f"a mapping of {len(value)} field(s)"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    return excerpt(str(value))


def kind(value: Any) -> str:
    """What a value is, in words a person editing a YAML file knows (no Python type names)."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a value of an unsupported kind"


# ---- the YAML reader --------------------------------------------------------------------------


class _Refused(Exception):
    """A YAML feature a study file may not use, with where it is and what to write instead."""

    def __init__(self, mark: yaml.Mark | None, problem: str, expected: str):
        super().__init__(problem)
        self.mark, self.problem, self.expected = mark, problem, expected


_TAG = "tag:yaml.org,2002:"
# YAML 1.2.2, section 10.3.2 (core schema): the tag resolution of plain scalars.
_CORE_RESOLVERS = (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+0123456789."),
    ),
)


_TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} deep"
_ALIASES = "every value written out in full, without &anchors and *aliases"


class _Rules(Composer, SafeConstructor, BaseResolver):
    """What a study file may contain (see the module's docstring), checked while composing.

    Everything is refused as soon as its event arrives, before the rest of the file is read.
    """

    yaml_implicit_resolvers: ClassVar[dict] = {}
    yaml_constructors: ClassVar[dict] = {}

    def _init_rules(self) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        BaseResolver.__init__(self)
        self._depth = 0

    # -- composing: no anchors, aliases or tags; bounded nesting; field names as keys ---------
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused(
                event.start_mark, f"alias *{excerpt(event.anchor)} is not supported", _ALIASES
            )
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise _Refused(
                event.start_mark, f"anchor &{excerpt(event.anchor)} is not supported", _ALIASES
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            tag = f"!!{tag.removeprefix(_TAG)}" if tag.startswith(_TAG) else tag
            raise _Refused(
                event.start_mark,
                f"tag {excerpt(tag)} is not supported",
                "plain values without YAML tags",
            )
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, _TOO_DEEP, "the few levels of a study file")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor):
        start = self.get_event()
        node = MappingNode(
            self.resolve(MappingNode, None, start.implicit),
            [],
            start.start_mark,
            None,
            flow_style=start.flow_style,
        )
        lines: dict[str, int] = {}
        while not self.check_event(MappingEndEvent):
            key_node = self.compose_node(node, None)
            key = self._field_name(key_node)
            if key in lines:
                raise _Refused(
                    key_node.start_mark,
                    f"duplicate key {show(key)} (first on line {lines[key]})",
                    "each field once",
                )
            lines[key] = key_node.start_mark.line + 1
            node.value.append((key_node, self.compose_node(node, key_node)))
        node.end_mark = self.get_event().end_mark
        return node

    def _field_name(self, key_node: yaml.Node) -> str:
        if not isinstance(key_node, ScalarNode):
            what = "a list" if isinstance(key_node, SequenceNode) else "a mapping"
            raise _Refused(key_node.start_mark, f"a key is {what}", "a field name")
        if key_node.tag != f"{_TAG}str":
            key = self.construct_object(key_node)
            raise _Refused(
                key_node.start_mark,
                "a key is empty" if key is None else f"the key {show(key)} is {kind(key)}",
                "a field name; put it in quotes if it is meant as text",
            )
        if key_node.value == "<<" and not key_node.style:  # plain: None, or '' from libyaml
            raise _Refused(
                key_node.start_mark,
                "merge keys (<<) are not supported",
                "every field written out in full",
            )
        return key_node.value

    # -- constructing: the YAML 1.2 core schema -----------------------------------------------
    def construct_mapping(self, node, deep=False):
        return {
            key_node.value: self.construct_object(value_node, deep=deep)
            for key_node, value_node in node.value
        }

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        digits = text.lstrip("+-")
        if len(digits) > _MAX_DIGITS:
            raise _Refused(
                node.start_mark,
                f"a whole number of {len(digits):,} digits",
                "a number as the source prints it",
            )
        try:
            if digits.startswith("0o"):
                return int(digits[2:], 8)
            if digits.startswith("0x"):
                return int(digits[2:], 16)
            return int(text, 10)
        except ValueError:
            raise _Refused(
                node.start_mark, f"{show(text)} is not a whole number", "a whole number"
            ) from None

    def construct_yaml_float(self, node):
        text = self.construct_scalar(node)
        special = text.lower().lstrip("+")
        if special in (".inf", "-.inf", ".nan"):
            return float(special.replace(".", ""))
        try:
            return float(text)
        except ValueError:
            raise _Refused(node.start_mark, f"{show(text)} is not a number", "a number") from None

    def construct_yaml_bool(self, node):
        return self.construct_scalar(node).lower() == "true"


for _name, _pattern, _first in _CORE_RESOLVERS:
    _Rules.add_implicit_resolver(f"{_TAG}{_name}", re.compile(f"^(?:{_pattern})$"), _first)
for _name, _constructor in (
    ("null", SafeConstructor.construct_yaml_null),
    ("bool", _Rules.construct_yaml_bool),
    ("int", _Rules.construct_yaml_int),
    ("float", _Rules.construct_yaml_float),
    ("str", SafeConstructor.construct_yaml_str),
    ("seq", SafeConstructor.construct_yaml_seq),
    ("map", SafeConstructor.construct_yaml_map),
):
    _Rules.add_constructor(f"{_TAG}{_name}", _constructor)


if CParser is not None:

    class _StudyLoader(_Rules, CParser):
        """The rules on libyaml's scanner and parser (C, fast; its events drive the rules)."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            self._init_rules()

else:  # pragma: no cover - PyYAML built without libyaml

    class _StudyLoader(_Rules, Reader, Scanner, Parser):
        """The rules on PyYAML's pure-Python scanner and parser."""

        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            self._init_rules()

        def fetch_flow_collection_start(self, TokenClass):
            # bound [ and { before the scanner tracks each one (the top level is one level)
            if self.flow_level >= MAX_DEPTH - 1:
                raise _Refused(self.get_mark(), _TOO_DEEP, "the few levels of a study file")
            super().fetch_flow_collection_start(TokenClass)


def _file_issue(path: Path | str, message: str) -> StudyFileError:
    return StudyFileError(Issue(str(path), FILE_RECORD, WHOLE_FILE, message))


def _where(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _size(n_bytes: int) -> str:
    return f"{-(-n_bytes // 1024):,} KB" if n_bytes < 1024**2 else f"{n_bytes / 1024**2:,.1f} MB"


def _too_large(path: Path | str, n_bytes: int) -> StudyFileError:
    return _file_issue(
        path,
        f"file of {_size(n_bytes)} is too large "
        f"(expected a study file under {MAX_FILE_BYTES // 1024} KB)",
    )


def parse_study_text(raw: bytes, path: Path | str) -> dict[str, Any]:
    """Parse the bytes of one study file into a mapping.

    Raises
    ------
    StudyFileError
        For a file that is too large or binary, text that is not UTF-8, an empty file,
        malformed YAML, a YAML feature a study file may not use (see the module's docstring),
        or a top level that is not a mapping.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(path, len(raw))
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
    loader = _StudyLoader(text)
    try:
        data = loader.get_single_data()
    except _Refused as exc:
        raise _file_issue(
            path, f"unsupported YAML{_where(exc.mark)}: {exc.problem} (expected {exc.expected})"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own bound (1000 levels)
            raise _file_issue(
                path,
                f"unsupported YAML{_where(mark)}: {_TOO_DEEP} "
                "(expected the few levels of a study file)",
            ) from None
        if isinstance(exc, yaml.composer.ComposerError) and "another document" in str(exc.problem):
            raise _file_issue(
                path,
                f"unsupported YAML{_where(mark)}: a second document "
                "(expected one study per file, without ---)",
            ) from None
        problem = excerpt(exc.problem or exc.context or "cannot be parsed", 120)
        raise _file_issue(
            path, f"malformed YAML{_where(mark)}: {problem} (expected valid YAML)"
        ) from None
    except yaml.YAMLError as exc:
        raise _file_issue(
            path, f"malformed YAML: {excerpt(str(exc), 120)} (expected valid YAML)"
        ) from None
    except RecursionError:  # not expected with MAX_DEPTH, kept as a backstop
        raise _file_issue(
            path, "nested too deeply (expected the few levels of a study file)"
        ) from None
    finally:
        loader.dispose()
    if data is None:
        raise _file_issue(path, "empty file (expected a YAML mapping describing one study)")
    if not isinstance(data, dict):
        raise _file_issue(
            path, f"top level is {kind(data)} (expected a YAML mapping describing one study)"
        )
    return data


def read_study_file(path: Path | str) -> dict[str, Any]:
    """Read and parse one study file (see :func:`read_study_bytes`, :func:`parse_study_text`)."""
    return parse_study_text(read_study_bytes(path), path)


def read_study_bytes(path: Path | str) -> bytes:
    """The bytes of one study file, to parse with :func:`parse_study_text`.

    Only a regular file (or a symbolic link to one) is read, and never more than
    :data:`MAX_FILE_BYTES` of it.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise _file_issue(path, dangling_link_message(path)) from None
        raise _file_issue(path, "no such file (expected a study file)") from None
    except OSError as exc:
        raise _file_issue(path, f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise _file_issue(path, f"is {what} (expected a YAML text file)")
    if info.st_size > MAX_FILE_BYTES:
        raise _too_large(path, info.st_size)
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _file_issue(path, f"cannot be read: {exc.strerror}") from None


# ---- finding study files and checking where they are ------------------------------------------


def is_study_file_name(name: str) -> bool:
    """Whether a file name looks like a study file (``.yaml``/``.yml``, in any letter case)."""
    return os.path.splitext(name)[1].lower() in STUDY_FILE_SUFFIXES


def dangling_link_message(path: Path | str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return (
        f"dangling symbolic link to {excerpt(target, 80)}, which does not exist "
        "(expected a study file, or remove the link)"
    )


def is_editor_lock(entry: os.DirEntry) -> bool:
    """Whether a folder entry is an editor's lock on a file being edited: Emacs keeps a
    symbolic link ``.#<name>`` to ``user@host.pid``, which points nowhere, while a file is
    modified and unsaved."""
    return entry.name.startswith(".#") and entry.is_symlink()


def _walk_files(folder: Path) -> list[Path]:
    """Every non-folder entry under ``folder`` (dangling links included, editor locks left
    out: :func:`is_editor_lock`), following folder links once each, sorted."""
    found: list[Path] = []
    seen: set[str] = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        real = os.path.realpath(current)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if is_editor_lock(entry):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            (stack if is_dir else found).append(path)
    return sorted(found)


def find_study_files(paths: list[Path | str]) -> list[Path]:
    """Expand files and folders into the sorted list of study files they contain.

    Folders are searched recursively for ``*.yaml`` / ``*.yml`` (any letter case, dangling
    symbolic links included, so that they are reported); other files in them (a README, say)
    are ignored. A file named explicitly is always returned, whatever its suffix, so that the
    validator can say what is wrong with it.
    """
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(f for f in _walk_files(p) if is_study_file_name(f.name))
        else:
            found.add(p)
    return sorted(found)


def layout_issues(
    raw_dir: Path | str, conditions: list[str] | tuple[str, ...], known: tuple[str, ...]
) -> tuple[list[Issue], list[str]]:
    """Where the study files under ``raw_dir`` are, checked without reading them.

    Cheap enough to run whenever the workflow is parsed (a directory walk, no parsing). A
    study file belongs at ``raw_dir/<condition>/<id>.yaml`` (or ``.yml``) with ``<condition>``
    one of ``conditions`` (the configured ones).

    Returns
    -------
    issues
        A study file directly in ``raw_dir``, in a folder that is not a condition, in a
        subfolder of a condition folder, or with an upper-case suffix; a dangling symbolic
        link (any name); two files with one study id (the file name without its suffix),
        anywhere under ``raw_dir``, ``.yaml`` beside ``.yml`` included.
    notes
        Condition folders (of ``known`` conditions) that are not configured, so not analysed.
    """
    raw_dir = Path(raw_dir)
    issues: list[Issue] = []
    by_id: dict[str, list[tuple[bool, Path]]] = {}
    unconfigured: dict[str, int] = {}
    where = f"{raw_dir.as_posix()}/<condition>/"
    choices = ", ".join(conditions)
    for path in _walk_files(raw_dir):
        shown = path.as_posix()
        if path.is_symlink() and not path.exists():
            issues.append(Issue(shown, FILE_RECORD, WHOLE_FILE, dangling_link_message(path)))
            continue
        if not is_study_file_name(path.name):
            continue
        parts = path.relative_to(raw_dir).parts
        problem = None
        if len(parts) == 1:
            problem = f"study file directly in {raw_dir.as_posix()}/"
        elif parts[0] not in conditions and parts[0] not in known:
            problem = f"folder {show(parts[0])} is not a condition"
        elif len(parts) > 2:
            problem = f"study file in a subfolder of {raw_dir.as_posix()}/{parts[0]}/"
        elif path.suffix not in STUDY_FILE_SUFFIXES:
            issues.append(
                Issue(
                    shown,
                    FILE_RECORD,
                    WHOLE_FILE,
                    f"suffix {show(path.suffix)} (expected .yaml or .yml, in lower case)",
                )
            )
        elif parts[0] not in conditions:
            unconfigured[parts[0]] = unconfigured.get(parts[0], 0) + 1
        if problem:
            message = f"{problem} (expected {where} with one of: {choices})"
            issues.append(Issue(shown, FILE_RECORD, WHOLE_FILE, message))
        # A file in its place is the one the others are reported against.
        by_id.setdefault(os.path.splitext(path.name)[0], []).append((problem is not None, path))
    for study_id, entries in sorted(by_id.items()):
        files = [path for _, path in sorted(entries)]
        for later in files[1:]:
            issues.append(
                Issue(
                    later.as_posix(),
                    FILE_RECORD,
                    WHOLE_FILE,
                    f"study id {show(study_id)} is also used by {files[0].as_posix()} "
                    f"(expected one file per study id under {raw_dir.as_posix()}/)",
                )
            )
    notes = [
        f"{raw_dir.as_posix()}/{folder}/: {n} study file(s) not analysed "
        f"({folder} is not in 'conditions' of config/config.yaml)"
        for folder, n in sorted(unconfigured.items())
    ]
    return sorted(issues), notes


@functools.cache
def study_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a study file, shipped with the package."""
    text = resources.files("ldn_evidence").joinpath("schemas/study.schema.yaml").read_text()
    return yamltext.safe_load(text)
