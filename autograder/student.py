"""Reach a submission's functions: the one way graded suites call student code.

Suites never import the student's module; they call ``student.<function>(...)`` through the
``student`` fixture, which returns a :class:`StudentFunctions`. This module provides the
in-process implementation; the call protocol (positional and keyword arguments in, the
function's return value out, inputs checked for in-place modification) is what any other way
of running student code must keep.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


class SubmissionProblem(AssertionError):
    """The submission cannot provide a function: file missing, import failed, name missing."""


class StudentFunctions:
    """Attribute access to the functions of a student's module.

    Args:
        folder: the folder holding the student's files (put first on ``sys.path``).
        module_name: the module that holds the graded functions, for example ``"conv"``.
    """

    def __init__(self, folder: Path, module_name: str) -> None:
        self.folder = folder
        self.module_name = module_name
        self._module: Any = None
        self._import_error: str | None = None

    def _load(self) -> Any:
        if self._module is not None:
            return self._module
        if self._import_error is not None:
            raise SubmissionProblem(self._import_error)
        if not (self.folder / f"{self.module_name}.py").is_file():
            self._import_error = f"{self.module_name}.py was not found in the submission"
            raise SubmissionProblem(self._import_error)
        sys.path.insert(0, str(self.folder))
        try:
            self._module = importlib.import_module(self.module_name)
        except BaseException as error:  # a broken submission must not stop the grader
            self._import_error = (
                f"importing {self.module_name}.py failed: {type(error).__name__}: {error}"
            )
            raise SubmissionProblem(self._import_error) from None
        return self._module

    def __getattr__(self, function_name: str) -> Callable[..., Any]:
        if function_name.startswith("_"):
            raise AttributeError(function_name)
        module = self._load()
        function = getattr(module, function_name, None)
        if not callable(function):
            raise SubmissionProblem(
                f"{self.module_name}.py has no function {function_name}(); "
                f"keep the names and signatures of the template"
            )
        return _checked_call(function, function_name)


def _checked_call(function: Callable[..., Any], function_name: str) -> Callable[..., Any]:
    """Wrap ``function`` so that modifying an array argument in place fails the test."""

    def call(*args: Any, **kwargs: Any) -> Any:
        labelled = list(_label_arguments(function, args, kwargs))
        snapshots = [(label, array, array.copy()) for label, array in labelled]
        result = function(*args, **kwargs)
        for label, array, before in snapshots:
            if array.shape != before.shape or not np.array_equal(array, before, equal_nan=True):
                raise AssertionError(
                    f"{function_name}() modified its input {label} in place; "
                    f"functions must leave their inputs unchanged (work on copies)"
                )
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
