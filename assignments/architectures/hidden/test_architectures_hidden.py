"""Hidden tests for architectures.py: the seven classic networks, whole and layer by layer, and
random stacks of layers with every option, against the reference."""

from __future__ import annotations

from typing import Any

import pytest

from autograder.suite.compare import ComparisonError, assert_tuple_of_ints
from autograder.suite.student import map_batched

pytestmark = [
    pytest.mark.assignment("architectures"),
    pytest.mark.visibility("after_published"),
    pytest.mark.backends("numpy"),  # integers in and out: no arrays, nothing to run on a device
]

NETWORK_NAMES = ["lenet5", "alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "mobilenet_v1"]
STACKS = [pytest.param(k, id=f"stack{k}") for k in range(4)]
ROW_KEYS = ("output_shape", "params", "macs", "receptive_field", "jump")
SUMMARY_KEYS = {"layers", "output_shape", "params", "macs", "receptive_field", "jump"}


def _plain(value: Any) -> Any:
    """Lists as tuples, NumPy integers as ints: what is compared is the numbers."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return int(value) if hasattr(value, "__index__") and not isinstance(value, bool) else value


def _describe(layer: dict) -> str:
    """A layer in a message: its type and options (a composite: its branches' lengths)."""
    kind = layer.get("type")
    if kind == "concat":
        return f"concat of branches of {[len(b) for b in layer['branches']]} layers"
    if kind == "residual":
        return (
            f"residual of a branch of {len(layer['branch'])} layers and a shortcut of "
            f"{len(layer.get('shortcut', []))}"
        )
    options = ", ".join(f"{k}={v!r}" for k, v in layer.items() if k != "type")
    return f"{kind}({options})"


def _check(got: Any, expected: Any, what: str) -> None:
    """Exact equality of the numbers; the redacted message names what, and the student's own
    value, without the expected one."""
    mine = _plain(got)
    if mine == expected:
        return
    raise ComparisonError(
        f"{what} is wrong: expected {expected!r}, got {got!r}",
        redacted=f"{what} is wrong: yours is {got!r}",
    )


def _network(reference: Any, name: str) -> tuple[list[dict], tuple[int, ...]]:
    network = reference.NETWORKS[name]
    return network["layers"], tuple(network["input_shape"])


def _summary(student: Any, layers: list[dict], in_shape: tuple[int, ...], what: str) -> dict:
    got = student.summarize(layers, in_shape)
    if not isinstance(got, dict) or set(got) != SUMMARY_KEYS:
        raise AssertionError(f"summarize must return a dict with the keys {sorted(SUMMARY_KEYS)}")
    rows = got["layers"]
    if not isinstance(rows, list | tuple) or len(rows) != len(layers):
        raise AssertionError(f"summarize({what})['layers'] must hold one row per layer")
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != set(ROW_KEYS):
            raise AssertionError(
                f"summarize({what})['layers'][{index}] must be a dict with the keys "
                f"{sorted(ROW_KEYS)}"
            )
    return got


def _check_tuples(got: dict, what: str) -> None:
    """The summary's shapes, receptive fields and jumps, the network's and each row's, are
    tuples of ints."""
    for where, values in [(f"summarize({what})", got)] + [
        (f"summarize({what})['layers'][{index}]", row) for index, row in enumerate(got["layers"])
    ]:
        assert_tuple_of_ints(values["output_shape"], f"{where}['output_shape']")
        for key in ("receptive_field", "jump"):
            assert_tuple_of_ints(values[key], f"{where}[{key!r}]", 2)


def _check_rows(got: dict, want: dict, layers: list[dict], keys: tuple[str, ...], what: str):
    for index, (mine, right) in enumerate(zip(got["layers"], want["layers"], strict=True)):
        for key in keys:
            _check(
                mine[key],
                right[key],
                f"summarize({what}): row {index} ({_describe(layers[index])}) {key!r}",
            )


# ---------------------------------------------------------------------------------------------
# The classic networks, whole
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
@pytest.mark.backends("numpy")  # no arrays: one backend is enough
@pytest.mark.parametrize("name", ["lenet5", "resnet18"])
def test_summary_shapes_and_pairs_are_tuples_of_ints(student, reference, name):
    # As the docstring says; a list holding the right numbers passes the other tests.
    layers, in_shape = _network(reference, name)
    _check_tuples(_summary(student, layers, in_shape, name), name)


@pytest.mark.points(2)
@pytest.mark.backends("numpy", "strict", "cupy")  # no arrays: it answers there as on NumPy
@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_network_summary(student, reference, name):
    # One summarize call per network: its totals, then its table row by row.
    layers, in_shape = _network(reference, name)
    want = reference.summarize(layers, in_shape)
    got = _summary(student, layers, in_shape, name)
    for key in ("output_shape", "params", "macs", "receptive_field", "jump"):
        _check(got[key], want[key], f"summarize({name})[{key!r}]")
    _check_rows(got, want, layers, ROW_KEYS, name)


# ---------------------------------------------------------------------------------------------
# The classic networks, layer by layer: each function on each layer, given the right inputs
# ---------------------------------------------------------------------------------------------


FUNCTIONS = ["output_shape", "param_count", "mac_count", "receptive_field"]
PLAIN = ("relu", "batchnorm", "maxpool", "avgpool", "flatten", "global_avgpool")
SKIPPED = {
    "output_shape": ("relu", "batchnorm"),
    "param_count": PLAIN,
    "mac_count": PLAIN,
    "receptive_field": ("relu", "batchnorm", "flatten", "global_avgpool", "linear"),
}
"""Layers a network's layer-by-layer test leaves to the public suite and the random stacks: the
ones whose answer is the same on every input (a ReLU's shape, a pooling layer's parameters,
batch norm's 2 * C, a linear layer's receptive field), not checked again on each of a network's
ReLUs."""


def _telling(
    function: str, layers: list[dict], shapes: list, fields: list, skipped: bool = True
) -> list[int]:
    """The indices of the layers a function is checked on: one of each distinct (layer, input),
    and (``skipped``: in a network) not those of :data:`SKIPPED`."""
    seen, cases = set(), []
    left_out = SKIPPED.get(function, ()) if skipped else ()
    for index, layer in enumerate(layers):
        given = fields[index] if function == "receptive_field" else shapes[index]
        key = (repr(layer), repr(given))
        if layer["type"] not in left_out and key not in seen:
            seen.add(key)
            cases.append(index)
    return cases


def _layer_by_layer(
    student: Any,
    reference: Any,
    layers: list[dict],
    in_shape,
    what: str,
    functions=FUNCTIONS,
    network: bool = False,
) -> None:
    """Per-layer functions on each layer of ``layers``, given the reference's input shape,
    receptive field and jump for that layer (so that one wrong layer fails alone); in a
    ``network``, not on the layers of :data:`SKIPPED`."""
    shapes, fields = [tuple(in_shape)], [((1, 1), (1, 1))]
    for layer in layers:
        shapes.append(reference.output_shape(layer, shapes[-1]))
        fields.append(reference.receptive_field(layer, *fields[-1]))
    checks = {
        "output_shape": (
            lambda i: student.output_shape(layers[i], shapes[i]),
            lambda i: shapes[i + 1],
        ),
        "param_count": (
            lambda i: student.param_count(layers[i], shapes[i]),
            lambda i: reference.param_count(layers[i], shapes[i]),
        ),
        "mac_count": (
            lambda i: student.mac_count(layers[i], shapes[i]),
            lambda i: reference.mac_count(layers[i], shapes[i]),
        ),
        "receptive_field": (
            lambda i: student.receptive_field(layers[i], *fields[i]),
            lambda i: fields[i + 1],
        ),
    }
    for function in functions:
        call, right = checks[function]
        cases = _telling(function, layers, shapes, fields, skipped=network)
        for i, got in zip(cases, map_batched(call, cases), strict=True):
            given = f"rf, jump = {fields[i]}" if function == "receptive_field" else shapes[i]
            _check(
                got,
                _plain(right(i)),
                f"{function} of {what}'s layer {i} ({_describe(layers[i])}) given {given}",
            )


LAYER_BY_LAYER = ["alexnet", "googlenet", "resnet50", "mobilenet_v1"]
"""The networks checked layer by layer: between them every kind of layer the classic networks
have (LeNet-5's, VGG-16's and ResNet-18's layers are theirs again, or the public suite's)."""


@pytest.mark.points(1.5)
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("name", LAYER_BY_LAYER)
def test_network_layer_by_layer(student, reference, name, function):
    layers, in_shape = _network(reference, name)
    _layer_by_layer(student, reference, layers, in_shape, name, [function], network=True)


# ---------------------------------------------------------------------------------------------
# Random stacks of layers, with every option
# ---------------------------------------------------------------------------------------------


def _size_option(rng, low: int, high: int) -> Any:
    """An int, or now and then a pair of two different ints (a list, as JSON would give)."""
    if rng.random() < 0.3:
        first = int(rng.integers(low, high + 1))
        return [first, int(rng.integers(low, high + 1))]
    return int(rng.integers(low, high + 1))


def _random_conv(rng, channels: int) -> dict:
    divisors = [g for g in range(1, channels + 1) if channels % g == 0]
    groups = int(rng.choice(divisors)) if rng.random() < 0.4 else 1
    layer = {
        "type": "conv",
        "out_channels": groups * int(rng.integers(1, 6)),
        "kernel_size": _size_option(rng, 1, 5),
    }
    for key, low, high, chance in (
        ("stride", 1, 3, 0.6),
        ("padding", 0, 3, 0.6),
        ("dilation", 1, 3, 0.4),
    ):
        if rng.random() < chance:
            layer[key] = _size_option(rng, low, high)
    if groups > 1 or rng.random() < 0.2:
        layer["groups"] = groups
    if rng.random() < 0.5:
        layer["bias"] = bool(rng.random() < 0.5)
    return layer


def _random_pool(rng) -> dict:
    kernel = int(rng.integers(2, 5))
    layer = {"type": str(rng.choice(["maxpool", "avgpool"])), "kernel_size": kernel}
    if rng.random() < 0.7:
        layer["stride"] = int(rng.integers(1, 4))
    if rng.random() < 0.5:
        layer["padding"] = int(rng.integers(0, kernel // 2 + 1))
    if rng.random() < 0.6:
        layer["ceil_mode"] = bool(rng.random() < 0.7)
    return layer


def _same_conv(out: int, kernel: int, stride: int, dilation: int = 1, bias: bool = True) -> dict:
    """An odd kernel padded to keep the size (divided by the stride): branches of one
    concatenation or addition stay aligned."""
    return {
        "type": "conv",
        "out_channels": out,
        "kernel_size": kernel,
        "stride": stride,
        "padding": dilation * (kernel - 1) // 2,
        "dilation": dilation,
        "bias": bias,
    }


def _random_concat(rng) -> dict:
    stride = int(rng.integers(1, 3))
    branches = []
    for _ in range(int(rng.integers(2, 4))):
        kind = rng.random()
        if kind < 0.25:
            branch = [
                {"type": "maxpool", "kernel_size": 3, "stride": stride, "padding": 1},
                _same_conv(int(rng.integers(1, 5)), 1, 1),
            ]
        else:
            kernel, dilation = int(rng.choice([1, 3, 5])), int(rng.integers(1, 3))
            branch = [_same_conv(int(rng.integers(1, 5)), kernel, stride, dilation)]
            if rng.random() < 0.5:
                branch += [{"type": "relu"}, _same_conv(int(rng.integers(1, 5)), 3, 1)]
        branches.append(branch)
    return {"type": "concat", "branches": branches}


def _random_residual(rng, channels: int) -> dict:
    stride = int(rng.integers(1, 3))
    out = channels if stride == 1 and rng.random() < 0.5 else int(rng.integers(1, 9))
    if rng.random() < 0.5:  # a basic block
        branch = [
            _same_conv(out, 3, stride, bias=False),
            {"type": "batchnorm"},
            {"type": "relu"},
            _same_conv(out, 3, 1, bias=False),
            {"type": "batchnorm"},
        ]
    else:  # a bottleneck
        width = int(rng.integers(1, 5))
        branch = [
            _same_conv(width, 1, 1, bias=False),
            {"type": "relu"},
            _same_conv(width, 3, stride, dilation=int(rng.integers(1, 3)), bias=False),
            {"type": "relu"},
            _same_conv(out, 1, 1, bias=False),
        ]
    layer = {"type": "residual", "branch": branch}
    if stride != 1 or out != channels or rng.random() < 0.3:
        layer["shortcut"] = [_same_conv(out, 1, stride, bias=False), {"type": "batchnorm"}]
    return layer


def _random_stack(rng, reference) -> tuple[list[dict], tuple[int, int, int]]:
    """A valid random network: convolutions, pooling, batch norm, ReLU, concatenations and
    residual blocks with random options, then a head (none, flatten + linear, or global
    average pooling + linear)."""
    in_shape = (int(rng.integers(1, 9)), int(rng.integers(12, 49)), int(rng.integers(12, 49)))
    shape, layers, length = in_shape, [], int(rng.integers(6, 11))
    for _ in range(50):  # draws: some do not fit the input left
        if len(layers) == length:
            break
        kind = rng.random()
        if kind < 0.4:
            layer = _random_conv(rng, shape[0])
        elif kind < 0.55:
            layer = _random_pool(rng)
        elif kind < 0.65:
            layer = {"type": str(rng.choice(["relu", "batchnorm"]))}
        elif kind < 0.8:
            layer = _random_concat(rng)
        else:
            layer = _random_residual(rng, shape[0])
        try:
            out = reference.output_shape(layer, shape)
        except ValueError:  # too small an input for it: draw another
            continue
        layers.append(layer)
        shape = out
    head = rng.random()
    if head < 0.4:
        layers += [
            {"type": "flatten"},
            {"type": "linear", "out_features": int(rng.integers(1, 11))},
        ]
    elif head < 0.7:
        layers += [
            {"type": "global_avgpool"},
            {"type": "linear", "out_features": int(rng.integers(1, 11)), "bias": False},
        ]
    return layers, in_shape


@pytest.mark.points(1.5)
@pytest.mark.parametrize("stack", STACKS)
def test_random_stack_summary(student, reference, rng, stack):
    layers, in_shape = _random_stack(rng, reference)
    what = f"a random stack on {in_shape}"
    want = reference.summarize(layers, in_shape)
    got = _summary(student, layers, in_shape, what)
    _check_rows(got, want, layers, ROW_KEYS, what)
    for key in sorted(SUMMARY_KEYS - {"layers"}):
        _check(got[key], want[key], f"summarize({what})[{key!r}]")


@pytest.mark.points(1)
@pytest.mark.parametrize("stack", STACKS)
def test_random_stack_layer_by_layer(student, reference, rng, stack):
    layers, in_shape = _random_stack(rng, reference)
    _layer_by_layer(student, reference, layers, in_shape, f"a random stack on {in_shape}")


@pytest.mark.points(2)
def test_conv_output_size_random(student, reference, rng):
    cases = []
    while len(cases) < 40:
        size, kernel = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        stride, padding, dilation = (int(rng.integers(a, b)) for a, b in ((1, 5), (0, 4), (1, 4)))
        ceil_mode = bool(rng.random() < 0.5)
        if size + 2 * padding >= dilation * (kernel - 1) + 1:
            cases.append((size, kernel, stride, padding, dilation, ceil_mode))
    got = map_batched(lambda case: student.conv_output_size(*case), cases)
    for case, mine in zip(cases, got, strict=True):
        _check(mine, reference.conv_output_size(*case), f"conv_output_size{case}")


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "function, layer, in_shape",
    [
        (
            "output_shape",
            {"type": "conv", "out_channels": 6, "kernel_size": 3, "groups": 4},
            (8, 9, 9),
        ),
        ("param_count", {"type": "conv", "out_channels": 8, "kernel_size": 11}, (3, 8, 8)),
        (
            "output_shape",
            {
                "type": "concat",
                "branches": [
                    [{"type": "conv", "out_channels": 4, "kernel_size": 3}],
                    [{"type": "conv", "out_channels": 4, "kernel_size": 1}],
                ],
            },
            (3, 10, 10),
        ),
        (
            "mac_count",
            {
                "type": "residual",
                "branch": [{"type": "conv", "out_channels": 4, "kernel_size": 3, "stride": 2}],
                "shortcut": [{"type": "conv", "out_channels": 4, "kernel_size": 1}],
            },
            (4, 10, 10),
        ),
        ("output_shape", {"type": "flatten"}, (400,)),
    ],
    ids=[
        "groups_do_not_divide_out_channels",
        "kernel_wider_than_input",
        "concat_sizes_differ",
        "residual_shortcut_keeps_the_size",
        "flatten_a_vector",
    ],
)
def test_invalid_specs_raise(student, function, layer, in_shape):
    with pytest.raises(ValueError):
        getattr(student, function)(layer, in_shape)
