"""Hints of the training assignments (activations_losses, optimizers, regularization, residual,
blocks) whose firing depends on more than one re-run of the reference: coinciding mistakes,
facts about non-finite results, defaults that differ between two functions, and mistakes
that change the layout of a result."""

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import activations_losses, blocks, optimizers, regularization, residual


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_hinge_mistakes_that_give_one_loss_are_named_in_one_hint():
    # The public hand-computed case: 0.5 / 3 times K = 3 is 0.5, and so is 0.5 / 3 + 1 / 3.
    scores, y = np.array([[3.0, 1.0, 2.5]]), np.array([0])
    _, grad = activations_losses.multiclass_hinge(scores, y)
    call = Call("multiclass_hinge", (scores, y), {}, (np.float64(0.5), grad))
    (hint,) = diagnose(activations_losses, [call])
    assert "two mistakes give alike" in hint
    assert "times the expected one" not in hint and "counts the label's own term" not in hint


def test_hinge_label_term_counted_is_named(rng):
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, grad = activations_losses.multiclass_hinge(scores, y, margin=0.5)
    call = Call("multiclass_hinge", (scores, y, 0.5), {}, (loss + 0.5 / 4, grad))
    assert any("counts the label's own term" in h for h in diagnose(activations_losses, [call]))


def test_label_smoothing_over_k_minus_1_is_named(rng):
    logits, y = 3 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    onehot = np.eye(4)[y]
    q = 0.9 * onehot + 0.1 / 3 * (1 - onehot)
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    wrong = (-(q * log_p).sum() / 5, (np.exp(log_p) - q) / 5)
    call = Call("softmax_cross_entropy", (logits, y), {"label_smoothing": 0.1}, wrong)
    assert any("K - 1 wrong classes" in h for h in diagnose(activations_losses, [call]))


def test_adamw_with_its_default_decay_in_the_gradient_is_named(rng):
    # AdamW's default weight_decay (1e-2) is not Adam's (0): the coupled suspect must keep it.
    w, dw = rng.standard_normal(5), rng.standard_normal(5)
    state = {"m": 0.1 * rng.standard_normal(5), "v": rng.random(5), "step": 3}
    coupled = optimizers.adam(w, dw, state, lr=0.01, weight_decay=1e-2)
    call = Call("adamw", (w, dw, state), {"lr": 0.01}, coupled)
    assert any("Adam's coupled L2" in h for h in diagnose(optimizers, [call]))


def test_adam_counted_from_zero_is_named_on_its_non_finite_first_step(rng):
    w, dw = rng.standard_normal(3), rng.standard_normal(3)
    state = {"m": np.zeros(3), "v": np.zeros(3), "step": 0}
    wrong = (np.full(3, np.nan), {"m": 0.1 * dw, "v": 0.001 * dw * dw, "step": 1})
    hints = diagnose(optimizers, [Call("adam", (w, dw, state), {"lr": 0.1}, wrong)])
    assert any("with t = 0 the bias correction divides by" in h for h in hints)


def test_fans_without_the_receptive_field_are_named_in_an_initializer():
    w = np.empty((64, 32, 3, 3))
    right = optimizers.kaiming_normal(w, seed=5)
    wrong = right * 3.0  # fan_in 32 instead of 288: the std is sqrt(9) times larger
    call = Call("kaiming_normal", (w,), {"seed": 5}, wrong)
    assert any("leave out the receptive field" in h for h in diagnose(optimizers, [call]))


def test_a_backward_mask_that_keeps_nothing_names_neither_mask_mistake(rng):
    dout, mask = rng.standard_normal(6), np.zeros(6, dtype=bool)
    call = Call("dropout_backward", (dout, 0.5, mask), {}, dout * 2.0)
    hints = diagnose(regularization, [call])
    assert not any("mask is False" in h or "not masked" in h for h in hints), hints


def test_dropout_scaled_by_one_over_p_is_named(rng):
    x, mask = rng.standard_normal(8), rng.random(8) > 0.3
    call = Call("dropout_forward", (x, 0.3, mask), {}, np.where(mask, x / 0.3, 0.0))
    assert any("scaled by 1 / p" in h for h in diagnose(regularization, [call]))


def test_inception_branches_out_of_order_are_named(rng):
    shapes = {
        "w1": (2, 3, 1, 1), "b1": (2,), "w3r": (2, 3, 1, 1), "b3r": (2,), "w3": (3, 2, 3, 3),
        "b3": (3,), "w5r": (1, 3, 1, 1), "b5r": (1,), "w5": (1, 1, 5, 5), "b5": (1,),
        "wp": (4, 3, 1, 1), "bp": (4,),
    }  # fmt: skip
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    x = rng.standard_normal((1, 3, 5, 5))
    out = blocks.inception_forward(x, params)
    b1, b3, b5, bp = out[:, :2], out[:, 2:5], out[:, 5:6], out[:, 6:]
    wrong = np.concatenate([bp, b1, b3, b5], axis=1)
    hints = diagnose(blocks, [Call("inception_forward", (x, params), {}, wrong)])
    assert any("in another order" in h for h in hints)


def test_residual_backward_without_the_identity_gradient_is_named(rng):
    c = 2
    x = rng.standard_normal((2, c, 4, 4))
    params = {
        "w1": 0.4 * rng.standard_normal((c, c, 3, 3)),
        "gamma1": np.ones(c),
        "beta1": np.zeros(c),
        "w2": 0.4 * rng.standard_normal((c, c, 3, 3)),
        "gamma2": np.ones(c),
        "beta2": np.zeros(c),
    }
    dout = rng.standard_normal(x.shape)
    dx, grads = residual.residual_block_backward(dout, x, params)
    out, _ = residual.residual_block_forward(
        x,
        params,
        {"mean1": np.zeros(c), "var1": np.ones(c), "mean2": np.zeros(c), "var2": np.ones(c)},
    )
    wrong = (dx - np.where(out > 0, dout, 0.0), grads)
    call = Call("residual_block_backward", (dout, x, params), {}, wrong)
    assert any("only what flows back through conv1" in h for h in diagnose(residual, [call]))
