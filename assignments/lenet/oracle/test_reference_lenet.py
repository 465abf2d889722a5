"""The reference LeNet-5 against PyTorch (linear, flatten, conv2d, max_pool2d, cross_entropy,
torch.optim.SGD, CosineAnnealingLR, the init formulas) and numeric gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.gradcheck import numeric_gradient
from solutions import lenet
from solutions.optimizers import kaiming_uniform, xavier_uniform

TOL = {np.float64: dict(rtol=1e-11, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = [np.float64, np.float32]


def _close(ours, theirs, dtype, name):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.dtype == np.dtype(dtype), f"{name}: dtype {ours.dtype}"
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs {theirs.shape}"
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(
        ours, theirs, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name
    )


def _params(rng, dtype):
    """Parameters at LeNet's scale: 1 / sqrt(fan_in) per weight, small biases."""
    params = {}
    for name, shape in lenet.PARAMETER_SHAPES.items():
        if name.endswith("_w"):
            fan_in = int(np.prod(shape[1:]))
            params[name] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        else:
            params[name] = 0.1 * rng.standard_normal(shape)
    return {k: v.astype(dtype) for k, v in params.items()}


def _torch_logits(tp, tx):
    h = F.max_pool2d(F.relu(F.conv2d(tx, tp["conv1_w"], tp["conv1_b"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, tp["conv2_w"], tp["conv2_b"])), 2)
    h = torch.flatten(h, 1)
    h = F.relu(F.linear(h, tp["fc1_w"], tp["fc1_b"]))
    h = F.relu(F.linear(h, tp["fc2_w"], tp["fc2_b"]))
    return F.linear(h, tp["fc3_w"], tp["fc3_b"])


# ------------------------------------------------------------------ fully connected, flatten


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "x_shape, out_features, bias",
    [((5, 7), 3, True), ((2, 3, 7), 4, True), ((6, 1), 2, False), ((4,), 5, True)],
)
def test_fc_matches_torch_linear(x_shape, out_features, bias, dtype):
    rng = np.random.default_rng([*x_shape, out_features, bias])
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((out_features, x_shape[-1])).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype) if bias else None
    out = lenet.fc_forward(x, w, b)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    t_out = F.linear(tx, tw, tb)
    _close(out, t_out, dtype, "out")
    dout = rng.standard_normal(out.shape).astype(dtype)
    t_out.backward(torch.tensor(dout))
    dx, dw, db = lenet.fc_backward(dout, x, w)
    _close(dx, tx.grad, dtype, "dx")
    _close(dw, tw.grad, dtype, "dw")
    expected_db = tb.grad if bias else dout.reshape(-1, out_features).sum(axis=0)
    _close(db, expected_db, dtype, "db")


def test_fc_gradients_match_numeric_gradients():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    dout = rng.standard_normal((2, 3, 4))
    dx, dw, db = lenet.fc_backward(dout, x, w)
    for ours, numeric in (
        (dx, numeric_gradient(lambda v: lenet.fc_forward(v, w, b), x, dout)),
        (dw, numeric_gradient(lambda v: lenet.fc_forward(x, v, b), w, dout)),
        (db, numeric_gradient(lambda v: lenet.fc_forward(x, w, v), b, dout)),
    ):
        np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(3, 2, 4, 5), (2, 7), (4, 16, 5, 5)])
def test_flatten_matches_torch_flatten(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.flatten(tx, 1)
    out = lenet.flatten_forward(x)
    _close(out, t_out, np.float64, "out")
    dout = rng.standard_normal(out.shape)
    t_out.backward(torch.tensor(dout))
    _close(lenet.flatten_backward(dout, shape), tx.grad, np.float64, "dx")


def test_bad_shapes_are_refused_with_what_was_expected():
    w = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\)"):
        lenet.fc_forward(np.zeros((2, 5)), w, None)
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        lenet.fc_forward(np.zeros((2, 4)), w, np.zeros(4))
    with pytest.raises(ValueError, match="dout must have shape"):
        lenet.fc_backward(np.zeros((2, 4)), np.zeros((2, 4)), w)
    with pytest.raises(ValueError, match="at least 2 axes"):
        lenet.flatten_forward(np.zeros(5))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 32, 32\)"):
        lenet.lenet_forward(lenet.lenet_init(np.zeros(1)), np.zeros((2, 1, 28, 28)))
    params = lenet.lenet_init(np.zeros(1))
    del params["fc2_b"]
    with pytest.raises(ValueError, match="params has no 'fc2_b'"):
        lenet.lenet_forward(params, np.zeros((2, 1, 32, 32)))


# ------------------------------------------------------------------ the network


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_and_every_gradient_match_torch_autograd(dtype):
    rng = np.random.default_rng(2)
    params = _params(rng, dtype)
    x = rng.random((5, 1, 32, 32)).astype(dtype)
    y = rng.integers(0, 10, 5)
    copies = {k: v.copy() for k, v in params.items()}
    loss, grads = lenet.lenet_loss(params, x, y)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    t_logits = _torch_logits(tp, torch.tensor(x))
    _close(lenet.lenet_forward(params, x), t_logits, dtype, "logits")
    t_loss = F.cross_entropy(t_logits, torch.tensor(y))
    t_loss.backward()
    _close(loss, t_loss, dtype, "loss")
    assert list(grads) == list(lenet.PARAMETER_SHAPES)
    for name in params:
        _close(grads[name], tp[name].grad, dtype, f"grads[{name!r}]")
        np.testing.assert_array_equal(params[name], copies[name])  # inputs left unchanged


