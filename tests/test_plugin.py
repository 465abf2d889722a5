"""The pytest plugin: markers, the student fixture, seeding and the results it writes."""

import dataclasses
import json
import textwrap

import pytest

SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    pytestmark = [
        pytest.mark.assignment("toy"),
        pytest.mark.visibility("after_published"),
        pytest.mark.backends("numpy"),
    ]

    @pytest.mark.points(2)
    def test_double(student):
        x = np.arange(3.0)
        np.testing.assert_array_equal(student.double(x), 2 * x)

    @pytest.mark.points(1.5)
    @pytest.mark.visibility("visible")
    def test_fails(student):
        SECRET_HIDDEN_INPUT = 12345
        assert student.double(np.ones(2)).sum() == SECRET_HIDDEN_INPUT

    @pytest.mark.points(1)
    def test_skipped(student):
        pytest.skip("not today")

    @pytest.mark.points(1)
    def test_mutation(student):
        x = np.ones(3)
        student.scale_in_place(x)

    @pytest.mark.points(1)
    def test_rng(student, rng):
        print("NUMBERS", student.double(rng.integers(0, 10**9, 3)).tolist())
    """
)

GOOD = textwrap.dedent(
    """
    def double(x):
        return 2 * x

    def scale_in_place(x):
        x *= 3
        return x
    """
)


def _run(pytester, submission_source, *extra, suite=SUITE):
    pytester.makepyfile(test_toy=suite)
    submission = pytester.path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "toy.py").write_text(submission_source)
    results = pytester.path / "results.json"
    outcome = pytester.runpytest_subprocess(
        f"--submission={submission}", f"--results={results}", "-s", *extra
    )
    return outcome, json.loads(results.read_text())


def test_results_carry_points_status_visibility_and_messages(pytester):
    _, results = _run(pytester, GOOD)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["test_toy::test_double"] == {
        "name": "test_toy::test_double",
        "score": 2.0,
        "max_score": 2.0,
        "status": "passed",
        "visibility": "after_published",
        "output": "",
    }
    failed = tests["test_toy::test_fails"]
    assert (failed["score"], failed["max_score"], failed["status"]) == (0.0, 1.5, "failed")
    assert failed["visibility"] == "visible"
    assert "SECRET_HIDDEN_INPUT" not in failed["output"]
    assert tests["test_toy::test_skipped"]["score"] == 0.0
    assert tests["test_toy::test_skipped"]["output"] == "skipped: not today"
    assert results["score"] == 3.0
    assert results["max_score"] == 6.5


def test_modifying_an_input_in_place_fails_the_test(pytester):
    _, results = _run(pytester, GOOD)
    mutation = next(t for t in results["tests"] if t["name"].endswith("test_mutation"))
    assert mutation["status"] == "failed"
    assert "scale_in_place() modified its input x in place" in mutation["output"]


MISTAKE_SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    from autograder.suite.compare import MistakeFound

    pytestmark = [pytest.mark.assignment("toy"), pytest.mark.backends("numpy")]

    @pytest.mark.points(1)
    def test_double_is_not_a_square(student):
        x = np.arange(4.0)
        got = student.double(x)
        if np.array_equal(got, x * x):
            raise MistakeFound("double(x) is wrong", "your double squares x: double it, 2 * x")
        np.testing.assert_array_equal(got, 2 * x)
    """
)


def test_a_mistake_the_test_names_is_its_hint(pytester):
    _, results = _run(pytester, "def double(x):\n    return x * x\n", suite=MISTAKE_SUITE)
    (test,) = results["tests"]
    assert test["status"] == "failed"
    assert "double(x) is wrong" in test["output"]
    assert "\nhint: your double squares x: double it, 2 * x" in test["output"]
    _, results = _run(pytester, "def double(x):\n    return x + 1\n", suite=MISTAKE_SUITE)
    assert "hint:" not in results["tests"][0]["output"]  # another mistake: none named


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def double(x):\n    return x +\n", "importing toy.py failed: SyntaxError"),
        ("raise RuntimeError('boom')\n", "importing toy.py failed: RuntimeError: boom"),
        ("import sys\nsys.exit(3)\n", "importing toy.py failed: SystemExit: 3"),
        ("def other():\n    pass\n", "toy.py has no function double()"),
    ],
)
def test_broken_submissions_fail_every_test_with_a_reason(pytester, source, message):
    _, results = _run(pytester, source)
    double = next(t for t in results["tests"] if t["name"].endswith("test_double"))
    assert double["score"] == 0.0
    assert message in double["output"]


