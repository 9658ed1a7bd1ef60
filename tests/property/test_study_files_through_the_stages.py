"""One contract between validation and the stages: every study file ``validate`` accepts runs
through ingest and effects (and, beside the bundled studies, every later stage) without an
exception, and every effect row with a tier A-E has a
finite ``yi`` and ``vi > 0`` (anything else is tier F with its reason).

Study files are generated with hypothesis (150 derandomized examples here; 1,500 random ones
found nothing more), edge values included (arms of one person, SDs of
1e-300 and 1e308, p = 1, zero-width CIs, zero and all events, huge n).
"""

import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from tests.pipeline import PROJECT_ROOT as ROOT
from tests.pipeline import condition_commands, report_command

from ldn_evidence import vocab
from ldn_evidence.cli import main
from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.io.tables import outcomes_table, studies_table
from ldn_evidence.io.validate import validate_paths

positive = st.one_of(
    st.sampled_from([1e-300, 1e-12, 0.5, 1.0, 3.7, 1e6, 1e308]),
    st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
)
value = st.one_of(
    st.sampled_from([0.0, -0.0, 1e-300, -1e300, 1e300]),
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False),
)
count = st.one_of(st.sampled_from([1, 2, 3, 10**12]), st.integers(min_value=1, max_value=500))


@st.composite
def statistics(draw):
    out = {}
    for arm in ("ldn", "ctl"):
        if draw(st.booleans()):
            out[f"n_{arm}"] = draw(count)
        if draw(st.booleans()):
            out[f"mean_{arm}"] = draw(value)
            out[f"sd_{arm}"] = draw(positive)
        if draw(st.booleans()):
            out[f"mean_change_{arm}"] = draw(value)
            if draw(st.booleans()):
                out[f"se_change_{arm}"] = draw(positive)
        if draw(st.booleans()):
            total = draw(count)
            out[f"total_{arm}"] = total
            out[f"events_{arm}"] = draw(st.integers(min_value=0, max_value=min(total, 10**6)))
        if draw(st.booleans()):
            out[f"pct_{arm}"] = draw(st.sampled_from([0, 0.5, 11, 32, 45.5, 100]))
    if draw(st.booleans()):
        out["mean_baseline_ldn"] = draw(value)
        out["sd_baseline_ldn"] = draw(positive)
    return out


@st.composite
def outcome(draw, index):
    record = {
        "id": f"o{index}",
        "name": f"outcome {index}",
        "domain": draw(st.sampled_from(vocab.DOMAINS)),
        "better_direction": draw(st.sampled_from(vocab.BETTER_DIRECTIONS)),
        "source": {"url": "https://example.org/generated", "quote": "generated"},
        "statistics": draw(statistics()),
    }
    if draw(st.booleans()):
        v = draw(value)
        width = draw(st.sampled_from([0.0, 0.1, 2.0, 1e3]))
        record["reported_effect"] = {
            "type": draw(
                st.sampled_from(["MD (between-group)", "adjusted MD", "median difference"])
            ),
            "value": v,
            "ci_low": v - width,
            "ci_high": v + width,
            "sign_convention": "ldn_minus_comparator",
            **({"adjustment": "adjusted"} if draw(st.booleans()) else {}),
        }
        if draw(st.booleans()):
            record["reported_effect"]["smd_type"] = draw(
                st.sampled_from(["Cohen's d", "effect size"])
            )
            record["reported_effect"]["smd_value"] = draw(st.sampled_from([0.0, 0.13, 2.5]))
            record["reported_effect"]["smd_sign_convention"] = "magnitude"
    if draw(st.booleans()):
        record["p_value"] = {
            "operator": draw(st.sampled_from(["=", "<", "<="])),
            "value": draw(st.sampled_from([1.0, 0.999, 0.5, 0.05, 1e-10, 1e-300])),
        }
    if draw(st.booleans()):
        record["direction_reported"] = draw(st.sampled_from(vocab.REPORTED_DIRECTIONS))
    return record


@st.composite
def study(draw):
    design = draw(st.sampled_from([d for d in vocab.DESIGNS]))
    n_outcomes = draw(st.integers(min_value=1, max_value=3))
    doc = {
        "schema_version": 1,
        "id": "Generated2000",
        "condition": "fibromyalgia",
        "design": design,
        "inclusion": {"status": "include"},
        "source": {"url": "https://example.org/generated"},
        "outcomes": [draw(outcome(i)) for i in range(n_outcomes)],
    }
    if draw(st.booleans()):
        doc["sample_size"] = {"randomized": draw(count), "analyzed": draw(count)}
    if draw(st.booleans()):
        doc["dose"] = {"mg_per_day": draw(st.sampled_from([0.5, 4.5, 6.0]))}
    return doc


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=study())
def test_what_validation_accepts_every_stage_runs(doc, tmp_path):
    folder = tmp_path / "data" / "raw" / "fibromyalgia"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Generated2000.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    issues, studies = validate_paths([path])
    if issues:
        return  # refused with a message: the other tests check the messages
    items = [(path.as_posix(), s) for s in studies.values()]
    studies_frame, outcomes_frame = studies_table(items), outcomes_table(items)
    effects = derive_effects(outcomes_frame, studies_frame, EffectSettings())
    assert set(zip(effects.study_id, effects.outcome_id, strict=True)) == {
        ("Generated2000", o["id"]) for o in doc["outcomes"]
    }
    computed = effects[effects.tier != "F"]
    for row in computed.itertuples():
        assert math.isfinite(row.yi) and math.isfinite(row.vi) and row.vi > 0, row
    narrative = effects[effects.tier == "F"]
    assert narrative.not_computable_reason.notna().all()
    assert set(effects.stratum) <= set(vocab.STRATA)


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=st.lists(study(), min_size=4, max_size=8))
def test_accepted_study_files_beside_the_bundled_ones_run_through_every_stage(docs, tmp_path):
    """The same contract, for the stages after effects: generated studies that pass
    validation, added to the bundled fibromyalgia studies, run through analyses, certainty,
    figures and the report without an exception (1,500 random examples of this pass ran clean
    by hand; a few derandomized ones run here, each costs a whole condition's figures)."""
    work = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by the examples
    shutil.copytree(ROOT / "config", work / "config")
    raw = work / "data" / "raw" / "fibromyalgia"
    shutil.copytree(ROOT / "data" / "raw" / "fibromyalgia", raw)
    for i, doc in enumerate(docs):
        doc = {**doc, "id": f"Generated{2000 + i}"}
        path = raw / f"Generated{2000 + i}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        if validate_paths([path])[0]:
            path.unlink()  # refused with a message: the other tests check the messages
    c, results = "fibromyalgia", work / "results"
    commands = condition_commands(work, c, sorted(str(p) for p in raw.glob("*.yaml")))
    # a plan of every domain with an effect, per stratum, so generated studies are pooled
    plan = [
        "plan",
        str(work / "data" / "processed" / c / "effects.parquet"),
        *("--out", str(work / "config" / "analyses.yaml"), "--force"),
    ]
    steps = [
        commands["ingest"],
        commands["effects"],
        plan,
        commands["analyses"],
        commands["certainty"],
        commands["figures"],
        report_command(work, [c], with_claims=False),
    ]
    for step in steps:
        assert main(step) == 0, step[0]
    assert (results / "report" / "index.html").stat().st_size > 0
    members = pd.read_parquet(results / c / "analysis_members.parquet")
    generated = members[members.study_id.astype(str).str.startswith("Generated")]
    note(f"generated studies in analyses: {len(generated)}")
