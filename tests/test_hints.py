"""Hints name the usual mistakes, and stay silent on unrelated wrong answers."""

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import batchnorm, conv, interpolation, pooling, residual


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _conv_inputs(rng):
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    return x, w, b


def test_flipped_kernel(rng):
    x, w, b = _conv_inputs(rng)
    wrong = conv.conv_forward(x, np.ascontiguousarray(w[:, :, ::-1, ::-1]), b, padding=1)
    hints = diagnose(conv, [Call("conv_forward", (x, w, b), {"padding": 1}, wrong)])
    assert any("true convolution" in h for h in hints)


@pytest.mark.parametrize(
    ("option", "value", "neutral"), [("padding", 2, 0), ("stride", 2, 1), ("dilation", 2, 1)]
)
def test_ignored_hyper_parameter(rng, option, value, neutral):
    x, w, b = _conv_inputs(rng)
    wrong = conv.conv_forward(x, w, b, **{option: neutral})
    hints = diagnose(conv, [Call("conv_forward", (x, w, b), {option: value}, wrong)])
    assert f"your output looks like {option} was ignored ({option}={neutral})" in hints


def test_unrelated_wrong_answer_gets_no_hint(rng):
    x, w, b = _conv_inputs(rng)
    right = conv.conv_forward(x, w, b, stride=2)
    noisy = right + rng.standard_normal(right.shape)
    assert diagnose(conv, [Call("conv_forward", (x, w, b), {"stride": 2}, noisy)]) == []
    assert diagnose(conv, [Call("conv_forward", (x, w, b), {"stride": 2}, "garbage")]) == []


def _bn_inputs(rng):
    x = rng.standard_normal((8, 3, 4, 4)) * 2 + 1
    return x, rng.standard_normal(3), rng.standard_normal(3), np.zeros(3), np.ones(3)


def test_batchnorm_unbiased_variance(rng):
    x, gamma, beta, rm, rv = _bn_inputs(rng)
    m = 8 * 4 * 4
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True) * m / (m - 1)
    out = (x - mean) / np.sqrt(var + 1e-5) * gamma.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1)
    _, new_mean, new_var = batchnorm.batchnorm_forward(x, gamma, beta, rm, rv)
    hints = diagnose(
        batchnorm,
        [Call("batchnorm_forward", (x, gamma, beta, rm, rv), {}, (out, new_mean, new_var))],
    )
    assert any("unbiased variance" in h for h in hints)


def test_batchnorm_running_stats_not_updated(rng):
    x, gamma, beta, rm, rv = _bn_inputs(rng)
    out, _, _ = batchnorm.batchnorm_forward(x, gamma, beta, rm, rv)
    call = Call("batchnorm_forward", (x, gamma, beta, rm, rv), {}, (out, rm.copy(), rv.copy()))
    assert "your running statistics were not updated in training mode" in diagnose(
        batchnorm, [call]
    )


def test_max_pool_tie_resolved_the_other_way():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 1.0  # a 2x2 window full of tied maxima
    out, switches = pooling.max_pool_forward(x, 2)
    last = switches.copy()
    last[0, 0, 0, 0] = 5  # the last maximum of the first window (row 1, column 1)
    hints = diagnose(pooling, [Call("max_pool_forward", (x, 2), {}, (out, last))])
    assert any("resolve ties differently" in h for h in hints)


def test_align_corners_confused(rng):
    x = rng.standard_normal((1, 2, 5, 4))
    wrong = interpolation.bilinear_resize(x, (7, 9), align_corners=True)
    call = Call("bilinear_resize", (x, (7, 9)), {"align_corners": False}, wrong)
    assert any("align_corners=True" in h for h in diagnose(interpolation, [call]))


