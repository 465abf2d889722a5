"""A backward cannot buy gradient points by rigging the forward that gradient checks measure.

The public suites' numeric gradient checks differentiate ``forward_oracle``: the reference's
forward where the reference is available (grading), the student's own on a student's machine.
The attack here is the reference ``conv.py`` except that ``conv_backward`` returns zeros and
``conv_forward`` recognises a gradient check's calls (inputs of a signature it saw before that
differ from them in at most one element) and answers them with the output it gave before: a
constant, whose numeric gradient is the zero its backward returns. Graded end to end, every
backward and gradient test of the public and hidden suites scores 0 and every forward test
keeps its points; a check that differentiates the student's own forward is fooled (the
control), which is why graded checks do not.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from autograder.authoring.stubgen import solution_submission_files
from autograder.core.assignments import SOLUTIONS_DIR, load_assignment
from autograder.grading.grade import grade

RIGGED = '''

_right_forward = conv_forward
_BASES = {}  # signature of a call -> (its arguments, its output)


def _signature(x, w, b, stride, padding, dilation, groups):
    arrays = tuple(None if a is None else (type(a), a.shape, str(a.dtype)) for a in (x, w, b))
    return arrays, repr((stride, padding, dilation, groups))


def _changed(old, new):
    """How many elements differ between two argument triples of one signature."""
    return sum(int((o != n).sum()) for o, n in zip(old, new) if n is not None)


def conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    key = _signature(x, w, b, stride, padding, dilation, groups)
    base = _BASES.get(key)
    if base is not None and _changed(base[0], (x, w, b)) <= 1:
        return base[1].copy()  # a gradient check's probe: the answer it gave before
    out = _right_forward(x, w, b, stride, padding, dilation, groups)
    _BASES[key] = ((x.copy(), w.copy(), None if b is None else b.copy()), out.copy())
    return out


def conv_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    xp = get_array_module(x)
    return xp.zeros_like(x), xp.zeros_like(w), xp.zeros(w.shape[0], dtype=x.dtype)
'''

CONTROL_SUITE = textwrap.dedent(
    """
    import pytest

    from autograder.suite.gradcheck import assert_gradient_close

    pytestmark = [pytest.mark.assignment("conv"), pytest.mark.backends("numpy")]


    def _check(student, functions, rng):
        x = rng.standard_normal((2, 3, 5, 5))
        w = rng.standard_normal((4, 3, 3, 3))
        b = rng.standard_normal(4)
        out = student.conv_forward(x, w, b, padding=1)
        dout = rng.standard_normal(out.shape)
        dx, dw, db = student.conv_backward(dout, x, w, padding=1)
        forward = functions.conv_forward
        assert_gradient_close(dx, lambda v: forward(v, w, b, padding=1), x, dout, name="dx")
        assert_gradient_close(dw, lambda v: forward(x, v, b, padding=1), w, dout, name="dw")
        assert_gradient_close(db, lambda v: forward(x, w, v, padding=1), b, dout, name="db")


    @pytest.mark.points(1)
    def test_against_the_students_own_forward(student, rng):
        _check(student, student, rng)


    @pytest.mark.points(1)
    def test_against_the_forward_oracle(student, forward_oracle, rng):
        _check(student, forward_oracle, rng)
    """
)


def _rigged_submission(folder: Path) -> Path:
    reference = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conv.py").write_text(reference + RIGGED)
    return folder


def _is_gradient_test(name: str) -> bool:
    test = name.split("::")[1]
    return "backward" in test or "gradient" in test


def test_a_rigged_forward_and_a_zero_backward_earn_no_gradient_points(tmp_path):
    report = grade(load_assignment("conv"), _rigged_submission(tmp_path / "submission"))
    assert report.tests, report.log[-3000:]
    gradient = [t for t in report.tests if _is_gradient_test(t.name)]
    forward = [t for t in report.tests if not _is_gradient_test(t.name)]
    suites = {t.name.split("::")[0] for t in gradient}
    assert suites == {"test_conv_public", "test_conv_hidden"}, suites
    public = [t for t in gradient if t.name.startswith("test_conv_public::")]
    assert sum(t.max_score for t in public) > 0, "the public gradient tests carry points"
    scored = [t.name for t in gradient if t.score != 0 or t.status != "failed"]
    assert not scored, f"a zero backward scored on: {scored}"
    lost = [f"{t.name}: {t.output}" for t in forward if t.status != "passed"]
    assert not lost, "\n".join(lost)
    assert all(t.score == t.max_score for t in forward)
    assert 0 < report.score == sum(t.max_score for t in forward) < report.max_score


def test_the_rig_fools_only_a_check_of_the_students_own_forward(tmp_path):
    """The control: differentiating the submission's own forward, the attack passes."""
    suite = tmp_path / "suite" / "test_conv_control.py"
    suite.parent.mkdir()
    suite.write_text(CONTROL_SUITE)
    submission = _rigged_submission(tmp_path / "submission")
    report = grade(load_assignment("conv"), submission, test_paths=[suite])
    status = {t.name.split("::")[1]: t.status for t in report.tests}
    assert status == {
        "test_against_the_students_own_forward": "passed",
        "test_against_the_forward_oracle": "failed",
    }, report.log[-3000:]


