"""Figures drawn by several processes: the same files as one process, failures reported, and
no worker outliving its job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests.unit.plots.synthetic import write_condition

from ldn_evidence.plots import render, render_condition_figures

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux")

ANALYSES = ("fatigue_k1", "sleep_k2", "response_rr", "mood_design")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_or_three_workers_write_the_files_one_process_writes(tmp_path):
    res, proc = write_condition(tmp_path, only=ANALYSES)
    outputs = {}
    for workers in (1, 2, 3):
        out = tmp_path / f"figures_{workers}"
        index = render_condition_figures("synthetic", res, proc, out, workers=workers)
        assert len(index["figures"]) >= 6
        outputs[workers] = _files(out)
    assert outputs[2] == outputs[1]
    assert outputs[3] == outputs[1]


def _drawing(stem: str, cost: int) -> render._Drawing:
    return render._Drawing("draw_nothing", None, stem, (), cost)


def test_shares_are_balanced_by_cost_and_deterministic():
    drawings = [_drawing(f"f{i}", cost) for i, cost in enumerate([10, 9, 1, 1, 1, 5, 4])]
    shares = render._shares(drawings, 2)
    loads = [sum(d.cost for d in share) for share in shares]
    assert sorted(loads) == [15, 16]
    assert render._shares(list(reversed(drawings)), 2) == shares
    assert sorted(d.stem for share in shares for d in share) == sorted(d.stem for d in drawings)
    assert render._shares(drawings[:1], 3)[1:] == [[], []]


def test_a_failing_worker_fails_the_call_naming_its_figures(tmp_path, monkeypatch, capfd):
    def draw(drawings, out_dir):
        for d in drawings:
            if d.stem == "bad":
                raise ValueError("cannot draw this one")
            (out_dir / f"{d.stem}.png").write_text("drawn")

    monkeypatch.setattr(render, "_draw", draw)
    # "bad" is the costliest, so the first share (this process) gets it ...
    with pytest.raises(ValueError, match="cannot draw this one"):
        render.draw_figures([_drawing("bad", 9), _drawing("good", 1)], tmp_path, workers=2)
    # ... and here a worker does, and the parent says which figures were lost
    with pytest.raises(RuntimeError, match="failed drawing bad"):
        render.draw_figures([_drawing("good", 9), _drawing("bad", 1)], tmp_path, workers=2)
    assert "ValueError: cannot draw this one" in capfd.readouterr().err
    assert (tmp_path / "good.png").read_text() == "drawn"


def test_a_failure_here_stops_the_workers(tmp_path, monkeypatch):
    def draw(drawings, out_dir):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        (out_dir / f"{os.getpid()}.pid").write_text("")
        time.sleep(60)

    parent = os.getpid()
    monkeypatch.setattr(render, "_draw", draw)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        render.draw_figures([_drawing("a", 2), _drawing("b", 1)], tmp_path, workers=2)
    assert time.monotonic() - started < 30  # not waiting for the worker's minute


SLOW_WORKERS = """
import os, sys, time
from pathlib import Path
from ldn_evidence.plots import render

out = Path(sys.argv[1])
def draw(drawings, out_dir):
    if os.getpid() != parent:
        (out / f"{os.getpid()}.pid").write_text("")
    time.sleep(120)
parent = os.getpid()
render._draw = draw
render.draw_figures([render._Drawing("r", None, s, (), 1) for s in "abc"], out, workers=3)
"""


def test_workers_die_with_a_killed_job(tmp_path):
    job = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SLOW_WORKERS), str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(workers) == 2
        job.send_signal(signal.SIGKILL)
        job.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers)
    finally:
        job.kill()
        job.wait()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
