"""The summary line per student function: what its calls showed, item by item of its result,
counted in the tests a student may see; device failures that repeat NumPy's shown once."""

import types

import numpy as np
import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import SOLUTIONS_DIR, assignment_names, load_assignment
from autograder.core.gradescope import RESULTS_SCHEMA
from autograder.core.results import SUMMARY_SCOPES, TestResult, is_summary_entry
from autograder.grading.grade import grade
from autograder.suite.feedback import same_failure, share_device_failures
from autograder.suite.hints import Call
from autograder.suite.outputs import output_names
from autograder.suite.summary import FunctionSummary, summary_lines


def scale_backward(x, w, dout):
    """The gradients of ``out = x * w`` averaged over the batch.

    Returns:
        ``(dx, dw)``: shaped like ``x`` and ``w``.
    """
    return dout * w, (dout * x).sum(axis=0) / x.shape[0]


def scale_forward(x, w):
    """``x * w``."""
    return x * w


REFERENCE = types.SimpleNamespace(
    __name__="solutions.toy", scale_backward=scale_backward, scale_forward=scale_forward
)


def _call(rng, n, wrong_dw=False):
    x, w, dout = (
        rng.standard_normal((n, 6, 5)),
        rng.standard_normal((6, 5)),
        rng.standard_normal((n, 6, 5)),
    )
    dx, dw = scale_backward(x, w, dout)
    return Call("scale_backward", (x, w, dout), {}, (dx, dw * n if wrong_dw else dw))


def test_each_item_is_counted_and_the_shared_difference_named():
    rng = np.random.default_rng(0)
    summary = FunctionSummary()
    summary.record("t::a", "visible", [_call(rng, 4)], True, REFERENCE)
    summary.record("t::b", "visible", [_call(rng, 4, True), _call(rng, 8, True)], False, REFERENCE)
    (line,) = summary_lines(summary, ["visible"])
    assert line == (
        "scale_backward: dw wrong in 2 of 3 cases (in each: the right values times the batch "
        "size); dx right in 3 of 3 cases"
    )


def test_a_call_right_in_a_failed_test_counts_as_right():
    rng = np.random.default_rng(1)
    summary = FunctionSummary()
    summary.record("t::a", "visible", [_call(rng, 4), _call(rng, 4, True)], False, REFERENCE)
    (line,) = summary_lines(summary, ["visible"])
    assert "dw wrong in 1 of 2 cases" in line and "dx right in 2 of 2 cases" in line


def test_a_student_sees_only_the_tests_shown_to_them():
    rng = np.random.default_rng(2)
    summary = FunctionSummary()
    summary.record("t::public", "visible", [_call(rng, 4)], True, REFERENCE)
    summary.record("t::hidden", "after_published", [_call(rng, 4, True)], False, REFERENCE)
    assert summary_lines(summary, SUMMARY_SCOPES["visible"]) == [
        "scale_backward: dx, dw right in 1 of 1 case"
    ]
    (later,) = summary_lines(summary, SUMMARY_SCOPES["after_published"])
    assert "dw wrong in 1 of 2 cases" in later


def test_without_the_reference_the_tests_are_counted():
    rng = np.random.default_rng(3)
    summary = FunctionSummary()
    for name, passed in (("a", True), ("b", False), ("c", True)):
        summary.record(f"t::{name}", "visible", [_call(rng, 2)], passed, None)
    assert summary_lines(summary, ["visible"]) == [
        "scale_backward: 2 of the 3 tests calling it pass"
    ]


def test_calls_that_gave_no_result_and_device_only_failures_are_named():
    rng = np.random.default_rng(4)
    summary = FunctionSummary()
    summary.record("t::a[numpy]", "visible", [_call(rng, 2)], True, REFERENCE)
    summary.record("t::b[numpy]", "visible", [], False, REFERENCE, failed_call="scale_forward")
    summary.record(
        "t::b[strict]", "visible", [], False, None, "scale_forward", "strict", "t::b[numpy]"
    )
    summary.record(
        "t::a[strict]", "visible", [_call(rng, 2)], False, None, "", "strict", "t::a[numpy]"
    )
    assert summary_lines(summary, ["visible"]) == [
        "scale_backward: dx, dw right in 1 of 1 case; on strict, 1 test calling it fails there "
        "but passes on NumPy",
        "scale_forward: no result (an error, a crash or a timeout) in 1 test",
    ]


