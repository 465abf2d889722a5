"""Public tests for metrics.py: known answers for every function and option.

Run them from your copy of the template with ``autograder check metrics``. Each function has a
small case worked out by hand here (in the comments), for each of its options: the confusion
matrix's orientation, the per-class, macro and micro averages with their zero-division
convention, top-k accuracy at several k and its tie rule, the ROC curve with tied scores and
its first point, and the AUC's trapezoids. The hidden tests compare every function with a
reference implementation on random batches: tied scores, classes missing from a batch, a
constant classifier, perfect and inverted scores, float32 and float64 scores.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close

pytestmark = [pytest.mark.assignment("metrics")]

INF = np.inf

# Eight examples of K = 4 classes; class 3 occurs in neither array.
Y_TRUE = np.array([0, 0, 1, 2, 2, 2, 1, 0])
Y_PRED = np.array([0, 1, 1, 2, 0, 2, 2, 1])
# rows: true class, columns: predicted class
CM = np.array([[1, 2, 0, 0], [0, 1, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
# TP = [1, 1, 2, 0], predicted (column sums) = [2, 3, 3, 0], true (row sums) = [3, 2, 3, 0]
PRECISION = np.array([1 / 2, 1 / 3, 2 / 3, 0.0])  # class 3 is never predicted: 0
RECALL = np.array([1 / 3, 1 / 2, 2 / 3, 0.0])  # class 3 never occurs: 0
F1 = np.array([2 / 5, 2 / 5, 2 / 3, 0.0])  # 2 TP / (2 TP + FP + FN)


def _require(condition, message):
    """Fail with ``message`` alone (a plain ``assert`` would add pytest's explanation)."""
    if not condition:
        raise AssertionError(message)


def _triple(got, function):
    _require(
        isinstance(got, tuple) and len(got) == 3, f"{function} returns a tuple of three arrays"
    )
    return got


# ======================================================================== confusion matrix


@pytest.mark.points(2)
def test_confusion_matrix_hand_computed(student):
    # cm[i, j]: examples of true class i predicted as j; the absent class 3 keeps its zeros
    assert_close(student.confusion_matrix(Y_TRUE, Y_PRED, 4), CM, name="confusion matrix")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "y_true, y_pred",
    [([0, 1, 3], [0, 1, 2]), ([0, 1, 2], [0, 1, 3]), ([0, 1, 2], [0, -1, 2])],
    ids=["true_label_out_of_range", "predicted_label_out_of_range", "negative_prediction"],
)
def test_confusion_matrix_refuses_labels_outside_the_classes(student, y_true, y_pred):
    # K = 3: the labels are 0, 1 and 2, in both arrays; any other is a ValueError, not a count
    # in some other cell
    with pytest.raises(ValueError):
        student.confusion_matrix(np.array(y_true), np.array(y_pred), 3)


# ======================================================================== precision, recall, F1


@pytest.mark.points(2)
def test_per_class_precision_recall_f1_hand_computed(student):
    precision, recall, f1 = _triple(
        student.precision_recall_f1(Y_TRUE, Y_PRED, 4), "precision_recall_f1"
    )
    assert_close(precision, PRECISION, name="precision")
    assert_close(recall, RECALL, name="recall")
    assert_close(f1, F1, name="f1")


@pytest.mark.points(1)
def test_zero_division_gives_zero(student):
    # class 2 is predicted once and never occurs: precision 0 / 1 = 0, recall 0 / 0 -> 0;
    # class 3 occurs in neither array: all three are 0 / 0 -> 0
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    precision, recall, f1 = _triple(
        student.precision_recall_f1(y_true, y_pred, 4), "precision_recall_f1"
    )
    assert_close(precision, np.array([1.0, 1.0, 0.0, 0.0]), name="precision")
    assert_close(recall, np.array([0.5, 1.0, 0.0, 0.0]), name="recall")
    assert_close(f1, np.array([2 / 3, 1.0, 0.0, 0.0]), name="f1")


