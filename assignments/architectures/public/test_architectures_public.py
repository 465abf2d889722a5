"""Public tests for architectures.py: known answers for every layer kind and option.

Run them from your copy of the template with ``pytest tests/`` (or ``autograder check
architectures``). Each answer below is worked out by hand in its comment. The hidden tests run
your functions on the seven classic networks of ``NETWORKS`` (layer by layer, and whole with
``summarize``) and on random stacks of layers with every option, against a reference.

The specs here are written out as plain dicts, as the module's docstring defines them (the
helpers at the end of your ``architectures.py`` write the same dicts).
"""

from __future__ import annotations

import pytest

from autograder.suite.compare import assert_tuple_of_ints

pytestmark = [
    pytest.mark.assignment("architectures"),
    pytest.mark.backends("numpy"),  # integers in and out: no arrays, nothing to run on a device
]
EVERY_BACKEND = pytest.mark.backends("numpy", "strict", "cupy")
"""For a few tests: the same call in a device backend's sandbox (no arrays cross, so it must
answer exactly as on NumPy)."""


def _conv(out, k, s=1, p=0, d=1, groups=1, bias=True):
    return {
        "type": "conv",
        "out_channels": out,
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "dilation": d,
        "groups": groups,
        "bias": bias,
    }


def _pool(kind, k, s=None, p=0, ceil_mode=False):
    layer = {"type": kind, "kernel_size": k, "padding": p, "ceil_mode": ceil_mode}
    if s is not None:
        layer["stride"] = s
    return layer


def _linear(out, bias=True):
    return {"type": "linear", "out_features": out, "bias": bias}


RELU, BN, FLATTEN, GAP = (
    {"type": "relu"},
    {"type": "batchnorm"},
    {"type": "flatten"},
    {"type": "global_avgpool"},
)


def _conv_bn_relu(out, k, s=1, p=0):
    return [_conv(out, k, s, p, bias=False), BN, RELU]


INCEPTION_3A = {  # GoogLeNet's first Inception module (torchvision's: a 3x3 "5x5" branch)
    "type": "concat",
    "branches": [
        _conv_bn_relu(64, 1),
        [*_conv_bn_relu(96, 1), *_conv_bn_relu(128, 3, p=1)],
        [*_conv_bn_relu(16, 1), *_conv_bn_relu(32, 3, p=1)],
        [_pool("maxpool", 3, 1, 1, ceil_mode=True), *_conv_bn_relu(32, 1)],
    ],
}
DOWNSAMPLING_BLOCK = {  # ResNet-18's first block of its second stage: 64 -> 128 channels, stride 2
    "type": "residual",
    "branch": [*_conv_bn_relu(128, 3, 2, 1), _conv(128, 3, 1, 1, bias=False), BN],
    "shortcut": [_conv(128, 1, 2, bias=False), BN],
}
IDENTITY_BLOCK = {  # ResNet-18's first block: 64 channels, identity shortcut (no "shortcut" key)
    "type": "residual",
    "branch": [*_conv_bn_relu(64, 3, 1, 1), _conv(64, 3, 1, 1, bias=False), BN],
}
LENET5 = [
    _conv(6, 5),
    RELU,
    _pool("maxpool", 2),
    _conv(16, 5),
    RELU,
    _pool("maxpool", 2),
    FLATTEN,
    _linear(120),
    RELU,
    _linear(84),
    RELU,
    _linear(10),
]


