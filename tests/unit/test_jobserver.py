"""The job server: a command run by it behaves exactly as the command run alone, and it never
outlives the command or the workflow run that started it."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ldn_evidence import jobserver

pytestmark = pytest.mark.skipif(not jobserver.available(), reason="the job server needs Linux")

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "data" / "raw" / "fibromyalgia" / "Bruun2024.yaml"


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A folder with a study file where a condition's files live; the working directory."""
    folder = tmp_path / "here"
    (folder / "data/raw/fibromyalgia").mkdir(parents=True)
    shutil.copy(STUDY, folder / "data/raw/fibromyalgia/Bruun2024.yaml")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def server(tmp_path, here):
    """A server started in ``here`` (a job's working directory is part of its import path)."""
    started = jobserver.start(sys.executable, tmp_path / "server.log")
    assert started is not None
    yield started
    started.stop()


def command(args, cwd, address=None, **popen):
    """``python -m ldn_evidence ARGS`` in ``cwd``, through the server at ``address`` if given."""
    env = {k: v for k, v in os.environ.items() if k != jobserver.ENV}
    if address is not None:
        env[jobserver.ENV] = address
    return subprocess.Popen(
        [sys.executable, "-m", "ldn_evidence", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(process, timeout=120):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def server_log(tmp_path) -> str:
    return (tmp_path / "server.log").read_text()


def wait_for(predicate, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def started_jobs(tmp_path) -> list[int]:
    return [int(p) for p in re.findall(r"job (\d+) started", server_log(tmp_path))]


def test_a_command_gives_what_it_gives_alone_exit_status_and_streams_included(
    server, here, tmp_path
):
    raw = "data/raw/fibromyalgia"
    (here / raw / "Broken.yaml").write_text("id: [unclosed\n")
    cases = [
        ["validate", f"{raw}/Bruun2024.yaml"],  # relative: the working directory counts
        ["validate", f"{raw}/Bruun2024.yaml", f"{raw}/Broken.yaml", f"{raw}/missing.yaml"],
        ["no-such-command"],
        ["--version"],
    ]
    statuses = []
    for args in cases:
        alone = finished(command(args, here))
        served = finished(command(args, here, server.address))
        assert served == alone, args
        statuses.append(alone[0])
    assert statuses == [0, 1, 2, 0]
    assert len(re.findall(r"job \d+ ended: exit", server_log(tmp_path))) == len(cases)


def blocked_job(tmp_path, address):
    """A command that waits, reading a named pipe, and the pid of the server's child for it."""
    os.mkfifo("plan.yaml")
    args = ["analyses", "--condition", "fibromyalgia", "--plan", "plan.yaml"]
    process = command([*args, "--processed-dir", ".", "--out-dir", "out"], Path.cwd(), address)
    wait_for(lambda: started_jobs(tmp_path), "the job to start")
    return process, started_jobs(tmp_path)[-1]


def test_the_job_is_a_fork_of_the_server_in_the_commands_directory(server, tmp_path):
    process, child = blocked_job(tmp_path, server.address)
    try:
        parent = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert parent == server.process.pid
        assert Path(f"/proc/{child}/cwd").resolve() == Path.cwd().resolve()
    finally:
        process.kill()
        process.wait()


def test_a_fork_becomes_the_commands_process(tmp_path):
    """Streams, working directory, environment and arguments are the command's own."""
    read, write = os.pipe()
    request = {"cwd": str(tmp_path), "env": {"ONLY": "this"}, "argv": ["report", "--x"]}
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            jobserver.become(request, [read, write, write])
            state = [os.getcwd(), dict(os.environ), sys.argv[1:]]
            os.write(1, json.dumps(state).encode())  # fd 1 itself (pytest replaces sys.stdout)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        cwd, env, argv = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert (Path(cwd), env, argv) == (tmp_path, {"ONLY": "this"}, ["report", "--x"])


def test_a_request_reaches_the_server_as_the_command_sent_it():
    """Arguments and environment of any text (quotes, backslashes, newlines, non-ASCII, the
    lone surrogates Python makes of undecodable bytes) are read back exactly."""
    from ldn_evidence.jobclient import HEADER, encode_request

    odd = ['it\'s "quoted"', "back\\slash\nnew line", "Müller–Ørsted 試験", "raw\udcff\udc80"]
    request = {
        "argv": ["report", *odd],
        "cwd": "/tmp/x y",
        "env": {f"K{i}": v for i, v in enumerate(odd)},
    }
    payload = encode_request(request)

    class Conn:  # everything arrives in the first read
        def recv(self, n):
            raise AssertionError("read again")

    assert jobserver._parse_request(Conn(), HEADER.pack(len(payload)) + payload) == request


def test_a_command_hands_itself_over_without_importing_what_it_does_not_need():
    """The client runs at the start of every job: no json, socket wrappers, typing or re."""
    code = (
        "import sys\n"
        "import ldn_evidence.jobclient\n"
        "unwanted = {'json', 're', 'socket', 'typing', 'enum', 'selectors', 'ast'}\n"
        "print(sorted(unwanted & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_killed_command_takes_its_job_with_it(server, tmp_path):
    process, child = blocked_job(tmp_path, server.address)
    assert alive(child)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    wait_for(lambda: not alive(child), "the job to stop")
    wait_for(lambda: f"job {child} ended" in server_log(tmp_path), "the server to reap it")
    assert f"job {child} stopped: its command went away" in server_log(tmp_path)


def test_a_job_killed_by_a_signal_fails_its_command(server, tmp_path):
    process, child = blocked_job(tmp_path, server.address)
    os.kill(child, signal.SIGKILL)
    code, _, err = finished(process)
    assert code == 128 + signal.SIGKILL
    assert "killed by signal 9" in err


def test_stopping_the_server_ends_its_jobs_and_leaves_nothing_behind(server, tmp_path):
    process, child = blocked_job(tmp_path, server.address)
    server.process.stdin.close()  # what the workflow's exit does, however it exits
    code, _, err = finished(process)
    assert code == 1 and "the job server stopped before the job ended" in err
    server.process.wait(timeout=30)
    assert not alive(child)
    assert not server.folder.exists()


def test_the_server_stops_when_whoever_started_it_dies(tmp_path):
    script = (
        "import sys, time\n"
        "from ldn_evidence import jobserver\n"
        f"s = jobserver.start(sys.executable, {str(tmp_path / 'server.log')!r})\n"
        "print(s.process.pid, s.address, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid, address = owner.stdout.readline().split()
    owner.kill()  # SIGKILL: no clean-up code runs in the owner
    owner.wait()
    wait_for(lambda: not alive(int(pid)), "the server to stop")
    assert not Path(address).parent.exists()


def test_without_a_server_the_command_runs_alone(here):
    alone = finished(command(["validate", "data/raw"], here))
    assert alone[0] == 0 and alone[2] == ""
    assert finished(command(["validate", "data/raw"], here, jobserver.OFF)) == alone
    code, out, err = finished(command(["validate", "data/raw"], here, "/nonexistent"))
    assert (code, out) == alone[:2]
    assert "no job server at /nonexistent" in err and "running the command here" in err


def test_a_command_with_another_import_path_is_declined_and_runs_alone(server, here, tmp_path):
    args = ["validate", "data/raw"]
    alone = finished(command(args, here))
    extra = {"env": {**os.environ, jobserver.ENV: server.address, "PYTHONPATH": str(tmp_path)}}
    process = subprocess.Popen(
        [sys.executable, "-m", "ldn_evidence", *args],
        cwd=here,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **extra,
    )
    code, out, err = finished(process)
    assert (code, out) == alone[:2]
    assert "the job server declined (another import path" in err
    assert started_jobs(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "status", "printed"),
    [(None, 0, ""), (0, 0, ""), (3, 3, ""), (256, 0, ""), ("bad input", 1, "bad input\n")],
)
def test_exit_status_is_what_sys_exit_gives(code, status, printed, capsys):
    assert jobserver._exit_status(code) == status
    assert capsys.readouterr().err == printed


def test_everything_the_server_preloads_exists():
    """What the server imports (and calls) in advance; a wrong name would only slow jobs."""
    import importlib

    for name in jobserver.PRELOAD:
        module, _, function = name.partition(":")
        loaded = importlib.import_module(module)
        assert not function or callable(getattr(loaded, function)), name


def test_malformed_requests_are_refused_and_the_server_keeps_serving(server, here, tmp_path):
    import socket
    import struct

    def send(payload: bytes, fds=()):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(server.address)
        if fds:
            socket.send_fds(client, [payload], list(fds))
        else:
            client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        reply = client.makefile("rb").read()
        client.close()
        return reply

    def streams() -> list[str]:
        """The server's open sockets, pipes and pidfds (not the module files it is reading as
        it preloads, which come and go)."""
        fds = f"/proc/{server.process.pid}/fd"
        targets = []
        for fd in os.listdir(fds):
            with contextlib.suppress(FileNotFoundError):
                targets.append(os.readlink(f"{fds}/{fd}"))
        return sorted(t for t in targets if not t.startswith("/"))

    args = ["validate", "data/raw"]
    assert finished(command(args, here, server.address))[0] == 0  # preloading under way
    # the job's reply comes just before the server closes its end and its pidfd
    wait_for(lambda: "anon_inode:[pidfd]" not in streams(), "the finished job's descriptors")
    before = len(streams())
    assert send(b"") == b""  # truncated: closed without a word
    assert send(struct.pack(">I", 5) + b"{not") == b""  # not JSON
    assert send(struct.pack(">I", 2**31) + b"{}") == b""  # too large
    assert send(struct.pack(">I", 2) + b"[]", fds=[0, 1, 2]) == b""  # not a request
    call = b"__import__('os').system('touch hacked')"  # code, not a literal: never run
    assert send(struct.pack(">I", len(call)) + call, fds=[0, 1, 2]) == b""
    deep = b"[" * 10_000 + b"]" * 10_000
    assert send(struct.pack(">I", len(deep)) + deep, fds=[0, 1, 2]) == b""
    assert not (here / "hacked").exists()
    assert len(streams()) == before  # no stream of a refused request kept
    assert finished(command(args, here, server.address)) == finished(command(args, here))
    assert len(started_jobs(tmp_path)) == 2 and "request failed" in server_log(tmp_path)


def test_what_each_command_needs_is_preloaded_and_every_workflow_command_has_needs():
    rules = (ROOT / "workflow" / "rules").glob("*.smk")
    commands = {c for path in rules for c in re.findall(r'ldn\(\s*"(\w+)', path.read_text())}
    assert {"ingest", "effects", "analyses", "figures", "report"} <= commands
    assert commands <= set(jobserver.NEEDS)
    for command, names in jobserver.NEEDS.items():
        assert set(names) <= set(jobserver.PRELOAD), command


def test_an_early_job_has_the_server_import_what_it_needs_first(server, here, tmp_path):
    """Sent at once, before the server could preload much: the server loads the modules of
    the command's needs, then forks the job (which then imports nothing of them itself)."""
    code, out, _ = finished(command(["validate", "data/raw"], here, server.address))
    assert code == 0 and "valid" in out
    log = server_log(tmp_path)
    loaded = re.search(r"loaded for validate in [\d.]+ s: (.+)", log)
    assert loaded is not None, log
    assert "ldn_evidence.io.validate" in loaded.group(1).split(", ")
    assert set(loaded.group(1).split(", ")) <= set(jobserver.NEEDS["validate"])
    assert log.index("loaded for validate") < log.index("started: validate")