def test_missing_student_file(pytester):
    pytester.makepyfile(test_toy=SUITE)
    (pytester.path / "empty").mkdir()
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(f"--submission={pytester.path / 'empty'}", f"--results={results}")
    tests = json.loads(results.read_text())["tests"]
    assert all(t["score"] == 0 for t in tests)
    assert "toy.py was not found in the submission" in tests[0]["output"]


def _numbers(outcome):
    return [line for line in outcome.outlines if "NUMBERS" in line]


def test_inputs_are_seeded_by_the_submission_content(pytester):
    first, _ = _run(pytester, GOOD)
    again, _ = _run(pytester, GOOD)
    other, _ = _run(pytester, GOOD + "\n# a comment changes the seed\n")
    assert _numbers(first) and _numbers(first) == _numbers(again)
    assert _numbers(first) != _numbers(other)


def test_a_graded_test_without_points_is_a_usage_error(pytester):
    pytester.makepyfile(
        test_bad="""
        import pytest
        pytestmark = pytest.mark.assignment("toy")
        def test_unscored(student):
            pass
        """
    )
    outcome = pytester.runpytest_subprocess()
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    outcome.stderr.fnmatch_lines(["*needs @pytest.mark.points(n)*"])


def test_score_line_in_the_terminal(pytester):
    outcome, _ = _run(pytester, GOOD)
    outcome.stdout.fnmatch_lines(["*score 3 / 6.5 (2/5 tests)*"])


STATEFUL = textwrap.dedent(
    """
    import numpy as np

    CALLS = []

    def count():
        CALLS.append(1)
        return np.array(len(CALLS))
    """
)

STATE_SUITE = textwrap.dedent(
    """
    import pytest

    pytestmark = [
        pytest.mark.assignment("toy"),
        pytest.mark.points(1),
        pytest.mark.backends("numpy"),
    ]

    def test_first(student):
        assert int(student.count()) == 1

    def test_shares_the_worker_of_a_passing_test(student):
        assert int(student.count()) == 2

    def test_fails(student):
        assert int(student.count()) == 0

    def test_after_a_failure_starts_fresh(student):
        assert int(student.count()) == 1
    """
)


def test_fresh_worker_per_test_file_and_after_a_failure(pytester):
    pytester.makepyfile(test_state_a=STATE_SUITE, test_state_b=STATE_SUITE)
    submission = pytester.path / "submission"
    submission.mkdir()
    (submission / "toy.py").write_text(STATEFUL)
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(f"--submission={submission}", f"--results={results}")
    status = {t["name"]: t["status"] for t in json.loads(results.read_text())["tests"]}
    for file in ("test_state_a", "test_state_b"):  # the second file starts fresh too
        assert status[f"{file}::test_first"] == "passed"
        assert status[f"{file}::test_shares_the_worker_of_a_passing_test"] == "passed"
        assert status[f"{file}::test_fails"] == "failed"
        assert status[f"{file}::test_after_a_failure_starts_fresh"] == "passed"


