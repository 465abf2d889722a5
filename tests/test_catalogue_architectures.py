"""The architectures mistakes whose outputs the hints compute themselves are the mistakes
students make: each computed output equals a direct, naive implementation of the mistake (the
numbers worked out below), its hint names it, and no other hint of the catalogue does.

The hints recompute the module's arithmetic with a mistake made (``_Mistaken`` in
``assignments/architectures/hints.py``); made without a mistake, it gives the reference's
numbers on every classic network and on the hidden suite's random stacks."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from autograder.core.assignments import ASSIGNMENTS_DIR
from autograder.suite.hints import Call, diagnose
from solutions import architectures


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HINTS = _load(ASSIGNMENTS_DIR / "architectures" / "hints.py", "_architectures_catalogue")
CATALOGUE = {
    name: getattr(HINTS, name)
    for name in (
        "PADDING_ONCE",
        "CEIL_IGNORED",
        "CEIL_UNCLIPPED",
        "DILATION",
        "GROUPS",
        "BIAS_CONV",
        "BIAS_LINEAR",
        "BIAS_ALL",
        "BN_RUNNING",
        "RF_STRIDE",
        "RF_JUMP_AFTER",
        "MACS_BIAS",
        "MACS_INPUT",
        "FLOPS",
        "POOL_STRIDE",
        "PAIRS_SWAPPED",
        "CONCAT_CHANNELS",
        "RESIDUAL_CHANNELS",
        "BN_SCALE_ONLY",
        "SHORTCUT_LEFT_OUT",
        "RF_JUMP_KEPT",
        "DILATION_SPAN",
        "CEIL_PLUS_STRIDE",
        "TRUE_DIVISION",
        "CONV_KEEPS_CHANNELS",
        "GAP_KEEPS_MAP",
        "BIAS_FALSE_COUNTED",
        "GROUPS_BOTH",
        "SQUARE_KERNEL",
        "POOL_MACS",
        "COMPOSITE_ZERO",
        "RF_NO_JUMP",
        "JUMP_OWN_STRIDE",
        "COMPOSITE_RF_KEPT",
        "FIRST_BRANCH_RF",
        "RF_TOP_DOWN",
        "RF_NOT_CHAINED",
        "ONE_ROW_DICT",
        "ROWS_INPUT_SHAPE",
    )
}
conv, linear, relu, flatten = (
    architectures.conv,
    architectures.linear,
    architectures.relu,
    architectures.flatten,
)
SMALL_NET = [conv(8, 3, padding=1), relu(), conv(16, 3, 2, 1), flatten(), linear(10)]


def _hints(function, args, result, kwargs=None):
    return diagnose(architectures, [Call(function, args, kwargs or {}, result)])


def _only(name, hints):
    """The hint ``name`` is named, alone, and no other hint of the catalogue appears."""
    assert any(CATALOGUE[name] in h for h in hints), hints
    others = [
        key for key, text in CATALOGUE.items() if key != name and any(text in h for h in hints)
    ]
    assert not others, (others, hints)
    assert not any("mistakes each give exactly" in h for h in hints), hints


def _summary_with(layers, in_shape, **columns):
    """The reference's summary with some rows' columns replaced: ``params={3: 42}``."""
    summary = architectures.summarize(layers, in_shape)
    for key, rows in columns.items():
        for index, value in rows.items():
            summary["layers"][index][key] = value
        if key in ("params", "macs"):
            summary[key] = sum(row[key] for row in summary["layers"])
        else:
            summary[key] = summary["layers"][-1][key]
    return summary


def test_padding_counted_once():
    # (224 + 1 - 3) / 1 + 1 = 223; the (3, 5) kernel with padding (1, 2) on 9 x 10, stride
    # (2, 1): floor((9 + 1 - 3) / 2) + 1 = 4 and (10 + 2 - 5) + 1 = 8.
    _only("PADDING_ONCE", _hints("conv_output_size", (224, 3, 1, 1), 223))
    layer = conv(8, (3, 5), (2, 1), (1, 2))
    _only("PADDING_ONCE", _hints("output_shape", (layer, (3, 9, 10)), (8, 4, 8)))


def test_ceil_mode_ignored_and_unclipped():
    pool = architectures.maxpool(3, 2, ceil_mode=True)
    _only("CEIL_IGNORED", _hints("output_shape", (pool, (64, 112, 112)), (64, 55, 55)))
    # ceil((4 + 2 - 2) / 3) + 1 = 3, the window starting in the right padding kept
    _only("CEIL_UNCLIPPED", _hints("conv_output_size", (4, 2, 3, 1), 3, {"ceil_mode": True}))


def test_dilation_left_out_of_the_effective_kernel():
    _only("DILATION", _hints("conv_output_size", (10, 3), 8, {"dilation": 2}))
    layer = conv(8, 3, padding=2, dilation=2)
    _only("DILATION", _hints("receptive_field", (layer, (1, 1), (1, 1)), ((3, 3), (1, 1))))


def test_groups_left_out():
    depthwise = conv(32, 3, padding=1, groups=32, bias=False)
    _only("GROUPS", _hints("param_count", (depthwise, (32, 56, 56)), 32 * 32 * 9))
    _only("GROUPS", _hints("mac_count", (depthwise, (32, 56, 56)), 32 * 56 * 56 * 32 * 9))


def test_biases_forgotten():
    _only("BIAS_CONV", _hints("param_count", (conv(64, 3), (3, 32, 32)), 64 * 3 * 9))
    _only("BIAS_LINEAR", _hints("param_count", (linear(10), (84,)), 840))
    # SMALL_NET's parameters: 8 * 3 * 9 (+ 8), 16 * 8 * 9 (+ 16), 10 * 16 * 4 * 4 (+ 10)
    no_biases = _summary_with(SMALL_NET, (3, 8, 8), params={0: 216, 2: 1152, 4: 2560})
    _only("BIAS_ALL", _hints("summarize", (SMALL_NET, (3, 8, 8)), no_biases))
    conv_biases = _summary_with(SMALL_NET, (3, 8, 8), params={0: 216, 2: 1152})
    _only("BIAS_CONV", _hints("summarize", (SMALL_NET, (3, 8, 8)), conv_biases))


def test_batch_norm_with_its_running_statistics():
    bn = architectures.batchnorm()
    _only("BN_RUNNING", _hints("param_count", (bn, (64, 56, 56)), 4 * 64))


def test_receptive_field_grown_by_the_wrong_stride():
    layers = [conv(4, 3, 2, 1), conv(4, 3, padding=1), conv(4, 3, padding=1)]
    # right: r = 3, 3 + 2 * 2 = 7, 11 (jumps 2, 2, 2). The layer's own stride (2, then 1, 1):
    # 1 + 2 * 2 = 5, 5 + 2 = 7, 9. The jump after the layer (2, 2, 2): 5, 9, 13.
    own = _summary_with(layers, (4, 32, 32), receptive_field={0: (5, 5), 1: (7, 7), 2: (9, 9)})
    _only("RF_STRIDE", _hints("summarize", (layers, (4, 32, 32)), own))
    after = _summary_with(layers, (4, 32, 32), receptive_field={0: (5, 5), 1: (9, 9), 2: (13, 13)})
    _only("RF_JUMP_AFTER", _hints("summarize", (layers, (4, 32, 32)), after))
    # a stride-2 layer after a jump of 4: right 5 + 2 * 4 = 13; the own stride: 5 + 2 * 2 = 9
    own_stride = ((9, 9), (8, 8))
    _only("RF_STRIDE", _hints("receptive_field", (layers[0], (5, 5), (4, 4)), own_stride))


def test_macs_with_the_bias_over_the_inputs_or_as_flops():
    # 6 x 28 x 28 outputs of 25 MACs, and one more each for the bias
    layer = conv(6, 5)
    _only("MACS_BIAS", _hints("mac_count", (layer, (1, 32, 32)), 6 * 28 * 28 * 26))
    # stride 2 on 32 x 32: counted over the 32 x 32 inputs instead of the 16 x 16 outputs
    layer = conv(16, 3, 2, 1)
    _only("MACS_INPUT", _hints("mac_count", (layer, (8, 32, 32)), 16 * 32 * 32 * 8 * 9))
    _only("FLOPS", _hints("mac_count", (linear(120), (400,)), 2 * 400 * 120))


def test_pooling_stride_taken_as_one_and_pairs_read_width_first():
    pool = {"type": "maxpool", "kernel_size": 2}  # no stride: the kernel's, 2
    _only("POOL_STRIDE", _hints("output_shape", (pool, (6, 28, 28)), (6, 27, 27)))
    # kernel (3, 5), stride (2, 1), padding (1, 2) read as (5, 3), (1, 2), (2, 1) on 9 x 10:
    # (9 + 4 - 5) / 1 + 1 = 9 rows, floor((10 + 2 - 3) / 2) + 1 = 5 columns
    layer = conv(8, (3, 5), (2, 1), (1, 2))
    _only("PAIRS_SWAPPED", _hints("output_shape", (layer, (3, 9, 10)), (8, 9, 5)))


INCEPTION = architectures.concat(
    [conv(64, 1)], [conv(96, 1), conv(128, 3, padding=1)], [conv(32, 1)]
)
BLOCK = architectures.residual(
    [conv(128, 3, 2, 1, bias=False), architectures.batchnorm(), relu(), conv(128, 3, 1, 1)],
    [conv(128, 1, 2, bias=False), architectures.batchnorm()],
)


def test_add_and_concatenate_confused():
    _only("CONCAT_CHANNELS", _hints("output_shape", (INCEPTION, (192, 28, 28)), (64, 28, 28)))
    _only("RESIDUAL_CHANNELS", _hints("output_shape", (BLOCK, (64, 56, 56)), (256, 28, 28)))


def test_batch_norm_scale_only_and_the_shortcut_left_out():
    bn = architectures.batchnorm()
    _only("BN_SCALE_ONLY", _hints("param_count", (bn, (64, 56, 56)), 64))
    # the branch: 64 * 128 * 9 + 256 + 128 * 128 * 9 + 128; 28 x 28 x 128 outputs of 64 * 9
    # and 128 * 9 MACs
    branch_params = 64 * 128 * 9 + 256 + 128 * 128 * 9 + 128
    _only("SHORTCUT_LEFT_OUT", _hints("param_count", (BLOCK, (64, 56, 56)), branch_params))
    branch_macs = 28 * 28 * 128 * (64 * 9 + 128 * 9)
    _only("SHORTCUT_LEFT_OUT", _hints("mac_count", (BLOCK, (64, 56, 56)), branch_macs))


def test_jump_kept_through_a_stride():
    layer = conv(8, 3, 2, 1)  # right: 3 + 2 * 4 = 11, jump 4 * 2 = 8
    _only("RF_JUMP_KEPT", _hints("receptive_field", (layer, (3, 3), (4, 4)), ((11, 11), (4, 4))))


def test_dilated_kernel_spanning_d_times_k():
    # k_eff taken as 2 * 3 = 6 instead of 2 * 2 + 1 = 5: 10 - 6 + 1 = 5 (right: 6)
    _only("DILATION_SPAN", _hints("conv_output_size", (10, 3), 5, {"dilation": 2}))
    layer = conv(8, 3, padding=2, dilation=2)  # 16 + 4 - 6 + 1 = 15 (right: 16)
    _only("DILATION_SPAN", _hints("output_shape", (layer, (3, 16, 16)), (8, 15, 15)))
    # the receptive field: 1 + (6 - 1) * 1 = 6 (right: 5)
    _only("DILATION_SPAN", _hints("receptive_field", (layer, (1, 1), (1, 1)), ((6, 6), (1, 1))))


def test_dilated_span_in_a_summary():
    layers = [conv(4, 3, padding=2, dilation=2), relu(), architectures.maxpool(2)]
    # a span of 6: 16 + 4 - 6 + 1 = 15 (right: 16), 4 x 15 x 15 outputs of 27 MACs; pooled
    # floor(13 / 2) + 1 = 7; receptive fields 1 + 5 = 6, then 6 + 1 = 7 (right: 5 and 6)
    wrong = _summary_with(
        layers,
        (3, 16, 16),
        output_shape={0: (4, 15, 15), 1: (4, 15, 15), 2: (4, 7, 7)},
        macs={0: 4 * 15 * 15 * 27},
        receptive_field={0: (6, 6), 1: (6, 6), 2: (7, 7)},
    )
    _only("DILATION_SPAN", _hints("summarize", (layers, (3, 16, 16)), wrong))


def test_ceil_mode_rounding_up_one_too_many():
    def ceil_size(size, k, s, p=0):
        span = size + 2 * p - k
        out = (span + s) // s + 1  # meant as a ceiling
        return out - 1 if (out - 1) * s >= size + p else out

    # span 13 - 3 = 10, which the stride 2 divides: 10 / 2 + 1 = 6, the mistake 7
    wrong = ceil_size(13, 3, 2)
    assert wrong == 7
    _only("CEIL_PLUS_STRIDE", _hints("conv_output_size", (13, 3, 2), wrong, {"ceil_mode": True}))
    pool = architectures.maxpool(3, 2, ceil_mode=True)
    got = (64, ceil_size(13, 3, 2), ceil_size(13, 3, 2))
    _only("CEIL_PLUS_STRIDE", _hints("output_shape", (pool, (64, 13, 13)), got))


def test_output_size_by_true_division():
    # (224 + 4 - 11) / 4 + 1 = 55.25; (8 - 3) / 2 + 1 = 3.5
    _only("TRUE_DIVISION", _hints("conv_output_size", (224, 11, 4, 2), (224 + 4 - 11) / 4 + 1))
    _only("TRUE_DIVISION", _hints("output_shape", (conv(8, 3, 2), (3, 8, 8)), (8, 3.5, 3.5)))


def test_convolution_keeping_the_input_channels():
    layer = conv(16, 3, padding=1)
    _only("CONV_KEEPS_CHANNELS", _hints("output_shape", (layer, (3, 32, 32)), (3, 32, 32)))
    # MACs over the (3, 32, 32) output it believes in, 27 per element
    _only("CONV_KEEPS_CHANNELS", _hints("mac_count", (layer, (3, 32, 32)), 3 * 32 * 32 * 27))


def test_global_average_pooling_keeping_a_1x1_map():
    gap = architectures.global_avgpool()
    _only("GAP_KEEPS_MAP", _hints("output_shape", (gap, (512, 7, 7)), (512, 1, 1)))


def test_biases_counted_where_bias_is_false():
    def params(out, c_in, k, bias):  # bias never looked at
        return out * c_in * k * k + out

    layer = conv(64, 3, padding=1, bias=False)
    wrong = params(64, 64, 3, bias=False)
    _only("BIAS_FALSE_COUNTED", _hints("param_count", (layer, (64, 56, 56)), wrong))
    # SMALL_NET's convolutions without their biases, counted with them all the same
    layers = [conv(8, 3, padding=1, bias=False), relu(), conv(16, 3, 2, 1, bias=False)]
    counted = _summary_with(layers, (3, 8, 8), params={0: 216 + 8, 2: 1152 + 16})
    _only("BIAS_FALSE_COUNTED", _hints("summarize", (layers, (3, 8, 8)), counted))


def test_groups_dividing_the_filters_too():
    # 64 filters of 32 / 4 = 8 channels: 64 * 8 * 9 weights; the mistake 16 * 8 * 9
    grouped = conv(64, 3, padding=1, groups=4, bias=False)
    _only("GROUPS_BOTH", _hints("param_count", (grouped, (32, 28, 28)), 16 * 8 * 9))
    depthwise = conv(32, 3, padding=1, groups=32)  # 32 * 1 * 9 + 32; the mistake 1 * 9 + 32
    _only("GROUPS_BOTH", _hints("param_count", (depthwise, (32, 28, 28)), 9 + 32))


def test_square_kernel_assumed():
    def weights(out, c_in, kernel):
        k = kernel[0] if isinstance(kernel, list | tuple) else kernel
        return out * c_in * k * k

    layer = conv(8, (1, 7), padding=(0, 3))
    _only("SQUARE_KERNEL", _hints("param_count", (layer, (4, 10, 10)), weights(8, 4, (1, 7)) + 8))
    # a (3, 5) kernel on 10 x 10: 8 x 8 x 6 outputs of 4 * 3 * 5 MACs; the mistake 4 * 3 * 3
    layer = conv(8, (3, 5))
    _only("SQUARE_KERNEL", _hints("mac_count", (layer, (4, 10, 10)), 8 * 8 * 6 * weights(1, 4, 3)))


def test_macs_with_the_bias_of_one_kind_of_layer_only():
    # SMALL_NET's MACs: 8 x 8 x 8 outputs of 27, 16 x 4 x 4 of 72, and 256 * 10; the bias of
    # each output element counted as one more MAC
    convs = _summary_with(SMALL_NET, (3, 8, 8), macs={0: 512 * 28, 2: 256 * 73})
    _only("MACS_BIAS", _hints("summarize", (SMALL_NET, (3, 8, 8)), convs))
    linears = _summary_with(SMALL_NET, (3, 8, 8), macs={4: 257 * 10})
    _only("MACS_BIAS", _hints("summarize", (SMALL_NET, (3, 8, 8)), linears))
    _only("MACS_BIAS", _hints("mac_count", (linear(10), (84,)), (84 + 1) * 10))


def test_pooling_counted_with_macs():
    pool = architectures.maxpool(2)  # 6 x 14 x 14 outputs, each the max of 2 * 2 inputs
    _only("POOL_MACS", _hints("mac_count", (pool, (6, 28, 28)), 6 * 14 * 14 * 4))
    avg = architectures.avgpool(3, 2, 1)
    _only("POOL_MACS", _hints("mac_count", (avg, (8, 9, 9)), 8 * 5 * 5 * 9))


def test_composite_layers_counted_as_zero():
    def count(layer, shape):  # no case for the composite layers: they fall through
        if layer["type"] == "conv":
            return architectures.mac_count(layer, shape)
        return 0

    _only("COMPOSITE_ZERO", _hints("mac_count", (INCEPTION, (192, 28, 28)), count(INCEPTION, 0)))
    _only("COMPOSITE_ZERO", _hints("param_count", (BLOCK, (64, 56, 56)), count(BLOCK, 0)))


def test_composite_layers_counted_as_zero_in_a_summary():
    layers = [INCEPTION, architectures.batchnorm()]
    both = _summary_with(layers, (192, 28, 28), params={0: 0}, macs={0: 0})
    _only("COMPOSITE_ZERO", _hints("summarize", (layers, (192, 28, 28)), both))
    macs = _summary_with(layers, (192, 28, 28), macs={0: 0})
    _only("COMPOSITE_ZERO", _hints("summarize", (layers, (192, 28, 28)), macs))


def _rf_student(layer, rf, jump, grow):
    """A student's receptive_field of one convolution, square: ``grow(r, j, k, s)``."""
    k, s = layer["kernel_size"], layer["stride"]
    return grow(rf[0], jump[0], k, s)


