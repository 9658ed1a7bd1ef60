"""No good result lost: keep the outputs of the last good run when a job fails, and find
truncated intermediate files before a stage reads them.

Snakemake deletes a job's existing outputs before it runs it and again when it fails, so a job
that fails past validation would cost the last good result. The workflow therefore hard-links
every file under the output folders into a snapshot at start (:func:`snapshot`; no data is
copied: our writers replace files by rename, so a snapshot keeps the old content), puts back
what a failed run deleted (:func:`restore_missing`), and drops the snapshot after a successful
run. A restored file must be rebuilt by the next run whatever made the job fail: Snakemake
records a failed job's new parameters, code and input checksums as if it had finished, so a
file put back as it was, after a failure that came with a new setting, would be taken for that
setting's result. So a restored file is dated :data:`RESTORED_MTIME`, older than any input, and
the workflow drops Snakemake's record of it (without a record, an older output is rebuilt).

Kept free of heavy imports: it runs when the workflow starts.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

#: Parquet files start and end with these four bytes (Apache Parquet format specification).
PARQUET_MAGIC = b"PAR1"
#: A PNG ends with its IEND chunk (PNG specification, section 11.2.5).
PNG_END = b"IEND\xaeB`\x82"


def snapshot(folders: Iterable[Path | str], backup: Path | str) -> int:
    """Hard-link every file under ``folders`` into ``backup`` (replacing an older snapshot).

    Returns the number of files kept. Falls back to copying where hard links are not
    possible (another file system).
    """
    backup = Path(backup)
    if backup.exists():
        shutil.rmtree(backup)
    count = 0
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            target = backup / path
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
            count += 1
    return count


#: The modification time (seconds since the epoch) of a file put back by
#: :func:`restore_missing`: older than any input, so Snakemake's modification-time rule
#: re-runs the job that writes it. Not 0: Snakemake 9 skips the rule for an output time of 0.
RESTORED_MTIME = 1


def restore_missing(backup: Path | str) -> list[Path]:
    """Put back every file of the snapshot that no longer exists, dated
    :data:`RESTORED_MTIME`; return what was restored."""
    backup = Path(backup)
    restored = []
    if not backup.is_dir():
        return restored
    for kept in sorted(backup.rglob("*")):
        if not kept.is_file():
            continue
        original = Path(*kept.relative_to(backup).parts)
        if original.exists():
            continue
        original.parent.mkdir(parents=True, exist_ok=True)
        os.replace(kept, original)
        os.utime(original, (RESTORED_MTIME, RESTORED_MTIME))
        restored.append(original)
    return restored


def drop_snapshot(backup: Path | str) -> None:
    shutil.rmtree(backup, ignore_errors=True)


def is_truncated(path: Path | str) -> bool:
    """Whether a Parquet or PNG file is cut short (checked by its format's end marker)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            handle.seek(max(0, size - 8))
            tail = handle.read(8)
    except OSError:
        return False
    if path.suffix == ".parquet":
        return size < 12 or head[:4] != PARQUET_MAGIC or tail[-4:] != PARQUET_MAGIC
    if path.suffix == ".png":
        return size < 16 or tail != PNG_END
    return False


def remove_truncated(folders: Iterable[Path | str]) -> list[Path]:
    """Delete truncated Parquet and PNG files under ``folders`` so the workflow rebuilds them
    instead of reading them; return what was removed."""
    removed = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".parquet", ".png") and path.is_file() and is_truncated(path):
                path.unlink()
                removed.append(path)
    return removed


def remove_stale_figure_indexes(results: Path | str) -> list[Path]:
    """Delete each ``<condition>/figures/index.json`` under ``results`` that lists a figure
    file that is missing (deleted, or removed by :func:`remove_truncated`), or that cannot be
    read; return what was removed.

    The figure files are not declared outputs of the figures rule (only its index is), so
    Snakemake would not redraw a missing one; without its index the rule runs again, and it
    redraws only the figures whose files are missing or changed.
    """
    removed = []
    for index in sorted(Path(results).glob("*/figures/index.json")):
        try:
            figures = json.loads(index.read_text(encoding="utf-8"))["figures"]
            listed = [name for figure in figures for name in figure["files"]]
        except (OSError, ValueError, KeyError, TypeError):
            listed = None
        if listed is None or not all((index.parent / name).is_file() for name in listed):
            index.unlink(missing_ok=True)
            removed.append(index)
    return removed
