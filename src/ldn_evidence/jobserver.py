"""Run the workflow's jobs as forks of one process that has already imported the libraries.

Every job of the workflow is one short command, ``python -m ldn_evidence <command>``, and about
a second of each is a new interpreter importing numpy, pandas, pyarrow, scipy and matplotlib;
an edit in one study runs eight of them one after the other. So during a local Snakemake run
(``workflow/rules/common.smk`` starts it in ``onstart``), one server imports them once and
listens on a Unix socket in a private temporary folder. A job's command connects, hands over
its arguments, working directory, environment and its three standard streams (as file
descriptors), and the server forks a child that runs the command exactly as
``python -m ldn_evidence`` would, writing to the job's own streams, and sends back its exit
status, which the command exits with. Snakemake sees an ordinary job: its log, its exit status,
its outputs.

Each child is a fresh fork of the server, which does nothing but import modules, so no state
passes from one job to the next. The command runs in its own interpreter instead (the server is
only an optimisation) whenever it cannot be used: ``LDN_EVIDENCE_JOB_SERVER`` is unset or
``off``, the socket does not answer, or the server refuses because the command runs another
interpreter or import path. The server stops when the Snakemake process that started it closes
its standard input or exits for any reason (standard input is the server's lifeline), and it
terminates the job it is running for a command that is killed.

Linux only (it waits for children with ``os.pidfd_open``); elsewhere the workflow does not start
it. The technique is the "fork server" (a zygote process), as in Python's own
``multiprocessing`` forkserver start method.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .jobclient import ENV, HEADER, IDENTITY, OFF, identity

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ENV", "OFF", "available", "serve", "start"]

_BASE = ("numpy", "pandas", "pyarrow", "pyarrow.parquet", "ldn_evidence.cli")
#: scipy and matplotlib in steps: ``matplotlib.figure`` alone imports for about 0.8 s, and a job
#: that asks meanwhile waits until the step ends, whether or not it needs it (an import cannot be
#: interrupted, and the server forks only between steps). Each step imports one heavy part of
#: what the next one would (measured: 0.02-0.25 s each), so a job waits at most that long.
_SCIPY = ("scipy._lib._array_api", "scipy.special")  # the first imports numpy.testing and f2py
_MPL = (
    "PIL.Image",
    "pyparsing",
    "matplotlib",
    "matplotlib.patches",
    "matplotlib.text",
    "matplotlib.collections",
    "matplotlib.image",
    "matplotlib.axes._base",
    "mpl_toolkits.mplot3d",  # imported by matplotlib.projections, whether used or not
    "matplotlib.figure",
    "matplotlib.font_manager",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",
)
#: What the server imports before it forks: what the commands spend their start-up on.
#: ``module:function`` also calls the function (no arguments), for work every job would repeat.
PRELOAD = (  # in the order the jobs of a run need them: a job forks with what is loaded by then
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "yaml",
    "jsonschema",
    "ldn_evidence.cli",
    "ldn_evidence.io.validate",
    "ldn_evidence.io.tables",
    *_SCIPY,
    "ldn_evidence.effects.normalize",
    "ldn_evidence.analysis.plan",
    "ldn_evidence.analysis.run",
    "ldn_evidence.analysis.output",
    "ldn_evidence.certainty.output",
    "ldn_evidence.changes",
    *_MPL,
    "ldn_evidence.plots",
    "ldn_evidence.plots.render:_drawing_version",  # hashes the plots source, for figure keys
    "jinja2",
    "ldn_evidence.report.render:compile_templates",
)

#: What each command imports of :data:`PRELOAD` (measured; ``figures`` when it draws). A job
#: that comes before these are loaded waits while the server imports them, rather than
#: importing them itself beside the server: on a run's first jobs that is the same work done
#: once instead of two or three times at once. Only a matter of speed: a module missing here
#: is imported by the job itself.
_SCHEMAS = ("yaml", "jsonschema")
_TABLES = (*_BASE, "ldn_evidence.io.tables")
_EFFECTS = (*_TABLES, *_SCIPY, "ldn_evidence.effects.normalize")
_CERTAINTY = (*_TABLES, *_SCHEMAS, "ldn_evidence.certainty.output")
NEEDS = {  # loaded in the order of PRELOAD, whatever the order here
    "validate": (*_BASE, *_SCHEMAS, "ldn_evidence.io.validate"),
    "ingest": (*_TABLES, *_SCHEMAS, "ldn_evidence.io.validate"),
    "effects": _EFFECTS,
    "analyses": (
        *_EFFECTS,
        *_SCHEMAS,
        "ldn_evidence.analysis.plan",
        "ldn_evidence.analysis.run",
        "ldn_evidence.analysis.output",
    ),
    "certainty": _CERTAINTY,
    "claims": _CERTAINTY,
    "changes": (*_BASE, "ldn_evidence.changes"),
    "figures": (
        *_TABLES,
        *_MPL,
        "ldn_evidence.plots",
        "ldn_evidence.plots.render:_drawing_version",
    ),
    "report": (*_TABLES, "yaml", "jinja2", "ldn_evidence.report.render:compile_templates"),
}

#: Settings of the server's own process that keep it single-threaded, so that forking it is
#: safe: OpenBLAS starts a pool of threads when numpy is imported, and pyarrow's jemalloc starts
#: a background thread. Neither changes a result: the matrices here are far below the size at
#: which OpenBLAS would use a second thread.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "JE_ARROW_MALLOC_CONF": "background_thread:false"}

_MAX_REQUEST = 16 * 1024 * 1024


def available() -> bool:
    """Whether a server can run on this platform (Linux with ``os.pidfd_open``)."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


