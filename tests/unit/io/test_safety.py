"""Snapshots that survive a failed job, and truncated intermediates found before use."""

import json
import os

import pandas as pd

from ldn_evidence.io.safety import (
    drop_snapshot,
    is_truncated,
    remove_stale_figure_indexes,
    remove_truncated,
    restore_missing,
    snapshot,
)


def test_a_deleted_output_comes_back_with_its_old_content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "fm").mkdir(parents=True)
    good = tmp_path / "results" / "fm" / "analyses.csv"
    good.write_text("good\n")
    assert snapshot(["results"], ".backup") == 1
    # a job replaces the file (atomic rename), then Snakemake deletes it when the job fails
    fresh = tmp_path / "results" / "fm" / "tmp"
    fresh.write_text("half\n")
    os.replace(fresh, good)
    good.unlink()
    assert restore_missing(".backup") == [good.relative_to(tmp_path)]
    assert good.read_text() == "good\n"
    # dated before any input, so that the next run rebuilds it
    assert good.stat().st_mtime == 1
    drop_snapshot(".backup")
    assert not (tmp_path / ".backup").exists()


def test_files_that_still_exist_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.csv").write_text("old\n")
    snapshot(["results"], ".backup")
    (tmp_path / "results" / "b.csv").write_text("new\n")
    (tmp_path / "results" / "a.csv").unlink()
    (tmp_path / "results" / "a.csv").write_text("rebuilt\n")
    mtime = (tmp_path / "results" / "a.csv").stat().st_mtime_ns
    assert restore_missing(".backup") == []
    assert (tmp_path / "results" / "a.csv").read_text() == "rebuilt\n"
    assert (tmp_path / "results" / "a.csv").stat().st_mtime_ns == mtime


def test_truncated_parquet_and_png_are_found_and_removed(tmp_path):
    table = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(table)
    assert not is_truncated(table)
    data = table.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    assert is_truncated(cut)
    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20 + b"IEND\xaeB`\x82")
    assert not is_truncated(png)
    short = tmp_path / "g.png"
    short.write_bytes(png.read_bytes()[:-3])
    assert is_truncated(short)
    assert remove_truncated([tmp_path]) == [cut, short]
    assert table.exists() and png.exists() and not cut.exists()


def _figures(results, condition, files):
    folder = results / condition / "figures"
    folder.mkdir(parents=True)
    index = {"condition": condition, "figures": [{"name": "f", "files": files}]}
    (folder / "index.json").write_text(json.dumps(index))
    for name in files:
        (folder / name).write_bytes(b"x")
    return folder


def test_a_figure_index_listing_a_missing_figure_is_removed(tmp_path):
    results = tmp_path / "results"
    whole = _figures(results, "crohns_disease", ["a.png", "a.svg"])
    gap = _figures(results, "fibromyalgia", ["b.png", "b.svg"])
    (gap / "b.png").unlink()  # deleted, or removed as truncated
    broken = _figures(results, "long_covid", [])
    (broken / "index.json").write_text("{not json")
    assert remove_stale_figure_indexes(results) == [gap / "index.json", broken / "index.json"]
    assert (whole / "index.json").exists() and (gap / "b.svg").exists()
    assert remove_stale_figure_indexes(results) == []
    assert remove_stale_figure_indexes(tmp_path / "nowhere") == []
