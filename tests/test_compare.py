"""The comparison that decides every graded test: type, shape, dtype, tolerance, messages."""

import re

import numpy as np
import pytest

from autograder.suite.compare import (
    ComparisonError,
    assert_close,
    assert_scalar_close,
    assert_tuple_of_ints,
)
from autograder.suite.gradcheck import assert_gradient_close


def test_identical_arrays_pass():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    assert_close(x.copy(), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_error_just_inside_tolerance_passes_and_outside_fails(dtype):
    expected = np.ones((4, 4), dtype=dtype)
    tolerance = 1e-10 + 1e-10 if dtype == np.float64 else 1e-5 + 1e-4
    inside = expected + np.asarray(0.5 * tolerance, dtype=dtype)
    outside = expected + np.asarray(4 * tolerance, dtype=dtype)
    assert_close(inside, expected)
    with pytest.raises(AssertionError, match="differ beyond tolerance"):
        assert_close(outside, expected)


def test_near_zero_outputs_use_the_scale_of_the_whole_array():
    expected = np.array([1000.0, 1e-12])
    actual = np.array([1000.0, 2e-12])  # elementwise relative error 100%, scale-relative 1e-15
    assert_close(actual, expected)


def test_wrong_shape_names_both_shapes():
    with pytest.raises(AssertionError, match=r"expected shape \(2, 3\), got shape \(3, 2\)"):
        assert_close(np.zeros((3, 2)), np.zeros((2, 3)), name="out")


def test_wrong_dtype_is_a_failure_even_when_values_match():
    with pytest.raises(AssertionError, match="expected dtype float32, got dtype float64"):
        assert_close(np.zeros(3), np.zeros(3, dtype=np.float32))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize(
    "impostor",
    [[0.0, 0.0, 0.0], 0.0, np.zeros(3).view(np.ma.MaskedArray), np.zeros(3).view(np.matrix)],
    ids=["list", "scalar", "ndarray-subclass", "matrix"],
)
def test_anything_but_an_exact_ndarray_fails(impostor):
    with pytest.raises(AssertionError, match=r"expected a numpy\.ndarray"):
        assert_close(impostor, np.zeros(3))


def test_message_locates_the_first_mismatch_and_counts_them():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 1.0
    actual[1, 0] = 0.5
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, name="dx")
    message = str(info.value)
    assert message.startswith("dx: 2 of 6 elements differ")
    assert "first mismatch at index (1, 0)" in message
    assert "max abs error 1.000e+00" in message


def test_nan_in_the_answer_is_reported_as_such():
    actual = np.array([1.0, np.nan])
    with pytest.raises(AssertionError, match="NaN or inf; first at index \\(1,\\)"):
        assert_close(actual, np.array([1.0, 2.0]))


def test_matching_infinities_and_nans_in_the_expected_output_pass():
    expected = np.array([-np.inf, np.nan, 1.0])
    assert_close(expected.copy(), expected)


@pytest.mark.parametrize("right", [np.nan, np.inf, -np.inf])
def test_a_finite_number_where_the_right_value_is_not_finite_fails(right):
    # (a finite number's error there is NaN or inf, which compares false with any bound)
    expected = np.array([1.0, right, 3.0])
    with pytest.raises(AssertionError, match="1 of 3 elements differ"):
        assert_close(np.array([1.0, 2.0, 3.0]), expected)
    if np.isinf(right):  # the infinity of the other sign is wrong too
        with pytest.raises(AssertionError):
            assert_close(np.array([1.0, -right, 3.0]), expected)


def test_integer_arrays_must_match_exactly():
    expected = np.array([[0, 5], [7, 3]], dtype=np.int64)
    assert_close(expected.copy(), expected)
    wrong = expected.copy()
    wrong[1, 1] = 2
    with pytest.raises(AssertionError, match=r"1 of 4 elements differ; first at index \(1, 1\)"):
        assert_close(wrong, expected, name="switches")


