"""Hints for conv: the usual mistakes in convolution.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (public course material, forums and solutions):

* dilation read as "zeros inserted between taps" (a spacing of ``dilation + 1``): the
  ambiguity Lasagne had to fix in its own docstring, github.com/Lasagne/Lasagne/issues/707.
* filters assigned to groups round-robin (``g = f % groups``) instead of in consecutive
  blocks: the interleaving confusion of github.com/Theano/Theano/issues/6297 and
  github.com/onnx/onnx/issues/2273 ("even channels to one group, odd to the other?").
* a ``(height, width)`` pair read as ``(width, height)``: the OpenCV ``dsize`` habit,
  stackoverflow.com/questions/21248245.
* ``dx`` computed as the full correlation of ``dout`` with the kernel NOT rotated by 180
  degrees: the "convolve with the rotated kernel" step of every derivation of the backward
  pass (e.g. the hint of github.com/LittleLucky-bird/CNN-matlab ``nnconv_bp.m``), and the
  reversed-gradient bug the author of end-to-end-machine-learning.teachable.com (course 322,
  "2D convolution backward pass") reports in his own code.
* ``dx = dx_pad[:, :, pad:-pad, pad:-pad]``, empty when ``pad == 0``: the crop in many public
  CS231n / ECE 239AS solutions (several guard it with ``if pad > 0``).
* a ReLU between the depthwise and the pointwise convolution (MobileNet's block has BN + ReLU
  there; the plain separable convolution has none): github.com/Zehaos/MobileNet/issues/7,
  github.com/seungjunlee96/Depthwise-Separable-Convolution_Pytorch/issues/3.
* stride / padding / dilation passed to the 1 x 1 pointwise convolution as well.
* the depthwise bias left out when ``h`` is recomputed in the backward pass (the docstring
  warns about it; the pointwise weight gradient depends on ``h``).
* the input padded by repeating or mirroring its border (``np.pad(..., mode="edge")`` or
  ``"reflect"``, the image-processing habit; ``nn.Conv2d``'s ``padding_mode="replicate"`` /
  ``"reflect"``) where ``conv2d`` pads with zeros.
* the input channels split into groups round-robin, from ``x.reshape(N, C // groups, groups,
  ...)`` instead of ``(N, groups, C // groups, ...)``: the interleaving question of
  github.com/onnx/onnx/issues/2273 asked of the input channels.
* ``db`` averaged over the batch or the output pixels (``dout.mean(axis=(0, 2, 3))``), and
  ``dw`` divided by the batch size: the ``1 / N`` of a mean loss belongs to the loss, whose
  gradient ``dout`` already holds it (janchorowski/nn_assignments#21 on where it belongs).
* the stride left out of the backward pass (windows read at ``i`` instead of ``i * stride``):
  github.com/Kulbear/deep-learning-coursera/pull/34 ("stride missing in conv_backward"),
  github.com/enggen/Deep-Learning-Coursera/issues/7 ("stride not multiplied in backward
  pass").
* the channel multiplier's filters laid out channel-minor (``np.tile(x, M)`` for
  ``np.repeat(x, M)``: filter ``j`` on channel ``j % C``): frameworks disagree on the layout
  (chainer/chainer#2067 takes ``W`` as ``(c_M, c_I, KH, KW)``), and the public test's
  ``np.repeat`` is the one meant. conv_forward's round-robin groups give the same output,
  so the hint names both (it has no example of its own: the round-robin example gets it).
* ``dx = dx_pad[:, :, :H, :W]``, the padding's rows and columns kept and the input's last ones
  dropped: the crop of the CS231n naive backward written without its offset (the same crop
  the ``p:-p`` entry above gets wrong the other way).
* the ReLU of MobileNet's block put in the separable convolution's backward pass (``dh``
  masked by ``h > 0``), as in its forward (the issues cited above).
* ``b_depthwise`` left out of the depthwise convolution in the forward pass (``None`` passed
  where the bias belongs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    computed,
    diagnoses_for,
    suspect,
)
from autograder.suite.layer_mistakes import Layers

LAYERS = Layers(
    forward={"conv_forward": "convolution"},
    backward={"conv_backward": "conv_forward"},
    blocks=("depthwise_separable_forward", "depthwise_separable_backward"),
)
"""The separable convolution's two convolutions, for the mistakes the engine finds without a
catalogue (a convolution given the wrong option or array: ``groups=1``, no dilation)."""

_OPTIONS = ("stride", "padding", "dilation")

DILATION_AS_GAPS = (
    "your output matches a spacing of dilation + 1 between kernel taps: dilation=d means "
    "taps d pixels apart (d - 1 zeros between them), and dilation=1 is an ordinary convolution"
)
ROUND_ROBIN_GROUPS = (
    "your output matches filters assigned to groups round-robin (filter f in group "
    "f % groups): the F // groups consecutive filters of w form each group, so filter f "
    "belongs to group f // (F // groups)"
)
PAIRS_SWAPPED = (
    "your output matches every (height, width) pair of stride, padding and dilation read as "
    "(width, height): the first item of a pair is for the height (axis 2)"
)
KERNEL_AXES_SWAPPED = (
    "your output matches the kernel's rows and columns swapped (w[f, c, v, u] used for "
    "w[f, c, u, v]): axis 2 of w is the kernel's height, axis 3 its width"
)
DX_NOT_ROTATED = (
    "your dx matches the gradient computed with the kernel flipped: dx correlates dout with "
    "the kernel rotated by 180 degrees; equivalently, scatter w[f, c, u, v] * dout[n, f, i, j] "
    "back to the input pixel that tap (u, v) of window (i, j) read"
)
DX_CROP_EMPTY = (
    "your dx is empty along an axis whose padding is 0: dx_pad[:, :, p:-p] selects nothing "
    "when p = 0; crop with dx_pad[:, :, p:p + H, p:p + W] instead"
)
RELU_BETWEEN = (
    "your output matches a ReLU between the depthwise and the pointwise convolution: a "
    "depthwise separable convolution has no non-linearity between its two convolutions"
)
POINTWISE_HYPERPARAMETERS = (
    "your output matches stride, padding and dilation applied to the pointwise convolution "
    "too: they belong to the depthwise convolution; the pointwise one is a plain 1 x 1 "
    "convolution (stride 1, no padding)"
)
H_WITHOUT_DEPTHWISE_BIAS = (
    "your dw_pointwise matches h recomputed without b_depthwise: the pointwise weight "
    "gradient sums dout times h, and h = conv_forward(x, w_depthwise, b_depthwise, ...) "
    "includes the depthwise bias"
)

BORDER_PADDING = (
    "your output matches the input padded by repeating (or mirroring) its border pixels: "
    "conv2d pads with zeros (np.pad's default mode='constant'), so a window that hangs over "
    "the border reads 0 there"
)
INPUT_CHANNELS_ROUND_ROBIN = (
    "your output matches the input channels assigned to groups round-robin (channel c in "
    "group c % groups): group g reads the C // groups consecutive channels from "
    "g * (C // groups) on; split x's channel axis as (groups, C // groups), in that order"
)
DB_AVERAGED = (
    "your db averages dout where it should sum it: the bias is added at every output pixel of "
    "every example, so db[f] is the sum of dout[:, f] over N, H_out and W_out"
)
DW_DIVIDED_BY_N = (
    "your dw is divided by the batch size N: a layer's backward sums over the examples (the "
    "mean loss's 1 / N is already in dout)"
)
BACKWARD_WITHOUT_STRIDE = (
    "your backward pass matches the windows placed stride 1 apart: output pixel (i, j) read "
    "the padded input from (i * sh, j * sw) on, so dx must receive dout[..., i, j] there and "
    "dw must take x_pad there; the stride belongs in the backward pass too"
)
MULTIPLIER_TILED = (
    "your output matches depthwise filter j applied to input channel j % C: filter c * M + m "
    "filters channel c, so each channel's M filters are consecutive. Check conv_forward's "
    "groups (filter f belongs to group f // (F // groups), not f % groups), and copy channels "
    "with np.repeat(x, M, axis=1), not np.tile"
)
DX_CROPPED_AT_CORNER = (
    "your dx matches the padded input's gradient cropped from its top-left corner, "
    "dx_pad[:, :, :H, :W]: the first p rows and columns are padding, so crop "
    "dx_pad[:, :, p:p + H, q:q + W]"
)
RELU_IN_BACKWARD = (
    "your gradients match a backward pass through a ReLU after the depthwise convolution (dh "
    "masked by h > 0): the separable convolution has no non-linearity, so dh goes to the "
    "depthwise backward unchanged"
)
NO_DEPTHWISE_BIAS = (
    "your output matches the separable convolution without b_depthwise: the depthwise "
    "convolution adds its bias before the pointwise one, "
    "h = conv_forward(x, w_depthwise, b_depthwise, ...)"
)


def _pair(value: Any) -> tuple[int, int] | None:
    """An option as a ``(height, width)`` pair, or None if it is neither an int nor a pair."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return int(value[0]), int(value[1])
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value), int(value)
    return None


