"""Architecture blocks, forward and backward, built from your own layers: a bottleneck residual
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

from solutions.conv import conv_backward, conv_forward
from solutions.pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


# BEGIN SOLUTION
def _relu(x: Array) -> Array:
    return get_array_module(x).maximum(x, x.dtype.type(0))


def _relu_backward(dout: Array, out: Array) -> Array:
    """Through ``out = relu(h)``: ``out > 0`` exactly where ``h > 0``."""
    xp = get_array_module(dout, out)
    return xp.where(out > 0, dout, dout.dtype.type(0))


def _check_params(params: dict[str, Array], keys: tuple[str, ...], block: str) -> None:
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = [k for k in keys if k not in params]
    extra = [k for k in params if k not in keys]
    if missing or extra:
        raise ValueError(
            f"{block} params must have exactly the keys {list(keys)}; missing {missing}, "
            f"unexpected {extra}"
        )


def _check_x(x: Array) -> None:
    if x.ndim != 4 or x.dtype.kind != "f":
        raise ValueError(
            f"x must be a floating-point array of shape (N, C, H, W), got {x.dtype} "
            f"{tuple(x.shape)}"
        )


def _check_dout(dout: Array, out: Array) -> None:
    if tuple(dout.shape) != tuple(out.shape):
        raise ValueError(
            f"dout must have the shape of the block's output {tuple(out.shape)}, got "
            f"{tuple(dout.shape)}"
        )


class _Convs:
    """Conv + ReLU layers that remember their inputs and outputs for the backward pass."""

    def __init__(self, params: dict[str, Array]) -> None:
        self.params = params
        self.saved: dict[str, tuple[Array, Array, dict[str, Any]]] = {}

    def conv_relu(self, name: str, x: Array, relu: bool = True, **options: Any) -> Array:
        out = conv_forward(x, self.params[f"w{name}"], self.params[f"b{name}"], **options)
        if relu:
            out = _relu(out)
        self.saved[name] = (x, out, dict(options, relu=relu))
        return out

    def backward(self, name: str, dout: Array, grads: dict[str, Array]) -> Array:
        x, out, options = self.saved[name]
        relu = options.pop("relu")
        if relu:
            dout = _relu_backward(dout, out)
        dx, dw, db = conv_backward(dout, x, self.params[f"w{name}"], **options)
        grads[f"w{name}"], grads[f"b{name}"] = dw, db
        return dx


BOTTLENECK_KEYS = ("w1", "b1", "w2", "b2", "w3", "b3")


def _bottleneck(x: Array, params: dict[str, Array], stride: int) -> tuple[Array, _Convs, Array]:
    _check_x(x)
    projection = "w_proj" in params
    keys = BOTTLENECK_KEYS + (("w_proj", "b_proj") if projection else ())
    _check_params(params, keys, "bottleneck")
    c_out = int(params["w3"].shape[0])
    if not projection and (stride != 1 or c_out != x.shape[1]):
        raise ValueError(
            f"an identity shortcut needs stride 1 and C_out == C_in, got stride {stride}, "
            f"C_in {x.shape[1]}, C_out {c_out}; add 'w_proj' and 'b_proj'"
        )
    convs = _Convs(params)
    h = convs.conv_relu("1", x)
    h = convs.conv_relu("2", h, stride=stride, padding=1)
    h = convs.conv_relu("3", h, relu=False)
    shortcut = convs.conv_relu("_proj", x, relu=False, stride=stride) if projection else x
    out = _relu(h + shortcut)
    return out, convs, out


INCEPTION_KEYS = ("w1", "b1", "w3r", "b3r", "w3", "b3", "w5r", "b5r", "w5", "b5", "wp", "bp")


def _inception(x: Array, params: dict[str, Array]) -> tuple[Array, _Convs, Any, list[int]]:
    _check_x(x)
    _check_params(params, INCEPTION_KEYS, "inception")
    xp = get_array_module(x)
    convs = _Convs(params)
    b1 = convs.conv_relu("1", x)
    b3 = convs.conv_relu("3", convs.conv_relu("3r", x), padding=1)
    b5 = convs.conv_relu("5", convs.conv_relu("5r", x), padding=2)
    pooled, switches = max_pool_forward(x, 3, stride=1, padding=1)
    bp = convs.conv_relu("p", pooled)
    widths = [int(b.shape[1]) for b in (b1, b3, b5, bp)]
    return xp.concatenate([b1, b3, b5, bp], axis=1), convs, switches, widths


NIN_KEYS = ("w1", "b1", "w2", "b2", "w3", "b3")


def _nin(x: Array, params: dict[str, Array], stride: int, padding: int) -> tuple[Array, _Convs]:
    _check_x(x)
    _check_params(params, NIN_KEYS, "NiN")
    convs = _Convs(params)
    h = convs.conv_relu("1", x, stride=stride, padding=padding)
    h = convs.conv_relu("2", h)
    return convs.conv_relu("3", h), convs


SEPARABLE_KEYS = ("w_dw", "b_dw", "w_pw", "b_pw")


def _separable(x: Array, params: dict[str, Array], stride: int) -> tuple[Array, _Convs]:
    _check_x(x)
    _check_params(params, SEPARABLE_KEYS, "depthwise-separable")
    channels = int(x.shape[1])
    if tuple(params["w_dw"].shape[:2]) != (channels, 1):
        raise ValueError(
            f"the depthwise weights must have shape (C, 1, KH, KW) with C = {channels}, got "
            f"{tuple(params['w_dw'].shape)}"
        )
    convs = _Convs(params)
    kh = int(params["w_dw"].shape[2])
    h = convs.conv_relu("_dw", x, stride=stride, padding=kh // 2, groups=channels)
    return convs.conv_relu("_pw", h), convs


# END SOLUTION


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
    # BEGIN SOLUTION
    return _bottleneck(x, params, stride)[0]
    # END SOLUTION


def bottleneck_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``bottleneck_forward``. The gradient of the sum ``h3 + shortcut(x)``
    flows into both terms; ``dx`` is the sum of what reaches ``x`` through conv1 and through
    the shortcut.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    # BEGIN SOLUTION
    out, convs, _ = _bottleneck(x, params, stride)
    _check_dout(dout, out)
    grads: dict[str, Array] = {}
    dz = _relu_backward(dout.astype(x.dtype, copy=False), out)
    dh = convs.backward("3", dz, grads)
    dh = convs.backward("2", dh, grads)
    dx = convs.backward("1", dh, grads)
    if "w_proj" in params:
        dx = dx + convs.backward("_proj", dz, grads)
    else:
        dx = dx + dz
    return dx, {key: grads[key] for key in params}
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _inception(x, params)[0]
    # END SOLUTION


def inception_backward(
    dout: Array, x: Array, params: dict[str, Array]
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``inception_forward``: split ``dout`` along the channels into the four
    branches' slices, backpropagate each branch, and sum the four gradients that reach ``x``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    # BEGIN SOLUTION
    out, convs, switches, widths = _inception(x, params)
    _check_dout(dout, out)
    dout = dout.astype(x.dtype, copy=False)
    edges = [0, *itertools.accumulate(widths)]
    d1, d3, d5, dp = (dout[:, edges[i] : edges[i + 1]] for i in range(4))
    grads: dict[str, Array] = {}
    dx = convs.backward("1", d1, grads)
    dx = dx + convs.backward("3r", convs.backward("3", d3, grads), grads)
    dx = dx + convs.backward("5r", convs.backward("5", d5, grads), grads)
    dpooled = convs.backward("p", dp, grads)
    dx = dx + max_pool_backward(dpooled, switches, tuple(x.shape))
    return dx, {key: grads[key] for key in params}
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _nin(x, params, stride, padding)[0]
    # END SOLUTION


def nin_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1, padding: int = 0
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``nin_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    # BEGIN SOLUTION
    out, convs = _nin(x, params, stride, padding)
    _check_dout(dout, out)
    grads: dict[str, Array] = {}
    dh = convs.backward("3", dout.astype(x.dtype, copy=False), grads)
    dh = convs.backward("2", dh, grads)
    dx = convs.backward("1", dh, grads)
    return dx, {key: grads[key] for key in params}
    # END SOLUTION


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
    # BEGIN SOLUTION
    return _separable(x, params, stride)[0]
    # END SOLUTION


def depthwise_separable_block_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``depthwise_separable_block_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    # BEGIN SOLUTION
    out, convs = _separable(x, params, stride)
    _check_dout(dout, out)
    grads: dict[str, Array] = {}
    dh = convs.backward("_pw", dout.astype(x.dtype, copy=False), grads)
    dx = convs.backward("_dw", dh, grads)
    return dx, {key: grads[key] for key in params}
    # END SOLUTION


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
    # BEGIN SOLUTION
    factor = _fpn_factor(top, lateral, w_lat)
    xp = get_array_module(top, lateral)
    up = xp.repeat(xp.repeat(top, factor, axis=2), factor, axis=3)
    return (up + conv_forward(lateral, w_lat, b_lat)).astype(lateral.dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    factor = _fpn_factor(top, lateral, w_lat)
    n, d, h, w = (int(s) for s in top.shape)
    expected = (n, d, h * factor, w * factor)
    if tuple(dout.shape) != expected:
        raise ValueError(f"dout must have the output shape {expected}, got {tuple(dout.shape)}")
    dout = dout.astype(lateral.dtype, copy=False)
    dtop = dout.reshape(n, d, h, factor, w, factor).sum(axis=(3, 5))
    dlateral, dw, db = conv_backward(dout, lateral, w_lat)
    return dtop.astype(top.dtype, copy=False), dlateral, dw, db
    # END SOLUTION


# BEGIN SOLUTION
def _fpn_factor(top: Array, lateral: Array, w_lat: Array) -> int:
    for name, a in (("top", top), ("lateral", lateral)):
        if a.ndim != 4 or a.dtype.kind != "f":
            raise ValueError(f"{name} must be a 4-D floating-point array, got {tuple(a.shape)}")
    n, d, h, w = (int(s) for s in top.shape)
    if lateral.shape[0] != n:
        raise ValueError(
            f"top and lateral must have the same batch size, got {n} and {lateral.shape[0]}"
        )
    big_h, big_w = int(lateral.shape[2]), int(lateral.shape[3])
    factor = big_h // h if h else 0
    if factor < 1 or big_h != factor * h or big_w != factor * w:
        raise ValueError(
            f"lateral's size {(big_h, big_w)} must be the same integer multiple of top's "
            f"size {(h, w)}"
        )
    if tuple(w_lat.shape) != (d, int(lateral.shape[1]), 1, 1):
        raise ValueError(
            f"w_lat must have shape (D, C, 1, 1) = {(d, int(lateral.shape[1]), 1, 1)}, got "
            f"{tuple(w_lat.shape)}"
        )
    return factor


# END SOLUTION
