"""Hints for batchnorm: the usual mistakes in batch normalization.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (public course material, forums and solutions):

* ``eps`` added to the standard deviation instead of the variance:
  github.com/pjreddie/darknet/pull/17, the LayerNorm of the Annotated Transformer
  (github.com/codertimo/BERT-pytorch/issues/30).
* spatial batch norm as ``x.reshape(-1, C)`` without moving the channels last first: the
  question at soinside.com/question/kdDnRdELvM8toTxgPZVUGf ("the output is slightly
  different"), where the CS231n solution is ``x.transpose(0, 2, 3, 1).reshape(-1, C)``.
* spatial batch norm as ``x.reshape(N, -1)``: statistics per (channel, row, column) over the
  batch only (github.com/haru-mingshi052/numpy-DeepLearning, batch_normalization/
  batch_norm2d.py).
* evaluation mode ignored, normalizing with the batch statistics, or updating the running
  averages: github.com/anitan0925/vaegan/issues/1, github.com/vlfeat/matconvnet/issues/280,
  github.com/chainer/chainer/pull/1580.
* ``dx`` with the mean and the variance held constant, or with the path through the variance
  left out: the paths X -> mu -> Y and X -> sigma -> Y of github.com/BVLC/caffe/issues/3878
  and github.com/pjreddie/darknet/issues/1723.
* ``m`` taken as the batch size ``N`` for ``(N, C, H, W)`` inputs, where it is ``N * H * W``:
  github.com/pjreddie/darknet/issues/1634 (divide by ``batch`` or by ``spatial * batch``?).
* ``gamma`` and ``beta`` swapped (``beta * xhat + gamma``): the weights of a batch norm layer
  taken in the wrong order, [gamma, beta, mean, var] against [mean, var, gamma, beta], of
  github.com/Vladkryvoruchko/PSPNet-Keras-tensorflow/issues/23.
* the variance without its square root, ``(x - mean) / (var + eps)``: the formula of Keras's
  documentation reported in github.com/tensorflow/tensorflow/issues/48039, the variance taken
  for the standard deviation of github.com/mbadry1/DeepLearning.ai-Summary/issues/183 (and
  the square instead of the root of github.com/jax-ml/jax/issues/442).
* ``gamma`` and ``beta`` left out (the normalized values returned as they are), in evaluation
  above all: the test-time branch that only normalizes; "In test mode, dropout and
  batch-normalization are bypassed" of github.com/vlfeat/matconvnet/issues/583.
* ``dgamma`` as ``sum(dout * x)`` or ``sum(dout * (x - mean))``, the input where the
  normalized values belong: the wrong gamma gradient of XLA's BatchNormGrad documentation,
  github.com/tensorflow/tensorflow/issues/14676.
* ``dgamma`` and ``dbeta`` averaged over the batch instead of summed: the question "dgamma =
  np.sum(dout * x_, axis=0) should be mean???" of
  github.com/wjbKimberly/cs231n_spring_2017_assignment/issues/7.
* ``dx`` without ``gamma`` (the gradient reaching ``xhat`` taken as ``dout``, not
  ``dout * gamma``): github.com/denizyuret/Knet.jl/issues/288 ("doesn't seem to take care
  about scales").
* the staged backward of the computational graph (kratzert.github.io, 2016/02/12,
  "Understanding the backward pass through a Batch Normalization Layer", which CS231n
  students follow) with the factor 2 of ``d(x - mu) ** 2 / dx`` dropped (``dvar * (x - mu)
  / m`` for ``dvar * 2 * (x - mu) / m``: the variance's path at half its weight), or with
  the sign of ``d(var + eps) ** -0.5 = -0.5 * (var + eps) ** -1.5`` lost (the variance's
  path added instead of subtracted); the backward step rewritten until it passed the
  gradient check in github.com/mlpack/mlpack/pull/1327.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    computed,
    diagnoses_for,
    suspect,
)

EPS_OUTSIDE = (
    "your output matches eps added to the standard deviation, (x - mean) / (sqrt(var) + eps): "
    "eps goes inside the square root, (x - mean) / sqrt(var + eps)"
)
RESHAPED_WITHOUT_TRANSPOSE = (
    "your output matches x.reshape(-1, C) normalized per column: that reshape mixes the "
    "channels of (N, C, H, W); reduce over axes (0, 2, 3) directly, or move the channels last "
    "(x.transpose(0, 2, 3, 1)) before reshaping"
)
PER_POSITION = (
    "your output matches statistics per (channel, row, column) over the batch only: spatial "
    "batch norm shares one mean and one variance per channel over axes (0, 2, 3)"
)
EVAL_AS_TRAINING = (
    "your result matches training mode, but this call used training=False: evaluation "
    "normalizes with running_mean and running_var and returns them unchanged"
)
EVAL_BATCH_STATISTICS = (
    "your output matches normalization with the batch statistics, but this call used "
    "training=False: evaluation normalizes with running_mean and running_var"
)
EVAL_UPDATES = (
    "your running statistics were updated although this call used training=False: "
    "evaluation returns running_mean and running_var unchanged"
)
DX_CONSTANT_STATISTICS = (
    "your dx matches dout * gamma / sqrt(var + eps), the mean and the variance held constant: "
    "both depend on every value of the channel, dx = gamma / sqrt(var + eps) * (dout - "
    "mean(dout) - xhat * mean(dout * xhat))"
)
DX_NO_VARIANCE_PATH = (
    "your dx misses the gradient through the variance: dx = gamma / sqrt(var + eps) * (dout - "
    "mean(dout) - xhat * mean(dout * xhat)); the last term is missing"
)
DX_M_IS_N = (
    "your dx matches the closed form with m = N (the batch size): for (N, C, H, W) inputs each "
    "channel has m = N * H * W values, and the means run over axes (0, 2, 3)"
)
GAMMA_BETA_SWAPPED = (
    "your output matches beta * xhat + gamma, gamma and beta swapped: gamma scales the "
    "normalized values and beta shifts them, out = gamma * xhat + beta"
)
NO_SQUARE_ROOT = (
    "your output matches (x - mean) / (var + eps), the variance without its square root: "
    "divide by the standard deviation, sqrt(var + eps)"
)
NO_AFFINE = (
    "your output matches the normalized values alone, gamma and beta left out: scale and "
    "shift them in both modes, out = gamma * xhat + beta (in evaluation, xhat = (x - "
    "running_mean) / sqrt(running_var + eps))"
)
DGAMMA_UNNORMALIZED = (
    "your dgamma matches sum(dout * x) or sum(dout * (x - mean)), the input where the "
    "normalized values belong: gamma multiplies xhat = (x - mean) / sqrt(var + eps), so "
    "dgamma = sum(dout * xhat) per channel"
)
DPARAMS_MEAN = (
    "your dgamma or dbeta matches a mean over the values of each channel instead of a sum: "
    "gamma and beta act on every value of the channel, so their gradients add up, dbeta = "
    "sum(dout) and dgamma = sum(dout * xhat)"
)
DX_NO_GAMMA = (
    "your dx matches the closed form without gamma: the gradient reaching xhat is dout * "
    "gamma, so dx = gamma / sqrt(var + eps) * (dout - mean(dout) - xhat * mean(dout * xhat))"
)
DX_VARIANCE_HALVED = (
    "your dx matches the path through the variance at half its weight (dvar * (x - mean) / m): "
    "the derivative of (x - mean) ** 2 is 2 * (x - mean), so the variance reaches x as "
    "dvar * 2 * (x - mean) / m"
)
DX_VARIANCE_SIGN = (
    "your dx matches the path through the variance with its sign flipped (+ xhat * "
    "mean(dout * xhat)): the derivative of (var + eps) ** -0.5 is -0.5 * (var + eps) ** -1.5, "
    "so dx = gamma / sqrt(var + eps) * (dout - mean(dout) - xhat * mean(dout * xhat))"
)


def _shapes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(reduction axes, broadcast shape of a (C,) vector) of a batch norm input."""
    if x.ndim == 2:
        return (0,), (1, -1)
    return (0, 2, 3), (1, -1, 1, 1)