BACKEND_SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    pytestmark = [pytest.mark.assignment("toy")]

    @pytest.mark.points(1)
    def test_relu(student, backend):
        x = np.array([-1.0, 0.5, 2.0])
        out = student.relu(x)
        assert type(out) is np.ndarray  # the suite sees NumPy arrays whatever the backend
        np.testing.assert_array_equal(out, np.maximum(x, 0))

    @pytest.mark.points(2)
    @pytest.mark.backends("numpy")
    def test_numpy_only(student):
        assert student.relu(np.ones(2)).sum() == 2
    """
)

PORTABLE = textwrap.dedent(
    """
    import numpy as np
    try:
        from cupy import get_array_module
    except ImportError:
        def get_array_module(*arrays):
            return np

    def relu(x):
        xp = get_array_module(x)
        return xp.maximum(x, xp.zeros(x.shape, dtype=x.dtype))
    """
)

HOST_BOUND = textwrap.dedent(
    """
    import numpy as np

    def relu(x):
        return np.maximum(x, np.zeros(x.shape, dtype=x.dtype))
    """
)


def _run_backends(pytester, source):
    return _run(pytester, source, "-rs", suite=BACKEND_SUITE)


def test_each_graded_test_runs_once_per_backend_and_the_strict_case_is_feedback_only(
    pytester, monkeypatch
):
    monkeypatch.setenv("AUTOGRADER_GPU", "0")  # the same on a GPU machine: strict runs
    outcome, results = _run_backends(pytester, PORTABLE)
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {
        "test_toy::test_relu[numpy]",
        "test_toy::test_relu[strict]",
        "test_toy::test_numpy_only",
    }
    assert tests["test_toy::test_relu[numpy]"]["max_score"] == 1
    assert tests["test_toy::test_relu[strict]"]["max_score"] == 0
    assert tests["test_toy::test_relu[strict]"]["status"] == "passed"
    assert tests["test_toy::test_numpy_only"]["max_score"] == 2
    assert results["score"] == results["max_score"] == 3
    backends = results["backends"]
    assert backends["strict"]["max_score"] == 0 and backends["strict"]["passed"] == 1
    assert backends["cupy"]["skipped"] == 1
    assert "AUTOGRADER_GPU=0" in backends["cupy"]["reason"]
    outcome.stdout.fnmatch_lines(["*cupy: 1 cases skipped: cupy cases need a usable CUDA device*"])
    outcome.stdout.fnmatch_lines(["*SKIPPED*cupy cases need a usable CUDA device*"])


def test_host_bound_code_is_told_what_broke_on_the_strict_case_and_loses_nothing(
    pytester, monkeypatch
):
    monkeypatch.setenv("AUTOGRADER_GPU", "0")
    _, results = _run_backends(pytester, HOST_BOUND)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["test_toy::test_relu[numpy]"]["status"] == "passed"
    strict = tests["test_toy::test_relu[strict]"]
    assert strict["status"] == "failed" and strict["score"] == strict["max_score"] == 0
    assert "device discipline" in strict["output"]
    assert "get_array_module" in strict["output"]
    assert results["score"] == results["max_score"] == 3


def test_points_shares_on_each_kind_of_machine():
    from autograder.core.backends import points_share

    assert points_share("strict", 0.2, gpu=False) == 0.0
    assert points_share("numpy", 0.2, gpu=False) == 1.0
    assert points_share("numpy", 0.2, gpu=True) == pytest.approx(0.8)
    assert points_share("cupy", 0.2, gpu=True) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="unknown backend"):
        points_share("torch", 0.2, gpu=False)


def test_an_unknown_backend_in_the_marker_is_a_usage_error(pytester):
    pytester.makepyfile(
        test_toy="""
        import pytest
        pytestmark = [pytest.mark.assignment("toy"), pytest.mark.points(1)]

        @pytest.mark.backends("torch")
        def test_x(student):
            pass
        """
    )
    outcome = pytester.runpytest_subprocess()
    assert outcome.ret != pytest.ExitCode.OK
    outcome.stdout.fnmatch_lines(["*pytest.mark.backends takes names among*torch*"])


# ------------------------------------------------------------------ time: timeouts and budget

HANGS = textwrap.dedent(
    """
    import time
    import numpy as np

    def hang(x):
        time.sleep(1000)

    def slow(x):
        time.sleep(0.6)
        return 2 * x

    def double(x):
        return 2 * x
    """
)

TIME_SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    pytestmark = [
        pytest.mark.assignment("toy"),
        pytest.mark.points(1),
        pytest.mark.backends("numpy"),
    ]

    def test_hang_first(student):
        student.hang(np.ones(2))

    def test_hang_again(student):
        student.hang(np.ones(2))

    def test_other_function(student):
        np.testing.assert_array_equal(student.double(np.ones(2)), 2 * np.ones(2))

    @pytest.mark.parametrize("n", range(8))
    def test_slow(student, n):
        np.testing.assert_array_equal(student.slow(np.ones(2)), 2 * np.ones(2))
    """
)