def test_tolerance_override():
    expected = np.ones(3)
    actual = expected + 1e-7
    with pytest.raises(AssertionError):
        assert_close(actual, expected)
    assert_close(actual, expected, rtol=1e-6, atol_scale=1e-6)


PLANTED = 7.3205080757  # a distinctive expected value: its digits must not be in redacted text


def _comparison_error(check, *args, **kwargs):
    with pytest.raises(ComparisonError) as caught:
        check(*args, **kwargs)
    return caught.value


def _assert_redacted(error, *named):
    assert "7.32" not in error.redacted and "73205" not in error.redacted, error.redacted
    assert "7.32" in error.full  # the full message (str) is today's, with the expected value
    assert str(error) == error.full
    for part in named:
        assert part in error.redacted, (part, error.redacted)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_redacted_message_names_shape_dtype_index_and_errors_but_no_expected_value(dtype):
    expected = np.full((2, 3), PLANTED, dtype=dtype)
    actual = expected.copy()
    actual[1, 2] = 1.5
    error = _comparison_error(assert_close, actual, expected, name="dx")
    dtype_name = np.dtype(dtype).name
    _assert_redacted(
        error,
        f"dx ({dtype_name}, shape (2, 3))",
        "1 of 6 elements differ",
        "index (1, 2)",
        "yours is 1.5",
        "error 5.8e+00",
        "allowed ",
        "max abs error 5.8e+00",
    )


def test_redacted_messages_of_exact_and_non_finite_comparisons():
    error = _comparison_error(assert_close, np.array([7, 4]), np.array([7, 73205]), name="switches")
    assert "73205" not in error.redacted and "73205" in error.full
    assert "switches (int64, shape (2,)): 1 of 2 elements differ" in error.redacted
    assert "first at index (1,), where yours is 4" in error.redacted
    expected = np.full(3, PLANTED)
    error = _comparison_error(assert_close, np.array([1.0, np.nan, 2.0]), expected)
    assert "1 of 3 elements are NaN or inf; first at index (1,)" in error.redacted


def test_redacted_scalar_messages():
    error = _comparison_error(assert_scalar_close, np.float64(1.5), np.float64(PLANTED))
    _assert_redacted(error, "loss (float64): yours is 1.5", "error 5.8e+00", "allowed 1.5e-09")
    error = _comparison_error(assert_scalar_close, np.float32(np.inf), np.float32(PLANTED))
    _assert_redacted(error, "got inf (NaN or inf)")
    error = _comparison_error(assert_scalar_close, np.int64(3), np.int64(73205))
    assert "73205" not in error.redacted and "yours is 3" in error.redacted


def test_shape_and_dtype_mismatches_hold_no_value_and_are_not_redacted():
    error = _comparison_error(assert_close, np.zeros((3, 2)), np.full((2, 3), PLANTED))
    assert error.redacted == error.full == "output: expected shape (2, 3), got shape (3, 2)"


def test_gradient_check_redacts_the_numeric_gradient():
    x = np.linspace(0.5, 2.0, 6).reshape(2, 3)
    dout = np.ones_like(x)
    wrong = np.full_like(x, 1.5)  # the gradient of 7.3205080757 * x is 7.3205080757
    error = _comparison_error(
        assert_gradient_close, wrong, lambda v: PLANTED * v, x, dout, name="dx"
    )
    assert "numeric 7.32" in error.full
    _assert_redacted(error, "first at dx[(0, 0)], where yours is 1.5")


def test_a_tuple_of_ints_is_a_tuple_of_ints_of_its_length():
    assert_tuple_of_ints((3, np.int64(4)), "shape")
    assert_tuple_of_ints((3, 4), "jump", 2)
    for value, words in [
        ([3, 4], "must be a tuple of two ints, got list"),
        ((3, 4, 5), "got (3, 4, 5)"),
        ((3, True), "got (3, True)"),
        ((3.0, 4), "got (3.0, 4)"),
    ]:
        with pytest.raises(AssertionError, match=re.escape(words)):
            assert_tuple_of_ints(value, "jump", 2)
