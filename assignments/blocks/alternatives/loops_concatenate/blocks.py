"""VARIANT loops_concatenate (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (``conv.py``
loops over kernel offsets with einsum, ``pooling.py`` uses sliding windows and ``add.at``).
CS231n-style: every layer's forward returns ``(out, cache)`` with the PRE-activation kept in
the cache, and the ReLU backward multiplies ``dout`` by the mask ``pre > 0``. The Inception
block concatenates with ``xp.concatenate`` and splits ``dout`` with ``xp.split`` at the
cumulative widths. The FPN merge upsamples with ``xp.repeat`` and sums the gradient of the
``s x s`` copies with a loop over strided slices ``dout[:, :, a::s, b::s]``.

Architecture blocks, forward and backward, built from your own layers: a bottleneck residual
block (ResNet-50), an Inception block (GoogLeNet), a NiN block, a depthwise-separable block
(MobileNet) and an FPN top-down merge.

Conventions
-----------
* Layout NCHW. Use your own layers: ``conv_forward``/``conv_backward`` from ``conv.py`` and
  ``max_pool_forward``/``max_pool_backward`` from ``pooling.py`` (already imported below;
  submit those two files with this one). Every convolution here has a bias and
  PyTorch's ``conv2d`` semantics; ``relu`` is ``max(x, 0)`` with derivative 0 at 0.
* Parameters are dicts of arrays (the keys of each block are listed in its docstring); weights
  ``"w..."`` have shape ``(C_out, C_in // groups, KH, KW)`` and biases ``"b..."`` ``(C_out,)``.
* **Add versus concatenate.** A residual block and the FPN merge *add* two tensors of the same
  shape: the gradient of a sum flows unchanged into both terms. The Inception block
  *concatenates* its branches along the channel axis (axis 1), in the order listed: the
  gradient of a concatenation is *split* along that axis, each branch getting its own slice.
* Backward functions get the forward inputs, recompute the forward pass keeping what they
  need, and return ``(dx, grads)`` where ``grads`` has the same keys as ``params``, each
  gradient shaped like its parameter (the FPN merge returns its two inputs' gradients too).
* Functions never modify their inputs (nor the arrays in the dicts). Arrays keep the dtype of
  ``x``.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from conv import conv_backward, conv_forward
from pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def _relu(a: Array) -> Array:
    return get_array_module(a).maximum(a, 0)


def _conv_relu_forward(
    x: Array, w: Array, b: Array, relu: bool = True, **conv_args: Any
) -> tuple[Array, tuple]:
    """conv (+ ReLU); the cache keeps the pre-activation for the backward pass."""
    pre = conv_forward(x, w, b, **conv_args)
    out = _relu(pre) if relu else pre
    return out, (x, w, pre, relu, conv_args)


def _conv_relu_backward(dout: Array, cache: tuple) -> tuple[Array, Array, Array]:
    x, w, pre, relu, conv_args = cache
    if relu:
        dout = dout * (pre > 0)
    return conv_backward(dout, x, w, **conv_args)


def _require(params: Any, allowed: list[tuple[str, ...]], block: str) -> None:
    """params must be a dict whose keys are exactly one of the allowed key sets."""
    if not isinstance(params, dict):
        raise ValueError(f"{block}: params must be a dict, got {type(params).__name__}")
    if set(params) not in [set(keys) for keys in allowed]:
        raise ValueError(
            f"{block}: params must have the keys {' or '.join(str(list(k)) for k in allowed)}, "
            f"got {sorted(params)}"
        )


def _require_x(x: Array) -> None:
    if getattr(x, "ndim", 0) != 4 or x.dtype.kind != "f":
        raise ValueError("x must be a floating-point array of shape (N, C, H, W)")


def _require_dout(dout: Array, out: Array) -> None:
    if tuple(dout.shape) != tuple(out.shape):
        raise ValueError(f"dout must have shape {tuple(out.shape)}, got {tuple(dout.shape)}")


_BOTTLENECK = ("w1", "b1", "w2", "b2", "w3", "b3")
_INCEPTION = ("w1", "b1", "w3r", "b3r", "w3", "b3", "w5r", "b5r", "w5", "b5", "wp", "bp")
_NIN = ("w1", "b1", "w2", "b2", "w3", "b3")
_SEPARABLE = ("w_dw", "b_dw", "w_pw", "b_pw")


def _bottleneck_forward(x: Array, p: dict[str, Array], stride: int) -> tuple[Array, tuple]:
    _require_x(x)
    _require(p, [_BOTTLENECK, (*_BOTTLENECK, "w_proj", "b_proj")], "bottleneck")
    projection = "w_proj" in p
    if not projection and (stride != 1 or p["w3"].shape[0] != x.shape[1]):
        raise ValueError(
            "the identity shortcut needs stride 1 and as many output as input channels; "
            "pass 'w_proj' and 'b_proj' for a projection shortcut"
        )
    h1, c1 = _conv_relu_forward(x, p["w1"], p["b1"])
    h2, c2 = _conv_relu_forward(h1, p["w2"], p["b2"], stride=stride, padding=1)
    h3, c3 = _conv_relu_forward(h2, p["w3"], p["b3"], relu=False)
    if projection:
        shortcut, cp = _conv_relu_forward(x, p["w_proj"], p["b_proj"], relu=False, stride=stride)
    else:
        shortcut, cp = x, None
    pre = h3 + shortcut
    return _relu(pre), (c1, c2, c3, cp, pre)


def _inception_forward(x: Array, p: dict[str, Array]) -> tuple[Array, tuple]:
    _require_x(x)
    _require(p, [_INCEPTION], "inception")
    xp = get_array_module(x)
    y1, c1 = _conv_relu_forward(x, p["w1"], p["b1"])
    r3, c3r = _conv_relu_forward(x, p["w3r"], p["b3r"])
    y3, c3 = _conv_relu_forward(r3, p["w3"], p["b3"], padding=1)
    r5, c5r = _conv_relu_forward(x, p["w5r"], p["b5r"])
    y5, c5 = _conv_relu_forward(r5, p["w5"], p["b5"], padding=2)
    pooled, switches = max_pool_forward(x, 3, 1, 1)
    yp, cp = _conv_relu_forward(pooled, p["wp"], p["bp"])
    branches = [y1, y3, y5, yp]
    widths = [int(y.shape[1]) for y in branches]
    cache = (c1, c3r, c3, c5r, c5, cp, switches, widths)
    return xp.concatenate(branches, axis=1), cache


def _nin_forward(x: Array, p: dict[str, Array], stride: int, padding: int) -> tuple[Array, list]:
    _require_x(x)
    _require(p, [_NIN], "NiN")
    h, c1 = _conv_relu_forward(x, p["w1"], p["b1"], stride=stride, padding=padding)
    h, c2 = _conv_relu_forward(h, p["w2"], p["b2"])
    out, c3 = _conv_relu_forward(h, p["w3"], p["b3"])
    return out, [c1, c2, c3]


def _separable_forward(x: Array, p: dict[str, Array], stride: int) -> tuple[Array, list]:
    _require_x(x)
    _require(p, [_SEPARABLE], "depthwise-separable")
    c = int(x.shape[1])
    if p["w_dw"].ndim != 4 or p["w_dw"].shape[0] != c or p["w_dw"].shape[1] != 1:
        raise ValueError(f"w_dw must have shape (C, 1, K, K) with C = {c}")
    k = int(p["w_dw"].shape[2])
    h, c_dw = _conv_relu_forward(x, p["w_dw"], p["b_dw"], stride=stride, padding=k // 2, groups=c)
    out, c_pw = _conv_relu_forward(h, p["w_pw"], p["b_pw"])
    return out, [c_dw, c_pw]


def _upsampling_factor(top: Array, lateral: Array, w_lat: Array) -> int:
    if getattr(top, "ndim", 0) != 4 or getattr(lateral, "ndim", 0) != 4:
        raise ValueError("top and lateral must both be 4-D (N, C, H, W)")
    if top.dtype.kind != "f" or lateral.dtype.kind != "f":
        raise ValueError("top and lateral must be floating-point arrays")
    n, d, h, w = top.shape
    if lateral.shape[0] != n:
        raise ValueError("top and lateral must have the same batch size")
    s = lateral.shape[2] // h
    if s < 1 or lateral.shape[2] != s * h or lateral.shape[3] != s * w:
        raise ValueError(f"lateral {lateral.shape[2:]} is not an integer multiple of top {(h, w)}")
    if tuple(w_lat.shape) != (d, lateral.shape[1], 1, 1):
        raise ValueError(f"w_lat must have shape {(d, lateral.shape[1], 1, 1)}")
    return int(s)


def bottleneck_forward(x: Array, params: dict[str, Array], stride: int = 1) -> Array:
    """Bottleneck residual block (ResNet-50 style, without batch norm):

    ::

        h1 = relu(conv1(x))     1x1, C_in -> C_mid (reduce)
        h2 = relu(conv2(h1))    3x3, C_mid -> C_mid, stride `stride`, padding 1
        h3 = conv3(h2)          1x1, C_mid -> C_out (expand), no ReLU before the add
        out = relu(h3 + shortcut(x))

    ``shortcut`` is the identity, or, when ``params`` holds ``"w_proj"``/``"b_proj"``, a 1x1
    convolution of stride ``stride`` (required when ``stride != 1`` or ``C_out != C_in``).

    Args:
        x: ``(N, C_in, H, W)``.
        params: ``"w1"`` ``(C_mid, C_in, 1, 1)``, ``"b1"``, ``"w2"`` ``(C_mid, C_mid, 3, 3)``,
            ``"b2"``, ``"w3"`` ``(C_out, C_mid, 1, 1)``, ``"b3"``, and optionally ``"w_proj"``
            ``(C_out, C_in, 1, 1)``, ``"b_proj"``.
        stride: stride of the 3x3 convolution (and of the projection), an int.

    Returns:
        ``out`` of shape ``(N, C_out, H_out, W_out)``, ``H_out = floor((H - 1) / stride) + 1``.

    Raises:
        ValueError: for missing or unexpected keys, or an identity shortcut that cannot fit.
    """
    return _bottleneck_forward(x, params, stride)[0]


def bottleneck_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``bottleneck_forward``. The gradient of the sum ``h3 + shortcut(x)``
    flows into both terms; ``dx`` is the sum of what reaches ``x`` through conv1 and through
    the shortcut.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    out, (c1, c2, c3, cp, pre) = _bottleneck_forward(x, params, stride)
    _require_dout(dout, out)
    grads: dict[str, Array] = {}
    dpre = dout * (pre > 0)
    dh2, grads["w3"], grads["b3"] = _conv_relu_backward(dpre, c3)
    dh1, grads["w2"], grads["b2"] = _conv_relu_backward(dh2, c2)
    dx, grads["w1"], grads["b1"] = _conv_relu_backward(dh1, c1)
    if cp is None:
        dx = dx + dpre
    else:
        dx_shortcut, grads["w_proj"], grads["b_proj"] = _conv_relu_backward(dpre, cp)
        dx = dx + dx_shortcut
    return dx, {key: grads[key] for key in params}


def inception_forward(x: Array, params: dict[str, Array]) -> Array:
    """Inception block (GoogLeNet's "Inception (v1)" module): four parallel branches, each
    ending in a ReLU, concatenated along the channel axis in this order:

    1. ``relu(conv 1x1)``                                        keys ``w1``, ``b1``
    2. ``relu(conv 3x3, padding 1)`` of ``relu(conv 1x1 reduce)``  keys ``w3r``, ``b3r``,
       ``w3``, ``b3``
    3. ``relu(conv 5x5, padding 2)`` of ``relu(conv 1x1 reduce)``  keys ``w5r``, ``b5r``,
       ``w5``, ``b5``
    4. ``relu(conv 1x1 projection)`` of a 3x3 max-pool with stride 1 and padding 1
       keys ``wp``, ``bp``

    Every branch keeps the spatial size, so they can be concatenated.

    Args:
        x: ``(N, C_in, H, W)``.
        params: the twelve keys above (weights ``(C_branch, C_in_of_that_conv, K, K)``).

    Returns:
        ``out`` of shape ``(N, C1 + C3 + C5 + Cp, H, W)``.

    Raises:
        ValueError: for missing or unexpected keys, or a 4-D float ``x`` missing.
    """
    return _inception_forward(x, params)[0]


def inception_backward(
    dout: Array, x: Array, params: dict[str, Array]
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``inception_forward``: split ``dout`` along the channels into the four
    branches' slices, backpropagate each branch, and sum the four gradients that reach ``x``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    xp = get_array_module(dout, x)
    out, (c1, c3r, c3, c5r, c5, cp, switches, widths) = _inception_forward(x, params)
    _require_dout(dout, out)
    cuts = list(itertools.accumulate(widths[:-1]))
    d1, d3, d5, dp = xp.split(dout, cuts, axis=1)
    grads: dict[str, Array] = {}
    dx, grads["w1"], grads["b1"] = _conv_relu_backward(d1, c1)
    dr3, grads["w3"], grads["b3"] = _conv_relu_backward(d3, c3)
    dx3, grads["w3r"], grads["b3r"] = _conv_relu_backward(dr3, c3r)
    dr5, grads["w5"], grads["b5"] = _conv_relu_backward(d5, c5)
    dx5, grads["w5r"], grads["b5r"] = _conv_relu_backward(dr5, c5r)
    dpooled, grads["wp"], grads["bp"] = _conv_relu_backward(dp, cp)
    dxp = max_pool_backward(dpooled, switches, tuple(x.shape))
    dx = dx + dx3 + dx5 + dxp
    return dx, {key: grads[key] for key in params}


def nin_forward(x: Array, params: dict[str, Array], stride: int = 1, padding: int = 0) -> Array:
    """Network-in-Network block: a KxK convolution followed by two 1x1 convolutions (a small
    per-pixel MLP across channels), each followed by a ReLU:

    ``out = relu(conv3(relu(conv2(relu(conv1(x))))))`` with conv1 ``K x K`` (stride ``stride``,
    padding ``padding``) and conv2, conv3 ``1 x 1``.

    Args:
        x: ``(N, C_in, H, W)``.
        params: ``"w1"`` ``(C, C_in, K, K)``, ``"b1"``, ``"w2"`` ``(C, C, 1, 1)``, ``"b2"``,
            ``"w3"`` ``(C, C, 1, 1)``, ``"b3"``.
        stride, padding: of conv1, ints.

    Returns:
        ``out`` of shape ``(N, C, H_out, W_out)`` (conv1's output size).
    """
    return _nin_forward(x, params, stride, padding)[0]


def nin_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1, padding: int = 0
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``nin_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    out, caches = _nin_forward(x, params, stride, padding)
    _require_dout(dout, out)
    grads: dict[str, Array] = {}
    d = dout
    for layer in (3, 2, 1):
        d, grads[f"w{layer}"], grads[f"b{layer}"] = _conv_relu_backward(d, caches[layer - 1])
    return d, {key: grads[key] for key in params}


def depthwise_separable_block_forward(x: Array, params: dict[str, Array], stride: int = 1) -> Array:
    """Depthwise-separable block (MobileNet v1, without batch norm):

    ``out = relu(pointwise(relu(depthwise(x))))`` where ``depthwise`` is a ``K x K``
    convolution with ``groups = C_in`` (each channel filtered on its own), stride ``stride`` and
    padding ``K // 2``, and ``pointwise`` a 1x1 convolution mixing the channels.

    Args:
        x: ``(N, C_in, H, W)``.
        params: ``"w_dw"`` ``(C_in, 1, K, K)``, ``"b_dw"`` ``(C_in,)``, ``"w_pw"``
            ``(C_out, C_in, 1, 1)``, ``"b_pw"`` ``(C_out,)``.
        stride: of the depthwise convolution, an int.

    Returns:
        ``out`` of shape ``(N, C_out, H_out, W_out)``.
    """
    return _separable_forward(x, params, stride)[0]


def depthwise_separable_block_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``depthwise_separable_block_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    out, (c_dw, c_pw) = _separable_forward(x, params, stride)
    _require_dout(dout, out)
    dh, dw_pw, db_pw = _conv_relu_backward(dout, c_pw)
    dx, dw_dw, db_dw = _conv_relu_backward(dh, c_dw)
    grads = {"w_dw": dw_dw, "b_dw": db_dw, "w_pw": dw_pw, "b_pw": db_pw}
    return dx, {key: grads[key] for key in params}


def fpn_merge_forward(top: Array, lateral: Array, w_lat: Array, b_lat: Array) -> Array:
    """One top-down merge of a Feature Pyramid Network (Lin et al., 2017):

    ``out = upsample_nearest(top) + conv1x1(lateral)``

    ``top`` is the coarser pyramid level ``(N, D, h, w)``; ``lateral`` the finer backbone
    feature map ``(N, C, H, W)`` with ``H = s * h`` and ``W = s * w`` for an integer factor
    ``s >= 1`` (2 in FPN). Nearest upsampling repeats each value of ``top`` in an ``s x s``
    square: ``up[n, d, i, j] = top[n, d, i // s, j // s]`` (``torch.nn.functional.interpolate``
    with ``mode="nearest"``). The 1x1 lateral convolution maps ``C`` to ``D`` channels, so
    the two terms can be *added*.

    Args:
        top: ``(N, D, h, w)``.
        lateral: ``(N, C, H, W)``, ``H`` and ``W`` the same integer multiple of ``h`` and ``w``.
        w_lat: ``(D, C, 1, 1)``.
        b_lat: ``(D,)``.

    Returns:
        ``out`` of shape ``(N, D, H, W)``, dtype of ``lateral``.

    Raises:
        ValueError: if the shapes do not fit (see above).
    """
    s = _upsampling_factor(top, lateral, w_lat)
    xp = get_array_module(top, lateral)
    up = xp.repeat(xp.repeat(top, s, axis=2), s, axis=3)
    return (up + conv_forward(lateral, w_lat, b_lat)).astype(lateral.dtype, copy=False)


def fpn_merge_backward(
    dout: Array, top: Array, lateral: Array, w_lat: Array
) -> tuple[Array, Array, Array, Array]:
    """Backward pass of ``fpn_merge_forward``. The sum's gradient ``dout`` reaches both terms:
    through the upsampling, each ``top`` value collects the gradients of its ``s x s`` copies
    (their sum); through the 1x1 convolution, ``conv_backward`` gives the rest.

    Returns:
        ``(dtop, dlateral, dw_lat, db_lat)``, shaped like ``top``, ``lateral``, ``w_lat`` and
        ``(D,)``.
    """
    s = _upsampling_factor(top, lateral, w_lat)
    n, d, h, w = top.shape
    if tuple(dout.shape) != (n, d, h * s, w * s):
        raise ValueError(f"dout must have shape {(n, d, h * s, w * s)}, got {tuple(dout.shape)}")
    dtop = dout[:, :, 0::s, 0::s].astype(top.dtype)  # a copy
    for a in range(s):
        for b in range(s):
            if a or b:
                dtop += dout[:, :, a::s, b::s]
    dlateral, dw_lat, db_lat = conv_backward(dout, lateral, w_lat)
    return dtop, dlateral, dw_lat, db_lat
