"""The bundled buggy submissions apply to the reference and earn partial credit (or, for a
device-discipline bug, full credit with failed strict cases: those are feedback only); an
example that declares the ``hint`` naming its mistake gets that hint, and no other example of
its assignment does."""

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, assignment_names, load_assignment
from autograder.core.results import GradeReport
from autograder.grading.grade import grade

SPECS = buggy_specs()
WITH_HINT = [spec for spec in SPECS if "hint" in spec]
SAMPLE = 3
"""The examples of each assignment the default run grades: its first ones (each examples.toml
lists the cheapest first). ``--exhaustive`` grades every example. Every hint is also checked one
by one, fast, in ``tests/test_catalogue_<name>.py``."""
SAMPLED = {"lenet": 2}
"""Smaller samples, for the assignments whose every grading trains a network."""


def _in_sample(spec: dict) -> bool:
    """Whether the default run grades ``spec`` (among the first of its assignment)."""
    same = [s["name"] for s in SPECS if s["assignment"] == spec["assignment"]]
    return same.index(spec["name"]) < SAMPLED.get(spec["assignment"], SAMPLE)


def _params(specs: list[dict]) -> list:
    """``specs`` as parameters, those beyond their assignment's sample marked ``exhaustive``."""
    return [
        pytest.param(
            spec, id=spec["name"], marks=[] if _in_sample(spec) else [pytest.mark.exhaustive]
        )
        for spec in specs
    ]


_REPORTS: dict[str, GradeReport] = {}
WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Examples graded at once (each grading is a pytest process of its own)."""


@functools.cache
def _reference() -> dict:
    """The references rendered as submissions, made once (``ast.parse`` in several threads at
    once can fail on Python 3.11.7 and older: CPython gh-106905)."""
    return solution_submission_files(SOLUTIONS_DIR, assignment_names())


def _grade(spec: dict, folder: Path) -> GradeReport:
    write_files(apply_edits(_reference(), spec), folder)
    # the strict cases are feedback only (0 points): only a device-discipline example needs them
    options = () if spec.get("feedback_only") else ("-k", "not strict")
    return grade(load_assignment(spec["assignment"]), folder, extra_options=options)


def _graded_all(specs: list[dict], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Grade those of ``specs`` not graded yet in this session, several at a time."""
    todo = [spec for spec in specs if spec["name"] not in _REPORTS]
    folders = [tmp_path_factory.mktemp(spec["name"]) for spec in todo]
    _reference()  # before the threads
    with ThreadPoolExecutor(WORKERS) as pool:
        for spec, report in zip(todo, pool.map(_grade, todo, folders), strict=True):
            _REPORTS[spec["name"]] = report


@pytest.fixture(scope="session")
def selected_examples(request) -> list[dict]:
    """The examples this session's selected tests grade (``-k`` may pick a few; skipped ones,
    beyond a sample, are not graded)."""
    names = set()
    for item in request.session.items:
        spec = getattr(item, "callspec", None) and item.callspec.params.get("spec")
        if item.get_closest_marker("skip") is not None:
            continue
        if isinstance(spec, dict) and "name" in spec:
            names.add(spec["name"])
    return [spec for spec in SPECS if spec["name"] in names]


def _graded(spec: dict, tmp_path_factory, selected: list[dict]) -> GradeReport:
    """The example graded (once per test session: several tests read its report), with the
    other selected examples of its assignment, in parallel."""
    if spec["name"] not in _REPORTS:
        same = [s for s in selected if s["assignment"] == spec["assignment"]]
        _graded_all([spec, *[s for s in same if s["name"] != spec["name"]]], tmp_path_factory)
    return _REPORTS[spec["name"]]


def _hints(report: GradeReport) -> list[str]:
    """Every hint line of the report's tests (as students see them, and as instructors do)."""
    lines = []
    for test in report.tests:
        for text in (test.output, test.instructor_output):
            lines += [line for line in text.splitlines() if line.startswith("hint: ")]
    return lines


def test_every_assignment_has_a_buggy_example():
    assert {spec["assignment"] for spec in SPECS} == set(assignment_names())


@pytest.mark.parametrize("spec", _params(SPECS))
def test_buggy_example_earns_partial_credit(spec, tmp_path_factory, selected_examples):
    report = _graded(spec, tmp_path_factory, selected_examples)
    assert report.tests, report.log[-2000:]
    if spec.get("feedback_only"):
        assert report.score == report.max_score, (report.score, report.max_score)
        strict = [t for t in report.tests if "[strict" in t.name]
        failed = [t for t in strict if t.status == "failed"]
        assert failed and all(t.max_score == 0 for t in strict), strict
        assert all("device discipline" in t.output for t in failed), failed[0].output
        return
    assert 0 < report.score < report.max_score, (report.score, report.max_score)


SEVERAL = "mistakes each give exactly what"
"""The words of a hint that names several mistakes a call cannot tell apart (it claims none)."""


def _claims(report: GradeReport, hint: str) -> list[str]:
    """The report's hint lines that name ``hint`` as the mistake (not as one of several)."""
    return [line for line in _hints(report) if hint in line and SEVERAL not in line]


@pytest.mark.parametrize("spec", _params(WITH_HINT))
def test_an_examples_hint_names_its_mistake_and_no_other(
    spec, tmp_path_factory, selected_examples, pytestconfig
):
    """Its hint, and no other example of its assignment gets it (of the graded sample, or of
    every example with ``--exhaustive``)."""
    report = _graded(spec, tmp_path_factory, selected_examples)
    assert _claims(report, spec["hint"]), _hints(report)
    every = pytestconfig.getoption("exhaustive")
    others = [
        o
        for o in SPECS
        if o["assignment"] == spec["assignment"] and o is not spec and (every or _in_sample(o))
    ]
    _graded_all(others, tmp_path_factory)
    for other in others:
        if other["name"] != spec["name"]:
            given = _claims(_REPORTS[other["name"]], spec["hint"])
            assert not given, f"{other['name']} got the hint of {spec['name']}: {given}"


def test_an_edit_that_no_longer_applies_is_reported():
    spec = {"name": "stale", "edits": [{"file": "conv.py", "old": "no such text", "new": ""}]}
    with pytest.raises(ValueError, match=r"occurs 0 times in conv\.py, expected once"):
        apply_edits({"conv.py": "print(1)\n"}, spec)
