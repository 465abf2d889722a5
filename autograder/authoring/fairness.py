"""The fairness check: correct answers pass every graded comparison, whatever the seed.

A grade is fair when a correct implementation never fails by luck: not by its seed, its
summation order, or its float64-inside-float32-outside arithmetic. This module measures that.
It grades *correct* submissions (the float64 computation rounded to each case's dtype, and the
alternative formulations in ``assignments/<name>/alternatives/<variant>/``) over many seeds,
and records for every float comparison how close the answer came to its bound; and it grades
the bundled buggy examples the same way, to check that the bounds still catch them wherever
the classic bound (relative to ``max|expected|`` alone) caught them.

As a pytest plugin (``-p autograder.authoring.fairness --fairness-out PATH``) it writes, per
test case, its outcome and the largest ``error / bound`` of its comparisons, with and without the
expected values' spread (:mod:`autograder.suite.conditioning`). :func:`run_fairness` runs one
submission that way in a child pytest process (``--in-process``: every submission graded here
is the kit's own code) and :func:`summarize` turns the records into the figures reported.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import numpy as np
import pytest

from autograder.core.assignments import REPO_ROOT, SOLUTIONS_DIR, Assignment, assignment_names
from autograder.grading.grade import suite_command
from autograder.sandbox.limits import Limits
from autograder.suite.compare import observing_comparisons
from autograder.suite.conditioning import as_float64, forget_spreads, map_floats

# ------------------------------------------------------------------ correct submissions


def rounded_from_float64(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` computed in float64 and rounded to the case's dtype at the end.

    Float arguments (arrays and NumPy scalars, inside tuples, lists and dicts too) are cast to
    float64; float results are cast back to the dtype of the first float array argument.
    """

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        dtype = _first_float_dtype((args, kwargs))
        result = function(*as_float64(args), **as_float64(kwargs))
        return result if dtype is None else _rounded(result, dtype)

    return call


def rounded_module(name: str) -> dict[str, Callable[..., Any]]:
    """The public functions of ``solutions.<name>``, each :func:`rounded_from_float64`."""
    module = importlib.import_module(f"solutions.{name}")
    return {
        attribute: rounded_from_float64(value)
        for attribute, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not attribute.startswith("_")
    }


def write_rounded_submission(name: str, folder: Path) -> Path:
    """Write ``<folder>/<name>.py``, the reference computed in float64 and rounded."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(
        '"""The reference computed in float64 and rounded to the dtype of the inputs."""\n\n'
        "from autograder.authoring.fairness import rounded_module\n\n"
        f"globals().update(rounded_module({name!r}))\n",
        encoding="utf-8",
    )
    return folder


SIBLINGS_FILE = "siblings.toml"
"""In an alternative's folder: which of its student files are another assignment's alternative,
``"conv.py" = "conv/loops_over_offsets"`` (so a composed assignment reuses them, not copies)."""


def write_alternative_submission(variant: Path, target: Path) -> Path:
    """Write into ``target`` the whole submission of the alternative in folder ``variant``:
    its own ``.py`` files and the sibling files its ``siblings.toml`` names."""
    target.mkdir(parents=True, exist_ok=True)
    for source in variant.glob("*.py"):
        shutil.copyfile(source, target / source.name)
    manifest = variant / SIBLINGS_FILE
    if manifest.is_file():
        for name, origin in tomllib.loads(manifest.read_text(encoding="utf-8")).items():
            assignment, other = str(origin).split("/")
            source = REPO_ROOT / "assignments" / assignment / "alternatives" / other / name
            if not source.is_file():
                raise FileNotFoundError(f"{manifest}: {name} = {origin!r}: no file {source}")
            shutil.copyfile(source, target / name)
    return target


def alternative_folders(assignment: Assignment) -> list[Path]:
    """The folders of the assignment's alternative correct formulations."""
    root = assignment.folder / "alternatives"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _first_float_dtype(value: Any) -> np.dtype | None:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.dtype
    if isinstance(value, tuple | list):
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return None
    for item in items:
        found = _first_float_dtype(item)
        if found is not None:
            return found
    return None


def _rounded(value: Any, dtype: np.dtype) -> Any:
    """``value`` with its float64 arrays and scalars in ``dtype``."""

    def round_one(item: Any) -> Any:
        if item.dtype != np.float64:
            return item
        return item.astype(dtype) if isinstance(item, np.ndarray) else dtype.type(item)

    return map_floats(value, round_one)


