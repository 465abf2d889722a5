"""The classic architectures by the numbers: output shapes, parameters, multiply-accumulates and
receptive fields of LeNet-5, AlexNet, VGG-16, GoogLeNet, ResNet-18, ResNet-50 and MobileNet v1,
computed from a plain description of their layers.

Nothing here runs a network: every function is integer arithmetic on a *layer spec*, the
description below. The specs of the seven classic networks are given at the end of this file
(``NETWORKS``), with the small functions that build them (``conv(64, 3, padding=1)``, ...).

Shapes
------
A shape is a tuple of ints without the batch dimension: ``(C, H, W)`` for a feature map (C
channels of H rows and W columns), ``(F,)`` for a vector of F features. Functions return
shapes, and the pairs below, as tuples of ints.

The layer spec
--------------
A network is a list of layers, applied in order. A layer is a dict with a ``"type"`` key and
the keys of its type; keys shown with ``=`` are optional and take that default. Sizes that can
differ between height and width (``kernel_size``, ``stride``, ``padding``, ``dilation``) are an
int (the same for both) or a pair ``[h, w]`` (a list or a tuple), the height first.

====================  =========================================================================
``"conv"``            ``out_channels``, ``kernel_size``, ``stride=1``, ``padding=0``,
                      ``dilation=1``, ``groups=1``, ``bias=True``: a 2-D convolution with
                      PyTorch's ``nn.Conv2d`` meaning of each option (zero padding on both
                      sides; ``groups`` must divide both the input and the output channels).
                      ``(C, H, W) -> (out_channels, H', W')``.
``"maxpool"``,        ``kernel_size``, ``stride=kernel_size``, ``padding=0``, ``ceil_mode=False``:
``"avgpool"``         pooling of each channel (PyTorch's ``nn.MaxPool2d`` / ``nn.AvgPool2d``).
                      ``(C, H, W) -> (C, H', W')``.
``"linear"``          ``out_features``, ``bias=True``: a fully connected layer on a vector.
                      ``(F,) -> (out_features,)``; a feature map must be flattened first.
``"flatten"``         ``(C, H, W) -> (C * H * W,)``.
``"global_avgpool"``  the mean of each channel: ``(C, H, W) -> (C,)``.
``"batchnorm"``       batch normalization of each channel (or feature): the shape is unchanged.
``"relu"``            the shape is unchanged.
``"concat"``          ``branches``: a list of layer lists. Each branch is applied to the layer's
                      input; the branches' outputs, feature maps of equal H and W, are
                      concatenated along the channels, in order (an Inception module).
                      ``(C, H, W) -> (C_1 + C_2 + ..., H', W')``.
``"residual"``        ``branch``: a layer list; ``shortcut=[]``: a layer list (empty: the
                      identity). The output is ``branch(x) + shortcut(x)``; the two must have the
                      same shape (a ResNet block; its final ReLU is a layer of its own after it).
====================  =========================================================================

An empty branch or shortcut is the identity. Specs are plain dicts, lists, tuples, ints and
bools, so they can be written by hand, printed and compared; the helpers at the end of this
file (``conv``, ``maxpool``, ``linear``, ...) only save typing: ``conv(64, 3, padding=1)`` is
``{"type": "conv", "out_channels": 64, "kernel_size": 3, "stride": 1, "padding": 1,
"dilation": 1, "groups": 1, "bias": True}``.

Conventions
-----------
* **Output size** (one spatial dimension of ``size`` elements; ``k`` kernel, ``s`` stride,
  ``p`` padding, ``d`` dilation): the effective kernel spans ``k_eff = d * (k - 1) + 1`` input
  elements, and ``out = floor((size + 2 * p - k_eff) / s) + 1``: the padding is added on
  **both** sides. With ``ceil_mode=True`` (pooling only) the division rounds up instead, and
  then one is taken off when the last window would start in the right padding or beyond,
  ``(out - 1) * s >= size + p``: PyTorch's rule, every window starts inside the input or its
  left padding. A kernel wider than the padded input (``size + 2 * p < k_eff``) is an error.
* **Parameters** are the learned numbers (PyTorch's ``parameters()``):
  a convolution has ``out_channels * (C_in / groups) * k_h * k_w`` weights plus
  ``out_channels`` biases when ``bias``; a linear layer ``F_in * out_features`` weights plus
  ``out_features`` biases; batch normalization ``2 * C`` (a scale and a shift per channel; its
  running mean and variance are statistics, not parameters). Pooling, ReLU, flatten, global
  average pooling, concatenation and addition have none.
* **Multiply-accumulates (MACs)**: a convolution makes ``(C_in / groups) * k_h * k_w`` of them
  for each of its output elements, ``out_elements * (C_in / groups) * k_h * k_w`` in all,
  counted over the *output* positions; a linear layer ``F_in * out_features``. Biases are not
  counted, and neither is anything else (pooling, ReLU, batch normalization, additions): 0.
  One MAC is one multiplication and one addition; FLOP counts are often twice the MACs.
* **Receptive field and jump**, per spatial dimension: the receptive field ``r`` of a layer's
  output is how many input pixels (of the network's input) one output element depends on,
  and its jump ``j`` is how many input pixels apart two neighbouring output elements are. The
  network's input has ``r = 1, j = 1``. A convolution or pooling layer with effective kernel
  ``k_eff`` and stride ``s`` gives ``r_out = r_in + (k_eff - 1) * j_in`` and
  ``j_out = j_in * s``: the kernel's extra elements are ``j_in`` input pixels apart, the jump
  *before* this layer. Padding does not change either. A concatenation or a residual addition
  gives the largest ``r`` and the largest ``j`` of its branches (the shortcut is a branch; the
  identity keeps ``r_in, j_in``). Layers that keep positions (ReLU, batch norm) keep both, and
  so, by this kit's convention, do the layers that end the spatial part (flatten, global
  average pooling, linear): the receptive field of a network is that of its last feature map.
  Pairs of receptive fields and jumps are ``(height, width)``.
* Invalid specs raise ``ValueError``: an unknown type or key, a missing key, a kernel that does
  not fit, channels that ``groups`` does not divide, a linear layer on a feature map, branches
  whose outputs cannot be concatenated or added.
"""

