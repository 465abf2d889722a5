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
    @pytest.mark.backends("numpy")                  # only these backends (default: all)

Fixtures: ``student`` (the submission's functions), ``reference`` (the reference solution,
in the instructor's checkout only), ``rng`` (a ``numpy.random.Generator`` seeded from the
submission's content and the test's name, so each submission gets its own numbers and the same
submission always gets the same ones), ``backend`` (where the student's functions get their
arrays in this case).

Backends: every graded test that uses ``student`` is collected once per backend of
:mod:`autograder.core.backends` (``test_forward[numpy-...]``, ``[strict-...]``, ``[cupy-...]``); the
suites' code stays the same (arguments and results are NumPy arrays on the grader's side; the
sandbox moves them). The device case that cannot run here is skipped with one reason, carries no
points, and is left out of the results. The ``strict`` case is feedback only (0 points: its
verdicts are observed inside the student's process); where a GPU grades, the ``cupy`` and
``numpy`` cases share the test's points as the assignment's ``[backends] device_share`` says.
"""

from __future__ import annotations

import hashlib
import importlib
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.core.assignments import (
    DEFAULT_GRADING_BUDGET_S,
    DEFAULT_REVEAL_EXPECTED,
    REPO_ROOT,
    SOLUTIONS_DIR,
    UnknownAssignmentError,
    load_assignment,
    reveals_expected,
)
from autograder.core.backends import (
    BACKENDS,
    DEFAULT_DEVICE_SHARE,
    DEVICE_BACKENDS,
    LABELS,
    gpu_status,
    points_share,
    skip_reason,
)
from autograder.core.gradescope import write_results
from autograder.core.submission import SubmissionError, collect_submission, content_digest
from autograder.sandbox import GradingError, Limits, Sandbox
from autograder.suite.compare import ComparisonError
from autograder.suite.conditioning import ConditionedReference, forget_spreads
from autograder.suite.hints import Call, diagnose
from autograder.suite.student import CallGuard, InProcessFunctions, SandboxedFunctions, StudentError

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

_results_key = pytest.StashKey[dict[str, "TestResult"]]()
_students_key = pytest.StashKey[dict[str, "LoadedSubmission"]]()
_calls_key = pytest.StashKey[list[Call]]()
_skipped_key = pytest.StashKey[dict[str, "SkippedBackend"]]()
_result_backends_key = pytest.StashKey[dict[str, str]]()


@dataclass
class TestResult:
    """One graded test's outcome, in Gradescope's vocabulary."""

    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    output: str = ""
    grading_error: str = ""
    """Why the grader's environment failed this test ("" when it did not): not the student's
    failure. In ``results.json`` as the test's ``extra_data.grading_error``."""
    instructor_output: str = ""
    """The full failure message where ``output`` leaves the expected values out ("" where it
    does not): for instructors only. In the suites' ``--results`` file as the test's
    ``extra_data.instructor_output``; :meth:`autograder.grading.grade.GradeReport.to_gradescope`
    drops it from Gradescope's ``results.json``."""


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


@dataclass
class SkippedBackend:
    """The cases of one backend that did not run here, and why."""

    reason: str
    count: int = 0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "CNN assignment grading")
    group.addoption(
        "--submission",
        default=None,
        help="student submission: a folder shaped like student_template/, a zip, or <name>.py",
    )
    group.addoption("--results", default=None, help="write per-test results as JSON to this path")
    group.addoption(
        "--call-timeout",
        type=float,
        default=Limits().call_timeout,
        help="wall-clock seconds one call of a student function may take (default %(default)s)",
    )
    group.addoption(
        "--grading-budget",
        type=float,
        default=None,
        help="wall-clock seconds the whole grading may take; then every remaining student call "
        "fails at once (default: the assignment's [limits] grading_budget_s, else 300)",
    )
    group.addoption(
        "--seed-repeats",
        type=int,
        default=0,
        help="run each test that uses rng with this many different seeds (for checking that "
        "grades do not depend on the seed; default: the one seed of the submission)",
    )
    group.addoption(
        "--in-process",
        action="store_true",
        help="UNSAFE: import the submission into this process instead of the sandbox "
        "(only for measuring the sandbox's overhead)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "assignment(name): whose functions the tests call")
    config.addinivalue_line("markers", "points(n): points awarded when this test passes")
    config.addinivalue_line(
        "markers", "visibility(v): Gradescope visibility: " + ", ".join(VISIBILITIES)
    )
    config.addinivalue_line(
        "markers",
        "backends(*names): run the test's student calls only with these backends "
        "(of " + ", ".join(BACKENDS) + "; default: all)",
    )
    config.stash[_results_key] = {}
    config.stash[_students_key] = {}
    config.stash[_skipped_key] = {}
    config.stash[_result_backends_key] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Collect each graded test that calls student code once per backend (and, with
    ``--seed-repeats N``, each test that uses ``rng`` once per seed)."""
    if metafunc.definition.get_closest_marker("assignment") is None:
        return
    repeats = metafunc.config.getoption("seed_repeats", 0)
    if repeats and "seed_salt" in metafunc.fixturenames:
        salts = [pytest.param(k, id=f"seed{k}") for k in range(repeats)]
        metafunc.parametrize("seed_salt", salts, indirect=True)
    if "student" not in metafunc.fixturenames:
        return
    allowed = _allowed_backends(metafunc.definition)
    if allowed == ("numpy",):  # one case, named as the test
        return
    status = gpu_status()
    params = []
    for name in allowed:
        reason = skip_reason(name, status)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    metafunc.parametrize("backend", params, indirect=True)


def _allowed_backends(item: pytest.Item) -> tuple[str, ...]:
    """The backends a test runs with: its ``backends`` marker's, or all."""
    marker = item.get_closest_marker("backends")
    if marker is None:
        return BACKENDS
    unknown = [name for name in marker.args if name not in BACKENDS]
    if unknown or not marker.args:
        raise pytest.UsageError(
            f"{item.nodeid}: pytest.mark.backends takes names among {BACKENDS}, got {marker.args}"
        )
    return tuple(name for name in BACKENDS if name in marker.args)


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend")


def _device_share(name: str) -> float:
    try:
        return load_assignment(name).device_share
    except UnknownAssignmentError:  # a student's machine: the kit's default
        return DEFAULT_DEVICE_SHARE


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
    return _submission_for(request.config, name, Path(request.node.path))


def _submission_for(config: pytest.Config, name: str, test_file: Path) -> LoadedSubmission:
    """The submission's files for assignment ``name`` (read once per session)."""
    cache = config.stash[_students_key]
    if name in cache:
        return cache[name]
    option = config.getoption("submission")
    source = Path(option) if option else test_file.parent.parent
    try:
        files: tuple[str, ...] = load_assignment(name).files
    except UnknownAssignmentError:
        files = _student_files_beside(source, name)
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
    budget = _grading_budget(config, name)
    guard = CallGuard(budget, getattr(config, "_autograder_clock", None))
    call_timeout = config.getoption("call_timeout")
    if not call_timeout > 0:
        raise pytest.UsageError(f"--call-timeout must be positive, got {call_timeout:g}")
    if present and not config.getoption("in_process"):
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


def _grading_budget(config: pytest.Config, name: str) -> float:
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


def _student_files_beside(source: Path, name: str) -> tuple[str, ...]:
    """Without the kit's assignment config (a student's machine): the module and its siblings."""
    folder = source if source.is_dir() else source.parent
    siblings = sorted(
        p.name
        for p in folder.glob("*.py")
        if p.stem.isidentifier() and p.name != "conftest.py" and not p.name.startswith("test_")
    )
    return tuple(dict.fromkeys([f"{name}.py", *siblings]))


class _MissingModule:
    """Stands in for the functions of a submission that lacks the assignment's file."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, function_name: str) -> Any:
        if function_name.startswith("_"):
            raise AttributeError(function_name)
        raise StudentError(f"{self._name}.py was not found in the submission")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the student's functions get their arrays: ``numpy``, ``strict`` or ``cupy``."""
    return str(getattr(request, "param", "numpy"))


@pytest.fixture
def student(request: pytest.FixtureRequest, backend: str) -> Any:
    """The submission's functions: ``student.conv_forward(x, w, b, stride=2)``."""
    loaded = _load_submission(request, _assignment_name(request))
    calls: list[Call] = []
    request.node.stash[_calls_key] = calls
    if loaded.environment_error:
        raise GradingError(loaded.environment_error)
    if loaded.digest == "missing":
        return _MissingModule(loaded.name)
    if loaded.sandbox is None:
        return InProcessFunctions(loaded.folder, loaded.name, calls, backend, loaded.guard)
    if loaded.needs_fresh_worker(Path(request.node.path)):
        loaded.sandbox.reset()
    test = f"{request.node.path.stem}::{request.node.name}"
    return SandboxedFunctions(loaded.sandbox, calls, backend, loaded.guard, test)


@pytest.fixture
def reference(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The reference solution ``solutions.<name>`` (instructor's checkout only), as a
    :class:`~autograder.suite.conditioning.ConditionedReference`: its results are the module's own,
    and each carries the spread that :func:`~autograder.suite.compare.assert_close` bounds by."""
    name = _assignment_name(request)
    if not (SOLUTIONS_DIR / f"{name}.py").is_file():
        raise pytest.UsageError(f"the reference solution solutions/{name}.py is not available")
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    yield ConditionedReference(importlib.import_module(f"solutions.{name}"))
    forget_spreads()


@pytest.fixture
def forward_oracle(request: pytest.FixtureRequest, student: Any) -> Any:
    """The functions whose numeric gradients a backward is checked against, in public suites:
    ``assert_gradient_close(dx, lambda v: forward_oracle.conv_forward(v, w, b), x, dout)``.

    Where the reference solution is available (``solutions/<name>.py`` exists: the instructor's
    checkout, the Gradescope autograder), the plain reference module ``solutions.<name>``, run
    in this process (it is trusted code). Else (a student's machine, where the public suite is
    feedback) the submission's own functions, the ``student`` fixture's object.

    So a graded backward is measured against the reference's forward: a wrong forward with a
    backward consistent with it buys no gradient points, and the checks' calls (batches of
    inputs that differ in one element) never reach student code while grading, so a submission
    cannot recognise them and answer to match whatever its backward returns. Not the
    :class:`~autograder.suite.conditioning.ConditionedReference` of ``reference``: a numeric
    gradient needs no spread, and would pay for it with several calls per perturbed input. The suite
    passes NumPy arrays whatever the ``backend`` case (as hidden suites pass them to
    ``reference``): only the student's calls move arrays to a device, inside the sandbox. A
    test that uses this fixture is still a public test: it keeps its full messages.
    """
    name = _assignment_name(request)
    if not (SOLUTIONS_DIR / f"{name}.py").is_file():
        return student
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    return importlib.import_module(f"solutions.{name}")


@pytest.fixture
def seed_salt(request: pytest.FixtureRequest) -> int | None:
    """Which of ``--seed-repeats`` seeds this case uses (None without the option)."""
    return getattr(request, "param", None)


@pytest.fixture
def rng(request: pytest.FixtureRequest, seed_salt: int | None) -> np.random.Generator:
    """A generator seeded from the submission's content and this test's name."""
    digest = _load_submission(request, _assignment_name(request)).digest
    test_name = f"{request.node.path.stem}::{request.node.name}"
    key = f"{digest}:{test_name}" if seed_salt is None else f"{digest}:{seed_salt}:{test_name}"
    seed = hashlib.sha256(key.encode()).digest()
    return np.random.default_rng(int.from_bytes(seed[:16], "little"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if item.get_closest_marker("assignment") is None:
        return report
    if report.when == "teardown":  # the calls' arguments and results served this test's hints
        item.stash[_calls_key] = []  # only: a long grading must not keep them all
    results = item.config.stash[_results_key]
    points = float(item.get_closest_marker("points").args[0])
    backend = _backend_of(item)
    if backend is not None:
        reason = skip_reason(backend, gpu_status())
        if reason is not None:  # this backend does not run here: no points, not in results
            if report.when == "setup":
                skipped = item.config.stash[_skipped_key].setdefault(
                    backend, SkippedBackend(reason)
                )
                skipped.count += 1
            return report
        marker = item.get_closest_marker("assignment")
        share = _device_share(str(marker.args[0]))
        if not set(_allowed_backends(item)) & set(DEVICE_BACKENDS):
            share = 0.0  # no device case: the numpy case carries all the points
        points = _points(points * points_share(backend, share, gpu_status().usable))
    name = f"{item.path.stem}::{item.name}"
    if backend is not None:
        item.config.stash[_result_backends_key][name] = backend
    if name not in results:
        results[name] = TestResult(name, 0.0, points, "failed", _visibility(item))
    result = results[name]
    environment = _grading_error(call)
    if report.when == "call" and report.passed and not result.output:
        result.score, result.status = points, "passed"
    elif report.failed:
        result.score, result.status = 0.0, "failed"
        _mark_failed(item)
        if environment and not result.grading_error:  # the grader's failure, not the student's
            result.grading_error = environment
            result.output = f"{GRADING_ERROR_PREFIX}: {environment}"
        elif not result.output:
            hints = _hint_lines(item)
            full, redacted = _failure_messages(report, call)
            if redacted != full and not _shows_expected(item):
                result.output, result.instructor_output = redacted + hints, full + hints
            else:
                result.output = full + hints
    elif report.skipped:
        result.score, result.status = 0.0, "failed"
        result.output = result.output or f"skipped: {_failure_message(report)}"
    return report


def _keeps_secrets(item: pytest.Item) -> bool:
    """Whether a test's expected values are the reference's secrets: a test of a hidden suite
    (not ``visible``, or using the ``reference`` fixture, or in a ``hidden/`` folder). A public
    test's expected values are known answers that students compute themselves."""
    return (
        _visibility(item) != "visible"
        or "reference" in getattr(item, "fixturenames", ())
        or Path(item.path).parent.name == "hidden"
    )


def _reveal_expected(item: pytest.Item) -> str:
    """The assignment's ``[feedback] reveal_expected`` (the kit's default where unknown)."""
    marker = item.get_closest_marker("assignment")
    try:
        return load_assignment(str(marker.args[0])).reveal_expected
    except (UnknownAssignmentError, IndexError, AttributeError):
        return DEFAULT_REVEAL_EXPECTED


def _shows_expected(item: pytest.Item) -> bool:
    """Whether this test's student-visible output may show expected values: a public test
    always; a hidden-suite test when Gradescope shows it (its visibility) no earlier than the
    assignment's ``reveal_expected`` allows."""
    if not _keeps_secrets(item):
        return True
    return reveals_expected(_reveal_expected(item), _visibility(item))


GRADING_ERROR_PREFIX = "grading error (the grader's environment failed, not the submission)"


def _grading_error(call: pytest.CallInfo[None]) -> str:
    """The message of the :class:`GradingError` this phase of a test raised ("" if none)."""
    excinfo = call.excinfo
    if excinfo is None or not excinfo.errisinstance(GradingError):
        return ""
    return str(excinfo.value)


def _mark_failed(item: pytest.Item) -> None:
    """The next test of this assignment starts from a fresh worker."""
    marker = item.get_closest_marker("assignment")
    loaded = item.config.stash[_students_key].get(str(marker.args[0])) if marker.args else None
    if loaded is not None:
        loaded.last_test_failed = True


MAX_MESSAGE = 2000


WITHHELD = "a check of this hidden test failed (the values it compared are withheld)"


def _failure_messages(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[str, str]:
    """The failure's message in full, and without expected values.

    A :class:`~autograder.suite.compare.ComparisonError` carries both. Of any other
    ``AssertionError`` (a suite's plain ``assert``, ``numpy.testing``) the redacted message is
    the first line of its own message only: pytest's explanation of an ``assert`` (``assert 3
    == 7``, the values of both sides and the test's expressions) and the arrays that
    ``numpy.testing`` prints below its first line are left out. A failed call of the
    student's function (:class:`~autograder.suite.student.StudentError`) keeps its message: it is
    the student's own error.
    """
    full = _failure_message(report)
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, ComparisonError):
        return _clip(error.full), _clip(error.redacted)
    if isinstance(error, AssertionError) and not isinstance(error, StudentError):
        lines = [line for line in full.splitlines() if line.strip()]
        first = lines[0].strip() if lines else ""
        if not first or first.startswith("assert ") or first == "assert":
            return full, WITHHELD
        return full, first
    return full, full


def _clip(message: str) -> str:
    return message[:MAX_MESSAGE] + " [...]" if len(message) > MAX_MESSAGE else message


def _failure_message(report: pytest.TestReport) -> str:
    """The exception's message only: never the test's source, which may be hidden."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # skip reports: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        message = crash.message
    else:
        message = str(longrepr).strip().splitlines()[-1] if longrepr else ""
    message = message.removeprefix("AssertionError: ").removeprefix(
        "autograder.suite.compare.ComparisonError: "
    )
    if message.startswith("autograder.suite.student.Student"):  # our wrapper of a failed call
        message = message.split(": ", 1)[-1]
    return _clip(message)


def _hint_lines(item: pytest.Item) -> str:
    """``\nhint: ...`` lines naming the likely bug, where the reference is available.

    Hints name a suspected mistake and print no reference value (see :mod:`autograder.suite.hints`),
    so hidden tests show them before their expected values may be shown."""
    calls = item.stash.get(_calls_key, [])
    name_marker = item.get_closest_marker("assignment")
    if not calls or name_marker is None:
        return ""
    name = str(name_marker.args[0])
    if not (SOLUTIONS_DIR / f"{name}.py").is_file():
        return ""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    try:
        reference = importlib.import_module(f"solutions.{name}")
    except ImportError:
        return ""
    return "".join(f"\nhint: {hint}" for hint in diagnose(reference, calls))


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_results_key] = {}
    session.config._autograder_started = time.perf_counter()  # type: ignore[attr-defined]
    session.config._autograder_clock = time.monotonic()  # type: ignore[attr-defined]
    if session.config.getoption("results"):
        _stop_on_sigterm()
    if session.config.getoption("submission"):
        for path in session.config.args:  # suites of the kit: assignments/<name>/<suite>
            config_file = Path(path).resolve().parent / "assignment.toml"
            if config_file.is_file():
                _start_early(session.config, config_file.parent.name, Path(path))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start each assignment's sandbox, if not started yet, while pytest gets ready to run."""
    for item in session.items:
        marker = item.get_closest_marker("assignment")
        if marker is not None and marker.args:
            _start_early(session.config, str(marker.args[0]), Path(item.path))


def _start_early(config: pytest.Config, name: str, test_file: Path) -> None:
    """Start the sandbox of assignment ``name`` in the background (once per session)."""
    if name in config.stash[_students_key]:
        return
    try:
        loaded = _submission_for(config, name, test_file)
    except pytest.UsageError:
        return  # reported again, properly, by the first test that needs it
    if loaded.sandbox is not None:
        threading.Thread(target=_start_quietly, args=(loaded.sandbox,), daemon=True).start()


def _start_quietly(sandbox: Sandbox) -> None:
    try:
        sandbox.start()
    except Exception:  # the first call reports what went wrong
        pass


def graded_results(config: pytest.Config) -> list[TestResult]:
    """Results of the graded tests that ran in this session, in the order they ran."""
    return list(config.stash[_results_key].values())


_stopped_by: list[str] = []  # the signal that cut this session short, if one did
_sigterm_before: list[Any] = []  # the SIGTERM handler to restore when the session ends


def _stop_on_sigterm() -> None:
    """SIGTERM (``grade`` stopping a run past its timeout) ends the session as Ctrl-C does, so
    that ``pytest_sessionfinish`` still writes the results of the tests that ran."""

    def stop(number: int, frame: Any) -> None:
        _stopped_by.append(signal.Signals(number).name)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the results must get written
        raise KeyboardInterrupt(f"stopped by {_stopped_by[0]}")

    if threading.current_thread() is threading.main_thread():
        del _stopped_by[:]
        _sigterm_before[:] = [signal.signal(signal.SIGTERM, stop)]


def _restore_sigterm() -> None:
    if _sigterm_before and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_before.pop())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close every sandbox, then write ``--results`` (atomically), whatever happened."""
    if _sigterm_before and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing may stop the results' writing
    try:
        _finish(session, exitstatus)
    finally:
        _restore_sigterm()


def _finish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    isolation = []
    problems: list[str] = []
    for loaded in config.stash.get(_students_key, {}).values():
        if loaded.environment_error:
            problems.append(loaded.environment_error)
        if loaded.sandbox is not None:
            try:
                loaded.sandbox.close()  # every child is dead before any result is written
            except Exception as error:  # the results get written anyway
                problems.append(f"closing the sandbox failed: {type(error).__name__}: {error}")
            isolation.append(loaded.sandbox.isolation)
            if loaded.sandbox.environment_error:
                problems.append(loaded.sandbox.environment_error)
    path = config.getoption("results")
    if not path:
        return
    results = graded_results(config)
    problems += [r.grading_error for r in results if r.grading_error]
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        how = f"stopped by {_stopped_by[0]}" if _stopped_by else "interrupted"
        problems.insert(0, f"grading was {how} after {len(results)} graded tests")
    if config.getoption("in_process"):
        isolation.append("none: --in-process")
    payload: dict[str, Any] = {
        "isolation": next((i for i in isolation if i != "full"), "full" if isolation else ""),
        "score": _points(sum(r.score for r in results)),
        "max_score": _points(sum(r.max_score for r in results)),
        "execution_time": time.perf_counter() - config._autograder_started,  # type: ignore[attr-defined]
        "tests": [_result_payload(r) for r in results],
        "backends": backend_summary(config),
    }
    problems = list(dict.fromkeys(problems))
    if problems:
        payload["grading_error"] = problems[0] + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        )
    write_results(payload, Path(path))


def _result_payload(result: TestResult) -> dict[str, Any]:
    """A test's entry in ``results.json``: Gradescope's fields, and ``extra_data`` for a
    grading error and for the instructors' full message of a redacted one."""
    entry = asdict(result)
    extra = {}
    error = entry.pop("grading_error")
    if error:
        extra["grading_error"] = error
    instructor_output = entry.pop("instructor_output")
    if instructor_output:
        extra["instructor_output"] = instructor_output
    if extra:
        entry["extra_data"] = extra
    return entry


def _points(value: float) -> float:
    """Points rounded to 6 decimals: shares of points add up without float dust."""
    return round(value, 6) + 0.0


def backend_summary(config: pytest.Config) -> dict[str, dict[str, Any]]:
    """Per backend: score, max_score and test counts of its cases, or why they did not run."""
    summary: dict[str, dict[str, Any]] = {}
    backends = config.stash.get(_result_backends_key, {})
    for result in graded_results(config):
        backend = backends.get(result.name, "numpy")  # a test without cases runs on NumPy
        entry = summary.setdefault(
            backend,
            {"label": LABELS[backend], "score": 0.0, "max_score": 0.0, "passed": 0, "tests": 0},
        )
        entry["score"] = _points(entry["score"] + result.score)
        entry["max_score"] = _points(entry["max_score"] + result.max_score)
        entry["tests"] += 1
        entry["passed"] += result.status == "passed"
    for backend, skipped in config.stash.get(_skipped_key, {}).items():
        summary[backend] = {
            "label": LABELS[backend],
            "skipped": skipped.count,
            "reason": skipped.reason,
        }
    return {name: summary[name] for name in BACKENDS if name in summary}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = graded_results(config)
    if not results:
        return
    score = sum(r.score for r in results)
    total = sum(r.max_score for r in results)
    passed = sum(r.status == "passed" for r in results)
    for backend, entry in backend_summary(config).items():
        if "skipped" in entry:
            line = f"{backend}: {entry['skipped']} cases skipped: {entry['reason']}"
        else:
            line = (
                f"{backend} ({entry['label']}): {entry['score']:g} / {entry['max_score']:g} "
                f"({entry['passed']}/{entry['tests']} cases)"
            )
        terminalreporter.write_line(line)
    terminalreporter.write_sep("=", f"score {score:g} / {total:g} ({passed}/{len(results)} tests)")
