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
    "your MACs match counting one more per output element for the bias: by this assignment's "
    "convention biases are not counted, (C_in / groups) * k_h * k_w MACs per output element"
)
MACS_INPUT = (
    "your MACs match counting a convolution over its input positions (H_in * W_in): count "
    "over its output elements, C_out * H_out * W_out, each (C_in / groups) * k_h * k_w MACs"
)
FLOPS = (
    "your MACs are twice the count of multiply-accumulates: that is a FLOP count (the "
    "multiplication and the addition counted apart); one multiply-accumulate is one MAC"
)

SPATIAL = ("conv", "maxpool", "avgpool")
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

    def size(self, size: int, k: int, s: int = 1, p: int = 0, d: int = 1, ceil=False) -> int:
        k_eff = k if "dilation_size" in self else d * (k - 1) + 1
        span = size + (p if "padding_once" in self else 2 * p) - k_eff
        if span < 0:
            raise ValueError("the kernel does not fit")
        if not ceil or "ceil_ignored" in self:
            return span // s + 1
        out = -(-span // s) + 1
        if "ceil_unclipped" not in self and (out - 1) * s >= size + p:
            out -= 1
        return out

    def shape(self, layer: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
        kind = layer["type"]
        if kind in SPATIAL:
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _window(layer)
            ceil = bool(layer.get("ceil_mode", False))
            channels = layer["out_channels"] if kind == "conv" else shape[0]
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
            return (shape[0],)
        if kind in ("batchnorm", "relu"):
            return tuple(shape)
        outputs = [self.run(branch, shape)[-1] for branch in _branches(layer)]
        if kind == "residual":
            if outputs[0] != outputs[1]:
                raise ValueError("the branch and the shortcut differ")
            return outputs[0]
        if len({out[1:] for out in outputs}) != 1:
            raise ValueError("the branches' maps differ")
        return (sum(out[0] for out in outputs), *outputs[0][1:])

    def run(self, layers: list[dict], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The input shape of each layer, then the output shape."""
        shapes = [tuple(shape)]
        for layer in layers:
            shapes.append(self.shape(layer, shapes[-1]))
        return shapes

    def _inside(self, layer: dict, shape: tuple[int, ...], count: Callable) -> int:
        return sum(
            count(inner, s)
            for branch in _branches(layer)
            for inner, s in zip(branch, self.run(branch, shape), strict=False)
        )

    def params(self, layer: dict, shape: tuple[int, ...]) -> int:
        kind = layer["type"]
        bias = layer.get("bias", True)
        if kind == "conv":
            (kh, kw) = _window(layer)[0]
            groups = 1 if "groups_params" in self else layer.get("groups", 1)
            out = layer["out_channels"]
            dropped = "bias_conv" in self or "bias_all" in self
            return out * (shape[0] // groups) * kh * kw + (out if bias and not dropped else 0)
        if kind == "linear":
            out = layer["out_features"]
            dropped = "bias_linear" in self or "bias_all" in self
            return shape[0] * out + (out if bias and not dropped else 0)
        if kind == "batchnorm":
            return (4 if "bn_running" in self else 2) * shape[0]
        if kind in ("concat", "residual"):
            return self._inside(layer, shape, self.params)
        return 0

    def macs(self, layer: dict, shape: tuple[int, ...]) -> int:
        kind = layer["type"]
        factor = 2 if "flops" in self else 1
        extra = 0
        if kind == "conv":
            out = self.shape(layer, shape)
            (kh, kw) = _window(layer)[0]
            groups = 1 if "groups_macs" in self else layer.get("groups", 1)
            positions = shape[1] * shape[2] if "macs_input" in self else out[1] * out[2]
            if "macs_bias" in self and layer.get("bias", True):
                extra = math.prod(out)
            return factor * out[0] * positions * (shape[0] // groups) * kh * kw + extra
        if kind == "linear":
            if "macs_bias" in self and layer.get("bias", True):
                extra = layer["out_features"]
            return factor * shape[0] * layer["out_features"] + extra
        if kind in ("concat", "residual"):
            return self._inside(layer, shape, self.macs)
        return 0

    def rf(self, layer: dict, rf: Any, jump: Any) -> tuple[tuple[int, int], tuple[int, int]]:
        kind, rf, jump = layer["type"], _pair(rf), _pair(jump)
        if kind in SPATIAL:
            kernel, stride, _, dilation = _window(layer)
            grown = []
            for d in range(2):
                k_eff = kernel[d] if "dilation_rf" in self else dilation[d] * (kernel[d] - 1) + 1
                step = jump[d]
                if "rf_stride" in self:
                    step = stride[d]
                elif "rf_jump_after" in self:
                    step = jump[d] * stride[d]
                grown.append((rf[d] + (k_eff - 1) * step, jump[d] * stride[d]))
            return (grown[0][0], grown[1][0]), (grown[0][1], grown[1][1])
        if kind not in ("concat", "residual"):
            return rf, jump
        ends = []
        for branch in _branches(layer):
            r, j = rf, jump
            for inner in branch:
                r, j = self.rf(inner, r, j)
            ends.append((r, j))
        return (
            (max(r[0] for r, _ in ends), max(r[1] for r, _ in ends)),
            (max(j[0] for _, j in ends), max(j[1] for _, j in ends)),
        )

    def summary(self, layers: list[dict], shape: tuple[int, ...]) -> dict[str, Any]:
        shape, rf, jump, rows = tuple(shape), (1, 1), (1, 1), []
        for layer in layers:
            params, macs = self.params(layer, shape), self.macs(layer, shape)
            shape = self.shape(layer, shape)
            rf, jump = self.rf(layer, rf, jump)
            rows.append(
                {
                    "output_shape": shape,
                    "params": params,
                    "macs": macs,
                    "receptive_field": rf,
                    "jump": jump,
                }
            )
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


def _shape_suspects(layers: list[dict], run: Callable[[_Mistaken], Any]) -> list[Suspect]:
    """The output-size mistakes, for a call whose result follows from the layers' sizes."""
    mistakes = list(SHAPE_MISTAKES) + (list(CEIL_MISTAKES) if _has_ceil(layers) else [])
    return [computed(hint, lambda m=mistake: run(_Mistaken(m))) for mistake, hint in mistakes]


def _bias_suspects(layers: list[dict], run: Callable[[_Mistaken], Any]) -> list[Suspect]:
    suspects = [
        computed(BIAS_CONV, lambda: run(_Mistaken("bias_conv"))),
        computed(BIAS_LINEAR, lambda: run(_Mistaken("bias_linear"))),
    ]
    if _biased(layers, "conv") and _biased(layers, "linear"):  # else one of the above
        suspects.append(computed(BIAS_ALL, lambda: run(_Mistaken("bias_all"))))
    return suspects


def _changing(correct: Any, suspects: list[Suspect]) -> list[Suspect | str]:
    """The suspects whose mistake changes the call's correct output (the engine would weigh
    the others for nothing: a summary's comparison is hundreds of numbers)."""
    return [s for s in suspects if s.possible and s.output != correct]


def _variants(hint: str, run: Callable[[_Mistaken], Any], *mistakes: tuple[str, ...]):
    """One hint's variants: the same mistake made in some of the quantities, or all."""
    return [computed(hint, lambda m=m: run(_Mistaken(*m))) for m in mistakes]


@diagnoses_for("conv_output_size")
def _conv_output_size(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.conv_output_size, call)
    values = [arguments[k] for k in ("kernel_size", "stride", "padding", "dilation")]

    def run(mistaken: _Mistaken) -> int:
        return mistaken.size(arguments["size"], *values, bool(arguments["ceil_mode"]))

    mistakes = list(SHAPE_MISTAKES) + (list(CEIL_MISTAKES) if arguments["ceil_mode"] else [])
    suspects = [computed(hint, lambda m=mistake: run(_Mistaken(m))) for mistake, hint in mistakes]
    return _changing(reference.conv_output_size(**arguments), suspects)


@diagnoses_for("output_shape")
def _output_shape(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.output_shape, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])
    suspects = _shape_suspects([layer], lambda mistaken: mistaken.shape(layer, shape))
    return _changing(reference.output_shape(layer, shape), suspects)


@diagnoses_for("param_count")
def _param_count(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.param_count, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])

    def run(mistaken: _Mistaken) -> int:
        return mistaken.params(layer, shape)

    suspects = [
        computed(GROUPS, lambda: run(_Mistaken("groups_params"))),
        computed(BN_RUNNING, lambda: run(_Mistaken("bn_running"))),
        *_bias_suspects([layer], run),
    ]
    return _changing(reference.param_count(layer, shape), suspects)


@diagnoses_for("mac_count")
def _mac_count(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.mac_count, call)
    layer, shape = arguments["layer"], tuple(arguments["in_shape"])

    def run(mistaken: _Mistaken) -> int:
        return mistaken.macs(layer, shape)

    suspects = [
        computed(GROUPS, lambda: run(_Mistaken("groups_macs"))),
        computed(MACS_BIAS, lambda: run(_Mistaken("macs_bias"))),
        computed(MACS_INPUT, lambda: run(_Mistaken("macs_input"))),
        computed(FLOPS, lambda: run(_Mistaken("flops"))),
        *_shape_suspects([layer], run),
    ]
    return _changing(reference.mac_count(layer, shape), suspects)


@diagnoses_for("receptive_field")
def _receptive_field(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.receptive_field, call)
    layer, rf, jump = arguments["layer"], arguments["rf"], arguments["jump"]

    def run(mistaken: _Mistaken) -> Any:
        return mistaken.rf(layer, rf, jump)

    suspects = [
        computed(DILATION, lambda: run(_Mistaken("dilation_rf"))),
        computed(RF_STRIDE, lambda: run(_Mistaken("rf_stride"))),
        computed(RF_JUMP_AFTER, lambda: run(_Mistaken("rf_jump_after"))),
    ]
    return _changing(reference.receptive_field(layer, rf, jump), suspects)


_SUMMARIES: dict[str, list[Suspect | str]] = {}
"""The summary suspects of recent calls, by their arguments: a failed test's calls are weighed
again when the grading ends, and one network is summarized in several tests."""
CACHED = 32


@diagnoses_for("summarize")
def _summarize(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.summarize, call)
    key = repr((arguments["layers"], arguments["in_shape"]))
    if key not in _SUMMARIES:
        if len(_SUMMARIES) >= CACHED:
            del _SUMMARIES[next(iter(_SUMMARIES))]
        _SUMMARIES[key] = _summary_suspects(reference, arguments)
    return list(_SUMMARIES[key])


def _summary_suspects(reference: Any, arguments: dict[str, Any]) -> list[Suspect | str]:
    layers, shape = list(arguments["layers"]), tuple(arguments["in_shape"])

    def run(mistaken: _Mistaken) -> dict[str, Any]:
        return mistaken.summary(layers, shape)

    mistakes = [("padding_once", PADDING_ONCE)]
    if _has_ceil(layers):
        mistakes += list(CEIL_MISTAKES)
    suspects = [computed(hint, lambda m=mistake: run(_Mistaken(m))) for mistake, hint in mistakes]
    suspects += _variants(
        DILATION, run, ("dilation_size",), ("dilation_rf",), ("dilation_size", "dilation_rf")
    )
    suspects += _variants(
        GROUPS, run, ("groups_params",), ("groups_macs",), ("groups_params", "groups_macs")
    )
    suspects += _bias_suspects(layers, run)
    for mistake, hint in (
        ("bn_running", BN_RUNNING),
        ("rf_stride", RF_STRIDE),
        ("rf_jump_after", RF_JUMP_AFTER),
        ("macs_bias", MACS_BIAS),
        ("macs_input", MACS_INPUT),
        ("flops", FLOPS),
    ):
        suspects.append(computed(hint, lambda m=mistake: run(_Mistaken(m))))
    return _changing(reference.summarize(layers, shape), suspects)