def test_receptive_field_grown_without_the_jump():
    layer = conv(4, 3, 2, 1)  # from r = 5, jump 4: right 5 + 2 * 4 = 13, jump 8

    def grow(r, j, k, s):
        return ((r + (k - 1),) * 2, (j * s,) * 2)

    got = _rf_student(layer, (5, 5), (4, 4), grow)
    _only("RF_NO_JUMP", _hints("receptive_field", (layer, (5, 5), (4, 4)), got))
    # a 5 x 5, then a stride-2 3 x 3, then a 3 x 3: right 5, 7, 7 + 2 * 2 = 11; grown by 2 each
    layers = [conv(4, 5, padding=2), conv(4, 3, 2, 1), conv(4, 3, padding=1)]
    wrong = _summary_with(layers, (4, 32, 32), receptive_field={2: (9, 9)})
    _only("RF_NO_JUMP", _hints("summarize", (layers, (4, 32, 32)), wrong))


def test_jump_set_to_the_layer_stride():
    layer = conv(8, 3, 2, 1)  # right: 3 + 2 * 4 = 11, jump 4 * 2 = 8

    def grow(r, j, k, s):
        return ((r + (k - 1) * j,) * 2, (s,) * 2)

    got = _rf_student(layer, (3, 3), (4, 4), grow)
    _only("JUMP_OWN_STRIDE", _hints("receptive_field", (layer, (3, 3), (4, 4)), got))


