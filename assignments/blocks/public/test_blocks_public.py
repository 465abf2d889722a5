"""Public tests for blocks.py: shapes, add versus concatenate, and numeric gradients.

Run them from your copy of the template with ``autograder check blocks`` (your ``conv.py``
and ``pooling.py`` must sit beside ``blocks.py``). The hidden tests compare every block with a
reference implementation over more shapes, strides and dtypes.

The numeric gradient checks (the ``forward_oracle`` fixture) differentiate your own forward
when you run them; when graded they differentiate the reference's forward, so your backward
must be the gradient of the correct forward, not only of yours.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import assert_gradient_close

pytestmark = [pytest.mark.assignment("blocks")]


def _params(rng, shapes):
    return {k: 0.5 * rng.standard_normal(shape) for k, shape in shapes.items()}


INCEPTION = {
    "w1": (2, 3, 1, 1), "b1": (2,), "w3r": (2, 3, 1, 1), "b3r": (2,), "w3": (3, 2, 3, 3),
    "b3": (3,), "w5r": (1, 3, 1, 1), "b5r": (1,), "w5": (2, 1, 5, 5), "b5": (2,),
    "wp": (4, 3, 1, 1), "bp": (4,),
}  # fmt: skip


@pytest.mark.points(1)
def test_inception_concatenates_its_branches_in_order(student, rng):
    x = rng.standard_normal((2, 3, 5, 6))
    params = _params(rng, INCEPTION)
    out = student.inception_forward(x, params)
    assert type(out) is np.ndarray and out.shape == (2, 2 + 3 + 2 + 4, 5, 6), (
        "the output concatenates 2 + 3 + 2 + 4 channels and keeps the spatial size"
    )
    # the first branch alone is relu(conv1x1(x)): compare channels 0..1 with it
    first = np.einsum("fc,nchw->nfhw", params["w1"][:, :, 0, 0], x) + params["b1"][:, None, None]
    assert_close(out[:, :2], np.maximum(first, 0.0), name="channels of the 1x1 branch")


@pytest.mark.points(1)
def test_fpn_merge_adds_the_upsampled_top_to_the_lateral(student, rng):
    top = np.arange(4.0).reshape(1, 1, 2, 2)
    lateral = np.zeros((1, 2, 4, 4))
    out = student.fpn_merge_forward(top, lateral, np.ones((1, 2, 1, 1)), np.array([0.5]))
    want = np.repeat(np.repeat(top, 2, axis=2), 2, axis=3) + 0.5
    assert_close(out, want, name="out")


@pytest.mark.points(1)
def test_bottleneck_with_projection_halves_the_size(student, rng):
    shapes = {
        "w1": (2, 3, 1, 1), "b1": (2,), "w2": (2, 2, 3, 3), "b2": (2,), "w3": (5, 2, 1, 1),
        "b3": (5,), "w_proj": (5, 3, 1, 1), "b_proj": (5,),
    }  # fmt: skip
    out = student.bottleneck_forward(rng.standard_normal((2, 3, 8, 7)), _params(rng, shapes), 2)
    assert type(out) is np.ndarray and out.shape == (2, 5, 4, 4)
    assert (out >= 0).all(), "the block ends with a ReLU"


@pytest.mark.points(2)
def test_bottleneck_backward_matches_numeric_gradients(student, forward_oracle, rng):
    shapes = {
        "w1": (2, 4, 1, 1), "b1": (2,), "w2": (2, 2, 3, 3), "b2": (2,), "w3": (4, 2, 1, 1),
        "b3": (4,),
    }  # fmt: skip
    params = _params(rng, shapes)
    x = rng.standard_normal((2, 4, 4, 3))
    dout = rng.standard_normal((2, 4, 4, 3))
    dx, grads = student.bottleneck_backward(dout, x, params)
    forward = forward_oracle.bottleneck_forward
    assert_gradient_close(dx, lambda v: forward(v, params), x, dout, name="dx")
    for key in ("w1", "w3", "b2"):
        assert_gradient_close(
            grads[key],
            lambda v, key=key: forward(x, {**params, key: v}),
            params[key],
            dout,
            name=f"d{key}",
        )


@pytest.mark.points(2)
def test_inception_backward_matches_numeric_gradients(student, forward_oracle, rng):
    params = _params(rng, INCEPTION)
    x = rng.standard_normal((1, 3, 4, 4))
    dout = rng.standard_normal((1, 11, 4, 4))
    dx, grads = student.inception_backward(dout, x, params)
    forward = forward_oracle.inception_forward
    assert_gradient_close(dx, lambda v: forward(v, params), x, dout, name="dx")
    assert_gradient_close(
        grads["wp"],
        lambda v: forward(x, {**params, "wp": v}),
        params["wp"],
        dout,
        name="dwp",
    )
