"""``autograder grade-all``: discovery, parallel grading, resuming, gradebooks and the summary.

A small class of batch-normalization submissions (the cheapest suite) is graded for real, once
as a Gradescope export and once as a plain folder; the rest uses a fake grader.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.authoring.examples import make_examples
from autograder.cli import main
from autograder.core.assignments import Assignment, load_assignment
from autograder.core.gradescope import RESULTS_SCHEMA
from autograder.core.results import TestResult
from autograder.grading.classroom import ClassroomError, discover, load_metadata
from autograder.grading.grade import GradeReport
from autograder.grading.grade_all import grade_class, grader_digest
from autograder.grading.stored_results import student_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '100'
    :email: ada@example.edu
  :created_at: 2024-10-01 12:34:56.123456789 -07:00
  :score: !ruby/object:BigDecimal 18:0.0
  :status: processed
submission_1002:
  :submitters:
  - :name: Template Student
    :sid: 200
    :email: tpl@example.edu
submission_1003:
  :submitters:
  - :name: Pair One
    :sid: '300'
    :email: one@example.edu
  - :name: Pair Two
    :sid: '301'
    :email: two@example.edu
submission_1004:
  :submitters:
  - :name: Lost Folder
    :sid: '400'
submission_1005:
  :submitters:
  - :name: Empty Folder
    :sid: '500'
"""


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, Path]:
    """The batchnorm reference, template and buggy submission folders."""
    made = make_examples(tmp_path_factory.mktemp("examples"))
    return {e.name: e.folder for e in made if e.assignment == "batchnorm"}


def _copy_module(source: Path, folder: Path) -> None:
    folder.mkdir(parents=True)
    shutil.copy(source / "batchnorm.py", folder / "batchnorm.py")


def _export(root: Path, examples: dict[str, Path]) -> Path:
    export = root / "export"
    _copy_module(examples["reference"], export / "submission_1001")
    _copy_module(examples["template"], export / "submission_1002")
    _copy_module(examples["bn-unbiased-variance"], export / "submission_1003")
    (export / "submission_1005").mkdir()
    (export / "submission_metadata.yml").write_text(METADATA)
    return export


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _mtimes(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("students/*/results.json")}