def test_receptive_field_by_the_top_down_recursion():
    layer = conv(4, 3, 2, 1)  # from r = 5, jump 4: right 13; s * r + k - s = 10 + 1 = 11

    def grow(r, j, k, s):
        return ((s * r + (k - s),) * 2, (j * s,) * 2)

    got = _rf_student(layer, (5, 5), (4, 4), grow)
    _only("RF_TOP_DOWN", _hints("receptive_field", (layer, (5, 5), (4, 4)), got))
    # the 5 x 5, stride-2 3 x 3, 3 x 3 stack: 5, 2 * 5 + 1 = 11, 13 (right: 5, 7, 11)
    layers = [conv(4, 5, padding=2), conv(4, 3, 2, 1), conv(4, 3, padding=1)]
    wrong = _summary_with(layers, (4, 32, 32), receptive_field={1: (11, 11), 2: (13, 13)})
    _only("RF_TOP_DOWN", _hints("summarize", (layers, (4, 32, 32)), wrong))


def test_composite_layers_passed_through():
    # the block's branch sees 3, then 3 + 2 * 2 = 7 pixels (jump 2); passed through: unchanged
    _only("COMPOSITE_RF_KEPT", _hints("receptive_field", (BLOCK, (1, 1), (1, 1)), ((1, 1),) * 2))


