"""Alternative correct submission, variant ``tapwise_float64`` (residual part).

How it differs from the reference: built on this variant's own ``conv.py`` (tap-by-tap
"shift and multiply" convolution computed in float64) and ``batchnorm.py`` (float64 inside,
corrected two-pass variance, sum form of the backward formula). The block is written as
conv + batch-norm units (``_conv_bn`` and its backward ``_conv_bn_backward``, each unit keeping
its own cache tuple); the shortcut is computed before the main branch; ReLU is
``xp.where(z > 0, z, 0)`` and its gradient ``xp.where(z > 0, dout, 0)``.

A basic ResNet block (He et al., 2016), forward and backward, built from your own layers.

The block
---------
::

    h1 = conv1(x)          3x3 convolution, stride `stride`, padding 1, no bias
    a1 = relu(bn1(h1))
    h2 = conv2(a1)         3x3 convolution, stride 1, padding 1, no bias
    z  = bn2(h2) + shortcut(x)
    out = relu(z)

``shortcut`` is either

* the identity, ``shortcut(x) = x``: only possible when the block keeps the shape, that is
  ``stride == 1`` and ``C_in == C_out``; or
* a projection, ``shortcut(x) = bn_proj(conv_proj(x))`` with a 1x1 convolution of stride
  ``stride``, padding 0, no bias, mapping ``C_in`` to ``C_out`` channels. It is used whenever
  ``params`` holds ``"w_proj"`` (and is required when the shape changes).

The convolutions have no bias because the batch normalization that follows subtracts the mean
anyway (its ``beta`` plays the role of the bias).

Conventions
-----------
* Layout NCHW; ``x`` has shape ``(N, C_in, H, W)``; the output has shape
  ``(N, C_out, H_out, W_out)`` with ``H_out = floor((H - 1) / stride) + 1`` (likewise W):
  a 3x3 convolution with padding 1 and the 1x1 projection (padding 0) give the same size.
* Use your own layers: ``conv_forward``/``conv_backward`` from ``conv.py`` and
  ``batchnorm_forward``/``batchnorm_backward`` from ``batchnorm.py`` (already imported below;
  submit those two files with this one). The convolutions are cross-correlations as in
  PyTorch's ``conv2d``; batch normalization follows ``torch.nn.functional.batch_norm``.
* Parameters (``params``) and batch-norm state (``bn_state``) are dicts of arrays:

  =================  ========================  ==========================================
  key                shape                     what
  =================  ========================  ==========================================
  ``"w1"``           ``(C_out, C_in, 3, 3)``   conv1 weights
  ``"gamma1"``       ``(C_out,)``              bn1 scale
  ``"beta1"``        ``(C_out,)``              bn1 shift
  ``"w2"``           ``(C_out, C_out, 3, 3)``  conv2 weights
  ``"gamma2"``       ``(C_out,)``              bn2 scale
  ``"beta2"``        ``(C_out,)``              bn2 shift
  ``"w_proj"``       ``(C_out, C_in, 1, 1)``   projection weights (projection block only)
  ``"gamma_proj"``   ``(C_out,)``              bn_proj scale (projection block only)
  ``"beta_proj"``    ``(C_out,)``              bn_proj shift (projection block only)
  =================  ========================  ==========================================

  ``bn_state`` holds the running statistics of each batch normalization, all ``(C_out,)``:
  ``"mean1"``, ``"var1"``, ``"mean2"``, ``"var2"``, and for a projection block also
  ``"mean_proj"``, ``"var_proj"``.
* ReLU's derivative at exactly 0 is taken as 0 (as in PyTorch).
* Functions never modify their inputs (nor the arrays inside the dicts): they return new
  dicts of new arrays. Arrays keep the dtype of ``x``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from batchnorm import batchnorm_backward, batchnorm_forward
from conv import conv_backward, conv_forward

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU

MAIN_PARAMS = ("w1", "gamma1", "beta1", "w2", "gamma2", "beta2")
PROJECTION_PARAMS = ("w_proj", "gamma_proj", "beta_proj")
MAIN_STATE = ("mean1", "var1", "mean2", "var2")
PROJECTION_STATE = ("mean_proj", "var_proj")


def _stride_one(stride: Any) -> bool:
    pair = tuple(stride) if isinstance(stride, (tuple, list)) else (stride, stride)
    return pair == (1, 1)


def _check_params(x: Array, params: dict[str, Array], stride: Any) -> tuple[bool, int]:
    """Validate; return (has a projection shortcut, C_out)."""
    if getattr(x, "ndim", 0) != 4:
        raise ValueError(f"x must be 4-D (N, C_in, H, W), got shape {x.shape}")
    projection = "w_proj" in params
    allowed = MAIN_PARAMS + PROJECTION_PARAMS
    needed = MAIN_PARAMS + (PROJECTION_PARAMS if projection else ())
    missing = [k for k in needed if k not in params]
    extra = [k for k in params if k not in allowed]
    if missing or extra:
        raise ValueError(f"params: missing keys {missing}, unknown keys {extra}")
    c_in = x.shape[1]
    w1 = params["w1"]
    if w1.ndim != 4 or tuple(w1.shape[1:]) != (c_in, 3, 3):
        raise ValueError(f"params['w1'] must be (C_out, {c_in}, 3, 3), got {w1.shape}")
    c_out = w1.shape[0]
    shapes = {"w2": (c_out, c_out, 3, 3)}
    shapes.update({k: (c_out,) for k in ("gamma1", "beta1", "gamma2", "beta2")})
    if projection:
        shapes.update(w_proj=(c_out, c_in, 1, 1), gamma_proj=(c_out,), beta_proj=(c_out,))
    for key, shape in shapes.items():
        if tuple(params[key].shape) != shape:
            raise ValueError(f"params[{key!r}] must have shape {shape}, got {params[key].shape}")
    if not projection and not (c_in == c_out and _stride_one(stride)):
        raise ValueError(
            f"identity shortcut impossible with stride={stride!r}, C_in={c_in}, C_out={c_out}: "
            f"add a projection (w_proj, gamma_proj, beta_proj)"
        )
    return projection, c_out


def _check_state(bn_state: dict[str, Array], projection: bool) -> None:
    needed = set(MAIN_STATE + (PROJECTION_STATE if projection else ()))
    if set(bn_state) != needed:
        raise ValueError(f"bn_state must have the keys {sorted(needed)}, got {sorted(bn_state)}")


def _relu(z: Array) -> Array:
    xp = get_array_module(z)
    return xp.where(z > 0, z, xp.zeros_like(z))


def _conv_bn(x, w, gamma, beta, mean, var, stride, padding, training, momentum, eps):
    """conv (no bias) then batch norm; returns (out, (new_mean, new_var), cache)."""
    h = conv_forward(x, w, None, stride=stride, padding=padding)
    out, new_mean, new_var = batchnorm_forward(h, gamma, beta, mean, var, training, momentum, eps)
    return out, (new_mean, new_var), (x, w, h, gamma, stride, padding)


def _conv_bn_backward(dout, cache, eps):
    """Backward of _conv_bn; returns (dx, dw, dgamma, dbeta)."""
    x, w, h, gamma, stride, padding = cache
    dh, dgamma, dbeta = batchnorm_backward(dout, h, gamma, eps)
    dx, dw, _ = conv_backward(dh, x, w, stride=stride, padding=padding)
    return dx, dw, dgamma, dbeta


def _forward(x, params, state, stride, training, momentum, eps, projection):
    p = params
    new_state = {}
    caches = {}
    if projection:
        shortcut, stats, caches["proj"] = _conv_bn(
            x,
            p["w_proj"],
            p["gamma_proj"],
            p["beta_proj"],
            state["mean_proj"],
            state["var_proj"],
            stride,
            0,
            training,
            momentum,
            eps,
        )
        new_state["mean_proj"], new_state["var_proj"] = stats
    else:
        shortcut = x
    a1, stats, caches["unit1"] = _conv_bn(
        x,
        p["w1"],
        p["gamma1"],
        p["beta1"],
        state["mean1"],
        state["var1"],
        stride,
        1,
        training,
        momentum,
        eps,
    )
    new_state["mean1"], new_state["var1"] = stats
    r1 = _relu(a1)
    a2, stats, caches["unit2"] = _conv_bn(
        r1,
        p["w2"],
        p["gamma2"],
        p["beta2"],
        state["mean2"],
        state["var2"],
        1,
        1,
        training,
        momentum,
        eps,
    )
    new_state["mean2"], new_state["var2"] = stats
    z = shortcut + a2
    caches["a1"], caches["z"] = a1, z
    return _relu(z), new_state, caches


def residual_block_forward(
    x: Array,
    params: dict[str, Array],
    bn_state: dict[str, Array],
    stride: int | tuple[int, int] = 1,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[Array, dict[str, Array]]:
    """Forward pass of a basic residual block (see the module docstring for the diagram).

    ``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Args:
        x: input of shape ``(N, C_in, H, W)``, float32 or float64.
        params: parameter dict with keys ``"w1"``, ``"gamma1"``, ``"beta1"``, ``"w2"``,
            ``"gamma2"``, ``"beta2"`` and, for a projection shortcut, ``"w_proj"``,
            ``"gamma_proj"``, ``"beta_proj"`` (shapes in the module docstring). The presence
            of ``"w_proj"`` selects the projection shortcut; without it the shortcut is the
            identity.
        bn_state: running statistics, keys ``"mean1"``, ``"var1"``, ``"mean2"``, ``"var2"``
            (+ ``"mean_proj"``, ``"var_proj"`` for a projection block), each ``(C_out,)``.
        stride: stride of conv1 and of the projection (int or pair); conv2 has stride 1.
        training: training mode (batch statistics, running statistics updated) or evaluation
            (running statistics used and returned unchanged) for EVERY batch norm of the block.
        momentum, eps: passed to every ``batchnorm_forward`` call.

    Returns:
        ``(out, new_bn_state)``: ``out`` of shape ``(N, C_out, H_out, W_out)`` with
        ``H_out = floor((H - 1) / stride) + 1``, dtype of ``x``; ``new_bn_state`` a new dict
        with the same keys as ``bn_state``, holding the values returned by the batch norms
        (updated in training, unchanged copies in evaluation).

    Raises:
        ValueError: if there is no ``"w_proj"`` while ``stride != 1`` or ``C_in != C_out``
            (the identity cannot change the shape; add a projection); if a parameter or state
            key is missing, or a shape does not match (``w1`` must be ``(C_out, C_in, 3, 3)``).
    """
    projection, _ = _check_params(x, params, stride)
    _check_state(bn_state, projection)
    out, new_state, _ = _forward(x, params, bn_state, stride, training, momentum, eps, projection)
    return out, new_state


def residual_block_backward(
    dout: Array,
    x: Array,
    params: dict[str, Array],
    stride: int | tuple[int, int] = 1,
    eps: float = 1e-5,
) -> tuple[Array, dict[str, Array]]:
    """Backward pass of a basic residual block in training mode.

    Recompute the forward pass (training mode: the batch norms use batch statistics, so the
    running statistics are not needed), keeping the intermediate arrays you need, then
    backpropagate through it in reverse order with your layers' backward functions. The
    gradient of ``z = bn2(...) + shortcut(x)`` flows unchanged into BOTH branches, and ``x``
    receives the sum of the gradients of its two uses (conv1 and the shortcut): this direct
    path is what lets gradients reach early layers of deep ResNets.

    Args:
        dout: upstream gradient, shape of the block's output ``(N, C_out, H_out, W_out)``.
        x: the block's input ``(N, C_in, H, W)``.
        params: the parameter dict used in the forward pass.
        stride: the stride used in the forward pass.
        eps: the ``eps`` used in the forward pass.

    Returns:
        ``(dx, grads)``: ``dx`` shaped like ``x``; ``grads`` a dict with the same keys as
        ``params`` (``"w1"``, ``"gamma1"``, ..., and the projection keys for a projection
        block), each gradient shaped like its parameter. All in the dtype of ``x``.

    Raises:
        ValueError: as for ``residual_block_forward``, or if ``dout`` does not have the
            output shape.
    """
    xp = get_array_module(dout, x)
    projection, c_out = _check_params(x, params, stride)
    keys = MAIN_STATE + (PROJECTION_STATE if projection else ())
    # training mode normalizes with batch statistics: the running ones are placeholders
    state = {
        k: xp.ones(c_out, dtype=x.dtype) if "var" in k else xp.zeros(c_out, dtype=x.dtype)
        for k in keys
    }
    out, _, caches = _forward(x, params, state, stride, True, 0.0, eps, projection)
    if tuple(dout.shape) != tuple(out.shape):
        raise ValueError(f"dout must have the block's output shape {out.shape}, got {dout.shape}")
    zero = xp.zeros_like(out)
    dz = xp.where(caches["z"] > 0, dout.astype(x.dtype, copy=False), zero)
    grads = {}
    dr1, grads["w2"], grads["gamma2"], grads["beta2"] = _conv_bn_backward(dz, caches["unit2"], eps)
    da1 = xp.where(caches["a1"] > 0, dr1, xp.zeros_like(dr1))
    dx, grads["w1"], grads["gamma1"], grads["beta1"] = _conv_bn_backward(da1, caches["unit1"], eps)
    if projection:
        dx_sc, grads["w_proj"], grads["gamma_proj"], grads["beta_proj"] = _conv_bn_backward(
            dz, caches["proj"], eps
        )
    else:
        dx_sc = dz
    return dx_sc + dx, grads
