"""TRUSTED (the grader's side): one call, or one batch request, sent and answered.

:class:`CallPath` is the part of :class:`~autograder.sandbox.runner.Sandbox` that sends a
request to the child's worker and reads what comes back: the arguments placed in the argument
memory file, the request frame, the answers (``result``, ``failed``, ``stopped``, or the
server's ``exit`` when the worker ended), each validated, decoded and turned into a result or
a :class:`CallFailed`; then the grader's own verdict on the inputs (read back from the
argument memory file). A call that does not answer in time has its worker killed
(:meth:`CallPath._stop_worker`: the server and the imported module are kept when it reports
the worker's end within ``WORKER_KILL_TIMEOUT``). Whatever leaves the child out of step kills
it. It is a mixin: the state it uses is the sandbox's, set in ``Sandbox.__init__``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from autograder.sandbox import spawn
from autograder.sandbox.arguments import argument_labels, changed_call, place_arguments
from autograder.sandbox.batching import Calls, Encoded, join
from autograder.sandbox.failures import (
    BatchFailed,
    CallFailed,
    decode_result,
    exit_failure,
    modified,
    reported_failure,
    timed_out,
)
from autograder.sandbox.limits import Limits
from autograder.sandbox.protocol import MAX_FRAMES, Child, Output, arrived, pump, request

WORKER_KILL_TIMEOUT = 3.0
"""After a call timed out and its worker was killed: how long the server may take to report
the worker's end (then the next call reuses it); past it the whole child is killed instead."""


