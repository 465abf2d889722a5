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


# BEGIN SOLUTION
def _check_float(x: Array, name: str = "x") -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")


def _check_eps(eps: float) -> None:
    if not eps >= 0:
        raise ValueError(f"eps must be non-negative, got {eps!r}")


def _check_same_shape(dout: Array, x: Array) -> None:
    if tuple(dout.shape) != tuple(x.shape):
        raise ValueError(
            f"dout must have the shape of x {tuple(x.shape)}, got shape {tuple(dout.shape)}"
        )


def _check_channel_vector(v: Array, name: str, channels: int) -> None:
    if tuple(v.shape) != (channels,):
        raise ValueError(f"{name} must have shape (C,) = ({channels},), got {tuple(v.shape)}")


def _check_channels_input(x: Array, what: str, min_ndim: int) -> None:
    _check_float(x)
    if x.ndim < min_ndim:
        raise ValueError(
            f"{what} needs x of shape (N, C, *spatial) with at least {min_ndim} dimensions, "
            f"got shape {tuple(x.shape)}"
        )


def _normalize(x: Array, axes: tuple[int, ...], eps: float) -> tuple[Array, Array]:
    """(xhat, inv_std): x normalized over ``axes`` (kept as size-1 axes in inv_std)."""
    xp = get_array_module(x)
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt(var + x.dtype.type(eps))
    return xc * inv_std, inv_std


def _normalize_backward(dxhat: Array, xhat: Array, inv_std: Array, axes: tuple[int, ...]) -> Array:
    """Gradient through ``xhat = (x - mean) / sqrt(var + eps)`` over ``axes``:
    ``dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``."""
    mean_dxhat = dxhat.mean(axis=axes, keepdims=True)
    mean_dxhat_xhat = (dxhat * xhat).mean(axis=axes, keepdims=True)
    return inv_std * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)


def _layer_axes(x: Array, gamma: Array, beta: Array) -> tuple[int, ...]:
    _check_float(x)
    shape = tuple(gamma.shape)
    if tuple(beta.shape) != shape:
        raise ValueError(
            f"gamma and beta must have the same shape (normalized_shape), got {shape} and "
            f"{tuple(beta.shape)}"
        )
    k = len(shape)
    if k == 0 or k >= x.ndim or tuple(x.shape[x.ndim - k :]) != shape:
        raise ValueError(
            f"gamma's shape {shape} (normalized_shape) must be the trailing dimensions of x, "
            f"leaving the batch axis out; x has shape {tuple(x.shape)}"
        )
    return tuple(range(x.ndim - k, x.ndim))


def _grouped(x: Array, num_groups: int) -> Array:
    """``(N, C, *S)`` viewed as ``(N, G, C // G, *S)``."""
    channels = int(x.shape[1])
    if type(num_groups) is not int or num_groups < 1 or channels % num_groups:
        raise ValueError(
            f"num_groups must be a positive int that divides the channel count C = "
            f"{channels}, got {num_groups!r}"
        )
    return x.reshape((x.shape[0], num_groups, channels // num_groups, *x.shape[2:]))


def _channel_shape(x: Array) -> tuple[int, ...]:
    """Shape that lines a ``(C,)`` vector up with axis 1 of ``x``."""
    return (1, int(x.shape[1])) + (1,) * (x.ndim - 2)


# END SOLUTION


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
    # BEGIN SOLUTION
    axes = _layer_axes(x, gamma, beta)
    _check_eps(eps)
    dtype = x.dtype
    xhat, _ = _normalize(x, axes, eps)
    out = xhat * gamma.astype(dtype, copy=False) + beta.astype(dtype, copy=False)
    return out.astype(dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    axes = _layer_axes(x, gamma, gamma)
    _check_eps(eps)
    _check_same_shape(dout, x)
    dtype = x.dtype
    dout = dout.astype(dtype, copy=False)
    xhat, inv_std = _normalize(x, axes, eps)
    leading = tuple(range(x.ndim - len(axes)))
    dgamma = (dout * xhat).sum(axis=leading)
    dbeta = dout.sum(axis=leading)
    dx = _normalize_backward(dout * gamma.astype(dtype, copy=False), xhat, inv_std, axes)
    return (
        dx.astype(dtype, copy=False),
        dgamma.astype(dtype, copy=False),
        dbeta.astype(dtype, copy=False),
    )
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_channels_input(x, "instance norm", 3)
    channels = int(x.shape[1])
    _check_channel_vector(gamma, "gamma", channels)
    _check_channel_vector(beta, "beta", channels)
    _check_eps(eps)
    dtype = x.dtype
    xhat, _ = _normalize(x, tuple(range(2, x.ndim)), eps)
    vshape = _channel_shape(x)
    g = gamma.astype(dtype, copy=False).reshape(vshape)
    b = beta.astype(dtype, copy=False).reshape(vshape)
    return (xhat * g + b).astype(dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_channels_input(x, "instance norm", 3)
    _check_channel_vector(gamma, "gamma", int(x.shape[1]))
    _check_eps(eps)
    _check_same_shape(dout, x)
    dtype = x.dtype
    dout = dout.astype(dtype, copy=False)
    spatial = tuple(range(2, x.ndim))
    xhat, inv_std = _normalize(x, spatial, eps)
    reduce = (0, *spatial)
    dgamma = (dout * xhat).sum(axis=reduce)
    dbeta = dout.sum(axis=reduce)
    g = gamma.astype(dtype, copy=False).reshape(_channel_shape(x))
    dx = _normalize_backward(dout * g, xhat, inv_std, spatial)
    return (
        dx.astype(dtype, copy=False),
        dgamma.astype(dtype, copy=False),
        dbeta.astype(dtype, copy=False),
    )
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_channels_input(x, "group norm", 2)
    channels = int(x.shape[1])
    grouped = _grouped(x, num_groups)
    _check_channel_vector(gamma, "gamma", channels)
    _check_channel_vector(beta, "beta", channels)
    _check_eps(eps)
    dtype = x.dtype
    xhat, _ = _normalize(grouped, tuple(range(2, grouped.ndim)), eps)
    vshape = _channel_shape(x)
    g = gamma.astype(dtype, copy=False).reshape(vshape)
    b = beta.astype(dtype, copy=False).reshape(vshape)
    return (xhat.reshape(x.shape) * g + b).astype(dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_channels_input(x, "group norm", 2)
    grouped = _grouped(x, num_groups)
    _check_channel_vector(gamma, "gamma", int(x.shape[1]))
    _check_eps(eps)
    _check_same_shape(dout, x)
    dtype = x.dtype
    dout = dout.astype(dtype, copy=False)
    axes = tuple(range(2, grouped.ndim))
    xhat_grouped, inv_std = _normalize(grouped, axes, eps)
    xhat = xhat_grouped.reshape(x.shape)
    reduce = (0, *range(2, x.ndim))
    dgamma = (dout * xhat).sum(axis=reduce)
    dbeta = dout.sum(axis=reduce)
    g = gamma.astype(dtype, copy=False).reshape(_channel_shape(x))
    dxhat = (dout * g).reshape(grouped.shape)
    dx = _normalize_backward(dxhat, xhat_grouped, inv_std, axes).reshape(x.shape)
    return (
        dx.astype(dtype, copy=False),
        dgamma.astype(dtype, copy=False),
        dbeta.astype(dtype, copy=False),
    )
    # END SOLUTION