from __future__ import annotations

import math
from typing import Any

Shape = tuple[int, ...]
Pair = tuple[int, int]
Layer = dict[str, Any]


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """The output size of a convolution or pooling layer along one spatial dimension.

    ``out = floor((size + 2 * padding - k_eff) / stride) + 1`` with the effective kernel
    ``k_eff = dilation * (kernel_size - 1) + 1``. With ``ceil_mode=True`` the division rounds up,
    and one is taken off when the last window would start in the right padding or beyond
    (``(out - 1) * stride >= size + padding``), as PyTorch does.

    Args:
        size: the input's size along this dimension (H or W), >= 1.
        kernel_size, stride, dilation: ints >= 1.
        padding: an int >= 0, added on both sides.
        ceil_mode: round up instead of down (pooling layers' option).

    Returns:
        The output size, an int >= 1.

    Raises:
        ValueError: if an argument is not an int in its range, or the effective kernel is wider
            than the padded input (``size + 2 * padding < k_eff``).
    """
    raise NotImplementedError("conv_output_size is not implemented yet")


def output_shape(layer: Layer, in_shape: Shape) -> Shape:
    """The shape of one layer's output (see the layer spec in the module's docstring).

    Args:
        layer: one layer of a spec (a composite ``concat`` or ``residual`` layer included: its
            output is that of its branches, concatenated or added).
        in_shape: the shape of its input, ``(C, H, W)`` or ``(F,)``.

    Returns:
        ``(C, H, W)`` for a feature map, ``(F,)`` for a vector: the output's shape, a tuple of
        ints.

    Raises:
        ValueError: for an invalid layer, or a layer that cannot take this input.
    """
    raise NotImplementedError("output_shape is not implemented yet")


def param_count(layer: Layer, in_shape: Shape) -> int:
    """The number of learned parameters of one layer (a composite layer: of all its layers).

    Convolution: ``out_channels * (C_in / groups) * k_h * k_w`` weights, plus ``out_channels``
    biases when ``bias``. Linear: ``F_in * out_features`` weights, plus ``out_features`` biases
    when ``bias``. Batch normalization: ``2 * C`` (its scale and shift; the running statistics
    are not parameters). Every other layer: 0.

    Args:
        layer: one layer of a spec.
        in_shape: the shape of its input.

    Returns:
        The number of parameters, an int.

    Raises:
        ValueError: as for ``output_shape``.
    """
    raise NotImplementedError("param_count is not implemented yet")


def mac_count(layer: Layer, in_shape: Shape) -> int:
    """The number of multiply-accumulates one layer makes for one input (not a batch).

    Convolution: ``(C_in / groups) * k_h * k_w`` per output element, over all
    ``C_out * H_out * W_out`` output elements. Linear: ``F_in * out_features``. Biases, pooling,
    ReLU, batch normalization, concatenation and addition count 0. A composite layer: the sum
    over all its layers.

    Args:
        layer: one layer of a spec.
        in_shape: the shape of its input.

    Returns:
        The number of MACs, an int.

    Raises:
        ValueError: as for ``output_shape``.
    """
    raise NotImplementedError("mac_count is not implemented yet")


