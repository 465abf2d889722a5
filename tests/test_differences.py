"""Findings about the difference between a wrong result and the right one.

Each finding is checked with a mistake that produces it, and against results that must not get
it: the right result, the right result within rounding, and an unrelated wrong one.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.differences import describe_difference, find_differences


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def _one(found: list[str], words: str) -> str:
    matching = [f for f in found if words in f]
    assert matching, found
    return matching[0]


def test_a_right_result_gets_no_finding(rng):
    expected = rng.standard_normal((2, 3, 6, 6))
    assert describe_difference(expected.copy(), expected, {"x": expected}) == []
    rounded = expected * (1 + 1e-13 * rng.standard_normal(expected.shape))
    assert describe_difference(rounded, expected, {"x": expected}) == []


@pytest.mark.parametrize("shape", [(8, 5), (2, 3, 6, 6), (7,)])
def test_an_unrelated_wrong_result_gets_no_finding(rng, shape):
    expected = rng.standard_normal(shape)
    wrong = expected + rng.standard_normal(shape)
    assert describe_difference(wrong, expected, {"x": rng.standard_normal(shape)}) == []


def test_a_factor_equal_to_the_batch_size_is_named(rng):
    scores = rng.standard_normal((8, 5))
    expected = rng.standard_normal((8, 5))
    found = describe_difference(expected * 8, expected, {"scores": scores})
    assert "times 8 (= the batch size, scores.shape[0]), everywhere" in _one(found, "times")
    arguments = {"scores": scores, "dout": expected}  # two arrays of the same batch
    found = describe_difference(expected / 8, expected, arguments)
    assert "times 1/8 (= 1 / the batch size, scores.shape[0])" in _one(found, "times")
    square = rng.standard_normal((8, 8))  # 8 is its shape[0] and its shape[1]: both named
    found = describe_difference(expected / 8, expected, {"scores": square})
    assert (
        "times 1/8 (= 1 / scores.shape[0], or 1 / scores.shape[1]: the call cannot tell them "
        "apart), everywhere"
    ) in _one(found, "times")
    same = {"pred": rng.standard_normal((3, 8)), "target": rng.standard_normal((3, 8))}
    found = describe_difference(expected * 24, expected, same)  # pred.size, and target's
    assert "times 24 (= pred.size), everywhere" in _one(found, "times")


@pytest.mark.parametrize(
    ("arguments", "factor", "words"),
    [
        ({"p": 0.25}, 4 / 3, "4/3 (= 1 / (1 - p))"),
        ({"T": 3.0}, 9.0, "9 (= T**2)"),
        ({}, 2.0, "2"),
        ({"eps": 0.5}, 4.0, "4"),  # eps names no factor: a match would be a coincidence
    ],
)
def test_factors_from_the_calls_scalars_are_named(rng, arguments, factor, words):
    expected = rng.standard_normal((4, 6))
    found = describe_difference(expected * factor, expected, arguments)
    assert f"times {words}, everywhere" in _one(found, "times")


def test_an_unnamed_constant_factor_is_still_said(rng):
    expected = rng.standard_normal((4, 6))
    found = describe_difference(expected * 1.37, expected, {})
    assert "times the same constant everywhere" in _one(found, "times")


def test_the_opposite_sign_is_named(rng):
    expected = rng.standard_normal((4, 6))
    assert "opposite sign" in _one(describe_difference(-expected, expected, {}), "sign")


def test_a_constant_offset_is_named(rng):
    expected = rng.standard_normal((4, 6))
    found = describe_difference(expected + 0.5, expected, {})
    assert "off by the same constant at every element" in _one(found, "constant")


def test_errors_on_the_border_only_point_at_padding(rng):
    expected = rng.standard_normal((2, 3, 7, 7))
    wrong = expected.copy()
    wrong[:, :, 0, :] += 1.0
    wrong[:, :, :, -1] -= 2.0
    found = describe_difference(wrong, expected, {"padding": 1})
    assert "all within 1 pixel of the border, the inside is right: check the padding" in found[0]
    assert describe_difference(wrong, expected, {})[0].endswith("the inside is right")
    inside = expected.copy()
    inside[:, :, 3, 3] += 1.0
    assert not [f for f in describe_difference(inside, expected, {}) if "border" in f]


def test_errors_at_every_second_row_point_at_the_stride(rng):
    expected = rng.standard_normal((2, 2, 8, 8))
    wrong = expected.copy()
    wrong[:, :, ::2, :] += rng.standard_normal(wrong[:, :, ::2, :].shape)
    found = describe_difference(wrong, expected, {"stride": 2})
    assert found[0].endswith(
        "only at every 2nd position along axis 2 (those at 0 mod 2): check the stride"
    )
    assert "check" not in _one(describe_difference(wrong, expected, {}), "every 2nd")


def test_errors_in_some_channels_only_are_located(rng):
    expected = rng.standard_normal((2, 6, 5, 5))
    wrong = expected.copy()
    wrong[:, 3:] += rng.standard_normal(wrong[:, 3:].shape)  # the second of two groups
    found = describe_difference(wrong, expected, {})
    assert "only in 3 of the 6 channels (axis 1): 3, 4, 5" in _one(found, "channels")
    scattered = expected.copy()
    scattered[:, [1, 4]] += 1.0  # channels apart from each other: no group to name
    assert not [f for f in describe_difference(scattered, expected, {}) if "channels" in f]


def test_errors_in_some_examples_only_are_located(rng):
    expected = rng.standard_normal((5, 6))
    wrong = expected.copy()
    wrong[0] += 1.0 + rng.random(6)
    found = describe_difference(wrong, expected, {})
    assert "only in 1 of the 5 entries along axis 0: 0" in _one(found, "axis 0")
    sparse = expected.copy()
    sparse[0, 2] += 1.0  # one wrong element: no pattern of rows
    assert not [f for f in describe_difference(sparse, expected, {}) if "axis 0" in f]
    some = expected.copy()
    some[0, :4] += 1.0  # 4 of a row's 6: too few to be more than the inputs' coincidence
    assert not [f for f in describe_difference(some, expected, {}) if "axis 0" in f]


def test_errors_in_the_boxes_of_other_images_point_at_the_index(rng):
    boxes = np.column_stack([[0, 1, 0, 2, 0, 1], rng.uniform(0, 8, (6, 4))])
    expected = rng.standard_normal((6, 3, 2, 2))
    wrong = expected.copy()
    wrong[boxes[:, 0] != 0] = rng.standard_normal((3, 3, 2, 2))  # read from image 0
    found = describe_difference(
        wrong, expected, {"x": rng.standard_normal((3, 3, 8, 8)), "boxes": boxes}
    )
    assert "whose boxes[:, 0] is not 0; those with boxes[:, 0] == 0 are right" in _one(
        found, "boxes"
    )
    unrelated = expected.copy()
    unrelated[[1, 2, 4]] += 1.0  # wrong entries that no column of boxes tells apart
    assert not [
        f for f in describe_difference(unrelated, expected, {"boxes": boxes}) if "boxes" in f
    ]


def test_zeros_of_a_weight_shaped_like_the_result_locate_nothing(rng):
    expected = rng.standard_normal((2, 3, 4, 4))
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 4, 4))
    w[:, :, :2] = 0.0
    wrong = expected.copy()
    wrong[:, :, :2] += 1.0  # wrong where w is 0, by the inputs' coincidence
    found = describe_difference(wrong, expected, {"x": x, "b": None, "w": w})
    assert not [f for f in found if "exactly 0" in f]
    found = describe_difference(wrong, expected, {"dout": w, "x": x})
    assert "all where dout is exactly 0" in _one(found, "exactly 0")


def test_values_shifted_by_one_pixel_are_named(rng):
    expected = rng.standard_normal((1, 2, 6, 6))
    shifted = np.roll(expected, 1, axis=3)
    found = describe_difference(shifted, expected, {})
    assert "shifted by one position forward along axis 3" in _one(found, "shifted")
    constant_rows = np.ones((1, 1, 6, 6)) * np.arange(6.0)[:, None]  # shifting rows: no change
    wrong = constant_rows.copy()
    wrong[..., 0] += 1.0
    assert not [f for f in describe_difference(wrong, constant_rows, {}) if "axis 3" in f]


def test_values_in_permuted_axes_are_named(rng):
    expected = rng.standard_normal((2, 3, 4))
    found = describe_difference(expected.transpose(0, 2, 1).copy(), expected, {})
    assert "axes in the order (0, 2, 1)" in _one(found, "axes")


def test_the_gradient_of_another_input_is_named(rng):
    dx, dw = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    found = describe_difference((dw.copy(), dw.copy()), (dx, dw), {})
    assert "your result[0] holds what your result[1] should be" in found


def test_items_swapped_are_named_whatever_their_shapes_and_in_dicts(rng):
    dx, dw, db = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.random(4)
    found = find_differences((dw, dx, db), (dx, dw, db), {}, names=("dx", "dw", "db"))
    assert [f.text for f in found] == [
        "your dx and your dw are swapped: each holds what the other should be"
    ]
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    found = describe_difference(
        (dx, {"gamma": beta, "beta": gamma}), (dx, {"gamma": gamma, "beta": beta}), {}
    )
    assert found == [
        "your result[1]['gamma'] and your result[1]['beta'] are swapped: each holds what the "
        "other should be"
    ]
    found = describe_difference((dw, dw), (dx, dw), {})  # one item holds the other's
    assert found == ["your result[0] holds what your result[1] should be"]


def test_a_result_in_another_dtype_is_named(rng):
    expected = rng.standard_normal((3, 4)).astype(np.float32)
    found = describe_difference(expected.astype(np.float64), expected, {})
    assert "your result is float64 where the right one is float32" in _one(found, "dtype")
    found = describe_difference(expected.astype(np.float64), expected, {"x": expected})
    assert "return arrays in the dtype of the inputs" in _one(found, "dtype")


def test_a_dtype_the_inputs_do_not_have_is_not_blamed_on_them():
    """Labels made int64 from int32 ones: the advice is the documented dtype, not the inputs'."""
    y = np.array([5, 7, 9], dtype=np.int32)
    found = describe_difference((y - 5).astype(np.int32), (y - 5).astype(np.int64), {"y": y})
    text = _one(found, "dtype")
    assert "int32 where the right one is int64" in text
    assert "dtype of the inputs" not in text and "whatever the inputs' dtype" in text


