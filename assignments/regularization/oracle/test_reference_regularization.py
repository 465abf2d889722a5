"""The reference dropout and weight decay against PyTorch (F.dropout with its own mask,
torch.optim.SGD and AdamW's decay), and the statistics of the masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solutions.regularization import (
    decoupled_weight_decay,
    dropout_backward,
    dropout_forward,
    dropout_mask,
    sgd_step_with_weight_decay,
)

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4, 5)])
def test_dropout_replays_torch_given_torch_mask(shape, p, dtype):
    torch.manual_seed(len(shape) * 100 + int(10 * p))
    rng = np.random.default_rng([len(shape), int(10 * p)])
    x = (rng.standard_normal(shape) + 3.0).astype(dtype)  # no zeros: the mask shows in out
    dout = rng.standard_normal(shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_()
    out = F.dropout(tx, p=p, training=True)
    (dx,) = torch.autograd.grad(out, tx, torch.from_numpy(dout))
    mask = out.detach().numpy() != 0
    ours = dropout_forward(x, p, mask)
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        ours, out.detach().numpy(), rtol=1e-6 if dtype == np.float32 else 1e-15
    )
    np.testing.assert_allclose(
        dropout_backward(dout, p, mask), dx.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-15
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_eval_mode_is_the_identity_as_in_torch(dtype):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    want = F.dropout(torch.from_numpy(x), p=0.5, training=False).numpy()
    out = dropout_forward(x, 0.5, np.zeros(x.shape, bool), training=False)
    np.testing.assert_array_equal(out, want)
    assert out is not x
    np.testing.assert_array_equal(dropout_backward(x, 0.5, None, training=False), x)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_masks_keep_the_right_fraction_and_depend_on_the_seed(p):
    x = np.zeros((200, 250))
    mask = dropout_mask(x, p, seed=3)
    assert mask.dtype == bool and mask.shape == x.shape
    kept = mask.mean()
    sigma = math.sqrt(p * (1 - p) / x.size)
    assert abs(kept - (1 - p)) <= 6 * sigma + 1e-12
    np.testing.assert_array_equal(dropout_mask(x, p, seed=3), mask)
    if 0 < p < 1:
        other = dropout_mask(x, p, seed=4)
        agree = (other == mask).mean()  # independent masks agree with prob. p^2 + (1-p)^2
        assert abs(agree - (p * p + (1 - p) ** 2)) < 0.02


def test_inverted_dropout_preserves_the_expected_value():
    x = np.full((100_000,), 2.5)
    out = dropout_forward(x, 0.3, dropout_mask(x, 0.3, seed=0))
    assert abs(out.mean() - 2.5) < 6 * 2.5 * math.sqrt(0.3 / 0.7 / x.size)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay", [0.0, 1e-4, 0.1])
def test_weight_decay_matches_torch_sgd_and_adamw(dtype, weight_decay):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 4)).astype(dtype)
    dw = rng.standard_normal((3, 4)).astype(dtype)
    tw = torch.nn.Parameter(torch.from_numpy(w.copy()))
    tw.grad = torch.from_numpy(dw.copy())
    torch.optim.SGD([tw], lr=0.05, weight_decay=weight_decay).step()
    tol = 1e-6 if dtype == np.float32 else 1e-14
    ours = sgd_step_with_weight_decay(w, dw, 0.05, weight_decay)
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours, tw.detach().numpy(), rtol=tol, atol=tol)
    # AdamW with a zero gradient moves the weights by its decoupled decay alone
    ta = torch.nn.Parameter(torch.from_numpy(w.copy()))
    ta.grad = torch.zeros_like(ta)
    torch.optim.AdamW([ta], lr=0.05, weight_decay=weight_decay).step()
    np.testing.assert_allclose(
        decoupled_weight_decay(w, 0.05, weight_decay), ta.detach().numpy(), rtol=tol, atol=tol
    )


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: dropout_mask(x, 1.5, 0), r"p \(the probability"),
        (lambda x: dropout_mask(x, 0.5, -1), "seed"),
        (lambda x: dropout_forward(x, 0.5, np.ones(x.shape)), "boolean"),
        (lambda x: dropout_forward(x, 0.5, np.ones((2, 2), bool)), "shape"),
        (lambda x: sgd_step_with_weight_decay(x, x[:1], 0.1, 0.0), "dw must have"),
        (lambda x: sgd_step_with_weight_decay(x, x, 0.0, 0.0), "lr"),
        (lambda x: decoupled_weight_decay(x, 0.1, -1.0), "weight_decay"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call(np.ones((3, 4)))