def test_a_gradescope_export_is_graded_then_resumed(tmp_path, examples, capsys):
    export, out = _export(tmp_path, examples), tmp_path / "out"
    assert main(["grade-all", "batchnorm", str(export), "--out", str(out), "--jobs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "3 graded, 0 up to date, 2 unreadable" in printed

    rows = {row["SID"]: row for row in _rows(out / "gradebook.csv")}
    assert set(rows) == {"100", "200", "300", "301", "400", "500"}  # one row per student
    header = list(rows["100"])
    tests = header[header.index("Message") + 1 :]
    assert len(tests) > 20 and all("::" in name for name in tests)
    reference, template = rows["100"], rows["200"]
    total = float(reference["Max Points"])
    assert total > 0 and float(reference["Total Score"]) == total
    assert reference["Percent"] == "100.0" and reference["Status"] == "graded"
    assert sum(float(reference[t]) for t in tests) == pytest.approx(total)
    assert reference["Name"] == "Ada Lovelace" and reference["Email"] == "ada@example.edu"
    assert reference["Submission"] == "submission_1001"
    assert reference["Submitted At"].startswith("2024-10-01T12:34:56")
    assert float(template["Total Score"]) == 0 and template["Status"] == "graded"
    assert all(float(template[t]) == 0 for t in tests)
    buggy = float(rows["300"]["Total Score"])
    assert 0 < buggy < total and float(rows["301"]["Total Score"]) == buggy
    assert rows["400"]["Status"] == "unreadable" and "no folder" in rows["400"]["Message"]
    assert rows["500"]["Status"] == "unreadable" and "no batchnorm.py" in rows["500"]["Message"]
    assert all(float(rows[sid]["Max Points"]) == total for sid in rows)

    with (out / "canvas.csv").open(newline="") as stream:
        canvas = list(csv.reader(stream))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0].strip() == "Points Possible" and float(canvas[1][5]) == total
    assert ["Ada Lovelace", "", "100", "ada@example.edu", "", f"{total:g}"] in canvas

    for key in ("100", "200", "300+301", "400", "500"):
        payload = json.loads((out / "students" / key / "results.json").read_text())
        jsonschema.validate(payload, RESULTS_SCHEMA)
        assert (out / "students" / key / "feedback.txt").is_file()
    feedback = (out / "students" / "300+301" / "feedback.txt").read_text()
    assert "Pair One" in feedback and "FAIL" in feedback and "hint:" in feedback

    for chart in ("pass_rates.png", "score_histogram.png"):
        data = (out / chart).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    summary = (out / "summary.md").read_text()
    assert "submissions: 5 (6 students)" in summary
    assert "graded: 3; unreadable: 2; grading errors: 0" in summary
    assert "full marks: 1; zero: 3" in summary
    assert "## Per-test pass rates" in summary and f"`{tests[0]}`" in summary
    assert "| submission_1004 | 400 | unreadable |" in summary
    assert "![per-test pass rates](pass_rates.png)" in summary

    # A rerun grades nothing and rewrites no result.
    before = _mtimes(out)
    assert main(["grade-all", "batchnorm", str(export), "--out", str(out)]) == 0
    assert "0 graded, 5 up to date, 0 unreadable" in capsys.readouterr().out
    assert _mtimes(out) == before

    # A changed submission is graded again, and it alone.
    module = export / "submission_1002" / "batchnorm.py"
    module.write_text(module.read_text() + "\n# resubmitted\n")
    assert main(["grade-all", "batchnorm", str(export), "--out", str(out), "--jobs", "2"]) == 0
    assert "1 graded, 4 up to date, 0 unreadable" in capsys.readouterr().out
    after = _mtimes(out)
    assert {key for key in after if after[key] != before[key]} == {"200"}


def test_a_plain_folder_with_zips_and_broken_entries(tmp_path, examples, capsys):
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(examples["reference"], folder / "alice")
    with zipfile.ZipFile(folder / "bob.zip", "w") as archive:
        archive.write(examples["reference"] / "batchnorm.py", "bob/batchnorm.py")
    (folder / "carol.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    shutil.copy(examples["template"] / "batchnorm.py", folder / "dave.py")
    (folder / "erin").mkdir()
    (folder / ".DS_Store").write_bytes(b"\0")
    assert main(["grade-all", "batchnorm", str(folder), "--out", str(out), "--jobs", "2"]) == 0
    assert "5 submissions (folder): 3 graded, 0 up to date, 2 unreadable" in capsys.readouterr().out
    rows = {row["SID"]: row for row in _rows(out / "gradebook.csv")}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin"}
    total = float(rows["alice"]["Max Points"])
    assert float(rows["alice"]["Total Score"]) == float(rows["bob"]["Total Score"]) == total
    assert float(rows["dave"]["Total Score"]) == 0 and rows["dave"]["Status"] == "graded"
    assert rows["carol"]["Status"] == "unreadable" and "not a valid zip" in rows["carol"]["Message"]
    assert float(rows["carol"]["Total Score"]) == 0
    assert rows["erin"]["Status"] == "unreadable"
    assert (out / "students" / "carol" / "results.json").is_file()


def test_bad_invocations_exit_2_with_a_message(tmp_path, capsys):
    assert main(["grade-all", "nosuch", str(tmp_path)]) == 2
    assert "unknown assignment 'nosuch'" in capsys.readouterr().err
    assert main(["grade-all", "batchnorm", str(tmp_path / "missing")]) == 2
    assert "submissions folder not found" in capsys.readouterr().err
    assert main(["grade-all", "batchnorm", str(tmp_path)]) == 2
    assert "no submissions found" in capsys.readouterr().err
    (tmp_path / "alice").mkdir()
    assert main(["grade-all", "batchnorm", str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    (tmp_path / "submission_metadata.yml").write_text(":\n  - [unclosed")
    assert main(["grade-all", "batchnorm", str(tmp_path)]) == 2
    assert "submission_metadata.yml" in capsys.readouterr().err


def test_gradescope_metadata_with_ruby_tags_groups_and_unlisted_folders(tmp_path):
    wrapper = tmp_path / "assignment_42_export"  # the export zip's top folder
    wrapper.mkdir()
    (wrapper / "submission_metadata.yml").write_text(METADATA)
    for name in ("submission_1001", "submission_1002", "submission_1003", "stray"):
        (wrapper / name).mkdir()
    metadata = load_metadata(wrapper / "submission_metadata.yml")
    assert metadata["submission_1001"][":submitters"][0][":sid"] == "100"
    assert metadata["submission_1001"][":score"] == "18:0.0"

    classroom = discover(tmp_path, "batchnorm.py")
    assert classroom.layout == "gradescope" and classroom.root == wrapper
    by_key = {s.key: s for s in classroom.submissions}
    assert set(by_key) == {"100", "200", "300+301", "400", "500", "stray"}
    assert by_key["200"].students[0].sid == "200"  # a number in the YAML
    assert [s.name for s in by_key["300+301"].students] == ["Pair One", "Pair Two"]
    assert by_key["400"].source is None and "no folder" in by_key["400"].problem
    assert by_key["stray"].students == ()

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("assignment_42_export/submission_metadata.yml", METADATA)
        zf.writestr("assignment_42_export/submission_1001/batchnorm.py", "x = 1\n")
    zipped = discover(archive, "batchnorm.py")
    try:
        assert zipped.layout == "gradescope" and len(zipped.submissions) == 5
        assert (zipped.submissions[0].source / "batchnorm.py").is_file()
    finally:
        zipped.close()
    with pytest.raises(ClassroomError):
        discover(tmp_path / "nothing", "batchnorm.py")


def test_keys_are_safe_and_unique(tmp_path):
    (tmp_path / "a b").mkdir()
    (tmp_path / "a_b").mkdir()
    (tmp_path / "A_B.zip").write_bytes(b"")
    (tmp_path / "é$.py").write_text("x = 1\n")
    keys = [s.key for s in discover(tmp_path, "batchnorm.py").submissions]
    assert keys == ["A_B", "a_b-2", "a_b-3", "submission"]


class FakeGrader:
    """Stands in for ``grade``: full marks, except the submissions named in ``fail`` (no
    results), ``crash`` (the grader raises) and ``flaky`` (a grading error the first time)."""

    def __init__(
        self, fail: tuple[str, ...] = (), crash: tuple[str, ...] = (), flaky: tuple[str, ...] = ()
    ) -> None:
        self.calls: list[str] = []
        self.fail, self.crash, self.flaky = fail, crash, flaky

    def __call__(self, assignment, folder: Path) -> GradeReport:
        self.calls.append(folder.name)
        if folder.name in self.crash:
            raise RuntimeError("the grader broke")
        if folder.name in self.fail:
            return GradeReport(assignment.name, str(folder), 0.0, 0.0, log="pytest crashed")
        if folder.name in self.flaky and self.calls.count(folder.name) == 1:
            test = TestResult("t::a", 0.0, 2.0, "failed")
            problem = (
                "the sandbox could not start a process: [Errno 11] Resource temporarily unavailable"
            )
            return GradeReport(
                assignment.name, str(folder), 0.0, 2.0, tests=[test], grading_error=problem
            )
        test = TestResult("t::a", 2.0, 2.0, "passed")
        return GradeReport(assignment.name, str(folder), 2.0, 2.0, tests=[test], log="1 passed")


def _plain_class(root: Path, names: tuple[str, ...]) -> list:
    for name in names:
        (root / "class" / name).mkdir(parents=True)
        (root / "class" / name / "batchnorm.py").write_text(f"# {name}\n")
    return discover(root / "class", "batchnorm.py").submissions


def test_errors_are_retried_and_regrade_grades_everything(tmp_path):
    assignment = load_assignment("batchnorm")
    submissions = _plain_class(tmp_path, ("s1", "s2", "s3"))
    out = tmp_path / "out"
    grader = FakeGrader(fail=("s2",), crash=("s3",))
    first = grade_class(assignment, submissions, out, jobs=2, grade_function=grader)
    assert sorted(grader.calls) == ["s1", "s2", "s2", "s3", "s3"]  # errors: once more
    status = {r.submission.key: r.status for r in first.results}
    assert status == {"s1": "graded", "s2": "error", "s3": "error"}
    assert first.graded == 3 and first.errors == 2 and first.retried == 2
    messages = {r.submission.key: r.message for r in first.results}
    assert messages["s2"].startswith("grading error") and "pytest crashed" in messages["s2"]
    assert "the grader broke" in messages["s3"]

    grader = FakeGrader()
    second = grade_class(assignment, submissions, out, jobs=2, grade_function=grader)
    assert sorted(grader.calls) == ["s2", "s3"] and second.up_to_date == 1
    assert {r.status for r in second.results} == {"graded"}

    grader = FakeGrader()
    third = grade_class(assignment, submissions, out, regrade=True, grade_function=grader)
    assert sorted(grader.calls) == ["s1", "s2", "s3"] and third.up_to_date == 0


def test_a_grading_error_is_graded_again_in_the_same_run_and_reported_apart(
    tmp_path, capsys, monkeypatch
):
    import autograder.grading.grade_all

    submissions = _plain_class(tmp_path, ("s1", "s2", "s3"))
    (tmp_path / "class" / "s4").mkdir()  # unreadable: the student's problem, listed apart
    out = tmp_path / "out"
    grader = FakeGrader(flaky=("s2",), fail=("s3",))
    monkeypatch.setattr(autograder.grading.grade_all, "grade", grader)
    folder = str(tmp_path / "class")
    assert main(["grade-all", "batchnorm", folder, "--out", str(out), "--jobs", "1"]) == 0
    assert grader.calls.count("s2") == 2 and grader.calls.count("s3") == 2
    printed = capsys.readouterr().out
    assert "3 graded, 0 up to date, 1 unreadable, 1 grading errors" in printed
    assert "(2 graded twice after a grading error)" in printed
    assert "1 grading errors: the grader failed, not these students" in printed
    assert "  s3: grading produced no results: pytest crashed" in printed
    status = {row["Submission"]: row["Status"] for row in _rows(out / "gradebook.csv")}
    assert status == {"s1": "graded", "s2": "graded", "s3": "error", "s4": "unreadable"}
    stored = json.loads((student_dir(out, submissions[2]) / "results.json").read_text())
    assert stored["extra_data"]["status"] == "error" and stored["score"] == 0
    jsonschema.validate(stored, RESULTS_SCHEMA)
    summary = (out / "summary.md").read_text()
    errors, unreadable = summary.index("## Grading errors"), summary.index("## Not graded")
    assert "not these students" in summary
    assert errors < summary.index("| s3 |") < unreadable < summary.index("| s4 |")


def test_an_interrupt_keeps_finished_results_and_discards_the_rest(tmp_path):
    assignment = load_assignment("batchnorm")
    submissions = _plain_class(tmp_path, ("s1", "s2", "s3"))
    out = tmp_path / "out"

    def grader(assignment, folder: Path) -> GradeReport:
        if folder.name == "s2":
            raise KeyboardInterrupt
        return FakeGrader()(assignment, folder)

    summary = grade_class(assignment, submissions[:2], out, jobs=1, grade_function=grader)
    assert summary.interrupted
    assert (student_dir(out, submissions[0]) / "results.json").is_file()
    assert not student_dir(out, submissions[1]).exists()
    resumed = FakeGrader()
    summary = grade_class(assignment, submissions, out, jobs=1, grade_function=resumed)
    assert not summary.interrupted and resumed.calls == ["s2", "s3"]


def test_the_grader_digest_follows_the_suites_not_the_handout(tmp_path):
    real = load_assignment("batchnorm")
    folder = tmp_path / "batchnorm"
    shutil.copytree(real.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
    copy = Assignment(real.name, real.title, real.files, folder)
    digest = grader_digest(copy)
    (folder / "handout.md").write_text("# notes\n")
    assert grader_digest(copy) == digest
    hidden = next(copy.hidden_dir.glob("test_*.py"))
    hidden.write_text(hidden.read_text() + "\n# a changed test\n")
    assert grader_digest(copy) != digest


def test_a_folder_holding_only_a_zip_is_read_from_the_zip(tmp_path):
    (tmp_path / "class" / "s1").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "class" / "s1" / "upload.zip", "w") as archive:
        archive.writestr("s1/batchnorm.py", "x = 1\n")
    submissions = discover(tmp_path / "class", "batchnorm.py").submissions
    grader = FakeGrader()
    summary = grade_class(
        load_assignment("batchnorm"), submissions, tmp_path / "out", jobs=1, grade_function=grader
    )
    assert grader.calls == ["s1"] and summary.results[0].status == "graded"


def test_feedback_keeps_a_redacted_tests_full_message_and_results_json_does_not(tmp_path):
    def grader(assignment, folder: Path) -> GradeReport:
        test = TestResult.from_gradescope(
            {
                "name": "t::hidden",
                "score": 0.0,
                "max_score": 2.0,
                "status": "failed",
                "visibility": "after_due_date",
                "output": "out (float64, shape (2,)): 1 of 2 elements differ",
                "extra_data": {
                    "instructor_output": "out: 1 of 2 differ: expected 7.32051, got 1.5"
                },
            }
        )
        return GradeReport(assignment.name, str(folder), 0.0, 2.0, tests=[test], log="1 failed")

    submissions = _plain_class(tmp_path, ("s1",))
    out = tmp_path / "out"
    grade_class(load_assignment("batchnorm"), submissions, out, jobs=1, grade_function=grader)
    folder = student_dir(out, submissions[0])
    assert "expected 7.32051" in (folder / "feedback.txt").read_text()
    results = (folder / "results.json").read_text()
    assert "7.32" not in results and "1 of 2 elements differ" in results
