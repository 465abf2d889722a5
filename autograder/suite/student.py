"""Reach a submission's functions: the one way graded suites call student code.

Suites never import the student's module; they call ``student.<function>(...)`` through the
``student`` fixture. By default each call runs in the sandbox (:mod:`autograder.sandbox`): the
grading process never imports or executes student code.
:class:`~autograder.suite.in_process.InProcessFunctions`, the portable runner, imports the
module into the test process instead, with the sandbox's verdicts and messages: for a student's
own machine where the sandbox cannot run, and as the grading benchmark's baseline
(``--in-process``); never to grade.

Either way every call is recorded (name, arguments, result) so that a failed test can be
diagnosed (:mod:`autograder.suite.hints`), and a call that modifies an array argument in place
fails.

:func:`map_batched` evaluates ``[f(v) for v in inputs]`` for an ``f`` that calls a student
function, sending those calls to the sandbox as one batch (one round trip instead of one per
input); :mod:`autograder.suite.gradcheck` uses it for the many calls of a numeric gradient.

A :class:`CallGuard` carries one grading's rules across its tests: a function that timed out is
not run again, and nothing runs once the grading's time budget is spent. A failure of the
grader's own environment (:class:`~autograder.sandbox.GradingError`) is never turned into a
:class:`StudentError`: it reaches the test as it is, and the plugin reports it as a grading
error.
"""

from __future__ import annotations

import builtins
import copy
import inspect
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.sandbox import CallFailed, Sandbox, WireError
from autograder.sandbox.runner import BatchFailed
from autograder.suite.hints import Call


class StudentError(AssertionError):
    """A call of a student function failed: it raised, crashed, timed out, or is missing."""

    function: str = ""
    """The student function whose call failed ("" where no call was made)."""
    kind: str = ""
    """How it failed, where the call was judged (``modified_input``, ``timeout``, ...)."""
    arguments: tuple[tuple[Any, ...], dict[str, Any]] | None = None
    """The failed call's ``(args, kwargs)``."""


RAISABLE = (
    "ArithmeticError",
    "AttributeError",
    "FloatingPointError",
    "IndexError",
    "KeyError",
    "LookupError",
    "NotImplementedError",
    "OverflowError",
    "RuntimeError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
)
"""Built-in exceptions a suite may expect a student function to raise (``pytest.raises``)."""

_RAISED_TYPES: dict[str, type[StudentError]] = {}


def student_error(function: str, message: str, kind: str = "") -> StudentError:
    """The error for a failed call: also an instance of the built-in exception the student's
    code raised (a ``ValueError`` for ``conv_forward raised ValueError: ...``), so suites can
    expect it with ``pytest.raises(ValueError)`` whether or not the call ran in a sandbox.
    ``kind`` is the failure's kind (:class:`~autograder.sandbox.CallFailed`'s)."""
    match = re.match(rf"{re.escape(function)} raised (\w+)(?::|$)", message)
    name = match.group(1) if match else ""
    if name not in RAISABLE:
        error = StudentError(message)
    else:
        if name not in _RAISED_TYPES:
            _RAISED_TYPES[name] = type(
                f"Student{name}", (StudentError, getattr(builtins, name)), {"__module__": __name__}
            )
        error = _RAISED_TYPES[name](message)
    error.kind = kind
    return error


class CallGuard:
    """One grading's rules for the calls of one submission, across all its tests.

    * A function that timed out is not run again: its later calls fail at once with a message
      naming the first timeout (a submission that hangs in every call costs one timeout per
      function, not one per test). Other functions keep running.
    * Once ``budget_s`` seconds have passed since ``started`` (a ``time.monotonic()`` value),
      no call starts: each fails at once. The sandbox is given the same deadline
      (:meth:`~autograder.sandbox.Sandbox.set_deadline`), so a call running then is stopped.

    Args:
        budget_s: the grading's wall-clock budget in seconds (None: no budget).
        started: when the grading started (default: now).
    """

    def __init__(self, budget_s: float | None = None, started: float | None = None) -> None:
        self.budget_s = budget_s
        begin = time.monotonic() if started is None else started
        self.deadline = None if budget_s is None else begin + budget_s
        self.timed_out: dict[str, str] = {}  # function -> why it is not run again

    @property
    def budget_text(self) -> str:
        """``"the grading's time budget of 300 s"``."""
        return f"the grading's time budget of {self.budget_s:g} s"

    def refusal(self, function: str) -> StudentError | None:
        """The error a call of ``function`` fails with at once, or None if it may run."""
        if function in self.timed_out:
            return StudentError(self.timed_out[function])
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return StudentError(f"{self.budget_text} is spent; {function} not run")
        return None

    def note(self, function: str, failure: CallFailed, timeout: float, test: str) -> None:
        """Remember a timeout of ``function`` (in ``test``, after ``timeout`` seconds)."""
        if failure.kind == "timeout" and function not in self.timed_out:
            where = f", in {test}" if test else ""
            self.timed_out[function] = (
                f"{function} timed out earlier in this grading ({timeout:g} s{where}); "
                f"not run again"
            )


