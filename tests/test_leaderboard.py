"""Gradescope's leaderboard: its entries, the suites' ``leaderboard`` fixture, the results that
carry it to Gradescope, and a class's ``leaderboard.csv`` and chart."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest

from autograder.cli import main
from autograder.core.assignments import load_assignment
from autograder.core.gradescope import RESULTS_SCHEMA
from autograder.core.results import (
    GradeReport,
    GradescopeResults,
    LeaderboardEntry,
    TestResult,
    leaderboard_from_gradescope,
)
from autograder.grading import gradebook
from autograder.grading.class_results import StudentResult
from autograder.grading.classroom import ClassSubmission, Student, discover
from autograder.grading.grade import grade
from autograder.grading.grade_all import grade_class
from autograder.grading.stored_results import student_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOARD = [
    LeaderboardEntry("Accuracy", 0.926),
    LeaderboardEntry("Time", 15.1, "asc"),
    LeaderboardEntry("Stars", "*****"),
]
BOARD_PAYLOAD = [
    {"name": "Accuracy", "value": 0.926},
    {"name": "Time", "value": 15.1, "order": "asc"},
    {"name": "Stars", "value": "*****"},
]


# ------------------------------------------------------------------ the entries


def test_an_entry_writes_gradescopes_fields_and_reads_back_the_same():
    assert [entry.to_gradescope() for entry in BOARD] == BOARD_PAYLOAD
    assert [LeaderboardEntry.from_gradescope(item) for item in BOARD_PAYLOAD] == BOARD
    assert leaderboard_from_gradescope(BOARD_PAYLOAD) == BOARD
    explicit = LeaderboardEntry.from_gradescope({"name": "A", "value": 1, "order": "desc"})
    assert explicit == LeaderboardEntry("A", 1.0) and "order" not in explicit.to_gradescope()


def test_numbers_are_kept_as_floats():
    for value in (3, np.float32(0.5), np.int64(7), np.float64(0.25)):
        entry = LeaderboardEntry("x", value)
        assert type(entry.value) is float and entry.value == float(value) and entry.numeric
    assert json.dumps(LeaderboardEntry("x", np.float32(0.5)).to_gradescope())
    assert not LeaderboardEntry("x", "").numeric  # a text may be empty; a name may not


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        (("", 1.0), ValueError, "non-empty"),
        (("   ", 1.0), ValueError, "non-empty"),
        ((3, 1.0), TypeError, "name must be a string"),
        ((None, 1.0), TypeError, "name must be a string"),
        (("Accuracy", math.nan), ValueError, "finite"),
        (("Accuracy", -math.inf), ValueError, "finite"),
        (("Accuracy", 10**400), ValueError, "finite"),
        (("Accuracy", True), TypeError, "number or a string"),
        (("Accuracy", None), TypeError, "number or a string"),
        (("Accuracy", [0.9]), TypeError, "number or a string"),
        (("Time", 1.0, "ASC"), ValueError, "order must be 'desc' or 'asc'"),
        (("Time", 1.0, "up"), ValueError, "order must be 'desc' or 'asc'"),
        (("Time", 1.0, None), ValueError, "order must be 'desc' or 'asc'"),
    ],
)
def test_an_entry_gradescope_would_not_read_is_refused(fields, error, words):
    with pytest.raises(error, match=words):
        LeaderboardEntry(*fields)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (["Accuracy", 0.9], TypeError),
        ("Accuracy", TypeError),
        ({"value": 0.9}, ValueError),
        ({"name": "Accuracy"}, ValueError),
        ({"name": "Accuracy", "value": 0.9, "ordre": "asc"}, ValueError),
        ({"name": "Accuracy", "value": "x", "order": "down"}, ValueError),
        ({"name": "", "value": 0.9}, ValueError),
        ({"name": "Accuracy", "value": {"a": 1}}, TypeError),
    ],
)
def test_a_malformed_item_raises_type_or_value_error(payload, error):
    with pytest.raises(error):
        LeaderboardEntry.from_gradescope(payload)


@pytest.mark.parametrize(
    "entries",
    [{"name": "A", "value": 1}, None, [{"name": "A", "value": 1}, {"name": "A", "value": 2}]],
)
def test_a_malformed_leaderboard_raises(entries):
    with pytest.raises((TypeError, ValueError)):
        leaderboard_from_gradescope(entries)


# ------------------------------------------------------------------ results.json


def test_results_carry_the_leaderboard_only_where_there_is_one():
    plain = GradescopeResults(1.0, "ok", [TestResult("t::a", 1.0, 1.0, "passed")])
    assert "leaderboard" not in plain.to_gradescope()
    assert GradescopeResults.from_gradescope(plain.to_gradescope()).leaderboard == []
    plain.leaderboard = list(BOARD)
    plain.extra_data = {"status": "graded"}
    payload = plain.to_gradescope()
    assert list(payload) == ["score", "output", "tests", "leaderboard", "extra_data"]
    assert payload["leaderboard"] == BOARD_PAYLOAD
    jsonschema.validate(payload, RESULTS_SCHEMA)
    again = GradescopeResults.from_gradescope(json.loads(json.dumps(payload)))
    assert again == plain and again.to_gradescope() == payload  # lossless


def test_a_malformed_leaderboard_makes_the_results_malformed():
    payload = {"score": 1, "tests": [], "leaderboard": [{"name": "A", "value": math.inf}]}
    with pytest.raises(ValueError):
        GradescopeResults.from_gradescope(payload)


def test_a_grade_report_passes_its_leaderboard_on_to_gradescope():
    test = TestResult("t::train", 5.0, 5.0, "passed")
    report = GradeReport("lenet", "sub", 5.0, 5.0, tests=[test], leaderboard=list(BOARD))
    results = report.gradescope()
    assert results.leaderboard == BOARD and results.leaderboard is not report.leaderboard
    payload = report.to_gradescope()
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert payload["leaderboard"] == BOARD_PAYLOAD
    assert "leaderboard" not in GradeReport("lenet", "sub", 5.0, 5.0, tests=[test]).to_gradescope()


# ------------------------------------------------------------------ the suites' fixture

SUITE = textwrap.dedent(
    """
    import pytest

    pytestmark = [pytest.mark.assignment("toy"), pytest.mark.backends("numpy")]

    @pytest.mark.points(2)
    def test_train(student, leaderboard):
        accuracy = float(student.double(0.25))  # the test's own measure of the student's work
        leaderboard.record("Accuracy", accuracy)
        leaderboard.record("Time", 15.1, order="asc")
        leaderboard.record("Stars", "***")

    @pytest.mark.points(1)
    def test_again(student, leaderboard):
        leaderboard.record("Stars", "*****")  # replaces, in place
        leaderboard.record("Epochs", 4)

    @pytest.mark.points(1)
    def test_bad_order(student, leaderboard):
        leaderboard.record("Memory", 3.0, order="up")
    """
)


def _run_suite(pytester) -> tuple[pytest.RunResult, dict]:
    pytester.makepyfile(test_toy=SUITE)
    submission = pytester.path / "submission"
    submission.mkdir()
    (submission / "toy.py").write_text("def double(x):\n    return 2 * x\n")
    results = pytester.path / "results.json"
    outcome = pytester.runpytest_subprocess(f"--submission={submission}", f"--results={results}")
    return outcome, json.loads(results.read_text())


def test_the_fixture_records_into_the_results_file(pytester):
    outcome, payload = _run_suite(pytester)
    assert payload["leaderboard"] == [
        {"name": "Accuracy", "value": 0.5},
        {"name": "Time", "value": 15.1, "order": "asc"},
        {"name": "Stars", "value": "*****"},
        {"name": "Epochs", "value": 4.0},
    ]
    status = {t["name"]: t["status"] for t in payload["tests"]}
    assert status["test_toy::test_bad_order"] == "failed"  # the entry is refused, loudly
    bad = next(t for t in payload["tests"] if t["name"] == "test_toy::test_bad_order")
    assert "order must be 'desc' or 'asc'" in bad["output"]
    assert (
        "leaderboard: Accuracy 0.5, Time 15.1 (asc), Stars '*****', Epochs 4"
        in outcome.stdout.str()
    )


def test_without_records_the_results_file_has_no_leaderboard(pytester):
    pytester.makepyfile(
        test_toy="""
        import pytest
        pytestmark = [pytest.mark.assignment("toy"), pytest.mark.backends("numpy")]

        @pytest.mark.points(1)
        def test_x(student):
            assert student.double(1) == 2
        """
    )
    (pytester.path / "submission").mkdir()
    (pytester.path / "submission" / "toy.py").write_text("def double(x):\n    return 2 * x\n")
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(
        f"--submission={pytester.path / 'submission'}", f"--results={results}"
    )
    assert "leaderboard" not in json.loads(results.read_text())


# ------------------------------------------------------------------ grade, and Gradescope


def _suite_results(leaderboard) -> dict:
    """A results file as the plugin writes it, with ``leaderboard``."""
    return {
        "isolation": "full",
        "score": 5.0,
        "max_score": 5.0,
        "execution_time": 20.0,
        "tests": [TestResult("t::train", 5.0, 5.0, "passed").to_gradescope()],
        "backends": {},
        "summary": {},
        "leaderboard": leaderboard,
    }


@pytest.fixture
def fake_pytest(monkeypatch):
    """``grade``'s pytest run replaced: it writes the results file ``payload`` holds."""
    import autograder.grading.grade as grade_module

    written = {}

    def run_pytest(command, cwd, timeout, env=None):
        (Path(cwd) / "results.json").write_text(json.dumps(written["payload"]))
        return "1 passed", "", 0

    monkeypatch.setattr(grade_module, "run_pytest", run_pytest)
    return written


