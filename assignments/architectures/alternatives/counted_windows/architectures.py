"""VARIANT counted_windows (alternative correct submission, used by the fairness tests).

How it differs from the reference: the output size is the number of windows, counted one by
one (a window starts at ``t * stride - padding`` for t = 0, 1, ...; without ``ceil_mode`` it
must end inside the padded input, with it it must start before the right padding and within
one stride of the last whole window). Every per-layer function goes through one evaluator
that returns all four quantities of a layer at once (shape, parameters, MACs, receptive field
and jump), walking composite layers' branches with it; ``summarize`` walks the network with
it too. Parameters are counted from the tensors PyTorch would create (a convolution's weight
of shape ``(C_out, C_in / groups, k_h, k_w)`` and its bias ``(C_out,)``, batch norm's weight
and bias ``(C,)``), and a convolution's MACs are its weight's elements times its output
positions. Receptive fields are kept as the distance between the first and the last input
pixel one output element sees (``r - 1``), grown by the kernel's span in input pixels.

Shapes, the layer spec and the conventions are those of the assignment's template.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Shape = tuple[int, ...]
Pair = tuple[int, int]
Layer = dict[str, Any]

OPTIONS = {
    "conv": {"out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"},
    "maxpool": {"kernel_size", "stride", "padding", "ceil_mode"},
    "avgpool": {"kernel_size", "stride", "padding", "ceil_mode"},
    "linear": {"out_features", "bias"},
    "flatten": set(),
    "global_avgpool": set(),
    "batchnorm": set(),
    "relu": set(),
    "concat": {"branches"},
    "residual": {"branch", "shortcut"},
}


class Numbers(NamedTuple):
    shape: Shape
    params: int
    macs: int
    rf: Pair
    jump: Pair


def _whole(value: Any, low: int, what: str) -> int:
    if type(value) is not int or value < low:
        raise ValueError(f"{what} must be an int >= {low}, got {value!r}")
    return value


def _hw(value: Any, low: int, what: str) -> Pair:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair, got {value!r}")
        return _whole(value[0], low, what), _whole(value[1], low, what)
    return _whole(value, low, what), _whole(value, low, what)


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    size, kernel = _whole(size, 1, "size"), _whole(kernel_size, 1, "kernel_size")
    stride, padding = _whole(stride, 1, "stride"), _whole(padding, 0, "padding")
    span = (_whole(dilation, 1, "dilation")) * (kernel - 1) + 1
    padded_end = size + padding  # one past the last padded position, in input coordinates
    if size + 2 * padding < span:
        raise ValueError("the kernel is wider than the padded input")
    # Without ceil_mode: the windows that end inside the padded input. With it: also the one
    # that runs past it by less than a stride, unless it would start in the right padding.
    reach = padded_end + (stride - 1 if ceil_mode else 0)
    starts = list(range(-padding, reach - span + 1, stride))
    if ceil_mode and starts[-1] >= size:
        starts.pop()
    return len(starts)


def _check(layer: Any) -> str:
    if not isinstance(layer, dict) or layer.get("type") not in OPTIONS:
        raise ValueError(f"not a layer: {layer!r}")
    kind = layer["type"]
    if set(layer) - OPTIONS[kind] - {"type"}:
        raise ValueError(f"unknown keys in {layer!r}")
    needed = {"conv": ("out_channels", "kernel_size"), "linear": ("out_features",)}
    needed |= {"maxpool": ("kernel_size",), "avgpool": ("kernel_size",)}
    needed |= {"concat": ("branches",), "residual": ("branch",)}
    if any(key not in layer for key in needed.get(kind, ())):
        raise ValueError(f"a {kind} layer misses a key: {layer!r}")
    return kind


def _evaluate(layer: Layer, shape: Shape, rf: Pair, jump: Pair) -> Numbers:
    kind = _check(layer)
    if not isinstance(shape, list | tuple) or len(shape) not in (1, 3):
        raise ValueError(f"not a shape: {shape!r}")
    shape = tuple(_whole(v, 1, "a size") for v in shape)
    rf, jump = _hw(rf, 1, "rf"), _hw(jump, 1, "jump")
    if kind in ("conv", "maxpool", "avgpool"):
        return _windowed(kind, layer, shape, rf, jump)
    if kind == "linear":
        if len(shape) != 1:
            raise ValueError("a linear layer takes a vector")
        out = _whole(layer["out_features"], 1, "out_features")
        bias = layer.get("bias", True)
        if type(bias) is not bool:
            raise ValueError("bias must be a bool")
        tensors = [(out, shape[0])] + ([(out,)] if bias else [])
        return Numbers((out,), _elements(tensors), shape[0] * out, rf, jump)
    if kind in ("flatten", "global_avgpool"):
        if len(shape) != 3:
            raise ValueError(f"{kind} takes a feature map")
        out = (shape[0] * shape[1] * shape[2],) if kind == "flatten" else (shape[0],)
        return Numbers(out, 0, 0, rf, jump)
    if kind == "batchnorm":
        return Numbers(shape, _elements([(shape[0],), (shape[0],)]), 0, rf, jump)
    if kind == "relu":
        return Numbers(shape, 0, 0, rf, jump)
    if kind == "concat":
        branches = layer["branches"]
        if not isinstance(branches, list | tuple) or not branches:
            raise ValueError("a concatenation needs branches")
    else:
        branches = [layer["branch"], layer.get("shortcut", [])]
    ends = [_walk(branch, shape, rf, jump) for branch in branches]
    shapes = [end.shape for end in ends]
    if kind == "residual":
        if shapes[0] != shapes[1]:
            raise ValueError("the branch and the shortcut differ in shape")
        out = shapes[0]
    else:
        if any(len(s) != 3 for s in shapes) or any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError("concatenated maps differ in size")
        out = (sum(s[0] for s in shapes), shapes[0][1], shapes[0][2])
    return Numbers(
        out,
        sum(end.params for end in ends),
        sum(end.macs for end in ends),
        tuple(max(end.rf[d] for end in ends) for d in range(2)),
        tuple(max(end.jump[d] for end in ends) for d in range(2)),
    )


def _elements(tensors: list[tuple[int, ...]]) -> int:
    total = 0
    for dims in tensors:
        count = 1
        for dim in dims:
            count *= dim
        total += count
    return total


def _windowed(kind: str, layer: Layer, shape: Shape, rf: Pair, jump: Pair) -> Numbers:
    if len(shape) != 3:
        raise ValueError(f"{kind} takes a feature map")
    kernel = _hw(layer["kernel_size"], 1, "kernel_size")
    conv = kind == "conv"
    default_stride = (1, 1) if conv else kernel
    stride = default_stride if layer.get("stride") is None else _hw(layer["stride"], 1, "stride")
    padding = _hw(layer.get("padding", 0), 0, "padding")
    dilation = _hw(layer.get("dilation", 1), 1, "dilation") if conv else (1, 1)
    ceil_mode = bool(layer.get("ceil_mode", False))
    size = tuple(
        conv_output_size(shape[1 + d], kernel[d], stride[d], padding[d], dilation[d], ceil_mode)
        for d in range(2)
    )
    spans = [dilation[d] * (kernel[d] - 1) * jump[d] for d in range(2)]  # in input pixels
    new_rf = tuple((rf[d] - 1) + spans[d] + 1 for d in range(2))
    new_jump = (jump[0] * stride[0], jump[1] * stride[1])
    if not conv:
        return Numbers((shape[0], *size), 0, 0, new_rf, new_jump)
    out, groups = _whole(layer["out_channels"], 1, "out_channels"), layer.get("groups", 1)
    _whole(groups, 1, "groups")
    if shape[0] % groups or out % groups:
        raise ValueError("groups must divide the input and output channels")
    bias = layer.get("bias", True)
    if type(bias) is not bool:
        raise ValueError("bias must be a bool")
    weight = (out, shape[0] // groups, kernel[0], kernel[1])
    tensors = [weight] + ([(out,)] if bias else [])
    macs = _elements([weight]) * size[0] * size[1]
    return Numbers((out, *size), _elements(tensors), macs, new_rf, new_jump)


def _walk(layers: list[Layer], shape: Shape, rf: Pair, jump: Pair) -> Numbers:
    if not isinstance(layers, list | tuple):
        raise ValueError("a branch is a list of layers")
    params = macs = 0
    for layer in layers:
        numbers = _evaluate(layer, shape, rf, jump)
        shape, rf, jump = numbers.shape, numbers.rf, numbers.jump
        params, macs = params + numbers.params, macs + numbers.macs
    return Numbers(tuple(shape), params, macs, tuple(rf), tuple(jump))


def output_shape(layer: Layer, in_shape: Shape) -> Shape:
    return _evaluate(layer, in_shape, (1, 1), (1, 1)).shape


def param_count(layer: Layer, in_shape: Shape) -> int:
    return _evaluate(layer, in_shape, (1, 1), (1, 1)).params


def mac_count(layer: Layer, in_shape: Shape) -> int:
    return _evaluate(layer, in_shape, (1, 1), (1, 1)).macs


def receptive_field(layer: Layer, rf: Pair = (1, 1), jump: Pair = (1, 1)) -> tuple[Pair, Pair]:
    numbers = _receptive(layer, _hw(rf, 1, "rf"), _hw(jump, 1, "jump"))
    return numbers


def _receptive(layer: Layer, rf: Pair, jump: Pair) -> tuple[Pair, Pair]:
    """The receptive field alone (no shapes: this function is given none)."""
    kind = _check(layer)
    if kind in ("conv", "maxpool", "avgpool"):
        kernel = _hw(layer["kernel_size"], 1, "kernel_size")
        default = (1, 1) if kind == "conv" else kernel
        stride = default if layer.get("stride") is None else _hw(layer["stride"], 1, "stride")
        dilation = _hw(layer.get("dilation", 1), 1, "dilation") if kind == "conv" else (1, 1)
        spans = [dilation[d] * (kernel[d] - 1) * jump[d] for d in range(2)]
        return (rf[0] + spans[0], rf[1] + spans[1]), (jump[0] * stride[0], jump[1] * stride[1])
    if kind not in ("concat", "residual"):
        return rf, jump
    branches = (
        layer["branches"] if kind == "concat" else [layer["branch"], layer.get("shortcut", [])]
    )
    ends = []
    for branch in branches:
        r, j = rf, jump
        for inner in branch:
            r, j = _receptive(inner, r, j)
        ends.append((r, j))
    return (
        (max(e[0][0] for e in ends), max(e[0][1] for e in ends)),
        (max(e[1][0] for e in ends), max(e[1][1] for e in ends)),
    )


def summarize(layers: list[Layer], in_shape: Shape) -> dict[str, Any]:
    if not isinstance(in_shape, list | tuple) or len(in_shape) not in (1, 3):
        raise ValueError(f"not a shape: {in_shape!r}")
    shape, rf, jump = tuple(in_shape), (1, 1), (1, 1)
    rows = []
    for layer in layers:
        numbers = _evaluate(layer, shape, rf, jump)
        shape, rf, jump = numbers.shape, numbers.rf, numbers.jump
        rows.append(
            {
                "output_shape": tuple(shape),
                "params": numbers.params,
                "macs": numbers.macs,
                "receptive_field": tuple(rf),
                "jump": tuple(jump),
            }
        )
    total_params = total_macs = 0
    for row in rows:
        total_params += row["params"]
        total_macs += row["macs"]
    return {
        "output_shape": tuple(shape),
        "params": total_params,
        "macs": total_macs,
        "receptive_field": tuple(rf),
        "jump": tuple(jump),
        "layers": rows,
    }
