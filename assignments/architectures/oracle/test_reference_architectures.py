"""The reference's numbers against PyTorch and the published figures.

* The seven classic networks, built here by hand with ``torch.nn`` as torchvision builds them
  (torchvision itself is not needed): their parameters (from the modules), output shapes (a
  forward pass) and multiply-accumulates (PyTorch's FLOP counter, two FLOPs per MAC) equal the
  reference's totals and the published parameter counts.
* Every spec (the classic networks' and the hidden suite's random stacks) built as a
  ``torch.nn`` module layer by layer: each layer's output shape, parameters and MACs.
* Receptive fields and jumps measured through gradients: the extent of the input pixels on
  which the centre output of the network's last feature map depends (the nonzero part of
  ``d out[centre] / d input``), and how far it moves for the next output; each spatial
  dimension apart, through the layers' 1-D counterparts.
* ``conv_output_size`` against ``conv2d`` and ``max_pool2d`` (``ceil_mode`` too).

The big networks live on PyTorch's ``meta`` device: shapes and counts without memory or time.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from solutions import architectures as arch

HIDDEN = Path(__file__).parents[1] / "hidden" / "test_architectures_hidden.py"

PUBLISHED_PARAMS = {
    "lenet5": 61_706,  # the kit's lenet assignment
    "alexnet": 61_100_840,  # torchvision.models.alexnet
    "vgg16": 138_357_544,  # torchvision.models.vgg16
    "googlenet": 6_624_904,  # torchvision.models.googlenet(aux_logits=False)
    "resnet18": 11_689_512,  # torchvision.models.resnet18
    "resnet50": 25_557_032,  # torchvision.models.resnet50
    "mobilenet_v1": 4_231_976,  # Keras's MobileNet (trainable parameters), 1000 classes
}
PUBLISHED_GMACS = {  # torchvision's model table ("GFLOPS", counted as multiply-adds); the paper
    "alexnet": 0.71,
    "vgg16": 15.47,
    "googlenet": 1.50,
    "resnet18": 1.81,
    "resnet50": 4.09,
    "mobilenet_v1": 0.569,  # Howard et al. 2017, Table 1: 569 million mult-adds
}


# ---------------------------------------------------------------------------------------------
# The classic networks by hand, as torchvision writes them
# ---------------------------------------------------------------------------------------------


def _lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def _alexnet() -> nn.Module:
    features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    )  # fmt: skip
    classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000),
    )  # fmt: skip
    return nn.Sequential(features, nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(), classifier)


def _vgg16() -> nn.Module:
    layers: list[nn.Module] = []
    channels = 3
    plan = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", *[512, 512, 512, "M"] * 2]
    for width in plan:
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
    classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000),
    )  # fmt: skip
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(), classifier)


class _BasicConv2d(nn.Sequential):  # torchvision's googlenet.BasicConv2d
    def __init__(self, cin: int, cout: int, **kwargs) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, bias=False, **kwargs), nn.BatchNorm2d(cout, eps=0.001), nn.ReLU()
        )


class _Inception(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pp: int) -> None:
        super().__init__()
        self.b1 = _BasicConv2d(cin, c1, kernel_size=1)
        self.b2 = nn.Sequential(
            _BasicConv2d(cin, c3r, kernel_size=1), _BasicConv2d(c3r, c3, kernel_size=3, padding=1)
        )
        self.b3 = nn.Sequential(  # torchvision's "5x5" branch is a 3x3 convolution
            _BasicConv2d(cin, c5r, kernel_size=1), _BasicConv2d(c5r, c5, kernel_size=3, padding=1)
        )
        self.b4 = nn.Sequential(
            nn.MaxPool2d(3, 1, 1, ceil_mode=True), _BasicConv2d(cin, pp, kernel_size=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def _googlenet() -> nn.Module:
    return nn.Sequential(
        _BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        _BasicConv2d(64, 64, kernel_size=1),
        _BasicConv2d(64, 192, kernel_size=3, padding=1),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        _Inception(192, 64, 96, 128, 16, 32, 32),
        _Inception(256, 128, 128, 192, 32, 96, 64),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        _Inception(480, 192, 96, 208, 16, 48, 64),
        _Inception(512, 160, 112, 224, 24, 64, 64),
        _Inception(512, 128, 128, 256, 24, 64, 64),
        _Inception(512, 112, 144, 288, 32, 64, 64),
        _Inception(528, 256, 160, 320, 32, 128, 128),
        nn.MaxPool2d(2, 2, ceil_mode=True),
        _Inception(832, 256, 160, 320, 32, 128, 128),
        _Inception(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(1024, 1000),
    )


class _Block(nn.Module):
    """torchvision's BasicBlock (``bottleneck=False``) or Bottleneck (stride on the 3x3)."""

    def __init__(self, cin: int, width: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        cout = 4 * width if bottleneck else width
        if bottleneck:
            self.branch = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(), nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )  # fmt: skip
        else:
            self.branch = nn.Sequential(
                nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
            )  # fmt: skip
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.branch(x) + self.shortcut(x))