def test_missing_projection_shortcut(rng):
    c = 3
    x = rng.standard_normal((2, c, 5, 5))
    params = {
        "w1": rng.standard_normal((c, c, 3, 3)),
        "gamma1": np.ones(c),
        "beta1": np.zeros(c),
        "w2": rng.standard_normal((c, c, 3, 3)),
        "gamma2": np.ones(c),
        "beta2": np.zeros(c),
        "w_proj": rng.standard_normal((c, c, 1, 1)),
        "gamma_proj": np.ones(c),
        "beta_proj": np.zeros(c),
    }
    state = {
        k: np.zeros(c) if k.startswith("mean") else np.ones(c)
        for k in ("mean1", "var1", "mean2", "var2", "mean_proj", "var_proj")
    }
    identity = {k: v for k, v in params.items() if not k.endswith("_proj")}
    identity_state = {k: v for k, v in state.items() if not k.endswith("_proj")}
    wrong = residual.residual_block_forward(x, identity, identity_state)
    call = Call("residual_block_forward", (x, params, state), {}, wrong)
    assert any("projection shortcut" in h for h in diagnose(residual, [call]))


def test_a_failing_diagnosis_never_raises(rng):
    call = Call("conv_forward", ("not", "arrays"), {}, None)
    assert diagnose(conv, [call]) == []


def test_overflowing_softmax_is_named(rng):
    from solutions import activations_losses as al

    x = 800.0 * rng.standard_normal((3, 4))
    with np.errstate(over="ignore", invalid="ignore"):
        wrong = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    hints = diagnose(al, [Call("softmax_forward", (x,), {}, wrong)])
    assert any("exp overflowed" in h for h in hints)
    assert diagnose(al, [Call("softmax_forward", (x,), {}, np.zeros_like(x))]) == []


def test_relu_gradient_at_zero_is_named(rng):
    from solutions import activations_losses as al

    x = np.array([-1.0, 0.0, 2.0])
    wrong = np.array([0.0, 1.0, 1.0])
    hints = diagnose(al, [Call("relu_backward", (np.ones(3), x), {}, wrong)])
    assert any("x = 0" in h for h in hints)


def test_hinge_without_division_by_k_is_named(rng):
    from solutions import activations_losses as al

    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    loss, grad = al.multiclass_hinge(scores, y)
    hints = diagnose(al, [Call("multiclass_hinge", (scores, y), {}, (loss * 4, grad))])
    assert any("K = 4 times" in h for h in hints)


def test_unscaled_dropout_is_named(rng):
    from solutions import regularization as reg

    x, mask = rng.standard_normal(10), rng.random(10) > 0.3
    hints = diagnose(reg, [Call("dropout_forward", (x, 0.3, mask), {}, np.where(mask, x, 0.0))])
    assert any("1 / (1 - p)" in h for h in hints)


def test_adam_without_bias_correction_is_named(rng):
    from solutions import optimizers as opt

    w, dw = rng.standard_normal(4), rng.standard_normal(4)
    state = {"m": np.zeros(4), "v": np.zeros(4), "step": 0}
    m, v = 0.1 * dw, 0.001 * dw * dw
    wrong = (w - 0.01 * m / (np.sqrt(v) + 1e-8), {"m": m, "v": v, "step": 1})
    hints = diagnose(opt, [Call("adam", (w, dw, state), {"lr": 0.01}, wrong)])
    assert any("bias correction" in h for h in hints)
    right = opt.adam(w, dw, state, lr=0.01)
    assert diagnose(opt, [Call("adam", (w, dw, state), {"lr": 0.01}, right)]) == []


def test_hints_print_no_reference_value():
    """Hidden tests show their hints before their expected values may be shown (see
    ``[feedback] reveal_expected``), so a hint may only name a call's options, an input's
    shape and constants. A new placeholder in a hint must be one of those: add it here only
    after checking that it holds no value the reference computed."""
    import ast
    from pathlib import Path

    import autograder.suite.hints
    from autograder.core.assignments import ASSIGNMENTS_DIR

    sources = [Path(autograder.suite.hints.__file__), *sorted(ASSIGNMENTS_DIR.glob("*/hints.py"))]
    assert len(sources) > 1, "the assignments' hints files must be found"
    placeholders = {
        ast.unparse(value.value)
        for source in sources
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.JoinedStr)
        for value in node.values
        if isinstance(value, ast.FormattedValue)
    }
    options = {"option", "neutral", "align_corners", "not align_corners", "not aligned"}
    shapes = {"k"}  # the number of classes: scores.shape[1]
    assert placeholders <= options | shapes, placeholders - options - shapes