def test_nan_where_the_right_result_is_finite_is_located(rng):
    expected = rng.standard_normal((3, 4))
    wrong = expected.copy()
    wrong[1, 2] = np.nan
    wrong[2, 0] = np.inf
    found = describe_difference(wrong, expected, {})
    assert "holds NaN and inf in 2 of 12 elements (the first at index (1, 2))" in found[0]


def test_errors_only_where_an_input_is_zero_are_located(rng):
    x = rng.standard_normal(10)
    x[[2, 7]] = 0.0
    expected = np.where(x > 0, 1.0, 0.0)
    wrong = np.where(x >= 0, 1.0, 0.0)
    found = describe_difference(wrong, expected, {"x": x})
    assert "2 of 10 elements are wrong, all where x is exactly 0" in _one(found, "exactly 0")


def test_lost_float32_digits_are_named_conditionally(rng):
    expected = rng.standard_normal((50, 50)).astype(np.float32)
    wrong = (expected * (1 + 3e-4 * rng.standard_normal(expected.shape))).astype(np.float32)
    found = describe_difference(wrong, expected, {})
    assert "if your formula is right, digits are lost" in _one(found, "float32")
    as64 = expected.astype(np.float64)
    assert not [
        f for f in describe_difference(wrong.astype(np.float64), as64, {}) if "float32" in f
    ]


