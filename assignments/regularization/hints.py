"""Hints for regularization: the usual mistakes in dropout and weight decay.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made) and names them, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (course notes, students' code and framework issues):

* CS231n's notes write dropout with ``p`` the probability of *keeping* a unit
  (``U = (np.random.rand(*H.shape) < p) / p``), and their "vanilla" dropout scales at test
  time (``H * p`` in ``predict``): students bring both to PyTorch's ``p``, the probability
  of dropping, as a mask that keeps ``p`` of the values, a scale ``1 / p``, or an
  evaluation-mode output scaled by ``1 - p`` (Angel-ML/mlcore#5: inverted dropout that still
  scales at prediction time). A public dropout layer (nilbahaaeddine/M1_CNN,
  ``src/classes/dropout.py``) keeps a value with probability ``drop_probability`` and scales
  by ``1 / drop_probability``: the mask read the other way round, and ``1 / p``.
* The mode ignored: dropout applied in evaluation (fxia22/pointnet.pytorch#19, a model left
  in training mode at test time).
* ``x * mask / (1 - p)`` at ``p = 1``: 0 / 0.
* L2's gradient as ``2 * reg * W``, from CS231n's ``reg * np.sum(W * W)``
  (melvin018/Computer-Vision- ``svm_classifier.py``); the decay not multiplied by the learning
  rate in AdamW's decoupled form (modern-fortran/neural-fortran#152).
* The kept values multiplied by the keep probability in training instead of divided by it
  (nelson-liu/paraphrase-id-tensorflow#33, "multiply un-dropped out values by the output keep
  prob"): the test-time scaling of non-inverted dropout moved into training.
* The evaluation-mode output scaled by ``p`` where the keep probability ``1 - p`` was meant:
  karpathy/convnetjs#61 and #106 (ConvNetJS scaled test activations by ``drop_prob``).
* A backward pass that returns the local derivative ``mask / (1 - p)`` without the upstream
  gradient (the chain rule's ``dx = dout * local``, CS231n's backprop notes; the delta times
  the mask, iamtrask/Grokking-Deep-Learning#68).
* Weight decay as its own step without the learning rate, ``w * (1 - weight_decay) - lr * dw``,
  and the decay subtracted from the gradient (``g -= decay * p``): chainer/chainer#261; the
  penalty's L1 gradient ``weight_decay * sign(w)`` in place of L2's ``weight_decay * w``
  (the L1 and L2 penalties set side by side, D2L's weight-decay chapter).
* The decoupled decay subtracted as a constant, ``w - lr * weight_decay``:
  jettify/pytorch-optimizer#454; added with the wrong sign, growing the weights
  (PaddlePaddle/Paddle#4184, ``param += ... + lr * decay * param``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, diagnoses_for, in_dtype_of, non_finite

UNSCALED = (
    "your kept values are not scaled by 1 / (1 - p): inverted dropout scales during "
    "training so that the expected output equals the input"
)
SCALED_BY_ONE_OVER_P = (
    "your kept values are scaled by 1 / p: here p is the probability of dropping a value "
    "(PyTorch's), not of keeping it (CS231n's notes), so scale by 1 / (1 - p)"
)
MASK_INVERTED = (
    "your result keeps the values where the mask is False: mask is True where a value is "
    "kept, so keep x where mask holds and zero the rest"
)
MASK_IGNORED_BACKWARD = (
    "your gradient is scaled but not masked: a dropped value had no effect on the output, "
    "so its gradient is 0; dx = dout * mask / (1 - p)"
)
P_ONE_NAN = (
    "your result holds NaN or inf at p = 1: everything is dropped, so return zeros "
    "instead of dividing by 1 - p = 0"
)
EVAL_SCALED = (
    "your evaluation-mode result is scaled by 1 - p (the test-time scaling of non-inverted "
    "dropout): inverted dropout already scaled during training, so evaluation returns the "
    "input unchanged"
)
EVAL_DROPS = (
    "your evaluation-mode result still drops and scales by the mask: with training=False "
    "dropout is the identity (a copy of its input)"
)
MASK_KEEPS_P = (
    "your mask keeps the entries whose draw is below p, a fraction p of them: p is the "
    "probability of dropping, so keep an entry when its draw is at least p"
)
DECAY_DOUBLED = (
    "your step adds 2 * weight_decay * w to the gradient (the gradient of "
    "weight_decay * sum(w ** 2)): weight decay is the gradient of weight_decay / 2 * "
    "sum(w ** 2), so add weight_decay * w"
)
KEEP_MULTIPLIED = (
    "your kept values are multiplied by 1 - p, the keep probability: inverted dropout divides "
    "them by it, scaling by 1 / (1 - p), so that the expected output equals the input"
)
EVAL_SCALED_BY_P = (
    "your evaluation-mode result is scaled by p, the drop probability (a test-time scaling "
    "meant for the keep probability): inverted dropout returns the input unchanged in "
    "evaluation"
)
BACKWARD_WITHOUT_DOUT = (
    "your gradient is the mask scaled by 1 / (1 - p) without the upstream gradient: the chain "
    "rule multiplies the local derivative by dout, dx = dout * mask / (1 - p)"
)
DECAY_WITHOUT_LR = (
    "your step shrinks the weights by w * (1 - weight_decay) apart from the learning rate: "
    "the decay term is part of the gradient, so it is multiplied by lr too, "
    "w - lr * (dw + weight_decay * w)"
)
DECAY_SUBTRACTED = (
    "your step subtracts weight_decay * w from the gradient, which grows the weights: "
    "weight decay adds it, g = dw + weight_decay * w"
)
DECAY_L1 = (
    "your step adds weight_decay * sign(w) to the gradient, the gradient of an L1 penalty: "
    "weight decay is L2's, add weight_decay * w"
)
DECOUPLED_CONSTANT = (
    "your decoupled decay subtracts lr * weight_decay from every weight: the decay is "
    "proportional to the weight, w - lr * weight_decay * w = w * (1 - lr * weight_decay)"
)
DECOUPLED_GROWS = (
    "your decoupled decay multiplies the weights by 1 + lr * weight_decay, which grows them: "
    "decay shrinks them, w * (1 - lr * weight_decay)"
)
DECOUPLED_WITHOUT_LR = (
    "your weights are shrunk by w * (1 - weight_decay): the decoupled decay is multiplied "
    "by the learning rate, w * (1 - lr * weight_decay)"
)


@diagnoses_for("dropout_forward", "dropout_backward")
def _dropout(reference: Any, call: Call) -> list[Suspect | str]:
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    p = arguments["p"]
    values = arguments["x" if call.function == "dropout_forward" else "dout"]
    mask = np.asarray(arguments["mask"])
    if not isinstance(p, int | float) or not 0 <= p <= 1 or mask.dtype != bool:
        return []
    if mask.shape != values.shape:
        return []
    v64 = np.asarray(values, np.float64)
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    kept = np.where(mask, v64 * scale, 0.0)
    if not arguments["training"]:
        return [
            Suspect(EVAL_SCALED, in_dtype_of(v64 * (1.0 - p), values)),
            Suspect(EVAL_SCALED_BY_P, in_dtype_of(v64 * p, values)),
            Suspect(EVAL_DROPS, in_dtype_of(kept, values)),
        ]
    found: list[Suspect | str] = [
        Suspect(UNSCALED, in_dtype_of(np.where(mask, v64, 0.0), values)),
        Suspect(KEEP_MULTIPLIED, in_dtype_of(np.where(mask, v64 * (1.0 - p), 0.0), values)),
    ]
    if 0 < p < 1:
        found.append(
            Suspect(SCALED_BY_ONE_OVER_P, in_dtype_of(np.where(mask, v64 / p, 0.0), values))
        )
    # A gradient through a mask that keeps nothing, returned unmasked, is both the mask read
    # the other way round and the mask ignored: name neither.
    if call.function == "dropout_forward" or mask.any():
        found.append(Suspect(MASK_INVERTED, in_dtype_of(np.where(mask, 0.0, v64 * scale), values)))
    if call.function == "dropout_backward" and mask.any():
        found.append(Suspect(MASK_IGNORED_BACKWARD, in_dtype_of(v64 * scale, values)))
        found.append(
            Suspect(BACKWARD_WITHOUT_DOUT, in_dtype_of(np.where(mask, scale, 0.0), values))
        )
    if p == 1 and non_finite(call.result):
        found.append(P_ONE_NAN)
    return found


@diagnoses_for("dropout_mask")
def _mask(reference: Any, call: Call) -> list[Suspect | str]:
    correct = reference.dropout_mask(*call.args, **call.kwargs)
    return [Suspect(MASK_KEEPS_P, ~np.asarray(correct))]


@diagnoses_for("sgd_step_with_weight_decay")
def _sgd_decay(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.sgd_step_with_weight_decay, call)
    w, lr, decay = arguments["w"], arguments["lr"], arguments["weight_decay"]
    w64, dw = np.asarray(w, np.float64), np.asarray(arguments["dw"], np.float64)
    return [
        Suspect(DECAY_DOUBLED, in_dtype_of(w64 - lr * (dw + 2 * decay * w64), w)),
        Suspect(DECAY_WITHOUT_LR, in_dtype_of(w64 * (1 - decay) - lr * dw, w)),
        Suspect(DECAY_SUBTRACTED, in_dtype_of(w64 - lr * (dw - decay * w64), w)),
        Suspect(DECAY_L1, in_dtype_of(w64 - lr * (dw + decay * np.sign(w64)), w)),
    ]


@diagnoses_for("decoupled_weight_decay")
def _decoupled(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.decoupled_weight_decay, call)
    w, lr, decay = arguments["w"], arguments["lr"], arguments["weight_decay"]
    w64 = np.asarray(w, np.float64)
    return [
        Suspect(DECOUPLED_WITHOUT_LR, in_dtype_of(w64 * (1 - decay), w)),
        Suspect(DECOUPLED_CONSTANT, in_dtype_of(w64 - lr * decay, w)),
        Suspect(DECOUPLED_GROWS, in_dtype_of(w64 * (1 + lr * decay), w)),
    ]
