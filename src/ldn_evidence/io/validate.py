"""Validation of study files: the schema first, then the rules a schema cannot express.

Every problem in every file is collected before anything is reported, so one run shows all
of them. Each problem names the file, the record (the study or one of its outcomes) and the
field, and says what was expected.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from ldn_evidence import vocab
from ldn_evidence.io.atomic import atomic_write_text
from ldn_evidence.io.studyfile import (
    FILE_RECORD,
    WHOLE_FILE,
    Issue,
    StudyFileError,
    excerpt,
    find_study_files,
    kind,
    parse_study_text,
    read_study_bytes,
    read_study_file,
    show,
    study_schema,
)

__all__ = [
    "Issue",
    "config_problems",
    "validate_paths",
    "validate_paths_known",
    "validate_study",
]

#: Problems printed per file at most; the rest are counted in one line.
MAX_ISSUES_PER_FILE = 50
#: Schema errors looked at per file (each gives one problem or more).
_MAX_SCHEMA_ERRORS = MAX_ISSUES_PER_FILE + 1
#: Allowed values or fields are listed in a message only up to this many characters.
_MAX_LIST_CHARS = 120
#: The largest whole number accepted: 15 digits. A table column of whole numbers with a gap
#: passes through float64, which holds every whole number only up to 2**53 (16 digits), and a
#: 64-bit cell ends at 2**63 - 1: 9223372036854775807 in one row crashed the ingest stage.
_MAX_INT = 10**15 - 1
_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}
_MIXED_IBD = "mixed_ibd is only meaningful for crohns_disease (expected target_condition)"

_PCT_FIELDS = ("pct_ldn", "pct_ctl")
_SAMPLE_SIZE_FIELDS = ("n_ldn", "n_ctl", "total_ldn", "total_ctl")
_POSITIVE_SPREAD_PREFIXES = ("sd_", "se_", "iqr_", "plusminus_")
#: (lower, estimate, upper) triples in ``statistics`` that must be ordered.
_STATISTICS_CIS = (
    ("ci_low_change_ldn", "mean_change_ldn", "ci_high_change_ldn"),
    ("ci_low_change_ctl", "mean_change_ctl", "ci_high_change_ctl"),
)
_EVENT_PAIRS = (("events_ldn", "total_ldn"), ("events_ctl", "total_ctl"))
_ARMS = ("ldn", "ctl")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _suggest(word: Any, choices: Iterable[str]) -> str:
    if not isinstance(word, str) or len(word) > 64:
        return ""
    choices = list(choices)
    same_letters = [c for c in choices if c.lower() == word.lower()]
    close = same_letters or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Reporter:
    """Collects issues for one file, naming records as the study or one of its outcomes."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.file = str(path)
        self.data = data
        self.issues: list[Issue] = []
        self._seen: set[tuple[str, str]] = set()
        self.uncounted = False  # True when the schema check stopped early
        study_id = data.get("id")
        self.study_record = f"study {_name(study_id)}" if isinstance(study_id, str) else "study"

    def outcome_record(self, index: int) -> str:
        outcomes = self.data.get("outcomes")
        outcome = outcomes[index] if isinstance(outcomes, list) else None
        if isinstance(outcome, dict) and isinstance(outcome.get("id"), str):
            return f"outcome {_name(outcome['id'])}"
        return f"outcome #{index + 1}"

    def add(self, record: str, field: str, message: str) -> None:
        """Add a problem; only the first one found for a record's field is kept."""
        if (record, field) not in self._seen:
            self._seen.add((record, field))
            self.issues.append(Issue(self.file, record, field, message))

    def add_at(self, path: list[Any], message: str) -> None:
        """Add an issue at a path into the document (as jsonschema reports it)."""
        if len(path) >= 2 and path[0] == "outcomes" and isinstance(path[1], int):
            record, rest = self.outcome_record(path[1]), path[2:]
        else:
            record, rest = self.study_record, path
        field = ""
        for part in rest:
            part = part if isinstance(part, int) else excerpt(str(part))
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else part)
        self.add(record, field or "-", message)


def _one_of(allowed: list[str], what: str, word: Any, docs: str) -> str:
    """``one of: a, b, c`` when that is short, else a pointer to the documentation."""
    listed = ", ".join(allowed)
    if len(listed) > _MAX_LIST_CHARS:
        listed = f"one of the {len(allowed)} {what} in {docs}"
    else:
        listed = f"one of: {listed}"
    return listed + _suggest(word, allowed)


