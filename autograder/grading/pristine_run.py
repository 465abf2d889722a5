"""The pytest process of one pristine grading: its environment (nothing that points Python,
pytest or the kit elsewhere), its non-dumpable bootstrap, what its interpreter imports from,
and the report read from its results. See :mod:`autograder.grading.pristine`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from autograder.core.assignments import Assignment
from autograder.grading.grade import TIMEOUT_MARGIN, GradeReport, run_pytest, suite_command
from autograder.grading.grade import _report_from as report_from  # the same reading as grade's

BOOTSTRAP = (
    "import ctypes, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "import pytest\n"
    "sys.exit(pytest.console_main())\n"
)
"""The grading's pytest, made non-dumpable first (PR_SET_DUMPABLE 0): a process of the same
user can then neither trace it, nor read or write its memory, environment or working folder."""


def clean_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The grader's environment without what points Python, pytest or the kit elsewhere."""
    drop = {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "PYTHONSAFEPATH",
        "AUTOGRADER_HOME",
        "PWD",
        "OLDPWD",
    }
    return {k: v for k, v in environ.items() if k not in drop}


def python_paths(python: str = sys.executable) -> list[str]:
    """What the grading's interpreter imports from: its ``sys.path`` as the grading starts it
    (no user site), its executable, its shared library and its ``pyvenv.cfg``."""
    probe = "import json, sys; print(json.dumps(sys.path))"
    env = clean_environment(os.environ)
    with tempfile.TemporaryDirectory(prefix="autograder-path-") as empty:
        done = subprocess.run(
            [python, "-s", "-B", "-c", probe],
            cwd=empty,
            env={**env, "PYTHONPATH": empty},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        paths = [
            p
            for p in json.loads(done.stdout)
            if p and os.path.realpath(p) != os.path.realpath(empty)
        ]
    paths.append(os.path.realpath(python))
    library = sysconfig.get_config_var("LDLIBRARY")
    libdir = sysconfig.get_config_var("LIBDIR")
    if library and libdir:
        paths.append(os.path.join(libdir, library))
    paths.append(os.path.join(sys.prefix, "pyvenv.cfg"))
    return [p for p in paths if os.path.lexists(p)]


def run_suites(assignment: Assignment, submission: Path, private: Path) -> GradeReport:
    """The assignment's suites (its ``folder`` in the copy ``private/kit``) run on
    ``submission`` by a pytest that knows only the private folder; its report."""
    kit, results_path = private / "kit", private / "results" / "results.json"
    suites = [str(assignment.folder / suite) for suite in ("public", "hidden")]
    command = suite_command(suites, submission, (f"--results={results_path}",))
    command = [sys.executable, "-s", "-B", "-c", BOOTSTRAP, *command[3:]]
    env = clean_environment(os.environ)
    env.update(
        PYTHONPATH=str(kit),
        AUTOGRADER_HOME=str(kit),
        TMPDIR=str(private / "tmp"),
        PWD=str(kit),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
    )
    timeout = assignment.grading_budget_s + TIMEOUT_MARGIN
    log, stopped, code = run_pytest(command, kit, timeout, env)
    name = assignment.name
    try:
        payload = json.loads(results_path.read_text(encoding="utf-8"))
        report = report_from(assignment, submission, payload, log)
    except FileNotFoundError:
        tail = log.strip().splitlines()[-1:] or ["no output"]
        problem = stopped or f"grading produced no results ({tail[0][:300]})"
        return error_report(name, submission, problem, log)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        problem = f"the results file is unreadable ({type(error).__name__}: {error})"
        return error_report(name, submission, problem, log)
    if not stopped and code < 0:  # killed, and not by us: its results may not be its own
        stopped = f"pytest was killed by signal {-code}"
    if stopped:
        report.grading_error = stopped + (
            f"; {report.grading_error}" if report.grading_error else ""
        )
    return report


def error_report(name: str, submission: Path, problem: str, log: str = "") -> GradeReport:
    """A report of a grading that could not be made or read: no score, ``problem`` its error."""
    return GradeReport(name, str(submission), 0.0, 0.0, log=log, grading_error=problem)