def _round_robin(forward: Any, arguments: dict[str, Any]) -> Any:
    """conv_forward with filter f in group f % groups (and its own bias)."""
    w, b, groups = arguments["w"], arguments["b"], int(arguments["groups"])
    order = np.argsort(np.arange(w.shape[0]) % groups, kind="stable")
    changed = dict(arguments, w=w[order], b=None if b is None else b[order])
    in_order = forward(**changed)  # position j holds filter order[j], in group order[j] % groups
    out = np.empty_like(in_order)
    out[:, order] = in_order
    return out


@diagnoses_for("conv_forward")
def _conv_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.conv_forward
    arguments = bound(forward, call)
    flipped = np.ascontiguousarray(arguments["w"][:, :, ::-1, ::-1])
    suspects = [
        suspect(
            forward,
            call,
            "your output equals a true convolution (kernel flipped); conv layers in deep "
            "learning compute cross-correlation: do not flip w",
            w=flipped,
        ),
        # the taps read in the other order: w[f, c, v, u] for tap (u, v), the transposed
        # kernel's values laid out in w's own (KH, KW) shape
        suspect(forward, call, KERNEL_AXES_SWAPPED, w=_axes_swapped(arguments["w"])),
    ]
    for option, neutral in (("padding", 0), ("stride", 1), ("dilation", 1)):
        hint = f"your output looks like {option} was ignored ({option}={neutral})"
        suspects.append(suspect(forward, call, hint, **{option: neutral}))
    if arguments["b"] is not None:
        suspects.append(
            suspect(forward, call, "your output looks like the bias b was not added", b=None)
        )
    dilation = _pair(arguments["dilation"])
    if dilation is not None:
        gaps = (dilation[0] + 1, dilation[1] + 1)
        suspects.append(suspect(forward, call, DILATION_AS_GAPS, dilation=gaps))
    pairs = {option: _pair(arguments[option]) for option in _OPTIONS}
    swapped = {o: p[::-1] for o, p in pairs.items() if p is not None and p[0] != p[1]}
    if swapped:
        suspects.append(suspect(forward, call, PAIRS_SWAPPED, **swapped))
    suspects.append(computed(ROUND_ROBIN_GROUPS, lambda: _round_robin(forward, arguments)))
    padding = _pair(arguments["padding"])
    if padding is not None and padding != (0, 0):
        for mode in ("edge", "reflect", "symmetric"):
            suspects.append(
                computed(BORDER_PADDING, lambda mode=mode: _border_padded(forward, arguments, mode))
            )
    if isinstance(arguments["groups"], int | np.integer) and arguments["groups"] > 1:
        suspects.append(
            computed(INPUT_CHANNELS_ROUND_ROBIN, lambda: _input_round_robin(forward, arguments))
        )
    return suspects


