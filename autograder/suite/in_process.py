"""The portable runner: the submission imported into the test process itself.

Where the isolated sandbox cannot run (Windows, macOS: it needs Linux's fork, ``memfd`` and
process limits), a student checking their own work runs their own code: there is nothing to
isolate it from. This runner imports the student's module into the pytest process and calls its
functions directly, and makes each call say what the sandbox would: the same verdicts and the
same messages (a student's exception with the traceback of their code, a missing function, an
unusable result, an input modified in place, device discipline on the ``strict`` backend,
a call that did not finish in time), from the same wording
(:mod:`autograder.sandbox.messages`, :mod:`autograder.sandbox.failures`) and the same backend
objects (:mod:`autograder.core.backends`). Results cross the same data-only format
(:mod:`autograder.sandbox.wire`) as from the sandbox.

A call is stopped after its timeout by interrupting the test process's main thread (as Ctrl-C
would; code that swallows ``KeyboardInterrupt`` is not stopped: the pytest run's own watchdog,
armed by the plugin, ends it). It is never used to grade (student code would run with the
grader's powers); the grading benchmark uses it as its baseline (``--in-process``).
"""

from __future__ import annotations

import _thread
import copy
import importlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from autograder.core import backends
from autograder.sandbox import devicesim, failures, messages, wire
from autograder.sandbox.limits import Limits
from autograder.suite.hints import Call
from autograder.suite.student import (
    CallGuard,
    Functions,
    StudentError,
    contents,
    label_arguments,
    label_containers,
    student_error,
)

_SIMULATOR_PRISTINE = devicesim.state()
"""The device simulator before any student code ran in this process (in-process calls)."""
IN_PROCESS_BACKENDS = ("numpy", "strict")
"""The backends whose arrays can live in this process (CuPy's are the sandbox's only)."""


