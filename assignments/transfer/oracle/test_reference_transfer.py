"""The reference transfer learning against PyTorch: features equal to a torch forward under
no_grad, gradients only where requires_grad is True (frozen parameters' .grad stays None),
torch.optim.SGD with one parameter group per layer and its own lr, a head trained on frozen
features, and numeric gradients."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.gradcheck import numeric_gradient
from solutions import transfer

DATA = Path(__file__).resolve().parents[1] / "data"
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


def _params(rng, dtype, classes=5):
    params = {}
    shapes = {**transfer.BACKBONE_SHAPES, "fc3_w": (classes, 84), "fc3_b": (classes,)}
    for name, shape in shapes.items():
        if name.endswith("_w"):
            params[name] = rng.standard_normal(shape) * math.sqrt(2.0 / math.prod(shape[1:]))
        else:
            params[name] = 0.1 * rng.standard_normal(shape)
    return {k: v.astype(dtype) for k, v in params.items()}


def _torch_features(tp, tx):
    h = F.max_pool2d(F.relu(F.conv2d(tx, tp["conv1_w"], tp["conv1_b"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, tp["conv2_w"], tp["conv2_b"])), 2)
    h = torch.flatten(h, 1)
    h = F.relu(F.linear(h, tp["fc1_w"], tp["fc1_b"]))
    return F.relu(F.linear(h, tp["fc2_w"], tp["fc2_b"]))


def _torch_params(params, trainable_names):
    """Leaf tensors; ``requires_grad`` only for the names that learn."""
    return {k: torch.tensor(v, requires_grad=k in trainable_names) for k, v in params.items()}


# ------------------------------------------------------------------ features


@pytest.mark.parametrize("dtype", DTYPES)
def test_features_equal_a_torch_forward_without_gradient(dtype):
    rng = np.random.default_rng(0)
    params = _params(rng, dtype, classes=10)
    x = rng.random((7, 1, 32, 32)).astype(dtype)
    with torch.no_grad():
        expected = _torch_features({k: torch.tensor(v) for k, v in params.items()}, torch.tensor(x))
    _close(transfer.extract_features(params, x, 3), expected, dtype, "features")
    assert (transfer.extract_features(params, x) >= 0).all()


def test_features_of_the_shipped_backbone_equal_a_torch_forward():
    with np.load(DATA / "backbone.npz") as saved:
        backbone = {k: saved[k] for k in saved.files}
    with np.load(DATA / "digits59.npz") as saved:
        x = (saved["x_test"][:30] / np.float32(255)).astype(np.float32)
    with torch.no_grad():
        expected = _torch_features(
            {k: torch.tensor(v) for k, v in backbone.items()}, torch.tensor(x)
        )
    _close(transfer.extract_features(backbone, x), expected, np.float32, "features")


def test_relabel_is_a_lookup_of_each_labels_position():
    rng = np.random.default_rng(1)
    classes = [7, 2, 9, 4]
    y = np.asarray(classes)[rng.integers(0, 4, (3, 5))]
    lookup = {c: i for i, c in enumerate(classes)}
    np.testing.assert_array_equal(transfer.relabel(y, classes), np.vectorize(lookup.get)(y))
    assert transfer.relabel(y, classes).dtype == np.int64
    with pytest.raises(ValueError, match="not among the classes"):
        transfer.relabel(np.array([7, 3]), classes)
    with pytest.raises(ValueError, match="distinct"):
        transfer.relabel(y, [7, 7])


def test_head_init_is_torch_xavier_uniform_with_its_own_seed():
    head = transfer.head_init(np.zeros(1, np.float32), 5, 3)
    w = head["fc3_w"]
    template = torch.empty(5, 84)
    bound = math.sqrt(6.0 / (84 + 5))  # torch.nn.init.xavier_uniform_'s bound for (5, 84)
    assert abs(float(torch.nn.init.xavier_uniform_(template).abs().max()) - bound) < 0.05 * bound
    assert w.dtype == np.float32 and w.shape == (5, 84)
    assert bound * 0.9 < np.abs(w).max() <= bound and not head["fc3_b"].any()
    np.testing.assert_array_equal(w, transfer.head_init(np.zeros(1, np.float32), 5, 3)["fc3_w"])
    assert not np.array_equal(w, transfer.head_init(np.zeros(1, np.float32), 5, 4)["fc3_w"])


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "wrt",
    [
        ("fc3_w", "fc3_b"),
        ("fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b"),
        ("conv2_b", "fc1_w"),
        tuple(transfer.parameter_names()),
    ],
    ids=["head", "last_block", "conv2_b_and_fc1_w", "all"],
)
def test_gradients_exist_exactly_where_torch_requires_grad(dtype, wrt):
    rng = np.random.default_rng(2)
    params = _params(rng, dtype)
    x, y = rng.random((4, 1, 32, 32)).astype(dtype), rng.integers(0, 5, 4)
    loss, grads = transfer.transfer_loss(params, x, y, list(wrt))
    tp = _torch_params(params, wrt)
    logits = F.linear(_torch_features(tp, torch.tensor(x)), tp["fc3_w"], tp["fc3_b"])
    t_loss = F.cross_entropy(logits, torch.tensor(y))
    t_loss.backward()
    _close(loss, t_loss, dtype, "loss")
    _close(transfer.transfer_forward(params, x), logits, dtype, "logits")
    assert set(grads) == {k for k, t in tp.items() if t.grad is not None} == set(wrt)
    for name in wrt:
        _close(grads[name], tp[name].grad, dtype, f"grads[{name!r}]")


def test_a_gradient_matches_numeric_differences():
    rng = np.random.default_rng(3)
    params = _params(rng, np.float64)
    x, y = rng.random((2, 1, 32, 32)), rng.integers(0, 5, 2)
    _, grads = transfer.transfer_loss(params, x, y, ["conv1_b", "fc2_b"])
    for name in ("conv1_b", "fc2_b"):
        numeric = numeric_gradient(
            lambda v, name=name: np.asarray(
                transfer.transfer_loss({**params, name: v}, x, y, [])[0]
            ),
            params[name],
            np.float64(1.0),
        )
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------ optimizer steps


@pytest.mark.parametrize("dtype", DTYPES)
def test_steps_match_torch_sgd_with_one_group_per_layer(dtype):
    rng = np.random.default_rng(4)
    params = _params(rng, dtype)
    kept = {k: v.copy() for k, v in params.items()}
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    lrs = {"conv1": 0.05, "fc1": 0.01, "fc2": 0.0, "fc3": 0.1}
    trainable = ["conv2", "fc1", "fc2", "fc3"]  # conv1 has a rate but is not trainable
    learning = transfer.trainable_parameters(lrs, trainable)
    assert learning == ["fc1_w", "fc1_b", "fc3_w", "fc3_b"]
    tp = _torch_params(params, learning)
    groups = [
        {"params": [tp[f"{layer}_w"], tp[f"{layer}_b"]], "lr": lrs[layer]}
        for layer in ("fc1", "fc3")
    ]
    optimizer = torch.optim.SGD(groups, lr=1.0, momentum=0.9, weight_decay=1e-2)
    for name in learning:  # the buffers start at the given velocities
        optimizer.state[tp[name]]["momentum_buffer"] = torch.tensor(velocities[name])
    for _ in range(2):
        x, y = rng.random((3, 1, 32, 32)).astype(dtype), rng.integers(0, 5, 3)
        params, velocities, loss = transfer.finetune_step(
            params, velocities, x, y, lrs, trainable, 0.9, 1e-2
        )
        optimizer.zero_grad()
        logits = F.linear(_torch_features(tp, torch.tensor(x)), tp["fc3_w"], tp["fc3_b"])
        t_loss = F.cross_entropy(logits, torch.tensor(y))
        t_loss.backward()
        optimizer.step()
        _close(loss, t_loss, dtype, "loss")
    for name, value in params.items():
        if name in learning:
            _close(value, tp[name], dtype, f"params[{name!r}]")
            buffer = optimizer.state[tp[name]]["momentum_buffer"]
            _close(velocities[name], buffer, dtype, f"velocities[{name!r}]")
        else:  # frozen: bit for bit, as torch leaves a tensor without requires_grad
            assert value.tobytes() == kept[name].tobytes() == tp[name].detach().numpy().tobytes()


def test_a_head_trained_on_features_matches_torch():
    rng = np.random.default_rng(5)
    features = np.maximum(rng.standard_normal((21, 84)), 0)
    y = rng.integers(0, 3, 21)
    head = transfer.head_init(features, 3, 1)
    trained, losses = transfer.train_head(head, features, y, 2, 8, 0.1, 0.9, 1e-3, 3)
    w, b = (torch.tensor(head[k], requires_grad=True) for k in ("fc3_w", "fc3_b"))
    optimizer = torch.optim.SGD([w, b], lr=0.1, momentum=0.9, weight_decay=1e-3)
    t_losses = []
    tf, ty = torch.tensor(features), torch.tensor(y)
    for epoch in range(2):
        for index in transfer.minibatches(21, 8, 3, epoch):
            optimizer.zero_grad()
            t_loss = F.cross_entropy(F.linear(tf[index], w, b), ty[index])
            t_loss.backward()
            optimizer.step()
            t_losses.append(float(t_loss.detach()))
    np.testing.assert_allclose(losses, t_losses, rtol=1e-11)
    _close(trained["fc3_w"], w, np.float64, "fc3_w")
    _close(trained["fc3_b"], b, np.float64, "fc3_b")


def test_finetuning_the_head_alone_is_training_a_head_on_the_features():
    # Feature extraction and fine-tuning with only fc3 trainable are the same computation.
    rng = np.random.default_rng(6)
    params = _params(rng, np.float64)
    x, y = rng.random((12, 1, 32, 32)), rng.integers(0, 5, 12)
    head = {k: params[k] for k in ("fc3_w", "fc3_b")}
    features = transfer.extract_features(params, x)
    by_head, head_losses = transfer.train_head(head, features, y, 2, 5, 0.05, 0.9, 1e-3, 1)
    tuned, tuned_losses = transfer.train_finetune(
        params, x, y, {"fc3": 0.05}, ["fc3"], 2, 5, 0.9, 1e-3, 1
    )
    np.testing.assert_allclose(tuned_losses, head_losses, rtol=1e-10)
    for name in ("fc3_w", "fc3_b"):
        np.testing.assert_allclose(tuned[name], by_head[name], rtol=1e-10, atol=1e-12)
    for name in transfer.BACKBONE_SHAPES:
        assert tuned[name] is params[name] or tuned[name].tobytes() == params[name].tobytes()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="not among"):
        transfer.trainable_parameters({"fc4": 0.1}, ["fc3"])
    with pytest.raises(ValueError, match=">= 0"):
        transfer.trainable_parameters({"fc3": -0.1}, ["fc3"])
    with pytest.raises(ValueError, match="trainable"):
        transfer.trainable_parameters({"fc3": 0.1}, ["head"])
    params = _params(np.random.default_rng(7), np.float64)
    x, y = np.zeros((2, 1, 32, 32)), np.array([0, 1])
    with pytest.raises(ValueError, match="no parameters"):
        transfer.transfer_loss(params, x, y, ["fc9_w"])
    del params["fc2_b"]
    with pytest.raises(ValueError, match="'fc2_b'"):
        transfer.extract_features(params, x)