# ---- the server's side --------------------------------------------------------------------------


class _Job:
    """A running job: the command's connection and the forked child."""

    __slots__ = ("conn", "pid", "pidfd", "started")

    def __init__(self, conn: socket.socket, pid: int, pidfd: int, started: float) -> None:
        self.conn, self.pid, self.pidfd, self.started = conn, pid, pidfd, started


def serve(
    address: str, preload: Sequence[str] = PRELOAD, needs: dict[str, Sequence[str]] = NEEDS
) -> None:
    """Listen at ``address`` and fork a child per job until standard input closes.

    The modules of ``preload`` are imported one at a time whenever no job is waiting; a job
    that comes early first has the server import those of its command's ``needs`` that are
    not loaded yet (the rest its child imports itself, if it needs them). A module that fails
    to import is skipped (the job that needs it reports the error). At the end the server
    kills the jobs still running and exits at once: an interpreter with a thousand modules
    takes a while to tear down, and nothing needs it.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(128)
    _log(f"listening at {address}")
    ours = identity()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "lifeline")
    jobs: dict[int, _Job] = {}
    todo = list(preload)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        while True:
            events = selector.select(timeout=0 if todo else None)
            if not events and todo:
                _preload(todo.pop(0), done=not todo)
            for key, _ in events:
                if key.data == "lifeline":
                    if not os.read(0, 4096):
                        return
                elif key.data == "accept":
                    job = _accept(listener, ours, selector, jobs, todo, needs)
                    if job is not None:
                        jobs[job.pid] = job
                        selector.register(job.pidfd, selectors.EVENT_READ, ("ended", job.pid))
                        selector.register(job.conn, selectors.EVENT_READ, ("gone", job.pid))
                elif key.data[0] == "gone":
                    # The command was killed (or closed early): stop what it asked for.
                    job = jobs.get(key.data[1])
                    if job is not None:
                        selector.unregister(job.conn)
                        _log(f"job {job.pid} stopped: its command went away")
                        _kill(job.pid)
                elif key.data[0] == "ended":
                    job = jobs.pop(key.data[1])
                    selector.unregister(job.pidfd)
                    _, status = os.waitpid(job.pid, 0)
                    _finish(job, selector, os.waitstatus_to_exitcode(status))
    finally:
        for job in jobs.values():
            _kill(job.pid)
        for job in jobs.values():
            os.waitpid(job.pid, 0)
        with contextlib.suppress(OSError):
            os.unlink(address)
            os.rmdir(os.path.dirname(address))  # the private folder of start(), once empty
        _log("stopped")
        os._exit(0)


def _preload(name: str, done: bool) -> None:
    import importlib

    module, _, function = name.partition(":")
    try:
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()
    except Exception as exc:  # reported by the job that imports it
        _log(f"not preloaded: {name} ({type(exc).__name__}: {exc})")
    if done:
        _log(f"preloaded: {len(sys.modules)} modules")


def _accept(listener, ours, selector, jobs, todo, needs) -> _Job | None:
    conn, _ = listener.accept()
    fds: list[int] = []
    try:
        conn.settimeout(10)
        request, fds = _read_request(conn)
        conn.settimeout(None)
        mismatch = [IDENTITY[k] for k in ours if request.get(k) != ours[k]]
        if len(fds) != 3 or mismatch:
            reason = f"another {', '.join(mismatch)}" if mismatch else "no standard streams"
            conn.sendall(f"declined {reason}\n".encode())
            conn.close()
            return None
        command = request["argv"][0] if request["argv"] else None
        missing = [name for name in todo if name in needs.get(command, ())]
        if missing:
            started = time.monotonic()
            for name in missing:
                todo.remove(name)
                _preload(name, done=not todo)
            seconds = time.monotonic() - started
            _log(f"loaded for {command} in {seconds:.2f} s: {', '.join(missing)}")
        inherited = [listener.fileno(), selector.fileno(), 0]
        inherited += [fd for job in jobs.values() for fd in (job.conn.fileno(), job.pidfd)]
        conn.sendall(b"accepted\n")
        # The preloaded objects go to the collector's permanent generation: a child's garbage
        # collections then skip them instead of walking (and copying) every inherited page.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the job
            _run_child(request, fds, conn, inherited)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        _log(f"job {pid} started: {' '.join(request['argv'][:3])}")
        return _Job(conn, pid, pidfd, time.monotonic())
    except (OSError, ValueError) as exc:
        _log(f"a request failed: {exc}")
        conn.close()
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    try:
        return _parse_request(conn, data), fds
    except BaseException:
        for fd in fds:  # the streams of a request that is refused are not kept
            os.close(fd)
        raise


def _parse_request(conn: socket.socket, data: bytes) -> dict:
    while len(data) < HEADER.size or len(data) < HEADER.size + HEADER.unpack_from(data)[0]:
        if len(data) >= HEADER.size and HEADER.unpack_from(data)[0] > _MAX_REQUEST:
            raise ValueError("request too large")
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("truncated request")
        data += chunk
    text = data[HEADER.size : HEADER.size + HEADER.unpack_from(data)[0]]
    try:  # a literal only: nothing in it is evaluated
        request = ast.literal_eval(text.decode("utf-8"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not a request ({type(exc).__name__})") from None
    if not isinstance(request, dict) or not all(
        isinstance(request.get(key), kind)
        for key, kind in (("argv", list), ("cwd", str), ("env", dict))
    ):
        raise ValueError("malformed request")
    return request


def _run_child(request: dict, fds: list[int], conn: socket.socket, inherited: list[int]) -> None:
    """In the forked child: become the job's process, run the command, exit with its status."""
    import traceback

    code = 1
    try:
        conn.close()
        for fd in inherited:
            os.close(fd)
        become(request, fds)
        code = run_command(request["argv"])
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def become(request: dict, fds: Sequence[int]) -> None:
    """Make this (forked) process the one the command would have started.

    Its standard streams become ``fds``; its working directory, environment and arguments
    those of the request; SIGTERM and SIGINT act as in a new interpreter.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [sys.argv[0], *request["argv"]]


def run_command(argv: Sequence[str]) -> int:
    """Run ``ldn_evidence`` with ``argv`` as ``python -m ldn_evidence`` would; its exit status."""
    import traceback

    try:
        from ldn_evidence.cli import main

        return _exit_status(main(list(argv)))
    except SystemExit as exc:
        return _exit_status(exc.code)
    except BaseException:
        traceback.print_exc()
        return 1


def _exit_status(code: object) -> int:
    """The process exit status of ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _finish(job: _Job, selector, code: int) -> None:
    seconds = time.monotonic() - job.started
    _log(f"job {job.pid} ended: exit {code} after {seconds:.2f} s")
    try:
        if job.conn.fileno() in selector.get_map():
            selector.unregister(job.conn)
        job.conn.sendall(f"exit {code}\n".encode())
    except OSError:
        pass  # the command is gone
    job.conn.close()
    os.close(job.pidfd)