#: Schema patterns in words, for messages.
_PATTERN_WORDS = {
    "^https?://[^\\s]+$(?!\\n)": "a web address starting with https:// or http://",
    "^[a-z][a-z0-9_]*$(?!\\n)": "lower-case letters, digits and _, starting with a letter",
    "^[A-Za-z][A-Za-z0-9_]*$(?!\\n)": "letters, digits and _, starting with a letter",
}


def _name(text: str) -> str:
    """A record's id as a message names it: as written, or quoted with escapes when it holds
    a character that is not printable (a newline would break the message's line)."""
    return excerpt(text) if text.isprintable() else show(text)


def _schema_messages(
    error: ValidationError, docs: str = "docs/study-files.md"
) -> Iterator[tuple[list[Any], str]]:
    """Turn one jsonschema error into (path, message) pairs in the project's wording.

    ``docs`` is where a list of allowed values too long for one line is pointed to.
    """
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value, rule, instance = error.validator_value, error.validator, error.instance
    if rule == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(allowed), key=str):
            yield [*path, key], f"unknown field (expected {_one_of(allowed, 'fields', key, docs)})"
    elif rule == "required":
        for key in value:
            if key not in instance:
                yield [*path, key], "missing required field (expected a value)"
    elif rule == "enum":
        allowed = [str(v) for v in value if v is not None]
        yield (
            path,
            f"{show(instance)} is not an allowed value "
            f"(expected {_one_of(allowed, 'values', instance, docs)})",
        )
    elif rule == "type":
        expected = [value] if isinstance(value, str) else value
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in expected if t != "null")
        wanted += " or empty" if "null" in expected else ""
        if isinstance(instance, dict | list) or instance is None:
            yield path, f"{show(instance)} (expected {wanted})"
        else:
            yield path, f"{show(instance)} is {kind(instance)} (expected {wanted})"
    elif rule == "const":
        yield path, f"{show(instance)} is not supported (expected {value})"
    elif rule == "pattern":
        wanted = _PATTERN_WORDS.get(value, f"to match {value}")
        yield path, f"{show(instance)} has the wrong form (expected {wanted})"
    elif rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">"}.get(rule, "<")
        yield path, f"{show(instance)} is out of range (expected a value {sign} {value})"
    elif rule == "minLength":
        yield path, f"{show(instance)} is too short (expected at least {value} character(s))"
    elif rule == "minItems":
        yield path, f"{show(instance)} (expected at least {value} item(s))"
    elif rule == "uniqueItems":
        yield path, f"{show(instance)} has repeated items (expected each item once)"
    else:
        yield path, f"{excerpt(error.message, 80)} (expected to satisfy the rule {rule!r})"


def _is_whole_number(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


#: Draft 2020-12 except that a whole number must be written as one (``49``, not ``49.0`` or
#: ``1e12``): counts are never decimals, so a decimal there is a typing slip.
_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_whole_number),
)


@functools.cache
def _study_validator() -> Any:
    return _Validator(study_schema())


def config_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every problem of the workflow configuration, one line each, naming the key.

    Lines read ``config/config.yaml: KEY: message (expected ...)``.
    """
    lines = []
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        for path, message in _schema_messages(error, docs="config/README.md"):
            key = ".".join(str(p) for p in path) or "-"
            lines.append(f"config/config.yaml: {excerpt(key)}: {message}")
    return list(dict.fromkeys(lines))


def _check_schema(rep: _Reporter) -> None:
    # Errors come lazily: a file with thousands stops after enough to fill the report.
    errors = list(itertools.islice(_study_validator().iter_errors(rep.data), _MAX_SCHEMA_ERRORS))
    rep.uncounted = len(errors) == _MAX_SCHEMA_ERRORS
    for error in sorted(errors, key=lambda e: [str(p) for p in e.path]):
        for path, message in _schema_messages(error):
            rep.add_at(path, message)


def _check_numbers(rep: _Reporter, node: Any, path: list[Any], depth: int = 0) -> None:
    """Every number anywhere in the file is finite and fits a table cell."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(rep, value, [*path, key], depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_numbers(rep, value, [*path, index], depth + 1)
    elif isinstance(node, float) and not math.isfinite(node):
        rep.add_at(path, f"{node} is not a finite number (expected a number)")
    elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > _MAX_INT:
        rep.add_at(path, f"{show(node)} is too large (expected at most 15 digits)")