# ------------------------------------------------------------------ the recording plugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption(
        "--fairness-out", default=None, help="write each case's outcome and error/bound here"
    )
    group.addoption(
        "--fairness-seeds",
        type=int,
        default=1,
        help="run each test that uses rng this many times, each with its own seed, inside "
        "one test item (much cheaper than --seed-repeats)",
    )


def pytest_configure(config: pytest.Config) -> None:
    recorder = FairnessRecorder(
        config.getoption("fairness_out"), config.getoption("fairness_seeds")
    )
    config.pluginmanager.register(recorder)


class FairnessRecorder:
    """Records each case's outcome and the largest error/bound of its comparisons.

    A case is a test item, or with ``--fairness-seeds N`` one of the N seeds of an item that
    uses ``rng`` (recorded as ``<nodeid>[seed<k>]``): such an item calls its test function N
    times, each with a generator spawned from the item's own seed, and fails if any seed does.
    """

    def __init__(self, path: str | None, seeds: int = 1) -> None:
        self.path = path
        self.seeds = seeds
        self.records: dict[str, dict[str, Any]] = {}
        self.looped: set[str] = set()

    def _record(self, case: str) -> dict[str, Any]:
        return self.records.setdefault(
            case,
            {
                "outcome": "passed",
                "comparisons": 0,
                "ratio": 0.0,
                "baseline_ratio": 0.0,
                "message": "",
            },
        )

    def _loops(self, item: pytest.Item) -> bool:
        return self.seeds > 1 and "rng" in getattr(item, "funcargs", {})

    @staticmethod
    def _observer(record: dict[str, Any]) -> Callable[[str, float, float], None]:
        def observe(name: str, ratio: float, baseline: float) -> None:
            record["comparisons"] += 1
            record["ratio"] = max(record["ratio"], ratio)
            record["baseline_ratio"] = max(record["baseline_ratio"], baseline)

        return observe

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        if self._loops(item):
            return (yield)
        with observing_comparisons(self._observer(self._record(item.nodeid))):
            return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        if not self._loops(pyfuncitem):
            return None
        funcargs = pyfuncitem.funcargs
        names = pyfuncitem._fixtureinfo.argnames
        entropy = funcargs["rng"].bit_generator.seed_seq.entropy
        self.looped.add(pyfuncitem.nodeid)
        failed: list[str] = []
        for salt in range(self.seeds):
            kwargs = {name: funcargs[name] for name in names}
            kwargs["rng"] = np.random.default_rng(
                np.random.SeedSequence(entropy, spawn_key=(salt,))
            )
            record = self._record(f"{pyfuncitem.nodeid}[seed{salt}]")
            try:
                with observing_comparisons(self._observer(record)):
                    pyfuncitem.obj(**kwargs)
            except Exception as error:
                record["outcome"] = "failed"
                record["message"] = f"{type(error).__name__}: {error}"[:500]
                failed.append(f"seed{salt}: {record['message']}")
            finally:
                forget_spreads()
                calls = getattr(funcargs.get("student"), "_calls", None)
                if isinstance(calls, list):
                    calls.clear()
        if failed:
            raise AssertionError(f"{len(failed)} of {self.seeds} seeds failed; {failed[0]}")
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self.looped:  # its seeds' records hold the outcomes
            return
        record = self._record(report.nodeid)
        if report.failed:
            record["outcome"] = "failed"
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr)
            record["message"] = record["message"] or message[:500]
        elif report.skipped and record["outcome"] == "passed":
            record["outcome"] = "skipped"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.path:
            Path(self.path).write_text(json.dumps(self.records), encoding="utf-8")


# ------------------------------------------------------------------ running and summarizing


@dataclass
class FairnessRun:
    """One submission graded over many seeds: per test case, outcome and error/bound."""

    assignment: str
    submission: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: str = ""

    def failures(self) -> dict[str, str]:
        """Cases that failed, with their messages."""
        return {k: r["message"] for k, r in self.records.items() if r["outcome"] == "failed"}

    def ran(self) -> int:
        """Cases that ran (not skipped)."""
        return sum(r["outcome"] != "skipped" for r in self.records.values())

    def comparisons(self) -> int:
        return sum(r["comparisons"] for r in self.records.values())

    def worst(self) -> tuple[float, str]:
        """The largest error/bound of a passing comparison, and its case."""
        passing = [(r["ratio"], k) for k, r in self.records.items() if r["outcome"] == "passed"]
        return max(passing, default=(0.0, ""))

    def caught_only_by_baseline(self) -> list[str]:
        """Cases that passed although the classic bound would have failed them."""
        return [
            k
            for k, r in self.records.items()
            if r["outcome"] == "passed" and r["baseline_ratio"] > 1.0
        ]