def test_a_factor_equal_to_the_learning_rate_or_the_temperature_is_named(rng):
    expected = rng.standard_normal((4, 5))
    found = describe_difference(expected / 10, expected, {"lr": 0.1})
    assert "times 1/10 (= lr), everywhere" in _one(found, "times")
    found = describe_difference(expected * 3, expected, {"temperature": 3.0})
    assert "times 3 (= temperature), everywhere" in _one(found, "times")


def test_an_average_read_the_other_way_round_and_a_windows_sum_are_named(rng):
    expected = rng.standard_normal((6, 5))
    found = describe_difference(99 * expected, expected, {"alpha": 0.99})
    assert "times 99 (= alpha / (1 - alpha))" in _one(found, "times 99")
    found = describe_difference(expected / 9, expected, {"beta2": 0.9})
    assert "(= (1 - beta2) / beta2)" in _one(found, "times 1/9")
    # an RMS of the average read the other way round is off by its square root
    found = describe_difference(expected / 3, expected, {"alpha": 0.9})
    assert "times 1/3 (= sqrt((1 - alpha) / alpha))" in _one(found, "times 1/3")
    assert "sqrt" not in _one(describe_difference(expected / 3, expected, {"alpha": 0.5}), "1/3")
    found = describe_difference(4 * expected, expected, {"kernel_size": (2, 2)})
    assert "the 2 * 2 values of each window or bin (kernel_size): a sum where" in found[0]
    assert "(=" not in _one(describe_difference(7 * expected, expected, {"alpha": 0.99}), "7")


