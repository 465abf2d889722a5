"""Alternative correct submission, variant ``rows_staged``.

How it differs from the reference: every layer flattens its input into a 2-D matrix with one
row per set of values normalized together (layer norm ``(N, C*H*W)`` or ``(N, H*W)``, instance
norm ``(N*C, H*W)``, group norm ``(N*G, C//G*H*W)``: the CS231n "layer norm is batch norm on
the transpose" view) and normalizes along the rows with explicit sums divided by ``m``. The
backward pass is the CS231n staged computational graph (through the mean, the centring, the
square, the variance, the square root and the inverse) on those rows, instead of the closed
form; ``dgamma``/``dbeta`` are column sums of reshaped arrays. All in the dtype of ``x``.

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


def _check_float(x: Array) -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a floating-point array, got dtype {x.dtype}")


def _check_eps(eps: float) -> float:
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return float(eps)


def _check_per_channel(x: Array, gamma: Array, beta: Array | None, min_ndim: int) -> int:
    _check_float(x)
    if x.ndim < min_ndim:
        raise ValueError(f"x must have at least {min_ndim} dimensions, got shape {x.shape}")
    c = x.shape[1]
    for name, v in (("gamma", gamma), ("beta", beta)):
        if v is not None and v.shape != (c,):
            raise ValueError(f"{name} must have shape ({c},), got {v.shape}")
    return c


def _check_layer(x: Array, gamma: Array, beta: Array) -> int:
    """Validate layer norm's arguments; return the number of normalized values per row."""
    _check_float(x)
    if gamma.shape != beta.shape:
        raise ValueError(f"gamma {gamma.shape} and beta {beta.shape} must have the same shape")
    k = gamma.ndim
    if k == 0 or k >= x.ndim or x.shape[x.ndim - k :] != gamma.shape:
        raise ValueError(
            f"normalized_shape {gamma.shape} must be the trailing shape of x {x.shape}, "
            f"with at least one leading axis"
        )
    m = 1
    for s in gamma.shape:
        m *= s
    return m


def _check_groups(c: int, num_groups: int) -> None:
    if type(num_groups) is not int or num_groups < 1 or c % num_groups != 0:
        raise ValueError(f"num_groups must be a positive int dividing C = {c}, got {num_groups}")


def _check_dout(dout: Array, x: Array) -> Array:
    if dout.shape != x.shape:
        raise ValueError(f"dout must have shape {x.shape}, got {dout.shape}")
    return dout.astype(x.dtype, copy=False)


def _channel_view(v: Array, x: Array) -> Array:
    """A (C,) vector as (1, C, 1, ...) to broadcast against x."""
    return v.astype(x.dtype, copy=False).reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))


def _rows_forward(rows: Array, eps: float) -> tuple[Array, tuple[Array, Array, Array]]:
    """Normalize each row of a 2-D array; return xhat and the cache of the staged graph."""
    xp = get_array_module(rows)
    m = rows.shape[1]
    mu = rows.sum(axis=1, keepdims=True) / m  # step 1: mean
    xmu = rows - mu  # step 2: centre
    sq = xmu**2  # step 3: square
    var = sq.sum(axis=1, keepdims=True) / m  # step 4: biased variance
    sqrtvar = xp.sqrt(var + eps)  # step 5
    ivar = 1.0 / sqrtvar  # step 6
    xhat = xmu * ivar  # step 7
    return xhat, (xmu, sqrtvar, ivar)


def _rows_backward(dxhat: Array, cache: tuple[Array, Array, Array]) -> Array:
    """Backpropagate dxhat through _rows_forward, one stage at a time."""
    xmu, sqrtvar, ivar = cache
    m = dxhat.shape[1]
    divar = (dxhat * xmu).sum(axis=1, keepdims=True)  # step 7
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / sqrtvar**2 * divar  # step 6
    dvar = 0.5 / sqrtvar * dsqrtvar  # step 5
    dsq = dvar / m  # step 4
    dxmu2 = 2.0 * xmu * dsq  # step 3
    dx1 = dxmu1 + dxmu2  # step 2
    dmu = -dx1.sum(axis=1, keepdims=True)
    return dx1 + dmu / m  # step 1


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
    m = _check_layer(x, gamma, beta)
    eps = _check_eps(eps)
    dt = x.dtype
    xhat, _ = _rows_forward(x.reshape(-1, m), eps)
    out = xhat.reshape(x.shape) * gamma.astype(dt, copy=False) + beta.astype(dt, copy=False)
    return out.astype(dt, copy=False)


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
    m = _check_layer(x, gamma, gamma)
    eps = _check_eps(eps)
    dout = _check_dout(dout, x)
    dt = x.dtype
    xhat, cache = _rows_forward(x.reshape(-1, m), eps)
    drows = dout.reshape(-1, m)
    dgamma = (drows * xhat).sum(axis=0).reshape(gamma.shape)
    dbeta = drows.sum(axis=0).reshape(gamma.shape)
    dxhat = drows * gamma.astype(dt, copy=False).reshape(1, m)
    dx = _rows_backward(dxhat, cache).reshape(x.shape)
    return dx.astype(dt, copy=False), dgamma.astype(dt, copy=False), dbeta.astype(dt, copy=False)


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
    c = _check_per_channel(x, gamma, beta, 3)
    eps = _check_eps(eps)
    n = x.shape[0]
    xhat, _ = _rows_forward(x.reshape(n * c, -1), eps)
    out = xhat.reshape(x.shape) * _channel_view(gamma, x) + _channel_view(beta, x)
    return out.astype(x.dtype, copy=False)


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
    c = _check_per_channel(x, gamma, None, 3)
    eps = _check_eps(eps)
    dout = _check_dout(dout, x)
    n = x.shape[0]
    xhat, cache = _rows_forward(x.reshape(n * c, -1), eps)
    d3 = dout.reshape(n, c, -1)
    dgamma = (d3 * xhat.reshape(n, c, -1)).sum(axis=2).sum(axis=0)
    dbeta = d3.sum(axis=2).sum(axis=0)
    dxhat = (dout * _channel_view(gamma, x)).reshape(n * c, -1)
    dx = _rows_backward(dxhat, cache).reshape(x.shape)
    dt = x.dtype
    return dx.astype(dt, copy=False), dgamma.astype(dt, copy=False), dbeta.astype(dt, copy=False)


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
    c = _check_per_channel(x, gamma, beta, 2)
    _check_groups(c, num_groups)
    eps = _check_eps(eps)
    n = x.shape[0]
    # channels of a group are consecutive, so each row of this view is one (example, group)
    xhat, _ = _rows_forward(x.reshape(n * num_groups, -1), eps)
    out = xhat.reshape(x.shape) * _channel_view(gamma, x) + _channel_view(beta, x)
    return out.astype(x.dtype, copy=False)


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
    c = _check_per_channel(x, gamma, None, 2)
    _check_groups(c, num_groups)
    eps = _check_eps(eps)
    dout = _check_dout(dout, x)
    n = x.shape[0]
    xhat, cache = _rows_forward(x.reshape(n * num_groups, -1), eps)
    d3 = dout.reshape(n, c, -1)
    dgamma = (d3 * xhat.reshape(n, c, -1)).sum(axis=2).sum(axis=0)
    dbeta = d3.sum(axis=2).sum(axis=0)
    dxhat = (dout * _channel_view(gamma, x)).reshape(n * num_groups, -1)
    dx = _rows_backward(dxhat, cache).reshape(x.shape)
    dt = x.dtype
    return dx.astype(dt, copy=False), dgamma.astype(dt, copy=False), dbeta.astype(dt, copy=False)
