"""Alternative correct submission, variant ``im2col_staged`` (batchnorm part, the same code as
the batchnorm assignment's ``cs231n_staged`` variant).

How it differs from the reference: the input is laid out as a ``(m, C)`` matrix (spatial
inputs are transposed to ``(N, H, W, C)`` and reshaped, the CS231n "spatial batchnorm" trick),
statistics are explicit column sums divided by ``m``, the unbiased variance is
``sum((x - mu) ** 2) / (m - 1)`` (not the biased one rescaled) and the running averages are
written ``momentum * batch + (1 - momentum) * running``. The backward pass is the CS231n staged
computational graph: it backpropagates step by step through the mean, the centring, the square,
the variance, the square root and the inverse, instead of using the compact closed form.
Everything is computed in the dtype of ``x``.

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


def _check_x(x: Array) -> None:
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a floating-point array, got dtype {x.dtype}")
    if x.ndim not in (2, 4):
        raise ValueError(f"x must have shape (N, C) or (N, C, H, W), got shape {x.shape}")


def _check_vec(v: Array, name: str, c: int) -> None:
    if v.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},), got {v.shape}")


def _to_rows(x: Array) -> Array:
    """(N, C) as it is; (N, C, H, W) -> (N*H*W, C): one column per channel."""
    if x.ndim == 2:
        return x
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def _from_rows(rows: Array, shape: tuple[int, ...]) -> Array:
    """Inverse of _to_rows."""
    xp = get_array_module(rows)
    if len(shape) == 2:
        return rows
    n, c, h, w = shape
    return xp.ascontiguousarray(rows.reshape(n, h, w, c).transpose(0, 3, 1, 2))


def _forward_graph(rows: Array, eps: float) -> tuple[Array, ...]:
    """The staged forward graph over the columns of rows; returns every intermediate."""
    xp = get_array_module(rows)
    m = rows.shape[0]
    mu = rows.sum(axis=0) / m  # step 1: mean
    xmu = rows - mu  # step 2: centre
    sq = xmu**2  # step 3: square
    var = sq.sum(axis=0) / m  # step 4: (biased) variance
    sqrtvar = xp.sqrt(var + eps)  # step 5: standard deviation
    ivar = 1.0 / sqrtvar  # step 6: invert
    xhat = xmu * ivar  # step 7: normalize
    return mu, xmu, sq, var, sqrtvar, ivar, xhat


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
    _check_x(x)
    c = x.shape[1]
    _check_vec(gamma, "gamma", c)
    _check_vec(beta, "beta", c)
    _check_vec(running_mean, "running_mean", c)
    _check_vec(running_var, "running_var", c)
    if momentum is None or not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    momentum, eps = float(momentum), float(eps)
    dt = x.dtype
    gamma = gamma.astype(dt)
    beta = beta.astype(dt)
    rm = running_mean.astype(dt)  # astype copies: the inputs are never touched
    rv = running_var.astype(dt)
    rows = _to_rows(x)

    if not training:
        xhat = (rows - rm) / xp.sqrt(rv + eps)
        out = gamma * xhat + beta
        return _from_rows(out, x.shape).astype(dt, copy=False), rm, rv

    m = rows.shape[0]
    if m < 2:
        raise ValueError(f"training needs more than one value per channel, got shape {x.shape}")
    mu, _, sq, _, _, _, xhat = _forward_graph(rows, eps)
    out = gamma * xhat + beta
    unbiased_var = sq.sum(axis=0) / (m - 1)
    new_mean = momentum * mu + (1.0 - momentum) * rm
    new_var = momentum * unbiased_var + (1.0 - momentum) * rv
    return (
        _from_rows(out, x.shape).astype(dt, copy=False),
        new_mean.astype(dt, copy=False),
        new_var.astype(dt, copy=False),
    )


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
    _check_x(x)
    if dout.shape != x.shape:
        raise ValueError(f"dout must have shape {x.shape}, got {dout.shape}")
    _check_vec(gamma, "gamma", x.shape[1])
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    eps = float(eps)
    dt = x.dtype
    rows = _to_rows(x)
    drows = _to_rows(dout.astype(dt, copy=False))
    m = rows.shape[0]
    if m < 2:
        raise ValueError(f"batch norm needs more than one value per channel, got shape {x.shape}")
    gamma = gamma.astype(dt, copy=False)
    _, xmu, _, _, sqrtvar, ivar, xhat = _forward_graph(rows, eps)

    # out = gamma * xhat + beta
    dbeta = drows.sum(axis=0)
    dgamma = (drows * xhat).sum(axis=0)
    dxhat = drows * gamma
    # step 7: xhat = xmu * ivar
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    # step 6: ivar = 1 / sqrtvar
    dsqrtvar = -1.0 / sqrtvar**2 * divar
    # step 5: sqrtvar = sqrt(var + eps)
    dvar = 0.5 / sqrtvar * dsqrtvar
    # step 4: var = sum(sq) / m
    dsq = dvar / m
    # step 3: sq = xmu ** 2
    dxmu2 = 2.0 * xmu * dsq
    # step 2: xmu = x - mu (both paths into xmu)
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    # step 1: mu = sum(x) / m
    dx2 = dmu / m
    dx = dx1 + dx2
    return (
        _from_rows(dx, x.shape).astype(dt, copy=False),
        dgamma.astype(dt, copy=False),
        dbeta.astype(dt, copy=False),
    )
