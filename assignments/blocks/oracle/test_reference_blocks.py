"""The reference architecture blocks against the same blocks written with torch.nn.functional
(conv2d, max_pool2d, interpolate) and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions.blocks as ref

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-11, np.float32: 3e-5}


def _params(rng, shapes, dtype):
    out = {}
    for key, shape in shapes.items():
        scale = 1.0 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 0.1
        out[key] = (scale * rng.standard_normal(shape)).astype(dtype)
    return out


def _torch(params):
    return {k: torch.from_numpy(v).requires_grad_() for k, v in params.items()}


def _check(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy()
    assert ours.dtype == np.dtype(dtype) and ours.shape == theirs.shape, name
    scale = max(float(np.abs(theirs).max()), 1e-30)
    np.testing.assert_allclose(ours, theirs, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=name)


def _compare(forward, backward, torch_block, x, params, dtype, **kw):
    tx = torch.from_numpy(x).requires_grad_()
    tp = _torch(params)
    out = torch_block(tx, tp, **kw)
    dout = np.random.default_rng(99).standard_normal(tuple(out.shape)).astype(dtype)
    grads = torch.autograd.grad(out, [tx, *tp.values()], torch.from_numpy(dout))
    _check(forward(x, params, **kw), out, dtype, "out")
    dx, ours = backward(dout, x, params, **kw)
    _check(dx, grads[0], dtype, "dx")
    assert list(ours) == list(params)
    for key, theirs in zip(params, grads[1:], strict=True):
        _check(ours[key], theirs, dtype, f"d{key}")


def torch_bottleneck(x, p, stride=1):
    h = F.relu(F.conv2d(x, p["w1"], p["b1"]))
    h = F.relu(F.conv2d(h, p["w2"], p["b2"], stride=stride, padding=1))
    h = F.conv2d(h, p["w3"], p["b3"])
    shortcut = F.conv2d(x, p["w_proj"], p["b_proj"], stride=stride) if "w_proj" in p else x
    return F.relu(h + shortcut)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("projection, stride", [(False, 1), (True, 1), (True, 2)])
def test_bottleneck_matches_torch(dtype, projection, stride):
    rng = np.random.default_rng([stride, projection])
    c_in, c_mid = (8, 3) if not projection else (5, 3)
    c_out = 8
    shapes = {
        "w1": (c_mid, c_in, 1, 1),
        "b1": (c_mid,),
        "w2": (c_mid, c_mid, 3, 3),
        "b2": (c_mid,),
        "w3": (c_out, c_mid, 1, 1),
        "b3": (c_out,),
    }
    if projection:
        shapes.update(w_proj=(c_out, c_in, 1, 1), b_proj=(c_out,))
    x = rng.standard_normal((2, c_in, 7, 6)).astype(dtype)
    _compare(
        ref.bottleneck_forward,
        ref.bottleneck_backward,
        torch_bottleneck,
        x,
        _params(rng, shapes, dtype),
        dtype,
        stride=stride,
    )


def torch_inception(x, p):
    b1 = F.relu(F.conv2d(x, p["w1"], p["b1"]))
    b3 = F.relu(F.conv2d(F.relu(F.conv2d(x, p["w3r"], p["b3r"])), p["w3"], p["b3"], padding=1))
    b5 = F.relu(F.conv2d(F.relu(F.conv2d(x, p["w5r"], p["b5r"])), p["w5"], p["b5"], padding=2))
    bp = F.relu(F.conv2d(F.max_pool2d(x, 3, stride=1, padding=1), p["wp"], p["bp"]))
    return torch.cat([b1, b3, b5, bp], dim=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inception_matches_torch(dtype):
    rng = np.random.default_rng(3)
    c = 4
    shapes = {
        "w1": (3, c, 1, 1),
        "b1": (3,),
        "w3r": (2, c, 1, 1),
        "b3r": (2,),
        "w3": (4, 2, 3, 3),
        "b3": (4,),
        "w5r": (2, c, 1, 1),
        "b5r": (2,),
        "w5": (3, 2, 5, 5),
        "b5": (3,),
        "wp": (2, c, 1, 1),
        "bp": (2,),
    }
    x = rng.standard_normal((2, c, 6, 7)).astype(dtype)
    _compare(
        ref.inception_forward,
        ref.inception_backward,
        torch_inception,
        x,
        _params(rng, shapes, dtype),
        dtype,
    )


def torch_nin(x, p, stride=1, padding=0):
    h = F.relu(F.conv2d(x, p["w1"], p["b1"], stride=stride, padding=padding))
    h = F.relu(F.conv2d(h, p["w2"], p["b2"]))
    return F.relu(F.conv2d(h, p["w3"], p["b3"]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (5, 2, 2), (4, 2, 0)])
def test_nin_matches_torch(dtype, kernel, stride, padding):
    rng = np.random.default_rng(kernel)
    shapes = {
        "w1": (5, 3, kernel, kernel),
        "b1": (5,),
        "w2": (5, 5, 1, 1),
        "b2": (5,),
        "w3": (5, 5, 1, 1),
        "b3": (5,),
    }
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    _compare(
        ref.nin_forward,
        ref.nin_backward,
        torch_nin,
        x,
        _params(rng, shapes, dtype),
        dtype,
        stride=stride,
        padding=padding,
    )


def torch_separable(x, p, stride=1):
    k = p["w_dw"].shape[2]
    h = F.relu(F.conv2d(x, p["w_dw"], p["b_dw"], stride=stride, padding=k // 2, groups=x.shape[1]))
    return F.relu(F.conv2d(h, p["w_pw"], p["b_pw"]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (5, 1)])
def test_depthwise_separable_block_matches_torch(dtype, kernel, stride):
    rng = np.random.default_rng([kernel, stride])
    shapes = {"w_dw": (4, 1, kernel, kernel), "b_dw": (4,), "w_pw": (6, 4, 1, 1), "b_pw": (6,)}
    x = rng.standard_normal((2, 4, 7, 8)).astype(dtype)
    _compare(
        ref.depthwise_separable_block_forward,
        ref.depthwise_separable_block_backward,
        torch_separable,
        x,
        _params(rng, shapes, dtype),
        dtype,
        stride=stride,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("factor", [1, 2, 3])
def test_fpn_merge_matches_torch(dtype, factor):
    rng = np.random.default_rng(factor)
    top = rng.standard_normal((2, 4, 3, 2)).astype(dtype)
    lateral = rng.standard_normal((2, 5, 3 * factor, 2 * factor)).astype(dtype)
    w = (0.3 * rng.standard_normal((4, 5, 1, 1))).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    tensors = [torch.from_numpy(a).requires_grad_() for a in (top, lateral, w, b)]
    out = F.interpolate(tensors[0], scale_factor=factor, mode="nearest") + F.conv2d(
        tensors[1], tensors[2], tensors[3]
    )
    dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
    grads = torch.autograd.grad(out, tensors, torch.from_numpy(dout))
    _check(ref.fpn_merge_forward(top, lateral, w, b), out, dtype, "out")
    ours = ref.fpn_merge_backward(dout, top, lateral, w)
    for name, mine, theirs in zip(("dtop", "dlateral", "dw", "db"), ours, grads, strict=True):
        _check(mine, theirs, dtype, name)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: ref.bottleneck_forward(x, {"w1": x}), "keys"),
        (
            lambda x: ref.fpn_merge_forward(
                x, np.ones((2, 3, 5, 5)), np.ones((3, 3, 1, 1)), np.ones(3)
            ),
            "integer multiple",
        ),
        (lambda x: ref.inception_forward(x[0], {}), r"\(N, C, H, W\)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call(np.ones((2, 3, 4, 4)))
