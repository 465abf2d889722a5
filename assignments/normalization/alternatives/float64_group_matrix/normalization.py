"""Alternative correct submission, variant ``float64_group_matrix``.

How it differs from the reference: everything is computed in float64 (inputs upcast on entry,
results cast back to the dtype of ``x``); the variance is the *corrected* two-pass formula
``mean(d ** 2) - mean(d) ** 2`` with ``d = x - mean(x)``, clamped at 0; the backward pass uses
the sum form ``dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))``.
Layer and instance norm reduce over axis tuples without reshaping. Group norm never reshapes
to ``(N, G, C // G, ...)``: it sums each channel over its spatial axes, then adds the channels
of each group with a matrix product against a 0/1 channel-to-group membership matrix
``(C, G)``, and spreads group statistics back to the channels with its transpose.

Normalization layers beyond batch norm: layer norm, instance norm and group norm.

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


def _float64(*arrays: Array) -> list[Array]:
    xp = get_array_module(*arrays)
    return [a.astype(xp.float64) for a in arrays]


def _validate_common(x: Array, eps: float) -> float:
    if x.dtype.kind != "f":
        raise ValueError(f"x must be floating point, got {x.dtype}")
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    return float(eps)


def _validate_layer(x: Array, gamma: Array, beta: Array) -> tuple[int, ...]:
    if gamma.shape != beta.shape:
        raise ValueError(f"gamma and beta shapes differ: {gamma.shape} vs {beta.shape}")
    k = gamma.ndim
    if not 0 < k < x.ndim or tuple(x.shape[-k:]) != tuple(gamma.shape):
        raise ValueError(
            f"gamma.shape {gamma.shape} must equal the last dimensions of x {x.shape} "
            f"(leaving at least the batch axis)"
        )
    return tuple(range(x.ndim - k, x.ndim))


def _validate_channels(x: Array, min_ndim: int, *vectors: Array) -> int:
    if x.ndim < min_ndim:
        raise ValueError(f"x needs at least {min_ndim} dimensions (N, C, ...), got {x.shape}")
    c = x.shape[1]
    for v in vectors:
        if v.shape != (c,):
            raise ValueError(f"per-channel parameters must have shape ({c},), got {v.shape}")
    return c


def _validate_dout(dout: Array, x: Array) -> None:
    if dout.shape != x.shape:
        raise ValueError(f"dout has shape {dout.shape}, x has shape {x.shape}")


def _by_channel(v: Array, ndim: int) -> Array:
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))


def _stats(x: Array, axes: tuple[int, ...], eps: float) -> tuple[Array, Array]:
    """xhat and inv_std over ``axes`` (kept as size-1 axes), corrected two-pass variance."""
    xp = get_array_module(x)
    d = x - x.mean(axis=axes, keepdims=True)
    var = (d * d).mean(axis=axes, keepdims=True) - d.mean(axis=axes, keepdims=True) ** 2
    inv_std = 1.0 / xp.sqrt(xp.maximum(var, 0.0) + eps)
    return d * inv_std, inv_std


def _closed_form_dx(
    dxhat: Array, xhat: Array, inv_std: Array, axes: tuple[int, ...], m: int
) -> Array:
    s1 = dxhat.sum(axis=axes, keepdims=True)
    s2 = (dxhat * xhat).sum(axis=axes, keepdims=True)
    return inv_std / m * (m * dxhat - s1 - xhat * s2)


def _membership(c: int, num_groups: int, xp: Any) -> Array:
    """(C, G) float64 matrix, 1 where channel c belongs to group g."""
    if type(num_groups) is not int or num_groups < 1 or c % num_groups:
        raise ValueError(f"num_groups={num_groups!r} must be a positive int dividing C={c}")
    group_of_channel = xp.arange(c) // (c // num_groups)
    return (group_of_channel[:, None] == xp.arange(num_groups)[None, :]).astype(xp.float64)


def _group_sum(x: Array, member: Array) -> Array:
    """Sum of x (N, C, *S) over each (example, group), spread back to (N, C, 1, ...)."""
    per_channel = x.sum(axis=tuple(range(2, x.ndim)))  # (N, C)
    per_group = per_channel @ member  # (N, G)
    spread = per_group @ member.T  # (N, C): each channel gets its group's sum
    return spread.reshape(spread.shape + (1,) * (x.ndim - 2))


def _group_stats(x: Array, member: Array, eps: float) -> tuple[Array, Array]:
    """xhat and inv_std (spread to (N, C, 1, ...)) of group norm, float64."""
    xp = get_array_module(x)
    c, g = member.shape
    m = (c // g) * (x.size // (x.shape[0] * c))
    d = x - _group_sum(x, member) / m
    var = _group_sum(d * d, member) / m - (_group_sum(d, member) / m) ** 2
    inv_std = 1.0 / xp.sqrt(xp.maximum(var, 0.0) + eps)
    return d * inv_std, inv_std


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
    eps = _validate_common(x, eps)
    axes = _validate_layer(x, gamma, beta)
    x64, g64, b64 = _float64(x, gamma, beta)
    xhat, _ = _stats(x64, axes, eps)
    return (g64 * xhat + b64).astype(x.dtype)


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
    eps = _validate_common(x, eps)
    axes = _validate_layer(x, gamma, gamma)
    _validate_dout(dout, x)
    x64, dy, g64 = _float64(x, dout, gamma)
    xhat, inv_std = _stats(x64, axes, eps)
    m = g64.size
    batch_axes = tuple(range(x.ndim - len(axes)))
    dgamma = (dy * xhat).sum(axis=batch_axes)
    dbeta = dy.sum(axis=batch_axes)
    dx = _closed_form_dx(dy * g64, xhat, inv_std, axes, m)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


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
    eps = _validate_common(x, eps)
    _validate_channels(x, 3, gamma, beta)
    x64, g64, b64 = _float64(x, gamma, beta)
    spatial = tuple(range(2, x.ndim))
    xhat, _ = _stats(x64, spatial, eps)
    out = _by_channel(g64, x.ndim) * xhat + _by_channel(b64, x.ndim)
    return out.astype(x.dtype)


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
    eps = _validate_common(x, eps)
    _validate_channels(x, 3, gamma)
    _validate_dout(dout, x)
    x64, dy, g64 = _float64(x, dout, gamma)
    spatial = tuple(range(2, x.ndim))
    xhat, inv_std = _stats(x64, spatial, eps)
    m = x.size // (x.shape[0] * x.shape[1])
    dgamma = (dy * xhat).sum(axis=(0, *spatial))
    dbeta = dy.sum(axis=(0, *spatial))
    dx = _closed_form_dx(dy * _by_channel(g64, x.ndim), xhat, inv_std, spatial, m)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


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
    xp = get_array_module(x, gamma, beta)
    eps = _validate_common(x, eps)
    c = _validate_channels(x, 2, gamma, beta)
    member = _membership(c, num_groups, xp)
    x64, g64, b64 = _float64(x, gamma, beta)
    xhat, _ = _group_stats(x64, member, eps)
    out = _by_channel(g64, x.ndim) * xhat + _by_channel(b64, x.ndim)
    return out.astype(x.dtype)


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
    xp = get_array_module(dout, x, gamma)
    eps = _validate_common(x, eps)
    c = _validate_channels(x, 2, gamma)
    member = _membership(c, num_groups, xp)
    _validate_dout(dout, x)
    x64, dy, g64 = _float64(x, dout, gamma)
    xhat, inv_std = _group_stats(x64, member, eps)
    not_channel = (0, *range(2, x.ndim))
    dgamma = (dy * xhat).sum(axis=not_channel)
    dbeta = dy.sum(axis=not_channel)
    dxhat = dy * _by_channel(g64, x.ndim)
    m = (c // num_groups) * (x.size // (x.shape[0] * c))
    s1 = _group_sum(dxhat, member)
    s2 = _group_sum(dxhat * xhat, member)
    dx = inv_std / m * (m * dxhat - s1 - xhat * s2)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)
