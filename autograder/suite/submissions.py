"""The submission a session grades: its files, the digest that seeds its inputs, and the
sandbox its functions run in (one per assignment, started early, in the background)."""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.core.assignments import (
    DEFAULT_GRADING_BUDGET_S,
    REPO_ROOT,
    UnknownAssignmentError,
    load_assignment,
)
from autograder.core.backends import gpu_status
from autograder.core.submission import SubmissionError, collect_submission, content_digest
from autograder.sandbox import Limits, Sandbox, platform_problem
from autograder.suite.session import session_of
from autograder.suite.student import CallGuard, StudentError


@dataclass
class LoadedSubmission:
    """A submission's files for one assignment, the digest that seeds its inputs, and the
    sandbox its functions run in (``None`` when run in-process or when the file is missing)."""

    name: str
    folder: Path
    digest: str
    sandbox: Sandbox | None
    guard: CallGuard | None = None  # the grading's time budget and the functions that timed out
    environment_error: str = ""  # the grader could not even hold the files: a grading error
    last_test_file: Path | None = None
    last_test_failed: bool = False

    def needs_fresh_worker(self, test_file: Path) -> bool:
        """Whether the next test must start from the freshly imported module.

        A test starts fresh when it opens a new test file or follows a failed test, so state
        a broken call left behind costs that test alone. Tests of one file that pass share the
        worker (as they would share one process in an in-process grader): restarting it for
        every test would double the grading time of a typical submission.
        """
        fresh = self.last_test_failed or self.last_test_file != test_file
        self.last_test_file, self.last_test_failed = test_file, False
        return fresh


def submission_for(config: pytest.Config, name: str, test_file: Path) -> LoadedSubmission:
    """The submission's files for assignment ``name`` (read once per session)."""
    cache = session_of(config).submissions
    if name in cache:
        return cache[name]
    option = config.getoption("submission")
    source = Path(option) if option else test_file.parent.parent
    try:
        files: tuple[str, ...] = load_assignment(name).files
    except UnknownAssignmentError:
        files = student_files_beside(source, name)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"submission-{name}-"))
        collect_submission(source, files, folder)
    except SubmissionError as error:
        raise pytest.UsageError(str(error)) from error
    except OSError as error:  # the grader's scratch space, not the submission
        loaded = LoadedSubmission(name, Path(tempfile.gettempdir()), "unavailable", None)
        loaded.environment_error = f"the submission's files could not be copied: {error}"
        cache[name] = loaded
        return loaded
    module_file = folder / f"{name}.py"
    present = module_file.is_file()
    digest = content_digest(module_file) if present else "missing"
    sandbox = None
    budget = grading_budget(config, name)
    guard = CallGuard(budget, session_of(config).clock)
    call_timeout = config.getoption("call_timeout")
    if not call_timeout > 0:
        raise pytest.UsageError(f"--call-timeout must be positive, got {call_timeout:g}")
    if present and portable_reason(config) is None:
        results = config.getoption("results")
        hide = (str(Path(results).resolve().parent),) if results else ()
        hide += (str(source.resolve().parent),)  # the class folder: classmates' submissions
        hide += (str(REPO_ROOT),)  # the checkout: reference solutions, hidden suites
        sandbox = Sandbox(
            folder,
            tuple(f for f in files if (folder / f).is_file()),
            name,
            Limits(call_timeout=call_timeout),
            hide=hide,
            gpu=gpu_status().usable,
        )
        sandbox.set_deadline(guard.deadline, guard.budget_text)
    loaded = LoadedSubmission(name, folder, digest, sandbox, guard)
    cache[name] = loaded
    return loaded


PORTABLE_ISOLATION = "none: the portable runner"
"""The isolation a session run by the portable runner reports (then why it was chosen)."""
PORTABLE_NOTICE = (
    "note: your functions ran in this process (the portable runner): the grader's verdicts and "
    "messages, but not the isolated grader"
)
"""The line that says so, in the terminal and in ``autograder check``'s table."""
RUNNER_VARIABLE = "AUTOGRADER_RUNNER"
"""``portable`` runs student code in the test process (the portable runner) even where the
isolated sandbox can run; ``isolated`` insists on the sandbox; unset: the sandbox where it can
run, else the portable runner."""


def portable_reason(config: pytest.Config) -> str | None:
    """Why this session calls the submission's functions in its own process (the portable
    runner, :mod:`autograder.suite.in_process`) instead of the isolated sandbox; None: it
    uses the sandbox."""
    if config.getoption("in_process"):
        return "--in-process"
    choice = os.environ.get(RUNNER_VARIABLE, "").strip().lower()
    if choice not in ("", "portable", "isolated"):
        raise pytest.UsageError(
            f"{RUNNER_VARIABLE}={choice!r}: expected 'portable', 'isolated' or nothing (auto)"
        )
    if choice == "portable":
        return f"{RUNNER_VARIABLE}=portable"
    if choice == "isolated":
        return None
    return platform_problem()


def grading_budget(config: pytest.Config, name: str) -> float:
    """The grading's wall-clock budget: ``--grading-budget``, else the assignment's."""
    option = config.getoption("grading_budget", None)
    if option is not None:
        if not option > 0:
            raise pytest.UsageError(f"--grading-budget must be positive, got {option:g}")
        return float(option)
    try:
        return load_assignment(name).grading_budget_s
    except UnknownAssignmentError:  # a student's machine: the kit's default
        return DEFAULT_GRADING_BUDGET_S


def student_files_beside(source: Path, name: str) -> tuple[str, ...]:
    """Without the kit's assignment config (a student's machine): the module and its siblings."""
    folder = source if source.is_dir() else source.parent
    siblings = sorted(
        p.name
        for p in folder.glob("*.py")
        if p.stem.isidentifier() and p.name != "conftest.py" and not p.name.startswith("test_")
    )
    return tuple(dict.fromkeys([f"{name}.py", *siblings]))


class MissingModule:
    """Stands in for the functions of a submission that lacks the assignment's file."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, function_name: str) -> Any:
        if function_name.startswith("_"):
            raise AttributeError(function_name)
        raise StudentError(f"{self._name}.py was not found in the submission")


def start_early(config: pytest.Config, name: str, test_file: Path) -> None:
    """Start the sandbox of assignment ``name`` in the background (once per session)."""
    if name in session_of(config).submissions:
        return
    try:
        loaded = submission_for(config, name, test_file)
    except pytest.UsageError:
        return  # reported again, properly, by the first test that needs it
    if loaded.sandbox is not None:
        threading.Thread(target=start_quietly, args=(loaded.sandbox,), daemon=True).start()


def start_quietly(sandbox: Sandbox) -> None:
    try:
        sandbox.start()
    except Exception:  # the first call reports what went wrong
        pass
