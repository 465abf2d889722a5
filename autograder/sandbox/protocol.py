"""TRUSTED (the grader's side): the grader's ends of a child's pipes, and the call protocol.

A request is one frame on the request pipe (``wire.frame``: a JSON header; a call's arrays go
through the argument memory file instead, see :mod:`autograder.sandbox.arguments`). The
child answers with frames on the result pipe (``setup``, ``spawned``, ``imported``,
``import_failed``, ``result``, ``failed``, ``stopped``, ``exit``, ``ended``), each a header
naming its ``event`` and, for a call, the ``seq`` of the request it answers. The student's
stdout and stderr come on a third pipe.

:func:`pump` writes a request and reads frames and output until the frame it waits for comes,
against a deadline: it never blocks past it whatever the child does. Every frame is validated
by :class:`wire.FrameReader` and :func:`wire.unpack_message` and counted against the result
limits; anything out of the ordinary marks the child ``broken`` (the caller kills it).
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox import wire
from autograder.sandbox.limits import human_bytes

MAX_FRAMES = 64
"""Most unread messages the grader holds before it calls the child's output garbage."""


@dataclass
class Ledger:
    """The bytes of messages the child sent over the sandbox's life (whatever child sent
    them), bounded by the grading's result budget ``cap``."""

    cap: int
    received: int = 0


@dataclass
class Child:
    """One running child (outer + server) and the grader's ends of its pipes."""

    proc: subprocess.Popen[bytes]
    req: int
    resp: int
    out: int
    life: int
    reader: wire.FrameReader
    ledger: Ledger  # the sandbox's, shared by the children it starts one after another
    result_bytes: int  # most bytes of arrays one message may carry
    server_pid: int | None = None
    pidns: bool = False
    imported: bool = False
    worker: bool = False  # a worker may be running (a call was sent since its last exit)
    eof: bool = False
    req_failed: bool = False
    out_eof: bool = False
    broken: str = ""
    frames: list[tuple[dict[str, Any], list[Any]]] = field(default_factory=list)
    room: int = MAX_FRAMES  # most unread frames held (more during a batch: one per call)
    received: int = 0  # payload bytes read from the result pipe so far
    receive_cap: int | None = None  # ``received`` may not pass it (a batch's result budget)
    early_output: bytes = b""  # read while waiting for the setup report: the import's, if fast
    arguments: int = -1  # the memory file the arguments of each call are written into
    arguments_size: int = 0
    arguments_next: int = 0  # where the next request's arguments go


