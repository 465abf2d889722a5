"""Hints for residual: the usual mistakes in the residual block, forward and backward.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made, with the reference's own layers) and names them, printing
no reference value. :mod:`autograder.suite.hints` loads this file by path; it is never shipped
to students.

Where the mistakes come from (students' code and framework issues):

* A ReLU on the residual branch before the addition: kuangliu/pytorch-cifar#4 (a ReLU before
  the shortcut, "shouldn't be a relu here").
* No ReLU after the addition: the block ends with ``relu(z)`` in He et al.'s Fig. 2, a
  step dropped when the addition is written last.
* The projection shortcut without its batch norm: dalgu90/resnet-18-tensorflow#9,
  facebookarchive/fb.resnet.torch#191, raghakot/keras-resnet#12.
* The mode and the options not passed on to every batch norm: a model kept in training mode
  at test time (fxia22/pointnet.pytorch#19, pytorch/pytorch#5406 on what eval changes);
  ``momentum`` and ``eps`` left at their defaults.
* The backward pass without the shortcut's gradient (``dx`` from conv1 only), or without the
  final ReLU's mask: the direct path that the d2l.ai and CS231n notes stress.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, suspect
from autograder.suite.layer_mistakes import Layers

LAYERS = Layers(
    forward={"conv_forward": "convolution", "batchnorm_forward": "batch norm", "_relu": "ReLU"},
    backward={
        "conv_backward": "conv_forward",
        "batchnorm_backward": "batchnorm_forward",
        "_relu_backward": "_relu",
    },
    components={
        "w1": "conv1",
        "gamma1": "bn1",
        "beta1": "bn1",
        "w2": "conv2",
        "gamma2": "bn2",
        "beta2": "bn2",
        "w_proj": "conv_proj (the projection's convolution)",
        "gamma_proj": "bn_proj (the projection's batch norm)",
        "beta_proj": "bn_proj (the projection's batch norm)",
    },
    relu="_relu",
)
"""The block's layers as the module docstring's diagram names them, for the mistakes the
engine finds without a catalogue (a layer left out, given the wrong array or option)."""

PROJECTION_IGNORED = "your block ignores the projection shortcut (w_proj) when params provide one"
RELU_BEFORE_ADD = (
    "your block applies a ReLU to the residual branch before adding the shortcut: add "
    "bn2's output as it is, z = bn2(conv2(...)) + shortcut(x), then take relu(z)"
)
NO_FINAL_RELU = (
    "your block returns z = bn2(...) + shortcut(x) without the final ReLU: out = relu(z)"
)
PROJECTION_WITHOUT_BN = (
    "your projection shortcut is conv_proj(x) without its batch norm: the shortcut is "
    "bn_proj(conv_proj(x)), with gamma_proj, beta_proj and its running statistics"
)
ALWAYS_TRAINING = (
    "your block normalizes with the batch statistics in evaluation mode: pass training to "
    "every batch norm of the block (with training=False they use the running statistics)"
)
DEFAULT_OPTIONS = (
    "your batch norms run with their own defaults (momentum 0.1, eps 1e-5), not the "
    "block's momentum and eps: pass both on to every batchnorm_forward (and eps to every "
    "batchnorm_backward)"
)
NO_SHORTCUT_GRADIENT = (
    "your dx holds only what flows back through conv1: x is also the shortcut's input, so "
    "add the shortcut's gradient (dz itself for the identity, through bn_proj and conv_proj "
    "for a projection)"
)
NO_FINAL_RELU_MASK = (
    "your backward pass sends dout into both branches without the final ReLU's mask: "
    "dz = dout where z > 0, else 0"
)


def _forward(
    ref: Any, arguments: dict[str, Any], projection: bool, **mistakes: bool
) -> tuple[Any, dict[str, Any]]:
    """The block's output and what its backward pass needs, with the reference's layers and
    ``mistakes``: ``relu_before_add``, ``no_final_relu``, ``projection_without_bn``."""
    x, p, s = arguments["x"], arguments["params"], arguments["bn_state"]
    stride, training = arguments["stride"], arguments["training"]
    momentum, eps = arguments["momentum"], arguments["eps"]
    zero = x.dtype.type(0)

    def bn(h: Any, name: str) -> Any:
        gamma, beta = p["gamma" + name], p["beta" + name]
        running = s["mean" + name], s["var" + name]
        return ref.batchnorm_forward(h, gamma, beta, *running, training, momentum, eps)[0]

    h1 = ref.conv_forward(x, p["w1"], None, stride=stride, padding=1)
    a1 = bn(h1, "1")
    r1 = np.maximum(a1, zero)
    h2 = ref.conv_forward(r1, p["w2"], None, stride=1, padding=1)
    a2 = bn(h2, "2")
    cache = {"h1": h1, "a1": a1, "r1": r1, "h2": h2}
    if projection:
        hp = ref.conv_forward(x, p["w_proj"], None, stride=stride, padding=0)
        shortcut = hp if mistakes.get("projection_without_bn") else bn(hp, "_proj")
        cache["hp"] = hp
    else:
        shortcut = x
    z = (np.maximum(a2, zero) if mistakes.get("relu_before_add") else a2) + shortcut
    cache["z"] = z
    out = z if mistakes.get("no_final_relu") else np.maximum(z, zero)
    return out, cache


def _training_arguments(arguments: dict[str, Any], projection: bool) -> dict[str, Any]:
    """The backward pass's arguments as a training-mode forward call (running statistics do
    not matter there)."""
    x = arguments["x"]
    c_out = int(arguments["params"]["w1"].shape[0])
    keys = ("mean1", "var1", "mean2", "var2") + (("mean_proj", "var_proj") if projection else ())
    state = {
        key: (np.zeros if key.startswith("mean") else np.ones)(c_out, dtype=x.dtype) for key in keys
    }
    return arguments | {"bn_state": state, "training": True, "momentum": 0.0}


def _backward(ref: Any, arguments: dict[str, Any], projection: bool, **mistakes: bool) -> Any:
    """``(dx, grads)`` with the reference's layers and ``mistakes``: ``no_shortcut_gradient``,
    ``no_final_relu_mask``."""
    x, p, stride, eps = arguments["x"], arguments["params"], arguments["stride"], arguments["eps"]
    _, c = _forward(ref, _training_arguments(arguments, projection), projection)
    zero = x.dtype.type(0)
    dout = arguments["dout"].astype(x.dtype)
    dz = dout if mistakes.get("no_final_relu_mask") else np.where(c["z"] > zero, dout, zero)
    dh2, dgamma2, dbeta2 = ref.batchnorm_backward(dz, c["h2"], p["gamma2"], eps)
    dr1, dw2, _ = ref.conv_backward(dh2, c["r1"], p["w2"], stride=1, padding=1)
    da1 = np.where(c["a1"] > zero, dr1, zero)
    dh1, dgamma1, dbeta1 = ref.batchnorm_backward(da1, c["h1"], p["gamma1"], eps)
    dx, dw1, _ = ref.conv_backward(dh1, x, p["w1"], stride=stride, padding=1)
    grads = {
        "w1": dw1,
        "gamma1": dgamma1,
        "beta1": dbeta1,
        "w2": dw2,
        "gamma2": dgamma2,
        "beta2": dbeta2,
    }
    if projection:
        dhp, dgamma_p, dbeta_p = ref.batchnorm_backward(dz, c["hp"], p["gamma_proj"], eps)
        dx_p, dw_p, _ = ref.conv_backward(dhp, x, p["w_proj"], stride=stride, padding=0)
        grads.update(w_proj=dw_p, gamma_proj=dgamma_p, beta_proj=dbeta_p)
    else:
        dx_p = dz
    if not mistakes.get("no_shortcut_gradient"):
        dx = dx + dx_p
    return dx, grads


def _block_arguments(reference: Any, call: Call) -> tuple[dict[str, Any], bool] | None:
    """The call's arguments and whether the block has a projection; None when the reference
    refuses the call (no mistake can be made in it)."""
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    try:
        function(**arguments)
    except Exception:
        return None
    return arguments, "w_proj" in arguments["params"]


def _stride_is_one(stride: Any) -> bool:
    return stride in (1, (1, 1), [1, 1])


@diagnoses_for("residual_block_forward")
def _residual_forward(reference: Any, call: Call) -> list[Suspect | str]:
    known = _block_arguments(reference, call)
    if known is None:
        return []
    arguments, projection = known
    params, state, x = arguments["params"], arguments["bn_state"], arguments["x"]
    found: list[Suspect | str] = [
        Suspect(
            RELU_BEFORE_ADD,
            _forward(reference, arguments, projection, relu_before_add=True)[0],
            (0,),
        ),
        Suspect(
            NO_FINAL_RELU, _forward(reference, arguments, projection, no_final_relu=True)[0], (0,)
        ),
    ]
    if projection:
        without_bn = _forward(reference, arguments, projection, projection_without_bn=True)[0]
        found.append(Suspect(PROJECTION_WITHOUT_BN, without_bn, (0,)))
        if params["w_proj"].shape[0] == x.shape[1] and _stride_is_one(arguments["stride"]):
            identity = {k: v for k, v in params.items() if not k.endswith("_proj")}
            identity_state = {k: v for k, v in state.items() if not k.endswith("_proj")}
            ignored = reference.residual_block_forward(
                **(arguments | {"params": identity, "bn_state": identity_state})
            )
            found.append(Suspect(PROJECTION_IGNORED, ignored[0], (0,)))
    if not arguments["training"]:
        found.append(
            suspect(reference.residual_block_forward, call, ALWAYS_TRAINING, (0,), training=True)
        )
    if (arguments["momentum"], arguments["eps"]) != (0.1, 1e-5):
        found.append(
            suspect(reference.residual_block_forward, call, DEFAULT_OPTIONS, momentum=0.1, eps=1e-5)
        )
    return found


@diagnoses_for("residual_block_backward")
def _residual_backward(reference: Any, call: Call) -> list[Suspect | str]:
    known = _block_arguments(reference, call)
    if known is None:
        return []
    arguments, projection = known
    without_shortcut = _backward(reference, arguments, projection, no_shortcut_gradient=True)
    found: list[Suspect | str] = []
    if arguments["eps"] != 1e-5:
        found.append(suspect(reference.residual_block_backward, call, DEFAULT_OPTIONS, eps=1e-5))
    return [
        *found,
        Suspect(NO_SHORTCUT_GRADIENT, without_shortcut[0], (0,)),
        Suspect(
            NO_FINAL_RELU_MASK, _backward(reference, arguments, projection, no_final_relu_mask=True)
        ),
    ]