class CallPath:
    """Sending calls to the worker and reading their answers (a mixin of ``Sandbox``)."""

    module: str
    limits: Limits
    last_output: str
    _deadline_what: str
    _seq: int
    _child: Child | None
    # the sandbox's and ChildLifecycle's (annotations only: a stub here would hide them)
    _check_deadline: Callable[[str], None]
    _wait_until: Callable[[float], tuple[float, bool]]
    _ready: Callable[[], None]
    _teardown: Callable[[], None]
    _death_message: Callable[[Child, str], str]
    _signal_message: Callable[[int, float | None], str]

    def _call_once(
        self, function: str, tree: Any, blobs: list[Any], timeout: float, backend: str
    ) -> Any:
        """``Sandbox.call`` once its arguments are encoded (the lock held, the sandbox started):
        sent again, once, when nobody was left to read the request."""
        for attempt in range(2):
            self.last_output = ""
            self._check_deadline(function)
            self._ready()
            child = self._child
            assert child is not None
            self._seq += 1
            seq = self._seq
            regions = place_arguments(child, blobs)
            frame = request(
                {
                    "op": "call",
                    "seq": seq,
                    "function": function,
                    "args": tree,
                    "shared": regions,
                    "backend": backend,
                }
            )
            output = Output(self.limits.output_bytes)
            deadline, cut = self._wait_until(timeout)
            child.frames = []  # stale frames of earlier calls (a late exit, ...) go
            child.worker = True
            try:
                # the worker answers (result|failed), or the server says it ended (exit)
                pump(child, output, deadline, frame, until=("result|failed|exit", seq))
                if not child.out_eof:  # what it printed just before it answered
                    output.drain(child.out)
            finally:
                self.last_output = output.text()
            mine = any(header.get("seq") == seq for header, _ in child.frames)
            if attempt == 0 and child.req_failed and not mine:
                # nobody was left to read the request (server and worker killed between
                # calls, e.g. by another sandbox's uid sweep): the call never started
                self._teardown()
                continue
            result = self._outcome(child, function, seq, timeout, output, cut)
            self._check_arguments(child, function, regions, blobs, argument_labels(tree), output)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_batch(
        self,
        function: str,
        values: list[Encoded],
        calls: Calls,
        timeout: float,
        results: list[Any],
        backend: str = "numpy",
    ) -> None:
        """Send ``calls`` (of arguments in ``values``) as one request and append their results
        to ``results``: all of them, or some (at least one) when the worker stopped early;
        raises BatchFailed otherwise."""
        trees, blobs, checks = join(values, calls)
        got: list[Any] = []
        failure: CallFailed | None = None
        for attempt in range(2):
            self.last_output = ""
            try:
                self._check_deadline(function)
                self._ready()
            except CallFailed as error:
                failure = error
                break
            child = self._child
            assert child is not None
            batch = (function, trees, calls, blobs, checks)
            failure, heard = self._send_batch(child, batch, timeout, backend, got)
            if attempt == 0 and child.req_failed and not heard:
                # nobody was left to read the request (see ``call``): no call of it started
                self._teardown()
                continue
            break
        if failure is None and not got:  # pragma: no cover - _collect returns one or the other
            failure = CallFailed("bad_result", f"{function} sent no result")
        results.extend(got)
        if failure is not None:
            raise BatchFailed(
                failure.kind, failure.message, failure.output, len(results), results
            ) from None

    def _send_batch(
        self,
        child: Child,
        batch: tuple[str, list[Any], Calls, list[Any], list[list[tuple[int, str]]]],
        timeout: float,
        backend: str,
        got: list[Any],
    ) -> tuple[CallFailed | None, bool]:
        """One try at a batch request (``batch``: the function, the values' trees, the calls,
        the blobs and the checks of :func:`batching.join`): its results into ``got``; its
        failure, if any, and whether the child answered it."""
        function, trees, calls, blobs, checks = batch
        total = len(calls)
        self._seq += 1
        seq = self._seq
        regions = place_arguments(child, blobs)
        header = {
            "op": "batch",
            "seq": seq,
            "function": function,
            "values": trees,
            "calls": calls,
            "shared": regions,
            "backend": backend,
        }
        frame = request(header)
        output = Output(self.limits.output_bytes)
        child.frames = []  # stale frames of earlier calls go
        child.worker = True
        child.room = MAX_FRAMES + total
        child.receive_cap = (
            child.received + self.limits.result_bytes + child.reader.max_frame + (1 << 20)
        )
        try:
            failure, heard = self._collect(child, function, seq, total, frame, timeout, output, got)
            changed = changed_call(child, regions, blobs, checks[: len(got)])
            if changed is not None:  # a call whose result came left its inputs changed
                index, label = changed
                del got[index:]
                failure = modified(function, label, output.text())
        finally:
            child.room, child.receive_cap = MAX_FRAMES, None
            self.last_output = output.text()
        return failure, heard

    def _collect(
        self,
        child: Child,
        function: str,
        seq: int,
        total: int,
        frame: list[bytes],
        timeout: float,
        output: Output,
        got: list[Any],
    ) -> tuple[CallFailed | None, bool]:
        """Read the answers to a batch of ``total`` calls into ``got`` until all came, the
        worker stopped early, or a call failed; returns that failure (None when there is none)
        and whether the child answered the request at all. Whatever leaves the child out of
        step kills it."""
        pending: list[memoryview] | list[bytes] = frame
        deadline, cut = self._wait_until(timeout)
        heard = False
        while True:
            pending = pump(
                child, output, deadline, pending, until=("result|failed|exit|stopped", seq)
            )
            mine = [(h, b) for h, b in child.frames if h.get("seq") == seq]
            child.frames = []
            if mine:
                heard = True
                if not child.out_eof:  # what it printed just before it answered
                    output.drain(child.out)
            if any(h.get("event") == "exit" for h, _ in mine):
                child.worker = False  # the next call forks a new worker
            over, failure = self._batch_answers(function, mine, total, output, got)
            if over:
                return failure, heard
            if child.broken:  # after the answers that came whole before the garbage
                reason = child.broken
                self._teardown()
                message = f"{function} sent data the grader could not read ({reason})"
                return CallFailed("bad_result", message, output.text()), heard
            if mine:
                deadline, cut = self._wait_until(timeout)  # the next call's time starts now
                continue
            if child.eof:
                message = self._death_message(child, f"the process running {self.module}.py died")
                self._teardown()
                return CallFailed("crashed", message, output.text()), heard
            if time.monotonic() >= deadline:
                self._stop_worker(child, seq, output)
                return self._timed_out(function, timeout, cut, output.text()), heard

    def _batch_answers(
        self,
        function: str,
        mine: list[tuple[dict[str, Any], list[Any]]],
        total: int,
        output: Output,
        got: list[Any],
    ) -> tuple[bool, CallFailed | None]:
        """Take a batch's answers ``mine``, in order, into ``got``: whether the batch is over
        (all results came, the worker stopped early, a call failed), and its failure."""
        for header, blobs in mine:
            event, index = header.get("event"), header.get("index")
            if event == "exit":
                return True, self._exit_failure(function, header, output.text())
            if type(index) is not int or index != len(got) or index >= total:
                self._teardown()
                message = f"{function} sent its results out of order"
                return True, CallFailed("bad_result", message, output.text())
            if event == "failed":
                return True, reported_failure(function, header, output.text())
            if event == "stopped":
                if index == 0:
                    self._teardown()
                    message = f"{function} sent no result"
                    return True, CallFailed("bad_result", message, output.text())
                return True, None
            try:
                got.append(self._decode_result(function, header, blobs, output.text()))
            except CallFailed as failure:
                self._teardown()  # the worker may still be running the calls after it
                return True, failure
            if len(got) == total:
                return True, None
        return False, None

    def _check_arguments(
        self,
        child: Child | None,
        function: str,
        regions: list[list[int]],
        blobs: list[Any],
        labels: list[str],
        output: Output,
    ) -> None:
        """Raise ``modified_input`` when a call that answered left its arguments changed."""
        changed = changed_call(child, regions, blobs, [list(enumerate(labels))])
        if changed is not None:
            raise modified(function, changed[1], output.text())

    def _outcome(
        self,
        child: Child,
        function: str,
        seq: int,
        timeout: float,
        output: Output,
        cut: bool = False,
    ) -> Any:
        """The result of call ``seq`` from the frames that came, or its failure (raised)."""
        mine = [(h, b) for h, b in child.frames if h.get("seq") == seq]
        child.frames = []  # stale frames of earlier calls go too
        printed = output.text()
        exits = [h for h, _ in mine if h.get("event") == "exit"]
        answers = [(h, b) for h, b in mine if h.get("event") in ("result", "failed")]
        if child.broken:
            reason = child.broken
            self._teardown()
            raise CallFailed(
                "bad_result", f"{function} sent data the grader could not read ({reason})", printed
            )
        if exits:  # the worker ended during this call; the next call forks a new one
            child.worker = False
        if not answers and not exits:
            if child.eof:
                message = self._death_message(child, f"the process running {self.module}.py died")
                self._teardown()
                raise CallFailed("crashed", message, printed)
            self._stop_worker(child, seq, output)
            raise self._timed_out(function, timeout, cut, output.text())
        if not answers:
            raise self._exit_failure(function, exits[0], printed)
        if len(answers) > 1:
            raise CallFailed("bad_result", f"{function} sent more than one result", printed)
        header, blobs = answers[0]
        if header.get("event") == "failed":
            raise reported_failure(function, header, printed)
        return self._decode_result(function, header, blobs, printed)

    def _stop_worker(self, child: Child, seq: int, output: Output) -> None:
        """After call ``seq`` timed out: kill its worker and keep the server, with the module it
        imported, for the next call, if the server reports the worker's end in time (it kills
        what the worker started, then forks the next worker); otherwise kill the whole child.
        """
        server = child.server_pid
        if server is None or child.eof or child.broken or not spawn.alive(server):
            self._teardown()
            return
        workers = spawn.children_of(server)
        if not workers:
            self._teardown()
            return
        for pid in workers:  # the worker, and orphans the server adopted (it kills them anyway)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        until = ("exit", seq)
        pump(child, output, time.monotonic() + WORKER_KILL_TIMEOUT, None, until=until)
        if not arrived(child, until) or child.broken or child.eof:
            self._teardown()
            return
        child.frames = []
        child.worker = False

    def _timed_out(self, function: str, timeout: float, cut: bool, printed: str) -> CallFailed:
        return timed_out(function, timeout, cut, printed, self._deadline_what)

    def _exit_failure(self, function: str, status: dict[str, Any], printed: str) -> CallFailed:
        return exit_failure(self.module, function, status, printed, self._signal_message)

    def _decode_result(
        self, function: str, header: dict[str, Any], blobs: list[Any], printed: str
    ) -> Any:
        return decode_result(function, header, blobs, printed, self.limits.result_bytes)
