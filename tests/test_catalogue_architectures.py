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
    _only("RF_STRIDE", _hints("receptive_field", (layers[1], (3, 3), (2, 2)), ((5, 5), (2, 2))))


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
    layer = conv(8, 3, 2, 1)  # right: 3 + 2 * 2 = 7, jump 2 * 2 = 4
    _only("RF_JUMP_KEPT", _hints("receptive_field", (layer, (3, 3), (2, 2)), ((7, 7), (2, 2))))


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