def test_output_names_come_from_the_docstring():
    assert output_names(scale_backward) == ("dx", "dw")
    assert output_names(scale_forward) == ()
    optimizers = __import__("solutions.optimizers", fromlist=["adam"])
    assert output_names(optimizers.adam) == ("w_new", "")


def test_a_device_failure_like_numpys_is_shown_once():
    message = "dx: 12 of 24 elements differ, max abs error 3.1e-01 at index (0, 1, 2)"
    other = "dx: 10 of 24 elements differ, max abs error 2.7e-01 at index (1, 0, 3)"
    assert same_failure(message, other)
    assert not same_failure(message, "dx: a device array was converted to NumPy")
    results = {
        "t[numpy]": TestResult("t[numpy]", 0.0, 1.0, "failed", output=message),
        "t[strict]": TestResult("t[strict]", 0.0, 0.0, "failed", output=other),
        "u[numpy]": TestResult("u[numpy]", 0.0, 1.0, "failed", output=message),
        "u[strict]": TestResult("u[strict]", 0.0, 0.0, "failed", output="device discipline"),
    }
    share_device_failures(results, {"t[strict]": "t[numpy]", "u[strict]": "u[numpy]"})
    assert results["t[strict]"].output == (
        other + "\n(the same failure as on NumPy: the full message is in t[numpy])"
    )
    assert results["u[strict]"].output == "device discipline"
    assert results["t[numpy]"].output == message


@pytest.fixture(scope="module")
def graded_example(tmp_path_factory):
    """The bundled example whose conv_backward returns dx without the kernel rotated."""
    (spec,) = [s for s in buggy_specs() if s["name"] == "conv-dx-kernel-not-rotated"]
    folder = tmp_path_factory.mktemp("example")
    write_files(
        apply_edits(solution_submission_files(SOLUTIONS_DIR, assignment_names()), spec), folder
    )
    return grade(load_assignment("conv"), folder)


def test_a_graded_submission_gets_its_summary_in_every_output(graded_example):
    report = graded_example
    backward = [line for line in report.summary["all"] if line.startswith("conv_backward:")]
    assert backward and "dx wrong in" in backward[0] and "dw, db right in" in backward[0]
    assert all(
        "wrong" not in line for line in report.summary["all"] if line.startswith("conv_forward:")
    )
    payload = report.to_gradescope()
    visible = [line.strip() for line in payload["output"].splitlines()]
    assert all(line in visible for line in report.summary["visible"])
    (later,) = [
        t for t in payload["tests"] if t["max_score"] == 0 and t["name"].startswith("Per function")
    ]
    assert later["visibility"] == "after_published"
    assert all(line in later["output"] for line in report.summary["after_published"])
    assert not [t for t in report.tests if is_summary_entry(t)]
    import jsonschema

    jsonschema.validate(payload, RESULTS_SCHEMA)


def test_failures_on_the_strict_simulator_that_repeat_numpys_are_shown_once(graded_example):
    by_name = {t.name: t for t in graded_example.tests}
    said = "(the same failure as on NumPy: the full message is in "
    shared = [t for t in graded_example.tests if "[strict" in t.name and said in t.output]
    assert shared
    for test in shared:
        numpy_case = test.output.split(said)[1].removesuffix(")")
        assert by_name[numpy_case].status == "failed"
        first, numpy_lines = test.output.splitlines()[0], by_name[numpy_case].output.splitlines()
        assert len(test.output.splitlines()) == 2 and same_failure(first, numpy_lines[0])
        assert not [line for line in numpy_lines[1:] if line in test.output]  # hints: once
