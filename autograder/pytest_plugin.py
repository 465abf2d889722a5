"""The pytest plugin behind every graded suite (registered as the ``autograder`` plugin).

Command-line options::

    pytest assignments/conv --submission PATH [--results results.json]

``--submission`` is a folder shaped like ``student_template/``, a zip of one, or the single
``<name>.py``; without it, a suite looks for the student's files in the parent folder of the
test file (how students run the public tests inside their copy of the template).

Markers::

    pytestmark = [pytest.mark.assignment("conv")]   # whose functions the tests call
    @pytest.mark.points(2)                          # points of each collected test item
    @pytest.mark.visibility("after_published")      # Gradescope visibility of the test

Fixtures: ``student`` (the submission's functions), ``reference`` (the reference solution,
in the instructor's checkout only), ``rng`` (a ``numpy.random.Generator`` seeded from the
submission's content and the test's name, so each submission gets its own numbers and the same
submission always gets the same ones).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.assignments import REPO_ROOT, SOLUTIONS_DIR, UnknownAssignmentError, load_assignment
from autograder.student import StudentFunctions
from autograder.submission import SubmissionError, collect_submission, content_digest

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

_results_key = pytest.StashKey[dict[str, "TestResult"]]()
_students_key = pytest.StashKey[dict[str, "LoadedSubmission"]]()


@dataclass
class TestResult:
    """One graded test's outcome, in Gradescope's vocabulary."""

    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    output: str = ""


@dataclass
class LoadedSubmission:
    """A submission's functions for one assignment and the digest that seeds its inputs."""

    functions: StudentFunctions
    digest: str


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "CNN assignment grading")
    group.addoption(
        "--submission",
        default=None,
        help="student submission: a folder shaped like student_template/, a zip, or <name>.py",
    )
    group.addoption("--results", default=None, help="write per-test results as JSON to this path")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "assignment(name): whose functions the tests call")
    config.addinivalue_line("markers", "points(n): points awarded when this test passes")
    config.addinivalue_line(
        "markers", "visibility(v): Gradescope visibility: " + ", ".join(VISIBILITIES)
    )
    config.stash[_results_key] = {}
    config.stash[_students_key] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("assignment") is None:
            continue
        points = item.get_closest_marker("points")
        if points is None or len(points.args) != 1 or not _is_number(points.args[0]):
            raise pytest.UsageError(f"{item.nodeid}: a graded test needs @pytest.mark.points(n)")
        visibility = _visibility(item)
        if visibility not in VISIBILITIES:
            raise pytest.UsageError(
                f"{item.nodeid}: visibility must be one of {VISIBILITIES}, got {visibility!r}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _visibility(item: pytest.Item) -> str:
    marker = item.get_closest_marker("visibility")
    return marker.args[0] if marker is not None and marker.args else "visible"


def _assignment_name(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("assignment")
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: mark the module with pytest.mark.assignment('<name>')"
        )
    return str(marker.args[0])


def _load_submission(request: pytest.FixtureRequest, name: str) -> LoadedSubmission:
    cache = request.config.stash[_students_key]
    if name in cache:
        return cache[name]
    option = request.config.getoption("submission")
    source = Path(option) if option else Path(request.node.path).parent.parent
    if source.is_dir() and (source / f"{name}.py").is_file():
        folder = source
    else:
        try:
            files: tuple[str, ...] = load_assignment(name).files
        except UnknownAssignmentError:
            files = (f"{name}.py",)
        folder = Path(tempfile.mkdtemp(prefix=f"submission-{name}-"))
        try:
            collect_submission(source, files, folder)
        except SubmissionError as error:
            raise pytest.UsageError(str(error)) from error
    module_file = folder / f"{name}.py"
    digest = content_digest(module_file) if module_file.is_file() else "missing"
    loaded = LoadedSubmission(StudentFunctions(folder, name), digest)
    cache[name] = loaded
    return loaded


@pytest.fixture
def student(request: pytest.FixtureRequest) -> StudentFunctions:
    """The submission's functions: ``student.conv_forward(x, w, b, stride=2)``."""
    return _load_submission(request, _assignment_name(request)).functions


@pytest.fixture
def reference(request: pytest.FixtureRequest) -> Any:
    """The reference solution module ``solutions.<name>`` (instructor's checkout only)."""
    name = _assignment_name(request)
    if not (SOLUTIONS_DIR / f"{name}.py").is_file():
        raise pytest.UsageError(f"the reference solution solutions/{name}.py is not available")
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    return importlib.import_module(f"solutions.{name}")


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the submission's content and this test's name."""
    digest = _load_submission(request, _assignment_name(request)).digest
    test_name = f"{request.node.path.stem}::{request.node.name}"
    seed = hashlib.sha256(f"{digest}:{test_name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(seed[:16], "little"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if item.get_closest_marker("assignment") is None:
        return report
    results = item.config.stash[_results_key]
    points = float(item.get_closest_marker("points").args[0])
    name = f"{item.path.stem}::{item.name}"
    if name not in results:
        results[name] = TestResult(name, 0.0, points, "failed", _visibility(item))
    result = results[name]
    if report.when == "call" and report.passed and not result.output:
        result.score, result.status = points, "passed"
    elif report.failed:
        result.score, result.status = 0.0, "failed"
        result.output = result.output or _failure_message(report)
    elif report.skipped:
        result.score, result.status = 0.0, "failed"
        result.output = result.output or f"skipped: {_failure_message(report)}"
    return report


def _failure_message(report: pytest.TestReport) -> str:
    """The exception's message only: never the test's source, which may be hidden."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # skip reports: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(longrepr).strip().splitlines()[-1] if longrepr else ""


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_results_key] = {}
    session.config._autograder_started = time.perf_counter()  # type: ignore[attr-defined]


def graded_results(config: pytest.Config) -> list[TestResult]:
    """Results of the graded tests that ran in this session, in the order they ran."""
    return list(config.stash[_results_key].values())


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("results")
    if not path:
        return
    results = graded_results(session.config)
    payload = {
        "score": sum(r.score for r in results),
        "max_score": sum(r.max_score for r in results),
        "execution_time": time.perf_counter() - session.config._autograder_started,  # type: ignore[attr-defined]
        "tests": [asdict(r) for r in results],
    }
    Path(path).write_text(json.dumps(payload, indent=2), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = graded_results(config)
    if not results:
        return
    score = sum(r.score for r in results)
    total = sum(r.max_score for r in results)
    passed = sum(r.status == "passed" for r in results)
    terminalreporter.write_sep("=", f"score {score:g} / {total:g} ({passed}/{len(results)} tests)")
