"""VARIANT closed_forms (alternative correct submission, used by the fairness tests).

How it differs from the reference: the output size is computed with exact fractions,
``math.floor(Fraction(size + 2p - k_eff, s)) + 1`` (``math.ceil`` with ``ceil_mode``, then the
last window dropped where it would start at ``(out - 1) * s - p >= size``). Parameters and MACs
are closed forms per layer, ``(C_in / g * k_h * k_w + bias) * C_out`` and
``C_out * H_out * W_out * C_in / g * k_h * k_w``, and composite layers are walked without
recursion, with an explicit stack of (layer list, position) frames. ``summarize`` computes the
input shapes of all the layers first, then each column from them. Shapes, the layer spec and
the conventions are those of the assignment's template.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

Shape = tuple[int, ...]
Pair = tuple[int, int]
Layer = dict[str, Any]

KINDS = {
    "conv": ({"out_channels", "kernel_size"}, {"stride", "padding", "dilation", "groups", "bias"}),
    "maxpool": ({"kernel_size"}, {"stride", "padding", "ceil_mode"}),
    "avgpool": ({"kernel_size"}, {"stride", "padding", "ceil_mode"}),
    "linear": ({"out_features"}, {"bias"}),
    "flatten": (set(), set()),
    "global_avgpool": (set(), set()),
    "batchnorm": (set(), set()),
    "relu": (set(), set()),
    "concat": ({"branches"}, set()),
    "residual": ({"branch"}, {"shortcut"}),
}


def _number(value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"expected an int >= {low}, got {value!r}")
    return value


def _two(value: Any, low: int) -> list[int]:
    values = list(value) if isinstance(value, list | tuple) else [value, value]
    if len(values) != 2:
        raise ValueError(f"expected an int or a pair, got {value!r}")
    return [_number(v, low) for v in values]


def _type(layer: Any) -> str:
    if not isinstance(layer, dict):
        raise ValueError(f"a layer is a dict, got {layer!r}")
    kind = layer.get("type")
    if kind not in KINDS:
        raise ValueError(f"unknown layer type {kind!r}")
    required, optional = KINDS[kind]
    keys = set(layer) - {"type"}
    if not required <= keys or keys - required - optional:
        raise ValueError(f"a {kind} layer takes {sorted(required)} and {sorted(optional)}")
    return kind


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    size, kernel, stride = _number(size, 1), _number(kernel_size, 1), _number(stride, 1)
    padding, dilation = _number(padding, 0), _number(dilation, 1)
    room = size + 2 * padding - (dilation * (kernel - 1) + 1)
    if room < 0:
        raise ValueError("the effective kernel is wider than the padded input")
    steps = Fraction(room, stride)
    if not ceil_mode:
        return math.floor(steps) + 1
    out = math.ceil(steps) + 1
    last_start = (out - 1) * stride - padding
    return out - 1 if last_start >= size else out


def _geometry(layer: Layer) -> tuple[list[int], ...]:
    kernel = _two(layer["kernel_size"], 1)
    if layer["type"] == "conv":
        return (
            kernel,
            _two(layer.get("stride", 1), 1),
            _two(layer.get("padding", 0), 0),
            _two(layer.get("dilation", 1), 1),
        )
    stride = kernel if layer.get("stride") is None else _two(layer["stride"], 1)
    return kernel, stride, _two(layer.get("padding", 0), 0), [1, 1]


def _flag(layer: Layer, key: str, default: bool) -> bool:
    value = layer.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be a bool")
    return value


def _branch_lists(layer: Layer) -> list[list[Layer]]:
    if layer["type"] == "concat":
        lists = layer["branches"]
        if not isinstance(lists, list | tuple) or len(lists) == 0:
            raise ValueError("a concatenation needs a non-empty list of branches")
    else:
        lists = [layer["branch"], layer.get("shortcut", [])]
    if not all(isinstance(branch, list | tuple) for branch in lists):
        raise ValueError("each branch is a list of layers")
    return [list(branch) for branch in lists]


def _leaf_shape(layer: Layer, shape: Shape) -> Shape:
    kind = layer["type"]
    if kind in ("conv", "maxpool", "avgpool"):
        if len(shape) != 3:
            raise ValueError(f"{kind} needs a (C, H, W) input")
        kernel, stride, padding, dilation = _geometry(layer)
        ceil = _flag(layer, "ceil_mode", False) if kind != "conv" else False
        sizes = [
            conv_output_size(shape[d + 1], kernel[d], stride[d], padding[d], dilation[d], ceil)
            for d in (0, 1)
        ]
        channels = shape[0]
        if kind == "conv":
            out, groups = _number(layer["out_channels"], 1), _number(layer.get("groups", 1), 1)
            if channels % groups != 0 or out % groups != 0:
                raise ValueError("groups must divide the channels in and out")
            channels = out
        return (channels, sizes[0], sizes[1])
    if kind == "linear":
        if len(shape) != 1:
            raise ValueError("linear needs an (F,) input: flatten first")
        return (_number(layer["out_features"], 1),)
    if kind == "flatten":
        if len(shape) != 3:
            raise ValueError("flatten needs a (C, H, W) input")
        return (shape[0] * shape[1] * shape[2],)
    if kind == "global_avgpool":
        if len(shape) != 3:
            raise ValueError("global_avgpool needs a (C, H, W) input")
        return (shape[0],)
    return shape


def _walk(layers: list[Layer], shape: Shape, leaf: Any) -> tuple[Shape, int]:
    """Walk ``layers`` from ``shape`` without recursion; ``leaf(layer, shape)`` is summed
    over every non-composite layer. Returns the output shape and the sum."""
    total = 0
    # a frame: [layers, next index, current shape, composite layer, branch outputs, branch input]
    stack: list[list[Any]] = [[list(layers), 0, tuple(shape), None, [], None]]
    while True:
        frame = stack[-1]
        items, index, current = frame[0], frame[1], frame[2]
        if index == len(items):
            stack.pop()
            if not stack:
                return current, total
            parent = stack[-1]
            parent[4].append(current)
            continue
        layer = items[index]
        kind = _type(layer)
        if kind in ("concat", "residual"):
            branches = frame[5] if frame[3] is layer else None
            if branches is None:
                frame[3], frame[4], frame[5] = layer, [], _branch_lists(layer)
                branches = frame[5]
            done = len(frame[4])
            if done < len(branches):
                stack.append([branches[done], 0, current, None, [], None])
                continue
            frame[2] = _joined(kind, frame[4])
            frame[1], frame[3], frame[5] = index + 1, None, None
            continue
        out = _leaf_shape(layer, current)  # checks the layer before anything is counted
        total += leaf(layer, current)
        frame[2], frame[1] = out, index + 1


def _joined(kind: str, shapes: list[Shape]) -> Shape:
    if kind == "residual":
        if shapes[0] != shapes[1]:
            raise ValueError("a residual block's branch and shortcut must agree in shape")
        return shapes[0]
    first = shapes[0]
    for other in shapes:
        if len(other) != 3 or other[1:] != first[1:]:
            raise ValueError("concatenated branches must have maps of one size")
    return (sum(other[0] for other in shapes), first[1], first[2])


def _check_shape(shape: Any) -> Shape:
    if not isinstance(shape, list | tuple) or len(shape) not in (1, 3):
        raise ValueError(f"a shape is (C, H, W) or (F,), got {shape!r}")
    return tuple(_number(v, 1) for v in shape)


def _leaf_params(layer: Layer, shape: Shape) -> int:
    kind = layer["type"]
    if kind == "conv":
        kernel = _two(layer["kernel_size"], 1)
        groups, out = layer.get("groups", 1), layer["out_channels"]
        per_filter = shape[0] // groups * kernel[0] * kernel[1]
        return (per_filter + int(_flag(layer, "bias", True))) * out
    if kind == "linear":
        return (shape[0] + int(_flag(layer, "bias", True))) * layer["out_features"]
    if kind == "batchnorm":
        return shape[0] + shape[0]
    return 0


def _leaf_macs(layer: Layer, shape: Shape) -> int:
    kind = layer["type"]
    if kind == "conv":
        out = _leaf_shape(layer, shape)
        kernel = _two(layer["kernel_size"], 1)
        return (
            out[0] * out[1] * out[2] * (shape[0] // layer.get("groups", 1)) * kernel[0] * kernel[1]
        )
    if kind == "linear":
        return shape[0] * layer["out_features"]
    return 0


def output_shape(layer: Layer, in_shape: Shape) -> Shape:
    return _walk([layer], _check_shape(in_shape), lambda leaf, shape: 0)[0]


def param_count(layer: Layer, in_shape: Shape) -> int:
    return _walk([layer], _check_shape(in_shape), _leaf_params)[1]


def mac_count(layer: Layer, in_shape: Shape) -> int:
    return _walk([layer], _check_shape(in_shape), _leaf_macs)[1]


def receptive_field(layer: Layer, rf: Pair = (1, 1), jump: Pair = (1, 1)) -> tuple[Pair, Pair]:
    kind = _type(layer)
    r, j = _two(rf, 1), _two(jump, 1)
    if kind in ("conv", "maxpool", "avgpool"):
        kernel, stride, _, dilation = _geometry(layer)
        grown = [r[d] + j[d] * (dilation[d] * kernel[d] - dilation[d]) for d in (0, 1)]
        return (grown[0], grown[1]), (j[0] * stride[0], j[1] * stride[1])
    if kind in ("concat", "residual"):
        best_r, best_j = [0, 0], [0, 0]
        for branch in _branch_lists(layer):
            here = ((r[0], r[1]), (j[0], j[1]))
            for inner in branch:
                here = receptive_field(inner, *here)
            best_r = [max(best_r[d], here[0][d]) for d in (0, 1)]
            best_j = [max(best_j[d], here[1][d]) for d in (0, 1)]
        return (best_r[0], best_r[1]), (best_j[0], best_j[1])
    return (r[0], r[1]), (j[0], j[1])


def summarize(layers: list[Layer], in_shape: Shape) -> dict[str, Any]:
    shapes = [_check_shape(in_shape)]
    for layer in layers:
        shapes.append(output_shape(layer, shapes[-1]))
    fields = [((1, 1), (1, 1))]
    for layer in layers:
        fields.append(receptive_field(layer, *fields[-1]))
    params = [param_count(layer, shape) for layer, shape in zip(layers, shapes, strict=False)]
    macs = [mac_count(layer, shape) for layer, shape in zip(layers, shapes, strict=False)]
    rows = [
        {
            "output_shape": shapes[i + 1],
            "params": params[i],
            "macs": macs[i],
            "receptive_field": fields[i + 1][0],
            "jump": fields[i + 1][1],
        }
        for i in range(len(layers))
    ]
    return {
        "output_shape": shapes[-1],
        "params": sum(params),
        "macs": sum(macs),
        "receptive_field": fields[-1][0],
        "jump": fields[-1][1],
        "layers": rows,
    }
