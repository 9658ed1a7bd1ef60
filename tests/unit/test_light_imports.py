"""The pipeline commands start without scipy.stats, statsmodels or matplotlib.

Every Snakemake job is a fresh ``python -m ldn_evidence <command>`` process, so each import on
a command's path is paid once per job: scipy.stats costs about 1.5-2 s of CPU and
statsmodels.stats.proportion about 2 s. This imports, in a fresh interpreter, the modules each
command imports (see ``ldn_evidence.cli``) and checks that none of those heavy packages came
with them. A failure names the command and the modules to make lazy (import inside the
function that needs them) or to replace with ``ldn_evidence.distributions``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy.stats", "statsmodels", "matplotlib")

#: The modules each pipeline command imports (the ``_cmd_*`` functions of ldn_evidence.cli).
COMMAND_MODULES = {
    "ingest": ["ldn_evidence.io.studyfile", "ldn_evidence.io.tables", "ldn_evidence.io.validate"],
    "effects": [
        "ldn_evidence.effects.normalize",
        "ldn_evidence.io.atomic",
        "ldn_evidence.io.tables",
    ],
    "analyses": [
        "ldn_evidence.analysis.output",
        "ldn_evidence.analysis.plan",
        "ldn_evidence.analysis.run",
        "ldn_evidence.effects.normalize",
    ],
    "certainty": ["ldn_evidence.certainty.output"],
    "claims": ["ldn_evidence.certainty.output"],
    "changes": ["ldn_evidence.changes"],
    "report": ["ldn_evidence.report.render"],
}


def _heavy_modules_after_import(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {['ldn_evidence.cli', *modules]!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_command_imports_no_heavy_package(command):
    assert _heavy_modules_after_import(COMMAND_MODULES[command]) == []


def test_the_check_sees_a_heavy_import():
    """The check itself works: a module that needs them does bring scipy.stats and matplotlib."""
    found = _heavy_modules_after_import(["scipy.stats", "ldn_evidence.plots.draw_forest"])
    assert "scipy.stats" in found
    assert any(m.startswith("matplotlib") for m in found)