def _outputs(results):
    return {t["name"].split("::")[1]: t for t in results["tests"]}


def test_a_function_that_timed_out_is_not_run_again_and_the_others_keep_running(pytester):
    _, results = _run(pytester, HANGS, "--call-timeout=1", suite=TIME_SUITE)
    tests = _outputs(results)
    assert tests["test_hang_first"]["output"] == "hang did not finish within 1 s"
    assert tests["test_hang_again"]["output"] == (
        "hang timed out earlier in this grading (1 s, in test_toy::test_hang_first); not run again"
    )
    assert tests["test_other_function"]["status"] == "passed"
    assert all(tests[f"test_slow[{n}]"]["status"] == "passed" for n in range(8))
    assert "grading_error" not in results
    assert results["execution_time"] < 15  # one timeout, not one per test


def test_past_the_grading_budget_every_call_fails_at_once_and_results_are_written(pytester):
    _, results = _run(pytester, HANGS, "--grading-budget=4", suite=TIME_SUITE)
    tests = _outputs(results)
    assert tests["test_hang_first"]["output"] == (
        "hang was stopped: the grading's time budget of 4 s ran out during the call"
    )
    spent = "the grading's time budget of 4 s is spent; {} not run"
    assert tests["test_hang_again"]["output"] == spent.format("hang")
    assert tests["test_other_function"]["output"] == spent.format("double")
    assert all(tests[f"test_slow[{n}]"]["output"] == spent.format("slow") for n in range(8))
    assert len(tests) == 11 and results["score"] == 0
    assert results["execution_time"] < 12


# ------------------------------------------------------------------ the grader's environment


def test_a_failure_of_the_graders_environment_is_a_grading_error_not_a_zero(pytester, monkeypatch):
    from autograder.sandbox import runner

    monkeypatch.setattr(runner, "DEVNULL", str(pytester.path / "no-such-null"))
    pytester.makepyfile(test_toy=SUITE)
    submission = pytester.path / "submission"
    submission.mkdir()
    (submission / "toy.py").write_text(GOOD)
    results_path = pytester.path / "results.json"
    pytester.runpytest_inprocess(f"--submission={submission}", f"--results={results_path}")
    results = json.loads(results_path.read_text())
    os_error = f"[Errno 2] No such file or directory: '{pytester.path / 'no-such-null'}'"
    assert os_error in results["grading_error"]
    for test in results["tests"]:
        if test["name"].endswith("test_skipped"):  # it calls nothing: not touched
            continue
        assert test["output"].startswith("grading error (the grader's environment failed")
        assert os_error in test["output"] and os_error in test["extra_data"]["grading_error"]
        assert "hint" not in test["output"]


# ------------------------------------------------------------------ warnings on the strict backend

WARNS = textwrap.dedent(
    """
    import numpy as np
    try:
        from cupy import get_array_module
    except ImportError:
        def get_array_module(*arrays):
            return np

    def safe_log(x):
        xp = get_array_module(x)
        return xp.where(x > 0, xp.log(x), 0.0)

    def masked_exp(x):
        xp = get_array_module(x)
        return xp.where(x < 100, xp.exp(x), 0.0)

    def masked_divide(x, y):
        xp = get_array_module(x)
        return xp.where(y != 0, x / y, 0.0)
    """
)