def _kill(pid: int) -> None:
    """End a job at once. SIGKILL, not SIGTERM: a SIGTERM that arrives between the fork and
    the child's reset of the server's handler is lost, and a job has nothing to clean up (its
    files are written atomically; Snakemake re-runs an incomplete job)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_on_signal(signum, frame) -> None:
    raise SystemExit(0)


_BORN = time.monotonic()


def _log(text: str) -> None:
    """A line of the server's log, with the seconds since the server started (a timeline of
    the run's jobs)."""
    elapsed = time.monotonic() - _BORN
    print(f"[job server {os.getpid()}] {elapsed:7.2f} s  {text}", file=sys.stderr, flush=True)


# ---- the workflow's side ------------------------------------------------------------------------


class Server:
    """A running server started by :func:`start` (stopped by :meth:`stop` or at exit)."""

    def __init__(self, process, folder: Path) -> None:
        self.process, self.folder = process, folder
        self.address = str(folder / "socket")

    def stop(self, timeout: float = 10.0) -> None:
        """Close the lifeline and wait for the server to end its jobs and exit."""
        import shutil
        import subprocess

        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(python: str, log: Path | None = None) -> Server | None:
    """Start a server for the jobs run by ``python`` (None where none can run).

    It listens at ``<private temporary folder>/socket``; set :data:`ENV` to
    ``server.address`` for the jobs. Its messages (one line per job) go to ``log``.
    """
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    if not available():
        return None
    folder = Path(tempfile.mkdtemp(prefix="ldn-evidence-jobs-"))
    address = folder / "socket"
    if len(os.fsencode(address)) >= 100:  # the limit of a Unix socket path (sun_path)
        folder.rmdir()
        return None
    env = dict(os.environ, **SINGLE_THREADED)
    env.pop(ENV, None)
    output = open(log, "wb") if log is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            [python, "-m", "ldn_evidence.jobserver", str(address)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=output,
            env=env,
            start_new_session=True,  # not interrupted by the terminal's Ctrl-C: the jobs are
        )
    finally:
        if log is not None:
            output.close()
    deadline = time.monotonic() + 10
    while not address.exists():  # listening comes first, before any import
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            shutil.rmtree(folder, ignore_errors=True)
            return None
        time.sleep(0.005)
    return Server(process, folder)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m ldn_evidence.jobserver SOCKET_PATH", file=sys.stderr)
        return 2
    serve(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
