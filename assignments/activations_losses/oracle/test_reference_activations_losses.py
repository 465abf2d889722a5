"""The reference activations and losses against PyTorch (functional forms and autograd), a
transcription of torchvision's sigmoid_focal_loss, and numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import solutions.activations_losses as ref
from autograder.suite.gradcheck import numeric_gradient

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 2e-5}


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.dtype == np.dtype(dtype), f"{name}: dtype {ours.dtype}"
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    # torch's focal gradient is NaN where 1 - p_t underflows to 0 with gamma < 1 (0 ** -0.5 *
    # 0); the limit there is 0, which the reference gives: compare where torch is finite
    finite = np.isfinite(theirs)
    assert np.isfinite(ours).all(), f"{name}: not finite"
    ours, theirs = ours[finite], theirs[finite]
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), 1e-30)
    np.testing.assert_allclose(ours, theirs, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=name)


ACTIVATIONS = {
    "relu": (ref.relu_forward, ref.relu_backward, lambda t: F.relu(t), {}),
    "leaky_relu": (
        ref.leaky_relu_forward,
        ref.leaky_relu_backward,
        lambda t: F.leaky_relu(t, 0.2),
        {"negative_slope": 0.2},
    ),
    "sigmoid": (ref.sigmoid_forward, ref.sigmoid_backward, torch.sigmoid, {}),
    "tanh": (ref.tanh_forward, ref.tanh_backward, torch.tanh, {}),
    "softmax_last": (ref.softmax_forward, ref.softmax_backward, lambda t: F.softmax(t, -1), {}),
    "softmax_axis1": (
        ref.softmax_forward,
        ref.softmax_backward,
        lambda t: F.softmax(t, 1),
        {"axis": 1},
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_activations_match_torch(name, dtype, scale):
    forward, backward, torch_fn, kw = ACTIVATIONS[name]
    rng = np.random.default_rng([int(scale), len(name)])
    x = (scale * rng.standard_normal((3, 4, 5))).astype(dtype)
    x[0, 0, :2] = 0.0  # the kinks of ReLU and leaky ReLU
    dout = rng.standard_normal(x.shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_()
    out = torch_fn(tx)
    (dx,) = torch.autograd.grad(out, tx, torch.from_numpy(dout))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # even at |x| = 1000
        _close(forward(x, **kw), out, dtype, "out")
        _close(backward(dout, x, **kw), dx, dtype, "dx")


def _torch_loss(fn, first, *rest):
    t = torch.from_numpy(first).requires_grad_()
    loss = fn(t, *(torch.from_numpy(r) if isinstance(r, np.ndarray) else r for r in rest))
    (grad,) = torch.autograd.grad(loss, t)
    return loss, grad


def _check_loss(ours, theirs, dtype):
    loss, grad = ours
    tloss, tgrad = theirs
    assert np.asarray(loss).ndim == 0 and np.asarray(loss).dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        float(loss), float(tloss.detach()), rtol=TOL[dtype] * 10, atol=TOL[dtype]
    )
    _close(grad, tgrad, dtype, "grad")


def _logits(rng, n, k, dtype, scale=3.0):
    return (scale * rng.standard_normal((n, k))).astype(dtype), rng.integers(0, k, n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("scale", [3.0, 1000.0])
def test_cross_entropy_matches_torch(dtype, smoothing, scale):
    rng = np.random.default_rng([int(scale), int(10 * smoothing)])
    x, y = _logits(rng, 6, 5, dtype, scale)
    theirs = _torch_loss(lambda t, yy: F.cross_entropy(t, yy, label_smoothing=smoothing), x, y)
    _check_loss(ref.softmax_cross_entropy(x, y, smoothing), theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.3, 5.0])
def test_hinge_matches_torch(dtype, margin):
    rng = np.random.default_rng(int(10 * margin))
    x, y = _logits(rng, 7, 4, dtype, 1.0)
    theirs = _torch_loss(lambda t, yy: F.multi_margin_loss(t, yy, p=1, margin=margin), x, y)
    _check_loss(ref.multiclass_hinge(x, y, margin), theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_losses_match_torch(dtype):
    rng = np.random.default_rng(1)
    pred = rng.standard_normal((4, 3, 2)).astype(dtype)
    target = rng.standard_normal(pred.shape).astype(dtype)
    target[0, 0, 0] = pred[0, 0, 0]  # the kink of the L1 loss
    _check_loss(ref.mse_loss(pred, target), _torch_loss(F.mse_loss, pred, target), dtype)
    _check_loss(ref.l1_loss(pred, target), _torch_loss(F.l1_loss, pred, target), dtype)


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (reduction="mean"), transcribed: torchvision cannot
    be installed beside the CPU torch wheel the tests use."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [0.25, 0.5, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("scale", [2.0, 50.0])
def test_binary_focal_matches_torchvision(dtype, alpha, gamma, scale):
    rng = np.random.default_rng([int(10 * gamma), int(scale)])
    x = (scale * rng.standard_normal((5, 6))).astype(dtype)
    t = (rng.random((5, 6)) < 0.3).astype(dtype)
    theirs = _torch_loss(lambda a, b: torchvision_sigmoid_focal_loss(a, b, alpha, gamma), x, t)
    _check_loss(ref.binary_focal_loss(x, t, alpha, gamma), theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [1.0, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_multiclass_focal_matches_its_torch_formula(dtype, alpha, gamma):
    rng = np.random.default_rng([int(10 * gamma), int(100 * alpha)])
    x, y = _logits(rng, 6, 4, dtype)

    def focal(t, yy):
        log_p = F.log_softmax(t, dim=1).gather(1, yy[:, None]).squeeze(1)
        return (-alpha * (1 - log_p.exp()) ** gamma * log_p).mean()

    _check_loss(ref.multiclass_focal_loss(x, y, alpha, gamma), _torch_loss(focal, x, y), dtype)
    if gamma == 0 and alpha == 1.0:  # then it is the cross-entropy
        ce = ref.softmax_cross_entropy(x, y)
        np.testing.assert_allclose(
            float(ref.multiclass_focal_loss(x, y, 1.0, 0.0)[0]), float(ce[0])
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_distillation_matches_torch_kl_div(dtype, temperature):
    rng = np.random.default_rng(int(temperature))
    s = (3 * rng.standard_normal((5, 7))).astype(dtype)
    t = (3 * rng.standard_normal((5, 7))).astype(dtype)

    def kd(a, b):
        return (
            F.kl_div(
                F.log_softmax(a / temperature, dim=1),
                F.softmax(b / temperature, dim=1),
                reduction="batchmean",
            )
            * temperature**2
        )

    _check_loss(ref.distillation_loss(s, t, temperature), _torch_loss(kd, s, t), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_penalties_match_torch(dtype):
    w = np.random.default_rng(2).standard_normal((3, 4)).astype(dtype)
    w[0, 0] = 0.0
    _check_loss(ref.l1_penalty(w, 0.3), _torch_loss(lambda t: 0.3 * t.abs().sum(), w), dtype)
    _check_loss(ref.l2_penalty(w, 0.3), _torch_loss(lambda t: 0.15 * (t * t).sum(), w), dtype)


@pytest.mark.parametrize(
    "loss",
    ["cross_entropy", "hinge", "binary_focal", "multiclass_focal", "distillation"],
)
def test_loss_gradients_match_numeric_gradients(loss):
    rng = np.random.default_rng(4)
    x, y = _logits(rng, 4, 5, np.float64)
    other = rng.standard_normal(x.shape)
    targets = (rng.random(x.shape) < 0.5).astype(np.float64)
    fn = {
        "cross_entropy": lambda v: ref.softmax_cross_entropy(v, y, 0.2),
        "hinge": lambda v: ref.multiclass_hinge(v, y),
        "binary_focal": lambda v: ref.binary_focal_loss(v, targets, 0.25, 2.0),
        "multiclass_focal": lambda v: ref.multiclass_focal_loss(v, y, 0.5, 2.0),
        "distillation": lambda v: ref.distillation_loss(v, other, 3.0),
    }[loss]
    numeric = numeric_gradient(lambda v: np.asarray(fn(v)[0]), x, np.float64(1.0))
    np.testing.assert_allclose(fn(x)[1], numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: ref.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3])), "0 .. K-1"),
        (lambda: ref.softmax_cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), "integer"),
        (lambda: ref.softmax_cross_entropy(np.ones(3), np.array([0])), r"\(N, K\)"),
        (lambda: ref.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 1]), 1.5), "smoothing"),
        (lambda: ref.multiclass_hinge(np.ones((2, 3)), np.array([0, 1]), 0.0), "margin"),
        (lambda: ref.mse_loss(np.ones((2, 3)), np.ones(3)), "target must have"),
        (lambda: ref.binary_focal_loss(np.ones(3), np.ones(3), gamma=-1), "gamma"),
        (lambda: ref.distillation_loss(np.ones((2, 3)), np.ones((2, 3)), 0.0), "temperature"),
        (lambda: ref.relu_forward(np.array([1, 2])), "floating-point"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call()
