"""Numeric gradients against gradients known in closed form, and gradient checks of student
functions (their calls made as one batch)."""

import sys

import numpy as np
import pytest

from autograder.sandbox import Sandbox
from autograder.suite.gradcheck import assert_gradient_close, numeric_gradient
from autograder.suite.in_process import InProcessFunctions
from autograder.suite.student import SandboxedFunctions, map_batched


def test_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    dout = np.array(1.0)
    numeric = numeric_gradient(lambda z: z @ a @ z, x, dout)
    np.testing.assert_allclose(numeric, (a + a.T) @ x, rtol=1e-7, atol=1e-8)


def test_upstream_gradient_weights_each_output():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    numeric = numeric_gradient(np.sin, x, dout)
    np.testing.assert_allclose(numeric, np.cos(x) * dout, rtol=1e-7, atol=1e-8)


def test_the_input_is_never_modified():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z is x)
        z += 1.0  # a careless function that modifies its argument
        return z

    numeric_gradient(f, x, np.ones((2, 3)))
    np.testing.assert_array_equal(x, before)
    assert not any(seen)


def test_sampled_check_passes_a_right_gradient_and_names_a_wrong_position():
    from autograder.suite.gradcheck import assert_gradient_close

    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 7))
    dout = rng.standard_normal((5, 7))
    right = np.cos(x) * dout
    assert_gradient_close(right, np.sin, x, dout, name="dx", samples=10)
    wrong = right.copy()
    wrong[-1, -1] += 1.0  # the last element is always checked
    with pytest.raises(AssertionError, match=r"first at dx\[\(4, 6\)\]"):
        assert_gradient_close(wrong, np.sin, x, dout, name="dx", samples=10)
    with pytest.raises(AssertionError, match="expected dtype float64"):
        assert_gradient_close(right.astype(np.float32), np.sin, x, dout, name="dx")


def test_sampled_check_calls_the_function_twice_per_sampled_position_and_once_at_x():
    from autograder.suite.gradcheck import assert_gradient_close

    calls = []
    x = np.linspace(0, 1, 100)

    def f(z):
        calls.append(1)
        return z**2

    assert_gradient_close(2 * x, f, x, np.ones(100), samples=12)
    assert len(calls) == 1 + 24  # L(x), for the kink test, and L(x +- h e_i)


# ------------------------------------------------------------------ student functions, batched

STUDENT = """
import numpy as np


def scale(x, w, power=2):
    return w * x**power


def picky(x, w):
    if x.flat[-1] > 100:
        raise ValueError("too big")
    return w * x


def pair(x):
    return (x**3, x.shape)
"""


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradcheck") / "sub"
    folder.mkdir()
    (folder / "gradmod.py").write_text(STUDENT)
    return folder


@pytest.fixture(scope="module")
def sandbox(student_folder):
    with Sandbox(student_folder, ("gradmod.py",), "gradmod") as box:
        yield box


@pytest.fixture(params=["sandboxed", "in-process"])
def student(request, student_folder, sandbox):
    calls = []
    if request.param == "sandboxed":
        sandbox.reset()
        functions = SandboxedFunctions(sandbox, calls)
    else:
        functions = InProcessFunctions(student_folder, "gradmod", calls)
    yield functions, calls
    sys.modules.pop("gradmod", None)
    if str(student_folder) in sys.path:
        sys.path.remove(str(student_folder))


@pytest.fixture
def round_trips(monkeypatch):
    """How many requests the sandbox got: single calls and batches (with their lengths)."""
    seen = {"call": 0, "batches": []}
    call, call_many = Sandbox.call, Sandbox.call_many

    def counted_call(self, *args, **kwargs):
        seen["call"] += 1
        return call(self, *args, **kwargs)

    def counted_many(self, function, calls, *args, **kwargs):
        seen["batches"].append(len(calls))
        return call_many(self, function, calls, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "call", counted_call)
    monkeypatch.setattr(Sandbox, "call_many", counted_many)
    return seen


def test_a_gradient_check_of_a_student_function_is_one_batch(student, round_trips):
    from autograder.suite.gradcheck import assert_gradient_close

    functions, calls = student
    rng = np.random.default_rng(3)
    x, w, dout = (rng.standard_normal((3, 4)) for _ in range(3))
    right = 2 * w * x * dout
    assert_gradient_close(right, lambda v: functions.scale(v, w, power=2), x, dout, samples=6)
    with pytest.raises(AssertionError, match=r"first at dx\[\(0, 0\)\]"):
        assert_gradient_close(w * x * dout, lambda v: functions.scale(v, w), x, dout, name="dx")
    if isinstance(functions, SandboxedFunctions):
        assert round_trips == {"call": 0, "batches": [13, 25]}  # with L(x) in each batch
    assert [c.function for c in calls] == ["scale"] * 38  # each call recorded, for hints
    assert all(c.kwargs == {"power": 2} for c in calls[:13])


