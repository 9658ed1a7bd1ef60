"""What a run changed: constructed before/after results."""

import pandas as pd

from ldn_evidence.changes import compare, render_markdown


def analyses(*rows):
    return pd.DataFrame(
        [
            {
                "analysis_id": a,
                "scenario": "main",
                "estimate": e,
                "ci_low": lo,
                "ci_high": hi,
                "k": k,
            }
            for a, e, lo, hi, k in rows
        ]
    )


def members(*pairs):
    return pd.DataFrame([{"analysis_id": a, "scenario": "main", "study_id": s} for a, s in pairs])


def test_identical_results_change_nothing():
    a = analyses(("pain", 0.1, -0.2, 0.4, 2))
    m = members(("pain", "A"), ("pain", "B"))
    records = compare(a, a.copy(), m, m.copy())
    assert [r["change"] for r in records] == ["unchanged"]
    text = render_markdown({"fibromyalgia": records}, "the results committed at HEAD")
    assert "**No conclusion changed**, and no pooled number moved." in text


def test_a_new_study_that_moves_the_ci_off_the_null_changes_the_conclusion():
    before = analyses(("pain", 0.1, -0.2, 0.4, 2), ("mood", 0.3, 0.1, 0.5, 1))
    after = analyses(("pain", 0.3, 0.05, 0.55, 3), ("mood", 0.31, 0.1, 0.5, 1))
    m_before = members(("pain", "A"), ("pain", "B"), ("mood", "A"))
    m_after = members(("pain", "A"), ("pain", "B"), ("pain", "Synthetic2099"), ("mood", "A"))
    records = {r["analysis_id"]: r for r in compare(before, after, m_before, m_after)}
    assert records["pain"]["change"] == "conclusion changed"
    assert records["pain"]["studies_added"] == ["Synthetic2099"]
    assert records["pain"]["before"]["k"] == 2 and records["pain"]["after"]["k"] == 3
    assert records["mood"]["change"] == "numbers changed"
    text = render_markdown({"fibromyalgia": list(records.values())}, "HEAD")
    assert "| fibromyalgia | pain | conclusion changed |" in text
    assert "Synthetic2099" in text


def test_new_and_removed_analyses_and_certainty():
    before = analyses(("old", 0.1, -0.2, 0.4, 2))
    after = analyses(("new", 0.1, -0.2, 0.4, 2))
    records = {r["analysis_id"]: r for r in compare(before, after, None, members())}
    assert records["old"]["change"] == "analysis removed"
    assert records["new"]["change"] == "new analysis"
    same = analyses(("pain", 0.1, -0.2, 0.4, 2))
    cert_before = pd.DataFrame({"analysis_id": ["pain"], "certainty": ["low"]})
    cert_after = pd.DataFrame({"analysis_id": ["pain"], "certainty": ["very_low"]})
    m = members(("pain", "A"))
    (record,) = compare(same, same.copy(), m, m.copy(), cert_before, cert_after)
    assert record["change"] == "conclusion changed"
    assert (record["before"]["certainty"], record["after"]["certainty"]) == ("low", "very_low")