def _normalized(x: np.ndarray, axes: tuple[int, ...], eps: float, outside: bool) -> np.ndarray:
    """x normalized over ``axes`` with its biased variance (eps outside the root if asked)."""
    mean = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(x.var(axis=axes, keepdims=True) + (0.0 if outside else eps))
    return (x - mean) / (std + eps if outside else std)


def _affine(xhat: np.ndarray, arguments: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    gamma = arguments["gamma"].astype(np.float64).reshape(shape)
    beta = arguments["beta"].astype(np.float64).reshape(shape)
    return (xhat * gamma + beta).astype(arguments["x"].dtype)


def _affine_suspects(
    centred: np.ndarray, var: np.ndarray, arguments: dict[str, Any], shape: tuple[int, ...]
) -> list[Suspect | str]:
    """The mistakes of the scale and shift and of the square root, for ``x - mean`` and the
    variance it is divided by (the batch's or the running one)."""
    eps = float(arguments["eps"])
    xhat = centred / np.sqrt(var + eps)
    dtype = arguments["x"].dtype
    swapped = dict(arguments, gamma=arguments["beta"], beta=arguments["gamma"])
    return [
        computed(GAMMA_BETA_SWAPPED, lambda: _affine(xhat, swapped, shape), (0,)),
        computed(NO_SQUARE_ROOT, lambda: _affine(centred / (var + eps), arguments, shape), (0,)),
        computed(NO_AFFINE, lambda: xhat.astype(dtype), (0,)),
    ]


def _training_suspects(arguments: dict[str, Any]) -> list[Suspect | str]:
    x = arguments["x"].astype(np.float64)
    axes, shape = _shapes(x)
    eps = float(arguments["eps"])
    found = [
        computed(
            EPS_OUTSIDE, lambda: _affine(_normalized(x, axes, eps, True), arguments, shape), (0,)
        )
    ]
    if x.ndim == 4:
        columns = x.reshape(-1, x.shape[1])

        def reshaped() -> np.ndarray:
            xhat = _normalized(columns, (0,), eps, False).reshape(x.shape)
            return _affine(xhat, arguments, shape)

        found.append(computed(RESHAPED_WITHOUT_TRANSPOSE, reshaped, (0,)))
        found.append(
            computed(
                PER_POSITION,
                lambda: _affine(_normalized(x, (0,), eps, False), arguments, shape),
                (0,),
            )
        )
    centred = x - x.mean(axis=axes, keepdims=True)
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    return found + _affine_suspects(centred, variance, arguments, shape)


def _evaluation_suspects(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.batchnorm_forward
    arguments = bound(forward, call)
    found = [suspect(forward, call, EVAL_AS_TRAINING, training=True)]
    try:
        evaluated = forward(**arguments)
        trained = forward(**dict(arguments, training=True))
    except Exception:  # the batch cannot be normalized with its own statistics
        return found
    found.append(Suspect(EVAL_BATCH_STATISTICS, (trained[0], evaluated[1], evaluated[2])))
    found.append(Suspect(EVAL_UPDATES, (evaluated[0], trained[1], trained[2])))
    x = arguments["x"].astype(np.float64)
    _, shape = _shapes(x)
    mean = arguments["running_mean"].astype(np.float64).reshape(shape)
    std = np.sqrt(arguments["running_var"].astype(np.float64).reshape(shape))
    outside = _affine((x - mean) / (std + float(arguments["eps"])), arguments, shape)
    found.append(Suspect(EPS_OUTSIDE, outside, (0,)))
    running_var = arguments["running_var"].astype(np.float64).reshape(shape)
    return found + _affine_suspects(x - mean, running_var, arguments, shape)


@diagnoses_for("batchnorm_forward")
def _batchnorm_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.batchnorm_forward
    arguments = bound(forward, call)
    if not arguments["training"]:
        return _evaluation_suspects(reference, call)
    x = arguments["x"]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    biased = x.var(axis=axes)
    unbiased = biased * (m / (m - 1))
    gamma, beta, eps = arguments["gamma"], arguments["beta"], arguments["eps"]
    momentum = arguments["momentum"]
    running_mean, running_var = arguments["running_mean"], arguments["running_var"]
    out_unbiased = (x - mean.reshape(shape)) / np.sqrt(unbiased.reshape(shape) + eps)
    out_unbiased = (out_unbiased * gamma.reshape(shape) + beta.reshape(shape)).astype(x.dtype)
    var_biased = ((1 - momentum) * running_var + momentum * biased).astype(x.dtype)
    reversed_mean = (momentum * running_mean + (1 - momentum) * mean).astype(x.dtype)
    found: list[Suspect | str] = [
        Suspect(
            "your output is normalized with the unbiased variance (divided by m - 1); "
            "normalize with the biased batch variance (divide by m)",
            out_unbiased,
            (0,),
        ),
        Suspect(
            "your running statistics were not updated in training mode",
            (running_mean, running_var),
            (1, 2),
        ),
        Suspect(
            "running_var must be updated with the unbiased batch variance (m - 1)",
            var_biased,
            (2,),
        ),
        Suspect(
            "your running mean uses the momentum the other way round: "
            "new = (1 - momentum) * running + momentum * batch (PyTorch's convention)",
            reversed_mean,
            (1,),
        ),
    ]
    return found + _training_suspects(arguments)


def _dx_variants(arguments: dict[str, Any]) -> dict[str, np.ndarray]:
    """The mistaken dx of each backward mistake: {hint: dx}."""
    x = arguments["x"].astype(np.float64)
    dout = arguments["dout"].astype(np.float64)
    axes, shape = _shapes(x)
    eps = float(arguments["eps"])
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - mean) * inv_std
    scale = arguments["gamma"].astype(np.float64).reshape(shape) * inv_std
    mean_dout = dout.mean(axis=axes, keepdims=True)
    variance_path = xhat * (dout * xhat).mean(axis=axes, keepdims=True)
    variants = {
        DX_CONSTANT_STATISTICS: scale * dout,
        DX_NO_VARIANCE_PATH: scale * (dout - mean_dout),
        DX_NO_GAMMA: inv_std * (dout - mean_dout - variance_path),
        DX_VARIANCE_HALVED: scale * (dout - mean_dout - 0.5 * variance_path),
        DX_VARIANCE_SIGN: scale * (dout - mean_dout + variance_path),
    }
    if x.ndim == 4:
        n = x.shape[0]
        sums = dout.sum(axis=axes, keepdims=True), (dout * xhat).sum(axis=axes, keepdims=True)
        variants[DX_M_IS_N] = scale * (dout - sums[0] / n - xhat * sums[1] / n)
    return {hint: dx.astype(arguments["x"].dtype) for hint, dx in variants.items()}


@diagnoses_for("batchnorm_backward")
def _batchnorm_backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = reference.batchnorm_backward
    arguments = bound(backward, call)
    try:
        variants = _dx_variants(arguments)
    except Exception:  # arguments the reference refuses: no mistake to suspect
        return []
    found: list[Suspect | str] = [Suspect(hint, dx, (0,)) for hint, dx in variants.items()]
    try:
        return found + _parameter_gradient_suspects(arguments)
    except Exception:  # the dx mistakes stay suspected
        return found


def _parameter_gradient_suspects(arguments: dict[str, Any]) -> list[Suspect | str]:
    """The mistaken dgamma and dbeta: the input for xhat in dgamma, means for sums."""
    dtype = arguments["x"].dtype
    x = arguments["x"].astype(np.float64)
    dout = arguments["dout"].astype(np.float64)
    axes, _ = _shapes(x)
    m = x.size // x.shape[1]
    centred = x - x.mean(axis=axes, keepdims=True)
    xhat = centred / np.sqrt(
        (centred * centred).mean(axis=axes, keepdims=True) + float(arguments["eps"])
    )
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    return [
        Suspect(DGAMMA_UNNORMALIZED, (dout * x).sum(axis=axes).astype(dtype), (1,)),
        Suspect(DGAMMA_UNNORMALIZED, (dout * centred).sum(axis=axes).astype(dtype), (1,)),
        Suspect(DPARAMS_MEAN, (dgamma / m).astype(dtype), (1,)),
        Suspect(DPARAMS_MEAN, (dbeta / m).astype(dtype), (2,)),
    ]
