"""Mistakes any function's options allow, named without a catalogue: an option left out (used
as 0 or 1), hard-wired to its default, or a flag read the other way; only where the test's
calls agree, and never over an assignment's own hint."""

import types

import numpy as np

from autograder.suite.hints import Call, diagnose
from autograder.suite.option_mistakes import wrong_values


def normalize(x, eps=1e-5, center=True):
    """``(x - mean) / sqrt(var + eps)`` over the last axis (without centering: ``x / ...``)."""
    mean = x.mean(axis=-1, keepdims=True) if center else 0.0
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def smoothed_loss(scores, y, smoothing=0.0):
    """Cross-entropy against labels smoothed by ``smoothing``.

    Returns:
        ``(loss, dscores)``: the scalar loss and its gradient.
    """
    n, k = scores.shape
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    q = (1 - smoothing) * np.eye(k)[y] + smoothing / k
    return float(-(q * log_p).sum() / n), (np.exp(log_p) - q) / n


def momentum_step(w, dw, lr=0.1, momentum=0.9, training=True):
    """One step (``momentum`` only matters while ``training``)."""
    return w - lr * dw * (1 + momentum if training else 1)


def running_update(mean, running_mean, running_var, momentum=0.1):
    """The running statistics after one batch.

    Returns:
        ``(new_mean, new_var)``.
    """
    new_mean = (1 - momentum) * running_mean + momentum * mean
    return new_mean, (1 - momentum) * running_var + momentum * mean**2


REFERENCE = types.SimpleNamespace(
    running_update=running_update,
    __name__="solutions.no_such_assignment",
    normalize=normalize,
    smoothed_loss=smoothed_loss,
    momentum_step=momentum_step,
)


def _hints(*calls):
    return diagnose(REFERENCE, list(calls))


def test_an_option_left_out_is_named():
    x = np.random.default_rng(0).standard_normal((4, 6)) * 0.01  # eps matters at this scale
    (hint,) = _hints(Call("normalize", (x,), {"eps": 1e-3}, normalize(x, eps=0.0)))
    assert hint.startswith("your result is what normalize returns with eps=0.0 instead of")


def test_a_flag_read_the_other_way_is_named():
    x = np.random.default_rng(1).standard_normal((4, 6)) + 3.0
    (hint,) = _hints(Call("normalize", (x,), {}, normalize(x, center=False)))
    assert "normalize returns with center=False, the other way round" in hint


def test_only_the_item_that_ignores_the_option_is_named():
    rng = np.random.default_rng(2)
    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    loss, _ = smoothed_loss(scores, y, 0.2)
    _, unsmoothed = smoothed_loss(scores, y, 0.0)
    (hint,) = _hints(Call("smoothed_loss", (scores, y, 0.2), {}, (loss, unsmoothed)))
    assert hint.startswith("your dscores is what smoothed_loss returns with smoothing=0.0")
    both = smoothed_loss(scores, y, 0.0)
    (hint,) = _hints(Call("smoothed_loss", (scores, y, 0.2), {}, both))
    assert hint.startswith("your loss and dscores are what smoothed_loss returns")


def test_a_call_where_the_mistake_would_show_but_did_not_refutes_it():
    rng = np.random.default_rng(3)
    w, dw = rng.standard_normal(5), rng.standard_normal(5)
    wrong = Call("momentum_step", (w, dw), {"momentum": 0.5}, momentum_step(w, dw, momentum=0.0))
    right = Call("momentum_step", (w, dw), {"momentum": 0.3}, momentum_step(w, dw, momentum=0.3))
    assert any("momentum=0.0" in hint for hint in _hints(wrong))
    assert not any("momentum=0.0" in hint for hint in _hints(wrong, right))


def test_no_option_is_named_where_it_changes_nothing_or_the_result_is_right():
    rng = np.random.default_rng(4)
    w, dw = rng.standard_normal(5), rng.standard_normal(5)
    # out of training, momentum changes nothing: a wrong result there names no momentum
    off = Call("momentum_step", (w, dw), {"training": False}, w + dw)
    assert not any("momentum" in hint for hint in _hints(off))
    right = Call("momentum_step", (w, dw), {}, momentum_step(w, dw))
    assert _hints(right) == []