def test_hint_of_a_hidden_call_holds_no_reference_number(rng):
    x = rng.standard_normal((6, 5)) * 3
    y = rng.integers(0, 5, 6)
    from solutions import activations_losses

    loss, grad = activations_losses.multiclass_hinge(x, y)
    wrong = (loss * 5, grad)
    hints = diagnose(activations_losses, [Call("multiclass_hinge", (x, y), {}, wrong)])
    assert hints and all(f"{float(loss):.3}"[:4] not in h for h in hints), hints


def test_a_mistake_that_changes_nothing_is_not_named(rng):
    """A 1x1 kernel is its own flip: "kernel flipped" would name a mistake not made."""
    x, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal(4)
    w = rng.standard_normal((4, 3, 1, 1))
    wrong = conv.conv_forward(x, w, b, padding=1)
    wrong = wrong + rng.standard_normal(wrong.shape)
    assert diagnose(conv, [Call("conv_forward", (x, w, b), {"padding": 1}, wrong)]) == []
    right = conv.conv_forward(x, w, b)
    assert diagnose(conv, [Call("conv_forward", (x, w, b), {}, right)]) == []


def test_momentum_one_half_names_no_convention(rng):
    x, gamma, beta, rm, rv = _bn_inputs(rng)
    rm = rng.standard_normal(3)
    out, new_mean, new_var = batchnorm.batchnorm_forward(x, gamma, beta, rm, rv, momentum=0.5)
    call = Call(
        "batchnorm_forward", (x, gamma, beta, rm, rv), {"momentum": 0.5}, (out, new_mean, new_var)
    )
    assert diagnose(batchnorm, [call]) == []


def test_several_fitting_mistakes_are_named_together():
    from autograder.suite.hints import _several

    (hint,) = _several("f", ["a is 3", "x is scaled by 3"])
    assert hint.startswith("2 mistakes each give exactly what f returned in this test")
    assert "(1) a is 3" in hint and "(2) x is scaled by 3" in hint
    assert _several("f", ["a is 3"]) == ["a is 3"]


def test_a_mistake_another_call_of_the_test_refutes_is_not_named(rng):
    """The flipped kernel fits the first call, but the second call, where flipping changes the
    output too, is right: the student's code does not flip."""
    x, w, b = _conv_inputs(rng)
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    wrong = conv.conv_forward(x, flipped, b, padding=1)
    first = Call("conv_forward", (x, w, b), {"padding": 1}, wrong)
    right = Call("conv_forward", (x, w, b), {}, conv.conv_forward(x, w, b))
    assert any("true convolution" in h for h in diagnose(conv, [first]))
    assert not any("true convolution" in h for h in diagnose(conv, [first, right]))
    assert not any("true convolution" in h for h in diagnose(conv, [right, first]))


def test_a_mistake_the_reference_refuses_leaves_the_others(rng):
    x, w = rng.standard_normal((1, 3, 2, 2)), rng.standard_normal((4, 3, 3, 3))
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    wrong = conv.conv_forward(x, flipped, None, padding=1)
    call = Call("conv_forward", (x, w, None), {"padding": 1}, wrong)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv.conv_forward(x, w, None, padding=0)  # "padding ignored" cannot be made here
    hints = diagnose(conv, [call])
    assert len(hints) == 1 and "true convolution" in hints[0], hints


