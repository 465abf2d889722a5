"""The mistakes the spatial assignments' hints compute themselves are the mistakes students make:
each computed output equals a direct, naive implementation of the mistake, and its hint names
it; a call that cannot tell two mistakes apart names neither."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import batchnorm, conv, interpolation, normalization, pooling


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _hints(reference, function, args, kwargs, result):
    return diagnose(reference, [Call(function, args, kwargs, result)])


def test_filters_grouped_round_robin(rng):
    x, w, b = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((6, 2, 3, 3)), np.zeros(6)
    wrong = np.concatenate(  # filter f sees the input channels of group f % 2
        [
            conv.conv_forward(x[:, 2 * (f % 2) : 2 * (f % 2) + 2], w[f : f + 1], None)
            for f in range(6)
        ],
        axis=1,
    )
    hints = _hints(conv, "conv_forward", (x, w, b), {"groups": 2}, wrong)
    assert any("round-robin" in h for h in hints), hints


def test_dx_cropped_with_minus_padding_is_empty(rng):
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3))
    kwargs = {"padding": (0, 1)}
    dout = rng.standard_normal(conv.conv_forward(x, w, None, **kwargs).shape)
    dx, dw, db = conv.conv_backward(dout, x, w, **kwargs)
    dx_pad = np.pad(dx, ((0, 0), (0, 0), (0, 0), (1, 1)))  # what the padded input's gradient holds
    wrong = (dx_pad[:, :, 0:-0, 1:-1], dw, db)
    assert wrong[0].size == 0
    hints = _hints(conv, "conv_backward", (dout, x, w), kwargs, wrong)
    assert any("is empty along an axis whose padding is 0" in h for h in hints), hints


def test_max_pool_gradient_overwritten_where_windows_overlap(rng):
    x = rng.integers(0, 2, (1, 2, 5, 5)).astype(np.float64)
    _, switches = pooling.max_pool_forward(x, 3, 1)
    dout = rng.standard_normal(switches.shape)
    wrong = np.zeros(x.size)
    flat = (switches + np.arange(2).reshape(1, 2, 1, 1) * 25).reshape(-1)
    for index, value in zip(flat, dout.reshape(-1), strict=True):  # a loop: the last one stays
        wrong[index] = value
    call = ((dout, switches, x.shape), {}, wrong.reshape(x.shape))
    assert any(
        "last window that selected it" in h for h in _hints(pooling, "max_pool_backward", *call)
    )


def test_switches_inside_each_window(rng):
    x = rng.standard_normal((2, 3, 7, 9))
    out, _ = pooling.max_pool_forward(x, 3, 2, 1)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    local = windows.reshape(*windows.shape[:4], 9).argmax(axis=-1).astype(np.int64)
    hints = _hints(pooling, "max_pool_forward", (x, 3, 2, 1), {}, (out, local))
    assert hints and all("positions inside each window" in h for h in hints), hints


def _resize_loop(x, size, source):
    """A naive bilinear resize that reads output row i at source(i, H, H_out) (likewise
    columns), with the reference's border rules."""

    def matrix(n_in, n_out):
        a = np.zeros((n_out, n_in))
        for i in range(n_out):
            s = source(i, n_in, n_out)
            i0 = min(int(np.floor(s)), n_in - 1)
            lam = min(max(s - i0, 0.0), 1.0)
            i1 = i0 + 1 if i0 < n_in - 1 else i0
            a[i, i0] += 1 - lam
            a[i, i1] += lam
        return a

    return np.einsum(
        "ih,nchw,jw->ncij", matrix(x.shape[2], size[0]), x, matrix(x.shape[3], size[1])
    )


@pytest.mark.parametrize(
    ("source", "named"),
    [
        (lambda i, n_in, n_out: i * n_in / n_out, "without the half-pixel offset"),
        (lambda i, n_in, n_out: max((i + 0.5) * n_out / n_in - 0.5, 0.0), "scale inverted"),
    ],
    ids=["no_half_pixel", "scale_inverted"],
)
def test_resize_mappings(rng, source, named):
    x = rng.standard_normal((1, 2, 5, 6))
    wrong = _resize_loop(x, (8, 4), source)
    hints = _hints(interpolation, "bilinear_resize", (x, (8, 4)), {}, wrong)
    assert hints and all(named in h for h in hints), hints


def test_roi_align_divided_by_the_samples_inside(rng):
    x = rng.standard_normal((1, 1, 6, 6))
    boxes = np.array([[0.0, -4.0, -3.0, 3.0, 2.5]])  # partly outside the map
    out = interpolation.roi_align(x, boxes, 1, 1.0, 2, False)
    # 2 x 2 samples at (y, x) = -3 + 5.5 * (0.25, 0.75) and -4 + 7 * (0.25, 0.75):
    # y = -1.625 (outside) or 1.125; x = -2.25 (outside) or 1.25: one sample inside of four
    wrong = out * 4
    hints = _hints(interpolation, "roi_align", (x, boxes, 1, 1.0, 2, False), {}, wrong)
    assert any("samples inside the feature map only" in h for h in hints), hints


def test_spatial_batchnorm_reshaped_without_transpose(rng):
    x = 2.0 + rng.standard_normal((3, 4, 2, 5))
    gamma, beta, mean, var = rng.standard_normal(4), rng.standard_normal(4), np.zeros(4), np.ones(4)
    rows = x.reshape(-1, 4)  # the channels mixed
    out = (rows - rows.mean(axis=0)) / np.sqrt(rows.var(axis=0) + 1e-5)
    out = out.reshape(x.shape) * gamma.reshape(1, 4, 1, 1) + beta.reshape(1, 4, 1, 1)
    _, new_mean, new_var = batchnorm.batchnorm_forward(x, gamma, beta, mean, var)
    call = ((x, gamma, beta, mean, var), {}, (out, new_mean, new_var))
    assert any("x.reshape(-1, C)" in h for h in _hints(batchnorm, "batchnorm_forward", *call))


def test_groupnorm_strided_groups(rng):
    x = rng.standard_normal((2, 6, 3, 3))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    wrong = np.empty_like(x)
    for g in range(3):  # group g: channels g, g + 3
        part = x[:, g::3]
        mean = part.mean(axis=(1, 2, 3), keepdims=True)
        wrong[:, g::3] = (part - mean) / np.sqrt(part.var(axis=(1, 2, 3), keepdims=True) + 1e-5)
    wrong = wrong * gamma.reshape(1, 6, 1, 1) + beta.reshape(1, 6, 1, 1)
    hints = _hints(normalization, "groupnorm_forward", (x, 3, gamma, beta), {}, wrong)
    assert hints and all("channel c in group c % G" in h for h in hints), hints


def test_a_call_that_cannot_tell_mistakes_apart_names_them_together(rng):
    # Resizing to 1 x 1: align_corners=True, the inverted scale and the mapping without the
    # half-pixel offset all read pixel (0, 0): one hint names the three, claiming none.
    x = rng.standard_normal((1, 1, 4, 5))
    wrong = x[:, :, :1, :1].copy()
    names = ("align_corners", "scale inverted", "half-pixel")
    hints = _hints(interpolation, "bilinear_resize", (x, (1, 1)), {}, wrong)
    assert len(hints) == 1 and "mistakes each give exactly what bilinear_resize" in hints[0]
    assert all(name in hints[0] for name in names), hints
