"""The reference convolution against PyTorch (conv2d and its autograd) and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions.conv as conv
from autograder.suite.gradcheck import numeric_gradient
from solutions.conv import (
    conv_backward,
    conv_forward,
    conv_output_size,
    depthwise_separable_backward,
    depthwise_separable_forward,
)

# name: (x shape, (F, KH, KW), stride, padding, dilation, groups, bias)
CONFIGS = {
    "basic_k3": ((2, 3, 8, 8), (4, 3, 3), 1, 0, 1, 1, True),
    "same_k3_p1": ((2, 3, 7, 7), (5, 3, 3), 1, 1, 1, 1, True),
    "stride2_p1": ((2, 3, 9, 9), (4, 3, 3), 2, 1, 1, 1, True),
    "stride3_p2_odd": ((2, 2, 11, 10), (3, 3, 3), 3, 2, 1, 1, True),
    "stride2x1": ((2, 2, 8, 7), (3, 3, 3), (2, 1), 1, 1, 1, True),
    "stride1x3_p1x2": ((1, 3, 7, 11), (2, 3, 2), (1, 3), (1, 2), 1, 1, True),
    "padding2_k5": ((2, 2, 6, 6), (3, 5, 5), 1, 2, 1, 1, True),
    "padding_larger_than_half_kernel": ((1, 2, 4, 5), (2, 2, 2), 1, 2, 1, 1, True),
    "dilation2": ((2, 2, 9, 9), (3, 3, 3), 1, 0, 2, 1, True),
    "dilation2x1_p1": ((2, 3, 8, 9), (4, 3, 3), 1, 1, (2, 1), 1, True),
    "dilation2_stride2_p2": ((2, 2, 11, 12), (3, 3, 3), 2, 2, 2, 1, True),
    "dilation3_stride2x3": ((1, 2, 13, 14), (2, 3, 2), (2, 3), (1, 0), 3, 1, True),
    "rect_kernel_3x1": ((2, 3, 6, 5), (4, 3, 1), 1, (1, 0), 1, 1, True),
    "rect_kernel_1x4_s2": ((2, 2, 5, 9), (3, 1, 4), 2, (0, 1), 1, 1, True),
    "kernel_1x1": ((3, 5, 4, 6), (7, 1, 1), 1, 0, 1, 1, True),
    "kernel_1x1_stride2": ((2, 4, 7, 6), (3, 1, 1), 2, 0, 1, 1, True),
    "kernel_covers_input": ((2, 3, 5, 4), (2, 5, 4), 1, 0, 1, 1, True),
    "one_by_one_input_p1": ((2, 2, 1, 1), (3, 3, 3), 1, 1, 1, 1, True),
    "stride_larger_than_kernel": ((2, 2, 10, 9), (2, 2, 2), 3, 0, 1, 1, True),
    "no_bias": ((2, 3, 7, 6), (4, 3, 3), 1, 1, 1, 1, False),
    "no_bias_stride2": ((2, 3, 8, 8), (2, 3, 3), 2, 1, 1, 1, False),
    "groups2": ((2, 4, 6, 7), (6, 3, 3), 1, 1, 1, 2, True),
    "groups2_stride2_dil2": ((2, 4, 9, 9), (4, 3, 3), 2, 2, 2, 2, True),
    "groups3_rect": ((1, 6, 7, 5), (3, 2, 3), (1, 2), (1, 0), 1, 3, False),
    "depthwise": ((2, 4, 7, 7), (4, 3, 3), 1, 1, 1, 4, True),
    "depthwise_multiplier2_stride2": ((2, 3, 9, 8), (6, 3, 3), 2, 1, 1, 3, True),
    "depthwise_dilation2_no_bias": ((2, 3, 9, 9), (3, 3, 3), 1, 2, 2, 3, False),
    "single_channel": ((3, 1, 6, 6), (1, 3, 3), 1, 0, 1, 1, True),
}
TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=1e-4, atol=2e-6)}


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert type(ours) is np.ndarray, name
    assert ours.dtype == np.dtype(dtype), f"{name}: dtype {ours.dtype}"
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} != {theirs.shape}"
    scale = float(np.max(np.abs(theirs), initial=0.0))
    tol = TOL[dtype]
    np.testing.assert_allclose(
        ours, theirs.astype(ours.dtype), rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=name
    )


def _inputs(config, dtype, seed=0):
    shape, (f, kh, kw), _, _, _, groups, bias = config
    rng = np.random.default_rng([seed, *shape, f, kh, kw, groups])
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((f, shape[1] // groups, kh, kw)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype) if bias else None
    return rng, x, w, b


def _torch_conv(x, w, b, stride, padding, dilation, groups):
    tensors = [torch.from_numpy(a).requires_grad_() for a in (x, w)]
    tb = torch.from_numpy(b).requires_grad_() if b is not None else None
    out = F.conv2d(*tensors, tb, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return out, tensors + ([tb] if tb is not None else [])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CONFIGS)
def test_forward_and_backward_match_torch(name, dtype):
    config = CONFIGS[name]
    _, _, s, p, d, g, _ = config
    rng, x, w, b = _inputs(config, dtype)
    copies = [a.copy() for a in (x, w, b) if a is not None]
    out = conv_forward(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    t_out, leaves = _torch_conv(x, w, b, s, p, d, g)
    _close(out, t_out, dtype, "out")
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv_backward(dout, x, w, stride=s, padding=p, dilation=d, groups=g)
    grads = torch.autograd.grad(t_out, leaves, torch.from_numpy(dout))
    _close(dx, grads[0], dtype, "dx")
    _close(dw, grads[1], dtype, "dw")
    _close(db, dout.sum(axis=(0, 2, 3), dtype=np.float64), dtype, "db")
    if b is not None:
        _close(db, grads[2], dtype, "db (torch)")
    for before, after in zip(copies, [a for a in (x, w, b) if a is not None], strict=True):
        np.testing.assert_array_equal(before, after, err_msg="an input was modified")
    for a in (out, dx, dw, db):
        assert a.flags.c_contiguous


@pytest.mark.parametrize("block_bytes", [1, 3000])
@pytest.mark.parametrize(
    "name", ["stride2_p1", "dilation2x1_p1", "groups2_stride2_dil2", "depthwise", "no_bias"]
)
def test_processing_in_blocks_of_examples_gives_the_same_result(name, block_bytes, monkeypatch):
    """The reference works on blocks of examples; tiny blocks (1 or 2 examples, with a
    partial last block) must give the same answer as torch."""
    shape, fkk, s, p, d, g, bias = CONFIGS[name]
    config = ((5, *shape[1:]), fkk, s, p, d, g, bias)
    monkeypatch.setattr(conv, "_BLOCK_BYTES", block_bytes)
    rng, x, w, b = _inputs(config, np.float64)
    out = conv_forward(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    t_out, leaves = _torch_conv(x, w, b, s, p, d, g)
    _close(out, t_out, np.float64, "out")
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, x, w, stride=s, padding=p, dilation=d, groups=g)
    grads = torch.autograd.grad(t_out, leaves, torch.from_numpy(dout))
    _close(dx, grads[0], np.float64, "dx")
    _close(dw, grads[1], np.float64, "dw")
    _close(db, dout.sum(axis=(0, 2, 3)), np.float64, "db")


def test_larger_batch_against_torch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 8, 20, 18))
    w = rng.standard_normal((12, 8, 3, 3))
    b = rng.standard_normal(12)
    out = conv_forward(x, w, b, stride=1, padding=1)
    t_out, leaves = _torch_conv(x, w, b, 1, 1, 1, 1)
    _close(out, t_out, np.float64, "out")
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, x, w, stride=1, padding=1)
    grads = torch.autograd.grad(t_out, leaves, torch.from_numpy(dout))
    for ours, theirs, name in zip((dx, dw, db), grads, ("dx", "dw", "db"), strict=True):
        _close(ours, theirs, np.float64, name)


@pytest.mark.parametrize("padding", [0, 1])
def test_non_contiguous_inputs(padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6, 9, 8)).transpose(0, 1, 3, 2)[:, ::2]  # (3, 3, 8, 9)
    w = rng.standard_normal((4, 3, 3, 3))[:, :, ::-1]
    b = rng.standard_normal(8)[::2]
    out = conv_forward(x, w, b, stride=(2, 1), padding=padding)
    contiguous = [np.ascontiguousarray(a) for a in (x, w, b)]
    t_out, leaves = _torch_conv(*contiguous, (2, 1), padding, 1, 1)
    _close(out, t_out, np.float64, "out")
    dout = rng.standard_normal(out.shape[::-1]).T  # a transposed (non-contiguous) dout
    dx, dw, db = conv_backward(dout, x, w, stride=(2, 1), padding=padding)
    grads = torch.autograd.grad(t_out, leaves, torch.from_numpy(np.ascontiguousarray(dout)))
    for ours, theirs, name in zip((dx, dw, db), grads, ("dx", "dw", "db"), strict=True):
        _close(ours, theirs, np.float64, name)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups",
    [(1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (1, 0), (2, 1), 1), (1, 1, 1, 2)],
)
def test_backward_matches_numeric_gradients(stride, padding, dilation, groups):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 4 // groups, 3, 2))
    b = rng.standard_normal(4)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out = conv_forward(x, w, b, **kwargs)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, x, w, **kwargs)
    tol = dict(rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        dx, numeric_gradient(lambda v: conv_forward(v, w, b, **kwargs), x, dout), **tol
    )
    np.testing.assert_allclose(
        dw, numeric_gradient(lambda v: conv_forward(x, v, b, **kwargs), w, dout), **tol
    )
    np.testing.assert_allclose(
        db, numeric_gradient(lambda v: conv_forward(x, w, v, **kwargs), b, dout), **tol
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape, multiplier, filters, k, stride, padding, dilation, biases",
    [
        ((2, 3, 8, 8), 1, 5, (3, 3), 1, 1, 1, (True, True)),
        ((2, 4, 9, 7), 2, 3, (3, 3), 2, 1, 1, (True, False)),
        ((1, 2, 10, 11), 3, 4, (3, 2), (1, 2), (2, 1), (2, 1), (False, True)),
        ((2, 3, 6, 6), 1, 2, (5, 5), 1, 2, 1, (False, False)),
    ],
)
def test_depthwise_separable_matches_torch_composition(
    shape, multiplier, filters, k, stride, padding, dilation, biases, dtype
):
    rng = np.random.default_rng([*shape, multiplier, filters])
    c = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    w_dw = rng.standard_normal((c * multiplier, 1, *k)).astype(dtype)
    w_pw = rng.standard_normal((filters, c * multiplier, 1, 1)).astype(dtype)
    b_dw = rng.standard_normal(c * multiplier).astype(dtype) if biases[0] else None
    b_pw = rng.standard_normal(filters).astype(dtype) if biases[1] else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    out = depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kwargs)

    leaves = {
        name: torch.from_numpy(a).requires_grad_()
        for name, a in dict(x=x, w_dw=w_dw, w_pw=w_pw, b_dw=b_dw, b_pw=b_pw).items()
        if a is not None
    }
    h = F.conv2d(leaves["x"], leaves["w_dw"], leaves.get("b_dw"), groups=c, **kwargs)
    t_out = F.conv2d(h, leaves["w_pw"], leaves.get("b_pw"))
    _close(out, t_out, dtype, "out")

    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = depthwise_separable_backward(dout, x, w_dw, w_pw, b_dw, **kwargs)
    assert set(grads) == {"dx", "dw_depthwise", "db_depthwise", "dw_pointwise", "db_pointwise"}
    *t_leaf_grads, t_dh = torch.autograd.grad(t_out, [*leaves.values(), h], torch.from_numpy(dout))
    t_grads = dict(zip(leaves, t_leaf_grads, strict=True))
    _close(grads["dx"], t_grads["x"], dtype, "dx")
    _close(grads["dw_depthwise"], t_grads["w_dw"], dtype, "dw_depthwise")
    _close(grads["dw_pointwise"], t_grads["w_pw"], dtype, "dw_pointwise")
    # the bias gradients exist whether or not a bias was used: compute them from dL/dh
    _close(grads["db_depthwise"], t_dh.sum(dim=(0, 2, 3)), dtype, "db_depthwise")
    _close(grads["db_pointwise"], dout.sum(axis=(0, 2, 3)), dtype, "db_pointwise")


def test_depthwise_separable_numeric_gradients():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 5, 5))
    w_dw = rng.standard_normal((4, 1, 3, 3))
    w_pw = rng.standard_normal((3, 4, 1, 1))
    b_dw = rng.standard_normal(4)
    b_pw = rng.standard_normal(3)
    kwargs = dict(stride=2, padding=1)
    out = depthwise_separable_forward(x, w_dw, w_pw, b_dw, b_pw, **kwargs)
    dout = rng.standard_normal(out.shape)
    grads = depthwise_separable_backward(dout, x, w_dw, w_pw, b_dw, **kwargs)
    tol = dict(rtol=1e-6, atol=1e-8)
    cases = {
        "dx": lambda v: depthwise_separable_forward(v, w_dw, w_pw, b_dw, b_pw, **kwargs),
        "dw_depthwise": lambda v: depthwise_separable_forward(x, v, w_pw, b_dw, b_pw, **kwargs),
        "dw_pointwise": lambda v: depthwise_separable_forward(x, w_dw, v, b_dw, b_pw, **kwargs),
        "db_depthwise": lambda v: depthwise_separable_forward(x, w_dw, w_pw, v, b_pw, **kwargs),
        "db_pointwise": lambda v: depthwise_separable_forward(x, w_dw, w_pw, b_dw, v, **kwargs),
    }
    at = {"dx": x, "dw_depthwise": w_dw, "dw_pointwise": w_pw, "db_depthwise": b_dw}
    at["db_pointwise"] = b_pw
    for name, f in cases.items():
        np.testing.assert_allclose(grads[name], numeric_gradient(f, at[name], dout), **tol)


@pytest.mark.parametrize(
    "size, kernel, stride, padding, dilation, expected",
    [
        (32, 3, 1, 1, 1, 32),
        (7, 3, 2, 1, 1, 4),
        (5, 3, 1, 0, 2, 1),
        (28, 5, 1, 2, 1, 28),
        (64, 7, 2, 3, 1, 32),
        (10, 2, 3, 0, 1, 3),
        (1, 3, 1, 1, 1, 1),
        (8, 1, 2, 0, 1, 4),
    ],
)
def test_conv_output_size_matches_torch(size, kernel, stride, padding, dilation, expected):
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected
    out = F.conv2d(
        torch.zeros(1, 1, size, 1),
        torch.zeros(1, 1, kernel, 1),
        stride=(stride, 1),
        padding=(padding, 0),
        dilation=(dilation, 1),
    )
    assert out.shape[2] == expected


@pytest.mark.parametrize(
    "args", [(2, 3, 1, 0, 1), (5, 3, 1, 0, 3), (0, 1, 1, 0, 1), (4, 0, 1, 0, 1), (4, 2, 0, 0, 1)]
)
def test_conv_output_size_rejects_empty_or_invalid(args):
    with pytest.raises(ValueError):
        conv_output_size(*args)


def _ok_args():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((6, 2, 3, 3)), np.zeros(6)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(x=np.zeros((4, 6, 6))), "x must have shape"),
        (dict(w=np.zeros((6, 2, 3))), "w must have shape"),
        (dict(groups=3), "not divisible by groups"),  # C = 4
        (dict(w=np.zeros((5, 2, 3, 3))), "not divisible by groups"),  # F = 5, groups = 2
        (dict(w=np.zeros((6, 4, 3, 3))), r"w.shape\[1\] must be C // groups"),
        (dict(groups=0), "groups must be"),
        (dict(b=np.zeros(5)), "b must have shape"),
        (dict(stride=0), "stride must be >= 1"),
        (dict(stride=(1, 2, 3)), "stride must be an int or a pair"),
        (dict(padding=-1), "padding must be >= 0"),
        (dict(dilation=(1, 0)), "dilation must be >= 1"),
        (dict(stride=1.5), "stride must be an int"),
        (dict(w=np.zeros((6, 2, 7, 3))), "larger than the padded input"),
        (dict(x=np.zeros((2, 4, 6, 6), dtype=np.float32)), "dtype"),
        (dict(x=np.zeros((2, 4, 6, 6), dtype=np.int64)), "dtype"),
    ],
)
def test_forward_and_backward_raise_value_errors(change, message):
    x, w, b = _ok_args()
    args = dict(x=x, w=w, b=b, stride=1, padding=0, dilation=1, groups=2) | change
    with pytest.raises(ValueError, match=message):
        conv_forward(**args)
    if "b" in change:
        return
    del args["b"]
    with pytest.raises(ValueError, match=message):
        conv_backward(np.zeros((2, 6, 4, 4)), **args)


def test_backward_rejects_dout_of_the_wrong_shape():
    x, w, _ = _ok_args()
    with pytest.raises(ValueError, match="dout must have the forward output's shape"):
        conv_backward(np.zeros((2, 6, 6, 6)), x, w, groups=2)  # the output is (2, 6, 4, 4)


def test_depthwise_separable_rejects_bad_weights():
    x = np.zeros((1, 3, 5, 5))
    with pytest.raises(ValueError, match="w_depthwise must have shape"):
        depthwise_separable_forward(x, np.zeros((4, 1, 3, 3)), np.zeros((2, 4, 1, 1)))
    with pytest.raises(ValueError, match="w_depthwise must have shape"):
        depthwise_separable_forward(x, np.zeros((3, 3, 3, 3)), np.zeros((2, 3, 1, 1)))
    with pytest.raises(ValueError, match="w_pointwise must have shape"):
        depthwise_separable_forward(x, np.zeros((6, 1, 3, 3)), np.zeros((2, 3, 1, 1)))
    with pytest.raises(ValueError, match="w_pointwise must have shape"):
        depthwise_separable_backward(
            np.zeros((1, 2, 3, 3)), x, np.zeros((3, 1, 3, 3)), np.zeros((2, 3, 3, 3))
        )