def _border_padded(forward: Any, arguments: dict[str, Any], mode: str) -> Any:
    """conv_forward of the input padded with np.pad's ``mode`` (not zeros)."""
    ph, pw = _pair(arguments["padding"]) or (0, 0)
    x = np.pad(arguments["x"], ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=mode)
    return forward(**dict(arguments, x=x, padding=0))


def _input_round_robin(forward: Any, arguments: dict[str, Any]) -> Any:
    """conv_forward with input channel c in group c % groups (the channels of a group kept in
    their order)."""
    x, groups = arguments["x"], int(arguments["groups"])
    order = np.argsort(np.arange(x.shape[1]) % groups, kind="stable")
    return forward(**dict(arguments, x=np.ascontiguousarray(x[:, order])))


def _dx_cropped_minus_padding(reference: Any, arguments: dict[str, Any]) -> Any:
    """dx cropped from the padded input's gradient as ``dx_pad[:, :, p:-p, q:-q]``."""
    ph, pw = _pair(arguments["padding"]) or (0, 0)
    x = arguments["x"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = reference.conv_backward(**dict(arguments, x=x_pad, padding=0))[0]
    return dx_pad[:, :, ph:-ph, pw:-pw]


def _dx_cropped_at_corner(reference: Any, arguments: dict[str, Any]) -> Any:
    """dx cropped from the padded input's gradient as ``dx_pad[:, :, :H, :W]``."""
    ph, pw = _pair(arguments["padding"]) or (0, 0)
    x = arguments["x"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = reference.conv_backward(**dict(arguments, x=x_pad, padding=0))[0]
    return np.ascontiguousarray(dx_pad[:, :, : x.shape[2], : x.shape[3]])


@diagnoses_for("conv_backward")
def _conv_backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = reference.conv_backward
    arguments = bound(backward, call)
    _, dw, _ = backward(**arguments)
    flipped = np.ascontiguousarray(dw[:, :, ::-1, ::-1])
    w_flipped = np.ascontiguousarray(arguments["w"][:, :, ::-1, ::-1])
    suspects: list[Suspect | str] = [
        Suspect("your dw is the correct gradient with its kernel axes flipped", flipped, (1,)),
        suspect(backward, call, DX_NOT_ROTATED, part=(0,), w=w_flipped),
    ]
    if 0 in (_pair(arguments["padding"]) or ()):
        suspects.append(
            computed(DX_CROP_EMPTY, lambda: _dx_cropped_minus_padding(reference, arguments), (0,))
        )
    if (_pair(arguments["padding"]) or (0, 0)) != (0, 0):
        suspects.append(
            computed(
                DX_CROPPED_AT_CORNER, lambda: _dx_cropped_at_corner(reference, arguments), (0,)
            )
        )
    dout, db = arguments["dout"], backward(**arguments)[2]
    if dout.ndim == 4:
        n, ho, wo = dout.shape[0], dout.shape[2], dout.shape[3]
        for divisor in (n, ho * wo, n * ho * wo):
            averaged = (np.asarray(db, np.float64) / divisor).astype(db.dtype)
            suspects.append(Suspect(DB_AVERAGED, averaged, (2,)))
        suspects.append(
            Suspect(DW_DIVIDED_BY_N, (np.asarray(dw, np.float64) / n).astype(dw.dtype), (1,))
        )
    stride = _pair(arguments["stride"])
    if stride is not None and stride != (1, 1):
        for item in (0, 1):
            suspects.append(
                computed(
                    BACKWARD_WITHOUT_STRIDE,
                    lambda item=item: _backward_without_stride(backward, arguments)[item],
                    (item,),
                )
            )
    return suspects


def _backward_without_stride(backward: Any, arguments: dict[str, Any]) -> Any:
    """conv_backward with window (i, j) read at (i, j) of the padded input, not at
    (i * sh, j * sw): the stride-1 backward of dout placed in the top-left corner of the
    stride-1 output (its windows all lie inside the padded input)."""
    x, w, dout = arguments["x"], arguments["w"], arguments["dout"]
    (ph, pw), (dh, dw) = _pair(arguments["padding"]) or (0, 0), _pair(arguments["dilation"])
    ho = x.shape[2] + 2 * ph - dh * (w.shape[2] - 1)
    wo = x.shape[3] + 2 * pw - dw * (w.shape[3] - 1)
    placed = np.zeros((*dout.shape[:2], ho, wo), dtype=dout.dtype)
    placed[:, :, : dout.shape[2], : dout.shape[3]] = dout
    return backward(**dict(arguments, dout=placed, stride=1))


@diagnoses_for("depthwise_separable_forward")
def _separable_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.depthwise_separable_forward, call)
    conv = reference.conv_forward
    x, w_pw, b_pw = arguments["x"], arguments["w_pointwise"], arguments["b_pointwise"]
    geometry = {option: arguments[option] for option in _OPTIONS}

    def depthwise() -> Any:
        w_dw, b_dw = arguments["w_depthwise"], arguments["b_depthwise"]
        return conv(x, w_dw, b_dw, **geometry, groups=x.shape[1])

    def tiled() -> Any:  # filter j on input channel j % C
        w_dw, b_dw = arguments["w_depthwise"], arguments["b_depthwise"]
        copies = w_dw.shape[0] // x.shape[1]
        if copies < 2:
            raise ValueError("a channel multiplier of 1 has one layout")
        x_tiled = np.tile(x, (1, copies, 1, 1))
        return conv(conv(x_tiled, w_dw, b_dw, **geometry, groups=w_dw.shape[0]), w_pw, b_pw)

    def without_depthwise_bias() -> Any:
        if arguments["b_depthwise"] is None:
            raise ValueError("no depthwise bias to leave out")
        w_dw = arguments["w_depthwise"]
        return conv(conv(x, w_dw, None, **geometry, groups=x.shape[1]), w_pw, b_pw)

    suspects: list[Suspect | str] = [
        computed(RELU_BETWEEN, lambda: conv(np.maximum(depthwise(), 0), w_pw, b_pw)),
        computed(POINTWISE_HYPERPARAMETERS, lambda: conv(depthwise(), w_pw, b_pw, **geometry)),
        computed(MULTIPLIER_TILED, tiled),
        computed(NO_DEPTHWISE_BIAS, without_depthwise_bias),
    ]
    return suspects


@diagnoses_for("depthwise_separable_backward")
def _separable_backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = reference.depthwise_separable_backward
    arguments = bound(backward, call)
    suspects: list[Suspect | str] = [
        computed(RELU_IN_BACKWARD, lambda r=rectified: _relu_in_backward(reference, arguments, r))
        for rectified in (True, False)  # dw_pointwise from relu(h), or from h
    ]
    if arguments["b_depthwise"] is None:
        return suspects
    return [suspect(backward, call, H_WITHOUT_DEPTHWISE_BIAS, b_depthwise=None), *suspects]


def _relu_in_backward(reference: Any, arguments: dict[str, Any], rectified: bool) -> Any:
    """The separable backward with dh masked by h > 0 (and, if ``rectified``, the pointwise
    weight gradient taken from relu(h))."""
    x, w_dw, w_pw = arguments["x"], arguments["w_depthwise"], arguments["w_pointwise"]
    geometry = {option: arguments[option] for option in _OPTIONS}
    groups = x.shape[1]
    h = reference.conv_forward(x, w_dw, arguments["b_depthwise"], **geometry, groups=groups)
    seen = np.maximum(h, 0) if rectified else h
    dh, dw_pointwise, db_pointwise = reference.conv_backward(arguments["dout"], seen, w_pw)
    dh = dh * (h > 0)
    dx, dw_depthwise, db_depthwise = reference.conv_backward(dh, x, w_dw, **geometry, groups=groups)
    return {
        "dx": dx,
        "dw_depthwise": dw_depthwise,
        "db_depthwise": db_depthwise,
        "dw_pointwise": dw_pointwise,
        "db_pointwise": db_pointwise,
    }


def _axes_swapped(w: np.ndarray) -> np.ndarray:
    """The kernel a forward that swaps its rows and columns uses: ``w[f, c, v, u]`` for tap
    ``(u, v)``, read back in ``w``'s shape (its transpose where the kernel is square)."""
    return np.ascontiguousarray(w.transpose(0, 1, 3, 2)).reshape(w.shape)