@pytest.mark.points(2)
def test_macro_average_hand_computed(student):
    # the mean of the per-class values over all K = 4 classes, the absent class 3 included:
    # precision (1/2 + 1/3 + 2/3 + 0) / 4 = 3/8, recall 3/8, and F1 the mean of the per-class
    # F1 scores, (2/5 + 2/5 + 2/3 + 0) / 4 = 11/30 (the harmonic mean of 3/8 and 3/8 is 3/8)
    precision, recall, f1 = _triple(
        student.precision_recall_f1(Y_TRUE, Y_PRED, 4, average="macro"), "precision_recall_f1"
    )
    assert_scalar_close(precision, np.float64(3 / 8), name="macro precision")
    assert_scalar_close(recall, np.float64(3 / 8), name="macro recall")
    assert_scalar_close(f1, np.float64(11 / 30), name="macro f1")


@pytest.mark.points(2)
def test_micro_average_is_the_accuracy(student):
    # the counts summed over the classes: sum TP / N for all three, 4 / 8
    precision, recall, f1 = _triple(
        student.precision_recall_f1(Y_TRUE, Y_PRED, 4, average="micro"), "precision_recall_f1"
    )
    for value, name in ((precision, "precision"), (recall, "recall"), (f1, "f1")):
        assert_scalar_close(value, np.float64(0.5), name=f"micro {name}")


# ======================================================================== top-k accuracy

SCORES = np.array(
    [
        [0.125, 0.5, 0.25, 0.125],  # true class 2: class 1 ranks above it (rank 2)
        [0.75, 0.125, 0.0, 0.125],  # true class 0: first
        [0.25, 0.25, 0.5, 0.0],  # true class 3: last of 4 (rank 4)
        [0.5, 0.25, 0.125, 0.0],  # true class 1: second
    ]
)
LABELS = np.array([2, 0, 3, 1])


@pytest.mark.points(0.5)
@pytest.mark.parametrize("k, accuracy", [(1, 0.25), (2, 0.75), (3, 0.75), (4, 1.0)])
def test_top_k_accuracy_hand_computed(student, k, accuracy):
    got = student.top_k_accuracy(LABELS, SCORES, k=k)
    assert_scalar_close(got, np.float64(accuracy), name=f"top-{k} accuracy")


@pytest.mark.points(2)
def test_top_k_ties_favour_the_larger_class_index(student):
    # Row 0: class 1 ties with the true class 0 and has the larger index: it ranks above, so
    # the true class is second. Row 1: the true class 1 is the larger index of the tie: first.
    # Row 2: the true class 1 ties with class 2, which ranks above it: second.
    scores = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.25, 0.5, 0.5]])
    y_true = np.array([0, 1, 1])
    assert_scalar_close(
        student.top_k_accuracy(y_true, scores, k=1), np.float64(1 / 3), name="top-1 accuracy"
    )
    assert_scalar_close(
        student.top_k_accuracy(y_true, scores, k=2), np.float64(1.0), name="top-2 accuracy"
    )


@pytest.mark.points(1)
def test_top_k_accuracy_keeps_float32(student):
    got = student.top_k_accuracy(LABELS, SCORES.astype(np.float32), k=2)
    assert_scalar_close(got, np.float32(0.75), name="top-2 accuracy of float32 scores")


# ======================================================================== ROC curve and AUC


def _check_curve(got, fpr, tpr, thresholds, dtype=np.float64):
    got = _triple(got, "roc_curve")
    assert_close(got[2], np.array(thresholds, dtype), name="thresholds")
    assert_close(got[0], np.array(fpr, dtype), name="fpr")
    assert_close(got[1], np.array(tpr, dtype), name="tpr")


@pytest.mark.points(2)
def test_roc_curve_hand_computed(student):
    # scikit-learn's example. Thresholds inf, 0.8, 0.4, 0.35, 0.1: predicting positive for
    # the scores >= t finds (false positives, true positives) = (0, 0), (0, 1), (1, 1), (1, 2),
    # (2, 2), over 2 negatives and 2 positives.
    y_true, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    _check_curve(
        student.roc_curve(y_true, scores),
        [0.0, 0.0, 0.5, 0.5, 1.0],
        [0.0, 0.5, 0.5, 1.0, 1.0],
        [INF, 0.8, 0.4, 0.35, 0.1],
    )


Y_TIED = np.array([0, 1, 0, 1, 1, 0])
S_TIED = np.array([0.5, 0.75, 0.25, 0.5, 0.75, 0.25])


