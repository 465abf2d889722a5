"""Hints for architectures: the usual mistakes in counting shapes, parameters, MACs and
receptive fields.

Each diagnosis recognises mistakes from a failed test's recorded calls: it recomputes what the
call returns with one mistake made (the arithmetic of the module's docstring, written out once
below with each mistake as a switch) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from:

* The padding counted once, ``(size + p - k) / s + 1``: the output-size formula is quoted both
  ways in course notes and forum answers (CS231n's notes write ``(W - F + 2P) / S + 1``).
* ``ceil_mode`` ignored (GoogLeNet's and many Caffe ports' pooling rounds up), or applied
  without PyTorch's correction: its documentation of ``MaxPool2d`` says that "sliding windows
  that would start in the right padded region are ignored".
* Dilation left out of the effective kernel ``d * (k - 1) + 1``, in the output size or the
  receptive field.
* Groups left out of a convolution's weights or MACs: a depthwise convolution counted as a
  full one (MobileNet's whole point lost).
* Biases forgotten: the kernel's ``k_h * k_w * C_in * C_out`` quoted without ``+ C_out``,
  for the convolutions, the linear layers or both.
* Batch norm counted with its running mean and variance, ``4 * C``: Keras's model summary
  adds them to its "Total params" (as non-trainable parameters).
* The receptive field grown by the layer's own stride, ``r + (k - 1) * s``, or by the jump after
  the layer, instead of the jump before it (the recurrence of Araujo, Norris and Sim,
  "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019).
* MACs with the bias counted as one more per output element, counted over the input positions
  instead of the output ones (a stride-2 convolution counted four times over), or FLOPs (two
  per multiply-accumulate) given as MACs: papers and profilers use the two names loosely.
* A pooling layer's missing stride taken as 1 (PyTorch's default is the kernel size), and
  pairs read as ``(width, height)``, the ``cv2`` habit: the mistakes of the ``pooling``
  assignment's hints, here in the sizes, the MACs and the receptive field.
* Add and concatenate confused (a concatenation given one branch's channels, a residual
  addition the sum of its two), the shortcut's projection left out of a block's counts, batch
  norm counted as one parameter per channel, and the jump not multiplied by a layer's stride.
* Slips in writing the arithmetic out: a dilated kernel's span taken as ``d * k``, a ceiling
  written ``(span + s) // s``, true division ``/`` for ``//``, a square kernel assumed
  (``k_h * k_h``), ``groups`` dividing the filters as well as their channels, ``bias=False``
  never read, a convolution's output given its input's channels, global average pooling kept
  as a ``(C, 1, 1)`` map (what ``nn.AdaptiveAvgPool2d(1)`` returns).
* Counting conventions of other tools: pooling given ``k_h * k_w`` MACs per output element (some
  FLOP counters do), the bias counted as a MAC of the convolutions only or of the linear layers
  only; composite layers counted as 0 or passed through, or given their first branch's
  receptive field, when their branches are not walked.
* The receptive field's other recurrences misread: grown by ``k_eff - 1`` (the jump left out),
  the jump set to the layer's own stride, or the output-to-input recursion ``r = s * r +
  (k_eff - s)`` of Araujo et al. applied from the input on.
* A summary's table built wrong: ``receptive_field(layer)`` called with its defaults for every
  row, one row dict appended again and again (Python appends the object, not a copy), a row
  made before its shape is updated.

Each diagnosis keeps only the suspects whose mistake changes the call's output, and keeps them
per call (a failed test's calls are weighed again when the grading ends).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from autograder.suite.hints import Call, Suspect, bound, computed, diagnoses_for

PADDING_ONCE = (
    "your sizes match the padding added on one side only (size + padding): it is added on both "
    "sides, out = floor((size + 2 * padding - k_eff) / stride) + 1"
)
CEIL_IGNORED = (
    "your sizes match rounding down where the layer has ceil_mode=True: with ceil_mode the "
    "division rounds up (then one is taken off where the last window would start in the right "
    "padding)"
)
CEIL_UNCLIPPED = (
    "your sizes match ceil_mode rounding up without PyTorch's correction: take one off where "
    "the last window would start in the right padding or beyond, (out - 1) * stride >= size + "
    "padding"
)
DILATION = (
    "your result matches the dilation left out of the effective kernel: a kernel of k elements "
    "with dilation d spans k_eff = d * (k - 1) + 1 inputs, in the output size and in the "
    "receptive field"
)
GROUPS = (
    "your result matches the groups left out: each filter of a grouped convolution sees only "
    "C_in / groups input channels, so it has (C_in / groups) * k_h * k_w weights and makes as "
    "many MACs per output element"
)
BIAS_CONV = (
    "your parameter count leaves out the convolutions' biases: a convolution with bias=True "
    "has out_channels more parameters, one per filter"
)
BIAS_LINEAR = (
    "your parameter count leaves out the linear layers' biases: a linear layer with bias=True "
    "has out_features more parameters"
)
BIAS_ALL = (
    "your parameter count leaves out every bias, the convolutions' and the linear layers': a "
    "layer with bias=True has one more parameter per output channel or feature"
)
BN_RUNNING = (
    "your parameter count gives batch norm 4 * C parameters: its running mean and variance are "
    "statistics, not learned parameters; it has 2 * C (a scale and a shift per channel)"
)
RF_STRIDE = (
    "your receptive fields match growing by (k_eff - 1) * the layer's own stride: a kernel's "
    "elements are the jump before the layer apart (the product of the strides before it), "
    "r_out = r_in + (k_eff - 1) * j_in"
)
RF_JUMP_AFTER = (
    "your receptive fields match growing by (k_eff - 1) * the jump after the layer (its own "
    "stride included): use the jump before it, r_out = r_in + (k_eff - 1) * j_in"
)
MACS_BIAS = (
    "your MACs match counting one more per output element for the bias (a linear layer's "
    "(F_in + 1) * out_features): by this assignment's convention biases are not counted, "
    "(C_in / groups) * k_h * k_w MACs per output element of a convolution, F_in * out_features "
    "for a linear layer"
)
MACS_INPUT = (
    "your MACs match counting a convolution over its input positions (H_in * W_in): count "
    "over its output elements, C_out * H_out * W_out, each (C_in / groups) * k_h * k_w MACs"
)
FLOPS = (
    "your MACs are twice the count of multiply-accumulates: that is a FLOP count (the "
    "multiplication and the addition counted apart); one multiply-accumulate is one MAC"
)

POOL_STRIDE = (
    "your result matches a pooling layer without a stride taken as stride 1: a pooling layer's "
    "stride defaults to its kernel size (non-overlapping windows, PyTorch's default)"
)
PAIRS_SWAPPED = (
    "your result matches the pairs read as (width, height): kernel_size, stride, padding and "
    "dilation pairs are (height, width), the height first"
)
CONCAT_CHANNELS = (
    "your result matches a concatenation given its first branch's channels: concatenating "
    "along the channels adds the branches' channels up (C_1 + C_2 + ...)"
)
RESIDUAL_CHANNELS = (
    "your result matches a residual block given its branch's and its shortcut's channels added "
    "up: an addition keeps the shape of what it adds (a concatenation adds the channels up)"
)
BN_SCALE_ONLY = (
    "your parameter count gives batch norm C parameters: it learns a scale and a shift per "
    "channel, 2 * C"
)
SHORTCUT_LEFT_OUT = (
    "your result leaves out a residual block's shortcut: its projection (a 1x1 convolution and "
    "its batch norm) has parameters and MACs of its own, counted with the block's"
)
RF_JUMP_KEPT = (
    "your jumps match the jump kept through strided layers: a layer of stride s multiplies the "
    "jump, j_out = j_in * s"
)

DILATION_SPAN = (
    "your result matches a dilated kernel taken to span dilation * kernel_size inputs: its k "
    "elements are dilation apart, so it spans k_eff = d * (k - 1) + 1 inputs (the first and "
    "the last element included)"
)
CEIL_PLUS_STRIDE = (
    "your sizes match ceil_mode rounding up as (span + stride) // stride, one too many where "
    "the stride divides the span exactly: rounding up is (span + stride - 1) // stride, with "
    "span = size + 2 * padding - k_eff"
)
TRUE_DIVISION = (
    "your sizes are fractional where the stride does not divide the span, as true division "
    "(/) gives: an output size is an int, rounded down, floor((size + 2 * padding - k_eff) / "
    "stride) + 1 (// in Python)"
)
CONV_KEEPS_CHANNELS = (
    "your result matches a convolution's output keeping its input's channel count: a "
    "convolution has out_channels filters, and its output out_channels channels"
)
GAP_KEEPS_MAP = (
    "your result matches global average pooling returning (C, 1, 1), as "
    "nn.AdaptiveAvgPool2d(1) does: the spec's global_avgpool gives the vector (C,), one mean "
    "per channel"
)
BIAS_FALSE_COUNTED = (
    "your parameter count gives a convolution with bias=False its out_channels biases: such a "
    "layer has no bias, only its out_channels * (C_in / groups) * k_h * k_w weights"
)
GROUPS_BOTH = (
    "your parameter count matches groups dividing both the output and the input channels, "
    "(out_channels / groups) * (C_in / groups) * k_h * k_w: each of the out_channels filters "
    "sees C_in / groups channels, out_channels * (C_in / groups) * k_h * k_w weights"
)
SQUARE_KERNEL = (
    "your result matches a square kernel assumed, k_h * k_h elements: a kernel_size pair "
    "[h, w] has k_h * k_w elements per channel, in the weights and in the MACs"
)
POOL_MACS = (
    "your MACs match counting k_h * k_w per output element of a pooling layer, as some FLOP "
    "counters do: by this assignment's convention pooling makes no multiply-accumulates, 0"
)
COMPOSITE_ZERO = (
    "your result matches a concatenation or residual layer counted as 0: its parameters and "
    "MACs are those of the layers in its branches (and its shortcut), summed"
)
RF_NO_JUMP = (
    "your receptive fields match growing by k_eff - 1 at every layer, the jump left out: the "
    "kernel's elements are the jump before the layer apart (the product of the strides before "
    "it), r_out = r_in + (k_eff - 1) * j_in"
)
JUMP_OWN_STRIDE = (
    "your jumps match each layer's jump set to its own stride: the jump is the product of the "
    "strides so far, j_out = j_in * s"
)
COMPOSITE_RF_KEPT = (
    "your receptive fields match a concatenation or residual layer passed through like a "
    "ReLU: follow the layers of each branch (and of the shortcut) from the layer's rf and "
    "jump, and take the largest rf and jump over the branches"
)
FIRST_BRANCH_RF = (
    "your receptive fields match a concatenation or residual layer given its first branch's "
    "receptive field and jump: it gives the largest over all its branches (the shortcut is "
    "one of them), per dimension"
)
RF_TOP_DOWN = (
    "your receptive fields match the recursion r = s * r + (k_eff - s) applied from the first "
    "layer on: that one runs from the output back to the input; from the input on, r_out = "
    "r_in + (k_eff - 1) * j_in"
)
RF_NOT_CHAINED = (
    "your rows' receptive fields match each layer's own, from rf = (1, 1) and jump = (1, 1): "
    "pass the previous layer's rf and jump on to receptive_field, so that a row holds the "
    "receptive field of the network up to that layer"
)
ONE_ROW_DICT = (
    "your rows are all the last layer's row (and your totals count it once per layer): "
    "appending a dict puts that same object in the list, not a copy; make a new dict for "
    "each row"
)
ROWS_INPUT_SHAPE = (
    "your rows' output_shape match each layer's input shape (the row made before the shape is "
    "updated): a row holds the shape of its layer's output"
)

SPATIAL = ("conv", "maxpool", "avgpool")
POOLS = ("maxpool", "avgpool")
PAIRED = ("kernel_size", "stride", "padding", "dilation")
SHAPE_MISTAKES = (("padding_once", PADDING_ONCE), ("dilation_size", DILATION))
CEIL_MISTAKES = (("ceil_ignored", CEIL_IGNORED), ("ceil_unclipped", CEIL_UNCLIPPED))


def _pair(value: Any) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, list | tuple) else (value, value)


def _window(layer: dict) -> tuple[tuple[int, int], ...]:
    """Kernel, stride, padding and dilation pairs of a convolution or pooling layer."""
    kernel = _pair(layer["kernel_size"])
    if layer["type"] == "conv":
        stride, dilation = _pair(layer.get("stride", 1)), _pair(layer.get("dilation", 1))
    else:
        stride = kernel if layer.get("stride") is None else _pair(layer["stride"])
        dilation = (1, 1)
    return kernel, stride, _pair(layer.get("padding", 0)), dilation


def _branches(layer: dict) -> list[list[dict]]:
    if layer["type"] == "concat":
        return [list(b) for b in layer["branches"]]
    return [list(layer["branch"]), list(layer.get("shortcut", []))]


def _leaves(layers: list[dict]) -> Iterator[dict]:
    """Every layer of a list, those inside composite layers too."""
    for layer in layers:
        if layer["type"] in ("concat", "residual"):
            for branch in _branches(layer):
                yield from _leaves(branch)
        else:
            yield layer


class _Mistaken:
    """The module's arithmetic with the ``mistakes`` named made (none: the right numbers)."""

    def __init__(self, *mistakes: str) -> None:
        self.mistakes = frozenset(mistakes)

    def __contains__(self, mistake: str) -> bool:
        return mistake in self.mistakes

    def read(self, layer: dict) -> dict:
        """The layer as the mistaken code reads its options (pairs swapped, a pooling layer's
        missing stride taken as 1)."""
        if "pairs_swapped" in self:
            layer = {
                key: value[::-1] if key in PAIRED and isinstance(value, list | tuple) else value
                for key, value in layer.items()
            }
        if "pool_stride_one" in self and layer["type"] in POOLS and layer.get("stride") is None:
            layer = dict(layer, stride=1)
        return layer

    def size(self, size: int, k: int, s: int = 1, p: int = 0, d: int = 1, ceil=False) -> int:
        k_eff = d * (k - 1) + 1
        if "dilation_size" in self:
            k_eff = k
        elif "dilation_span" in self:
            k_eff = d * k
        span = size + (p if "padding_once" in self else 2 * p) - k_eff
        if span < 0:
            raise ValueError("the kernel does not fit")
        if not ceil or "ceil_ignored" in self:
            return span / s + 1 if "true_division" in self else span // s + 1
        out = (span + s) // s + 1 if "ceil_plus_stride" in self else -(-span // s) + 1
        if "ceil_unclipped" not in self and (out - 1) * s >= size + p:
            out -= 1
        return out

    def shape(self, layer: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._shape(self.read(layer), shape)

    def _shape(self, layer: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape of a layer already read (:meth:`read`)."""
        kind = layer["type"]
        if kind in SPATIAL:
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _window(layer)
            ceil = bool(layer.get("ceil_mode", False))
            kept = kind != "conv" or "conv_keeps_channels" in self
            channels = shape[0] if kept else layer["out_channels"]
            return (
                channels,
                self.size(shape[1], kh, sh, ph, dh, ceil),
                self.size(shape[2], kw, sw, pw, dw, ceil),
            )
        if kind == "linear":
            return (layer["out_features"],)
        if kind == "flatten":
            return (math.prod(shape),)
        if kind == "global_avgpool":
            return (shape[0], 1, 1) if "gap_keeps_map" in self else (shape[0],)
        if kind in ("batchnorm", "relu"):
            return tuple(shape)
        outputs = [self.run(branch, shape)[-1] for branch in _branches(layer)]
        if kind == "residual":
            if outputs[0] != outputs[1]:
                raise ValueError("the branch and the shortcut differ")
            if "residual_channels_summed" in self:
                return (outputs[0][0] + outputs[1][0], *outputs[0][1:])
            return outputs[0]
        if len({out[1:] for out in outputs}) != 1:
            raise ValueError("the branches' maps differ")
        if "concat_first_channels" in self:
            return outputs[0]
        return (sum(out[0] for out in outputs), *outputs[0][1:])

    def run(self, layers: list[dict], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The input shape of each layer, then the output shape."""
        shapes = [tuple(shape)]
        for layer in layers:
            shapes.append(self.shape(layer, shapes[-1]))
        return shapes

    def _inside(self, layer: dict, shape: tuple[int, ...], count: Callable, shortcut: bool):
        """``count`` summed over a composite layer's layers (without a residual block's
        shortcut where ``shortcut`` is False)."""
        branches = _branches(layer)
        if layer["type"] == "residual" and not shortcut:
            branches = branches[:1]
        return sum(
            count(inner, s)
            for branch in branches
            for inner, s in zip(branch, self.run(branch, shape), strict=False)
        )

    def params(self, layer: dict, shape: tuple[int, ...]) -> int:
        layer = self.read(layer)
        kind = layer["type"]
        bias = layer.get("bias", True)
        if kind == "conv":
            (kh, kw) = _window(layer)[0]
            kw = kh if "square_params" in self else kw
            groups = 1 if "groups_params" in self else layer.get("groups", 1)
            out = layer["out_channels"]
            filters = out // groups if "groups_both" in self else out
            dropped = "bias_conv" in self or "bias_all" in self
            bias = bias or "bias_false_counted" in self
            return filters * (shape[0] // groups) * kh * kw + (out if bias and not dropped else 0)
        if kind == "linear":
            out = layer["out_features"]
            dropped = "bias_linear" in self or "bias_all" in self
            return shape[0] * out + (out if bias and not dropped else 0)
        if kind == "batchnorm":
            factor = 4 if "bn_running" in self else 1 if "bn_scale_only" in self else 2
            return factor * shape[0]
        if kind in ("concat", "residual"):
            if "composite_params" in self:
                return 0
            return self._inside(layer, shape, self.params, "shortcut_params" not in self)
        return 0

    def macs(self, layer: dict, shape: tuple[int, ...]) -> int:
        layer = self.read(layer)
        kind = layer["type"]
        factor = 2 if "flops" in self else 1
        extra = 0
        if kind == "conv":
            out = self._shape(layer, shape)
            (kh, kw) = _window(layer)[0]
            kw = kh if "square_macs" in self else kw
            groups = 1 if "groups_macs" in self else layer.get("groups", 1)
            positions = shape[1] * shape[2] if "macs_input" in self else out[1] * out[2]
            if self.mistakes & {"macs_bias", "macs_bias_conv"} and layer.get("bias", True):
                extra = math.prod(out)
            return factor * out[0] * positions * (shape[0] // groups) * kh * kw + extra
        if kind == "linear":
            if self.mistakes & {"macs_bias", "macs_bias_linear"} and layer.get("bias", True):
                extra = layer["out_features"]
            return factor * shape[0] * layer["out_features"] + extra
        if kind in POOLS and "pool_macs" in self:
            (kh, kw) = _window(layer)[0]
            return factor * math.prod(self._shape(layer, shape)) * kh * kw
        if kind in ("concat", "residual"):
            if "composite_macs" in self:
                return 0
            return self._inside(layer, shape, self.macs, "shortcut_macs" not in self)
        return 0

    def rf(self, layer: dict, rf: Any, jump: Any) -> tuple[tuple[int, int], tuple[int, int]]:
        layer = self.read(layer)
        kind, rf, jump = layer["type"], _pair(rf), _pair(jump)
        if kind in SPATIAL:
            kernel, stride, _, dilation = _window(layer)
            grown = []
            for d in range(2):
                k_eff = dilation[d] * (kernel[d] - 1) + 1
                if "dilation_rf" in self:
                    k_eff = kernel[d]
                elif "dilation_span_rf" in self:
                    k_eff = dilation[d] * kernel[d]
                grown.append(self._grown(rf[d], jump[d], k_eff, stride[d]))
            return (grown[0][0], grown[1][0]), (grown[0][1], grown[1][1])
        if kind not in ("concat", "residual") or "composite_rf_kept" in self:
            return rf, jump
        ends = []
        for branch in _branches(layer):
            r, j = rf, jump
            for inner in branch:
                r, j = self.rf(inner, r, j)
            ends.append((r, j))
        if "first_branch_rf" in self:
            return ends[0]
        return (
            (max(r[0] for r, _ in ends), max(r[1] for r, _ in ends)),
            (max(j[0] for _, j in ends), max(j[1] for _, j in ends)),
        )

    def _grown(self, r: int, j: int, k_eff: int, s: int) -> tuple[int, int]:
        """The receptive field and jump of one dimension after a layer of kernel ``k_eff`` and
        stride ``s``, from ``r`` and ``j`` before it."""
        step = j
        if "rf_stride" in self:
            step = s
        elif "rf_jump_after" in self:
            step = j * s
        elif "rf_no_jump" in self:
            step = 1
        grown = s * r + k_eff - s if "rf_top_down" in self else r + (k_eff - 1) * step
        if "rf_jump_kept" in self:
            return grown, j
        return grown, s if "jump_own_stride" in self else j * s

    def summary(self, layers: list[dict], shape: tuple[int, ...]) -> dict[str, Any]:
        shape, rf, jump, rows = tuple(shape), (1, 1), (1, 1), []
        for layer in layers:
            params, macs = self.params(layer, shape), self.macs(layer, shape)
            row_shape, shape = shape, self.shape(layer, shape)
            if "rows_rf_defaults" in self:
                rf, jump = self.rf(layer, (1, 1), (1, 1))
            else:
                rf, jump = self.rf(layer, rf, jump)
            rows.append(
                {
                    "output_shape": row_shape if "rows_input_shape" in self else shape,
                    "params": params,
                    "macs": macs,
                    "receptive_field": rf,
                    "jump": jump,
                }
            )
        if "one_row_dict" in self:
            rows = [rows[-1]] * len(rows)
        return {
            "output_shape": shape,
            "params": sum(row["params"] for row in rows),
            "macs": sum(row["macs"] for row in rows),
            "receptive_field": rf,
            "jump": jump,
            "layers": rows,
        }


def _has_ceil(layers: list[dict]) -> bool:
    return any(leaf.get("ceil_mode", False) for leaf in _leaves(layers))


def _biased(layers: list[dict], kind: str) -> bool:
    return any(leaf["type"] == kind and leaf.get("bias", True) for leaf in _leaves(layers))


def _bias_mistakes(layers: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    mistakes = [(BIAS_CONV, ("bias_conv",)), (BIAS_LINEAR, ("bias_linear",))]
    if _biased(layers, "conv") and _biased(layers, "linear"):  # else one of the above
        mistakes.append((BIAS_ALL, ("bias_all",)))
    return mistakes


ONE_SIZE = [
    (PADDING_ONCE, ("padding_once",)),
    (CEIL_IGNORED, ("ceil_ignored",)),
    (CEIL_UNCLIPPED, ("ceil_unclipped",)),
    (CEIL_PLUS_STRIDE, ("ceil_plus_stride",)),
    (TRUE_DIVISION, ("true_division",)),
]
"""The mistakes in the output size of one dimension (``conv_output_size``), but dilation's."""
SIZES = [
    *ONE_SIZE,
    (POOL_STRIDE, ("pool_stride_one",)),
    (PAIRS_SWAPPED, ("pairs_swapped",)),
]
"""The mistakes in the output sizes (which every count downstream inherits)."""
DILATED_SIZES = [
    (DILATION, ("dilation_size",)),
    (DILATION_SPAN, ("dilation_span",)),
]
CHANNELS = [
    (CONCAT_CHANNELS, ("concat_first_channels",)),
    (RESIDUAL_CHANNELS, ("residual_channels_summed",)),
    (CONV_KEEPS_CHANNELS, ("conv_keeps_channels",)),
]
SHAPES = [
    *SIZES,
    *DILATED_SIZES,
    *CHANNELS,
    (GAP_KEEPS_MAP, ("gap_keeps_map",)),
]
PARAMS = [
    (GROUPS, ("groups_params",)),
    (GROUPS_BOTH, ("groups_both",)),
    (BN_RUNNING, ("bn_running",)),
    (BN_SCALE_ONLY, ("bn_scale_only",)),
    (SHORTCUT_LEFT_OUT, ("shortcut_params",)),
    (BIAS_FALSE_COUNTED, ("bias_false_counted",)),
    (SQUARE_KERNEL, ("square_params",)),
    (COMPOSITE_ZERO, ("composite_params",)),
]
MAC_RULES = [
    (MACS_BIAS, ("macs_bias",)),
    (MACS_BIAS, ("macs_bias_conv",)),
    (MACS_BIAS, ("macs_bias_linear",)),
    (MACS_INPUT, ("macs_input",)),
    (FLOPS, ("flops",)),
    (POOL_MACS, ("pool_macs",)),
]
"""The mistakes in what a MAC count counts (the rules of the docstring's MACs)."""
MACS = [
    *SIZES,
    *DILATED_SIZES,
    (CONV_KEEPS_CHANNELS, ("conv_keeps_channels",)),
    (GROUPS, ("groups_macs",)),
    (SHORTCUT_LEFT_OUT, ("shortcut_macs",)),
    (SQUARE_KERNEL, ("square_macs",)),
    (COMPOSITE_ZERO, ("composite_macs",)),
    *MAC_RULES,
]
RF_RULES = [
    (RF_STRIDE, ("rf_stride",)),
    (RF_JUMP_AFTER, ("rf_jump_after",)),
    (RF_JUMP_KEPT, ("rf_jump_kept",)),
    (RF_NO_JUMP, ("rf_no_jump",)),
    (JUMP_OWN_STRIDE, ("jump_own_stride",)),
    (RF_TOP_DOWN, ("rf_top_down",)),
    (COMPOSITE_RF_KEPT, ("composite_rf_kept",)),
    (FIRST_BRANCH_RF, ("first_branch_rf",)),
]
"""The mistakes in the receptive field's recurrence."""
FIELDS = [
    (DILATION, ("dilation_rf",)),
    (DILATION_SPAN, ("dilation_span_rf",)),
    (POOL_STRIDE, ("pool_stride_one",)),
    (PAIRS_SWAPPED, ("pairs_swapped",)),
    *RF_RULES,
]
SUMMARIES = [
    *SIZES,
    *CHANNELS,
    (GAP_KEEPS_MAP, ("gap_keeps_map",)),
    # a mistake in one formula (the output size's, the parameters'), or in every one
    (DILATION, ("dilation_size",)),
    (DILATION, ("dilation_size", "dilation_rf")),
    (DILATION_SPAN, ("dilation_span",)),
    (DILATION_SPAN, ("dilation_span", "dilation_span_rf")),
    (GROUPS, ("groups_params",)),
    (GROUPS, ("groups_params", "groups_macs")),
    (SHORTCUT_LEFT_OUT, ("shortcut_params", "shortcut_macs")),
    (SQUARE_KERNEL, ("square_params",)),
    (SQUARE_KERNEL, ("square_macs",)),
    (SQUARE_KERNEL, ("square_params", "square_macs")),
    (COMPOSITE_ZERO, ("composite_params",)),
    (COMPOSITE_ZERO, ("composite_macs",)),
    (COMPOSITE_ZERO, ("composite_params", "composite_macs")),
    (GROUPS_BOTH, ("groups_both",)),
    (BN_RUNNING, ("bn_running",)),
    (BN_SCALE_ONLY, ("bn_scale_only",)),
    (BIAS_FALSE_COUNTED, ("bias_false_counted",)),
    *MAC_RULES,
    *RF_RULES,
    # the table itself
    (RF_NOT_CHAINED, ("rows_rf_defaults",)),
    (ONE_ROW_DICT, ("one_row_dict",)),
    (ROWS_INPUT_SHAPE, ("rows_input_shape",)),
]
"""The mistakes a summary may show: each a hint and the mistakes it stands for (several of one
hint are its variants: a mistake made in one quantity of the table, or in all)."""


def _suspects(
    correct: Any, mistakes: list[tuple[str, tuple[str, ...]]], run: Callable[[_Mistaken], Any]
) -> list[Suspect | str]:
    """The suspects of ``mistakes`` whose mistake changes the call's ``correct`` output (the
    engine would weigh the others for nothing: a summary's comparison is hundreds of
    numbers)."""
    suspects = [computed(hint, lambda m=made: run(_Mistaken(*m))) for hint, made in mistakes]
    return [s for s in suspects if s.possible and s.output != correct]


_CACHE: dict[str, list[Suspect | str]] = {}
"""The suspects of recent calls, by function and arguments: a failed test's calls are weighed
again when the grading ends, and one network is summarized or walked in several tests."""
CACHED = 4096


def _cached(function: str, arguments: dict[str, Any], find: Callable[[], list]) -> list:
    key = function + repr(arguments)
    if key not in _CACHE:
        if len(_CACHE) >= CACHED:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = find()
    return list(_CACHE[key])


@diagnoses_for("conv_output_size")
def _conv_output_size(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.conv_output_size, call)
    values = [arguments[k] for k in ("kernel_size", "stride", "padding", "dilation")]

    def run(mistaken: _Mistaken) -> int:
        return mistaken.size(arguments["size"], *values, bool(arguments["ceil_mode"]))

    return _suspects(reference.conv_output_size(**arguments), ONE_SIZE + DILATED_SIZES, run)


@diagnoses_for("output_shape")
def _output_shape(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.output_shape, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])
    return _cached(
        "output_shape",
        arguments,
        lambda: _suspects(
            reference.output_shape(layer, shape),
            SHAPES,
            lambda mistaken: mistaken.shape(layer, shape),
        ),
    )


@diagnoses_for("param_count")
def _param_count(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.param_count, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])
    return _cached(
        "param_count",
        arguments,
        lambda: _suspects(
            reference.param_count(layer, shape),
            PARAMS + _bias_mistakes([layer]),
            lambda mistaken: mistaken.params(layer, shape),
        ),
    )


@diagnoses_for("mac_count")
def _mac_count(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.mac_count, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])
    return _cached(
        "mac_count",
        arguments,
        lambda: _suspects(
            reference.mac_count(layer, shape), MACS, lambda mistaken: mistaken.macs(layer, shape)
        ),
    )


@diagnoses_for("receptive_field")
def _receptive_field(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.receptive_field, call)
    layer, rf, jump = arguments["layer"], arguments["rf"], arguments["jump"]
    return _cached(
        "receptive_field",
        arguments,
        lambda: _suspects(
            reference.receptive_field(layer, rf, jump),
            FIELDS,
            lambda mistaken: mistaken.rf(layer, rf, jump),
        ),
    )


@diagnoses_for("summarize")
def _summarize(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.summarize, call)
    layers, shape = list(arguments["layers"]), tuple(arguments["in_shape"])
    return _cached(
        "summarize",
        arguments,
        lambda: _suspects(
            reference.summarize(layers, shape),
            SUMMARIES + _bias_mistakes(layers),
            lambda mistaken: mistaken.summary(layers, shape),
        ),
    )
