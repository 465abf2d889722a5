"""A small graded suite that the red-team tests run hostile submissions against.

CANARY-HIDDEN-SUITE-5d1e: this line must never reach a student's feedback.
"""

import pytest

from autograder.suite.compare import assert_close

# The attacks target the sandbox, which is the same for every backend: NumPy cases suffice here
# (tests/test_devicesim.py covers what is particular to the strict backend).
pytestmark = [
    pytest.mark.assignment("conv"),
    pytest.mark.visibility("after_published"),
    pytest.mark.backends("numpy"),
]


def _inputs(rng):
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    return x, w, b


@pytest.mark.points(1)
def test_forward(student, reference, rng):
    x, w, b = _inputs(rng)
    expected = reference.conv_forward(x, w, b, padding=1)
    assert_close(student.conv_forward(x, w, b, padding=1), expected, name="out")


@pytest.mark.points(1)
def test_backward(student, reference, rng):
    x, w, _ = _inputs(rng)
    dout = rng.standard_normal((2, 4, 6, 5))
    expected = reference.conv_backward(dout, x, w, padding=1)
    result = student.conv_backward(dout, x, w, padding=1)
    assert isinstance(result, tuple) and len(result) == 3, "return (dx, dw, db)"
    for name, got, want in zip(("dx", "dw", "db"), result, expected, strict=True):
        assert_close(got, want, name=name)


@pytest.mark.points(1)
def test_forward_again(student, reference, rng):
    x, w, _ = _inputs(rng)
    expected = reference.conv_forward(x, w, None, stride=2)
    assert_close(student.conv_forward(x, w, None, stride=2), expected, name="out")
