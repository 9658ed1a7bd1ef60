"""The report's templates: compiled once per process, each in the environment it needs."""

from pathlib import Path

import pytest

from ldn_evidence.report import render
from ldn_evidence.report.render import TEMPLATES, compile_templates, environment, template

TEMPLATE_DIR = Path(render.__file__).parent / "templates"


def test_every_template_is_listed_with_its_environment():
    assert sorted(p.name for p in TEMPLATE_DIR.glob("*.j2")) == sorted(TEMPLATES)


def test_templates_are_compiled_once_per_process():
    template.cache_clear()
    compile_templates()
    assert template.cache_info().currsize == len(TEMPLATES)
    assert template("index.html.j2") is template("index.html.j2")
    assert template.cache_info().misses == len(TEMPLATES)


def test_html_escapes_and_markdown_does_not():
    assert template("index.html.j2").environment.autoescape("index.html.j2") is True
    assert template("summary.md.j2").environment.autoescape is False
    html = environment("html").from_string("{{ x }}").render(x="<b>")
    assert html == "&lt;b&gt;"
    assert environment("markdown").from_string("{{ x }}").render(x="<b>") == "<b>"
    with pytest.raises(ValueError, match="unknown kind"):
        environment("pdf")


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/23359310/", "https://pubmed.ncbi.nlm.nih.gov/23359310/"),
        (" http://example.org/a?b=1 ", "http://example.org/a?b=1"),
        ("HTTPS://EXAMPLE.ORG", "HTTPS://EXAMPLE.ORG"),
        ("javascript:alert(1)", None),
        ("JavaScript://example.org/%0aalert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("https:///no-host", None),
        ("//example.org/protocol-relative", None),
        ("results/report/index.html", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_only_web_addresses_are_linked(url, linked):
    assert render.web_url(url) == linked
