"""Hostile and broken submissions, graded end to end: each costs only what it broke.

Every case is the reference ``conv.py`` with one attack: inside ``conv_backward`` (the suite's
``test_backward`` must score 0 with a message while the two forward tests still pass; an
attack that also returns the right answer, such as a daemon it leaves behind, keeps its point
but must be contained), at
import time (every test scores 0 with a message), or as extra files beside ``conv.py`` (which
must be ignored). For each case the grader must finish in bounded time and write a valid
results file, the feedback must not contain the hidden suite or the reference, and no process
of the submission may survive.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.authoring.stubgen import find_blocks, solution_submission_files
from autograder.core.assignments import SOLUTIONS_DIR, load_assignment
from autograder.grading.grade import grade, suite_command
from autograder.sandbox import Limits, Sandbox, isolation

SUITE = Path(__file__).parent / "redteam" / "suite_conv.py"
CANARY = "CANARY-HIDDEN-SUITE-5d1e"
SECRET = "GRADER-SECRET-83c1"
CALL_TIMEOUT = 2.0


@dataclass(frozen=True)
class Attack:
    name: str
    where: str  # "backward", "import" or "files"
    code: str = ""
    files: dict[str, str] = field(default_factory=dict)
    needs_full_isolation: bool = False
    right_answer: bool = False  # the attack also returns the right answer, which still counts
    setup: str = ""  # module-level code the attack runs at import (the functions stay usable)


BACKWARD = "backward"
IMPORT = "import"
FILES = "files"

ATTACKS = [
    # --- honest bugs -------------------------------------------------------------------------
    Attack("wrong-shape", BACKWARD, "dx, dw, db = _right(dout, x, w, **kw)\nreturn dx[:1], dw, db"),
    Attack(
        "wrong-dtype",
        BACKWARD,
        "dx, dw, db = _right(dout, x, w, **kw)\nreturn dx.astype(np.float32), dw, db",
    ),
    Attack("nan", BACKWARD, "dx, dw, db = _right(dout, x, w, **kw)\nreturn dx * np.nan, dw, db"),
    Attack("scalar-broadcasts", BACKWARD, "return 0.0, 0.0, 0.0"),
    Attack("returns-none", BACKWARD, "return None"),
    Attack("mutates-input", BACKWARD, "x *= 2\nreturn _right(dout, x, w, **kw)"),
    Attack("raises", BACKWARD, "raise RuntimeError('my bug')"),
    Attack(
        "state-across-calls",
        BACKWARD,
        "global _SEEN\ntry:\n    return _SEEN\nexcept NameError:\n    _SEEN = (np.zeros_like(x), np.zeros_like(w), np.zeros(w.shape[0]))\n    return _SEEN",
    ),
    Attack("syntax-error", IMPORT, "def broken(:\n    pass"),
    # --- comparison spoofing -----------------------------------------------------------------
    Attack(
        "eq-always-true",
        BACKWARD,
        "class Anything:\n    def __eq__(self, other):\n        return True\n    __array_priority__ = 1000\nreturn Anything(), Anything(), Anything()",
    ),
    Attack(
        "ndarray-subclass-ufunc",
        BACKWARD,
        "class Liar(np.ndarray):\n    def __array_ufunc__(self, *a, **k):\n        return True\ndx, dw, db = _right(dout, x, w, **kw)\nreturn np.zeros_like(dx).view(Liar), dw, db",
    ),
    Attack(
        "ndarray-subclass-function",
        BACKWARD,
        "class Liar(np.ndarray):\n    def __array_function__(self, *a, **k):\n        return True\ndx, dw, db = _right(dout, x, w, **kw)\nreturn np.zeros_like(dx).view(Liar), dw, db",
    ),
    Attack(
        "float-subclass",
        BACKWARD,
        "class F(float):\n    def __eq__(self, o):\n        return True\n    def __sub__(self, o):\n        return 0.0\nreturn F(0), F(0), F(0)",
    ),
    # --- leaks -----------------------------------------------------------------------------
    Attack(
        "import-reference",
        BACKWARD,
        "import solutions.conv as r\nreturn r.conv_backward(dout, x, w, **kw)",
        needs_full_isolation=True,
    ),
    Attack(
        "read-reference-file",
        BACKWARD,
        f"src = open({str(SOLUTIONS_DIR / 'conv.py')!r}).read()\nraise RuntimeError(src[:3000])",
        needs_full_isolation=True,
    ),
    Attack(
        "read-hidden-suite",
        BACKWARD,
        f"raise RuntimeError(open({str(SUITE)!r}).read())",
        needs_full_isolation=True,
    ),
    Attack(
        "walk-the-stack",
        BACKWARD,
        "import inspect\nfound = [repr(f.frame.f_locals)[:500] for f in inspect.stack()]\nraise RuntimeError(' '.join(found))",
    ),
    Attack(
        "gc-objects",
        BACKWARD,
        "import gc\nnames = [getattr(o, '__name__', '') for o in gc.get_objects() if callable(o)]\nif 'conv_backward' in names and any('pytest' in n for n in names):\n    raise RuntimeError('found the grader')\nraise RuntimeError('nothing found')",
    ),
    Attack(
        "environment",
        BACKWARD,
        "import os\nraise RuntimeError(repr(dict(os.environ)))",
    ),
    Attack(
        "proc-environ",
        BACKWARD,
        "import os\nout = []\nfor pid in os.listdir('/proc'):\n    try:\n        out.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n        out.append(open(f'/proc/{pid}/cmdline', 'rb').read().decode(errors='replace'))\n    except Exception:\n        pass\nraise RuntimeError(' '.join(out))",
    ),
    # --- forged results ----------------------------------------------------------------------
    Attack(
        "print-results-json",
        BACKWARD,
        'print(\'{"score": 100, "tests": [{"name": "test_backward", "score": 1, "max_score": 1}]}\')\nraise RuntimeError(\'no\')',
    ),
    Attack(
        "write-results-files",
        BACKWARD,
        "import os\nfor p in ('results.json', '/autograder/results/results.json', '/tmp/results.json'):\n    try:\n        open(p, 'w').write('{\"score\": 100}')\n    except Exception:\n        pass\nraise RuntimeError('no')",
    ),
    Attack(
        "atexit-writer",
        IMPORT,
        "import atexit\natexit.register(lambda: open('results.json', 'w').write('{\"score\": 100}'))\nimport os\nos._exit(0)",
    ),
    Attack("sys-exit-0", BACKWARD, "import sys\nsys.exit(0)"),
    Attack("os-exit-0", BACKWARD, "import os\nos._exit(0)"),
    Attack("os-exit-at-import", IMPORT, "import os\nos._exit(0)"),
    Attack("pytest-skip", BACKWARD, "import pytest\npytest.skip('not graded')"),
    Attack("pytest-exit", IMPORT, "import pytest\npytest.exit('done', returncode=0)"),
    Attack(
        "shipped-files",
        FILES,
        files={
            "conftest.py": "import pytest\ndef pytest_collection_modifyitems(items):\n    items.clear()\n",
            "pytest.ini": "[pytest]\naddopts = -p no:autograder\n",
            "numpy.py": "raise SystemExit('fake numpy')\n",
            "sitecustomize.py": "import os\nos._exit(0)\n",
        },
    ),
    # --- exhaustion --------------------------------------------------------------------------
    Attack("infinite-loop", BACKWARD, "while True:\n    pass"),
    Attack("sleep-forever", BACKWARD, "import time\ntime.sleep(10**6)"),
    Attack("hang-at-import", IMPORT, "while True:\n    pass"),
    Attack(
        "endless-threads",
        BACKWARD,
        "import threading, time\nfor _ in range(4):\n    threading.Thread(target=lambda: time.sleep(10**6)).start()\nreturn _right(dout, x, w, **kw)",
        right_answer=True,
    ),
    Attack(
        "ignore-sigterm-disarm-alarm",
        BACKWARD,
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.alarm(0)\nwhile True:\n    pass",
    ),
    Attack(
        "memory-bomb", BACKWARD, "hog = []\nwhile True:\n    hog.append(bytearray(100 * 2**20))"
    ),
    Attack(
        "fork-bomb",
        BACKWARD,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    ),
    Attack(
        "setsid-daemon",
        BACKWARD,
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(10**6)\n    os._exit(0)\nreturn _right(dout, x, w, **kw)",
        right_answer=True,
    ),
    Attack(
        "huge-stdout",
        BACKWARD,
        "import sys\nfor _ in range(10**5):\n    sys.stdout.write('x' * 1000 + '\\n')\nreturn _right(dout, x, w, **kw)",
        right_answer=True,
    ),
    Attack(
        "fill-the-disk",
        BACKWARD,
        "with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)",
    ),
    # --- tampering with the output channel ---------------------------------------------------
    Attack(
        "forge-frames-on-every-fd",
        BACKWARD,
        'import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b\'\\x00\\x00\\x00\\x10{"event": "result"}\' + b\'\\x93NUMPY\\x01\\x00\' + b\'{"descr": "|O"}\')\n    except OSError:\n        pass\nreturn _right(dout, x, w, **kw)',
    ),
    Attack(  # 80 MiB at most: past the 64 MiB scratch tmpfs, small where it is a plain folder
        "fills-scratch",
        BACKWARD,
        "chunk = b'x' * (1 << 20)\nfor n in range(80):\n    with open(f'fill-{n}', 'wb') as f:\n        f.write(chunk)\nraise RuntimeError('scratch never filled')",
        needs_full_isolation=True,
    ),
    # --- forging the child's own verdicts -------------------------------------------------
    Attack(
        "rebind-the-workers-input-check",
        BACKWARD,
        "x *= 2\nreturn _right(dout, x / 2, w, **kw)",
        setup="import sys\n_child = sys.modules['_autograder_untrusted_worker']\n"
        "_child._label_arguments = lambda *args, **kwargs: []",
    ),
    Attack(
        "rewrite-the-callers-snapshots",
        BACKWARD,
        "import ctypes, sys\nx *= 2\nframe = sys._getframe(1)\nif 'snapshots' in frame.f_locals:\n"
        "    frame.f_locals['snapshots'] = []\n"
        "    ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))\n"
        "return _right(dout, x / 2, w, **kw)",
    ),
    Attack(
        "symlink-and-fifo-in-scratch",
        BACKWARD,
        "import os\nfor name in ('results.json', 'result.npy'):\n    try:\n        os.symlink('/etc/passwd', name)\n    except OSError:\n        pass\ntry:\n    os.mkfifo('out.npy')\nexcept OSError:\n    pass\nraise RuntimeError('no')",
    ),
]


def _submission(attack: Attack, folder: Path) -> Path:
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    folder.mkdir(parents=True, exist_ok=True)
    if attack.where == BACKWARD:
        body = textwrap.indent(attack.code, "    ")
        source = (
            reference
            + "\n\n_right = conv_backward\n\n\n"
            + "def conv_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):\n"
            + "    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)\n"
            + body
            + "\n"
        )
    elif attack.where == IMPORT:
        source = reference + "\n\n" + attack.code + "\n"
    else:
        source = reference
    if attack.setup:
        source += "\n\n" + attack.setup + "\n"
    (folder / "conv.py").write_text(source)
    for name, text in attack.files.items():
        (folder / name).write_text(text)
    return folder


def _student_processes() -> int:
    """How many processes run as a pool uid no sandbox holds now: leftovers (0 when not root).
    Each is checked while holding its slot, so other gradings running beside us do not count."""
    return sum(isolation.idle_pool_processes().values())


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_hostile_submission_costs_only_what_it_broke(attack, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TEST_SECRET", SECRET)
    submission = _submission(attack, tmp_path / "submission")
    assignment = load_assignment("conv")
    started = time.monotonic()
    report = grade(
        assignment,
        submission,
        test_paths=[SUITE],
        timeout=120,
        extra_options=(f"--call-timeout={CALL_TIMEOUT}",),
    )
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"grading took {elapsed:.0f} s"
    full = isolation.confinement(report.isolation) == "full"
    if attack.needs_full_isolation and not full:
        pytest.skip(f"this attack is only stopped by full isolation; here: {report.isolation}")
    tests = {t.name.split("::")[1]: t for t in report.tests}
    assert set(tests) == {"test_forward", "test_backward", "test_forward_again"}, report.log[-3000:]

    if attack.where == FILES:
        assert report.score == report.max_score == 3, tests
    elif attack.where == IMPORT:
        assert report.score == 0
        for test in tests.values():
            assert test.status == "failed" and test.output, test
    else:
        backward = tests["test_backward"]
        if attack.right_answer:
            assert backward.status == "passed", backward
        else:
            assert backward.score == 0 and backward.status == "failed"
            assert backward.output.strip()
        assert tests["test_forward"].status == "passed", tests["test_forward"]
        assert tests["test_forward_again"].status == "passed", tests["test_forward_again"]

    feedback = json.dumps(report.to_gradescope())
    assert CANARY not in feedback
    assert SECRET not in feedback
    solution = (SOLUTIONS_DIR / "conv.py").read_text().splitlines()
    secret_lines = set()
    for block in find_blocks("\n".join(solution)):
        secret_lines |= {line.strip() for line in solution[block.begin + 1 : block.end]}
    secret_lines = {line for line in secret_lines if len(line) > 30}
    leaked = [line for line in secret_lines if line in feedback]
    if full:
        assert not leaked, leaked[:3]
    assert _student_processes() == 0, "processes of the submission survived grading"


HOLDER = """
import os


