"""Alternative correct submission, variant ``im2col_staged`` (residual part).

How it differs from the reference: built on this variant's own ``conv.py`` (im2col with
sliding windows, rows = output pixels, col2im per kernel tap) and ``batchnorm.py`` (CS231n
staged graph on a transposed ``(m, C)`` layout). The forward pass keeps a CS231n-style cache
list; ReLU is ``a * (a > 0)`` and its backward multiplies by the saved mask; the backward
pass handles the shortcut branch first and adds the main branch's ``dx`` to it.

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


def _is_unit_stride(stride: Any) -> bool:
    if isinstance(stride, (tuple, list)):
        return tuple(int(s) for s in stride) == (1, 1)
    return int(stride) == 1


def _validate(x: Array, params: dict[str, Array], stride: Any) -> bool:
    """Check x and params; True when the block has a projection shortcut."""
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C_in, H, W), got shape {x.shape}")
    use_proj = "w_proj" in params
    wanted = set(MAIN_PARAMS) | (set(PROJECTION_PARAMS) if use_proj else set())
    if set(params) != wanted:
        raise ValueError(
            f"params must have exactly the keys {sorted(wanted)}, got {sorted(params)}"
        )
    c_in = x.shape[1]
    w1 = params["w1"]
    if w1.ndim != 4 or w1.shape[1:] != (c_in, 3, 3):
        raise ValueError(f"w1 must be (C_out, {c_in}, 3, 3), got {w1.shape}")
    c_out = w1.shape[0]
    expected = {"w2": (c_out, c_out, 3, 3)}
    for k in ("gamma1", "beta1", "gamma2", "beta2"):
        expected[k] = (c_out,)
    if use_proj:
        expected["w_proj"] = (c_out, c_in, 1, 1)
        expected["gamma_proj"] = (c_out,)
        expected["beta_proj"] = (c_out,)
    for k, shape in expected.items():
        if params[k].shape != shape:
            raise ValueError(f"params[{k!r}] must have shape {shape}, got {params[k].shape}")
    if not use_proj and (c_in != c_out or not _is_unit_stride(stride)):
        raise ValueError(
            "an identity shortcut needs stride 1 and C_in == C_out; add w_proj, gamma_proj "
            "and beta_proj for a projection shortcut"
        )
    return use_proj


def _run_block(x, params, bn_state, stride, training, momentum, eps, use_proj):
    """Forward pass; returns (out, new_state, cache list)."""
    p, s = params, bn_state
    h1 = conv_forward(x, p["w1"], None, stride=stride, padding=1)
    a1, mean1, var1 = batchnorm_forward(
        h1, p["gamma1"], p["beta1"], s["mean1"], s["var1"], training, momentum, eps
    )
    mask1 = a1 > 0
    r1 = a1 * mask1
    h2 = conv_forward(r1, p["w2"], None, stride=1, padding=1)
    a2, mean2, var2 = batchnorm_forward(
        h2, p["gamma2"], p["beta2"], s["mean2"], s["var2"], training, momentum, eps
    )
    new_state = {"mean1": mean1, "var1": var1, "mean2": mean2, "var2": var2}
    hp = None
    if use_proj:
        hp = conv_forward(x, p["w_proj"], None, stride=stride, padding=0)
        sc, mean_p, var_p = batchnorm_forward(
            hp,
            p["gamma_proj"],
            p["beta_proj"],
            s["mean_proj"],
            s["var_proj"],
            training,
            momentum,
            eps,
        )
        new_state["mean_proj"] = mean_p
        new_state["var_proj"] = var_p
    else:
        sc = x
    z = a2 + sc
    mask_out = z > 0
    out = z * mask_out
    cache = [h1, mask1, r1, h2, hp, mask_out]
    return out, new_state, cache


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
    use_proj = _validate(x, params, stride)
    keys = set(MAIN_STATE) | (set(PROJECTION_STATE) if use_proj else set())
    if set(bn_state) != keys:
        raise ValueError(
            f"bn_state must have exactly the keys {sorted(keys)}, got {sorted(bn_state)}"
        )
    out, new_state, _ = _run_block(x, params, bn_state, stride, training, momentum, eps, use_proj)
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
    use_proj = _validate(x, params, stride)
    c_out = params["w1"].shape[0]
    # the running statistics do not matter in training mode: any will do
    state = {}
    for k in MAIN_STATE + PROJECTION_STATE:
        state[k] = xp.zeros(c_out, x.dtype) if k.startswith("mean") else xp.ones(c_out, x.dtype)
    out, _, cache = _run_block(x, params, state, stride, True, 0.1, eps, use_proj)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have shape {out.shape}, got {dout.shape}")
    h1, mask1, r1, h2, hp, mask_out = cache
    p = params
    dz = dout.astype(x.dtype, copy=False) * mask_out
    grads = {}
    # shortcut branch
    if use_proj:
        dhp, grads["gamma_proj"], grads["beta_proj"] = batchnorm_backward(
            dz, hp, p["gamma_proj"], eps
        )
        dx, grads["w_proj"], _ = conv_backward(dhp, x, p["w_proj"], stride=stride, padding=0)
    else:
        dx = dz
    # main branch
    dh2, grads["gamma2"], grads["beta2"] = batchnorm_backward(dz, h2, p["gamma2"], eps)
    dr1, grads["w2"], _ = conv_backward(dh2, r1, p["w2"], stride=1, padding=1)
    da1 = dr1 * mask1
    dh1, grads["gamma1"], grads["beta1"] = batchnorm_backward(da1, h1, p["gamma1"], eps)
    dx_main, grads["w1"], _ = conv_backward(dh1, x, p["w1"], stride=stride, padding=1)
    dx = dx + dx_main
    return dx, grads