def test_composite_layers_given_their_first_branch():
    two = architectures.concat([conv(8, 3, padding=1)], [conv(8, 5, padding=2)])
    # the first branch's 3 x 3 instead of the largest, the second's 5 x 5
    first = architectures.receptive_field(two["branches"][0][0])
    _only("FIRST_BRANCH_RF", _hints("receptive_field", (two, (1, 1), (1, 1)), first))


def _student_summary(layers, in_shape, bug):
    """A student's summarize, built on the reference's functions, with one ``bug``."""
    shape, rf, jump, rows, row = tuple(in_shape), (1, 1), (1, 1), [], {}
    for layer in layers:
        params = architectures.param_count(layer, shape)
        macs = architectures.mac_count(layer, shape)
        before, shape = shape, architectures.output_shape(layer, shape)
        if bug == "unchained":
            rf, jump = architectures.receptive_field(layer)
        else:
            rf, jump = architectures.receptive_field(layer, rf, jump)
        if bug != "one row":
            row = {}
        row.update(params=params, macs=macs, receptive_field=rf, jump=jump)
        row["output_shape"] = before if bug == "input shape" else shape
        rows.append(row)
    return {
        "output_shape": shape,
        "params": sum(r["params"] for r in rows),
        "macs": sum(r["macs"] for r in rows),
        "receptive_field": rf,
        "jump": jump,
        "layers": rows,
    }