class Functions:
    """Attribute access to a submission's functions: ``functions.conv_forward(x, w, b)``.

    Subclasses say how one call runs (:meth:`_runner`) and may run several at once
    (:meth:`_run_many`); this class records each call and serves :func:`map_batched`.
    """

    _calls: list[Call]

    def __getattr__(self, function_name: str) -> Callable[..., Any]:
        if function_name.startswith("_"):
            raise AttributeError(function_name)
        run = self._runner(function_name)

        def call(*args: Any, **kwargs: Any) -> Any:
            active = _ACTIVE.get()
            try:
                outcome = (
                    _MISS if active is None else active.take(self, function_name, args, kwargs)
                )
                if outcome is _MISS:
                    result = run(args, kwargs)
                elif outcome.error is not None:
                    raise outcome.error
                else:
                    result = outcome.value
            except StudentError as error:
                error.function = function_name  # whose call gave no result (for the summary)
                error.arguments = (args, kwargs)  # what it was given (for a diagnosis)
                raise
            self._calls.append(Call(function_name, args, kwargs, result))
            return result

        call.__name__ = function_name
        return call

    def _runner(self, function_name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        raise NotImplementedError

    def _timed(self, seconds: float) -> Functions:
        """These functions, each call limited to ``seconds`` instead (see
        :func:`with_call_timeout`)."""
        raise NotImplementedError

    def _run_many(
        self, function_name: str, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]
    ) -> tuple[list[Any], BaseException | None]:
        """Run ``calls`` in order, stopping at the first that fails: the results of those
        before it, and its error (None when all ran). May run fewer without an error when
        the calls cannot go together (the rest then run one by one)."""
        run = self._runner(function_name)
        results: list[Any] = []
        for args, kwargs in calls:
            try:
                results.append(run(args, kwargs))
            except Exception as error:
                return results, error
        return results, None


class SandboxedFunctions(Functions):
    """Attribute access to the functions of a student's module running in a sandbox.

    Args:
        sandbox: a started (or startable) :class:`~autograder.sandbox.Sandbox`.
        calls: where each call is recorded, for hints.
        backend: where the arrays live during the calls (``numpy``, ``strict``, ``cupy``; see
            :mod:`autograder.core.backends`); arguments and results are NumPy arrays here.
        guard: the grading's :class:`CallGuard` (None: every call runs).
        test: the test making the calls (named in the message of a timeout's later calls).
    """

    def __init__(
        self,
        sandbox: Sandbox,
        calls: list[Call],
        backend: str = "numpy",
        guard: CallGuard | None = None,
        test: str = "",
    ) -> None:
        self._sandbox = sandbox
        self._calls = calls
        self._backend = backend
        self._guard = guard
        self._test = test

    _timeout: float | None = None
    """Seconds one call may take, where not the sandbox's (:func:`with_call_timeout`)."""

    def _timed(self, seconds: float) -> SandboxedFunctions:
        timed = copy.copy(self)
        timed._timeout = seconds
        return timed

    def _refusal(self, function_name: str) -> StudentError | None:
        return None if self._guard is None else self._guard.refusal(function_name)

    def _note(self, function_name: str, failure: CallFailed) -> None:
        if self._guard is not None:
            timeout = self._sandbox.limits.call_timeout if self._timeout is None else self._timeout
            self._guard.note(function_name, failure, timeout, self._test)

    def _runner(self, function_name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        def run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            refused = self._refusal(function_name)
            if refused is not None:
                raise refused
            try:
                return self._sandbox.call(
                    function_name, args, kwargs, backend=self._backend, timeout=self._timeout
                )
            except CallFailed as failure:  # a GradingError is not the student's: it goes on
                self._note(function_name, failure)
                raise student_error(function_name, failure.message, failure.kind) from None

        return run

    def _run_many(
        self, function_name: str, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]
    ) -> tuple[list[Any], BaseException | None]:
        refused = self._refusal(function_name)
        if refused is not None:
            return [], refused
        try:
            return self._sandbox.call_many(function_name, calls, backend=self._backend), None
        except BatchFailed as failure:
            self._note(function_name, failure)
            return failure.results, student_error(function_name, failure.message, failure.kind)
        except WireError:  # no call ran: they run one by one, and that one raises in its turn
            return [], None