def _plain(value):
    """Lists as tuples, NumPy integers as ints: what is compared is the numbers."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return int(value) if hasattr(value, "__index__") and not isinstance(value, bool) else value


def _same(got, expected, what):
    if _plain(got) != expected:
        raise AssertionError(f"{what}: expected {expected}, got {got!r}")


# ---------------------------------------------------------------------------------------------
# conv_output_size
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(0.25)
@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        # LeNet-5's first convolution: 32 - 5 + 1 = 28.
        ((32, 5), {}, 28),
        # Padding on both sides: 224 + 2 * 1 - 3 + 1 = 224 ("same" padding).
        ((224, 3, 1, 1), {}, 224),
        # AlexNet's first convolution: floor((224 + 2 * 2 - 11) / 4) + 1 = floor(54.25) + 1 = 55.
        ((224, 11, 4, 2), {}, 55),
        # Rounding down drops the last column that no whole window covers: floor(4 / 2) + 1 = 3.
        ((7, 3, 2), {}, 3),
        # Dilation 2 spreads a 3-kernel over k_eff = 2 * (3 - 1) + 1 = 5 inputs: 10 - 5 + 1 = 6.
        ((10, 3), {"dilation": 2}, 6),
        # Dilation with padding: k_eff = 3 * (3 - 1) + 1 = 7; floor((20 + 6 - 7) / 2) + 1 = 10.
        ((20, 3, 2, 3), {"dilation": 3}, 10),
        # GoogLeNet's first max pooling, ceil_mode: ceil((112 - 3) / 2) + 1 = ceil(54.5) + 1 = 56
        # (floor would give 55); the last window starts at 110 < 112, inside the input.
        ((112, 3, 2), {"ceil_mode": True}, 56),
        # ceil_mode where the division is exact changes nothing: (14 - 2) / 2 + 1 = 7.
        ((14, 2, 2), {"ceil_mode": True}, 7),
        # ceil_mode's correction: ceil((4 + 2 - 2) / 3) + 1 = 3, but the third window would start
        # at 2 * 3 = 6 >= 4 + 1, in the right padding: PyTorch takes it off, 2.
        ((4, 2, 3, 1), {"ceil_mode": True}, 2),
    ],
    ids=[
        "lenet_conv1",
        "same_padding",
        "alexnet_conv1_floor",
        "floor_drops_a_column",
        "dilation",
        "dilation_stride_padding",
        "ceil_mode",
        "ceil_mode_exact",
        "ceil_mode_last_window_in_padding",
    ],
)
def test_conv_output_size_known_answers(student, args, kwargs, expected):
    got = student.conv_output_size(*args, **kwargs)
    _same(got, expected, f"conv_output_size{args} with {kwargs}")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "args, kwargs",
    [((4, 7), {}), ((6, 3), {"dilation": 3}), ((2, 5, 1, 1), {})],
    ids=["kernel_wider_than_input", "dilated_kernel_wider", "wider_than_padded_input"],
)
def test_conv_output_size_kernel_too_wide_raises(student, args, kwargs):
    with pytest.raises(ValueError):
        student.conv_output_size(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# output_shape
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "layer, in_shape, expected",
    [
        # Pairs are (height, width): H floor((9 + 2 - 3) / 2) + 1 = 5, W (10 + 4 - 5) + 1 = 10.
        (_conv(8, (3, 5), (2, 1), (1, 2)), (3, 9, 10), (8, 5, 10)),
        # Dilation 2 with padding 2 keeps the size: 16 + 4 - 5 + 1 = 16.
        (_conv(4, 3, p=2, d=2), (2, 16, 16), (4, 16, 16)),
        # A grouped convolution's output has out_channels channels, whatever the groups.
        (_conv(64, 3, 2, 1, groups=4), (32, 15, 15), (64, 8, 8)),
        # Pooling keeps the channels; the stride defaults to the kernel: 28 / 2 = 14.
        ({"type": "maxpool", "kernel_size": 2}, (6, 28, 28), (6, 14, 14)),
        # ceil_mode: ceil((112 - 3) / 2) + 1 = 56.
        (_pool("avgpool", 3, 2, ceil_mode=True), (4, 112, 112), (4, 56, 56)),
        # AlexNet's max pooling, without ceil_mode: floor((55 - 3) / 2) + 1 = 27.
        (_pool("maxpool", 3, 2), (64, 55, 55), (64, 27, 27)),
        (FLATTEN, (16, 5, 5), (400,)),
        (_linear(120), (400,), (120,)),
        (GAP, (512, 7, 7), (512,)),
        (BN, (64, 56, 56), (64, 56, 56)),
        (RELU, (120,), (120,)),
        # The branches' channels add up: 64 + 128 + 32 + 32 = 256, at 28 x 28.
        (INCEPTION_3A, (192, 28, 28), (256, 28, 28)),
        (DOWNSAMPLING_BLOCK, (64, 56, 56), (128, 28, 28)),
        (IDENTITY_BLOCK, (64, 56, 56), (64, 56, 56)),
    ],
    ids=[
        "conv_pairs",
        "conv_dilation",
        "conv_groups",
        "maxpool_default_stride",
        "avgpool_ceil_mode",
        "maxpool_overlapping",
        "flatten",
        "linear",
        "global_avgpool",
        "batchnorm",
        "relu",
        "concat_inception",
        "residual_projection",
        "residual_identity",
    ],
)
def test_output_shape_known_answers(student, layer, in_shape, expected):
    got = student.output_shape(layer, in_shape)
    _same(got, expected, f"output_shape of a {layer['type']} layer on {in_shape}")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "layer, in_shape",
    [
        (_linear(10), (16, 5, 5)),
        (_conv(8, 3, groups=3), (4, 8, 8)),
        ({"type": "residual", "branch": [_conv(8, 3, 1, 1)]}, (4, 8, 8)),
    ],
    ids=["linear_on_a_feature_map", "groups_do_not_divide_channels", "residual_shapes_differ"],
)
def test_output_shape_invalid_layers_raise(student, layer, in_shape):
    with pytest.raises(ValueError):
        student.output_shape(layer, in_shape)


# ---------------------------------------------------------------------------------------------
# param_count
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "layer, in_shape, expected",
    [
        # LeNet-5's first convolution: 6 filters of 1 x 5 x 5 weights, and 6 biases: 156.
        (_conv(6, 5), (1, 32, 32), 156),
        # Without bias: 64 * 3 * 3 * 3 = 1728.
        (_conv(64, 3, bias=False), (3, 224, 224), 1728),
        # Kernel pairs: 8 * 3 * (3 * 5) + 8 = 368.
        (_conv(8, (3, 5)), (3, 9, 10), 368),
        # Groups: each filter sees 32 / 4 = 8 channels: 64 * 8 * 9 + 64 = 4672.
        (_conv(64, 3, groups=4), (32, 8, 8), 4672),
        # Depthwise (groups = channels): one 3 x 3 filter per channel, 32 * 1 * 9 = 288.
        (_conv(32, 3, p=1, groups=32, bias=False), (32, 112, 112), 288),
        # Dilation spreads the kernel but adds no weights: 4 * 2 * 9 + 4 = 76.
        (_conv(4, 3, p=2, d=2), (2, 16, 16), 76),
        (_linear(120), (400,), 400 * 120 + 120),
        (_linear(10, bias=False), (84,), 840),
        # A scale and a shift per channel (the running statistics are not parameters).
        (BN, (64, 56, 56), 128),
        (_pool("maxpool", 2), (6, 28, 28), 0),
        (RELU, (6, 28, 28), 0),
        (FLATTEN, (16, 5, 5), 0),
        (GAP, (512, 7, 7), 0),
        # 1x1: 192 * 64 + 128; 1x1 + 3x3: 192 * 96 + 192 + 96 * 128 * 9 + 256;
        # 1x1 + 3x3: 192 * 16 + 32 + 16 * 32 * 9 + 64; pool + 1x1: 192 * 32 + 64.
        (INCEPTION_3A, (192, 28, 28), 12416 + 129472 + 7776 + 6208),
        # Branch 64 * 128 * 9 + 256 + 128 * 128 * 9 + 256; shortcut 64 * 128 + 256.
        (DOWNSAMPLING_BLOCK, (64, 56, 56), 221696 + 8448),
        (IDENTITY_BLOCK, (64, 56, 56), 2 * (64 * 64 * 9 + 128)),
    ],
    ids=[
        "conv_with_bias",
        "conv_without_bias",
        "conv_kernel_pair",
        "conv_groups",
        "conv_depthwise",
        "conv_dilation",
        "linear_with_bias",
        "linear_without_bias",
        "batchnorm",
        "maxpool",
        "relu",
        "flatten",
        "global_avgpool",
        "concat_inception",
        "residual_projection",
        "residual_identity",
    ],
)
def test_param_count_known_answers(student, layer, in_shape, expected):
    got = student.param_count(layer, in_shape)
    _same(got, expected, f"param_count of a {layer['type']} layer on {in_shape}")


# ---------------------------------------------------------------------------------------------
# mac_count
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "layer, in_shape, expected",
    [
        # 6 x 28 x 28 outputs, each 1 * 5 * 5 MACs (the bias is not counted): 117,600.
        (_conv(6, 5), (1, 32, 32), 6 * 28 * 28 * 25),
        # ResNet's first convolution: 64 x 112 x 112 outputs of 3 * 7 * 7 MACs each.
        (_conv(64, 7, 2, 3, bias=False), (3, 224, 224), 64 * 112 * 112 * 147),
        # Counted over the OUTPUT positions: stride 2 makes 4 times fewer than stride 1.
        (_conv(16, 3, 2, 1), (8, 32, 32), 16 * 16 * 16 * 8 * 9),
        # Groups: (32 / 4) * 9 MACs per output element.
        (_conv(64, 3, 1, 1, groups=4), (32, 8, 8), 64 * 8 * 8 * 8 * 9),
        # Depthwise: 9 MACs per output element.
        (_conv(32, 3, 1, 1, groups=32), (32, 112, 112), 32 * 112 * 112 * 9),
        # Kernel pairs: 8 x 5 x 10 outputs of 3 * 3 * 5 MACs.
        (_conv(8, (3, 5), (2, 1), (1, 2)), (3, 9, 10), 8 * 5 * 10 * 45),
        (_linear(120), (400,), 48000),
        (_linear(10, bias=False), (84,), 840),
        (BN, (64, 56, 56), 0),
        (_pool("avgpool", 2), (6, 28, 28), 0),
        (RELU, (6, 28, 28), 0),
        (GAP, (512, 7, 7), 0),
        # 28 * 28 * (64 * 192 + 96 * 192 + 128 * 96 * 9 + 16 * 192 + 32 * 16 * 9 + 32 * 192).
        (INCEPTION_3A, (192, 28, 28), 784 * 155136),
        # 28 * 28 * 128 * (64 * 9 + 128 * 9 + 64): branch and projection.
        (DOWNSAMPLING_BLOCK, (64, 56, 56), 28 * 28 * 128 * (576 + 1152 + 64)),
    ],
    ids=[
        "conv_lenet",
        "conv_stride_2",
        "conv_counted_over_outputs",
        "conv_groups",
        "conv_depthwise",
        "conv_pairs",
        "linear_with_bias",
        "linear_without_bias",
        "batchnorm",
        "avgpool",
        "relu",
        "global_avgpool",
        "concat_inception",
        "residual_projection",
    ],
)
def test_mac_count_known_answers(student, layer, in_shape, expected):
    got = student.mac_count(layer, in_shape)
    _same(got, expected, f"mac_count of a {layer['type']} layer on {in_shape}")


# ---------------------------------------------------------------------------------------------
# receptive_field
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "layer, rf, jump, expected",
    [
        # From the input (r = 1, j = 1), a 3 x 3 convolution sees 3 x 3 pixels.
        (_conv(8, 3, p=1), (1, 1), (1, 1), ((3, 3), (1, 1))),
        # After two 3 x 3 convolutions (r = 5): one more makes 7, as one 7 x 7 does.
        (_conv(8, 3, p=1), (5, 5), (1, 1), ((7, 7), (1, 1))),
        (_conv(8, 7, p=3), (1, 1), (1, 1), ((7, 7), (1, 1))),
        # A stride multiplies the jump; padding changes nothing.
        (_conv(8, 3, 2, 1), (1, 1), (1, 1), ((3, 3), (2, 2))),
        # After a stride 2 the kernel's elements are 2 pixels apart: 3 + (3 - 1) * 2 = 7.
        (_conv(8, 3, p=1), (3, 3), (2, 2), ((7, 7), (2, 2))),
        # The jump BEFORE the layer counts, not the layer's own stride: 7 + 2 * 4 = 15.
        (_conv(8, 3, 2, 1), (7, 7), (4, 4), ((15, 15), (8, 8))),
        # Dilation 2: k_eff = 5, so 1 + 4 * 1 = 5.
        (_conv(8, 3, p=2, d=2), (1, 1), (1, 1), ((5, 5), (1, 1))),
        # Pairs (height, width): H 3 + 2 * 2 = 7, W 3 + 4 * 2 = 11; jumps 2 * 2, 2 * 1.
        (_conv(8, (3, 5), (2, 1), (1, 2)), (3, 3), (2, 2), ((7, 11), (4, 2))),
        # Max pooling 2 x 2, stride 2: 5 + 1 * 1 = 6, the jump doubles.
        (_pool("maxpool", 2), (5, 5), (1, 1), ((6, 6), (2, 2))),
        (_pool("avgpool", 3, 2, ceil_mode=True), (6, 6), (2, 2), ((10, 10), (4, 4))),
        (RELU, (5, 5), (2, 2), ((5, 5), (2, 2))),
        (BN, (5, 5), (2, 2), ((5, 5), (2, 2))),
        # By convention the layers that end the spatial part keep their input's numbers.
        (FLATTEN, (16, 16), (4, 4), ((16, 16), (4, 4))),
        (GAP, (16, 16), (4, 4), ((16, 16), (4, 4))),
        (_linear(10), (16, 16), (4, 4), ((16, 16), (4, 4))),
        # The largest branch: the 3 x 3 ones and the 3 x 3 pooling, 11 + 2 * 4 = 19.
        (INCEPTION_3A, (11, 11), (4, 4), ((19, 19), (4, 4))),
        # The branch: 11 + 2 * 4 = 19 (jump 8), then 19 + 2 * 8 = 35; the shortcut: 11, jump 8.
        (DOWNSAMPLING_BLOCK, (11, 11), (4, 4), ((35, 35), (8, 8))),
        (IDENTITY_BLOCK, (11, 11), (4, 4), ((27, 27), (4, 4))),
    ],
    ids=[
        "conv3_from_input",
        "third_conv3",
        "conv7_from_input",
        "stride_multiplies_jump",
        "after_a_stride",
        "jump_before_the_layer",
        "dilation",
        "pairs",
        "maxpool",
        "avgpool_ceil_mode",
        "relu",
        "batchnorm",
        "flatten",
        "global_avgpool",
        "linear",
        "concat_inception",
        "residual_projection",
        "residual_identity",
    ],
)
def test_receptive_field_known_answers(student, layer, rf, jump, expected):
    got = student.receptive_field(layer, rf, jump)
    _same(got, expected, f"receptive_field of a {layer['type']} layer from rf={rf}, jump={jump}")


# ---------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------


def _summary(student, layers, in_shape):
    got = student.summarize(layers, in_shape)
    keys = {"layers", "output_shape", "params", "macs", "receptive_field", "jump"}
    assert isinstance(got, dict) and set(got) == keys, (
        f"summarize must return a dict with the keys {sorted(keys)}, got {got!r:.300}"
    )
    assert isinstance(got["layers"], list | tuple) and len(got["layers"]) == len(layers), (
        f"summarize's 'layers' must hold one row per layer ({len(layers)}), "
        f"got {got['layers']!r:.300}"
    )
    return _plain(got)


@pytest.mark.points(1)
def test_summarize_gives_shapes_and_pairs_as_tuples_of_ints(student):
    # The docstring's types: a list holding the right numbers passes the other tests.
    _summary(student, LENET5, (1, 32, 32))  # the keys and rows, checked
    got = student.summarize(LENET5, (1, 32, 32))  # as returned
    for where, values in [("summarize's", got)] + [
        (f"summarize's row {i}", row) for i, row in enumerate(got["layers"])
    ]:
        assert_tuple_of_ints(values.get("output_shape"), f"{where} output_shape")
        for key in ("receptive_field", "jump"):
            assert_tuple_of_ints(values.get(key), f"{where} {key}", 2)


@pytest.mark.points(2)
@EVERY_BACKEND
def test_summarize_lenet5_totals(student):
    # 156 + 2416 + 48120 + 10164 + 850 = 61,706 parameters, 78% of them in the first linear
    # layer; 117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520 MACs. The last feature map
    # (16 x 5 x 5) has r = 16: 5, then 6 (pool), 6 + 4 * 2 = 14, 14 + 1 * 2 = 16; jump 4.
    got = _summary(student, LENET5, (1, 32, 32))
    _same(got["output_shape"], (10,), "LeNet-5's output shape")
    _same(got["params"], 61706, "LeNet-5's parameters")
    _same(got["macs"], 416520, "LeNet-5's MACs")
    _same(got["receptive_field"], (16, 16), "LeNet-5's receptive field")
    _same(got["jump"], (4, 4), "LeNet-5's jump")


@pytest.mark.points(2)
def test_summarize_lenet5_table(student):
    got = _summary(student, LENET5, (1, 32, 32))
    rows = got["layers"]
    columns = {
        "output_shape": [
            (6, 28, 28),
            (6, 28, 28),
            (6, 14, 14),
            (16, 10, 10),
            (16, 10, 10),
            (16, 5, 5),
            (400,),
            (120,),
            (120,),
            (84,),
            (84,),
            (10,),
        ],
        "params": [156, 0, 0, 2416, 0, 0, 0, 48120, 0, 10164, 0, 850],
        "macs": [117600, 0, 0, 240000, 0, 0, 0, 48000, 0, 10080, 0, 840],
        "receptive_field": [(r, r) for r in (5, 5, 6, 14, 14, 16, 16, 16, 16, 16, 16, 16)],
        "jump": [(j, j) for j in (1, 1, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4)],
    }
    for key, expected in columns.items():
        _same([row.get(key) for row in rows], tuple(expected), f"LeNet-5's {key} column")


@pytest.mark.points(1)
def test_summarize_three_3x3_against_one_7x7(student):
    # VGG's argument: three 3 x 3 convolutions see 7 x 7 pixels, as one 7 x 7 does, with
    # 3 * 9 C^2 = 27 C^2 weights instead of 49 C^2 (and two more ReLUs).
    three = [_conv(64, 3, p=1, bias=False), RELU] * 3
    one = [_conv(64, 7, p=3, bias=False), RELU]
    got_three = _summary(student, three, (64, 56, 56))
    got_one = _summary(student, one, (64, 56, 56))
    _same(got_three["params"], 27 * 64 * 64, "three 3x3 convolutions' parameters")
    _same(got_one["params"], 49 * 64 * 64, "one 7x7 convolution's parameters")
    _same(got_three["macs"], 27 * 64 * 64 * 56 * 56, "three 3x3 convolutions' MACs")
    _same(got_three["receptive_field"], (7, 7), "three 3x3 convolutions' receptive field")
    _same(got_one["receptive_field"], (7, 7), "one 7x7 convolution's receptive field")


@pytest.mark.points(0.5)
def test_summarize_empty_network(student):
    got = _summary(student, [], (3, 32, 32))
    expected = {
        "layers": (),
        "output_shape": (3, 32, 32),
        "params": 0,
        "macs": 0,
        "receptive_field": (1, 1),
        "jump": (1, 1),
    }
    _same(got, expected, "summarize of no layers")
