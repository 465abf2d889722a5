"""A graded suite whose tests keep every result they get (as a test comparing a batch of
outputs does): the red-team tests run submissions returning huge results against it.
"""

import pytest

from autograder.compare import assert_close

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
def test_ten_forwards_kept(student, reference, rng):
    x, w, b = _inputs(rng)
    outputs = [student.conv_forward(x, w, b, padding=1) for _ in range(10)]
    expected = reference.conv_forward(x, w, b, padding=1)
    for out in outputs:
        assert_close(out, expected, name="out")


@pytest.mark.points(1)
def test_backward(student, reference, rng):
    x, w, _ = _inputs(rng)
    dout = rng.standard_normal((2, 4, 6, 5))
    expected = reference.conv_backward(dout, x, w, padding=1)
    result = student.conv_backward(dout, x, w, padding=1)
    for name, got, want in zip(("dx", "dw", "db"), result, expected, strict=True):
        assert_close(got, want, name=name)