def test_values_transposed_or_mirrored_are_named(rng):
    expected = rng.standard_normal((4, 3, 3, 3))
    found = describe_difference(np.swapaxes(expected, -1, -2).copy(), expected, {})
    assert "holds the right values its last two axes swapped" in _one(found, "transposed")
    assert "border" not in " ".join(found)  # a 3 x 3 kernel has no border to speak of
    wide = rng.standard_normal((2, 5, 7))
    found = describe_difference(wide[..., ::-1].copy(), wide, {})
    assert "mirrored left to right" in _one(found, "mirrored")
    symmetric = np.ones((2, 4, 4)) * np.arange(4.0)  # constant along axis -2
    symmetric = symmetric + symmetric.swapaxes(-1, -2)
    wrong = symmetric + 1.0
    assert not [f for f in describe_difference(wrong, symmetric, {}) if "transposed" in f]


def test_one_entry_repeated_for_the_batch_and_another_shape_are_named(rng):
    expected = rng.random((4, 6)) >= 0.5
    shared = np.broadcast_to(expected[:1], expected.shape).copy()
    found = describe_difference(shared, expected, {})
    assert "the same in each of its 4 entries along axis 0" in _one(found, "entries")
    assert describe_difference(np.zeros((4, 6)), rng.standard_normal((4, 6)), {}) == []
    right = rng.standard_normal((2, 4, 6, 6))
    found = describe_difference(right[:, :, :5, :5].copy(), right, {})
    assert "has shape (2, 4, 5, 5) where the right one has (2, 4, 6, 6): 1 smaller" in found[0]
    flat = describe_difference(right.ravel().copy()[::-1], right, {})
    assert "as many values, in another shape" in flat[0]


def test_a_scalar_off_by_a_quantity_of_the_call_is_named(rng):
    logits = rng.standard_normal((8, 5))
    found = describe_difference(8 * 0.731, 0.731, {"logits": logits}, what="your loss")
    assert "your loss is the right one times 8 (= the batch size" in found[0] or (
        "(= logits.shape[0])" in found[0]
    )
    assert describe_difference(7.0 * 0.731, 0.731, {"logits": logits}) == []


def test_a_gradient_left_per_example_is_named_by_its_missing_sum(rng):
    per_example = rng.standard_normal((4, 3))
    found = describe_difference(per_example, per_example.sum(axis=0), {})
    assert "your values summed over axis 0 are the right ones" in found[0]
    other = rng.standard_normal((4, 3))
    assert "summed" not in " ".join(describe_difference(other, per_example.sum(axis=0), {}))


