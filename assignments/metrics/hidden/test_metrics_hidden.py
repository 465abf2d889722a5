"""Hidden tests for metrics.py: every function against the reference on random batches, with
tied scores, classes missing from a batch, a constant classifier, perfect and inverted scores."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close

pytestmark = [pytest.mark.assignment("metrics"), pytest.mark.visibility("after_published")]

N, K = 60, 5


def _labels(rng, case, n=N, k=K):
    """``(y_true, y_pred)`` of one kind of batch."""
    if case == "random":
        y_true = rng.integers(0, k, n)
        return y_true, np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k, n))
    if case == "missing_classes":
        # class 2 is never predicted, class 3 never occurs, class 4 is in neither
        y_true = rng.choice([0, 1, 2], n)
        return y_true, np.where(rng.random(n) < 0.5, y_true % 2, rng.choice([0, 1, 3], n))
    if case == "constant_classifier":
        return rng.integers(0, k, n), np.full(n, int(rng.integers(0, k)))
    raise ValueError(case)


LABEL_CASES = ["random", "missing_classes", "constant_classifier"]


def _tuple(got, length, function):
    assert isinstance(got, tuple) and len(got) == length, (
        f"{function} returns a tuple of {length} arrays"
    )
    return got


@pytest.mark.points(1)
@pytest.mark.parametrize("case", LABEL_CASES)
def test_confusion_matrix(student, reference, rng, case):
    y_true, y_pred = _labels(rng, case)
    assert_close(
        student.confusion_matrix(y_true, y_pred, K),
        reference.confusion_matrix(y_true, y_pred, K),
        name="confusion matrix",
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("average", [None, "macro", "micro"], ids=["per_class", "macro", "micro"])
@pytest.mark.parametrize("case", LABEL_CASES)
def test_precision_recall_f1(student, reference, rng, case, average):
    y_true, y_pred = _labels(rng, case)
    got = _tuple(
        student.precision_recall_f1(y_true, y_pred, K, average=average), 3, "precision_recall_f1"
    )
    want = reference.precision_recall_f1(y_true, y_pred, K, average=average)
    compare = assert_close if average is None else assert_scalar_close
    for mine, right, name in zip(got, want, ("precision", "recall", "f1"), strict=True):
        compare(mine, right, name=name)


def _class_scores(rng, n, k, ties, dtype):
    if ties:  # a coarse grid: most rows hold tied scores
        return (rng.integers(0, 4, (n, k)) / 4).astype(dtype)
    return rng.standard_normal((n, k)).astype(dtype)


TOP_K = [
    pytest.param(1, False, np.float64, id="top1-distinct-float64"),
    pytest.param(1, True, np.float32, id="top1-ties-float32"),
    pytest.param(3, False, np.float32, id="top3-distinct-float32"),
    pytest.param(3, True, np.float64, id="top3-ties-float64"),
]


@pytest.mark.points(2)
@pytest.mark.parametrize("k, ties, dtype", TOP_K)
def test_top_k_accuracy(student, reference, rng, k, ties, dtype):
    y_true = rng.integers(0, K, N)
    scores = _class_scores(rng, N, K, ties, dtype)
    assert_scalar_close(
        student.top_k_accuracy(y_true, scores, k=k),
        reference.top_k_accuracy(y_true, scores, k=k),
        name=f"top-{k} accuracy",
    )


@pytest.mark.points(0.5)
def test_top_k_accuracy_with_k_at_least_the_classes(student, reference, rng):
    y_true, scores = rng.integers(0, K, N), rng.standard_normal((N, K))
    assert_scalar_close(
        student.top_k_accuracy(y_true, scores, k=K + 1),
        reference.top_k_accuracy(y_true, scores, k=K + 1),
        name=f"top-{K + 1} accuracy of {K} classes",
    )


def _binary(rng, case, dtype, n=N):
    """``(y_true, scores)`` of one kind of binary problem, with both classes."""
    y_true = rng.integers(0, 2, n)
    y_true[:2] = [0, 1]
    if case == "distinct":
        scores = rng.standard_normal(n) + y_true
    elif case == "ties":  # multiples of 1/4: many ties, between positives and negatives too
        scores = rng.integers(0, 5, n) / 4
    elif case == "constant":
        scores = np.full(n, 0.3)
    elif case == "perfect":
        scores = y_true + rng.random(n) / 2
    elif case == "inverted":
        scores = -(y_true + rng.random(n) / 2)
    else:
        raise ValueError(case)
    return y_true, scores.astype(dtype)


BINARY = [
    pytest.param("distinct", np.float64, id="distinct-float64"),
    pytest.param("distinct", np.float32, id="distinct-float32"),
    pytest.param("ties", np.float64, id="ties-float64"),
    pytest.param("ties", np.float32, id="ties-float32"),
    pytest.param("constant", np.float64, id="constant"),
    pytest.param("perfect", np.float32, id="perfect"),
    pytest.param("inverted", np.float64, id="inverted"),
]


@pytest.mark.points(1)
@pytest.mark.parametrize("case, dtype", BINARY)
def test_roc_curve(student, reference, rng, case, dtype):
    y_true, scores = _binary(rng, case, dtype)
    got = _tuple(student.roc_curve(y_true, scores), 3, "roc_curve")
    want = reference.roc_curve(y_true, scores)
    for mine, right, name in zip(got, want, ("fpr", "tpr", "thresholds"), strict=True):
        assert_close(mine, right, name=name)


@pytest.mark.points(1)
@pytest.mark.parametrize("case, dtype", BINARY)
def test_roc_auc(student, reference, rng, case, dtype):
    y_true, scores = _binary(rng, case, dtype)
    assert_scalar_close(
        student.roc_auc(y_true, scores), reference.roc_auc(y_true, scores), name="AUC"
    )


OVR = [
    pytest.param("all_classes", False, np.float64, id="all_classes-float64"),
    pytest.param("all_classes", True, np.float32, id="ties-float32"),
    pytest.param("missing_class", True, np.float64, id="missing_class-ties-float64"),
]


@pytest.mark.points(1.5)
@pytest.mark.parametrize("average", ["macro", None], ids=["macro", "per_class"])
@pytest.mark.parametrize("case, ties, dtype", OVR)
def test_roc_auc_ovr(student, reference, rng, case, ties, dtype, average):
    y_true = rng.integers(0, K, N)
    if case == "missing_class":
        y_true[y_true == 3] = 1
    scores = _class_scores(rng, N, K, ties, dtype)
    scores[np.arange(N), y_true] += dtype(0.5)  # a classifier better than chance
    got = student.roc_auc_ovr(y_true, scores, average=average)
    want = reference.roc_auc_ovr(y_true, scores, average=average)
    if average is None:
        assert_close(got, want, name="AUC per class")
    else:
        assert_scalar_close(got, want, name="macro AUC")


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # the checks of the arguments: one backend is enough
@pytest.mark.parametrize(
    "function, args",
    [
        ("confusion_matrix", (np.array([0, 1, 3]), np.array([0, 1, 2]), 3)),
        ("confusion_matrix", (np.array([2, 1, 0, 1]), np.array([0, 1, 2, 3]), 3)),
        ("confusion_matrix", (np.array([2, 1, 0, 1]), np.array([0, -1, 2, 1]), 3)),
        ("confusion_matrix", (np.array([2, 1, 0, 1]), np.array([0, 1, 2]), 3)),
        ("precision_recall_f1", (np.array([0, 1]), np.array([0, 1]), 2, "weighted")),
        ("roc_curve", (np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3]))),
        ("roc_auc", (np.array([0, 2, 1]), np.array([0.1, 0.2, 0.3]))),
        ("roc_auc_ovr", (np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))),
    ],
    ids=[
        "label_out_of_range",
        "prediction_out_of_range",
        "negative_prediction",
        "lengths_differ",
        "unknown_average",
        "one_class",
        "not_binary",
        "ovr_one_class",
    ],
)
def test_invalid_arguments_raise(student, function, args):
    with pytest.raises(ValueError):
        getattr(student, function)(*args)
