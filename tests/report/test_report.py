"""The report as a reader gets it: structure, provenance, escaping, and the Markdown twin."""

import re
import shutil

import pandas as pd
import pytest

from ldn_evidence.cli import main
from ldn_evidence.report.build import effect_text, interval_text, oriented


def html_of(run):
    return (run / "results" / "report" / "index.html").read_text(encoding="utf-8")


def test_report_has_contents_sections_and_provenance(bundled_run):
    html = html_of(bundled_run)
    assert '<nav class="toc" id="contents"' in html
    for section in (
        "fibromyalgia",
        "crohns_disease",
        "multiple_sclerosis",
        "long_covid",
        "claims",
        "methods",
        "sources",
    ):
        assert f'id="{section}"' in html
    # every link inside the page has its target
    targets = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= targets, sorted(links - targets)[:5]
    # the pooled pain result links to its analysis, which lists its effects and their quotes
    assert 'href="#a-fm_pain_rct_smd"' in html
    section = html.split('id="a-fm_pain_rct_smd"')[1].split("</article>")[0]
    for study in ("Bested2023", "Bruun2024", "RodriguezFreire_INNOVA", "Younger2013"):
        assert f'href="#s-{study}"' in section
    assert "t_from_p_value" in section and "r = 0.5 (config)" in section
    assert "The median difference for SPIR scores was -0.33" in section
    # a second quote (here the one with the numbers used) and where in the source it was read
    assert "<q>corresponding to a between-group difference of -0·34 (-0·95 to 0·27" in section
    assert "<q>with an adjusted between-group difference of 0.49 (p = 0.236, d = 0.19)</q>" in (
        section
    )


def test_a_pooled_proportion_says_what_its_p_value_tests(bundled_run):
    html = html_of(bundled_run)
    section = html.split('id="a-cd_remission_prop_plo"')[1].split("</article>")[0]
    assert "(against a proportion of 50%: there is no comparator)" in section
    pooled_ratio = html.split('id="a-fm_response_rct_rr"')[1].split("</article>")[0]
    assert "against a proportion" not in pooled_ratio


def test_the_contents_follow_the_page(bundled_run):
    html = html_of(bundled_run)
    toc = html.split('id="contents"')[1].split("</nav>")[0]
    listed = re.findall(r'href="#([a-z_-]+)"', toc)
    sections = [t for t in listed if f'id="{t}"' in html]
    assert sections == sorted(sections, key=lambda t: html.index(f'id="{t}"'))


def test_each_claim_says_what_it_was_checked_against(bundled_run):
    claims = html_of(bundled_run).split('id="claims"')[1].split("</section>")[0]
    # a claim about fibromyalgia and Crohn's symptoms and markers, checked (as the reference
    # table maps it) against fibromyalgia's inflammatory markers only: the reader must see that
    row = claims.split("Small placebo-controlled trials in fibromyalgia and Crohn")[1]
    row = row.split("</tr>")[0]
    assert "<td>fibromyalgia: inflammatory marker</td>" in row
    assert "no controlled evidence" in row


def test_report_is_self_contained(bundled_run):
    html = html_of(bundled_run)
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert "@import" not in html


def thin_section(html):
    return re.sub(r"\s+", " ", html.split('id="thin-evidence"')[1].split("</section>")[0])


def test_thin_evidence_is_stated(bundled_run):
    html = html_of(bundled_run)
    thin = thin_section(html)
    assert "Where the evidence is thin" in thin
    assert "were read from abstracts" in thin
    # named from the study tables: every included study above 4.5 mg/day or with a
    # co-intervention, in the HTML and in the Markdown summary
    assert "2 included studies used more than 4.5 mg/day" in thin
    assert '<a href="#s-Bruun2024">Bruun2024</a> (Fibromyalgia, 6.0 mg/day)' in thin
    assert "P418_2014_IBDCaseSeries</a> (Crohn&#39;s disease, 5.0 mg/day)" in thin
    assert "Isman2024</a> (Long COVID: NAD+ iontophoresis patches)" in thin
    assert "10 included studies have no daily dose in mg on record" in thin
    # and the studies table shows what the source said instead (Smith2013: per kg)
    studies = html.split('id="crohns_disease-studies"')[1].split("</table>")[0]
    assert '<span class="muted">0.1 mg/kg, max 4.5 mg</span>' in studies
    markdown = (bundled_run / "results" / "report" / "summary.md").read_text(encoding="utf-8")
    assert "P418_2014_IBDCaseSeries (Crohn's disease, 5.0 mg/day)" in markdown
    assert "LDN with a co-intervention: Isman2024 (Long COVID: NAD+ iontophoresis patches)." in (
        markdown
    )


def copy_of_run(run, tmp_path):
    """The tables of a finished run, copied to be changed and reported again."""
    work = tmp_path / "work"
    shutil.copytree(run / "results", work / "results")
    shutil.copytree(run / "data", work / "data")
    return work


def fibromyalgia_report(run, work):
    """The report of the fibromyalgia tables in ``work`` (HTML text)."""
    out = work / "results" / "report"
    args = ["report", "--conditions", "fibromyalgia", "--results-dir", str(work / "results")]
    args += ["--processed-dir", str(work / "data" / "processed"), "--out-dir", str(out)]
    assert main([*args, "--config", str(run / "config" / "config.yaml")]) == 0
    return (out / "index.html").read_text(encoding="utf-8")


