"""The reference pooling layers against PyTorch (max_pool2d, avg_pool2d, adaptive_avg_pool2d)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.compare import assert_close
from autograder.suite.gradcheck import numeric_gradient
from solutions.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)

# (input shape, kernel_size, stride, padding)
CONFIGS = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 7, 9), 3, 2, 1),
    ((1, 2, 9, 6), 3, 1, 0),
    ((2, 2, 6, 7), (3, 2), (2, 1), (1, 0)),
    ((3, 1, 5, 5), 5, None, 2),
    ((2, 2, 7, 5), 2, 3, 1),
    ((1, 3, 4, 6), (1, 3), (1, 2), (0, 1)),
    ((2, 2, 5, 5), 4, 1, 2),
    ((1, 1, 1, 1), 1, 1, 0),
    ((2, 1, 3, 11), (3, 5), (1, 3), (1, 2)),
    ((1, 2, 10, 10), 3, (3, 2), 1),
]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=1e-5, atol=1e-6)}
DTYPES = [np.float64, np.float32]


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.dtype == theirs.dtype == np.dtype(dtype), name
    assert ours.shape == theirs.shape, name
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(
        ours, theirs, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name
    )


def _torch_stride(k, s):
    return k if s is None else s


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inputs", ["normal", "quantized", "constant"])
@pytest.mark.parametrize("shape, k, s, p", CONFIGS)
def test_max_pool_matches_torch(shape, k, s, p, inputs, dtype):
    rng = np.random.default_rng([*shape, len(inputs)])
    if inputs == "normal":
        x = rng.standard_normal(shape)
    elif inputs == "quantized":
        x = rng.integers(-1, 2, size=shape).astype(np.float64)
    else:
        x = np.full(shape, -3.0)
    x = x.astype(dtype)
    x_before = x.copy()
    out, switches = max_pool_forward(x, k, s, p)
    np.testing.assert_array_equal(x, x_before)
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_idx = F.max_pool2d(tx, k, _torch_stride(k, s), p, return_indices=True)
    assert switches.dtype == np.int64
    np.testing.assert_array_equal(switches, t_idx.numpy())
    _close(out, t_out, dtype, "out")
    np.testing.assert_array_equal(out, t_out.detach().numpy())  # a max is exact

    dout = rng.standard_normal(out.shape).astype(dtype)
    t_out.backward(torch.tensor(dout))
    dx = max_pool_backward(dout, switches, x.shape)
    _close(dx, tx.grad, dtype, "dx")


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_max_pool_nan_and_minus_inf_follow_torch(stride):
    """Several NaNs per window (the last one is the switch) and windows of only -inf."""
    rng = np.random.default_rng(stride)
    x = rng.standard_normal((2, 2, 7, 7))
    x[0, 0, 1, 1] = x[0, 0, 0, 0] = x[0, 0, 3, 3] = x[0, 0, 2, 3] = np.nan
    x[1, 1, :4, :4] = -np.inf
    x[1, 0] = -np.inf
    out, switches = max_pool_forward(x, 3, stride, 1)
    t_out, t_idx = F.max_pool2d(torch.tensor(x), 3, stride, 1, return_indices=True)
    np.testing.assert_array_equal(switches, t_idx.numpy())
    np.testing.assert_array_equal(out, t_out.numpy())  # NaN == NaN for this function


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape, k, s, p", CONFIGS)
def test_avg_pool_matches_torch(shape, k, s, p, count_include_pad, dtype):
    rng = np.random.default_rng([*shape, count_include_pad])
    x = rng.standard_normal(shape).astype(dtype)
    x_before = x.copy()
    out = avg_pool_forward(x, k, s, p, count_include_pad)
    np.testing.assert_array_equal(x, x_before)
    tx = torch.tensor(x, requires_grad=True)
    t_out = F.avg_pool2d(tx, k, _torch_stride(k, s), p, count_include_pad=count_include_pad)
    _close(out, t_out, dtype, "out")
    dout = rng.standard_normal(out.shape).astype(dtype)
    t_out.backward(torch.tensor(dout))
    dx = avg_pool_backward(dout, x.shape, k, s, p, count_include_pad)
    _close(dx, tx.grad, dtype, "dx")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 4, 1, 1), (3, 2, 8, 8)])
def test_global_avg_pool_matches_torch(shape, dtype):
    rng = np.random.default_rng(list(shape))
    x = rng.standard_normal(shape).astype(dtype)
    out = global_avg_pool_forward(x)
    tx = torch.tensor(x, requires_grad=True)
    t_out = F.adaptive_avg_pool2d(tx, 1).flatten(1)
    _close(out, t_out, dtype, "out")
    dout = rng.standard_normal(out.shape).astype(dtype)
    t_out.backward(torch.tensor(dout))
    dx = global_avg_pool_backward(dout, x.shape)
    _close(dx, tx.grad, dtype, "dx")
    assert dx.flags.writeable and dx.flags.c_contiguous


@pytest.mark.parametrize("shape, k, s, p", CONFIGS[:8])
def test_backward_matches_numeric_gradient(shape, k, s, p):
    rng = np.random.default_rng(list(shape))
    # Distinct values (gaps of 1 / size >> h): no ties, so the max is differentiable
    # everywhere; values in [0, 1) keep the rounding error of the differences small.
    size = int(np.prod(shape))
    x = rng.permutation(size).reshape(shape).astype(np.float64) / size
    out, switches = max_pool_forward(x, k, s, p)
    dout = rng.standard_normal(out.shape)
    assert_close(
        max_pool_backward(dout, switches, shape),
        numeric_gradient(lambda z: max_pool_forward(z, k, s, p)[0], x, dout),
        "max dx",
        rtol=1e-6,
        atol_scale=1e-6,
    )
    for cip in (True, False):
        out = avg_pool_forward(x, k, s, p, cip)
        assert_close(
            avg_pool_backward(dout, shape, k, s, p, cip),
            numeric_gradient(lambda z, cip=cip: avg_pool_forward(z, k, s, p, cip), x, dout),
            "avg dx",
            rtol=1e-6,
            atol_scale=1e-6,
        )
    dout = rng.standard_normal(shape[:2])
    assert_close(
        global_avg_pool_backward(dout, shape),
        numeric_gradient(global_avg_pool_forward, x, dout),
        "global dx",
        rtol=1e-6,
        atol_scale=1e-6,
    )


def test_float32_is_within_kit_tolerance_of_float64():
    """A float32 implementation summing in another order passes assert_close."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8, 15, 13)).astype(np.float32)
    x64 = x.astype(np.float64)
    for cip in (True, False):
        out = avg_pool_forward(x, 3, 1, 1, cip)
        assert_close(out, avg_pool_forward(x64, 3, 1, 1, cip).astype(np.float32), "avg")
        dout = rng.standard_normal(out.shape).astype(np.float32)
        want = avg_pool_backward(dout.astype(np.float64), x.shape, 3, 1, 1, cip)
        assert_close(avg_pool_backward(dout, x.shape, 3, 1, 1, cip), want.astype(np.float32))
    _, switches = max_pool_forward(x, 4, 1, 2)
    dout = rng.standard_normal(switches.shape).astype(np.float32)
    want = max_pool_backward(dout.astype(np.float64), switches, x.shape).astype(np.float32)
    assert_close(max_pool_backward(dout, switches, x.shape), want, "max dx")


