"""TRUSTED (the grader's side): how a call failed, in words a student understands.

The exceptions a :class:`~autograder.sandbox.runner.Sandbox` raises (:class:`CallFailed`,
:class:`BatchFailed`, :class:`GradingError`) and the messages built from what the grader saw
of the child: a signal, an exit status, a ``failed`` frame, a result it could not decode, an
input left changed. What the child sent is validated here before it is believed: a ``failed``
frame names one of :data:`CHILD_KINDS` and a string, or it is ``bad_result``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import Any

from autograder.sandbox import wire
from autograder.sandbox.limits import Limits, human_bytes
from autograder.sandbox.messages import clip, modified_input

KINDS = frozenset(
    {
        "timeout",
        "crashed",
        "exception",
        "import_error",
        "missing_function",
        "bad_result",
        "modified_input",
        "device",
        "budget",
    }
)
CHILD_KINDS = frozenset(
    {"exception", "missing_function", "bad_result", "modified_input", "crashed", "device"}
)


class CallFailed(Exception):
    """A call into student code did not produce a usable result.

    Attributes:
        kind: one of ``timeout``, ``crashed``, ``exception``, ``import_error``,
            ``missing_function``, ``bad_result``, ``modified_input``, ``device`` (host and
            device arrays mixed, see :mod:`autograder.sandbox.devicesim`), ``budget`` (the
            sandbox's deadline, see ``Sandbox.set_deadline``, was reached before or during it).
        message: what happened, in words a student understands.
        output: the student's captured stdout/stderr during the call (capped).
    """

    def __init__(self, kind: str, message: str, output: str = "") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown CallFailed kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.output = output

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (CallFailed, (self.kind, self.message, self.output))

    def __repr__(self) -> str:
        return f"CallFailed({self.kind!r}, {self.message!r})"


class GradingError(Exception):
    """The grader's environment failed, not the submission: no student code was to blame.

    Raised by ``Sandbox.call``/``call_many`` when the sandbox cannot be set up or started (no
    usable null device, a scratch folder that cannot be made or written, the process limit hit
    when starting the child, a student account that cannot be created, a child that fails
    before any student code runs). ``message`` keeps the operating system's own error.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (GradingError, (self.message,))


class BatchFailed(CallFailed):
    """Call ``index`` of a :meth:`Sandbox.call_many` batch failed (the calls after it never ran).

    Attributes:
        index: the position of the failed call in the list given to ``call_many``.
        results: the results of the calls before it, in order (``len(results) == index``).
        kind, message, output: as for :class:`CallFailed`, of the failed call.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        output: str = "",
        index: int = 0,
        results: Sequence[Any] = (),
    ) -> None:
        super().__init__(kind, message, output)
        self.index = index
        self.results = list(results)

    def __reduce__(self) -> tuple[Any, ...]:
        return (BatchFailed, (self.kind, self.message, self.output, self.index, self.results))

    def __repr__(self) -> str:
        return f"BatchFailed({self.kind!r}, {self.message!r}, index={self.index})"


def signal_message(
    module: str,
    limits: Limits,
    number: int,
    cpu: float | None = None,
    memory: str | None = None,
) -> str:
    """What is known of a process killed by signal ``number``: the signal, and the cause only
    where the kit knows it (RLIMIT_CPU sends SIGXCPU, then SIGKILL at the hard limit, which the
    worker's CPU time shows; RLIMIT_FSIZE sends SIGXFSZ). A SIGKILL may come from the system
    (out of memory), another process or the student's own code: it is reported as a signal,
    never as a guess. ``cpu``: the process's CPU seconds, if known; ``memory``: for a SIGKILL
    the sandbox's cgroup counted as an out-of-memory kill, its limit (``"1 GiB (memory.max)"``).
    """
    name = f"{module}.py"
    try:
        label = signal.Signals(number).name
    except ValueError:
        label = "unknown signal"
    killed = f"the process running {name} was killed by signal {number} ({label})"
    at_cpu_limit = cpu is not None and cpu >= limits.cpu_seconds - 0.05
    if number == signal.SIGXCPU:
        return (
            f"{killed}: it used more than its CPU time limit of {limits.cpu_seconds} s "
            f"(RLIMIT_CPU, counted over the calls of one worker)"
        )
    if number == signal.SIGKILL and memory is not None:
        return (
            f"{killed}: the sandbox's processes together used more than its memory "
            f"limit of {memory}"
        )
    if number == signal.SIGKILL and at_cpu_limit:
        return (
            f"{killed} when it reached its CPU time limit of {limits.cpu_seconds} s "
            f"(RLIMIT_CPU, counted over the calls of one worker)"
        )
    if number == signal.SIGXFSZ:
        return (
            f"{killed}: it wrote past the file size limit of "
            f"{human_bytes(limits.file_bytes)} (RLIMIT_FSIZE)"
        )
    return killed


def exit_failure(
    module: str,
    function: str,
    status: dict[str, Any],
    printed: str,
    describe_signal: Callable[[int, float | None], str],
) -> CallFailed:
    """The failure of a call during which the worker ended (the server's ``exit`` frame);
    ``describe_signal(number, cpu)`` words a signal (see :func:`signal_message`)."""
    signal_number = status.get("signal")
    if type(signal_number) is int:
        cpu = status.get("cpu")
        cpu = float(cpu) if type(cpu) in (int, float) else None
        return CallFailed("crashed", describe_signal(signal_number, cpu), printed)
    code = status.get("code")
    if code == 0:
        return CallFailed(
            "crashed",
            f"{function} ended its process (exit status 0) without returning a value; "
            f"graded functions must return (do not call os._exit or exit)",
            printed,
        )
    return CallFailed(
        "crashed",
        f"the process running {module}.py ended with status {code} before {function} sent a result",
        printed,
    )


def reported_failure(function: str, header: dict[str, Any], printed: str) -> CallFailed:
    """The failure a ``failed`` frame reports (validated: it comes from the child)."""
    kind = header.get("kind")
    message = header.get("message")
    if kind not in CHILD_KINDS or type(message) is not str:
        return CallFailed("bad_result", f"{function} sent an unreadable failure", printed)
    return CallFailed(kind, clip(message), printed)


def decode_result(
    function: str, header: dict[str, Any], blobs: list[Any], printed: str, max_bytes: int
) -> Any:
    """The value a ``result`` frame carries; ``bad_result`` when it is not a wire value."""
    try:
        return wire.decode(header.get("value"), blobs, max_bytes=max_bytes)
    except wire.WireError as error:
        raise CallFailed(
            "bad_result",
            f"{function} returned an unusable value ({error}); "
            f"return numpy arrays, tuples, lists, dicts or numbers",
            printed,
        ) from None


def timed_out(
    function: str, timeout: float, cut: bool, printed: str, deadline_what: str
) -> CallFailed:
    """A call that did not answer in time: ``budget`` when the sandbox's deadline (named
    ``deadline_what``) cut its wait short, ``timeout`` otherwise."""
    if cut:
        message = f"{function} was stopped: {deadline_what} ran out during the call"
        return CallFailed("budget", message, printed)
    return CallFailed("timeout", f"{function} did not finish within {timeout:g} s", printed)


def modified(function: str, label: str, printed: str, change: str = "") -> CallFailed:
    """A call that left its input ``label`` changed (the grader read it back; ``change``: how,
    for a dict or list)."""
    return CallFailed("modified_input", modified_input(function, label, change), printed)