def test_batched_numbers_equal_the_plain_loops(student):
    functions, _ = student
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    dout = rng.standard_normal((2, 5))
    batched = numeric_gradient(lambda v: functions.pair(v * w)[0], x, dout)
    plain = numeric_gradient(lambda v: (v * w) ** 3, x, dout)
    np.testing.assert_array_equal(batched, plain)
    points = [x + i for i in range(5)]
    assert map_batched(lambda v: functions.scale(v, w)[0, 0], points) == [
        functions.scale(p, w)[0, 0] for p in points
    ]


def test_a_failure_in_the_middle_of_a_batch_fails_that_call(student, round_trips):
    from autograder.suite.gradcheck import assert_gradient_close

    functions, calls = student
    x = np.zeros((2, 3))
    x[-1, -1] = 100 - 1e-7  # only x + h e_last (the last position checked) is too big
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match="too big"):
        assert_gradient_close(w, lambda v: functions.picky(v, w), x, w)
    assert len(calls) == 1 + 2 * 5  # L(x), then the 5 positions before it, each x +- h e_i
    if isinstance(functions, SandboxedFunctions):
        assert round_trips == {"call": 0, "batches": [13]}
        assert functions.scale(x, w).shape == (2, 3)  # the worker goes on


def test_functions_that_cannot_be_batched_still_get_the_right_numbers(student, round_trips):
    functions, _ = student
    rng = np.random.default_rng(5)
    x, w, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4)
    expected = 2 * w * x * dout
    counter = iter(range(10**6))

    def twice(v):  # two student calls per point: the second is made on its own
        return functions.scale(v, w) + 0 * functions.scale(v, w)

    def other_arguments(v):  # replayed with other arguments (2.0, not 2): made on their own
        return functions.scale(v, w, power=2 if next(counter) < 8 else 2.0)

    def swallows(v):  # catches everything, even what ends it while recording
        try:
            return functions.scale(v, w)
        except BaseException:
            return np.zeros(4)

    class Power(int):
        pass

    def not_plain_data(v):
        return functions.scale(v, w, power=Power(2))

    # 8 points (4 positions, + and -): (batched calls, calls made on their own)
    cases = {twice: ([8], 1 + 7 * 2), other_arguments: ([8], 8), swallows: ([], 8)}
    if isinstance(functions, InProcessFunctions):  # an int subclass is no wire value
        cases[not_plain_data] = ([], 8)
    for f, (batches, alone) in cases.items():
        round_trips.update(call=0, batches=[])
        np.testing.assert_allclose(numeric_gradient(f, x, dout), expected, rtol=1e-6)
        if isinstance(functions, SandboxedFunctions):
            assert round_trips == {"call": alone, "batches": batches}, f.__name__


def _leaky_relu(v):
    return np.where(v > 0, v, 0.01 * v)


def test_a_position_on_a_kink_is_not_held_against_a_correct_gradient():
    # x[1] sits within h of the kink: its central difference is neither slope.
    x = np.array([0.7, -4e-7, -1.3, 2.1, -0.4, 0.9])
    dout = np.linspace(-1, 1, x.size)
    analytic = np.where(x > 0, 1.0, 0.01) * dout
    assert_gradient_close(analytic, _leaky_relu, x, dout, samples=None)
    wrong = analytic.copy()
    wrong[0] *= 2
    with pytest.raises(AssertionError, match=r"dx\[\(0,\)\]|gradient\[\(0,\)\]"):
        assert_gradient_close(wrong, _leaky_relu, x, dout, samples=None)


def test_a_forward_that_is_kinked_everywhere_fails():
    x = np.linspace(-1, 1, 12)
    dout = np.ones_like(x)
    with pytest.raises(AssertionError, match="changes its slope abruptly"):
        assert_gradient_close(np.zeros_like(x), lambda v: np.abs(np.sin(v * 1e7)), x, dout)


def test_a_kink_at_one_of_two_positions_is_measured_again_with_a_smaller_step():
    x = np.array([0.5, -4e-7])  # within h of the kink: 1 of 2 positions, over the kink share
    dout = np.array([1.0, -2.0])
    assert_gradient_close(np.array([1.0, -0.02]), _leaky_relu, x, dout, samples=None)
    with pytest.raises(AssertionError, match=r"gradient\[\(1,\)\]"):
        assert_gradient_close(np.array([1.0, -1.0]), _leaky_relu, x, dout, samples=None)