def test_a_reduction_over_the_wrong_axes_is_named_by_the_axes_kept(rng):
    x = rng.standard_normal((6, 10))
    right = x.sum(axis=0)  # dgamma: one value per feature
    found = describe_difference(x.sum(axis=1), right, {"dout": rng.standard_normal((6, 10))})
    assert "yours keeps dout's axis 0 where the right one keeps its axis 1" in found[0]
    square = rng.standard_normal((5, 5))  # both axes have 5 entries: which one is kept is unknown
    assert "keeps" not in " ".join(
        describe_difference(square.sum(0)[:4], square.sum(0), {"x": square})
    )


def test_errors_at_each_rows_label_column_are_located(rng):
    y = rng.integers(0, 5, 6)
    expected = rng.standard_normal((6, 5))
    wrong = expected.copy()
    wrong[np.arange(6), y] += 1.0
    found = describe_difference(wrong, expected, {"scores": expected, "y": y})
    assert "exactly one per row, at its label's column y[i]" in _one(found, "label")
    flipped = expected.copy()
    flipped[np.arange(6), y] *= -1
    found = describe_difference(flipped, expected, {"scores": expected, "y": y})
    assert "column y[i]; there, yours have the opposite sign" in _one(found, "label")
    other = expected.copy()
    other[np.arange(6), (y + 1) % 5] += 1.0
    assert not [f for f in describe_difference(other, expected, {"y": y}) if "label" in f]


def test_values_scaled_and_shifted_are_named(rng):
    expected = rng.uniform(-2, 2, (8, 6))
    found = describe_difference(expected / 2 + 1, expected, {})
    assert "times 1/2 plus the same constant everywhere" in _one(found, "plus")
    centred = rng.uniform(-1, 1, (50, 40))
    found = describe_difference((centred + 1) / 2, centred, {})
    assert "the right values are centred on 0, yours on 0.4" in _one(found, "centred")
    assert not [f for f in describe_difference(expected + 1, expected, {}) if "plus" in f]


def test_an_offset_per_channel_and_a_scalar_halved_are_named(rng):
    expected = rng.standard_normal((2, 3, 4, 4))
    beta = np.array([0.5, -1.0, 2.0]).reshape(1, 3, 1, 1)
    found = describe_difference(expected + beta, expected, {})
    assert "off by a constant in each channel (axis 1), a different one in each" in found[0]
    b = rng.standard_normal(3)
    found = describe_difference(expected - b.reshape(1, 3, 1, 1), expected, {"b": b})
    assert (
        found[0]
        == "your result is off by exactly -b in each channel (axis 1): b is left out, add it"
    )
    assert describe_difference(0.5 * 0.731, 0.731, {}) == [
        "your result is exactly 1/2 times the right one (a factor is wrong)"
    ]
    assert describe_difference(0.731 * 7 / 5, 0.731, {}) == []


def test_values_shifted_along_both_axes_point_at_one_sided_padding(rng):
    expected = rng.standard_normal((2, 3, 8, 8))
    moved = np.roll(expected, (1, 1), axis=(-2, -1))
    found = describe_difference(moved, expected, {"padding": 1})
    assert "shifted by 1 position down and to the right along both" in _one(found, "both")


@pytest.mark.parametrize(
    "what", ["your accuracy", "your precision", "your recall", "your f1", "your auc"]
)
def test_two_shares_of_a_count_in_a_simple_ratio_are_no_factor(what):
    # shares of a count are always in a ratio of small numbers: 2/7 against 4/7 says nothing
    found = describe_difference(2 / 7, 4 / 7, {}, what=what)
    assert not [f for f in found if "times" in f]
    # a loss half the right one is a factor
    assert any("exactly 1/2 times" in f for f in describe_difference(0.6931 / 2, 0.6931, {}))
