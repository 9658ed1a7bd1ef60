"""The command's side of the job server (:mod:`ldn_evidence.jobserver`): hand a command over.

This runs at the start of every job of a local workflow run, before anything else, so it
imports only what it needs: the C socket module and ``struct``, no ``json``, ``socket``
wrappers (with their enums) or ``typing``, which cost a job about 35 ms more. The protocol:

- request: a 4-byte big-endian length, then the request dictionary as a Python literal
  (``repr``; the server reads it with ``ast.literal_eval``, which evaluates nothing), sent
  with the command's three standard streams as file descriptors;
- replies, one line each: ``accepted``, or ``declined <reason>``; then ``exit <status>``
  when the job has ended (a negative status: killed by that signal).
"""

from __future__ import annotations

import _socket
import os
import struct
import sys

#: The environment variable that holds the server's socket path (``off``: never use a server).
ENV = "LDN_EVIDENCE_JOB_SERVER"
OFF = "off"

HEADER = struct.Struct(">I")

#: What a command and the server must share for a fork to be the same as a new process, with
#: the words a refusal names it by.
IDENTITY = {
    "python": "interpreter",
    "version": "Python version",
    "path": "import path (sys.path, which starts with the working directory)",
    "package": "ldn_evidence package",
}


def identity() -> dict[str, object]:
    """This process's values of :data:`IDENTITY`."""
    import ldn_evidence

    return {
        "python": sys.executable,
        "version": sys.version,
        "path": list(sys.path),
        "package": os.path.dirname(os.path.realpath(ldn_evidence.__file__)),
    }


def delegate(argv: list[str]) -> int | None:
    """Run ``ldn_evidence`` with ``argv`` in the server; its exit status, or None if not run.

    None means nothing was started (no server, no answer, or a refusal): the caller runs the
    command itself. Once the server has accepted, the job's outcome is the child's exit status;
    if the server goes away before it reports one, this is 1 with a message on standard error.
    """
    address = os.environ.get(ENV, "")
    if not address or address == OFF:
        return None
    request = dict(identity(), argv=list(argv), cwd=os.getcwd(), env=dict(os.environ))
    payload = encode_request(request)
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    replies = _Lines(client)
    try:
        client.connect(address)
        message = HEADER.pack(len(payload)) + payload
        streams = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))]
        sent = client.sendmsg([message], streams)
        client.sendall(message[sent:])
        answer = replies.next()
    except OSError as exc:
        client.close()
        _note(f"no job server at {address} ({exc.strerror or exc}); running the command here")
        return None
    if answer != "accepted":
        client.close()
        reason = answer.removeprefix("declined ") if answer.startswith("declined ") else answer
        _note(f"the job server declined ({reason or 'no reason'}); running here")
        return None
    try:
        ended = replies.next()
    except OSError:
        ended = ""
    finally:
        client.close()
    word, _, number = ended.partition(" ")
    if word != "exit" or not number.lstrip("-").isdigit():
        _note("the job server stopped before the job ended; the job failed")
        return 1
    status = int(number)
    if status < 0:
        _note(f"the job was killed by signal {-status}")
        return 128 - status
    return status


def encode_request(request: dict) -> bytes:
    """The request as the server reads it: a Python literal in UTF-8 (``repr`` escapes what
    UTF-8 cannot hold, such as the lone surrogates of undecodable bytes in the environment)."""
    return repr(request).encode("utf-8")


class _Lines:
    """The lines a socket receives, one at a time (without their newline)."""

    def __init__(self, sock) -> None:
        self._sock, self._pending = sock, b""

    def next(self) -> str:
        while b"\n" not in self._pending:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("the job server closed the connection")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", "replace")


def _note(text: str) -> None:
    print(f"ldn-evidence: {text}", file=sys.stderr, flush=True)
