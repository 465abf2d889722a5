"""Hints for normalization: the usual mistakes in layer, instance and group normalization.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (public course material, forums and solutions):

* the unbiased variance (``torch.var`` and ``torch.std`` default to it):
  github.com/LBANN/lbann/pull/2024 (LayerNorm and InstanceNorm fixed to the biased one),
  github.com/pytorch/pytorch/issues/84356.
* ``eps`` added to the standard deviation: github.com/taokong/group_normalization/issues/1,
  github.com/tracel-ai/burn/issues/2185, github.com/hkproj/pytorch-transformer/pull/31.
  The Annotated Transformer's LayerNorm, ``(x - mean) / (x.std(-1) + eps)``, makes both
  (github.com/codertimo/BERT-pytorch/issues/30, github.com/pytorch/pytorch/issues/1959); it
  has no hint of its own: in float32 it cannot be told from the unbiased variance alone.
* layer norm over the last axis only when ``normalized_shape`` has several axes: the
  ``x.mean(-1)`` of github.com/pytorch/pytorch/issues/1959 ("forgetting that images exist").
* layer norm over the batch axis: CS231n's layer norm reuses the batch norm code on the
  transposed input; without the transpose it normalizes each feature over the batch.
* instance norm over the batch too: github.com/sonos/tract/pull/2863 ("InstanceNorm reduced
  over the batch axis as well as the spatial ones").
* group norm's channels grouped with a stride (channel ``c`` in group ``c % G``): the reshape
  without its transpose of github.com/tensorflow/addons/issues/751 and
  github.com/titu1994/Keras-Group-Normalization/issues/6.
  The same view swapped to ``(N, G, C // G, ...)`` and reshaped back without swapping back
  also puts the channels in another order.
* ``num_groups`` taken as the group size: the argument-order confusion of
  github.com/tinygrad/tinygrad/pull/415 (``GroupNorm(num_groups, num_channels)``).
* ``dx`` with the mean and the variance held constant: the missing paths of
  github.com/BVLC/caffe/issues/3878.
* ``gamma`` and ``beta`` swapped (``beta * xhat + gamma``): the weights of a normalization
  layer taken in the wrong order in github.com/Vladkryvoruchko/PSPNet-Keras-tensorflow/issues/23,
  the weight and bias gradients assigned the other way round of
  github.com/Oneflow-Inc/oneflow/pull/6149 (LayerNorm).
* the variance without its square root, ``(x - mean) / (var + eps)``: the formula of
  github.com/tensorflow/tensorflow/issues/48039 and the variance taken for the standard
  deviation of github.com/mbadry1/DeepLearning.ai-Summary/issues/183.
* instance norm over the channels too (layer norm's statistics): the LayerNorm written as
  InstanceNorm2d, and the reverse, of github.com/lucidrains/segformer-pytorch/issues/7 and
  github.com/raoyongming/HorNet/issues/17.
* group norm over each group's channels only, one mean per spatial position: the
  channels-only statistics (``x.mean(1, keepdim=True)``) of
  github.com/raoyongming/HorNet/issues/17 applied to ``x.reshape(N, G, C // G, H, W)``, the
  spatial axes left out of the reduction.
* ``dx`` without ``gamma`` (``dxhat`` taken as ``dout``): github.com/denizyuret/Knet.jl/issues/288.
* ``dx`` without the path through the variance: the paths X -> mu -> Y and X -> sigma -> Y of
  github.com/BVLC/caffe/issues/3878 and github.com/AlexeyAB/darknet/issues/4605.
* ``dgamma`` as ``sum(dout * x)`` or ``sum(dout * (x - mean))`` instead of
  ``sum(dout * xhat)``: github.com/tensorflow/tensorflow/issues/14676 (XLA's gamma gradient).
* ``dgamma`` and ``dbeta`` averaged instead of summed: "dgamma=np.sum(dout*x_,axis=0) should
  be mean???", github.com/wjbKimberly/cs231n_spring_2017_assignment/issues/7.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, computed, diagnoses_for

UNBIASED = (
    "your output is normalized with the unbiased variance (divided by m - 1): normalize with "
    "the biased variance of the normalized values (divide by m), as PyTorch does"
)
EPS_OUTSIDE = (
    "your output matches eps added to the standard deviation, (x - mean) / (std + eps): eps "
    "goes inside the square root, (x - mean) / sqrt(var + eps)"
)
LAYER_OVER_BATCH = (
    "your output matches each feature normalized over the batch (batch norm's axes): layer "
    "norm normalizes each example over its own normalized_shape values"
)
LAYER_LAST_AXIS = (
    "your output matches normalization over the last axis only: layer norm normalizes over "
    "all the trailing axes of normalized_shape (gamma's shape) together"
)
INSTANCE_OVER_BATCH = (
    "your output matches each channel normalized over the batch and the spatial axes (batch "
    "norm): instance norm normalizes each channel of each example on its own"
)
GROUPS_STRIDED = (
    "your output matches channel c in group c % G (channels taken with a stride): group g "
    "holds the C // G consecutive channels from g * C // G, so view x as (N, G, C // G, ...)"
)
GROUPS_STRIDED_UNSWAPPED = (
    "your output matches x.reshape(N, C // G, G, ...).swapaxes(1, 2) normalized and reshaped "
    "back without swapping back: the groups are taken with a stride (c % G) and the channels "
    "come back in another order; view x as (N, G, C // G, ...), consecutive channels"
)
GROUP_SIZE = (
    "your output matches num_groups taken as the group size (C // G groups of G channels): "
    "num_groups is the number of groups, each of C // num_groups consecutive channels"
)
DX_CONSTANT_STATISTICS = (
    "your dx matches dout * gamma / sqrt(var + eps), the mean and the variance held constant: "
    "both depend on every value they are taken over, dx = (dxhat - mean(dxhat) - xhat * "
    "mean(dxhat * xhat)) / sqrt(var + eps)"
)

GAMMA_BETA_SWAPPED = (
    "your output matches beta * xhat + gamma, gamma and beta swapped: gamma scales the "
    "normalized values and beta shifts them, out = gamma * xhat + beta"
)
NO_SQUARE_ROOT = (
    "your output matches (x - mean) / (var + eps), the variance without its square root: "
    "divide by the standard deviation, sqrt(var + eps)"
)
INSTANCE_OVER_CHANNELS = (
    "your output matches each example normalized over its channels and spatial axes together "
    "(layer norm): instance norm gives each channel of each example its own mean and "
    "variance, over the spatial axes only"
)
GROUP_CHANNELS_ONLY = (
    "your output matches each group normalized over its channels only, one mean per spatial "
    "position: group norm's statistics run over the group's channels and all the spatial "
    "axes together, axes (2, 3, ...) of the (N, G, C // G, ...) view"
)
DX_NO_GAMMA = (
    "your dx matches the closed form without gamma: the gradient reaching xhat is dxhat = "
    "dout * gamma, and dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)"
)
DX_NO_VARIANCE_PATH = (
    "your dx misses the gradient through the variance: dx = (dxhat - mean(dxhat) - xhat * "
    "mean(dxhat * xhat)) / sqrt(var + eps); the last term is missing"
)
DGAMMA_UNNORMALIZED = (
    "your dgamma matches sum(dout * x) or sum(dout * (x - mean)), the input where the "
    "normalized values belong: gamma multiplies xhat = (x - mean) / sqrt(var + eps), so "
    "dgamma = sum(dout * xhat)"
)
DPARAMS_MEAN = (
    "your dgamma or dbeta matches a mean instead of a sum: gamma and beta are shared by all "
    "the values they scale and shift (every example), so their gradients add up, dbeta = "
    "sum(dout) and dgamma = sum(dout * xhat)"
)


def _normalized(
    x: np.ndarray, axes: tuple[int, ...], eps: float, ddof: int = 0, outside: bool = False
) -> np.ndarray:
    """x normalized over ``axes`` (float64), with the variance's ``ddof`` and eps inside or
    outside the square root."""
    count = int(np.prod([x.shape[axis] for axis in axes]))
    if count - ddof < 1:
        raise ValueError("no variance with this many values")
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).sum(axis=axes, keepdims=True) / (count - ddof)
    return (x - mean) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps))


def _variance_suspects(
    x: np.ndarray, axes: tuple[int, ...], eps: float, affine: Callable[..., Any]
) -> list[Suspect | str]:
    """The unbiased variance, eps outside the root, the root left out, and gamma and beta
    swapped, over the right ``axes``."""

    def without_root() -> np.ndarray:
        centred = x - x.mean(axis=axes, keepdims=True)
        return centred / ((centred * centred).mean(axis=axes, keepdims=True) + eps)

    return [
        computed(UNBIASED, lambda: affine(_normalized(x, axes, eps, ddof=1))),
        computed(EPS_OUTSIDE, lambda: affine(_normalized(x, axes, eps, outside=True))),
        computed(NO_SQUARE_ROOT, lambda: affine(without_root())),
        computed(GAMMA_BETA_SWAPPED, lambda: affine(_normalized(x, axes, eps), swapped=True)),
    ]


def _channel_affine(arguments: dict[str, Any]) -> Callable[..., Any]:
    """xhat -> gamma[c] * xhat + beta[c], in the dtype of x (beta * xhat + gamma if
    ``swapped``)."""
    x = arguments["x"]
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    gamma = arguments["gamma"].astype(np.float64).reshape(shape)
    beta = arguments["beta"].astype(np.float64).reshape(shape)

    def affine(xhat: np.ndarray, swapped: bool = False) -> Any:
        scale, shift = (beta, gamma) if swapped else (gamma, beta)
        return (xhat.reshape(x.shape) * scale + shift).astype(x.dtype)

    return affine


@diagnoses_for("layernorm_forward")
def _layernorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.layernorm_forward
    arguments = bound(forward, call)
    x, eps = arguments["x"].astype(np.float64), float(arguments["eps"])
    k = np.ndim(arguments["gamma"])
    axes = tuple(range(x.ndim - k, x.ndim))
    gamma = arguments["gamma"].astype(np.float64)
    beta = arguments["beta"].astype(np.float64)

    def affine(xhat: np.ndarray, swapped: bool = False) -> Any:
        scale, shift = (beta, gamma) if swapped else (gamma, beta)
        return (xhat * scale + shift).astype(arguments["x"].dtype)

    found = _variance_suspects(x, axes, eps, affine)
    leading = tuple(range(x.ndim - k))
    found.append(computed(LAYER_OVER_BATCH, lambda: affine(_normalized(x, leading, eps))))
    if k > 1:
        last = (x.ndim - 1,)
        found.append(computed(LAYER_LAST_AXIS, lambda: affine(_normalized(x, last, eps))))
    return found


@diagnoses_for("instancenorm_forward")
def _instancenorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.instancenorm_forward
    arguments = bound(forward, call)
    x, eps = arguments["x"].astype(np.float64), float(arguments["eps"])
    affine = _channel_affine(arguments)
    spatial = tuple(range(2, x.ndim))
    found = _variance_suspects(x, spatial, eps, affine)
    batch_too = (0, *spatial)
    found.append(computed(INSTANCE_OVER_BATCH, lambda: affine(_normalized(x, batch_too, eps))))
    channels_too = (1, *spatial)
    found.append(
        computed(INSTANCE_OVER_CHANNELS, lambda: affine(_normalized(x, channels_too, eps)))
    )
    return found


@diagnoses_for("groupnorm_forward")
def _groupnorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.groupnorm_forward
    arguments = bound(forward, call)
    x, eps = arguments["x"].astype(np.float64), float(arguments["eps"])
    n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    groups = int(arguments["num_groups"])
    if groups < 1 or c % groups:
        return []
    affine = _channel_affine(arguments)
    rest = tuple(range(3, x.ndim + 1))  # the spatial axes of a (N, a, b, *spatial) view
    grouped = x.reshape(n, groups, c // groups, *spatial)
    found = _variance_suspects(grouped, (2, *rest), eps, affine)
    by_size = x.reshape(n, c // groups, groups, *spatial)  # channel c: index (c // G, c % G)
    found.append(computed(GROUPS_STRIDED, lambda: affine(_normalized(by_size, (1, *rest), eps))))
    found.append(computed(GROUP_SIZE, lambda: affine(_normalized(by_size, (2, *rest), eps))))
    swapped = by_size.swapaxes(1, 2)  # (N, G, C // G, ...), reshaped back as it stands
    found.append(
        computed(GROUPS_STRIDED_UNSWAPPED, lambda: affine(_normalized(swapped, (2, *rest), eps)))
    )
    found.append(computed(GROUP_CHANNELS_ONLY, lambda: affine(_normalized(grouped, (2,), eps))))
    return found


def _dx_constant_statistics(
    arguments: dict[str, Any], view: tuple[int, ...], axes: tuple[int, ...], gamma: np.ndarray
) -> np.ndarray:
    """dout * gamma / sqrt(var + eps), the statistics taken over ``axes`` of x viewed as
    ``view``."""
    x = arguments["x"].astype(np.float64).reshape(view)
    var = x.var(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + float(arguments["eps"]))
    dxhat = (arguments["dout"].astype(np.float64) * gamma).reshape(view)
    return (dxhat * inv_std).reshape(arguments["x"].shape).astype(arguments["x"].dtype)


@diagnoses_for("layernorm_backward", "instancenorm_backward", "groupnorm_backward")
def _backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = getattr(reference, call.function)
    arguments = bound(backward, call)
    x = arguments["x"]
    gamma = arguments["gamma"].astype(np.float64)
    if call.function == "layernorm_backward":
        view, axes = tuple(x.shape), tuple(range(x.ndim - gamma.ndim, x.ndim))
    else:
        gamma = gamma.reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))
        groups = int(arguments.get("num_groups", x.shape[1]))
        if groups < 1 or x.shape[1] % groups:
            return []
        view = (x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])
        axes = tuple(range(2, len(view)))
    found: list[Suspect | str] = [
        computed(
            DX_CONSTANT_STATISTICS,
            lambda: _dx_constant_statistics(arguments, view, axes, gamma),
            (0,),
        )
    ]
    if call.function == "layernorm_backward":
        shared = tuple(range(x.ndim - gamma.ndim))  # the leading axes dgamma sums over
    else:
        shared = (0, *range(2, x.ndim))
    try:
        return found + _gradient_suspects(arguments, view, axes, gamma, shared)
    except Exception:  # arguments the mistakes cannot be made with: dx's suspect stays
        return found


def _gradient_suspects(
    arguments: dict[str, Any],
    view: tuple[int, ...],
    axes: tuple[int, ...],
    gamma: np.ndarray,
    shared: tuple[int, ...],
) -> list[Suspect | str]:
    """The mistaken dx (gamma or the variance's path left out), dgamma (the input for xhat)
    and dgamma, dbeta (means for sums), with the statistics over ``axes`` of x viewed as
    ``view`` and the parameters' gradients summed over the ``shared`` axes of x."""
    dtype = arguments["x"].dtype
    shape = arguments["x"].shape
    x = arguments["x"].astype(np.float64)
    dout = arguments["dout"].astype(np.float64)
    grouped = x.reshape(view)
    centred = grouped - grouped.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(
        (centred * centred).mean(axis=axes, keepdims=True) + float(arguments["eps"])
    )
    xhat = centred * inv_std

    def dx(dxhat: np.ndarray, variance_path: bool = True) -> np.ndarray:
        dxhat = dxhat.reshape(view)
        grad = dxhat - dxhat.mean(axis=axes, keepdims=True)
        if variance_path:
            grad = grad - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
        return (inv_std * grad).reshape(shape).astype(dtype)

    count = int(np.prod([shape[axis] for axis in shared]))
    xhat_x = xhat.reshape(shape)
    return [
        Suspect(DX_NO_GAMMA, dx(dout), (0,)),
        Suspect(DX_NO_VARIANCE_PATH, dx(dout * gamma, variance_path=False), (0,)),
        Suspect(DGAMMA_UNNORMALIZED, (dout * x).sum(axis=shared).astype(dtype), (1,)),
        Suspect(
            DGAMMA_UNNORMALIZED,
            (dout * centred.reshape(shape)).sum(axis=shared).astype(dtype),
            (1,),
        ),
        Suspect(DPARAMS_MEAN, ((dout * xhat_x).sum(axis=shared) / count).astype(dtype), (1,)),
        Suspect(DPARAMS_MEAN, (dout.sum(axis=shared) / count).astype(dtype), (2,)),
    ]