def hold_processes(marker):
    count = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            return count
        if pid == 0:
            try:
                os.execv("/bin/sleep", ["sleep", marker])
            finally:
                os._exit(0)
        count += 1
"""


def _outcome(report) -> list[tuple[str, float, str]]:
    return [(t.name, t.score, t.status) for t in report.tests]


@pytest.mark.skipif(not isolation.running_as_root(), reason="the uid pool needs root")
def test_a_submission_holding_its_process_limit_costs_a_classmate_graded_beside_it_nothing(
    tmp_path,
):
    """One uid per sandbox: a submission that forks up to its process limit and keeps the
    processes (sleeping) while a classmate is graded leaves the classmate's score exactly as
    it is when graded alone (with one uid for all, the classmate could not fork a worker)."""
    innocent = _submission(Attack("innocent", FILES), tmp_path / "innocent")
    assignment = load_assignment("conv")
    options = (f"--call-timeout={CALL_TIMEOUT}",)
    solo = grade(assignment, innocent, test_paths=[SUITE], timeout=120, extra_options=options)
    assert solo.score == solo.max_score == 3, solo.log[-2000:]
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "conv.py").write_text(HOLDER)
    limit = Limits().max_processes
    with Sandbox(hostile, ("conv.py",), "conv") as box:
        held = box.call("hold_processes", ("7531.246",))
        assert held >= limit - 4, held  # the server and worker count too
        assert isolation.process_count(box.uid) >= limit - 2
        beside = grade(assignment, innocent, test_paths=[SUITE], timeout=120, extra_options=options)
        assert isolation.process_count(box.uid) >= limit - 2  # it held them all along
    assert (beside.score, beside.max_score) == (solo.score, solo.max_score), beside.log[-2000:]
    assert _outcome(beside) == _outcome(solo)
    assert not beside.grading_error


def test_there_are_enough_red_team_cases():
    assert len(ATTACKS) >= 35


# ------------------------------------------------------------------ a grade in bounded time

GRADED_FUNCTIONS = (
    "conv_forward",
    "conv_backward",
    "depthwise_separable_forward",
    "depthwise_separable_backward",
)
HANG = """
import time as _time


