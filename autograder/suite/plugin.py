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
arrays in this case), ``forward_oracle`` (the functions whose numeric gradients a backward is
checked against: the reference where the grader has it, else the student's own), ``leaderboard``
(``leaderboard.record("Accuracy", 0.926)``, ``leaderboard.record("Time", 15.1, order="asc")``:
a quantity the grader's test measured, for Gradescope's leaderboard in the results).

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
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.core.assignments import (
    REPO_ROOT,
    SOLUTIONS_DIR,
    UnknownAssignmentError,
    load_assignment,
)
from autograder.core.backends import (
    BACKENDS,
    DEFAULT_DEVICE_SHARE,
    DEVICE_BACKENDS,
    gpu_status,
    points_share,
    skip_reason,
)
from autograder.core.results import SCOPE_TITLES, SUMMARY_SCOPES, LeaderboardEntry, TestResult
from autograder.sandbox import GradingError, Limits
from autograder.suite.conditioning import ConditionedReference, forget_spreads
from autograder.suite.feedback import (
    GRADING_ERROR_PREFIX,
    FailureFeedback,
    diagnosis_of,
    failure_hints,
    failure_message,
    failure_messages,
    grading_error_of,
    reference_module,
    shows_expected,
    visibility_of,
)
from autograder.suite.hints import Call, TestDiagnosis
from autograder.suite.in_process import InProcessFunctions
from autograder.suite.results import backend_summary, finish, graded_results
from autograder.suite.session import (
    CALLS,
    LeaderboardRecorder,
    SkippedBackend,
    round_points,
    session_of,
    start_session,
)
from autograder.suite.student import SandboxedFunctions, StudentError
from autograder.suite.submissions import (
    PORTABLE_NOTICE,
    LoadedSubmission,
    MissingModule,
    portable_reason,
    start_early,
    submission_for,
)
from autograder.suite.summary import summary_lines

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


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
    session_of(config)


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
        visibility = visibility_of(item)
        if visibility not in VISIBILITIES:
            raise pytest.UsageError(
                f"{item.nodeid}: visibility must be one of {VISIBILITIES}, got {visibility!r}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _assignment_name(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("assignment")
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: mark the module with pytest.mark.assignment('<name>')"
        )
    return str(marker.args[0])


def _load_submission(request: pytest.FixtureRequest, name: str) -> LoadedSubmission:
    return submission_for(request.config, name, Path(request.node.path))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the student's functions get their arrays: ``numpy``, ``strict`` or ``cupy``."""
    return str(getattr(request, "param", "numpy"))


@pytest.fixture
def student(request: pytest.FixtureRequest, backend: str) -> Any:
    """The submission's functions: ``student.conv_forward(x, w, b, stride=2)``."""
    loaded = _load_submission(request, _assignment_name(request))
    calls: list[Call] = []
    request.node.stash[CALLS] = calls
    if loaded.environment_error:
        raise GradingError(loaded.environment_error)
    if loaded.digest == "missing":
        return MissingModule(loaded.name)
    if loaded.sandbox is None:
        timeout = request.config.getoption("call_timeout")
        return InProcessFunctions(loaded.folder, loaded.name, calls, backend, loaded.guard, timeout)
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
def leaderboard(request: pytest.FixtureRequest) -> LeaderboardRecorder:
    """Gradescope's leaderboard: ``leaderboard.record(name, value, order="desc")`` notes one
    quantity of this grading (``desc``: higher ranks higher, an accuracy; ``asc``: lower ranks
    higher, a training time), which the ``--results`` file carries as its ``leaderboard`` and
    ``grade`` passes on to Gradescope. One entry per name, in the order first recorded; a
    later record of the same name replaces its value. A name, value (a finite number or a
    text) or order Gradescope would not read raises, failing the test.

    Record only what the test itself computed (the test accuracy of the network it trained
    with the student's functions, the time it took), never a value student code reports: the
    test is the grader's trusted code, and what a submission says is not.
    """
    return LeaderboardRecorder(session_of(request.config).leaderboard)


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
        item.stash[CALLS] = []  # only: a long grading must not keep them all
    results = session_of(item.config).results
    points = float(item.get_closest_marker("points").args[0])
    backend = _backend_of(item)
    if backend is not None:
        reason = skip_reason(backend, gpu_status())
        if reason is not None:  # this backend does not run here: no points, not in results
            if report.when == "setup":
                skipped = session_of(item.config).skipped.setdefault(
                    backend, SkippedBackend(reason)
                )
                skipped.count += 1
            return report
        marker = item.get_closest_marker("assignment")
        share = _device_share(str(marker.args[0]))
        if not set(_allowed_backends(item)) & set(DEVICE_BACKENDS):
            share = 0.0  # no device case: the numpy case carries all the points
        points = round_points(points * points_share(backend, share, gpu_status().usable))
    name = f"{item.path.stem}::{item.name}"
    if backend is not None:
        session_of(item.config).result_backends[name] = backend
    if name not in results:
        results[name] = TestResult(name, 0.0, points, "failed", visibility_of(item))
    result = results[name]
    environment = grading_error_of(call)
    if report.when == "call" and report.passed and not result.output:
        result.score, result.status = points, "passed"
    elif report.failed:
        result.score, result.status = 0.0, "failed"
        _mark_failed(item)
        if environment and not result.grading_error:  # the grader's failure, not the student's
            result.grading_error = environment
            result.output = f"{GRADING_ERROR_PREFIX}: {environment}"
        elif not result.output:
            full, redacted = failure_messages(report, call)
            redact = redacted != full and not shows_expected(item)
            diagnosis = diagnosis_of(item) or TestDiagnosis()
            error = call.excinfo.value if call.excinfo is not None else None
            feedback = FailureFeedback(
                full,
                redacted if redact else "",
                diagnosis,
                failure_hints(error, reference_module(item)),
            )
            feedback.apply(result)  # named again when the session ends, with every test's word
            if diagnosis.functions:
                session_of(item.config).feedback[name] = feedback
    elif report.skipped:
        result.score, result.status = 0.0, "failed"
        result.output = result.output or f"skipped: {failure_message(report)}"
    if report.when == "call" and not environment:
        _summarise(item, call, name, report.passed, backend)
    return report


def _summarise(
    item: pytest.Item, call: pytest.CallInfo[None], name: str, passed: bool, backend: str | None
) -> None:
    """Note what this test's calls showed, for the lines per function above the tests."""
    error = call.excinfo.value if call.excinfo is not None else None
    failed_call = getattr(error, "function", "") if isinstance(error, StudentError) else ""
    device = backend is not None and backend in DEVICE_BACKENDS
    sibling = _numpy_case(item, backend) if device else ""
    if device:
        session_of(item.config).numpy_cases[name] = sibling
    session_of(item.config).summary.record(
        name,
        visibility_of(item),
        item.stash.get(CALLS, []),
        passed,
        None if device else reference_module(item),
        failed_call=failed_call,
        backend_label=f"the {backend} backend" if device else "",
        sibling=sibling,
    )


def _numpy_case(item: pytest.Item, backend: str) -> str:
    """The result name of the NumPy case of the test whose ``backend`` case ``item`` is."""
    callspec = item.callspec  # a device case is a parametrized one
    ids = "-".join("numpy" if part == backend else part for part in callspec.id.split("-"))
    return f"{item.path.stem}::{item.originalname}[{ids}]"


def _mark_failed(item: pytest.Item) -> None:
    """The next test of this assignment starts from a fresh worker."""
    marker = item.get_closest_marker("assignment")
    loaded = session_of(item.config).submissions.get(str(marker.args[0])) if marker.args else None
    if loaded is not None:
        loaded.last_test_failed = True


def pytest_sessionstart(session: pytest.Session) -> None:
    start_session(session.config)
    if session.config.getoption("results"):
        _stop_on_sigterm(session.config)
    if session.config.getoption("submission"):
        for path in session.config.args:  # suites of the kit: assignments/<name>/<suite>
            config_file = Path(path).resolve().parent / "assignment.toml"
            if config_file.is_file():
                start_early(session.config, config_file.parent.name, Path(path))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start each assignment's sandbox, if not started yet, while pytest gets ready to run."""
    for item in session.items:
        marker = item.get_closest_marker("assignment")
        if marker is not None and marker.args:
            start_early(session.config, str(marker.args[0]), Path(item.path))


def _stop_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (``grade`` stopping a run past its timeout) ends the session as Ctrl-C does, so
    that ``pytest_sessionfinish`` still writes the results of the tests that ran."""
    state = session_of(config)

    def stop(number: int, frame: Any) -> None:
        state.stopped_by.append(signal.Signals(number).name)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the results must get written
        raise KeyboardInterrupt(f"stopped by {state.stopped_by[0]}")

    if threading.current_thread() is threading.main_thread():
        state.sigterm_before = [signal.signal(signal.SIGTERM, stop)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close every sandbox, then write ``--results`` (atomically), whatever happened."""
    state = session_of(session.config)
    main = threading.current_thread() is threading.main_thread()
    if state.sigterm_before and main:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing may stop the results' writing
    try:
        finish(session, exitstatus)
    finally:
        if state.sigterm_before and main:  # the handler from before the session
            signal.signal(signal.SIGTERM, state.sigterm_before.pop())


def _board_text(entry: LeaderboardEntry) -> str:
    """A leaderboard entry as the terminal shows it: ``Time 15.1 (asc)``."""
    value = f"{entry.value:g}" if isinstance(entry.value, float) else repr(entry.value)
    return f"{entry.name} {value}" + (" (asc)" if entry.order == "asc" else "")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = graded_results(config)
    if not results:
        return
    score = sum(r.score for r in results)
    total = sum(r.max_score for r in results)
    passed = sum(r.passed for r in results)
    for backend, entry in backend_summary(config).items():
        if "skipped" in entry:
            line = f"{backend}: {entry['skipped']} cases skipped: {entry['reason']}"
        else:
            line = (
                f"{backend} ({entry['label']}): {entry['score']:g} / {entry['max_score']:g} "
                f"({entry['passed']}/{entry['tests']} cases)"
            )
        terminalreporter.write_line(line)
    lines = summary_lines(session_of(config).summary, SUMMARY_SCOPES["all"])
    if lines:
        terminalreporter.write_line(SCOPE_TITLES["all"])
        for line in lines:
            terminalreporter.write_line(f"  {line}")
    board = session_of(config).leaderboard.values()
    if board:
        terminalreporter.write_line("leaderboard: " + ", ".join(_board_text(e) for e in board))
    if portable_reason(config) is not None:
        terminalreporter.write_line(PORTABLE_NOTICE)
    terminalreporter.write_sep("=", f"score {score:g} / {total:g} ({passed}/{len(results)} tests)")