def test_hand_computed_switches():
    x = np.array([[1, 2, 5, 3], [4, 0, 6, 1], [7, 9, 2, 2], [3, 8, 1, 4]], float)[None, None]
    out, switches = max_pool_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[4, 6], [9, 4]])
    np.testing.assert_array_equal(switches[0, 0], [[4, 6], [9, 15]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 2, 1, 2), "at most half"),
        (lambda: avg_pool_forward(np.zeros((1, 1, 4, 4)), 3, 1, 2), "at most half"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 6), "larger than the padded"),
        (lambda: max_pool_forward(np.zeros((1, 4, 4)), 2), "(N, C, H, W)"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 0), "kernel_size must be >= 1"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 2, 0), "stride must be >= 1"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 2, 1, -1), "padding must be >= 0"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), (2, 2, 2)), "pair"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4)), 2.0), "int"),
        (lambda: max_pool_forward(np.zeros((1, 1, 4, 4), dtype=np.int64), 2), "floating"),
        (
            lambda: max_pool_backward(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 1), np.int64), (1, 1, 4, 4)
            ),
            "switches must have the shape",
        ),
        (
            lambda: max_pool_backward(
                np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16, np.int64), (1, 1, 4, 4)
            ),
            "[0, 16)",
        ),
        (
            lambda: avg_pool_backward(np.zeros((1, 1, 3, 3)), (1, 1, 4, 4), 2),
            "output shape",
        ),
        (lambda: global_avg_pool_backward(np.zeros((2, 3)), (2, 4, 1, 1)), "(N, C)"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_torch_rejects_padding_over_half_kernel_too():
    with pytest.raises(RuntimeError):
        F.max_pool2d(torch.zeros(1, 1, 4, 4), 2, 1, 2)
