"""Hints for blocks: the usual mistakes in the architecture blocks, forward and backward.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made, with the reference's own layers) and names them, printing
no reference value. :mod:`autograder.suite.hints` loads this file by path; it is never shipped
to students.

Where the mistakes come from (framework code, students' code and questions):

* The bottleneck's stride on its first 1x1 convolution (the original ResNet) where this
  assignment, as torchvision's "ResNet v1.5", puts it on the 3x3: torchvision's
  ``Bottleneck`` comment, repeated in many ports of it.
* A ReLU on the residual branch before the addition: kuangliu/pytorch-cifar#4.
* The Inception branches concatenated in another order than listed (soeaver/caffe-model#2:
  a concatenation order swapped; shihenw/convolutional-pose-machines-release#31: "the order
  should exactly follow the order they are written"), or the whole upstream gradient (its
  first channels) sent into every branch instead of each branch's own slice.
* NiN without the ReLU after its last 1x1 convolution: D2L's ``nin_block`` follows every
  convolution with a ReLU, the last one included.
* MobileNet's depthwise convolution with its padding hard-coded to 1 (right for 3x3 only),
  or without the ReLU between the depthwise and the pointwise convolution.
* Nearest upsampling written with ``np.tile`` (the whole map repeated) instead of
  ``np.repeat`` (each value repeated): "Quick way to upsample numpy array by nearest neighbor
  tiling" (Stack Overflow question 32846846) and numpy-discussion's "upsample or scale an
  array"; its gradient taken as one copy of ``dout`` per value (a subsampling) or as the
  copies' mean instead of their sum.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for
from autograder.suite.layer_mistakes import Layers

LAYERS = Layers(
    forward={
        "conv_forward": "convolution",
        "max_pool_forward": "max-pool",
        "_relu": "ReLU",
    },
    backward={
        "conv_backward": "conv_forward",
        "max_pool_backward": "max_pool_forward",
        "_relu_backward": "_relu",
    },
    relu="_relu",
)
"""The blocks' layers, for the mistakes the engine finds without a catalogue (a layer left
out, a ReLU added, a layer given the wrong array or option). A convolution is named by its
weights (``the convolution with params['w3r']``)."""

STRIDE_ON_FIRST_1X1 = (
    "your bottleneck strides its first 1x1 convolution (the original ResNet): this block, "
    "as torchvision's ResNet v1.5, puts the stride on the 3x3 convolution (and the "
    "projection), the 1x1 convolutions keep stride 1"
)
RELU_BEFORE_ADD = (
    "your bottleneck applies a ReLU to the expanded branch before adding the shortcut: "
    "add conv3's output as it is, then take relu(h3 + shortcut(x))"
)
INCEPTION_ORDER = (
    "your output holds the four branches' channels in another order: concatenate them as "
    "listed, 1x1, then 3x3, then 5x5, then the pooling branch (and split dout the same way)"
)
INCEPTION_NOT_SPLIT = (
    "every Inception branch gets the first channels of dout: give each branch its own "
    "slice, the channels its output occupies in the concatenation"
)
NIN_LAST_RELU = (
    "your NiN block leaves out the ReLU after its last 1x1 convolution: each of its three "
    "convolutions is followed by a ReLU"
)
DEPTHWISE_PADDING_ONE = (
    "your depthwise convolution pads by 1 whatever the kernel size: pad by K // 2 so that "
    "a K x K kernel keeps the size (1 is right for 3x3 only)"
)
DEPTHWISE_NO_RELU = (
    "your block leaves out the ReLU between the depthwise and the pointwise convolution: "
    "out = relu(pointwise(relu(depthwise(x))))"
)
FPN_TILED = (
    "your upsampling repeats the whole map (np.tile) instead of each value: nearest "
    "upsampling repeats each value in an s x s square, np.repeat along axes 2 and 3"
)
FPN_SUBSAMPLED = (
    "your dtop takes one copy of each upsampled value's gradient (dout[..., ::s, ::s]): "
    "each top value was copied into s x s positions, so it collects the sum of their "
    "gradients"
)
FPN_AVERAGED = (
    "your dtop averages the gradients of each value's s x s copies: the upsampling copies "
    "the value, so its gradient is their sum, not their mean"
)


def _relu(x: Any) -> Any:
    return np.maximum(x, x.dtype.type(0))


def _through_relu(dout: Any, out: Any) -> Any:
    return np.where(out > 0, dout, dout.dtype.type(0))


class _Chain:
    """Convolutions (each optionally followed by a ReLU) with the reference's layers, that
    remember what their backward pass needs."""

    def __init__(self, ref: Any, params: dict[str, Any]) -> None:
        self.ref, self.params, self.saved = ref, params, {}
        self.grads: dict[str, Any] = {}

    def conv(self, name: str, x: Any, relu: bool = True, **options: Any) -> Any:
        out = self.ref.conv_forward(x, self.params["w" + name], self.params["b" + name], **options)
        if relu:
            out = _relu(out)
        self.saved[name] = (x, out, relu, options)
        return out

    def back(self, name: str, dout: Any) -> Any:
        x, out, relu, options = self.saved[name]
        if relu:
            dout = _through_relu(dout, out)
        dx, dw, db = self.ref.conv_backward(dout, x, self.params["w" + name], **options)
        self.grads["w" + name], self.grads["b" + name] = dw, db
        return dx


def _refused(function: Any, arguments: dict[str, Any]) -> bool:
    try:
        function(**arguments)
    except Exception:
        return True
    return False


def _bottleneck(ref: Any, arguments: dict[str, Any], **mistakes: bool) -> tuple[Any, Any]:
    """The bottleneck's output and ``(dx, grads)`` (when the call has a dout) with
    ``mistakes``: ``stride_first`` and ``relu_before_add``."""
    x, params, stride = arguments["x"], arguments["params"], arguments["stride"]
    first, middle = (stride, 1) if mistakes.get("stride_first") else (1, stride)
    chain = _Chain(ref, params)
    h = chain.conv("1", x, stride=first)
    h = chain.conv("2", h, stride=middle, padding=1)
    h = chain.conv("3", h, relu=bool(mistakes.get("relu_before_add")))
    projection = "w_proj" in params
    shortcut = chain.conv("_proj", x, relu=False, stride=stride) if projection else x
    out = _relu(h + shortcut)
    if "dout" not in arguments:
        return out, None
    dz = _through_relu(arguments["dout"].astype(x.dtype), out)
    dx = chain.back("1", chain.back("2", chain.back("3", dz)))
    dx = dx + (chain.back("_proj", dz) if projection else dz)
    return out, (dx, {key: chain.grads[key] for key in params})


@diagnoses_for("bottleneck_forward", "bottleneck_backward")
def _bottleneck_mistakes(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    if _refused(function, arguments):
        return []
    backward = call.function == "bottleneck_backward"
    changes: list[tuple[str, dict[str, bool]]] = [(RELU_BEFORE_ADD, {"relu_before_add": True})]
    if arguments["stride"] != 1:
        changes.append((STRIDE_ON_FIRST_1X1, {"stride_first": True}))
    found: list[Suspect | str] = []
    for hint, mistake in changes:
        out, gradients = _bottleneck(reference, arguments, **mistake)
        found.append(Suspect(hint, gradients if backward else out))
    return found


def _branch_slices(out: Any, widths: list[int]) -> list[Any]:
    edges = [0, *itertools.accumulate(widths)]
    return [out[:, edges[i] : edges[i + 1]] for i in range(len(widths))]


@diagnoses_for("inception_forward", "inception_backward")
def _inception(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    if _refused(function, arguments):
        return []
    params = arguments["params"]
    widths = [int(params[key].shape[0]) for key in ("w1", "w3", "w5", "wp")]
    found: list[Suspect | str] = []
    if call.function == "inception_forward":
        branches = _branch_slices(reference.inception_forward(**arguments), widths)
        for order in itertools.permutations(range(4)):
            if order != (0, 1, 2, 3):
                swapped = np.concatenate([branches[i] for i in order], axis=1)
                found.append(Suspect(INCEPTION_ORDER, swapped))
        return found
    dout, x = arguments["dout"], arguments["x"]
    for order in itertools.permutations(range(4)):
        if order != (0, 1, 2, 3):
            # the student's concatenation in ``order``, and dout split the same way
            pieces = _branch_slices(dout, [widths[i] for i in order])
            mine = {branch: piece for branch, piece in zip(order, pieces, strict=True)}
            regathered = np.concatenate([mine[i] for i in range(4)], axis=1)
            found.append(
                Suspect(INCEPTION_ORDER, reference.inception_backward(regathered, x, params))
            )
    leading = np.concatenate([dout[:, :width] for width in widths], axis=1)
    found.append(Suspect(INCEPTION_NOT_SPLIT, reference.inception_backward(leading, x, params)))
    return found


@diagnoses_for("nin_forward", "nin_backward")
def _nin(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    if _refused(function, arguments):
        return []
    x, params = arguments["x"], arguments["params"]
    chain = _Chain(reference, params)
    h = chain.conv("1", x, stride=arguments["stride"], padding=arguments["padding"])
    out = chain.conv("3", chain.conv("2", h), relu=False)
    if call.function == "nin_forward":
        return [Suspect(NIN_LAST_RELU, out)]
    dx = chain.back("1", chain.back("2", chain.back("3", arguments["dout"].astype(x.dtype))))
    return [Suspect(NIN_LAST_RELU, (dx, {key: chain.grads[key] for key in params}))]


@diagnoses_for("depthwise_separable_block_forward", "depthwise_separable_block_backward")
def _separable(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    if _refused(function, arguments):
        return []
    x, params, stride = arguments["x"], arguments["params"], arguments["stride"]
    channels, kernel = int(x.shape[1]), int(params["w_dw"].shape[2])

    def block(padding: int, middle_relu: bool) -> tuple[Any, _Chain]:
        chain = _Chain(reference, params)
        h = chain.conv("_dw", x, middle_relu, stride=stride, padding=padding, groups=channels)
        return chain.conv("_pw", h), chain

    found: list[Suspect | str] = []
    out, chain = block(kernel // 2, middle_relu=False)
    if call.function.endswith("forward"):
        found.append(Suspect(DEPTHWISE_NO_RELU, out))
        if kernel // 2 != 1:
            try:
                found.append(Suspect(DEPTHWISE_PADDING_ONE, block(1, middle_relu=True)[0]))
            except Exception:  # the kernel does not fit with padding 1: no such mistake here
                pass
        return found
    dx = chain.back("_dw", chain.back("_pw", arguments["dout"].astype(x.dtype)))
    found.append(Suspect(DEPTHWISE_NO_RELU, (dx, {key: chain.grads[key] for key in params})))
    return found


def _fpn_factor(top: Any, lateral: Any) -> int:
    return int(lateral.shape[2]) // int(top.shape[2])


@diagnoses_for("fpn_merge_forward")
def _fpn_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.fpn_merge_forward, call)
    if _refused(reference.fpn_merge_forward, arguments):
        return []
    top, lateral = arguments["top"], arguments["lateral"]
    s = _fpn_factor(top, lateral)
    lateral_term = reference.conv_forward(lateral, arguments["w_lat"], arguments["b_lat"])
    tiled = (np.tile(top, (1, 1, s, s)) + lateral_term).astype(lateral.dtype)
    return [Suspect(FPN_TILED, tiled)]


@diagnoses_for("fpn_merge_backward")
def _fpn_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.fpn_merge_backward, call)
    if _refused(reference.fpn_merge_backward, arguments):
        return []
    top, lateral, dout = arguments["top"], arguments["lateral"], arguments["dout"]
    s = _fpn_factor(top, lateral)
    n, d, h, w = (int(size) for size in top.shape)
    dout = np.asarray(dout, np.float64)
    summed = dout.reshape(n, d, h, s, w, s).sum(axis=(3, 5))
    tiled = dout.reshape(n, d, s, h, s, w).sum(axis=(2, 4))
    return [
        Suspect(FPN_TILED, tiled.astype(top.dtype), (0,)),
        Suspect(FPN_SUBSAMPLED, dout[:, :, ::s, ::s].astype(top.dtype), (0,)),
        Suspect(FPN_AVERAGED, (summed / (s * s)).astype(top.dtype), (0,)),
    ]
