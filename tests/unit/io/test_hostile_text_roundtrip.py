"""Hostile text in a study file (markup, quotes, very long strings, right-to-left marks) comes
out intact in the tables, and escaped in the report (tests/report/test_report.py)."""

import pandas as pd
import yaml

from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.tables import outcomes_table, studies_table, write_table
from ldn_evidence.io.validate import validate_paths

HOSTILE = (
    '<script>alert("x")</script> & \'quotes\' "double" \u202eRTL\u202c, a comma; ' + "long " * 400
).strip()


def test_hostile_text_round_trips_through_the_tables(tmp_path):
    folder = tmp_path / "data" / "raw" / "fibromyalgia"
    folder.mkdir(parents=True)
    study = {
        "schema_version": 1,
        "id": "Hostile2001",
        "condition": "fibromyalgia",
        "title": HOSTILE,
        "design": "parallel_rct",
        "inclusion": {"status": "include"},
        "source": {"url": "https://example.org/h", "quote": HOSTILE},
        "outcomes": [
            {
                "id": "pain",
                "name": HOSTILE,
                "domain": "pain",
                "better_direction": "lower",
                "statistics": {"events_ldn": 3, "total_ldn": 10, "events_ctl": 5, "total_ctl": 10},
                "source": {"url": "https://example.org/h", "quote": HOSTILE},
            }
        ],
    }
    path = folder / "Hostile2001.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    issues, studies = validate_paths([path])
    assert not issues, issues
    items = [(path.as_posix(), s) for s in studies.values()]
    frames = {"studies": studies_table(items), "outcomes": outcomes_table(items)}
    frames["effects"] = derive_effects(frames["outcomes"], frames["studies"], EffectSettings())
    for name, frame in frames.items():
        write_table(frame, tmp_path / f"{name}.parquet", tmp_path / f"{name}.csv")
        parquet = pd.read_parquet(tmp_path / f"{name}.parquet")
        csv = pd.read_csv(tmp_path / f"{name}.csv", keep_default_na=False)
        column = {"studies": "title", "outcomes": "outcome", "effects": "outcome"}[name]
        assert parquet[column].iloc[0] == HOSTILE
        assert csv[column].iloc[0] == HOSTILE
    assert frames["effects"].source_quote.iloc[0] == HOSTILE