@pytest.mark.points(2)
def test_roc_curve_collapses_tied_scores(student):
    # 3 distinct scores, 3 points after (0, 0): at 0.75 two positives, at 0.5 one positive and
    # one negative together (a diagonal step), at 0.25 two negatives
    _check_curve(
        student.roc_curve(Y_TIED, S_TIED),
        [0.0, 0.0, 1 / 3, 1.0],
        [0.0, 2 / 3, 1.0, 1.0],
        [INF, 0.75, 0.5, 0.25],
    )


@pytest.mark.points(1)
def test_roc_curve_of_a_constant_score_and_float32(student):
    # one threshold: from (0, 0) straight to (1, 1); boolean labels are 0 and 1
    y_true = np.array([True, False, False, True, False])
    _check_curve(
        student.roc_curve(y_true, np.full(5, 0.5, np.float32)),
        [0.0, 1.0],
        [0.0, 1.0],
        [INF, 0.5],
        np.float32,
    )


@pytest.mark.points(1)
def test_roc_auc_hand_computed(student):
    # pairs (positive, negative): 0.35 > 0.1, 0.35 < 0.4, 0.8 > both: 3 of 4
    got = student.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    assert_scalar_close(got, np.float64(0.75), name="AUC")


@pytest.mark.points(2)
def test_roc_auc_counts_a_tie_one_half(student):
    # trapezoids under the tied curve above: 0 + (1/3)(2/3 + 1)/2 + (2/3)(1 + 1)/2 = 17/18;
    # as pairs: 0.75 beats the 3 negatives twice (6), the positive 0.5 ties one negative
    # (1/2) and beats two (2): 8.5 of 9
    assert_scalar_close(student.roc_auc(Y_TIED, S_TIED), np.float64(17 / 18), name="AUC")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "scores, auc",
    [
        (np.array([0.25, 0.5, 0.75, 1.0]), 1.0),
        (np.array([1.0, 0.75, 0.5, 0.25]), 0.0),
        (np.array([0.5, 0.5, 0.5, 0.5]), 0.5),
    ],
    ids=["perfect", "inverted", "constant"],
)
def test_roc_auc_extremes(student, scores, auc):
    got = student.roc_auc(np.array([0, 0, 1, 1]), scores.astype(np.float32))
    assert_scalar_close(got, np.float32(auc), name="AUC of float32 scores")


# ======================================================================== one-versus-rest AUC

Y_OVR = np.array([0, 1, 2, 0, 1, 0])  # 3, 2 and 1 examples: the classes are imbalanced
S_OVR = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.1, 0.5, 0.4],
        [0.3, 0.2, 0.5],
        [0.6, 0.2, 0.2],
        [0.2, 0.4, 0.4],
        [0.25, 0.1, 0.5],
    ]
)
# class 0: positives 0.8, 0.6, 0.25 against 0.1, 0.3, 0.2: 3 + 3 + 2 = 8 of 9 pairs
# class 1: positives 0.5, 0.4 above every negative: 1
# class 2: the positive 0.5 against 0.1, 0.4, 0.2, 0.4, 0.5: 4 + 1/2 (a tie) = 4.5 of 5
OVR = np.array([8 / 9, 1.0, 9 / 10])  # macro: the unweighted mean, 251 / 270


@pytest.mark.points(2)
def test_one_versus_rest_auc_per_class_and_macro(student):
    assert_close(student.roc_auc_ovr(Y_OVR, S_OVR, average=None), OVR, name="AUC per class")
    assert_scalar_close(student.roc_auc_ovr(Y_OVR, S_OVR), np.float64(OVR.mean()), name="macro AUC")


@pytest.mark.points(1)
def test_one_versus_rest_auc_leaves_out_a_missing_class(student):
    # class 2 never occurs: its AUC is NaN, and the macro average is over classes 0 and 1
    y_true = np.array([0, 1, 0, 1])
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.4, 0.6, 0.0], [0.5, 0.3, 1.0]])
    assert_close(
        student.roc_auc_ovr(y_true, scores, average=None),
        np.array([0.75, 0.75, np.nan]),
        name="AUC per class",
    )
    assert_scalar_close(student.roc_auc_ovr(y_true, scores), np.float64(0.75), name="macro AUC")