def run_fairness(
    assignment: Assignment,
    submission: Path,
    seeds: int,
    label: str = "",
    timeout: float = 3600.0,
    strict: bool = False,
) -> FairnessRun:
    """Grade ``submission`` (the kit's own code) in-process over ``seeds`` seeds: the NumPy
    cases, and with ``strict`` the strict device simulator's cases too."""
    with tempfile.TemporaryDirectory(prefix="fairness-") as scratch:
        out = Path(scratch) / "records.json"
        suites = [str(assignment.folder / "public"), str(assignment.folder / "hidden")]
        options = (
            "--in-process",
            f"--fairness-seeds={seeds}",
            f"--grading-budget={timeout:g}",
            "-p",
            "autograder.authoring.fairness",
            f"--fairness-out={out}",
            "-k",
            "not cupy" if strict else "not strict and not cupy",
            "-W",
            "ignore::pytest.PytestUnraisableExceptionWarning",
        )
        command = suite_command(suites, submission, options)
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
            env=_env(),
        )
        log = completed.stdout[-4000:] + completed.stderr[-4000:]
        records = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    return FairnessRun(assignment.name, label or str(submission), records, log)


def _env() -> dict[str, str]:
    """The graders' environment: no GPU, and the numeric libraries' thread pools pinned as the
    sandbox pins them (the in-process runs would otherwise share the cores, and time, of the
    runs beside them)."""
    import os

    env = dict(os.environ)
    env.update(Limits().thread_env())
    env["AUTOGRADER_GPU"] = "0"
    env["PYTHONPATH"] = str(REPO_ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


@dataclass
class AssignmentFairness:
    """Every correct and buggy submission of one assignment, graded over the same seeds."""

    assignment: str
    seeds: int
    correct: list[FairnessRun]
    buggy: list[FairnessRun]

    def false_rejections(self) -> dict[str, str]:
        """``submission :: case`` -> message, for every case a correct submission failed."""
        return {
            f"{run.submission} :: {case}": message
            for run in self.correct
            for case, message in run.failures().items()
        }

    def cases(self) -> int:
        """Cases that correct submissions ran."""
        return sum(run.ran() for run in self.correct)

    def smallest_margin(self) -> tuple[float, str]:
        """``1 - error / bound`` of the comparison that came closest to its bound."""
        ratio, case = max((r.worst()[0], f"{r.submission} :: {r.worst()[1]}") for r in self.correct)
        return 1.0 - ratio, case

    def buggy_escapes(self) -> list[str]:
        """Cases of buggy submissions that the classic bound failed and the new one passed."""
        return [
            f"{r.submission} :: {case}" for r in self.buggy for case in r.caught_only_by_baseline()
        ]

    def buggy_failures(self) -> int:
        return sum(len(r.failures()) for r in self.buggy)


def check_assignment(
    assignment: Assignment,
    seeds: int,
    workdir: Path,
    jobs: int = 2,
    buggy_limit: int | None = None,
) -> AssignmentFairness:
    """Grade the rounded reference and each alternative (NumPy cases), and each bundled buggy
    example (NumPy and strict cases; the first ``buggy_limit`` of them, default all) of
    ``assignment`` over ``seeds`` seeds, ``jobs`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.authoring.examples import apply_edits, buggy_specs
    from autograder.authoring.stubgen import solution_submission_files, write_files

    folder = workdir / assignment.name
    correct = [("float64_rounded", write_rounded_submission(assignment.name, folder / "rounded"))]
    correct += [
        (path.name, write_alternative_submission(path, folder / "alternatives" / path.name))
        for path in alternative_folders(assignment)
    ]
    buggy = []
    reference_files = solution_submission_files(SOLUTIONS_DIR, assignment_names())
    specs = [spec for spec in buggy_specs() if spec["assignment"] == assignment.name]
    for spec in specs[:buggy_limit]:
        if spec["assignment"] == assignment.name:
            target = folder / "buggy" / spec["name"]
            write_files(apply_edits(reference_files, spec), target)
            buggy.append((spec["name"], target))
    jobs_list = [(label, path, False) for label, path in correct]
    jobs_list += [(label, path, True) for label, path in buggy]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(
            pool.map(
                lambda job: run_fairness(assignment, job[1], seeds, job[0], strict=job[2]),
                jobs_list,
            )
        )
    return AssignmentFairness(assignment.name, seeds, runs[: len(correct)], runs[len(correct) :])
