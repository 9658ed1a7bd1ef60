"""Content hashes of the package code a workflow rule runs: the rule's ``code`` parameter.

Snakemake re-runs a job whose parameters changed, but it does not follow the Python a shell
command imports; so each rule carries a hash of the parts of this package its command runs
(``workflow/rules/common.smk``), and a change to them re-runs the rule. The hashes are
computed on every run, a run with nothing to do included, so a file's facts (its content
hash and the package units it imports) are kept between runs, under the file's size, change
time, modification time and inode: any write to a file changes its change time, which no
tool can set back, so a kept fact is never that of other content. Imported only by the
workflow (light: hashlib, json, re).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from pathlib import Path

# Imports of another part of the package: ldn_evidence.X, ..X (from a subpackage), and
# "from ldn_evidence import X, Y".
_PACKAGE_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:ldn_evidence\.|\.\.)(\w+)", re.MULTILINE)
_PACKAGE_IMPORT_NAMES = re.compile(r"^\s*from\s+ldn_evidence\s+import\s+([\w ,]+)$", re.MULTILINE)

#: The entry points every command goes through: ``jobserver`` is the process a workflow job
#: runs in, ``jobclient`` how the command hands itself to it.
SHARED = ("__init__.py", "__main__.py", "cli.py", "jobclient.py", "jobserver.py")

_FORMAT = 1  # of the kept facts; another format is ignored
_SETTLED_NS = 3_000_000_000


def _well_formed(fact: object) -> bool:
    """A kept fact as :meth:`PackageCode._fact` writes it: [stamp, hash, imported units]."""
    return (
        isinstance(fact, list)
        and len(fact) == 3
        and isinstance(fact[1], str)
        and len(fact[1]) == 64
        and isinstance(fact[2], list)
        and all(isinstance(name, str) for name in fact[2])
    )


class PackageCode:
    """The code versions of one package source tree.

    Parameters
    ----------
    root : Path
        The package's folder (``src/ldn_evidence``).
    kept : Path, optional
        A JSON file for the facts of the files between runs (``.snakemake/...``); without
        one every file is read each time. An unreadable or foreign file is ignored.
    """

    def __init__(self, root: Path, kept: Path | None = None) -> None:
        self.root = Path(root)
        self._kept_path = kept
        self._kept = self._load(kept)
        self._facts: dict[str, list] = {}
        self._new = False
        self._units: dict[str | None, tuple[str, frozenset[str]]] = {}

    def version(self, *units: str) -> str:
        """A hash of the named subpackages or top-level modules (e.g. ``"effects"``), of every
        unit they import (followed through their imports) and of the shared entry points and
        data files (:data:`SHARED`, schemas): ``ldn_evidence code <16 hex digits>``."""
        names, todo = set(), list(units)
        while todo:
            name = todo.pop()
            if name not in names and (
                self._is_unit(self.root / name) or self._is_unit(self.root / f"{name}.py")
            ):
                names.add(name)
                todo += self._unit(name)[1]
        parts = [self._unit(None)[0], *(f"{n}:{self._unit(n)[0]}" for n in sorted(names))]
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
        return f"ldn_evidence code {digest[:16]}"

    def save(self) -> None:
        """Keep the facts of the files read so far for the next run (atomically; a folder that
        cannot be written only means reading every file again next time)."""
        if self._kept_path is None or not self._new:
            return
        facts = {**self._kept, **self._facts}
        facts = {name: fact for name, fact in facts.items() if (self.root / name).is_file()}
        text = json.dumps({"format": _FORMAT, "files": facts}, sort_keys=True)
        from .io.atomic import atomic_write_text

        with contextlib.suppress(OSError):
            atomic_write_text(self._kept_path, text)
        self._new = False

    @staticmethod
    def _load(kept: Path | None) -> dict[str, list]:
        if kept is None:
            return {}
        try:
            data = json.loads(kept.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    @staticmethod
    def _is_unit(path: Path) -> bool:
        """A subpackage or a top-level module (other than the shared entry points)."""
        if path.is_dir():
            return (path / "__init__.py").is_file()
        return path.suffix == ".py" and path.name not in SHARED

    def _files(self, folder: Path) -> list[Path]:
        """Files under ``folder``, sorted, without caches."""
        found = []
        for path in sorted(folder.iterdir()):
            if path.name != "__pycache__":
                found += self._files(path) if path.is_dir() else [path]
        return found

    def _fact(self, path: Path) -> tuple[str, list[str]]:
        """(content hash, imported units) of one file, from the kept facts when its stat
        says it is the same file with the same content."""
        name = path.relative_to(self.root).as_posix()
        info = path.stat()
        stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        kept = self._kept.get(name)
        if _well_formed(kept) and kept[0] == stamp:
            self._facts[name] = kept
            return kept[1], kept[2]
        content = path.read_bytes()
        imports: set[str] = set()
        if path.suffix == ".py":
            text = content.decode("utf-8")
            imports.update(_PACKAGE_IMPORT.findall(text))
            for found in _PACKAGE_IMPORT_NAMES.findall(text):
                imports.update(n.strip() for n in found.split(","))
        fact = [stamp, hashlib.sha256(content).hexdigest(), sorted(imports)]
        # A file written in the last seconds could be written again within the resolution of
        # its time stamps (coarse on some file systems) with the same size: its fact is not
        # kept (as git treats such "racily clean" files).
        if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > _SETTLED_NS:
            self._facts[name] = fact
            self._new = True
        return fact[1], fact[2]

    def _unit(self, name: str | None) -> tuple[str, frozenset[str]]:
        """(content hash, imported units) of one subpackage or top-level module (None: the
        shared entry points and data files)."""
        if name not in self._units:
            root = self.root
            if name is None:
                tops = [
                    p
                    for p in sorted(root.iterdir())
                    if p.name != "__pycache__" and not self._is_unit(p)
                ]
                files = [f for p in tops for f in (self._files(p) if p.is_dir() else [p])]
            else:
                files = (
                    self._files(root / name) if (root / name).is_dir() else [root / f"{name}.py"]
                )
            digest, imports = hashlib.sha256(), set()
            for path in files:
                content_hash, imported = self._fact(path)
                digest.update(f"{path.relative_to(root).as_posix()}\0{content_hash}\0".encode())
                imports.update(imported)
            self._units[name] = digest.hexdigest(), frozenset(imports)
        return self._units[name]


def foreign_package_warning(imported: Path, checkout: Path) -> str | None:
    """A warning when the jobs would import ``ldn_evidence`` from ``imported`` although the
    workflow's own checkout (``checkout``, its folder) has the package's source in ``src/``
    that is another copy: a second checkout or a project copy sharing a virtual environment
    whose editable install points elsewhere. The code versions follow what the jobs import, so
    the run is consistent, but it is not this checkout's code. None when they agree or the
    checkout has no source."""
    own = checkout / "src" / "ldn_evidence"
    if not own.is_dir() or own.resolve() == imported.resolve():
        return None
    return (
        f"Warning: the jobs import ldn_evidence from {imported}, not from this checkout's "
        f"{own}; they run that code. Install this checkout (pip install -e .) or put its src/ "
        "first on PYTHONPATH."
    )