def _check_sample_sizes(rep: _Reporter, record: str, stats: dict[str, Any]) -> None:
    """Participants of one outcome within the study's sample sizes (randomized, per arm).

    ``sample_size.analyzed`` is no bound: a denominator may include those who dropped out.
    """
    sizes = rep.data.get("sample_size")
    if not isinstance(sizes, dict):
        return

    def count(mapping: dict[str, Any], key: str) -> int | None:
        value = mapping.get(key)
        return value if _is_number(value) and isinstance(value, int) else None

    randomized = count(sizes, "randomized")
    for arm, size_key in (("ldn", "ldn"), ("ctl", "control")):
        for key in (f"n_{arm}", f"total_{arm}"):
            n = count(stats, key)
            for bound_key in (size_key, "randomized"):
                bound = count(sizes, bound_key)
                if n is not None and bound is not None and 1 <= bound < n:
                    rep.add(
                        record,
                        f"statistics.{key}",
                        f"{n} participants exceed the study's sample_size.{bound_key} of "
                        f"{bound} (expected at most {bound})",
                    )
    if randomized is None or randomized < 1 or rep.data.get("design") in vocab.CROSSOVER_DESIGNS:
        return
    for prefix in ("n", "total"):
        n1, n2 = count(stats, f"{prefix}_ldn"), count(stats, f"{prefix}_ctl")
        if n1 is not None and n2 is not None and n1 + n2 > randomized:
            rep.add(
                record,
                f"statistics.{prefix}_ctl",
                f"{prefix}_ldn + {prefix}_ctl = {n1 + n2} exceed the study's "
                f"sample_size.randomized of {randomized} (expected at most {randomized})",
            )


def _check_statistics(rep: _Reporter, record: str, stats: dict[str, Any]) -> None:
    def num(key: str) -> float | None:
        value = stats.get(key)
        return value if _is_number(value) and math.isfinite(value) else None

    for key in _SAMPLE_SIZE_FIELDS:
        if (n := num(key)) is not None and n < 1:
            rep.add(record, f"statistics.{key}", f"{n} participants (expected n >= 1)")
    for key, value in stats.items():
        if key.startswith(_POSITIVE_SPREAD_PREFIXES) and (v := num(key)) is not None and v <= 0:
            rep.add(record, f"statistics.{key}", f"{value} is not positive (expected a value > 0)")
    for key in _PCT_FIELDS:
        if (pct := num(key)) is not None and not 0 <= pct <= 100:
            rep.add(record, f"statistics.{key}", f"{pct} is outside 0-100 (expected a percentage)")
    for events_key, total_key in _EVENT_PAIRS:
        events, total = num(events_key), num(total_key)
        if events is not None and events < 0:
            rep.add(record, f"statistics.{events_key}", f"{events} is negative (expected >= 0)")
        if events is not None and total is not None and events > total:
            rep.add(
                record,
                f"statistics.{events_key}",
                f"{events} events exceed the total of {total} (expected events <= {total_key})",
            )
    for low, est, high in _STATISTICS_CIS:
        _check_interval(
            rep, record, "statistics.", (low, num(low)), (est, num(est)), (high, num(high))
        )
    for arm in _ARMS:
        q1, med, q3 = num(f"q1_{arm}"), num(f"median_{arm}"), num(f"q3_{arm}")
        lo, hi = num(f"min_{arm}"), num(f"max_{arm}")
        order = [(f"min_{arm}", lo), (f"q1_{arm}", q1), (f"median_{arm}", med)]
        order += [(f"q3_{arm}", q3), (f"max_{arm}", hi)]
        given = [(k, v) for k, v in order if v is not None]
        for (k1, v1), (k2, v2) in itertools.pairwise(given):
            if v1 > v2:
                rep.add(
                    record, f"statistics.{k2}", f"{v2} is below {k1} = {v1} (expected {k1} <= {k2})"
                )


def _check_interval(rep, record, prefix, low, est, high) -> None:
    (low_key, lo), (est_key, e), (high_key, hi) = low, est, high
    if lo is not None and hi is not None and lo > hi:
        rep.add(
            record,
            f"{prefix}{low_key}",
            f"lower limit {lo} is above the upper limit {hi} (expected {low_key} <= {high_key})",
        )
    elif lo is not None and hi is not None and e is not None and not lo <= e <= hi:
        rep.add(
            record,
            f"{prefix}{est_key}",
            f"{e} lies outside its confidence interval [{lo}, {hi}] "
            "(expected the estimate within its CI)",
        )


