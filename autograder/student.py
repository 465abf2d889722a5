"""Reach a submission's functions: the one way graded suites call student code.

Suites never import the student's module; they call ``student.<function>(...)`` through the
``student`` fixture. By default each call runs in the sandbox (:mod:`autograder.sandbox`): the
grading process never imports or executes student code. :class:`InProcessFunctions` imports
the module into the grading process instead; it exists only as the unsafe baseline that the
grading benchmark compares with (``--in-process``).

Either way every call is recorded (name, arguments, result) so that a failed test can be
diagnosed (:mod:`autograder.hints`), and a call that modifies an array argument in place fails.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograder.hints import Call
from autograder.sandbox import CallFailed, Sandbox


class StudentError(AssertionError):
    """A call of a student function failed: it raised, crashed, timed out, or is missing."""


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


def student_error(function: str, message: str) -> StudentError:
    """The error for a failed call: also an instance of the built-in exception the student's
    code raised (a ``ValueError`` for ``conv_forward raised ValueError: ...``), so suites can
    expect it with ``pytest.raises(ValueError)`` whether or not the call ran in a sandbox."""
    match = re.match(rf"{re.escape(function)} raised (\w+)(?::|$)", message)
    name = match.group(1) if match else ""
    if name not in RAISABLE:
        return StudentError(message)
    if name not in _RAISED_TYPES:
        _RAISED_TYPES[name] = type(
            f"Student{name}", (StudentError, getattr(builtins, name)), {"__module__": __name__}
        )
    return _RAISED_TYPES[name](message)


class SandboxedFunctions:
    """Attribute access to the functions of a student's module running in a sandbox.

    Args:
        sandbox: a started (or startable) :class:`~autograder.sandbox.Sandbox`.
        calls: where each call is recorded, for hints.
    """

    def __init__(self, sandbox: Sandbox, calls: list[Call]) -> None:
        self._sandbox = sandbox
        self._calls = calls

    def __getattr__(self, function_name: str) -> Callable[..., Any]:
        if function_name.startswith("_"):
            raise AttributeError(function_name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = self._sandbox.call(function_name, args, kwargs)
            except CallFailed as failure:
                raise student_error(function_name, failure.message) from None
            self._calls.append(Call(function_name, args, kwargs, result))
            return result

        call.__name__ = function_name
        return call


class InProcessFunctions:
    """Attribute access to the functions of a student's module imported in this process.

    Unsafe (the submission runs with the grader's rights, inside its process): only the
    grading benchmark's baseline uses it.

    Args:
        folder: the folder holding the student's files (put first on ``sys.path``).
        module_name: the module that holds the graded functions, for example ``"conv"``.
        calls: where each call is recorded, for hints.
    """

    def __init__(self, folder: Path, module_name: str, calls: list[Call]) -> None:
        self.folder = folder
        self.module_name = module_name
        self._calls = calls
        self._module: Any = None
        self._import_error: str | None = None

    def _load(self) -> Any:
        if self._module is not None:
            return self._module
        if self._import_error is not None:
            raise StudentError(self._import_error)
        if not (self.folder / f"{self.module_name}.py").is_file():
            self._import_error = f"{self.module_name}.py was not found in the submission"
            raise StudentError(self._import_error)
        sys.path.insert(0, str(self.folder))
        try:
            self._module = importlib.import_module(self.module_name)
        except BaseException as error:  # a broken submission must not stop the grader
            self._import_error = (
                f"importing {self.module_name}.py failed: {type(error).__name__}: {error}"
            )
            raise StudentError(self._import_error) from None
        return self._module

    def __getattr__(self, function_name: str) -> Callable[..., Any]:
        if function_name.startswith("_"):
            raise AttributeError(function_name)
        function = getattr(self._load(), function_name, None)
        if not callable(function):
            raise StudentError(
                f"{self.module_name}.py has no function {function_name}(); "
                f"keep the names and signatures of the template"
            )

        def call(*args: Any, **kwargs: Any) -> Any:
            labelled = list(_label_arguments(function, args, kwargs))
            snapshots = [(label, array, array.copy()) for label, array in labelled]
            result = function(*args, **kwargs)
            for label, array, before in snapshots:
                if array.shape != before.shape or not np.array_equal(array, before, equal_nan=True):
                    raise StudentError(
                        f"{function_name}() modified its input {label} in place; "
                        f"functions must leave their inputs unchanged (work on copies)"
                    )
            self._calls.append(Call(function_name, args, kwargs, result))
            return result

        call.__name__ = function_name
        return call


def _label_arguments(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[str, np.ndarray]]:
    """Every ndarray among the arguments (inside dicts, lists and tuples too), with a label."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"argument {i}": a for i, a in enumerate(args)} | kwargs
    for name, value in bound.items():
        yield from _arrays_in(value, name)


def _arrays_in(value: Any, label: str) -> Iterator[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray):
        yield label, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays_in(item, f"{label}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _arrays_in(item, f"{label}[{index}]")