class InProcessFunctions(Functions):
    """Attribute access to the functions of a student's module imported in this process.

    Args:
        folder: the folder holding the student's files (put first on ``sys.path``).
        module_name: the module that holds the graded functions, for example ``"conv"``.
        calls: where each call is recorded, for hints.
        backend: ``numpy``, or ``strict`` (arrays go through the device simulator, installed as
            ``cupy`` in this process before the module is imported).
        guard: the grading's :class:`CallGuard`: no call starts once its budget is spent, and a
            function that timed out is not run again.
        timeout: seconds a call may take (default: the sandbox's).
    """

    def __init__(
        self,
        folder: Path,
        module_name: str,
        calls: list[Call],
        backend: str = "numpy",
        guard: CallGuard | None = None,
        timeout: float | None = None,
    ) -> None:
        if backend not in IN_PROCESS_BACKENDS:
            raise ValueError(f"in-process calls support numpy and strict, not {backend!r}")
        self.folder = folder
        self.module_name = module_name
        self._calls = calls
        self._backend = backend
        self._arrays = backends.backend(backend).arrays(devicesim, pristine=_SIMULATOR_PRISTINE)
        self._guard = guard
        self._timeout = Limits().call_timeout if timeout is None else float(timeout)

    def _load(self) -> Any:
        """The student's module, imported once per process (the sandbox's message if not)."""
        module = sys.modules.get(self.module_name)
        if module is not None and getattr(module, "__file__", "") == str(self._module_file):
            return module
        failed = _IMPORT_FAILURES.get(self._module_file)
        if failed is not None:
            raise StudentError(failed)
        if not self._module_file.is_file():
            raise StudentError(f"{self.module_name}.py was not found in the submission")
        sys.path.insert(0, str(self.folder))
        devicesim.install()
        try:
            return importlib.import_module(self.module_name)
        except BaseException as error:  # a broken submission must not stop the test run
            sys.modules.pop(self.module_name, None)
            prefix = f"importing {self.module_name}.py failed:"
            _IMPORT_FAILURES[self._module_file] = messages.describe_error(
                error, prefix, str(self.folder)
            )
            raise StudentError(_IMPORT_FAILURES[self._module_file]) from None

    def _timed(self, seconds: float) -> InProcessFunctions:
        timed = copy.copy(self)
        timed._timeout = seconds
        return timed

    @property
    def _module_file(self) -> Path:
        return self.folder / f"{self.module_name}.py"

    def _runner(self, function_name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        function = getattr(self._load(), function_name, None)
        if not callable(function):
            raise StudentError(messages.missing_function(self.module_name, function_name))

        def run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            refused = None if self._guard is None else self._guard.refusal(function_name)
            if refused is not None:
                raise refused
            try:
                return self._call(function, function_name, args, kwargs)
            except failures.CallFailed as failure:
                if self._guard is not None:
                    self._guard.note(function_name, failure, self._timeout, "")
                raise student_error(function_name, failure.message, failure.kind) from None

        return run

    def _call(
        self, function: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """One call, judged as the sandbox judges it; raises :class:`CallFailed`."""
        arrays = self._arrays
        snapshots = [
            (label, array, array.copy()) for label, array in label_arguments(function, args, kwargs)
        ]
        arrays.before_call()
        moved_args, moved_kwargs = arrays.put((args, kwargs), {})
        containers = [
            (label, container, contents(container))
            for label, container in label_containers(function, moved_args, moved_kwargs)
        ]
        try:
            with _stopped_after(self._timeout, name):
                result = function(*moved_args, **moved_kwargs)
        except (failures.CallFailed, KeyboardInterrupt):  # a timeout, or the user's Ctrl-C
            raise
        except BaseException as error:  # the student's exception, SystemExit included
            described = messages.describe_error(error, f"{name} raised", str(self.folder))
            violation = arrays.violation()
            if violation is None:
                raise failures.CallFailed("exception", described) from None
            discipline = isinstance(error, devicesim.DeviceDisciplineError)
            message = messages.device_failure(name, violation, described, discipline)
            raise failures.CallFailed("device", message) from None
        violation = arrays.violation()
        if violation is not None:
            raise failures.CallFailed("device", f"{name}: {violation}")
        for label, array, before in snapshots:
            if array.shape != before.shape or not np.array_equal(array, before, equal_nan=True):
                raise failures.modified(name, label, "")
        for label, container, before in containers:
            change = messages.container_change(before, container)
            if change:
                raise failures.modified(name, label, "", change)
        return _as_plain_data(arrays, result, name)


_IMPORT_FAILURES: dict[Path, str] = {}
"""Why a module could not be imported, by file: later calls fail with the same message."""


def _as_plain_data(arrays: backends.Arrays, result: Any, name: str) -> Any:
    """The result read back to NumPy and through the wire format, as from the sandbox."""
    try:
        result = arrays.result_on_host(result, name)
    except backends.WrongDevice as wrong:
        raise failures.CallFailed("device", str(wrong)) from None
    try:
        tree, blobs = wire.encode(result, max_bytes=Limits().result_bytes)
    except wire.WireError as error:
        raise failures.CallFailed(
            "bad_result", messages.bad_result(name, result, str(error))
        ) from None
    return wire.decode(tree, blobs, max_bytes=Limits().result_bytes)


class _TimedOut(BaseException):
    """Raised into a call that ran past its timeout (a BaseException: ``except Exception``
    in student code does not catch it)."""


@contextmanager
def _stopped_after(timeout: float, name: str) -> Iterator[None]:
    """Stop the body after ``timeout`` seconds by interrupting the main thread; raise the
    sandbox's ``timeout`` failure then. In another thread than the main one: no timeout."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    lock, state = threading.Lock(), {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _thread.interrupt_main(signal.SIGINT)

    def on_interrupt(number: int, frame: Any) -> None:
        if state["fired"]:
            raise _TimedOut
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    try:
        try:
            timer.start()
            yield
        finally:
            with lock:
                state["done"] = True
            timer.cancel()
            if state["fired"]:  # the interrupt may still be on its way: let it land here
                for _ in range(100):
                    time.sleep(0.001)
    except _TimedOut:
        raise failures.timed_out(name, timeout, False, "", "") from None
    finally:
        signal.signal(signal.SIGINT, previous)