def with_call_timeout(functions: Functions, seconds: float) -> Functions:
    """The ``student`` fixture's functions, each call limited to ``seconds`` of wall-clock time
    instead of the grading's ``--call-timeout``: for the one call a test knows to be long (a
    whole training run). The grading's budget still bounds it."""
    if not seconds > 0:
        raise ValueError(f"a call timeout must be positive, got {seconds!r}")
    return functions._timed(float(seconds))


# ------------------------------------------------------------------------ batched evaluation


def map_batched(f: Callable[[Any], Any], inputs: Iterable[Any]) -> list[Any]:
    """``[f(v) for v in inputs]``, with f's calls of student functions made as one batch.

    Meant for an ``f`` such as ``lambda v: student.conv_forward(v, w, b)[0]``: a function of
    its argument that calls one student function and works on its result. It runs in three
    passes: *record* (f runs on each input up to its student call, which is noted, not made,
    and ends f), *run* (the noted calls go to the submission together, in order, stopping at
    the first that fails: one round trip to the sandbox), *replay* (f runs on each input again;
    its student call returns the result the batch got for it, or raises the batch's failure).

    Each result f gets comes from a call with exactly the arguments f passes in the replay
    (compared by value, arrays bit for bit); at the first difference (f is not deterministic,
    or makes a second student call) that call and all later ones are made one by one, as in
    the plain loop (the submission then sees the rest of the batch's calls twice). So for an
    f as above the submission sees the same calls in the same order as with the plain loop.
    Other functions fall back to the plain loop, from the first input where it shows: an f
    that makes no student call (f then runs once per input), fails by itself, swallows the
    exception that ends it while recording, or passes arguments that are not plain data
    (arrays, numbers, strings, and lists, tuples and dicts of them). An f must not depend on
    being called once per input: it runs twice for each input of the batch.
    """
    inputs = list(inputs)
    if not inputs or _ACTIVE.get() is not None:
        return [f(value) for value in inputs]
    recording = _Recording()
    token = _ACTIVE.set(recording)
    try:
        for value in inputs:
            recording.taken = False
            try:
                result = f(value)
            except _Recorded:
                if recording.stopped:
                    break
                continue
            except Exception:  # f fails by itself: it raises again in its turn below
                if recording.taken:  # ... after swallowing _Recorded: not a plain function
                    recording.calls = []
                break
            if recording.taken:  # f swallowed _Recorded: it cannot be recorded
                recording.calls = []
            elif not recording.calls:  # f calls no student function: nothing to batch
                _ACTIVE.reset(token)
                token = None
                return [result, *(f(other) for other in inputs[1:])]
            break
    finally:
        if token is not None:
            _ACTIVE.reset(token)
    calls = recording.calls
    outcomes = _run_recorded(calls)
    token = _ACTIVE.set(_Replay(calls, outcomes))
    try:
        results = [f(value) for value in inputs[: len(calls)]]
    finally:
        _ACTIVE.reset(token)
    return results + [f(value) for value in inputs[len(calls) :]]


class _Recorded(BaseException):
    """Ends ``f`` at its student call while :func:`map_batched` records (a BaseException, so
    that an ``except Exception`` in ``f`` lets it through)."""


@dataclass
class _Noted:
    """A student call noted while recording, with a private copy of its arguments."""

    functions: Functions
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None


_MISS = object()


class _Recording:
    """Notes the first student call ``f`` makes for each input, then ends ``f``."""

    def __init__(self) -> None:
        self.calls: list[_Noted] = []
        self.taken = False  # this input's call is noted
        self.stopped = False  # this input's call cannot be batched: recording ends before it

    def take(self, functions: Functions, name: str, args: Any, kwargs: Any) -> Any:
        if not self.taken and not self.stopped:
            self.taken = True
            try:
                self.calls.append(_Noted(functions, name, _frozen(args), _frozen(kwargs)))
            except _NotPlainData:
                self.stopped = True
        raise _Recorded