def _check_outcome(rep: _Reporter, index: int, outcome: dict[str, Any]) -> None:
    record = rep.outcome_record(index)
    stats = outcome.get("statistics")
    if isinstance(stats, dict):
        _check_statistics(rep, record, stats)
        _check_sample_sizes(rep, record, stats)
    effect = outcome.get("reported_effect")
    if isinstance(effect, dict):

        def num(key: str) -> float | None:
            v = effect.get(key)
            return v if _is_number(v) and math.isfinite(v) else None

        _check_interval(
            rep,
            record,
            "reported_effect.",
            ("ci_low", num("ci_low")),
            ("value", num("value")),
            ("ci_high", num("ci_high")),
        )
        if effect.get("sign_convention") == "ratio_ldn_over_comparator":
            for key in ("value", "ci_low", "ci_high"):
                if (v := num(key)) is not None and v <= 0:
                    rep.add(
                        record,
                        f"reported_effect.{key}",
                        f"{v} is not a ratio (expected a value > 0 for a ratio LDN/comparator)",
                    )
    p = outcome.get("p_value")
    if isinstance(p, dict) and _is_number(p.get("value")) and math.isfinite(p["value"]):
        if not 0 < p["value"] <= 1:
            rep.add(record, "p_value.value", f"{p['value']} is not a p-value (expected 0 < p <= 1)")
    if (
        outcome.get("population_scope") == "mixed_ibd"
        and rep.data.get("condition") != "crohns_disease"
    ):
        rep.add(record, "population_scope", _MIXED_IBD)


def _check_semantics(rep: _Reporter, path: Path) -> None:
    data = rep.data
    study_id = data.get("id")
    if isinstance(study_id, str) and study_id != path.stem:
        rep.add(
            rep.study_record,
            "id",
            f"{show(study_id)} does not match the file name (expected {show(path.stem)})",
        )
    condition = data.get("condition")
    folder = path.parent.name
    if folder in vocab.CONDITIONS:
        if condition in vocab.CONDITIONS and condition != folder:
            rep.add(
                rep.study_record,
                "condition",
                f"{show(condition)} does not match the folder {folder!r} "
                f"(expected {folder!r}, or move the file to data/raw/{condition}/)",
            )
    else:
        rep.add(
            rep.study_record,
            "condition",
            f"the file is in folder {show(folder)}, not a condition folder "
            f"(expected data/raw/<condition>/ with one of: {', '.join(vocab.CONDITIONS)})",
        )
    if data.get("population_scope") == "mixed_ibd" and condition != "crohns_disease":
        rep.add(rep.study_record, "population_scope", _MIXED_IBD)
    sizes = data.get("sample_size")
    if isinstance(sizes, dict):
        for key, value in sizes.items():
            if _is_number(value) and value < 1:
                rep.add(
                    rep.study_record,
                    f"sample_size.{key}",
                    f"{value} participants (expected n >= 1)",
                )
    for block, key in (("dose", "mg_per_day"), ("duration", "weeks")):
        part = data.get(block)
        if isinstance(part, dict) and _is_number(part.get(key)) and not part[key] > 0:
            rep.add(
                rep.study_record, f"{block}.{key}", f"{part[key]} is not positive (expected > 0)"
            )
    inclusion = data.get("inclusion")
    if isinstance(inclusion, dict) and inclusion.get("status") == "exclude":
        if not inclusion.get("reason"):
            rep.add(
                rep.study_record,
                "inclusion.reason",
                "an excluded study needs a reason (expected the reason for excluding it)",
            )
    outcomes = data.get("outcomes")
    if isinstance(outcomes, list):
        seen: dict[str, int] = {}
        for index, outcome in enumerate(outcomes):
            if not isinstance(outcome, dict):
                continue
            oid = outcome.get("id")
            if isinstance(oid, str):
                if oid in seen:
                    rep.add(
                        rep.outcome_record(index),
                        "id",
                        f"duplicate outcome id {show(oid)} (also outcome #{seen[oid] + 1}; "
                        "expected ids unique within the study)",
                    )
                else:
                    seen[oid] = index
            _check_outcome(rep, index, outcome)


def validate_study(path: Path | str, data: dict[str, Any]) -> list[Issue]:
    """All problems in one parsed study file (schema and semantic rules).

    At most :data:`MAX_ISSUES_PER_FILE` of them, then one line that says how many more.
    """
    path = Path(path)
    rep = _Reporter(path, data)
    _check_schema(rep)
    _check_numbers(rep, data, [])
    _check_semantics(rep, path)
    if len(rep.issues) <= MAX_ISSUES_PER_FILE and not rep.uncounted:
        return rep.issues
    hidden = len(rep.issues) - MAX_ISSUES_PER_FILE
    more = "more problems" if rep.uncounted else f"{hidden} more problem(s)"
    return [
        *rep.issues[:MAX_ISSUES_PER_FILE],
        Issue(
            str(path),
            FILE_RECORD,
            WHOLE_FILE,
            f"{more} not shown (expected at most {MAX_ISSUES_PER_FILE} per file: fix these first)",
        ),
    ]