LENET = architectures.NETWORKS["lenet5"]


def test_summary_rows_with_unchained_receptive_fields():
    got = _student_summary(LENET["layers"], LENET["input_shape"], "unchained")
    _only("RF_NOT_CHAINED", _hints("summarize", (LENET["layers"], LENET["input_shape"]), got))


def test_summary_rows_all_one_dict():
    got = _student_summary(LENET["layers"], LENET["input_shape"], "one row")
    _only("ONE_ROW_DICT", _hints("summarize", (LENET["layers"], LENET["input_shape"]), got))


def test_summary_rows_holding_the_input_shape():
    got = _student_summary(LENET["layers"], LENET["input_shape"], "input shape")
    _only("ROWS_INPUT_SHAPE", _hints("summarize", (LENET["layers"], LENET["input_shape"]), got))


def test_right_results_get_no_hint():
    for network in architectures.NETWORKS.values():
        layers, in_shape = network["layers"], network["input_shape"]
        right = architectures.summarize(layers, in_shape)
        assert _hints("summarize", (layers, in_shape), right) == []


@pytest.fixture(scope="module")
def hidden_stacks():
    hidden = _load(
        ASSIGNMENTS_DIR / "architectures" / "hidden" / "test_architectures_hidden.py",
        "_architectures_hidden_stacks",
    )
    return [hidden._random_stack(np.random.default_rng(seed), architectures) for seed in range(40)]


def test_the_hints_arithmetic_without_a_mistake_is_the_reference(hidden_stacks):
    networks = [(n["layers"], n["input_shape"]) for n in architectures.NETWORKS.values()]
    right = HINTS._Mistaken()
    for layers, in_shape in networks + hidden_stacks:
        assert right.summary(layers, in_shape) == architectures.summarize(layers, in_shape)
