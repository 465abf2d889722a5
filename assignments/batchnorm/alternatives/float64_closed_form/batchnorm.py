"""Alternative correct submission, variant ``float64_closed_form``.

How it differs from the reference: every computation is done in float64 (inputs upcast on
entry, results cast back to the dtype of ``x`` on return: float64 inside, float32 outside).
The variance uses the *corrected* two-pass formula ``mean(d ** 2) - mean(d) ** 2`` with
``d = x - mean(x)`` (Chan, Golub and LeVeque), clamped at 0; the running averages are updated
in interpolation form ``running + momentum * (batch - running)``; evaluation folds the
normalization into one per-channel scale and shift (``x * scale + shift``); the backward pass
uses the sum form of the closed formula
``dx = gamma * inv_std / m * (m * dout - sum(dout) - xhat * sum(dout * xhat))``.

Batch normalization: forward (training and evaluation) and backward.

Conventions
-----------
* Layout is NCHW. ``x`` is either a batch of vectors ``(N, C)`` (after a fully-connected
  layer) or a batch of feature maps ``(N, C, H, W)`` (after a convolution, "spatial" batch
  normalization). ``C`` is the channel (feature) axis, axis 1 in both cases.
* Statistics are per channel: for ``(N, C)`` they are taken over axis 0 (``N`` values per
  channel); for ``(N, C, H, W)`` over axes ``(0, 2, 3)`` (``m = N * H * W`` values per channel).
  Reduce over these axes directly (``x.mean(axis=(0, 2, 3))``); there is no need to transpose
  or reshape the input to ``(m, C)``.
* ``gamma`` (scale), ``beta`` (shift), ``running_mean`` and ``running_var`` all have shape
  ``(C,)``. To combine a ``(C,)`` vector with an ``(N, C, H, W)`` array, reshape it to
  ``(1, C, 1, 1)`` so that broadcasting lines it up with the channel axis.
* The semantics are those of PyTorch's ``torch.nn.functional.batch_norm``:

  - training: ``out = gamma * (x - mu) / sqrt(var + eps) + beta`` where ``mu`` and ``var`` are
    the batch mean and the *biased* batch variance (divide by ``m``) of each channel; ``eps``
    is added inside the square root.
  - the running averages used at evaluation time are updated as
    ``new = (1 - momentum) * old + momentum * batch_statistic`` where the batch statistic for
    the variance is the *unbiased* variance (divide by ``m - 1``), as PyTorch does.
  - evaluation: ``out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta``; the
    running averages are returned unchanged.

  Momentum convention: PyTorch's ``momentum`` is the weight of the NEW batch statistic
  (default 0.1). The CS231n assignments (and Keras) use the opposite convention,
  ``running = momentum * running + (1 - momentum) * batch`` with default 0.9, so their
  ``momentum=0.9`` is our ``momentum=0.1``. This kit follows PyTorch.
* Functions never modify their inputs: new running statistics are returned as new arrays.
* Every returned array has the dtype of ``x`` (float32 in, float32 out).
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly.
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


def _layout(x: Array) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """Validate x; return (reduction axes, shape of a broadcast (C,) vector, values per channel)."""
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a floating-point array, got dtype {x.dtype}")
    if x.ndim == 2:
        return (0,), (1, x.shape[1]), x.shape[0]
    if x.ndim == 4:
        n, c, h, w = x.shape
        return (0, 2, 3), (1, c, 1, 1), n * h * w
    raise ValueError(f"x must have shape (N, C) or (N, C, H, W), got shape {x.shape}")


def _check_param(v: Array, name: str, c: int) -> None:
    if v.shape != (c,):
        raise ValueError(f"{name} must have shape (C,) = ({c},), got {v.shape}")


def _batch_stats(x64: Array, axes: tuple[int, ...], eps: float) -> tuple[Array, Array, Array]:
    """Per-channel (mean, biased variance, xhat), all float64, mean and variance kept as
    broadcastable (1, C, 1, 1) / (1, C) arrays."""
    xp = get_array_module(x64)
    mu = x64.mean(axis=axes, keepdims=True)
    d = x64 - mu
    # corrected two-pass: the second term removes the rounding error left in mu
    var = (d * d).mean(axis=axes, keepdims=True) - d.mean(axis=axes, keepdims=True) ** 2
    var = xp.maximum(var, 0.0)
    xhat = d / xp.sqrt(var + eps)
    return mu, var, xhat


def batchnorm_forward(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[Array, Array, Array]:
    """Batch normalization forward pass (``torch.nn.functional.batch_norm`` semantics).

    Args:
        x: input of shape ``(N, C)`` or ``(N, C, H, W)``, float32 or float64.
        gamma: scale, shape ``(C,)``.
        beta: shift, shape ``(C,)``.
        running_mean: running average of the per-channel mean, shape ``(C,)``.
        running_var: running average of the per-channel variance, shape ``(C,)``.
        training: if True, normalize with the statistics of this batch and update the running
            averages; if False (evaluation), normalize with ``running_mean`` and
            ``running_var`` and leave them unchanged.
        momentum: weight of the new batch statistic in the running average, in ``[0, 1]``
            (PyTorch convention; CS231n's ``momentum=0.9`` corresponds to ``0.1`` here, see
            the module docstring). ``momentum=None`` (PyTorch's cumulative average) is not
            supported.
        eps: small non-negative constant added to the variance inside the square root.

    Returns:
        ``(out, new_running_mean, new_running_var)``:

        * ``out``: shaped like ``x``.
        * Training, with ``m`` values per channel (``m = N`` or ``N * H * W``), ``mu`` the
          per-channel mean and ``var`` the biased per-channel variance (mean of
          ``(x - mu) ** 2``):
          ``out = gamma * (x - mu) / sqrt(var + eps) + beta``,
          ``new_running_mean = (1 - momentum) * running_mean + momentum * mu``,
          ``new_running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)``
          (the running variance is fed the UNBIASED variance, as in PyTorch).
        * Evaluation:
          ``out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta`` and the
          running statistics are returned unchanged, as new arrays (copies).

        All three arrays have the dtype of ``x``; the two running statistics have shape
        ``(C,)``. The inputs are never modified.

        Compute the variance as the mean of ``(x - mu) ** 2`` (two passes), not as
        ``mean(x ** 2) - mu ** 2``: the latter subtracts two large, nearly equal numbers and
        loses most of its precision when ``|mu|`` is large compared with the standard
        deviation (this is tested).

    Raises:
        ValueError: if ``x`` is neither 2-D nor 4-D; if ``gamma``, ``beta``,
            ``running_mean`` or ``running_var`` is not of shape ``(C,)``; if ``momentum`` is
            not in ``[0, 1]`` or ``eps`` is negative; in training, if a channel has a single
            value (``m == 1``: the variance of one number is meaningless and the unbiased
            variance divides by zero; PyTorch raises too).
    """
    xp = get_array_module(x, gamma, beta, running_mean, running_var)
    axes, vshape, m = _layout(x)
    c = x.shape[1]
    for name, v in (
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        _check_param(v, name, c)
    if momentum is None or not (0.0 <= momentum <= 1.0):
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps!r}")
    mom, eps = float(momentum), float(eps)
    dtype = x.dtype
    f64 = xp.float64
    x64 = x.astype(f64)
    g = gamma.astype(f64).reshape(vshape)
    b = beta.astype(f64).reshape(vshape)
    rm = running_mean.astype(f64)
    rv = running_var.astype(f64)

    if not training:
        scale = g / xp.sqrt(rv.reshape(vshape) + eps)
        shift = b - rm.reshape(vshape) * scale
        out = x64 * scale + shift
        return out.astype(dtype), rm.astype(dtype), rv.astype(dtype)

    if m <= 1:
        raise ValueError(
            f"training mode needs at least 2 values per channel, x has shape {x.shape}"
        )
    mu, var, xhat = _batch_stats(x64, axes, eps)
    out = g * xhat + b
    batch_mean = mu.reshape(c)
    batch_var_unbiased = var.reshape(c) * (m / (m - 1))
    new_mean = rm + mom * (batch_mean - rm)
    new_var = rv + mom * (batch_var_unbiased - rv)
    return out.astype(dtype), new_mean.astype(dtype), new_var.astype(dtype)


def batchnorm_backward(
    dout: Array, x: Array, gamma: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    """Batch normalization backward pass, training mode.

    The forward pass is the training one: ``out = gamma * xhat + beta`` with
    ``xhat = (x - mu) / sqrt(var + eps)``, ``mu`` and ``var`` (biased) being the per-channel
    batch statistics of ``x``. Recompute ``mu``, ``var`` and ``xhat`` from ``x``; ``beta`` and
    the running statistics do not influence the gradients, so they are not arguments.

    Because ``mu`` and ``var`` depend on every element of the channel, the gradient with
    respect to ``x`` is NOT simply ``dout * gamma / sqrt(var + eps)``. Derive the compact
    closed form: with ``m`` values per channel and sums taken per channel,

        ``dx = gamma / (m * sqrt(var + eps)) * (m * dout - sum(dout) - xhat * sum(dout * xhat))``

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: the forward input, ``(N, C)`` or ``(N, C, H, W)``.
        gamma: scale, shape ``(C,)``.
        eps: the ``eps`` used in the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)``: ``dx`` shaped like ``x``; ``dgamma = sum(dout * xhat)`` and
        ``dbeta = sum(dout)`` per channel, shape ``(C,)``. All in the dtype of ``x``.

    Raises:
        ValueError: if ``x`` is neither 2-D nor 4-D, ``dout`` is not shaped like ``x``,
            ``gamma`` is not ``(C,)``, ``eps`` is negative, or a channel has a single value.
    """
    xp = get_array_module(dout, x, gamma)
    axes, vshape, m = _layout(x)
    if dout.shape != x.shape:
        raise ValueError(f"dout must be shaped like x {x.shape}, got {dout.shape}")
    _check_param(gamma, "gamma", x.shape[1])
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps!r}")
    if m <= 1:
        raise ValueError(f"batch norm needs at least 2 values per channel, x has shape {x.shape}")
    eps = float(eps)
    dtype = x.dtype
    x64 = x.astype(xp.float64)
    dy = dout.astype(xp.float64)
    g = gamma.astype(xp.float64).reshape(vshape)
    _, var, xhat = _batch_stats(x64, axes, eps)
    inv_std = 1.0 / xp.sqrt(var + eps)

    dbeta = dy.sum(axis=axes, keepdims=True)
    dgamma = (dy * xhat).sum(axis=axes, keepdims=True)
    dx = (g * inv_std / m) * (m * dy - dbeta - xhat * dgamma)
    c = x.shape[1]
    return dx.astype(dtype), dgamma.reshape(c).astype(dtype), dbeta.reshape(c).astype(dtype)
