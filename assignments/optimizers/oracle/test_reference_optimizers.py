"""The reference optimizers against torch.optim, step by step, and the initializers against
torch.nn.init (fans and gains exactly, distributions by their statistics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import solutions.optimizers as ref

DTYPES = [np.float64, np.float32]
STEPS = 6

CASES = {
    "sgd": (ref.sgd, torch.optim.SGD, {"lr": 0.1}, {"velocity": "zeros"}),
    "sgd_momentum": (
        ref.sgd,
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9},
        {"velocity": "zeros"},
    ),
    "sgd_nesterov_decay": (
        ref.sgd,
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
        {"velocity": "zeros"},
    ),
    "adagrad": (ref.adagrad, torch.optim.Adagrad, {"lr": 0.1}, {"sum_sq": "zeros"}),
    "adagrad_decay": (
        ref.adagrad,
        torch.optim.Adagrad,
        {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6},
        {"sum_sq": "zeros"},
    ),
    "rmsprop": (
        ref.rmsprop,
        torch.optim.RMSprop,
        {"lr": 0.01},
        {"square_avg": "zeros", "velocity": "zeros"},
    ),
    "rmsprop_momentum": (
        ref.rmsprop,
        torch.optim.RMSprop,
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01},
        {"square_avg": "zeros", "velocity": "zeros"},
    ),
    "adam": (ref.adam, torch.optim.Adam, {"lr": 0.01}, {"m": "zeros", "v": "zeros", "step": 0}),
    "adam_decay": (
        ref.adam,
        torch.optim.Adam,
        {"lr": 0.01, "weight_decay": 0.1},
        {"m": "zeros", "v": "zeros", "step": 0},
    ),
    "adamw": (
        ref.adamw,
        torch.optim.AdamW,
        {"lr": 0.01, "weight_decay": 0.1},
        {"m": "zeros", "v": "zeros", "step": 0},
    ),
}
TORCH_NAMES = {"beta1": None, "beta2": None}


def _initial(spec, w):
    return {k: np.zeros_like(w) if v == "zeros" else v for k, v in spec.items()}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_optimizer_matches_torch_step_by_step(name, dtype):
    step_fn, torch_cls, options, state_spec = CASES[name]
    rng = np.random.default_rng(len(name))
    w = rng.standard_normal((3, 4)).astype(dtype)
    param = torch.nn.Parameter(torch.from_numpy(w.copy()))
    optimizer = torch_cls([param], **options)
    state = _initial(state_spec, w)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for _ in range(STEPS):
        dw = rng.standard_normal(w.shape).astype(dtype)
        param.grad = torch.from_numpy(dw.copy())
        optimizer.step()
        before = {k: np.copy(v) for k, v in state.items()}
        w_before = w.copy()
        w, state = step_fn(w, dw, state, **options)
        assert w.dtype == np.dtype(dtype) and set(state) == set(state_spec)
        np.testing.assert_allclose(w, param.detach().numpy(), rtol=tol, atol=tol)
        for key, value in before.items():  # inputs untouched
            assert np.array_equal(
                np.asarray(value), np.asarray(state_spec[key]) if False else value
            )
        assert w_before.dtype == np.dtype(dtype)


def test_adam_bias_correction_makes_the_first_step_lr_sized():
    w = np.zeros(3)
    dw = np.array([1e-4, -2.0, 30.0])
    w1, state = ref.adam(w, dw, {"m": np.zeros(3), "v": np.zeros(3), "step": 0}, lr=0.1)
    np.testing.assert_allclose(w1, -0.1 * np.sign(dw), rtol=1e-3)
    assert state["step"] == 1


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (2, 6, 5), (4, 2, 3, 3, 2)])
def test_fans_match_torch(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ref.fan_in_and_fan_out(shape) == tuple(want)


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("conv2d", None),
    ],
)
def test_gains_match_torch(nonlinearity, param):
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert ref.calculate_gain(nonlinearity, param) == pytest.approx(want, rel=1e-12)


def _torch_stats(init, shape, **kw):
    """(standard deviation, largest magnitude) of torch's initializer on ``shape``."""
    t = torch.empty(shape, dtype=torch.float64)
    init(t, **kw)
    return float(t.std()), float(t.abs().max())


INITS = {
    "xavier_uniform": (ref.xavier_uniform, torch.nn.init.xavier_uniform_, {"gain": 1.3}, "uniform"),
    "xavier_normal": (ref.xavier_normal, torch.nn.init.xavier_normal_, {"gain": 0.7}, "normal"),
    "kaiming_uniform": (
        ref.kaiming_uniform,
        torch.nn.init.kaiming_uniform_,
        {"a": 0.1, "mode": "fan_out"},
        "uniform",
    ),
    "kaiming_normal": (
        ref.kaiming_normal,
        torch.nn.init.kaiming_normal_,
        {"mode": "fan_in", "nonlinearity": "relu"},
        "normal",
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", INITS)
def test_initializers_match_torch_in_distribution(name, dtype):
    ours_fn, torch_fn, kw, kind = INITS[name]
    shape = (128, 64, 3, 3)
    w = ours_fn(np.empty(shape, dtype), seed=1, **kw)
    assert w.dtype == np.dtype(dtype) and w.shape == shape
    theirs, largest = _torch_stats(torch_fn, shape, **kw)
    n = w.size
    std = float(w.astype(np.float64).std())
    assert abs(std / theirs - 1) < 6 * math.sqrt(1 / (2 * n)) * 2  # both estimates vary
    assert abs(float(w.mean())) < 6 * theirs / math.sqrt(n)
    within = float((np.abs(w) < theirs).mean())
    assert abs(within - (0.6827 if kind == "normal" else 1 / math.sqrt(3))) < 0.01
    if kind == "uniform":
        # the bound b: both samples' largest magnitudes are within b / n of it
        assert abs(float(np.abs(w).max()) / largest - 1) < 1e-3
    np.testing.assert_array_equal(ours_fn(np.empty(shape, dtype), seed=1, **kw), w)
    assert not np.array_equal(ours_fn(np.empty(shape, dtype), seed=2, **kw), w)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: ref.sgd(np.ones(2), np.ones(3), {"velocity": np.zeros(2)}, 0.1), "dw must"),
        (lambda: ref.sgd(np.ones(2), np.ones(2), {}, 0.1), "keys"),
        (
            lambda: ref.sgd(np.ones(2), np.ones(2), {"velocity": np.zeros(2)}, 0.1, nesterov=True),
            "Nesterov",
        ),
        (
            lambda: ref.adam(np.ones(2), np.ones(2), {"m": 0, "v": 0, "step": 0}, 0.1, beta1=1.0),
            "beta1",
        ),
        (lambda: ref.fan_in_and_fan_out((3,)), "at least 2"),
        (lambda: ref.kaiming_normal(np.ones((2, 2)), mode="fan_avg"), "mode"),
        (lambda: ref.calculate_gain("swish"), "unsupported"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call()
