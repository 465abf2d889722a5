"""A graded suite whose tests keep every result they get (as a test comparing a batch of
outputs does): the red-team tests run submissions returning huge results against it.
"""

import pytest
from suite_conv import _inputs

from autograder.suite.compare import assert_close

pytestmark = [
    pytest.mark.assignment("conv"),
    pytest.mark.visibility("after_published"),
    pytest.mark.backends("numpy"),
]


@pytest.mark.points(1)
def test_ten_forwards_kept(student, reference, rng):
    x, w, b = _inputs(rng)
    outputs = [student.conv_forward(x, w, b, padding=1) for _ in range(10)]
    expected = reference.conv_forward(x, w, b, padding=1)
    for out in outputs:
        assert_close(out, expected, name="out")


@pytest.mark.points(1)
def test_one_forward_more(student, reference, rng):
    x, w, b = _inputs(rng)
    expected = reference.conv_forward(x, w, b, stride=2)
    assert_close(student.conv_forward(x, w, b, stride=2), expected, name="out")