def receptive_field(layer: Layer, rf: Pair = (1, 1), jump: Pair = (1, 1)) -> tuple[Pair, Pair]:
    """The receptive field and jump after one layer, from those before it.

    Per spatial dimension: a convolution or pooling layer with effective kernel
    ``k_eff = dilation * (k - 1) + 1`` and stride ``s`` gives ``rf + (k_eff - 1) * jump`` and
    ``jump * s`` (the jump before the layer spaces its kernel's elements). A concatenation or a
    residual addition gives, per dimension, the largest receptive field and the largest jump of
    its branches (each branch a list of layers applied in turn; an empty branch or shortcut
    keeps ``rf`` and ``jump``). Every other layer keeps both (flatten, global average pooling
    and linear too, by convention: the network's receptive field is its last feature map's).

    Args:
        layer: one layer of a spec.
        rf: the receptive field ``(r_h, r_w)`` of the layer's input, in input pixels of the
            network (``(1, 1)`` for the network's input).
        jump: the jump ``(j_h, j_w)`` of the layer's input (``(1, 1)`` for the network's input).

    Returns:
        ``(rf, jump)``: the receptive field and the jump of the layer's output, each a pair of
        ints ``(height, width)``.

    Raises:
        ValueError: for an invalid layer.
    """
    raise NotImplementedError("receptive_field is not implemented yet")


def summarize(layers: list[Layer], in_shape: Shape) -> dict[str, Any]:
    """A network's table, layer by layer, and its totals.

    Args:
        layers: the network's spec, a list of layers.
        in_shape: the shape of the network's input, ``(C, H, W)`` (or ``(F,)``).

    Returns:
        A dict::

            {
                "output_shape": shape,         # the last layer's output (in_shape if none)
                "params": int,                 # the sum of the rows' params
                "macs": int,                   # the sum of the rows' MACs
                "receptive_field": (r_h, r_w), # of the last layer's output ((1, 1) if none)
                "jump": (j_h, j_w),            # of the last layer's output ((1, 1) if none)
                "layers": [row, ...],          # one row per layer of the list, in order
            }

        where each row is the dict ``{"output_shape": ..., "params": ..., "macs": ...,
        "receptive_field": ..., "jump": ...}`` of that layer, as ``output_shape``,
        ``param_count``, ``mac_count`` and ``receptive_field`` give them (a composite layer is
        one row, its branches included). Shapes and pairs are tuples of ints.

    Raises:
        ValueError: for an invalid spec.
    """
    raise NotImplementedError("summarize is not implemented yet")


# ---------------------------------------------------------------------------------------------
# Building specs (given: these functions only write the dicts out)
# ---------------------------------------------------------------------------------------------


def conv(
    out_channels: int,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    *,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
) -> Layer:
    """A ``"conv"`` layer with every key written out."""
    return {
        "type": "conv",
        "out_channels": out_channels,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "bias": bias,
    }


def maxpool(
    kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False
) -> Layer:
    """A ``"maxpool"`` layer (``stride=None``: the kernel size)."""
    stride = kernel_size if stride is None else stride
    return {
        "type": "maxpool",
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil_mode,
    }


def avgpool(
    kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False
) -> Layer:
    """An ``"avgpool"`` layer (``stride=None``: the kernel size)."""
    return {**maxpool(kernel_size, stride, padding, ceil_mode), "type": "avgpool"}


def linear(out_features: int, bias: bool = True) -> Layer:
    return {"type": "linear", "out_features": out_features, "bias": bias}


def flatten() -> Layer:
    return {"type": "flatten"}


def global_avgpool() -> Layer:
    return {"type": "global_avgpool"}


def batchnorm() -> Layer:
    return {"type": "batchnorm"}


def relu() -> Layer:
    return {"type": "relu"}


def concat(*branches: list[Layer]) -> Layer:
    """A ``"concat"`` layer of these branches (each a list of layers)."""
    return {"type": "concat", "branches": [list(branch) for branch in branches]}


def residual(branch: list[Layer], shortcut: list[Layer] | None = None) -> Layer:
    """A ``"residual"`` layer: ``branch(x) + shortcut(x)`` (no shortcut: the identity)."""
    return {"type": "residual", "branch": list(branch), "shortcut": list(shortcut or [])}


def _conv_bn_relu(
    out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, *, groups: int = 1
) -> list[Layer]:
    """A convolution without bias, batch normalization and a ReLU (the bias would be undone by
    the batch norm's shift, so these networks leave it out)."""
    return [
        conv(out_channels, kernel_size, stride, padding, groups=groups, bias=False),
        batchnorm(),
        relu(),
    ]


