"""Compiled templates reused between runs: the same output, and recompiled when they change."""

from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment

from ldn_evidence.report.render import TemplateCache, environment


def _render(templates: dict[str, str], cache: Path | None, kind: str = "html") -> str:
    env = Environment(
        loader=DictLoader(templates),
        autoescape=kind == "html",
        bytecode_cache=TemplateCache(cache, kind) if cache is not None else None,
    )
    return env.get_template("page.j2").render(name="<b>LDN</b>", items=[1, 2])


TEMPLATE = {"page.j2": "{{ name }}{% for i in items %} {{ i * 2 }}{% endfor %}"}


def test_a_cached_template_renders_as_a_compiled_one(tmp_path, monkeypatch):
    fresh = _render(TEMPLATE, None)
    assert fresh == "&lt;b&gt;LDN&lt;/b&gt; 2 4"
    assert _render(TEMPLATE, tmp_path) == fresh  # compiled, then written
    assert len(list(tmp_path.glob("html-*.cache"))) == 1

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled although cached")

    monkeypatch.setattr(Environment, "compile", no_compile)
    assert _render(TEMPLATE, tmp_path) == fresh  # read back, not compiled


def test_a_changed_template_is_compiled_again(tmp_path):
    _render(TEMPLATE, tmp_path)
    changed = {"page.j2": "{{ name }}!{% for i in items %} {{ i * 3 }}{% endfor %}"}
    assert _render(changed, tmp_path) == "&lt;b&gt;LDN&lt;/b&gt;! 3 6"


def test_the_html_and_markdown_environments_do_not_share_compiled_code(tmp_path):
    assert _render(TEMPLATE, tmp_path, "html") == "&lt;b&gt;LDN&lt;/b&gt; 2 4"
    assert _render(TEMPLATE, tmp_path, "markdown") == "<b>LDN</b> 2 4"
    assert len(list(tmp_path.glob("*.cache"))) == 2


def test_a_damaged_or_unwritable_cache_is_skipped(tmp_path):
    _render(TEMPLATE, tmp_path)
    (cached,) = tmp_path.glob("html-*.cache")
    cached.write_bytes(cached.read_bytes()[:40])
    assert _render(TEMPLATE, tmp_path) == "&lt;b&gt;LDN&lt;/b&gt; 2 4"
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert _render(TEMPLATE, blocked / "cache") == "&lt;b&gt;LDN&lt;/b&gt; 2 4"


def test_environment_kinds():
    assert environment("html").autoescape("index.html.j2") is True
    assert environment("markdown").autoescape is False
    with pytest.raises(ValueError, match="unknown kind"):
        environment("pdf")