def _resnet(bottleneck: bool, blocks: tuple[int, ...]) -> nn.Module:
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    channels = 64
    for stage, count in enumerate(blocks):
        width = 64 * 2**stage
        for index in range(count):
            layers.append(_Block(channels, width, 2 if stage and not index else 1, bottleneck))
            channels = 4 * width if bottleneck else width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 1000))


def _mobilenet_v1() -> nn.Module:
    def conv_bn(cin: int, cout: int, stride: int, groups: int = 1, kernel: int = 3) -> list:
        padding = kernel // 2
        conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        return [conv, nn.BatchNorm2d(cout), nn.ReLU()]

    layers = conv_bn(3, 32, 2)
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5
    channels = 32
    for cout, stride in [*plan, (1024, 2), (1024, 1)]:
        layers += conv_bn(channels, channels, stride, groups=channels)
        layers += conv_bn(channels, cout, 1, kernel=1)
        channels = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))


BY_HAND = {
    "lenet5": _lenet5,
    "alexnet": _alexnet,
    "vgg16": _vgg16,
    "googlenet": _googlenet,
    "resnet18": lambda: _resnet(False, (2, 2, 2, 2)),
    "resnet50": lambda: _resnet(True, (3, 4, 6, 3)),
    "mobilenet_v1": _mobilenet_v1,
}


def _counted(model: nn.Module, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    """A meta module's output shape (no batch), parameters and MACs for one input."""
    model.eval()
    with FlopCounterMode(display=False) as counter:
        out = model(torch.empty((1, *in_shape), device="meta"))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters()), flops // 2


@pytest.mark.parametrize("name", list(arch.NETWORKS))
def test_classic_networks_by_hand_against_the_reference_and_the_published_counts(name):
    network = arch.NETWORKS[name]
    with torch.device("meta"):
        model = BY_HAND[name]()
    shape, params, macs = _counted(model, network["input_shape"])
    summary = arch.summarize(network["layers"], network["input_shape"])
    assert params == PUBLISHED_PARAMS[name] == summary["params"]
    assert shape == summary["output_shape"]
    assert macs == summary["macs"]
    if name in PUBLISHED_GMACS:
        assert round(macs / 1e9, 2 if name != "mobilenet_v1" else 3) == PUBLISHED_GMACS[name]


def test_googlenet_with_the_papers_5x5_convolutions_has_more_parameters():
    paper = arch.summarize(arch._googlenet(c5_kernel=5), (3, 224, 224))
    torchvision = arch.summarize(arch._googlenet(), (3, 224, 224))
    third_branches = [(16, 32), (32, 96), (16, 48), (24, 64), (24, 64), (32, 64), (32, 128)]
    third_branches += [(32, 128), (48, 128)]  # (reduction, output) channels, 3a to 5b
    # each third branch's 5x5 in place of its 3x3: 25 - 9 = 16 more weights per channel pair
    extra = sum(16 * c5r * c5 for c5r, c5 in third_branches)
    assert paper["params"] == torchvision["params"] + extra
    assert paper["output_shape"] == torchvision["output_shape"] == (1000,)


# ---------------------------------------------------------------------------------------------
# Any spec as a torch module, layer by layer
# ---------------------------------------------------------------------------------------------


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, list | tuple) else (value, value)


