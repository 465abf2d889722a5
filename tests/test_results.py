"""The result model: a test's result and Gradescope's results file, written and read back."""

import jsonschema
import pytest

from autograder.core.gradescope import RESULTS_SCHEMA
from autograder.core.results import GradeReport, GradescopeResults, TestResult

REDACTED = TestResult(
    "test_hidden::test_x",
    0.0,
    1.0,
    "failed",
    "after_due_date",
    "out (float64, shape (2,)): 1 of 2 elements differ",
    grading_error="no /dev/null",
    instructor_output="out: 1 of 2 elements differ: expected 7.32051",
)


def test_a_tests_entry_reads_back_as_it_was_written():
    entry = REDACTED.to_gradescope()
    keys = ["name", "score", "max_score", "status", "visibility", "output", "extra_data"]
    assert list(entry) == keys
    assert entry["extra_data"] == {
        "grading_error": "no /dev/null",
        "instructor_output": "out: 1 of 2 elements differ: expected 7.32051",
    }
    assert TestResult.from_gradescope(entry) == REDACTED
    plain = TestResult("t::a", 2.0, 2.0, "passed")
    assert "extra_data" not in plain.to_gradescope()
    assert TestResult.from_gradescope(plain.to_gradescope()) == plain


def test_gradescope_gets_no_instructors_message():
    entry = REDACTED.to_gradescope(for_students=True)
    assert entry["extra_data"] == {"grading_error": "no /dev/null"}
    assert REDACTED.full_output.endswith("expected 7.32051")
    assert TestResult("t", 0.0, 1.0, "failed", output="short").full_output == "short"


def test_a_results_file_reads_back_as_it_was_written():
    report = GradeReport("toy", "sub", 0.0, 1.0, tests=[REDACTED], execution_time=1.23456)
    payload = report.to_gradescope()
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert list(payload) == ["score", "execution_time", "output", "tests"]
    assert payload["execution_time"] == 1.235
    again = GradescopeResults.from_gradescope(payload)
    assert again.to_gradescope() == payload
    assert again.tests[0].instructor_output == ""  # never written for Gradescope


def test_without_an_execution_time_the_file_has_none():
    results = GradescopeResults(0.0, "why", [TestResult("Grading", 0.0, 0.0, "failed")])
    assert list(results.to_gradescope()) == ["score", "output", "tests"]


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2, 3],
        {"tests": []},
        {"score": "lots", "tests": []},
        {"score": 1, "tests": [1]},
        {"score": 1, "tests": [{"name": "t", "score": 1, "max_score": 1}]},
        {"score": 1, "extra_data": []},
    ],
)
def test_malformed_results_raise(payload):
    with pytest.raises((TypeError, KeyError, ValueError)):
        GradescopeResults.from_gradescope(payload)