def test_an_array_used_where_another_belongs_is_named():
    rng = np.random.default_rng(5)
    mean, running_mean, running_var = rng.random(3), rng.random(3), rng.random(3) + 1.0
    new_mean, _ = running_update(mean, running_mean, running_var)
    _, slip = running_update(mean, running_mean, running_mean)  # the copy-paste slip
    call = Call("running_update", (mean, running_mean, running_var), {}, (new_mean, slip))
    (hint,) = _hints(call)
    assert hint == (
        "your new_var is what running_update returns with running_mean instead of "
        "running_var: check which array you use where running_var belongs"
    )


def scaled_shift(x, params):
    """``params["gamma"] * x + params["beta"]``."""
    return params["gamma"] * x + params["beta"]


REFERENCE.scaled_shift = scaled_shift


def test_a_parameter_used_where_another_of_its_dict_belongs_is_named():
    rng = np.random.default_rng(8)
    x, params = rng.standard_normal((3, 4)), {"gamma": rng.random(4), "beta": rng.random(4)}
    slip = scaled_shift(x, {"gamma": params["gamma"], "beta": params["gamma"]})
    (hint,) = _hints(Call("scaled_shift", (x, params), {}, slip))
    assert hint == (
        "your result is what scaled_shift returns with params['gamma'] instead of "
        "params['beta']: check which array you use where params['beta'] belongs"
    )


def test_wrong_values_of_an_option():
    assert wrong_values(True, False) == [False]
    assert wrong_values(1e-5, 1e-5) == [0.0, 1.0]
    assert wrong_values(0.3, 0.9) == [0.9, 0.0, 1.0]
    assert wrong_values(2, 1) == [1, 0]
    assert wrong_values("fan_in", "fan_in") == []
    assert wrong_values(None, None) == []


def test_a_mistake_another_test_refutes_is_not_named():
    from autograder.core.results import TestResult
    from autograder.suite.feedback import FailureFeedback, name_hints
    from autograder.suite.hints import gather

    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((4, 6)) * 0.01, rng.standard_normal((4, 6)) * 0.01
    # test a: the result happens to be the one with eps=0; test b: where eps=0 would show,
    # the submission was right (and failed for another call's reason)
    fitting = Call("normalize", (x,), {"eps": 1e-3}, normalize(x, eps=0.0))
    right = Call("normalize", (y,), {"eps": 1e-3}, normalize(y, eps=1e-3))
    other = Call("normalize", (y,), {"center": False}, normalize(y) + 1.0)
    feedback = {
        "a": FailureFeedback("a failed", "", gather(REFERENCE, [fitting])),
        "b": FailureFeedback("b failed", "", gather(REFERENCE, [right, other])),
    }
    results = {name: TestResult(name, 0.0, 1.0, "failed") for name in feedback}
    feedback["a"].apply(results["a"])
    assert "eps=0.0" in results["a"].output  # on its own evidence
    name_hints(results, feedback)
    assert "eps=0.0" not in results["a"].output
    assert results["a"].output.startswith("a failed")


def test_a_mistake_made_on_one_path_only_stays_named():
    from autograder.core.results import TestResult
    from autograder.suite.feedback import FailureFeedback, name_hints
    from autograder.suite.hints import gather

    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 6)) * 0.01, rng.standard_normal((4, 6)) * 0.01
    # eps is left out without centering only: the centered calls of another test were right
    fitting = Call("normalize", (x,), {"eps": 1e-3, "center": False}, normalize(x, 0.0, False))
    centered = Call("normalize", (y,), {"eps": 1e-3}, normalize(y, eps=1e-3))
    other = Call("normalize", (y,), {"eps": 1e-3}, normalize(y, eps=1e-3) + 1.0)
    feedback = {
        "a": FailureFeedback("a failed", "", gather(REFERENCE, [fitting])),
        "b": FailureFeedback("b failed", "", gather(REFERENCE, [centered, other])),
    }
    results = {name: TestResult(name, 0.0, 1.0, "failed") for name in feedback}
    name_hints(results, feedback)
    assert "eps=0.0" in results["a"].output