# ---------------------------------------------------------------------------------------------
# The classic networks (given: NETWORKS below, built by these helpers), each for its usual
# input: ImageNet's 3 x 224 x 224 images (1000 classes), and LeNet-5's 1 x 32 x 32 digits (10
# classes). Where a network has versions, this is the one PyTorch's torchvision builds (its
# published parameter counts are the figures to check against); dropout, which has nothing to
# count, is left out.
# ---------------------------------------------------------------------------------------------


def _lenet5() -> list[Layer]:
    """LeNet-5 as the kit's ``lenet`` assignment builds it (ReLU and max pooling, LeCun et al.
    1998's layer sizes): 61,706 parameters."""
    return [
        conv(6, 5),
        relu(),
        maxpool(2),
        conv(16, 5),
        relu(),
        maxpool(2),
        flatten(),
        linear(120),
        relu(),
        linear(84),
        relu(),
        linear(10),
    ]


def _alexnet() -> list[Layer]:
    """AlexNet as torchvision builds it (Krizhevsky's "one weird trick" single-tower variant:
    64-192-384-256-256 channels, no local response normalization): 61,100,840 parameters.
    torchvision's adaptive average pooling to 6 x 6 is the identity on a 224 x 224 input's
    6 x 6 maps, and is left out."""
    return [
        conv(64, 11, 4, 2),
        relu(),
        maxpool(3, 2),
        conv(192, 5, padding=2),
        relu(),
        maxpool(3, 2),
        conv(384, 3, padding=1),
        relu(),
        conv(256, 3, padding=1),
        relu(),
        conv(256, 3, padding=1),
        relu(),
        maxpool(3, 2),
        flatten(),
        linear(4096),
        relu(),
        linear(4096),
        relu(),
        linear(1000),
    ]


def _vgg16() -> list[Layer]:
    """VGG-16 (configuration D of Simonyan and Zisserman, 2014; no batch norm): thirteen 3 x 3
    convolutions in five stages, then three fully connected layers. 138,357,544 parameters."""
    layers: list[Layer] = []
    for channels, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            layers += [conv(channels, 3, padding=1), relu()]
        layers.append(maxpool(2))
    return [*layers, flatten(), linear(4096), relu(), linear(4096), relu(), linear(1000)]


