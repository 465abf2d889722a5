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

from conv import conv_backward, conv_forward
from pooling import max_pool_backward, max_pool_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


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
    raise NotImplementedError("bottleneck_forward is not implemented yet")


def bottleneck_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``bottleneck_forward``. The gradient of the sum ``h3 + shortcut(x)``
    flows into both terms; ``dx`` is the sum of what reaches ``x`` through conv1 and through
    the shortcut.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    raise NotImplementedError("bottleneck_backward is not implemented yet")


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
    raise NotImplementedError("inception_forward is not implemented yet")


def inception_backward(
    dout: Array, x: Array, params: dict[str, Array]
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``inception_forward``: split ``dout`` along the channels into the four
    branches' slices, backpropagate each branch, and sum the four gradients that reach ``x``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    raise NotImplementedError("inception_backward is not implemented yet")


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
    raise NotImplementedError("nin_forward is not implemented yet")


def nin_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1, padding: int = 0
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``nin_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    raise NotImplementedError("nin_backward is not implemented yet")


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
    raise NotImplementedError("depthwise_separable_block_forward is not implemented yet")


def depthwise_separable_block_backward(
    dout: Array, x: Array, params: dict[str, Array], stride: int = 1
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of ``depthwise_separable_block_forward``.

    Returns:
        ``(dx, grads)``: ``grads`` has the keys of ``params``.
    """
    raise NotImplementedError("depthwise_separable_block_backward is not implemented yet")


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
    raise NotImplementedError("fpn_merge_forward is not implemented yet")


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
    raise NotImplementedError("fpn_merge_backward is not implemented yet")