def test_another_test_refutes_a_mistake_on_calls_that_differ_only_in_sizes_and_rates():
    from autograder.core.results import TestResult
    from autograder.suite.feedback import FailureFeedback, name_hints
    from autograder.suite.hints import gather, path_key

    rng = np.random.default_rng(8)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    # test a: the step happens to be the one with momentum=0; test b: the same branch (another
    # learning rate), where momentum=0 would show, was right
    fitting = Call("momentum_step", (w, dw), {"lr": 0.1}, momentum_step(w, dw, 0.1, 0.0))
    right = Call("momentum_step", (w, dw), {"lr": 0.05}, momentum_step(w, dw, 0.05))
    other = Call("momentum_step", (w, dw), {"lr": 0.05}, momentum_step(w, dw, 0.05) + 1.0)
    feedback = {
        "a": FailureFeedback("a failed", "", gather(REFERENCE, [fitting])),
        "b": FailureFeedback("b failed", "", gather(REFERENCE, [right, other])),
    }
    results = {name: TestResult(name, 0.0, 1.0, "failed") for name in feedback}
    feedback["a"].apply(results["a"])
    assert "momentum=0" in results["a"].output  # on its own evidence
    name_hints(results, feedback)
    assert "momentum=0" not in results["a"].output
    # a branch tests a flag, a mode or a number's sign, not its size
    assert path_key({"lr": 0.1, "n": 3}, ()) == path_key({"lr": 0.05, "n": 7}, ())
    assert path_key({"p": 0.0}, ()) != path_key({"p": 0.5}, ())
    assert path_key({"ratio": -1}, ()) != path_key({"ratio": 2}, ())
    assert path_key({"size": (1, 2)}, ()) == path_key({"size": 4}, ())
    assert path_key({"mode": "fan_in"}, ()) != path_key({"mode": "fan_out"}, ())
    assert path_key({"x": np.ones((2, 3))}, ()) == path_key({"x": np.ones((4, 5))}, ())
    assert path_key({"x": np.ones((2, 3))}, ()) != path_key({"x": np.ones((2, 3, 4, 4))}, ())


def test_a_pair_option_read_as_one_number_or_swapped_is_named():
    from autograder.suite.option_mistakes import wrong_values

    assert wrong_values((2, 3), 1) == [(2, 2), (3, 3), (3, 2)]
    assert wrong_values((2, 2), 1) == []  # a square pair: nothing to swap, and 2 is 2


def test_a_pair_read_as_its_first_number_is_said_so():
    from autograder.suite.option_mistakes import _pair_words

    assert _pair_words((2, 3), (2, 2)) == " (its first number for both axes)"
    assert _pair_words((2, 3), (3, 2)) == " (its numbers swapped)"
    assert _pair_words(2, 1) == ""


def test_a_sibling_functions_result_is_named():
    """Group norm's backward that computes instance norm's (a sibling's code copied)."""
    from solutions import normalization

    rng = np.random.default_rng(0)
    x, gamma = rng.standard_normal((2, 6, 3, 3)), rng.standard_normal(6)
    dout = rng.standard_normal(x.shape)
    wrong = normalization.instancenorm_backward(dout, x, gamma)
    hints = diagnose(normalization, [Call("groupnorm_backward", (dout, x, 2, gamma), {}, wrong)])
    assert any(
        "are what instancenorm_backward returns with this call's arguments" in h for h in hints
    )
    right = normalization.groupnorm_backward(dout, x, 6, gamma)  # 6 groups of 1: instance norm
    assert (
        diagnose(normalization, [Call("groupnorm_backward", (dout, x, 6, gamma), {}, right)]) == []
    )