def _inception(
    c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int, c5_kernel: int = 3
) -> Layer:
    """GoogLeNet's Inception module: four branches concatenated (a 1 x 1 convolution; a 1 x 1
    reduction then a 3 x 3; a 1 x 1 reduction then the "5 x 5" branch; a 3 x 3 max pooling then a
    1 x 1 projection), each convolution followed by batch norm and ReLU. torchvision's "5 x 5"
    branch is a 3 x 3 convolution (``c5_kernel=3``, kept for its pretrained weights); the paper
    (Szegedy et al., 2014) has ``c5_kernel=5``."""
    return concat(
        _conv_bn_relu(c1, 1),
        [*_conv_bn_relu(c3_reduce, 1), *_conv_bn_relu(c3, 3, padding=1)],
        [*_conv_bn_relu(c5_reduce, 1), *_conv_bn_relu(c5, c5_kernel, padding=c5_kernel // 2)],
        [maxpool(3, 1, 1, ceil_mode=True), *_conv_bn_relu(pool_proj, 1)],
    )


def _googlenet(c5_kernel: int = 3) -> list[Layer]:
    """GoogLeNet (Inception v1) as torchvision builds it, without its auxiliary classifiers:
    batch norm after every convolution, max pooling with ``ceil_mode=True``, global average
    pooling and one linear layer. 6,624,904 parameters (``c5_kernel=5``, the paper's 5 x 5
    convolutions: more)."""
    modules = {
        "3a": (64, 96, 128, 16, 32, 32),
        "3b": (128, 128, 192, 32, 96, 64),
        "4a": (192, 96, 208, 16, 48, 64),
        "4b": (160, 112, 224, 24, 64, 64),
        "4c": (128, 128, 256, 24, 64, 64),
        "4d": (112, 144, 288, 32, 64, 64),
        "4e": (256, 160, 320, 32, 128, 128),
        "5a": (256, 160, 320, 32, 128, 128),
        "5b": (384, 192, 384, 48, 128, 128),
    }

    def stage(*names: str) -> list[Layer]:
        return [_inception(*modules[name], c5_kernel=c5_kernel) for name in names]

    return [
        *_conv_bn_relu(64, 7, 2, 3),
        maxpool(3, 2, ceil_mode=True),
        *_conv_bn_relu(64, 1),
        *_conv_bn_relu(192, 3, padding=1),
        maxpool(3, 2, ceil_mode=True),
        *stage("3a", "3b"),
        maxpool(3, 2, ceil_mode=True),
        *stage("4a", "4b", "4c", "4d", "4e"),
        maxpool(2, 2, ceil_mode=True),
        *stage("5a", "5b"),
        global_avgpool(),
        linear(1000),
    ]


def _basic_block(in_channels: int, channels: int, stride: int) -> list[Layer]:
    """ResNet-18's residual block: two 3 x 3 convolutions, and a 1 x 1 projection shortcut
    where the shape changes; then a ReLU."""
    branch = [
        *_conv_bn_relu(channels, 3, stride, 1),
        conv(channels, 3, padding=1, bias=False),
        batchnorm(),
    ]
    shortcut = []
    if stride != 1 or in_channels != channels:
        shortcut = [conv(channels, 1, stride, bias=False), batchnorm()]
    return [residual(branch, shortcut), relu()]


def _bottleneck_block(in_channels: int, width: int, stride: int) -> list[Layer]:
    """ResNet-50's bottleneck block: a 1 x 1 reduction to ``width`` channels, a 3 x 3
    convolution (carrying the stride: torchvision's "ResNet v1.5"), a 1 x 1 expansion to
    ``4 * width``; a projection shortcut where the shape changes; then a ReLU."""
    out = 4 * width
    branch = [
        *_conv_bn_relu(width, 1),
        *_conv_bn_relu(width, 3, stride, 1),
        conv(out, 1, bias=False),
        batchnorm(),
    ]
    shortcut = []
    if stride != 1 or in_channels != out:
        shortcut = [conv(out, 1, stride, bias=False), batchnorm()]
    return [residual(branch, shortcut), relu()]


def _resnet(bottleneck: bool, blocks: tuple[int, ...]) -> list[Layer]:
    layers = [*_conv_bn_relu(64, 7, 2, 3), maxpool(3, 2, 1)]
    channels = 64
    for stage, count in enumerate(blocks):
        width = 64 * 2**stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            if bottleneck:
                layers += _bottleneck_block(channels, width, stride)
                channels = 4 * width
            else:
                layers += _basic_block(channels, width, stride)
                channels = width
    return [*layers, global_avgpool(), linear(1000)]


def _resnet18() -> list[Layer]:
    """ResNet-18 (He et al., 2015) as torchvision builds it: 11,689,512 parameters."""
    return _resnet(False, (2, 2, 2, 2))


def _resnet50() -> list[Layer]:
    """ResNet-50 as torchvision builds it (the stride of each stage's first block in its 3 x 3
    convolution): 25,557,032 parameters."""
    return _resnet(True, (3, 4, 6, 3))


def _mobilenet_v1() -> list[Layer]:
    """MobileNet v1 (Howard et al., 2017; width 1.0, 224 x 224): a 3 x 3 convolution, then
    thirteen depthwise-separable blocks (a 3 x 3 depthwise convolution, ``groups`` = its
    channels, and a 1 x 1 pointwise one, each with batch norm and ReLU), global average pooling
    and one linear layer. 4,231,976 parameters."""
    layers = _conv_bn_relu(32, 3, 2, 1)
    channels = 32
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    plan += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for out, stride in plan:
        layers += _conv_bn_relu(channels, 3, stride, 1, groups=channels)
        layers += _conv_bn_relu(out, 1)
        channels = out
    return [*layers, global_avgpool(), linear(1000)]


NETWORKS: dict[str, dict[str, Any]] = {
    "lenet5": {"input_shape": (1, 32, 32), "layers": _lenet5()},
    "alexnet": {"input_shape": (3, 224, 224), "layers": _alexnet()},
    "vgg16": {"input_shape": (3, 224, 224), "layers": _vgg16()},
    "googlenet": {"input_shape": (3, 224, 224), "layers": _googlenet()},
    "resnet18": {"input_shape": (3, 224, 224), "layers": _resnet18()},
    "resnet50": {"input_shape": (3, 224, 224), "layers": _resnet50()},
    "mobilenet_v1": {"input_shape": (3, 224, 224), "layers": _mobilenet_v1()},
}
"""The seven classic networks: ``NETWORKS[name]["layers"]`` is the spec, to be applied to an
input of shape ``NETWORKS[name]["input_shape"]``::

    summary = summarize(NETWORKS["vgg16"]["layers"], NETWORKS["vgg16"]["input_shape"])
"""