class _Replay:
    """Serves the batch's outcomes to the calls ``f`` makes again, while they match."""

    def __init__(self, calls: list[_Noted], outcomes: list[_Outcome]) -> None:
        self.queue = deque(zip(calls, outcomes, strict=False))

    def take(self, functions: Functions, name: str, args: Any, kwargs: Any) -> Any:
        if not self.queue:
            return _MISS
        noted, outcome = self.queue[0]
        if (
            noted.functions is not functions
            or noted.name != name
            or not _same(args, noted.args)
            or not _same(kwargs, noted.kwargs)
        ):
            self.queue.clear()  # out of step: this call and the rest are made one by one
            return _MISS
        self.queue.popleft()
        return outcome


def _run_recorded(calls: list[_Noted]) -> list[_Outcome]:
    """Make the noted calls, those in a row to one function as one batch; stop at a failure."""
    outcomes: list[_Outcome] = []
    start = 0
    while start < len(calls):
        first = calls[start]
        end = start + 1
        while end < len(calls) and calls[end].functions is first.functions:
            if calls[end].name != first.name:
                break
            end += 1
        group = calls[start:end]
        results, error = first.functions._run_many(first.name, [(c.args, c.kwargs) for c in group])
        outcomes.extend(_Outcome(value=result) for result in results)
        if error is not None:
            outcomes.append(_Outcome(error=error))
            break
        if len(results) < len(group):  # those could not go together: made one by one
            break
        start = end
    return outcomes


class _NotPlainData(Exception):
    pass


_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _frozen(value: Any) -> Any:
    """A deep copy of plain data (containers, arrays, scalars); raises _NotPlainData else."""
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.hasobject:
            raise _NotPlainData
        return np.array(value, copy=True, order="K")  # keeps a Fortran order, as the wire does
    if kind is tuple or kind is list:
        return kind(_frozen(item) for item in value)
    if kind is dict:
        return {key: _frozen(item) for key, item in value.items()}
    if kind in _PLAIN or (isinstance(value, np.generic) and not isinstance(value, np.object_)):
        return value
    raise _NotPlainData


def _same(value: Any, frozen: Any) -> bool:
    """Whether ``value`` equals the ``_frozen`` copy, exactly (arrays bit for bit)."""
    kind = type(value)
    if kind is not type(frozen):
        return False
    if kind is np.ndarray:
        return (
            value.dtype == frozen.dtype
            and value.shape == frozen.shape
            and _fortran(value) == _fortran(frozen)
            and value.tobytes() == frozen.tobytes()
        )
    if kind is tuple or kind is list:
        return len(value) == len(frozen) and all(map(_same, value, frozen))
    if kind is dict:
        return list(value) == list(frozen) and all(_same(value[k], frozen[k]) for k in value)
    if kind is float or kind is complex or isinstance(value, np.inexact):  # -0.0, nan: by bits
        return np.asarray(value).tobytes() == np.asarray(frozen).tobytes()
    try:
        return bool(value == frozen)
    except Exception:  # pragma: no cover - plain data compares
        return False


def _fortran(array: np.ndarray) -> bool:
    return bool(array.flags.f_contiguous and not array.flags.c_contiguous)


_ACTIVE: ContextVar[_Recording | _Replay | None] = ContextVar(
    "autograder_student_batching", default=None
)


def label_arguments(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[str, np.ndarray]]:
    """Every ndarray among the arguments (inside dicts, lists and tuples too), with a label."""
    for name, value in _bound(function, args, kwargs).items():
        yield from _arrays_in(value, name)


def label_containers(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[str, dict | list]]:
    """Every dict and list among the arguments (inside dicts, lists and tuples too), with a
    label: what a call must not change either (keys added or removed, items replaced)."""
    for name, value in _bound(function, args, kwargs).items():
        yield from _containers_in(value, name)


def contents(container: dict | list) -> list:
    """The items a dict or list holds now (a dict's ``(key, value)`` pairs), to compare with
    ``messages.container_change`` after a call."""
    return list(container.items()) if isinstance(container, dict) else list(container)


def _bound(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict:
    """The arguments by parameter name (by position when they do not bind)."""
    try:
        return dict(inspect.signature(function).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {f"argument {i}": a for i, a in enumerate(args)} | kwargs


def _containers_in(value: Any, label: str) -> Iterator[tuple[str, dict | list]]:
    if isinstance(value, dict | list):
        yield label, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _containers_in(item, f"{label}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _containers_in(item, f"{label}[{index}]")


def _arrays_in(value: Any, label: str) -> Iterator[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray):
        yield label, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays_in(item, f"{label}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _arrays_in(item, f"{label}[{index}]")