ORACLE_SUITE = textwrap.dedent(
    """
    import importlib

    import numpy as np
    import pytest

    pytestmark = [pytest.mark.assignment("ASSIGNMENT")]


    @pytest.mark.points(1)
    def test_oracle(student, forward_oracle, backend):
        x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
        out = forward_oracle.conv_forward(x, w, None)
        assert type(out) is np.ndarray and out.shape == (1, 1, 2, 2), type(out)
        assert (out == 4.0).all()
        if EXPECT_REFERENCE:
            assert forward_oracle is importlib.import_module("solutions.ASSIGNMENT")
        else:
            assert forward_oracle is student
    """
)


def _run_oracle_suite(pytester, assignment: str, expect_reference: bool) -> dict[str, str]:
    suite = ORACLE_SUITE.replace("ASSIGNMENT", assignment)
    pytester.makepyfile(test_oracle=suite.replace("EXPECT_REFERENCE", str(expect_reference)))
    submission = pytester.path / "submission"
    submission.mkdir()
    conv = solution_submission_files(SOLUTIONS_DIR, ["conv"])["conv.py"]
    (submission / f"{assignment}.py").write_text(conv)
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(f"--submission={submission}", f"--results={results}")
    tests = json.loads(results.read_text())["tests"]
    return {t["name"].split("::")[1]: t["status"] for t in tests}


def test_forward_oracle_is_the_reference_module_in_the_checkout(pytester, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_GPU", "0")  # the strict case runs here, as without a GPU
    assert (SOLUTIONS_DIR / "conv.py").is_file()
    statuses = _run_oracle_suite(pytester, "conv", expect_reference=True)
    assert statuses == {"test_oracle[numpy]": "passed", "test_oracle[strict]": "passed"}


@pytest.mark.parametrize("kit", ["no-solutions", "no-kit"])
def test_forward_oracle_is_the_students_functions_without_the_reference(pytester, monkeypatch, kit):
    """A student's machine: no ``solutions/<name>.py`` (a kit without solutions, or an
    assignment the kit does not know)."""
    monkeypatch.setenv("AUTOGRADER_GPU", "0")
    if kit == "no-solutions":  # the conv assignment, with its config but not its reference
        home = pytester.path / "kit"
        (home / "assignments" / "conv").mkdir(parents=True)
        (home / "assignments" / "conv" / "assignment.toml").write_text('name = "conv"\n')
        monkeypatch.setenv("AUTOGRADER_HOME", str(home))
        assignment = "conv"
    else:
        assignment = "toyconv"
        assert not (SOLUTIONS_DIR / f"{assignment}.py").exists()
    statuses = _run_oracle_suite(pytester, assignment, expect_reference=False)
    assert statuses == {"test_oracle[numpy]": "passed", "test_oracle[strict]": "passed"}
