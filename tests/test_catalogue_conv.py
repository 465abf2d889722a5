"""The conv mistakes whose outputs the hints compute themselves are the mistakes students make:
each computed output equals a direct, naive implementation of the mistake, and its hint names
it."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import conv


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def _hints(function, args, kwargs, result):
    return diagnose(conv, [Call(function, args, kwargs, result)])


def test_backward_windows_placed_without_the_stride(rng):
    x, w = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 3, 2))
    kwargs = {"stride": (2, 1), "padding": 1}
    dout = rng.standard_normal(conv.conv_forward(x, w, None, **kwargs).shape)
    right_dx, dw, db = conv.conv_backward(dout, x, w, **kwargs)
    dx_pad = np.zeros((2, 2, 9, 8))
    for i in range(dout.shape[2]):  # a naive loop that forgets i * stride
        for j in range(dout.shape[3]):
            dx_pad[:, :, i : i + 3, j : j + 2] += np.einsum("nf,fcuv->ncuv", dout[:, :, i, j], w)
    wrong = (dx_pad[:, :, 1:-1, 1:-1], dw, db)
    assert not np.allclose(wrong[0], right_dx)
    hints = _hints("conv_backward", (dout, x, w), kwargs, wrong)
    assert any("windows placed stride 1 apart" in h for h in hints), hints


def test_input_channels_grouped_round_robin(rng):
    x, w, b = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 2, 3, 3)), np.zeros(4)
    wrong = np.concatenate(  # group g reads input channels g and g + 2
        [conv.conv_forward(x[:, [g, g + 2]], w[2 * g : 2 * g + 2], None) for g in range(2)],
        axis=1,
    )
    hints = _hints("conv_forward", (x, w, b), {"groups": 2}, wrong)
    assert any("input channels assigned to groups round-robin" in h for h in hints), hints


def test_border_padding(rng):
    x, w = rng.standard_normal((1, 2, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    wrong = conv.conv_forward(padded, w, None)
    hints = _hints("conv_forward", (x, w, None), {"padding": 1}, wrong)
    assert any("repeating (or mirroring) its border" in h for h in hints), hints


def test_dx_cropped_at_the_top_left_corner(rng):
    x, w = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 3))
    kwargs = {"padding": (2, 1)}
    dout = rng.standard_normal(conv.conv_forward(x, w, None, **kwargs).shape)
    _, dw, db = conv.conv_backward(dout, x, w, **kwargs)
    x_pad = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)))
    dx_pad = conv.conv_backward(dout, x_pad, w)[0]
    hints = _hints("conv_backward", (dout, x, w), kwargs, (dx_pad[:, :, :5, :4], dw, db))
    assert any("cropped from its top-left corner" in h for h in hints), hints


def test_separable_backward_through_a_relu(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    w_dw, w_pw = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal((3, 4, 1, 1))
    b_dw = rng.standard_normal(4)
    h = conv.conv_forward(x, w_dw, b_dw, padding=1, groups=2)
    dout = rng.standard_normal((1, 3, 6, 6))
    dh, dw_pw, db_pw = conv.conv_backward(dout, np.maximum(h, 0), w_pw)
    dx, dw_dw, db_dw = conv.conv_backward(dh * (h > 0), x, w_dw, padding=1, groups=2)
    wrong = {
        "dx": dx,
        "dw_depthwise": dw_dw,
        "db_depthwise": db_dw,
        "dw_pointwise": dw_pw,
        "db_pointwise": db_pw,
    }
    args = (dout, x, w_dw, w_pw, b_dw)
    hints = _hints("depthwise_separable_backward", args, {"padding": 1}, wrong)
    assert any("through a ReLU after the depthwise convolution" in h for h in hints), hints
