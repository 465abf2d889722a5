"""A graded suite with device cases: the red-team tests run submissions that forge the strict
simulator's verdicts against it (they must gain nothing)."""

import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("conv"), pytest.mark.visibility("after_published")]


@pytest.mark.points(2)
def test_forward_on_every_backend(student, reference, rng):
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    expected = reference.conv_forward(x, w, b, padding=1)
    assert_close(student.conv_forward(x, w, b, padding=1), expected, name="out")