def test_grade_reads_the_leaderboard_and_the_grade_command_writes_it(fake_pytest, tmp_path):
    fake_pytest["payload"] = _suite_results(BOARD_PAYLOAD)
    submission = tmp_path / "pooling.py"
    submission.write_text("x = 1\n")
    report = grade(load_assignment("pooling"), submission)
    assert not report.grading_error and report.leaderboard == BOARD
    results = tmp_path / "results.json"
    assert main(["grade", "pooling", str(submission), "--results", str(results)]) == 0
    payload = json.loads(results.read_text())
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert payload["leaderboard"] == BOARD_PAYLOAD


@pytest.mark.parametrize(
    "leaderboard",
    [{"Accuracy": 0.9}, [{"name": "Accuracy", "value": None}], [{"name": "A", "value": "x"}] * 2],
)
def test_a_malformed_leaderboard_is_an_unreadable_results_file(fake_pytest, tmp_path, leaderboard):
    fake_pytest["payload"] = _suite_results(leaderboard)
    submission = tmp_path / "pooling.py"
    submission.write_text("x = 1\n")
    report = grade(load_assignment("pooling"), submission)
    assert report.grading_error.startswith("the results file is unreadable")
    assert report.score == 0 and report.leaderboard == []


def test_the_otter_plugin_hands_gradescope_the_leaderboard(tmp_path, monkeypatch):
    from autograder.packaging import otter_plugin

    kit = tmp_path / "source" / "files" / otter_plugin.KIT_FOLDER
    (kit / "assignments" / "lenet").mkdir(parents=True)
    (kit / "assignments" / "lenet" / "assignment.toml").write_text("")
    report = GradeReport("lenet", "s", 5.0, 5.0, [TestResult("t", 5.0, 5.0, "passed")])
    report.leaderboard = list(BOARD)

    def run(command, **kwargs):  # the engine: ``autograder grade ... --results PATH``
        report.gradescope().write(Path(command[command.index("--results") + 1]))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(otter_plugin.subprocess, "run", run)
    plugin = otter_plugin.SandboxedSuitePlugin(
        str(tmp_path / "submission" / "x.ipynb"), None, {"assignment": "lenet"}
    )
    plugin.results = plugin._grade(tmp_path, tmp_path / "staged")
    otter_results = SimpleNamespace()
    plugin.after_grading(otter_results)
    payload = otter_results.to_gradescope_dict()
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert payload["leaderboard"] == BOARD_PAYLOAD


