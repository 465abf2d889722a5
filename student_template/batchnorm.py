"""Batch normalization: forward (training and evaluation) and backward.

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
    raise NotImplementedError("batchnorm_forward is not implemented yet")


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
    raise NotImplementedError("batchnorm_backward is not implemented yet")
