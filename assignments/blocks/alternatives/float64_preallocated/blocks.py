"""VARIANT float64_preallocated (alternative correct submission, used by the fairness tests).

How it differs from the reference: built on the sibling files of this variant (``conv.py``
is im2col in float64 with ``add.at``, ``pooling.py`` finds switches in two passes and routes
the gradient with a one-hot sum). ReLU is written ``a * (a > 0)`` and its backward
``where(out > 0, dout, 0)`` on the POST-activation. Each block's forward saves its
intermediates in a plain dict; the backward passes are written out layer by layer and sum the
gradients reaching ``x`` in the opposite order (shortcut first, pooling branch first). The
Inception block preallocates its output and assigns each branch into its channel slice; the
backward slices ``dout`` with running offsets. The FPN merge upsamples by broadcasting a
``(N, D, h, 1, w, 1)`` view and sums the gradient of the ``s x s`` copies in float64.

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
    return a * (a > 0)


def _relu_grad(dout: Array, out: Array) -> Array:
    xp = get_array_module(dout, out)
    return xp.where(out > 0, dout, xp.zeros_like(dout))


def _check_keys(params: Any, required: tuple[str, ...], name: str) -> None:
    if not isinstance(params, dict):
        raise ValueError(f"{name} params must be a dict of arrays")
    missing = sorted(set(required) - set(params))
    unexpected = sorted(set(params) - set(required))
    if missing or unexpected:
        raise ValueError(f"{name} params: missing {missing}, unexpected {unexpected}")


def _check_input(x: Array) -> None:
    if getattr(x, "ndim", None) != 4:
        raise ValueError("x must have shape (N, C, H, W)")
    if x.dtype.kind != "f":
        raise ValueError(f"x must be floating point, got {x.dtype}")


def _check_grad_shape(dout: Array, shape: tuple) -> None:
    if tuple(dout.shape) != tuple(shape):
        raise ValueError(f"dout has shape {tuple(dout.shape)}, the block's output {tuple(shape)}")


def _bottleneck_pass(x: Array, p: dict[str, Array], stride: int) -> dict[str, Any]:
    _check_input(x)
    has_projection = "w_proj" in p or "b_proj" in p
    keys = ("w1", "b1", "w2", "b2", "w3", "b3")
    _check_keys(p, (*keys, "w_proj", "b_proj") if has_projection else keys, "bottleneck")
    if not has_projection and (stride != 1 or p["w3"].shape[0] != x.shape[1]):
        raise ValueError(
            f"identity shortcut impossible with stride {stride}, {x.shape[1]} input and "
            f"{p['w3'].shape[0]} output channels: give w_proj and b_proj"
        )
    s: dict[str, Any] = {"x": x}
    s["h1"] = _relu(conv_forward(x, p["w1"], p["b1"]))
    s["h2"] = _relu(conv_forward(s["h1"], p["w2"], p["b2"], stride=stride, padding=1))
    h3 = conv_forward(s["h2"], p["w3"], p["b3"])
    shortcut = conv_forward(x, p["w_proj"], p["b_proj"], stride=stride) if has_projection else x
    s["out"] = _relu(h3 + shortcut)
    s["projection"] = has_projection
    return s


_INCEPTION_KEYS = ("w1", "b1", "w3r", "b3r", "w3", "b3", "w5r", "b5r", "w5", "b5", "wp", "bp")


def _inception_pass(x: Array, p: dict[str, Array]) -> dict[str, Any]:
    _check_input(x)
    _check_keys(p, _INCEPTION_KEYS, "inception")
    xp = get_array_module(x)
    s: dict[str, Any] = {}
    s["y1"] = _relu(conv_forward(x, p["w1"], p["b1"]))
    s["r3"] = _relu(conv_forward(x, p["w3r"], p["b3r"]))
    s["y3"] = _relu(conv_forward(s["r3"], p["w3"], p["b3"], padding=1))
    s["r5"] = _relu(conv_forward(x, p["w5r"], p["b5r"]))
    s["y5"] = _relu(conv_forward(s["r5"], p["w5"], p["b5"], padding=2))
    s["pooled"], s["switches"] = max_pool_forward(x, kernel_size=3, stride=1, padding=1)
    s["yp"] = _relu(conv_forward(s["pooled"], p["wp"], p["bp"]))
    branches = [s["y1"], s["y3"], s["y5"], s["yp"]]
    n, _, h, w = s["y1"].shape
    out = xp.empty((n, sum(int(y.shape[1]) for y in branches), h, w), dtype=x.dtype)
    start = 0
    for y in branches:
        out[:, start : start + y.shape[1]] = y
        start += int(y.shape[1])
    s["out"] = out
    return s


def _nin_pass(x: Array, p: dict[str, Array], stride: int, padding: int) -> dict[str, Any]:
    _check_input(x)
    _check_keys(p, ("w1", "b1", "w2", "b2", "w3", "b3"), "NiN")
    s: dict[str, Any] = {}
    s["h1"] = _relu(conv_forward(x, p["w1"], p["b1"], stride=stride, padding=padding))
    s["h2"] = _relu(conv_forward(s["h1"], p["w2"], p["b2"]))
    s["out"] = _relu(conv_forward(s["h2"], p["w3"], p["b3"]))
    return s


def _separable_pass(x: Array, p: dict[str, Array], stride: int) -> dict[str, Any]:
    _check_input(x)
    _check_keys(p, ("w_dw", "b_dw", "w_pw", "b_pw"), "depthwise-separable")
    channels = int(x.shape[1])
    w_dw = p["w_dw"]
    if w_dw.ndim != 4 or tuple(w_dw.shape[:2]) != (channels, 1):
        raise ValueError(f"w_dw must have shape ({channels}, 1, K, K), got {tuple(w_dw.shape)}")
    options = dict(stride=stride, padding=int(w_dw.shape[2]) // 2, groups=channels)
    s: dict[str, Any] = {"options": options}
    s["h"] = _relu(conv_forward(x, w_dw, p["b_dw"], **options))
    s["out"] = _relu(conv_forward(s["h"], p["w_pw"], p["b_pw"]))
    return s


def _fpn_scale(top: Array, lateral: Array, w_lat: Array) -> int:
    for label, a in (("top", top), ("lateral", lateral)):
        if getattr(a, "ndim", None) != 4 or a.dtype.kind != "f":
            raise ValueError(f"{label} must be a 4-D floating-point array")
    n, d, h, w = (int(v) for v in top.shape)
    nl, c, big_h, big_w = (int(v) for v in lateral.shape)
    if nl != n:
        raise ValueError(f"batch sizes differ: top {n}, lateral {nl}")
    if big_h % h or big_w % w or big_h // h != big_w // w or big_h < h:
        raise ValueError(f"lateral {(big_h, big_w)} must be s times top {(h, w)}, s an integer")
    if tuple(w_lat.shape) != (d, c, 1, 1):
        raise ValueError(f"w_lat must have shape {(d, c, 1, 1)}, got {tuple(w_lat.shape)}")
    return big_h // h


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
    return _bottleneck_pass(x, params, stride)["out"]


def bottleneck_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``bottleneck_forward``. The gradient of the sum ``h3 + shortcut(x)``
    flows into both terms; ``dx`` is the sum of what reaches ``x`` through conv1 and through
    the shortcut.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    s = _bottleneck_pass(x, params, stride)
    _check_grad_shape(dout, s["out"].shape)
    p = params
    grads: dict[str, Array] = {}
    dsum = _relu_grad(dout, s["out"])
    if s["projection"]:
        dx, grads["w_proj"], grads["b_proj"] = conv_backward(dsum, x, p["w_proj"], stride=stride)
    else:
        dx = dsum
    dh2, grads["w3"], grads["b3"] = conv_backward(dsum, s["h2"], p["w3"])
    dh2 = _relu_grad(dh2, s["h2"])
    dh1, grads["w2"], grads["b2"] = conv_backward(dh2, s["h1"], p["w2"], stride=stride, padding=1)
    dh1 = _relu_grad(dh1, s["h1"])
    dx_main, grads["w1"], grads["b1"] = conv_backward(dh1, x, p["w1"])
    dx = dx + dx_main
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
    return _inception_pass(x, params)["out"]


def inception_backward(
    dout: Array, x: Array, params: dict[str, Array]
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``inception_forward``: split ``dout`` along the channels into the four
    branches' slices, backpropagate each branch, and sum the four gradients that reach ``x``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    s = _inception_pass(x, params)
    _check_grad_shape(dout, s["out"].shape)
    p = params
    pieces = {}
    start = 0
    for name in ("y1", "y3", "y5", "yp"):
        width = int(s[name].shape[1])
        pieces[name] = _relu_grad(dout[:, start : start + width], s[name])
        start += width
    grads: dict[str, Array] = {}
    dpooled, grads["wp"], grads["bp"] = conv_backward(pieces["yp"], s["pooled"], p["wp"])
    dx = max_pool_backward(dpooled, s["switches"], tuple(x.shape))
    dr5, grads["w5"], grads["b5"] = conv_backward(pieces["y5"], s["r5"], p["w5"], padding=2)
    dx5, grads["w5r"], grads["b5r"] = conv_backward(_relu_grad(dr5, s["r5"]), x, p["w5r"])
    dx = dx + dx5
    dr3, grads["w3"], grads["b3"] = conv_backward(pieces["y3"], s["r3"], p["w3"], padding=1)
    dx3, grads["w3r"], grads["b3r"] = conv_backward(_relu_grad(dr3, s["r3"]), x, p["w3r"])
    dx = dx + dx3
    dx1, grads["w1"], grads["b1"] = conv_backward(pieces["y1"], x, p["w1"])
    dx = dx + dx1
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
    return _nin_pass(x, params, stride, padding)["out"]


def nin_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1, padding: int = 0
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``nin_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    s = _nin_pass(x, params, stride, padding)
    _check_grad_shape(dout, s["out"].shape)
    p = params
    grads: dict[str, Array] = {}
    d = _relu_grad(dout, s["out"])
    d, grads["w3"], grads["b3"] = conv_backward(d, s["h2"], p["w3"])
    d = _relu_grad(d, s["h2"])
    d, grads["w2"], grads["b2"] = conv_backward(d, s["h1"], p["w2"])
    d = _relu_grad(d, s["h1"])
    dx, grads["w1"], grads["b1"] = conv_backward(d, x, p["w1"], stride=stride, padding=padding)
    return dx, {key: grads[key] for key in params}


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
    return _separable_pass(x, params, stride)["out"]


def depthwise_separable_block_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``depthwise_separable_block_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    s = _separable_pass(x, params, stride)
    _check_grad_shape(dout, s["out"].shape)
    grads: dict[str, Array] = {}
    d = _relu_grad(dout, s["out"])
    dh, grads["w_pw"], grads["b_pw"] = conv_backward(d, s["h"], params["w_pw"])
    d = _relu_grad(dh, s["h"])
    dx, grads["w_dw"], grads["b_dw"] = conv_backward(d, x, params["w_dw"], **s["options"])
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
    scale = _fpn_scale(top, lateral, w_lat)
    xp = get_array_module(top, lateral)
    n, d, h, w = top.shape
    up = xp.broadcast_to(top[:, :, :, None, :, None], (n, d, h, scale, w, scale))
    out = conv_forward(lateral, w_lat, b_lat) + up.reshape(n, d, h * scale, w * scale)
    return out.astype(lateral.dtype, copy=False)


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
    scale = _fpn_scale(top, lateral, w_lat)
    xp = get_array_module(dout, top, lateral)
    n, d, h, w = top.shape
    if tuple(dout.shape) != (n, d, h * scale, w * scale):
        raise ValueError(f"dout must have shape {(n, d, h * scale, w * scale)}")
    blocks = dout.astype(xp.float64).reshape(n, d, h, scale, w, scale)
    dtop = blocks.sum(axis=5).sum(axis=3).astype(top.dtype)
    dlateral, dw_lat, db_lat = conv_backward(dout, lateral, w_lat)
    return dtop, dlateral, dw_lat, db_lat
