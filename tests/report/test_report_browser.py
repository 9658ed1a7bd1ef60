"""The report opened in headless Chromium, as a reader opens it: no console error, no network
request, and the table of contents, a forest plot and a provenance link all there.

Chromium comes from the Debian package ``chromium`` (``.ci/run`` installs it where apt-get is
available); without it the test is skipped and says why.
"""

import json
import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian package 'chromium')"
)


def open_in_chromium(page, tmp_path):
    netlog = tmp_path / "netlog.json"
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-component-update",
            "--disable-default-apps",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={netlog}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, run.stderr, netlog


def requested_urls(netlog):
    """URLs the page asked for, from Chromium's NetLog: request jobs with an initiator. The
    browser's own background requests (update checks, network time) have none ("not an
    origin") and are not the page's doing."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    names = {code: name for name, code in log["constants"]["logEventTypes"].items()}
    return {
        e["params"]["url"]
        for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
    }


def test_report_in_a_browser(bundled_run, tmp_path):
    page = bundled_run / "results" / "report" / "index.html"
    dom, log, netlog = open_in_chromium(page, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not console, console[:5]
    external = {
        u
        for u in requested_urls(netlog)
        if not u.startswith(("file:", "data:", "about:", "chrome"))
    }
    assert not external, sorted(external)[:5]
    assert '<nav class="toc" id="contents"' in dom
    assert re.search(
        r'<img [^>]*src="data:image/png;base64,[^"]+" alt="Forest plot: Pain: randomized', dom
    )
    # a provenance link and its target, after the page's script ran (the tables were made sortable)
    assert 'href="#a-fm_pain_rct_smd"' in dom and 'id="a-fm_pain_rct_smd"' in dom
    assert 'tabindex="0"' in dom  # set by the inline sortable-table script


def test_a_page_with_an_error_is_caught(tmp_path):
    """The check itself: a script error and an outside request are both seen."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom'); undefined_function();</script></body></html>",
        encoding="utf-8",
    )
    _, log, netlog = open_in_chromium(page, tmp_path)
    assert any("CONSOLE" in line for line in log.splitlines())
    assert any(u.startswith("http://127.0.0.1:9") for u in requested_urls(netlog))