def validate_paths(
    paths: Iterable[Path | str],
) -> tuple[list[Issue], dict[Path, dict[str, Any]]]:
    """Validate every study file under ``paths`` and check ids are unique across them.

    Returns
    -------
    issues
        Every problem found, in file order, then field order.
    studies
        The parsed content of each file that could be read (valid or not), by path.
    """
    files = find_study_files(list(paths))
    issues: list[Issue] = []
    studies: dict[Path, dict[str, Any]] = {}
    first_file_of_id: dict[str, Path] = {}
    for path in files:
        try:
            data = read_study_file(path)
        except StudyFileError as exc:
            issues.append(exc.issue)
            continue
        studies[path] = data
        issues.extend(validate_study(path, data))
        issues.extend(_duplicate_id(path, data.get("id"), first_file_of_id))
    return issues, studies


def _duplicate_id(path: Path, study_id: Any, first_file_of_id: dict[str, Path]) -> list[Issue]:
    """The problem of a study id an earlier file already has (and the id noted if new)."""
    if not isinstance(study_id, str):
        return []
    if study_id not in first_file_of_id:
        first_file_of_id[study_id] = path
        return []
    return [
        Issue(
            str(path),
            f"study {_name(study_id)}",
            "id",
            f"{show(study_id)} is also the id of {first_file_of_id[study_id]} "
            "(expected study ids unique across all files)",
        )
    ]


_KNOWN_FORMAT = 1


def validate_paths_known(
    paths: Iterable[Path | str], known: Path | str
) -> tuple[list[Issue], list[Path]]:
    """The problems :func:`validate_paths` finds, with the files already found valid skipped.

    ``known`` (a JSON file; the workflow keeps it in ``.snakemake/``) lists, by path, the
    content hash (SHA-256) and study id of each file found valid, for one version of the
    validation code (the package's ``io`` code and what it imports, schemas included: see
    :mod:`ldn_evidence.codeversion`). A file whose path and bytes are listed is not parsed
    again; every other file is validated as :func:`validate_paths` would, and added when
    valid. Study ids are checked for uniqueness across all files every time. An unreadable,
    foreign or outdated ``known`` file is ignored and replaced; one that cannot be written
    only means validating every file again next time.

    Returns the problems and the study files found (the count of files checked).
    """
    known = Path(known)
    version = _validation_code_version()
    try:
        kept_text = known.read_text(encoding="utf-8")
    except (OSError, ValueError):
        kept_text = ""
    valid = _known_valid(kept_text, version)
    files = find_study_files(list(paths))
    issues: list[Issue] = []
    still_valid: dict[str, list[str]] = {}
    first_file_of_id: dict[str, Path] = {}
    for path in files:
        try:
            raw = read_study_bytes(path)
        except StudyFileError as exc:
            issues.append(exc.issue)
            continue
        digest = hashlib.sha256(raw).hexdigest()
        entry = valid.get(str(path))
        if entry is not None and entry[0] == digest:
            found, study_id = [], entry[1]
        else:
            try:
                data = parse_study_text(raw, path)
            except StudyFileError as exc:
                issues.append(exc.issue)
                continue
            found, study_id = validate_study(path, data), data.get("id")
        issues.extend(found)
        issues.extend(_duplicate_id(path, study_id, first_file_of_id))
        if not found and isinstance(study_id, str):
            still_valid[str(path)] = [digest, study_id]
    record = {"format": _KNOWN_FORMAT, "version": version, "valid": still_valid}
    text = json.dumps(record, sort_keys=True)
    if text != kept_text:
        with contextlib.suppress(OSError):
            known.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(known, text)
    return issues, files


def _validation_code_version() -> str:
    """A hash of the code and schemas that decide whether a study file is valid."""
    from ldn_evidence.codeversion import PackageCode

    return PackageCode(Path(__file__).resolve().parents[1]).version("io")


def _known_valid(text: str, version: str) -> dict[str, list[str]]:
    """The valid files a kept list records for this ``version`` ({} if none or unusable)."""
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    if not (
        isinstance(record, dict)
        and record.get("format") == _KNOWN_FORMAT
        and record.get("version") == version
        and isinstance(record.get("valid"), dict)
    ):
        return {}
    return {
        name: entry
        for name, entry in record["valid"].items()
        if isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(part, str) for part in entry)
    }
