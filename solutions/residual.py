"""A basic ResNet block (He et al., 2016), forward and backward, built from your own layers.

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

from solutions.batchnorm import batchnorm_backward, batchnorm_forward
from solutions.conv import conv_backward, conv_forward

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


# BEGIN SOLUTION
def _relu(x: Array) -> Array:
    return get_array_module(x).maximum(x, x.dtype.type(0))


def _relu_backward(dout: Array, x: Array) -> Array:
    """Through ``relu(x)``: ``dout`` where ``x > 0``, else 0 (the derivative at 0 is 0)."""
    xp = get_array_module(dout, x)
    return xp.where(x > 0, dout, dout.dtype.type(0)).astype(dout.dtype, copy=False)


def _stride_is_one(stride: Any) -> bool:
    if isinstance(stride, (tuple, list)):
        return len(stride) == 2 and all(int(s) == 1 for s in stride)
    return int(stride) == 1


def _check_block(x: Array, params: dict[str, Array], stride: Any) -> bool:
    """Validate x and params; return True for a projection block, False for identity."""
    if x.ndim != 4:
        raise ValueError(
            f"x must have shape (N, C_in, H, W), got an array of shape {tuple(x.shape)}"
        )
    projection = "w_proj" in params
    expected = MAIN_PARAMS + (PROJECTION_PARAMS if projection else ())
    missing = [k for k in expected if k not in params]
    unknown = [k for k in params if k not in MAIN_PARAMS + PROJECTION_PARAMS]
    if missing or unknown:
        raise ValueError(
            f"params must have the keys {list(expected)}; missing {missing}, unknown {unknown}"
        )
    c_in = int(x.shape[1])
    w1 = params["w1"]
    if w1.ndim != 4 or tuple(w1.shape[1:]) != (c_in, 3, 3):
        raise ValueError(
            f"params['w1'] must have shape (C_out, C_in, 3, 3) with C_in = {c_in} (the "
            f"channels of x), got shape {tuple(w1.shape)}"
        )
    c_out = int(w1.shape[0])
    shapes = {
        "w2": (c_out, c_out, 3, 3),
        "gamma1": (c_out,),
        "beta1": (c_out,),
        "gamma2": (c_out,),
        "beta2": (c_out,),
    }
    if projection:
        shapes.update(w_proj=(c_out, c_in, 1, 1), gamma_proj=(c_out,), beta_proj=(c_out,))
    for key, shape in shapes.items():
        if tuple(params[key].shape) != shape:
            raise ValueError(
                f"params[{key!r}] must have shape {shape} (C_in = {c_in}, C_out = {c_out}), "
                f"got shape {tuple(params[key].shape)}"
            )
    if not projection and (c_in != c_out or not _stride_is_one(stride)):
        raise ValueError(
            f"the identity shortcut needs stride 1 and C_in == C_out, got stride={stride!r}, "
            f"C_in={c_in}, C_out={c_out}: give params 'w_proj' (C_out, C_in, 1, 1), "
            f"'gamma_proj' and 'beta_proj' for a projection shortcut"
        )
    return projection


def _check_state(bn_state: dict[str, Array], projection: bool) -> None:
    expected = MAIN_STATE + (PROJECTION_STATE if projection else ())
    missing = [k for k in expected if k not in bn_state]
    unknown = [k for k in bn_state if k not in expected]
    if missing or unknown:
        kind = "projection" if projection else "identity"
        raise ValueError(
            f"bn_state of a block with {kind} shortcut must have the keys {list(expected)}; "
            f"missing {missing}, unexpected {unknown}"
        )


def _block(
    x: Array,
    params: dict[str, Array],
    bn_state: dict[str, Array],
    stride: Any,
    training: bool,
    momentum: float,
    eps: float,
    projection: bool,
) -> tuple[Array, dict[str, Array], dict[str, Array]]:
    """Forward pass; returns (out, new_bn_state, intermediates for the backward pass)."""
    p, s = params, bn_state
    h1 = conv_forward(x, p["w1"], None, stride=stride, padding=1)
    a1, mean1, var1 = batchnorm_forward(
        h1, p["gamma1"], p["beta1"], s["mean1"], s["var1"], training, momentum, eps
    )
    r1 = _relu(a1)
    h2 = conv_forward(r1, p["w2"], None, stride=1, padding=1)
    a2, mean2, var2 = batchnorm_forward(
        h2, p["gamma2"], p["beta2"], s["mean2"], s["var2"], training, momentum, eps
    )
    new_state = {"mean1": mean1, "var1": var1, "mean2": mean2, "var2": var2}
    cache = {"h1": h1, "a1": a1, "r1": r1, "h2": h2}
    if projection:
        hp = conv_forward(x, p["w_proj"], None, stride=stride, padding=0)
        shortcut, mean_p, var_p = batchnorm_forward(
            hp,
            p["gamma_proj"],
            p["beta_proj"],
            s["mean_proj"],
            s["var_proj"],
            training,
            momentum,
            eps,
        )
        new_state.update(mean_proj=mean_p, var_proj=var_p)
        cache["hp"] = hp
    else:
        shortcut = x
    z = a2 + shortcut
    cache["z"] = z
    return _relu(z), new_state, cache


# END SOLUTION


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
    # BEGIN SOLUTION
    projection = _check_block(x, params, stride)
    _check_state(bn_state, projection)
    out, new_state, _ = _block(x, params, bn_state, stride, training, momentum, eps, projection)
    return out, new_state
    # END SOLUTION


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
    # BEGIN SOLUTION
    xp = get_array_module(dout, x)
    projection = _check_block(x, params, stride)
    c_out = int(params["w1"].shape[0])
    dummy = {}
    for key in MAIN_STATE + (PROJECTION_STATE if projection else ()):
        make = xp.zeros if key.startswith("mean") else xp.ones
        dummy[key] = make(c_out, dtype=x.dtype)
    out, _, c = _block(x, params, dummy, stride, True, 0.0, eps, projection)
    if tuple(dout.shape) != tuple(out.shape):
        raise ValueError(
            f"dout must have the shape of the block's output {tuple(out.shape)}, got "
            f"{tuple(dout.shape)}"
        )
    p = params
    dz = _relu_backward(dout.astype(x.dtype, copy=False), c["z"])
    dh2, dgamma2, dbeta2 = batchnorm_backward(dz, c["h2"], p["gamma2"], eps)
    dr1, dw2, _ = conv_backward(dh2, c["r1"], p["w2"], stride=1, padding=1)
    da1 = _relu_backward(dr1, c["a1"])
    dh1, dgamma1, dbeta1 = batchnorm_backward(da1, c["h1"], p["gamma1"], eps)
    dx, dw1, _ = conv_backward(dh1, x, p["w1"], stride=stride, padding=1)
    grads = {
        "w1": dw1,
        "gamma1": dgamma1,
        "beta1": dbeta1,
        "w2": dw2,
        "gamma2": dgamma2,
        "beta2": dbeta2,
    }
    if projection:
        dhp, dgamma_p, dbeta_p = batchnorm_backward(dz, c["hp"], p["gamma_proj"], eps)
        dx_p, dw_p, _ = conv_backward(dhp, x, p["w_proj"], stride=stride, padding=0)
        dx = dx + dx_p
        grads.update(w_proj=dw_p, gamma_proj=dgamma_p, beta_proj=dbeta_p)
    else:
        dx = dx + dz
    return dx, grads
    # END SOLUTION