def _hang(*args, **kwargs):
    while True:
        _time.sleep(1000)


for _name in {names!r}:
    globals()[_name] = _hang
"""
BUDGET = 90.0


def _graded_with_budget(tail: str, folder: Path):
    """The reference ``conv.py`` with ``tail`` appended, graded on the full conv suites with a
    2 s call timeout and a budget of ``BUDGET`` seconds; the report and the wall time."""
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    folder.mkdir(parents=True)
    (folder / "conv.py").write_text(reference + "\n" + tail)
    started = time.monotonic()
    report = grade(
        load_assignment("conv"),
        folder,
        extra_options=(f"--call-timeout={CALL_TIMEOUT}", f"--grading-budget={BUDGET:g}"),
    )
    return report, time.monotonic() - started


def _first_lines(report, passed: bool) -> set[str]:
    return {t.output.splitlines()[0] for t in report.tests if (t.status == "passed") == passed}


def test_a_submission_that_hangs_in_every_call_is_graded_within_the_budget(tmp_path):
    """Each function times out once; its later calls fail at once naming that timeout (before:
    every test paid the timeout, and the grading was killed after 10 minutes with no results)."""
    report, elapsed = _graded_with_budget(HANG.format(names=GRADED_FUNCTIONS), tmp_path / "s")
    assert elapsed < BUDGET, f"grading took {elapsed:.0f} s"
    assert len(report.tests) > 100 and report.score == 0 and not report.grading_error
    timed_out = {t.output for t in report.tests if t.output.endswith(f"within {CALL_TIMEOUT:g} s")}
    assert len(timed_out) <= len(GRADED_FUNCTIONS), timed_out  # one timeout per function
    for line in _first_lines(report, passed=False) - timed_out:
        assert "timed out earlier in this grading (2 s, in test_conv_" in line, line
        assert line.endswith("; not run again"), line
    assert _student_processes() == 0, "processes of the submission survived grading"


def test_a_slow_import_is_paid_once_and_the_functions_that_work_keep_their_points(tmp_path):
    """A 9 s import (just under the 10 s import timeout) and a ``conv_backward`` that hangs:
    the import is paid once (a timeout kills the worker, not the server that imported), and
    every test that needs no ``conv_backward`` passes (before: each timeout paid the import
    again, later imports timed out on a busy machine, and the forward tests were lost)."""
    tail = "import time as _slow\n_slow.sleep(9)\n" + HANG.format(names=("conv_backward",))
    report, elapsed = _graded_with_budget(tail, tmp_path / "s")
    assert elapsed < 9 + 40, f"grading took {elapsed:.0f} s"
    assert not report.grading_error
    by_name = {t.name: t for t in report.tests}
    backward = {n for n in by_name if "backward" in n or "depthwise_separable_forward_and" in n}
    for name, test in by_name.items():
        if name in backward:
            continue
        assert test.status == "passed", (name, test.output[:300])
    failures = _first_lines(report, passed=False)
    assert failures, "the hanging conv_backward must cost its tests"
    for line in failures:
        assert line.startswith(("conv_backward", "depthwise_separable_backward")), line
        assert "did not finish within 2 s" in line or "timed out earlier in this grading" in line
    assert _student_processes() == 0, "processes of the submission survived grading"


def test_a_grading_past_its_budget_still_finishes_and_writes_its_results(tmp_path):
    """Calls that each take a second (under the call timeout) exhaust a small budget: every
    later call fails at once, pytest finishes, and the results are written."""
    slow = (
        "import time as _time\n"
        "_real = conv_forward\n\n\n"
        "def conv_forward(*args, **kwargs):\n"
        "    _time.sleep(1.0)\n"
        "    return _real(*args, **kwargs)\n"
    )
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "conv.py").write_text(reference + "\n" + slow)
    started = time.monotonic()
    report = grade(load_assignment("conv"), folder, extra_options=("--grading-budget=8",))
    elapsed = time.monotonic() - started
    assert elapsed < 8 + 30, f"grading took {elapsed:.0f} s"
    assert len(report.tests) > 100 and not report.grading_error
    spent = [t for t in report.tests if "the grading's time budget of 8 s is spent" in t.output]
    assert len(spent) > 50
    assert all(t.status == "failed" and t.score == 0 for t in spent)
    assert any(t.status == "passed" for t in report.tests)  # what ran in time counts


def test_a_grading_stopped_by_its_timeout_still_writes_the_results_it_has(tmp_path):
    """Past ``grade``'s own timeout pytest gets SIGTERM: it writes what ran, and the report is
    a grading error (the grader's limit, not a grade)."""
    attack = Attack("hangs-long", BACKWARD, "import time\ntime.sleep(10**6)")
    submission = _submission(attack, tmp_path / "submission")
    started = time.monotonic()
    report = grade(
        load_assignment("conv"),
        submission,
        test_paths=[SUITE],
        timeout=10,
        extra_options=("--call-timeout=100",),
    )
    elapsed = time.monotonic() - started
    assert elapsed < 10 + 15, f"grading took {elapsed:.0f} s"
    tests = {t.name.split("::")[1]: t for t in report.tests}
    assert tests["test_forward"].status == "passed"
    assert "test_forward_again" not in tests  # never ran
    assert report.grading_error.startswith("grading did not finish within 10 s and was stopped")
    assert "grading was stopped by SIGTERM after" in report.grading_error
    payload = report.to_gradescope()
    assert payload["extra_data"]["grading_error"] == report.grading_error
    assert "not caused by your submission" in payload["output"]
    assert _student_processes() == 0, "processes of the submission survived grading"


# ------------------------------------------------------------------ the grader's own memory

HUGE_RESULTS = """

def conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.zeros((60, 1 << 17))  # 60 MiB of float64 per call
"""


def test_huge_results_leave_the_graders_own_memory_bounded(tmp_path):
    """A submission returning 60 MiB from every call, graded by a grader held in a cgroup of
    its own with 768 MiB: the grading's result budget stops the calls (the test in hand fails
    with a message), the grader is never killed, and the results are written."""
    from autograder.sandbox import cgroups

    group, problem = cgroups.create(f"grader-under-test-{os.getpid()}", 768 << 20, 4096)
    if group is None:
        pytest.skip(f"no cgroup to hold the grader in: {problem}")
    folder = tmp_path / "submission"
    folder.mkdir()
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    (folder / "conv.py").write_text(reference + HUGE_RESULTS)
    results = tmp_path / "results.json"
    suite = str(Path(__file__).parent / "redteam" / "suite_many_calls.py")
    command = suite_command([suite], folder, (f"--results={results}",))
    try:
        finished = subprocess.run(
            command,
            preexec_fn=lambda: group.add(os.getpid()),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        oom = group.oom_kills()
    finally:
        group.remove()
    assert finished.returncode in (0, 1), finished.stdout[-3000:] + finished.stderr[-3000:]
    assert oom == 0
    report = json.loads(results.read_text())
    tests = {t["name"].split("::")[1]: t for t in report["tests"]}
    kept = tests["test_ten_forwards_kept"]
    assert kept["status"] == "failed" and "budget of 256 MiB" in kept["output"], kept
    more = tests["test_one_forward_more"]  # after the budget: fails at once, with the reason
    assert more["status"] == "failed" and "budget of 256 MiB" in more["output"], more


# ------------------------------------------------------------------ forging the device verdict

HOST_CODE = """

_device_forward = conv_forward


def conv_forward(x, w, b=None, **kw):  # computes on the host, whatever the inputs are
    import numpy
    host = [a.get() if hasattr(a, "get") else a for a in (x, w, b)]
    out = _device_forward(*(numpy.asarray(a) if a is not None else None for a in host), **kw)
    try:
        import cupy
        return cupy.asarray(out) if type(x) is not numpy.ndarray else out
    except ImportError:
        return out
"""
FORGES_THE_VERDICT = """
import sys as _sys

_child = _sys.modules["_autograder_untrusted_devices"]
if hasattr(_child, "_Strict"):
    _child._Strict.violation = lambda self: None  # the simulator's record, silenced
"""


def test_forging_the_strict_simulators_verdict_gains_nothing(tmp_path, monkeypatch):
    """The strict simulator runs in the student's process, so its verdict can be forged: its
    cases carry no points, and a forged verdict scores exactly what honest host code does."""
    monkeypatch.setenv("AUTOGRADER_GPU", "0")
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    suite = Path(__file__).parent / "redteam" / "suite_device.py"
    reports = {}
    for name, source in {
        "reference": reference,
        "host": reference + HOST_CODE,
        "forged": reference + HOST_CODE + FORGES_THE_VERDICT,
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "conv.py").write_text(source)
        reports[name] = grade(load_assignment("conv"), folder, test_paths=[suite], timeout=120)
    for name, report in reports.items():
        tests = {t.name.split("[")[1].rstrip("]"): t for t in report.tests}
        assert tests["strict"].max_score == 0, (name, tests)
        assert tests["numpy"].max_score == report.max_score == 2, (name, tests)
    assert reports["host"].score == reports["forged"].score == reports["reference"].score == 2
    host_strict = next(t for t in reports["host"].tests if "strict" in t.name)
    assert host_strict.status == "failed" and "device" in host_strict.output