# ------------------------------------------------------------------ a class's leaderboard


def _result(key: str, board, students=None, status="graded") -> StudentResult:
    people = (Student(f"Name {key}", key, f"{key}@example.edu"),) if students is None else students
    submission = ClassSubmission(key, f"label-{key}", None, people)
    entries = [LeaderboardEntry(*fields) for fields in board]
    return StudentResult(submission, status, 1.0, 1.0, leaderboard=entries)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


@pytest.fixture
def titles(monkeypatch):
    """The charts' titles, by file name (each chart still written)."""
    seen: dict[str, str] = {}
    save = gradebook._save

    def keep(figure, path):
        seen[path.name] = figure.axes[0].get_title()
        save(figure, path)

    monkeypatch.setattr(gradebook, "_save", keep)
    return seen


def test_rows_rank_by_the_first_quantity_then_the_next(tmp_path, titles):
    assignment = load_assignment("pooling")
    results = [
        _result("a", [("Accuracy", 0.90), ("Time", 20.0, "asc")]),
        _result("b", [("Accuracy", 0.95), ("Time", 30.0, "asc")]),
        _result("c", [("Accuracy", 0.90), ("Time", 10.0, "asc")]),  # ties a: faster
        _result("d", []),  # no entries: no row
        _result("e", [("Accuracy", 0.90), ("Time", 10.0, "asc")]),  # ties c in every quantity
        _result("f", [("Time", 5.0, "asc")]),  # no accuracy: after those with one
        _result("g", [("Accuracy", 0.99)], status="error"),  # not graded: no row
        _result("h", [("Accuracy", 0.5)], students=(Student("P1", "1"), Student("P2", "2"))),
    ]
    path = gradebook.write_leaderboard(assignment, results, tmp_path)
    assert path == tmp_path / "leaderboard.csv"
    rows = _rows(path)
    assert rows[0] == ["Rank", "Name", "SID", "Email", "Submission", "Accuracy", "Time"]
    assert [(r[0], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("1", "b", "0.95", "30"),
        ("2", "c", "0.9", "10"),
        ("2", "e", "0.9", "10"),
        ("4", "a", "0.9", "20"),
        ("5", "1", "0.5", ""),  # a group: one row per student, one rank
        ("5", "2", "0.5", ""),
        ("6", "f", "", "5"),  # ranks count submissions: a group once
    ]
    assert rows[1][1:5] == ["Name b", "b", "b@example.edu", "label-b"]
    data = (tmp_path / "leaderboard.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    assert (
        titles["leaderboard.png"] == "pooling leaderboard: Time against Accuracy (4 submissions)"
    )  # b, c, e, a


def test_an_asc_first_quantity_ranks_lower_first_and_texts_after_numbers(tmp_path, titles):
    assignment = load_assignment("pooling")
    results = [
        _result("slow", [("Time", 30.5, "asc"), ("Stars", "***")]),
        _result("fast", [("Time", 12.25, "asc"), ("Stars", "*")]),
        _result("odd", [("Time", "n/a", "asc")]),
        _result("mid", [("Time", 20.0, "asc"), ("Stars", "=SUM(A1)")]),
    ]
    rows = _rows(gradebook.write_leaderboard(assignment, results, tmp_path))
    assert rows[0][5:] == ["Time", "Stars"]
    assert [(r[0], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("1", "fast", "12.25", "*"),
        ("2", "mid", "20", "'=SUM(A1)"),  # a text cell is safe from formula injection
        ("3", "slow", "30.5", "***"),
        ("4", "odd", "n/a", ""),
    ]
    # Time is not numeric for every submission, Stars never is: nothing to plot but a note
    assert titles["leaderboard.png"] == "pooling leaderboard: 4 submissions, no numeric quantity"


def test_a_single_numeric_quantity_is_shown_as_its_distribution(tmp_path, titles):
    results = [_result(str(k), [("Accuracy", k / 10), ("Stars", "*" * k)]) for k in range(1, 6)]
    rows = _rows(gradebook.write_leaderboard(load_assignment("pooling"), results, tmp_path))
    assert [r[2] for r in rows[1:]] == ["5", "4", "3", "2", "1"]
    assert (
        titles["leaderboard.png"] == "pooling leaderboard: distribution of Accuracy (5 submissions)"
    )


def test_no_leaderboard_writes_nothing_and_removes_an_earlier_one(tmp_path):
    assignment = load_assignment("pooling")
    assert gradebook.write_leaderboard(assignment, [_result("a", [])], tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    gradebook.write_leaderboard(assignment, [_result("a", [("Accuracy", 0.5)])], tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"leaderboard.csv", "leaderboard.png"}
    errors = [_result("a", [("Accuracy", 0.5)], status="error")]
    assert gradebook.write_leaderboard(assignment, errors, tmp_path) is None
    assert list(tmp_path.iterdir()) == []


class BoardGrader:
    """Stands in for ``grade``: full marks, and a leaderboard where ``boards`` has one."""

    def __init__(self, boards: dict[str, list[LeaderboardEntry]]) -> None:
        self.boards, self.calls = boards, []

    def __call__(self, assignment, folder: Path) -> GradeReport:
        self.calls.append(folder.name)
        test = TestResult("t::a", 2.0, 2.0, "passed")
        board = list(self.boards.get(folder.name, []))
        return GradeReport(
            assignment.name, str(folder), 2.0, 2.0, tests=[test], log="1 passed", leaderboard=board
        )


def _class(root: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        (root / "class" / name).mkdir(parents=True)
        (root / "class" / name / "batchnorm.py").write_text(f"# {name}\n")
    return root / "class"


def test_grade_all_writes_the_leaderboard_and_a_resumed_run_the_same(tmp_path, monkeypatch, capsys):
    import autograder.grading.grade_all

    boards = {
        "s1": [LeaderboardEntry("Accuracy", 0.91), LeaderboardEntry("Time", 14.0, "asc")],
        "s2": [LeaderboardEntry("Accuracy", 0.97), LeaderboardEntry("Time", 40.0, "asc")],
        "s4": [LeaderboardEntry("Accuracy", 0.91), LeaderboardEntry("Time", 11.5, "asc")],
    }
    grader = BoardGrader(boards)
    monkeypatch.setattr(autograder.grading.grade_all, "grade", grader)
    folder, out = _class(tmp_path, ("s1", "s2", "s3", "s4")), tmp_path / "out"
    command = ["grade-all", "batchnorm", str(folder), "--out", str(out), "--jobs", "2"]
    assert main(command) == 0
    assert f"leaderboard: {out / 'leaderboard.csv'}" in capsys.readouterr().out
    first = (out / "leaderboard.csv").read_bytes()
    rows = _rows(out / "leaderboard.csv")
    assert [(r[0], r[4], r[5], r[6]) for r in rows[1:]] == [
        ("1", "s2", "0.97", "40"),
        ("2", "s4", "0.91", "11.5"),
        ("3", "s1", "0.91", "14"),
    ]
    assert (out / "leaderboard.png").read_bytes().startswith(PNG_SIGNATURE)
    submissions = discover(folder, "batchnorm.py").submissions
    stored = json.loads((student_dir(out, submissions[1]) / "results.json").read_text())
    jsonschema.validate(stored, RESULTS_SCHEMA)
    assert stored["leaderboard"] == [e.to_gradescope() for e in boards["s2"]]
    assert "leaderboard" not in json.loads(
        (student_dir(out, submissions[2]) / "results.json").read_text()
    )

    (out / "leaderboard.csv").unlink()
    grader.calls.clear()
    assert main(command) == 0  # every result read back from its results.json
    assert grader.calls == [] and "0 graded, 4 up to date" in capsys.readouterr().out
    assert (out / "leaderboard.csv").read_bytes() == first


def test_a_class_without_a_leaderboard_gets_no_leaderboard_files(tmp_path, monkeypatch, capsys):
    import autograder.grading.grade_all

    monkeypatch.setattr(autograder.grading.grade_all, "grade", BoardGrader({}))
    folder, out = _class(tmp_path, ("s1", "s2")), tmp_path / "out"
    assert main(["grade-all", "batchnorm", str(folder), "--out", str(out), "--jobs", "1"]) == 0
    assert "leaderboard" not in capsys.readouterr().out
    assert (out / "gradebook.csv").is_file()
    assert not (out / "leaderboard.csv").exists() and not (out / "leaderboard.png").exists()
    summary = grade_class(
        load_assignment("batchnorm"),
        discover(folder, "batchnorm.py").submissions,
        out,
        jobs=1,
        grade_function=BoardGrader({}),
    )
    assert summary.up_to_date == 2 and all(r.leaderboard == [] for r in summary.results)
