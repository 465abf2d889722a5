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
    x: np.ndarray, axes: tuple[int, ...], eps: float, affine: Callable[[np.ndarray], Any]
) -> list[Suspect | str]:
    """The unbiased variance and eps outside the root, over the right ``axes``."""
    return [
        computed(UNBIASED, lambda: affine(_normalized(x, axes, eps, ddof=1))),
        computed(EPS_OUTSIDE, lambda: affine(_normalized(x, axes, eps, outside=True))),
    ]


def _channel_affine(arguments: dict[str, Any]) -> Callable[[np.ndarray], Any]:
    """xhat -> gamma[c] * xhat + beta[c], in the dtype of x."""
    x = arguments["x"]
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    gamma = arguments["gamma"].astype(np.float64).reshape(shape)
    beta = arguments["beta"].astype(np.float64).reshape(shape)
    return lambda xhat: (xhat.reshape(x.shape) * gamma + beta).astype(x.dtype)


@diagnoses_for("layernorm_forward")
def _layernorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.layernorm_forward
    arguments = bound(forward, call)
    x, eps = arguments["x"].astype(np.float64), float(arguments["eps"])
    k = np.ndim(arguments["gamma"])
    axes = tuple(range(x.ndim - k, x.ndim))
    gamma = arguments["gamma"].astype(np.float64)
    beta = arguments["beta"].astype(np.float64)

    def affine(xhat: np.ndarray) -> Any:
        return (xhat * gamma + beta).astype(arguments["x"].dtype)

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
    return found