class _Concat(nn.Module):
    def __init__(self, branches: list[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class _Sum(_Concat):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(branch(x) for branch in self.branches)


def _module(layer: dict, channels: int) -> tuple[nn.Module, int]:
    """The torch module of one layer (but flatten and global average pooling, see
    :func:`_modules`) and its output channels (or features)."""
    kind = layer["type"]
    if kind == "conv":
        module = nn.Conv2d(
            channels,
            layer["out_channels"],
            _pair(layer["kernel_size"]),
            _pair(layer.get("stride", 1)),
            _pair(layer.get("padding", 0)),
            _pair(layer.get("dilation", 1)),
            layer.get("groups", 1),
            bias=layer.get("bias", True),
        )
        return module, layer["out_channels"]
    if kind in ("maxpool", "avgpool"):
        kernel = _pair(layer["kernel_size"])
        stride = kernel if layer.get("stride") is None else _pair(layer["stride"])
        pool = nn.AvgPool2d if kind == "avgpool" else nn.MaxPool2d
        padding, ceil_mode = _pair(layer.get("padding", 0)), bool(layer.get("ceil_mode", False))
        return pool(kernel, stride, padding, ceil_mode=ceil_mode), channels
    if kind == "linear":
        out = layer["out_features"]
        return nn.Linear(channels, out, bias=layer.get("bias", True)), out
    if kind == "batchnorm":
        return nn.BatchNorm2d(channels), channels
    if kind == "relu":
        return nn.ReLU(), channels
    lists = layer["branches"] if kind == "concat" else [layer["branch"], layer.get("shortcut", [])]
    built = [_sequential(branch, channels) for branch in lists]
    outs = [out for _, out in built]
    if kind == "concat":
        return _Concat([m for m, _ in built]), sum(outs)
    return _Sum([m for m, _ in built]), outs[0]


def _sequential(layers: list[dict], channels: int) -> tuple[nn.Module, int]:
    modules = []
    for layer in layers:
        module, channels = _module(layer, channels)
        modules.append(module)
    return nn.Sequential(*modules), channels


def _modules(layers: list[dict], in_shape: tuple[int, ...]) -> list[nn.Module]:
    """One module per top-level layer, on the meta device."""
    modules, shape = [], tuple(in_shape)
    with torch.device("meta"):
        for layer in layers:
            if layer["type"] == "flatten":
                module = nn.Flatten()
            elif layer["type"] == "global_avgpool":
                module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            else:
                module, _ = _module(layer, shape[0])
            modules.append(module)
            shape = arch.output_shape(layer, shape)
    return modules


def _hidden_stacks(count: int) -> list[tuple[list[dict], tuple[int, ...]]]:
    """The hidden suite's random stacks, drawn with its own generator."""
    spec = importlib.util.spec_from_file_location("_architectures_hidden", HIDDEN)
    hidden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hidden)
    return [hidden._random_stack(np.random.default_rng(seed), arch) for seed in range(count)]


SPECS = [(name, n["layers"], n["input_shape"]) for name, n in arch.NETWORKS.items()] + [
    (f"stack{k}", layers, shape) for k, (layers, shape) in enumerate(_hidden_stacks(12))
]


@pytest.mark.parametrize("name, layers, in_shape", SPECS, ids=[s[0] for s in SPECS])
def test_every_layer_against_its_torch_module(name, layers, in_shape):
    summary = arch.summarize(layers, in_shape)
    x = torch.empty((1, *in_shape), device="meta")
    for index, (module, row) in enumerate(
        zip(_modules(layers, in_shape), summary["layers"], strict=True)
    ):
        module.eval()
        with FlopCounterMode(display=False) as counter:
            x = module(x)
        assert tuple(x.shape[1:]) == row["output_shape"], (index, layers[index])
        assert sum(p.numel() for p in module.parameters()) == row["params"], index
        assert counter.get_total_flops() == 2 * row["macs"], (index, layers[index])


# ---------------------------------------------------------------------------------------------
# Receptive fields through gradients
# ---------------------------------------------------------------------------------------------


def _spatial_part(layers: list[dict], in_shape: tuple[int, ...]) -> list[dict]:
    """The layers up to the last one whose output is a feature map."""
    rows = arch.summarize(layers, in_shape)["layers"]
    last = max(i for i, row in enumerate(rows) if len(row["output_shape"]) == 3)
    return layers[: last + 1]


def _probe(layers: list[dict], d: int) -> nn.Module:
    """Dimension ``d`` (0: height, 1: width) of the layers as 1-D modules on one channel, with
    positive averaging weights, average pooling for max pooling, no ReLU and no batch norm:
    every path from an input pixel to an output adds a positive term, so the gradient of an
    output is nonzero exactly on the pixels it depends on. (A kernel's extent along one
    dimension does not depend on the other: each dimension is probed apart.)"""
    modules: list[nn.Module] = []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            kernel = _pair(layer["kernel_size"])[d]
            conv = nn.Conv1d(
                1,
                1,
                kernel,
                _pair(layer.get("stride", 1))[d],
                _pair(layer.get("padding", 0))[d],
                _pair(layer.get("dilation", 1))[d],
                bias=False,
            )
            nn.init.constant_(conv.weight, 1.0 / kernel)
            modules.append(conv)
        elif kind in ("maxpool", "avgpool"):
            kernel = _pair(layer["kernel_size"])
            stride = kernel if layer.get("stride") is None else _pair(layer["stride"])
            padding, ceil_mode = _pair(layer.get("padding", 0))[d], bool(layer.get("ceil_mode"))
            modules.append(nn.AvgPool1d(kernel[d], stride[d], padding, ceil_mode=ceil_mode))
        elif kind in ("concat", "residual"):
            lists = layer["branches"] if kind == "concat" else [layer["branch"]]
            lists = [*lists, layer.get("shortcut", [])] if kind == "residual" else lists
            modules.append(_Sum([_probe(branch, d) for branch in lists]))
    return nn.Sequential(*modules)


def _window(gradient: torch.Tensor) -> tuple[int, int]:
    """The first and the last index where ``gradient`` (1-D) is nonzero."""
    where = torch.nonzero(gradient).flatten()
    return int(where[0]), int(where[-1])


@pytest.mark.parametrize("name, layers, in_shape", SPECS, ids=[s[0] for s in SPECS])
def test_receptive_field_and_jump_through_gradients(name, layers, in_shape):
    layers = _spatial_part(layers, in_shape)
    summary = arch.summarize(layers, in_shape)
    for d in range(2):
        rf, jump = summary["receptive_field"][d], summary["jump"][d]
        # An input long enough for the centre output's window, and its neighbour's, to fit.
        size = 2 * rf + 4 * jump + 8
        x = torch.zeros((1, 1, size), dtype=torch.float64, requires_grad=True)
        out = _probe(layers, d).double()(x)
        centre = out.shape[2] // 2
        windows = []
        for output in (centre, centre + 1):
            (gradient,) = torch.autograd.grad(out[0, 0, output], x, retain_graph=True)
            windows.append(_window(gradient[0, 0]))
        (first, last), (next_first, next_last) = windows
        assert first > 0 and next_last < size - 1, "a window reaches the input's border"
        assert last - first + 1 == rf, (d, last - first + 1, rf)
        assert next_first - first == jump, (d, next_first - first, jump)


# ---------------------------------------------------------------------------------------------
# conv_output_size against conv2d and max_pool2d
# ---------------------------------------------------------------------------------------------


def test_conv_output_size_against_conv2d_and_max_pool2d():
    checked = 0
    for size, kernel, stride, padding, dilation in itertools.product(
        range(1, 12), range(1, 6), range(1, 5), range(0, 4), range(1, 4)
    ):
        if size + 2 * padding < dilation * (kernel - 1) + 1:
            with pytest.raises(ValueError):
                arch.conv_output_size(size, kernel, stride, padding, dilation)
            continue
        x = torch.empty((1, 1, size, 1), device="meta")
        w = torch.empty((1, 1, kernel, 1), device="meta")
        out = F.conv2d(x, w, stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1))
        assert arch.conv_output_size(size, kernel, stride, padding, dilation) == out.shape[2]
        if dilation == 1 and padding <= kernel // 2:  # what PyTorch's pooling accepts
            for ceil_mode in (False, True):
                pooled = F.max_pool2d(
                    x, (kernel, 1), (stride, 1), (padding, 0), ceil_mode=ceil_mode
                )
                got = arch.conv_output_size(size, kernel, stride, padding, ceil_mode=ceil_mode)
                assert got == pooled.shape[2], (size, kernel, stride, padding, ceil_mode)
                checked += 1
    assert checked > 500
