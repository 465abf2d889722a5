"""Normalization layers beyond batch norm: layer norm, instance norm and group norm.

Conventions
-----------
* Layout is NCHW: ``x`` has shape ``(N, C, H, W)`` (or more generally ``(N, C, *spatial)``;
  layer norm also takes ``(N, D)`` vectors). Every layer here normalizes **each example on
  its own**: unlike batch norm, no statistic is shared between the examples of a batch, so
  training and evaluation compute the same thing and there are no running averages.
* The layers differ only in which values share a mean and a variance:

  ===============  ===========================================  ======================
  layer            values normalized together                   ``gamma``/``beta``
  ===============  ===========================================  ======================
  layer norm       all of one example's trailing                ``normalized_shape``
                   ``normalized_shape`` values (e.g. all C*H*W)  (= ``gamma.shape``)
  instance norm    one channel of one example (H*W values)      ``(C,)``
  group norm       one group of ``C // G`` consecutive channels  ``(C,)``
                   of one example (``C // G * H * W`` values)
  ===============  ===========================================  ======================

  Group norm with ``G = 1`` normalizes like layer norm over ``(C, H, W)`` and with ``G = C``
  like instance norm; only the shape of the affine parameters differs.
* Within a set of ``m`` values normalized together, with mean ``mu`` and *biased* variance
  ``var`` (divide by ``m``, as PyTorch does):
  ``xhat = (x - mu) / sqrt(var + eps)`` and ``out = gamma * xhat + beta``, where ``gamma``
  and ``beta`` are broadcast as the table says (per element of ``normalized_shape`` for
  layer norm, per channel otherwise). ``eps`` is added inside the square root.
* The semantics are those of ``torch.nn.functional.layer_norm``, ``instance_norm`` (with
  ``use_input_stats=True``) and ``group_norm``.
* Compute the variance as the mean of ``(x - mu) ** 2`` (two passes), not as
  ``mean(x ** 2) - mu ** 2``, which loses most of its precision when ``|mu|`` is large
  compared with the standard deviation (this is tested).
* Functions never modify their inputs. Every returned array has the dtype of ``x``.
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
  No Python loops over examples, channels or groups: reshape and reduce over axes instead
  (group norm: view ``(N, C, H, W)`` as ``(N, G, C // G, H, W)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def layernorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    """Layer normalization forward pass (``torch.nn.functional.layer_norm``).

    Each example is normalized over its trailing dimensions, those of ``gamma``'s shape
    (PyTorch's ``normalized_shape``): for ``x`` of shape ``(N, C, H, W)`` and ``gamma`` of
    shape ``(C, H, W)``, each example's ``C * H * W`` values share one mean and one variance;
    for ``x`` of shape ``(N, D)`` and ``gamma`` of shape ``(D,)``, each row is normalized.

    Args:
        x: input, shape ``(N, *normalized_shape)`` or more generally
            ``(*leading, *normalized_shape)`` with at least one leading axis.
        gamma: scale, shape ``normalized_shape`` (applied elementwise, not per channel).
        beta: shift, shape ``normalized_shape``.
        eps: non-negative constant added to the variance inside the square root.

    Returns:
        ``out``, shaped like ``x``, dtype of ``x``:
        ``out = gamma * (x - mu) / sqrt(var + eps) + beta`` with ``mu`` and ``var`` (biased)
        the mean and variance over the normalized (trailing) axes of each example.

    Raises:
        ValueError: if ``gamma`` and ``beta`` differ in shape, if their shape is not the
            trailing shape of ``x`` (with at least one axis left in front), if ``x`` is not
            floating-point, or if ``eps`` is negative.
    """
    raise NotImplementedError("layernorm_forward is not implemented yet")


def layernorm_backward(
    dout: Array, x: Array, gamma: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    """Layer normalization backward pass.

    Recompute ``xhat`` from ``x``. With ``m`` values per example in the normalized axes and
    ``dxhat = dout * gamma``, sums and means taken over the normalized axes of each example:

        ``dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)``

    ``gamma`` and ``beta`` are shared by all examples, so their gradients sum over the leading
    (batch) axes.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input.
        gamma: the forward scale, shape ``normalized_shape``.
        eps: the ``eps`` of the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)``: ``dx`` shaped like ``x``; ``dgamma = sum(dout * xhat)`` and
        ``dbeta = sum(dout)`` over the leading axes, shape ``normalized_shape``. All in the
        dtype of ``x``.

    Raises:
        ValueError: as ``layernorm_forward``, and if ``dout`` is not shaped like ``x``.
    """
    raise NotImplementedError("layernorm_backward is not implemented yet")


def instancenorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    """Instance normalization forward pass (``torch.nn.functional.instance_norm`` with
    ``use_input_stats=True``, the way style-transfer networks use it).

    Each channel of each example is normalized on its own, over its spatial positions: for
    ``x`` of shape ``(N, C, H, W)`` there are ``N * C`` sets of ``H * W`` values.

    Args:
        x: input, shape ``(N, C, *spatial)`` with at least one spatial axis.
        gamma: per-channel scale, shape ``(C,)``.
        beta: per-channel shift, shape ``(C,)``.
        eps: non-negative constant added to the variance inside the square root.

    Returns:
        ``out``, shaped like ``x``, dtype of ``x``:
        ``out[n, c] = gamma[c] * (x[n, c] - mu[n, c]) / sqrt(var[n, c] + eps) + beta[c]`` with
        ``mu[n, c]`` and ``var[n, c]`` (biased) over the spatial axes.

    Raises:
        ValueError: if ``x`` has fewer than 3 dimensions or is not floating-point, if
            ``gamma`` or ``beta`` is not of shape ``(C,)``, or if ``eps`` is negative.
    """
    raise NotImplementedError("instancenorm_forward is not implemented yet")


def instancenorm_backward(
    dout: Array, x: Array, gamma: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    """Instance normalization backward pass.

    The same closed form as for layer norm, with means over the spatial axes of each
    ``(n, c)``, and ``dxhat = dout * gamma[c]``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input, ``(N, C, *spatial)``.
        gamma: per-channel scale, shape ``(C,)``.
        eps: the ``eps`` of the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)``: ``dx`` shaped like ``x``; ``dgamma[c] = sum(dout * xhat)`` and
        ``dbeta[c] = sum(dout)`` over the batch and spatial axes, shape ``(C,)``. All in the
        dtype of ``x``.

    Raises:
        ValueError: as ``instancenorm_forward``, and if ``dout`` is not shaped like ``x``.
    """
    raise NotImplementedError("instancenorm_backward is not implemented yet")


def groupnorm_forward(
    x: Array, num_groups: int, gamma: Array, beta: Array, eps: float = 1e-5
) -> Array:
    """Group normalization forward pass (``torch.nn.functional.group_norm``).

    The ``C`` channels are split into ``num_groups`` groups of ``C // num_groups`` consecutive
    channels (group ``g`` holds channels ``g * C // G`` to ``(g + 1) * C // G - 1``). Each
    group of each example is normalized over its channels and spatial positions together;
    then the per-channel ``gamma`` and ``beta`` apply.

    Args:
        x: input, shape ``(N, C, *spatial)`` (``(N, C)`` is allowed: no spatial axes).
        num_groups: ``G``, a positive int that divides ``C``.
        gamma: per-channel scale, shape ``(C,)``.
        beta: per-channel shift, shape ``(C,)``.
        eps: non-negative constant added to the variance inside the square root.

    Returns:
        ``out``, shaped like ``x``, dtype of ``x``.

    Raises:
        ValueError: if ``num_groups`` does not divide ``C`` (or is not a positive int), if
            ``x`` has fewer than 2 dimensions or is not floating-point, if ``gamma`` or
            ``beta`` is not of shape ``(C,)``, or if ``eps`` is negative.
    """
    raise NotImplementedError("groupnorm_forward is not implemented yet")


def groupnorm_backward(
    dout: Array, x: Array, num_groups: int, gamma: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    """Group normalization backward pass.

    The same closed form as for layer norm, with means over each group of each example
    (``C // G`` channels and all spatial positions), and ``dxhat = dout * gamma[c]``.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input, ``(N, C, *spatial)``.
        num_groups: ``G``, as in the forward pass.
        gamma: per-channel scale, shape ``(C,)``.
        eps: the ``eps`` of the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)``: ``dx`` shaped like ``x``; ``dgamma[c] = sum(dout * xhat)`` and
        ``dbeta[c] = sum(dout)`` over the batch and spatial axes, shape ``(C,)``. All in the
        dtype of ``x``.

    Raises:
        ValueError: as ``groupnorm_forward``, and if ``dout`` is not shaped like ``x``.
    """
    raise NotImplementedError("groupnorm_backward is not implemented yet")
