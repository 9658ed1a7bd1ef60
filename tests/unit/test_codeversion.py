"""The code version a workflow rule carries: what it covers, and the facts kept between runs
never stand for content they were not read from."""

import json
import os
from pathlib import Path

import pytest

from ldn_evidence import codeversion
from ldn_evidence.codeversion import PackageCode


@pytest.fixture
def package(tmp_path) -> Path:
    root = tmp_path / "ldn_evidence"
    files = {
        "__init__.py": "",
        "cli.py": "import argparse\n",
        "jobclient.py": "import os\n",
        "a/__init__.py": "from ldn_evidence.b import thing\n",
        "a/inner.py": "from ..c import other\n",
        "b.py": "thing = 1\n",
        "c.py": "other = 2\n",
        "d.py": "from ldn_evidence import b, c\n",
        "lone.py": "x = 3\n",
        "schemas/s.json": "{}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def settled(monkeypatch):
    """Files count as settled at once (the tests write them just before reading)."""
    monkeypatch.setattr(codeversion, "_SETTLED_NS", -(10**12))


def _edit(path: Path, text: str, keep_times: bool = False) -> None:
    info = path.stat()
    path.write_text(text)
    if keep_times:  # the modification time set back, as some copy tools do
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_unit_covers_what_it_imports_and_the_shared_files(package):
    before = {u: PackageCode(package).version(u) for u in ("a", "d", "lone")}
    _edit(package / "c.py", "other = 22\n")  # imported by a (via a/inner) and by d
    after = {u: PackageCode(package).version(u) for u in ("a", "d", "lone")}
    assert after["a"] != before["a"] and after["d"] != before["d"]
    assert after["lone"] == before["lone"]
    for shared in ("cli.py", "jobclient.py", "schemas/s.json"):
        _edit(package / shared, (package / shared).read_text() + "\n")
        assert PackageCode(package).version("lone") != after["lone"], shared
        after["lone"] = PackageCode(package).version("lone")


def test_kept_facts_spare_reading_unchanged_files(package, tmp_path, settled, monkeypatch):
    kept = tmp_path / "kept.json"
    first = PackageCode(package, kept)
    versions = [first.version(u) for u in ("a", "d", "lone")]
    first.save()
    assert len(json.loads(kept.read_text())["files"]) == 10

    def no_reading(self):
        raise AssertionError(f"read {self}")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    again = PackageCode(package, kept)
    assert [again.version(u) for u in ("a", "d", "lone")] == versions


@pytest.mark.parametrize("keep_times", [False, True])
def test_a_changed_file_is_read_again_even_with_its_old_size_and_time(
    package, tmp_path, settled, keep_times
):
    kept = tmp_path / "kept.json"
    first = PackageCode(package, kept)
    before = first.version("a")
    first.save()
    _edit(package / "b.py", "thing = 9\n", keep_times=keep_times)  # the same size
    assert PackageCode(package, kept).version("a") != before
    assert PackageCode(package, kept).version("a") == PackageCode(package).version("a")


def test_files_written_moments_ago_are_not_kept(package, tmp_path):
    kept = tmp_path / "kept.json"
    code = PackageCode(package, kept)
    code.version("a")
    code.save()
    assert not kept.exists() or json.loads(kept.read_text())["files"] == {}


@pytest.mark.parametrize("content", ["", "{", "[]", '{"format": 1, "files": []}', '{"format": 0}'])
def test_an_unreadable_kept_file_is_ignored(package, tmp_path, settled, content):
    kept = tmp_path / "kept.json"
    kept.write_text(content)
    assert PackageCode(package, kept).version("a") == PackageCode(package).version("a")


def test_a_kept_fact_for_a_file_that_is_gone_is_dropped(package, tmp_path, settled):
    kept = tmp_path / "kept.json"
    code = PackageCode(package, kept)
    code.version("d")
    code.save()
    (package / "lone.py").unlink()
    (package / "new.py").write_text("y = 1\n")
    code = PackageCode(package, kept)
    code.version("new")
    code.save()
    files = json.loads(kept.read_text())["files"]
    assert "lone.py" not in files and "new.py" in files


def test_a_malformed_kept_fact_is_not_used(package, tmp_path, settled):
    kept = tmp_path / "kept.json"
    code = PackageCode(package, kept)
    expected = code.version("a")
    code.save()
    data = json.loads(kept.read_text())
    for name, fact in data["files"].items():
        data["files"][name] = [fact[0], 7, None]  # the right stamp, nonsense facts
    kept.write_text(json.dumps(data))
    assert PackageCode(package, kept).version("a") == expected


def test_a_package_imported_from_elsewhere_is_named(tmp_path):
    from ldn_evidence.codeversion import foreign_package_warning

    checkout = tmp_path / "checkout"
    (checkout / "src" / "ldn_evidence").mkdir(parents=True)
    other = tmp_path / "other" / "src" / "ldn_evidence"
    other.mkdir(parents=True)
    warning = foreign_package_warning(other, checkout)
    assert warning is not None
    assert str(other) in warning and str(checkout / "src" / "ldn_evidence") in warning
    assert foreign_package_warning(checkout / "src" / "ldn_evidence", checkout) is None
    # a linked path to the same source is the same source
    (tmp_path / "link").symlink_to(checkout)
    assert foreign_package_warning(tmp_path / "link" / "src" / "ldn_evidence", checkout) is None
    # a project without its own source (a workflow-only copy) uses whatever is installed
    assert foreign_package_warning(other, tmp_path / "bare") is None