def test_a_pattern_of_one_call_only_is_not_described(rng):
    """Wrong in one example of the batch in one call, wrong without that pattern in another:
    the pattern is a coincidence of the first call's inputs, not the mistake."""
    _, w, b = _conv_inputs(rng)
    x = rng.standard_normal((4, 3, 6, 6))
    right = conv.conv_forward(x, w, b, padding=1)
    one_example = right.copy()
    one_example[0] += 1.0 + rng.random(right.shape[1:])
    patterned = Call("conv_forward", (x, w, b), {"padding": 1}, one_example)
    assert any("entries along axis 0" in h for h in diagnose(conv, [patterned]))
    everywhere = Call(
        "conv_forward", (x, w, b), {}, conv.conv_forward(x, w, b) + 1.0 + rng.random()
    )
    assert not any("axis 0" in h for h in diagnose(conv, [everywhere, patterned]))


def test_a_factor_that_differs_between_calls_is_said_without_its_value(rng):
    x, w, b = _conv_inputs(rng)
    first = Call("conv_forward", (x, w, b), {}, 2.0 * conv.conv_forward(x, w, b))
    second = Call(
        "conv_forward", (x, w, b), {"padding": 1}, 3.0 * conv.conv_forward(x, w, b, padding=1)
    )
    (hint,) = diagnose(conv, [first, second])
    assert "times a constant in each call, but not the same constant in every call" in hint
    assert "times 3" not in hint
    (same,) = diagnose(conv, [first, Call("conv_forward", (x, w, b), {}, first.result)])
    assert "times 2" in same


def test_a_factor_one_quantity_explains_in_every_call_is_named_by_it(rng):
    """Off by the temperature: 4 in one call (where the batch size is 4 too), 10 in another."""
    from solutions import activations_losses as al

    calls = []
    for temperature in (4.0, 10.0):
        student, teacher = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
        loss, grad = al.distillation_loss(student, teacher, temperature=temperature)
        arguments = (student, teacher)
        calls.append(
            Call(
                "distillation_loss",
                arguments,
                {"temperature": temperature},
                (loss, temperature * grad),
            )
        )
    hints = diagnose(al, calls)
    assert any("times temperature in every call" in h for h in hints), hints


def test_an_input_changed_in_place_is_named_from_the_verdict():
    from autograder.sandbox.failures import modified
    from autograder.suite.feedback import failure_hints
    from autograder.suite.student import student_error

    failure = modified("relu_forward", "x", "")
    error = student_error("relu_forward", failure.message, failure.kind)
    error.function = "relu_forward"
    (hint,) = failure_hints(error)
    assert hint.startswith("your relu_forward changes its argument x in place")
    assert "x = x.copy()" in hint
    raised = student_error("relu_forward", "relu_forward raised ValueError: bad", "exception")
    assert failure_hints(raised) == [] and failure_hints(ValueError("x")) == []


def test_a_dict_or_list_changed_in_place_is_named_as_such_from_the_verdict():
    from autograder.sandbox.failures import modified
    from autograder.suite.feedback import failure_hints
    from autograder.suite.student import student_error

    for change, kind in [
        ("the values of 'fc3_w' were replaced", "dict"),
        ("its length changed from 2 to 3", "list"),
    ]:
        failure = modified("train_head", "head", "", change)
        error = student_error("train_head", failure.message, failure.kind)
        error.function = "train_head"
        (hint,) = failure_hints(error)
        assert hint.startswith(f"your train_head changes its argument head in place ({change})")
        assert f"the caller's {kind} must stay as it was" in hint
        assert f"head = {kind}(head)" in hint and ".copy()" not in hint


def test_different_results_for_the_same_arguments_are_named(rng):
    from solutions import regularization

    x = rng.standard_normal((4, 5))
    first = Call("dropout_mask", (x, 0.5, 3), {}, rng.random((4, 5)) >= 0.5)
    second = Call("dropout_mask", (x, 0.5, 3), {}, rng.random((4, 5)) >= 0.5)
    hints = diagnose(regularization, [first, second])
    assert any("different results for the same arguments" in h for h in hints), hints
    right = regularization.dropout_mask(x, 0.5, 3)
    same = [
        Call("dropout_mask", (x, 0.5, 3), {}, right),
        Call("dropout_mask", (x, 0.5, 3), {}, right),
    ]
    assert not any("different results" in h for h in diagnose(regularization, same))