class Output:
    """The student's stdout/stderr for one call: the first ``cap`` bytes, the rest dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def drain(self, fd: int, wait: float = 0.0) -> bool:
        """Read what is there; False at end of file."""
        if wait > 0:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(max(1, int(wait * 1000))):
                return True
        try:
            for _ in range(64):  # bounded, so a flood cannot keep the caller from its deadline
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return False
                room = self.cap - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                self.dropped += max(0, len(chunk) - max(room, 0))
            return True
        except BlockingIOError:
            return True
        except OSError:
            return False

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped ...]"
        return text


def request(header: dict[str, Any]) -> list[bytes]:
    """A request frame for ``header``, in as few chunks as the pipe needs."""
    return coalesce(wire.frame(wire.pack_message(header, [])))


def pump(
    child: Child,
    output: Output,
    deadline: float,
    send: list[bytes] | list[memoryview] | None,
    until: tuple[str, int | None],
) -> list[memoryview]:
    """Write ``send``, read frames and output, until a frame ``until`` arrives.

    Returns at that frame, at end of file on the result pipe, on garbage, or at the deadline;
    never blocks past the deadline whatever the child does. Returns what of ``send`` is still
    unwritten (to pass to the next call).
    """
    pending = [memoryview(c).cast("B") for c in send or [] if len(c)]
    poller = select.poll()
    if pending:
        poller.register(child.req, select.POLLOUT)
    if not child.eof:
        poller.register(child.resp, select.POLLIN)
    if not child.out_eof:
        poller.register(child.out, select.POLLIN)
    while not arrived(child, until) and not child.eof and not child.broken:
        left = deadline - time.monotonic()
        if left <= 0:
            return pending
        try:
            events = poller.poll(max(1, int(left * 1000) + 1))
        except InterruptedError:  # pragma: no cover
            continue
        for fd, event in events:
            if fd == child.out:
                if not output.drain(child.out):
                    child.out_eof = True
                    poller.unregister(child.out)
            elif fd == child.resp:
                read_frames(child)
                if child.eof:
                    poller.unregister(child.resp)
            elif fd == child.req:
                pending = _write_request(child, pending, event)
                if not pending:
                    poller.unregister(child.req)
    if child.eof and not child.out_eof:
        _last_words(child, output, deadline)
    return pending


def _write_request(child: Child, pending: list[memoryview], event: int) -> list[memoryview]:
    """Write what of ``pending`` the request pipe takes now (``event``: what its poll saw);
    what is left. A pipe the child closed leaves nothing to write (``child.req_failed``)."""
    if event & (select.POLLERR | select.POLLHUP):
        child.req_failed = True
        return []
    try:
        while pending:
            written = os.write(child.req, pending[0])
            pending[0] = pending[0][written:]
            if not len(pending[0]):
                pending.pop(0)
    except BlockingIOError:
        pass
    except OSError:  # the child closed its end
        child.req_failed = True
        return []
    return pending


def _last_words(child: Child, output: Output, deadline: float) -> None:
    """Collect the last output of a child whose result pipe ended, for at most 0.2 s (never
    past ``deadline``)."""
    end = min(deadline, time.monotonic() + 0.2)
    while time.monotonic() < end and output.drain(child.out, wait=end - time.monotonic()):
        pass


def read_frames(child: Child) -> None:
    """Read what the result pipe holds into ``child.frames`` (a bounded amount at a time)."""
    reader = child.reader
    ledger = child.ledger
    try:
        for _ in range(256):  # bounded, so a flood cannot keep the caller from its deadline
            target = reader.buffer()
            if target is None:
                data = os.read(child.resp, reader.wanted())
                if not data:
                    child.eof = True
                    return
                payload = reader.feed_head(data)
            else:
                count = os.readv(child.resp, [target])
                if count == 0:
                    child.eof = True
                    return
                payload = reader.advanced(count)
            if payload is not None:
                child.received += len(payload)
                ledger.received += len(payload)
                if ledger.received > ledger.cap:
                    child.broken = (
                        "more results than the grading's budget of "
                        f"{human_bytes(ledger.cap)} in total"
                    )
                    return
                if child.receive_cap is not None and child.received > child.receive_cap:
                    child.broken = "results larger than the limit in total"
                    return
                header, blobs = wire.unpack_message(payload, max_bytes=child.result_bytes)
                child.frames.append((header, blobs))
                if len(child.frames) > child.room:
                    child.broken = "too many messages"
                    return
    except BlockingIOError:
        return
    except wire.WireError as error:
        child.broken = str(error)
    except OSError as error:
        child.broken = f"reading the result pipe failed: {error}"
        child.eof = True


def arrived(child: Child, until: tuple[str, int | None]) -> bool:
    """Whether a frame of one of the events ``until`` names (``"result|failed"``) came, for
    request ``seq`` (None: any)."""
    if not child.frames:
        return False
    events, seq = until
    names = events.split("|")
    return any(
        h.get("event") in names and (seq is None or h.get("seq") == seq) for h, _ in child.frames
    )


def take(child: Child, event: str) -> dict[str, Any] | None:
    """The header of the first unread ``event`` frame, removed from ``child.frames``."""
    for index, (header, _) in enumerate(child.frames):
        if header.get("event") == event:
            del child.frames[index]
            return header
    return None


def coalesce(chunks: list[bytes]) -> list[bytes]:
    """Join a message's small chunks (the reader wakes once for them, not once each)."""
    joined: list[bytes] = []
    small = bytearray()
    for chunk in chunks:
        if len(chunk) < 1 << 16:
            small += chunk
            continue
        if small:
            joined.append(small)
            small = bytearray()
        joined.append(chunk)
    if small:
        joined.append(small)
    return joined