WARNING_SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    pytestmark = [pytest.mark.assignment("toy"), pytest.mark.points(1)]

    def test_safe_log(student):
        np.testing.assert_allclose(student.safe_log(np.array([0.0, 1.0])), [0.0, 0.0])

    def test_masked_exp(student):
        np.testing.assert_allclose(student.masked_exp(np.array([0.0, 1e3])), [1.0, 0.0])

    def test_masked_divide(student):
        got = student.masked_divide(np.ones(2), np.array([0.0, 2.0]))
        np.testing.assert_allclose(got, [0.0, 0.5])
    """
)


@pytest.mark.parametrize("where", ["sandbox", "in-process"])
def test_numpy_warnings_cost_nothing_on_the_strict_backend(pytester, monkeypatch, where):
    monkeypatch.setenv("AUTOGRADER_GPU", "0")
    extra = ("--in-process",) if where == "in-process" else ()
    _, results = _run(pytester, WARNS, *extra, suite=WARNING_SUITE)
    tests = {t["name"]: t for t in results["tests"]}
    assert {n.split("[")[1] for n in tests} == {"numpy]", "strict]"}
    assert all(t["status"] == "passed" for t in tests.values()), tests
    assert results["score"] == results["max_score"] == 3


PLANTED_SUITE = textwrap.dedent(
    """
    import numpy as np
    import pytest

    from autograder.suite.compare import assert_close, assert_scalar_close

    pytestmark = [pytest.mark.assignment("toy"), pytest.mark.backends("numpy")]
    PLANTED = 7.3205080757  # stands for a reference's value on hidden inputs

    @pytest.mark.points(1)
    @pytest.mark.visibility("VISIBILITY")
    def test_array(student):
        x = np.full((2, 3), 0.75)
        assert_close(student.double(x), np.full((2, 3), PLANTED), name="out")

    @pytest.mark.points(1)
    @pytest.mark.visibility("VISIBILITY")
    def test_scalar(student):
        assert_scalar_close(student.double(np.float64(0.75)), np.float64(PLANTED), name="loss")

    @pytest.mark.points(1)
    @pytest.mark.visibility("VISIBILITY")
    def test_plain_assert(student):
        got = float(student.double(np.float64(0.75)))
        assert got == pytest.approx(PLANTED), f"double returned {got}"
    """
)


def _run_planted(pytester, monkeypatch, visibility, reveal=None, folder="hidden"):
    """Grade the planted suite (in ``folder/``) with ``[feedback] reveal_expected = reveal``."""
    kit = pytester.path / "kit"
    (kit / "assignments" / "toy").mkdir(parents=True, exist_ok=True)
    config = 'name = "toy"\n'
    if reveal is not None:
        config += f'\n[feedback]\nreveal_expected = "{reveal}"\n'
    (kit / "assignments" / "toy" / "assignment.toml").write_text(config)
    monkeypatch.setenv("AUTOGRADER_HOME", str(kit))
    suite_dir = pytester.path / folder
    suite_dir.mkdir(exist_ok=True)
    (suite_dir / "test_toy_planted.py").write_text(PLANTED_SUITE.replace("VISIBILITY", visibility))
    submission = pytester.path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "toy.py").write_text(GOOD)
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(
        str(suite_dir), f"--submission={submission}", f"--results={results}"
    )
    return {t["name"].split("::")[1]: t for t in json.loads(results.read_text())["tests"]}


def _shows_planted(text):
    return "7.32" in text or "73205" in text


@pytest.mark.parametrize(
    ("visibility", "reveal"),
    [
        ("after_due_date", None),  # default: not before grades are published
        ("after_published", "never"),
        ("hidden", "never"),
        ("visible", "after_due_date"),  # a hidden suite's test shown at once
        ("after_due_date", "after_published"),
    ],
)
def test_hidden_tests_feedback_holds_no_expected_value_before_it_may(
    pytester, monkeypatch, visibility, reveal
):
    tests = _run_planted(pytester, monkeypatch, visibility, reveal)
    assert all(t["status"] == "failed" for t in tests.values()), tests
    for test in tests.values():
        assert not _shows_planted(test["output"]), test["output"]
        assert _shows_planted(test["extra_data"]["instructor_output"])  # instructors: all
    array = tests["test_array"]["output"]
    for part in ("out (float64, shape (2, 3))", "6 of 6 elements differ", "index (0, 0)"):
        assert part in array
    assert "yours is 1.5" in array and "error 5.8e+00" in array and "allowed " in array
    assert "loss (float64): yours is 1.5" in tests["test_scalar"]["output"]
    assert tests["test_plain_assert"]["output"] == "double returned 1.5"  # no `assert ...`


@pytest.mark.parametrize(
    ("visibility", "reveal"),
    [
        ("after_published", None),  # shown once grades are published: so may its values be
        ("after_published", "after_due_date"),
        ("after_due_date", "after_due_date"),
        ("visible", "visible"),
        ("after_due_date", "always"),
        ("hidden", "after_published"),  # never shown to students
    ],
)
def test_expected_values_appear_where_the_config_allows(pytester, monkeypatch, visibility, reveal):
    tests = _run_planted(pytester, monkeypatch, visibility, reveal)
    for test in tests.values():
        assert _shows_planted(test["output"]), test["output"]
        assert "extra_data" not in test
    assert tests["test_array"]["output"].startswith("out: 6 of 6 elements differ")
    assert "expected 7.32051, got 1.50000" in tests["test_array"]["output"]


def test_public_tests_keep_their_full_messages(pytester, monkeypatch):
    tests = _run_planted(pytester, monkeypatch, "visible", "never", folder="public")
    array = tests["test_array"]["output"]
    assert array.startswith("out: 6 of 6 elements differ beyond tolerance")  # as before
    assert "first mismatch at index (0, 0): expected 7.32051, got 1.50000" in array
    assert "expected 7.32051, got 1.50000" in tests["test_scalar"]["output"]
    assert "assert 1.5 == 7.3205080757" in tests["test_plain_assert"]["output"]
    assert all("extra_data" not in t for t in tests.values())


def test_gradescope_results_drop_the_instructor_output_and_feedback_keeps_it():
    from autograder.core.results import TestResult
    from autograder.grading.grade import GradeReport
    from autograder.grading.report import test_table

    entry = {
        "name": "test_hidden::test_x",
        "score": 0.0,
        "max_score": 1.0,
        "status": "failed",
        "visibility": "after_due_date",
        "output": "out (float64, shape (2,)): 1 of 2 elements differ",
        "extra_data": {"instructor_output": "out: 1 of 2 elements differ: expected 7.32051"},
    }
    test = TestResult.from_gradescope(entry)
    report = GradeReport("toy", "sub", 0.0, 1.0, tests=[test])
    payload = report.to_gradescope()
    assert "7.32" not in json.dumps(payload)
    assert payload["tests"][0]["output"] == entry["output"]
    assert "extra_data" not in payload["tests"][0]
    assert report.tests[0].instructor_output  # the report itself is left as it was
    feedback = test_table(report, full_messages=True)
    assert "instructors only, with the expected values:" in feedback and "7.32051" in feedback
    assert "7.32" not in test_table(report)
    both = dataclasses.replace(test, grading_error="no /dev/null", instructor_output="7.32")
    kept = GradeReport("toy", "sub", 0.0, 1.0, tests=[both]).to_gradescope()["tests"][0]
    assert kept["extra_data"] == {"grading_error": "no /dev/null"}


def test_reveal_expected_setting(tmp_path, monkeypatch):
    from autograder.core import assignments

    assert assignments.load_assignment("conv").reveal_expected == "after_published"
    folder = tmp_path / "assignments" / "toy"
    folder.mkdir(parents=True)
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", tmp_path / "assignments")
    (folder / "assignment.toml").write_text(
        'name = "toy"\n[feedback]\nreveal_expected = "visible"\n'
    )
    assert assignments.load_assignment("toy").reveal_expected == "visible"
    (folder / "assignment.toml").write_text('name = "toy"\n[feedback]\nreveal_expected = "soon"\n')
    with pytest.raises(ValueError, match=r"\[feedback\] reveal_expected must be one of .*'soon'"):
        assignments.load_assignment("toy")
    reveals = assignments.reveals_expected
    assert reveals("after_published", "after_published") and reveals("after_published", "hidden")
    assert not reveals("after_published", "after_due_date")
    assert not reveals("after_published", "visible")
    assert reveals("after_due_date", "after_published") and reveals("always", "visible")
    assert not any(reveals("never", v) for v in ("visible", "after_published", "hidden"))