def test_thin_evidence_follows_the_study_tables(bundled_run, tmp_path):
    work = copy_of_run(bundled_run, tmp_path)
    path = work / "data" / "processed" / "fibromyalgia" / "studies.parquet"
    studies = pd.read_parquet(path)
    studies.loc[studies.id == "Bruun2024", "dose_mg_per_day"] = 4.5
    studies.loc[studies.id == "Younger2013", "co_interventions"] = "graded exercise"
    studies.to_parquet(path, index=False)
    thin = thin_section(fibromyalgia_report(bundled_run, work))
    assert "No included study used more than 4.5 mg/day." in thin
    assert "1 included study gave LDN with a co-intervention" in thin
    assert "Younger2013</a> (Fibromyalgia: graded exercise)" in thin
    assert "Isman2024" not in thin  # long COVID was not rendered


def test_markdown_summary_has_the_numbers_of_the_html(bundled_run):
    html = html_of(bundled_run)
    markdown = (bundled_run / "results" / "report" / "summary.md").read_text(encoding="utf-8")
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "(" in line]
    effects = [re.search(r"(−?\d+\.\d+|\d+%) \((−?\d[^)]*)\)", r) for r in rows]
    effects = [m.group(0) for m in effects if m]
    assert len(effects) >= 20
    for effect in effects:
        assert effect in html


def test_hostile_text_is_escaped(bundled_run, tmp_path):
    work = copy_of_run(bundled_run, tmp_path)
    studies_path = work / "data" / "processed" / "fibromyalgia" / "studies.parquet"
    studies = pd.read_parquet(studies_path)
    hostile = '<script>alert("x")</script> & "quotes" \u202eevil'
    studies.loc[studies.id == "Bruun2024", "title"] = hostile
    studies.loc[studies.id == "Bruun2024", "source_url"] = "data:text/html,<b>x</b>"
    studies.to_parquet(studies_path, index=False)
    members_path = work / "results" / "fibromyalgia" / "analysis_members.parquet"
    members = pd.read_parquet(members_path)
    members.loc[members.study_id == "Bruun2024", "source_quote"] = "<img src=x onerror=alert(1)>"
    members.loc[members.study_id == "Bruun2024", "source_url"] = "javascript:alert(1)"
    members.loc[members.study_id == "Bruun2024", "source_location"] = "Table 2 <b>"
    members.to_parquet(members_path, index=False)
    html = fibromyalgia_report(bundled_run, work)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34; \u202eevil" in html
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # addresses that are not web addresses are shown as text, never linked
    assert not re.search(r'href="\s*(javascript|data):', html, re.IGNORECASE)
    assert "Table 2 &lt;b&gt; · source: javascript:alert(1)" in html
    assert "source: data:text/html,&lt;b&gt;x&lt;/b&gt;" in html


def test_ratios_are_shown_ldn_over_control():
    # A harmonised log RR of 0.5 for a harmful outcome means RR = exp(-0.5) with LDN.
    row = {"estimate": 0.5, "ci_low": 0.1, "ci_high": 0.9, "better_direction": "lower"}
    est, low, high = oriented(row, "RR", ("estimate", "ci_low", "ci_high"))
    assert (est, low, high) == pytest.approx((0.6065, 0.4066, 0.9048), rel=1e-3)
    assert effect_text(row, "RR") == "0.61 (0.41 to 0.90)"
    assert effect_text({**row, "better_direction": "higher"}, "RR") == "1.65 (1.11 to 2.46)"
    assert interval_text({"estimate": 0.1, "pi_low": -0.6, "pi_high": 0.8}, "SMD") == (
        "−0.60 to 0.80"
    )
    assert effect_text({"estimate": 0.0, "ci_low": -1.0, "ci_high": 1.0}, "PLO") == (
        "50% (27% to 73%)"
    )


def test_an_analysis_without_an_estimable_study_says_so(tmp_path):
    """Both arms of the only serious-adverse-event study with no events: nothing to pool, and
    the report must not call it a single study."""
    from tests.pipeline import PROJECT_ROOT, condition_commands, report_command

    work = tmp_path / "work"
    shutil.copytree(PROJECT_ROOT / "config", work / "config")
    raw = work / "data" / "raw" / "fibromyalgia"
    shutil.copytree(PROJECT_ROOT / "data" / "raw" / "fibromyalgia", raw)
    bruun = raw / "Bruun2024.yaml"
    text = bruun.read_text(encoding="utf-8")
    serious = text.index("- id: serious_adverse_events")
    at = text.index("events_ctl: 1", serious)
    bruun.write_text(text[:at] + "events_ctl: 0" + text[at + len("events_ctl: 1") :])
    files = sorted(str(p) for p in raw.glob("*.yaml"))
    commands = condition_commands(work, "fibromyalgia", files)
    for name in ("ingest", "effects", "analyses", "certainty"):
        assert main(commands[name]) == 0, name
    assert main(report_command(work, ["fibromyalgia"], with_claims=False)) == 0
    html = (work / "results" / "report" / "index.html").read_text(encoding="utf-8")
    article = html.split('id="a-fm_adverse_events_serious_adverse_events_rct_rr"')[1]
    article = re.sub(r"\s+", " ", article.split("</article>")[0])
    assert "No study gave an estimable effect" in article and "nothing to pool" in article
    assert "A single study" not in article
    markdown = (work / "results" / "report" / "summary.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if "serious adverse" in line.lower())
    assert "(no estimable study)" in row and "(single study)" not in row
