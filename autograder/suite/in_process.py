"""UNSAFE baseline: the submission imported into the grading process itself.

Only for measuring what the sandbox costs (``--in-process``, ``benchmarks/bench_grading.py``):
student code runs with the grader's powers here. Arrays of the ``strict`` backend go through the
device simulator, installed as ``cupy`` in this process.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograder.core import backends
from autograder.sandbox import devicesim
from autograder.suite.hints import Call
from autograder.suite.student import (
    CallGuard,
    Functions,
    StudentError,
    label_arguments,
)

_SIMULATOR_PRISTINE = devicesim.state()
"""The device simulator before any student code ran in this process (in-process calls)."""
IN_PROCESS_BACKENDS = ("numpy", "strict")
"""The backends whose arrays can live in this process (CuPy's are the sandbox's only)."""


class InProcessFunctions(Functions):
    """Attribute access to the functions of a student's module imported in this process.

    Unsafe (the submission runs with the grader's rights, inside its process): only the
    grading benchmark's baseline uses it.

    Args:
        folder: the folder holding the student's files (put first on ``sys.path``).
        module_name: the module that holds the graded functions, for example ``"conv"``.
        calls: where each call is recorded, for hints.
        backend: ``numpy``, or ``strict`` (arrays go through the device simulator, installed as
            ``cupy`` in this process before the module is imported).
        guard: the grading's :class:`CallGuard`: no call starts once its budget is spent (calls
            in this process cannot be stopped, so they have no timeout).
    """

    def __init__(
        self,
        folder: Path,
        module_name: str,
        calls: list[Call],
        backend: str = "numpy",
        guard: CallGuard | None = None,
    ) -> None:
        if backend not in IN_PROCESS_BACKENDS:
            raise ValueError(f"in-process calls support numpy and strict, not {backend!r}")
        self.folder = folder
        self.module_name = module_name
        self._calls = calls
        self._backend = backend
        self._arrays = backends.backend(backend).arrays(devicesim, pristine=_SIMULATOR_PRISTINE)
        self._module: Any = None
        self._import_error: str | None = None
        self._guard = guard

    def _load(self) -> Any:
        if self._module is not None:
            return self._module
        if self._import_error is not None:
            raise StudentError(self._import_error)
        if not (self.folder / f"{self.module_name}.py").is_file():
            self._import_error = f"{self.module_name}.py was not found in the submission"
            raise StudentError(self._import_error)
        sys.path.insert(0, str(self.folder))
        devicesim.install()
        try:
            self._module = importlib.import_module(self.module_name)
        except BaseException as error:  # a broken submission must not stop the grader
            self._import_error = (
                f"importing {self.module_name}.py failed: {type(error).__name__}: {error}"
            )
            raise StudentError(self._import_error) from None
        return self._module

    def _runner(self, function_name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        function = getattr(self._load(), function_name, None)
        if not callable(function):
            raise StudentError(
                f"{self.module_name}.py has no function {function_name}(); "
                f"keep the names and signatures of the template"
            )

        arrays = self._arrays

        def run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            refused = None if self._guard is None else self._guard.refusal(function_name)
            if refused is not None:
                raise refused
            labelled = list(label_arguments(function, args, kwargs))
            snapshots = [(label, array, array.copy()) for label, array in labelled]
            arrays.before_call()
            args, kwargs = arrays.put((args, kwargs), {})
            result = function(*args, **kwargs)
            violation = arrays.violation()
            if violation is not None:
                raise StudentError(f"{function_name}: {violation}")
            try:
                result = arrays.result_on_host(result, function_name)
            except backends.WrongDevice as wrong:
                raise StudentError(str(wrong)) from None
            for label, array, before in snapshots:
                if array.shape != before.shape or not np.array_equal(array, before, equal_nan=True):
                    raise StudentError(
                        f"{function_name}() modified its input {label} in place; "
                        f"functions must leave their inputs unchanged (work on copies)"
                    )
            return result

        return run
