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
    return suspects


def _dx_cropped_minus_padding(reference: Any, arguments: dict[str, Any]) -> Any:
    """dx cropped from the padded input's gradient as ``dx_pad[:, :, p:-p, q:-q]``."""
    ph, pw = _pair(arguments["padding"]) or (0, 0)
    x = arguments["x"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = reference.conv_backward(**dict(arguments, x=x_pad, padding=0))[0]
    return dx_pad[:, :, ph:-ph, pw:-pw]


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
    return suspects


@diagnoses_for("depthwise_separable_forward")
def _separable_forward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.depthwise_separable_forward, call)
    conv = reference.conv_forward
    x, w_pw, b_pw = arguments["x"], arguments["w_pointwise"], arguments["b_pointwise"]
    geometry = {option: arguments[option] for option in _OPTIONS}

    def depthwise() -> Any:
        w_dw, b_dw = arguments["w_depthwise"], arguments["b_depthwise"]
        return conv(x, w_dw, b_dw, **geometry, groups=x.shape[1])

    suspects: list[Suspect | str] = [
        computed(RELU_BETWEEN, lambda: conv(np.maximum(depthwise(), 0), w_pw, b_pw)),
        computed(POINTWISE_HYPERPARAMETERS, lambda: conv(depthwise(), w_pw, b_pw, **geometry)),
    ]
    return suspects


@diagnoses_for("depthwise_separable_backward")
def _separable_backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = reference.depthwise_separable_backward
    if bound(backward, call)["b_depthwise"] is None:
        return []
    return [suspect(backward, call, H_WITHOUT_DEPTHWISE_BIAS, b_depthwise=None)]


def _axes_swapped(w: np.ndarray) -> np.ndarray:
    """The kernel a forward that swaps its rows and columns uses: ``w[f, c, v, u]`` for tap
    ``(u, v)``, read back in ``w``'s shape (its transpose where the kernel is square)."""
    return np.ascontiguousarray(w.transpose(0, 1, 3, 2)).reshape(w.shape)