def test_a_gradient_matches_numeric_differences():
    rng = np.random.default_rng(3)
    params = _params(rng, np.float64)
    x, y = rng.random((2, 1, 32, 32)), rng.integers(0, 10, 2)
    _, grads = lenet.lenet_loss(params, x, y)
    for name, index in (("conv1_w", (2, 0, 1, 3)), ("fc2_b", (7,)), ("conv2_b", (5,))):
        h = 1e-6
        plus, minus = dict(params), dict(params)
        plus[name], minus[name] = params[name].copy(), params[name].copy()
        plus[name][index] += h
        minus[name][index] -= h
        numeric = (lenet.lenet_loss(plus, x, y)[0] - lenet.lenet_loss(minus, x, y)[0]) / (2 * h)
        assert math.isclose(float(grads[name][index]), float(numeric), rel_tol=1e-5, abs_tol=1e-9)


def test_init_draws_each_weight_with_its_own_initializer_and_seed():
    params = lenet.lenet_init(np.zeros(1, np.float32), 3)
    assert list(params) == list(lenet.PARAMETER_SHAPES)
    assert sum(v.size for v in params.values()) == 61706
    weights = [k for k in lenet.PARAMETER_SHAPES if k.endswith("_w")]
    for index, name in enumerate(weights):
        w = params[name]
        assert w.dtype == np.float32 and w.shape == lenet.PARAMETER_SHAPES[name]
        empty = np.zeros(w.shape, np.float32)
        if name == "fc3_w":
            expected = xavier_uniform(empty, seed=30 + index)
            bound = math.sqrt(6.0 / sum(w.shape))  # torch.nn.init.xavier_uniform_
        else:
            expected = kaiming_uniform(empty, nonlinearity="relu", seed=30 + index)
            bound = math.sqrt(2.0) * math.sqrt(3.0 / int(np.prod(w.shape[1:])))  # kaiming_uniform_
        np.testing.assert_array_equal(w, expected)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
        np.testing.assert_array_equal(params[name[:-1] + "b"], 0)
    other = lenet.lenet_init(np.zeros(1, np.float32), 4)
    assert not any(np.array_equal(params[k], other[k]) for k in weights)
    with pytest.raises(ValueError, match="seed"):
        lenet.lenet_init(np.zeros(1), -1)


# ------------------------------------------------------------------ training


def test_train_steps_match_torch_sgd_with_momentum_and_weight_decay():
    rng = np.random.default_rng(4)
    params = _params(rng, np.float64)
    velocities = {k: np.zeros_like(v) for k, v in params.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(tp.values()), lr=0.05, momentum=0.9, weight_decay=1e-3)
    for _ in range(3):
        x, y = rng.random((4, 1, 32, 32)), rng.integers(0, 10, 4)
        params, velocities, loss = lenet.train_step(params, velocities, x, y, 0.05, 0.9, 1e-3)
        optimizer.zero_grad()
        t_loss = F.cross_entropy(_torch_logits(tp, torch.tensor(x)), torch.tensor(y))
        t_loss.backward()
        optimizer.step()
        _close(loss, t_loss, np.float64, "loss")
    for name in params:
        _close(params[name], tp[name], np.float64, name)


def test_the_learning_rate_follows_torchs_cosine_annealing():
    total, base = 12, 0.1
    t_param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([t_param], lr=base)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=total - 1, eta_min=base / 100
    )
    for step in range(total):
        assert math.isclose(lenet.learning_rate(step, total, base), optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lenet.learning_rate(0, 1, base) == base


def test_minibatches_cover_every_example_once_in_a_seeded_order():
    batches = lenet.minibatches(10, 4, seed=5, epoch=0)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = lenet.minibatches(10, 4, seed=5, epoch=0)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other = np.concatenate(lenet.minibatches(10, 4, seed=5, epoch=1))
    assert not np.array_equal(np.concatenate(batches), other)


def test_training_lowers_the_loss_and_evaluate_counts_the_argmax():
    rng = np.random.default_rng(6)
    # two separable classes: a bright left half or a bright right half
    y = rng.integers(0, 2, 64)
    x = 0.1 * rng.random((64, 1, 32, 32))
    x[y == 0, :, :, :16] += 0.8
    x[y == 1, :, :, 16:] += 0.8
    params = lenet.lenet_init(x)
    trained, losses = lenet.train(params, x, y, epochs=3, batch_size=16, base_lr=0.05)
    assert len(losses) == 12 and all(isinstance(v, float) for v in losses)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    loss, accuracy = lenet.evaluate(trained, x, y, batch_size=20)
    logits = lenet.lenet_forward(trained, x)
    assert accuracy == float(np.mean(logits.argmax(axis=1) == y))
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    assert math.isclose(loss, expected, rel_tol=1e-9)
    assert accuracy == 1.0
