"""The metrics' mistakes the catalogue computes itself are the mistakes students make: each
naive implementation of a mistake (written as students and forums write it) gets the hint of
that mistake and no other, and a right answer gets none."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import metrics

SEVERAL = "mistakes each give exactly what"
K = 4


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def _labels(rng, n=40):
    y_true = rng.integers(0, K, n)
    return y_true, np.where(rng.random(n) < 0.5, y_true, rng.integers(0, K, n))


def _binary(rng, n=40):
    y_true = rng.integers(0, 2, n)
    y_true[:2] = [0, 1]
    return y_true, rng.integers(0, 5, n) / 4  # ties between positives and negatives


def _hints(function, args, kwargs, result):
    return diagnose(metrics, [Call(function, args, kwargs, result)])


def _only_hint(function, args, kwargs, result, fragment):
    hints = _hints(function, args, kwargs, result)
    assert len(hints) == 1 and fragment in hints[0] and SEVERAL not in hints[0], hints


def _safe_divide(a, b):
    return np.divide(a, b, out=np.zeros(len(a)), where=b > 0)


def test_confusion_matrix_with_rows_the_predictions(rng):
    y_true, y_pred = _labels(rng)
    cm = np.zeros((K, K), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[p, t] += 1  # cm[predicted][actual]
    _only_hint("confusion_matrix", (y_true, y_pred, K), {}, cm, "confusion matrix is transposed")


def test_precision_over_the_true_counts(rng):
    y_true, y_pred = _labels(rng)
    cm = metrics.confusion_matrix(y_true, y_pred, K)
    tp = np.diag(cm)
    precision = _safe_divide(tp, cm.sum(axis=1))  # a row sum: the examples of the class
    recall = _safe_divide(tp, cm.sum(axis=0))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    _only_hint(
        "precision_recall_f1",
        (y_true, y_pred, K),
        {},
        (precision, recall, f1),
        "precision and recall are swapped",
    )


def test_macro_average_that_pools_the_counts(rng):
    y_true, y_pred = _labels(rng)
    accuracy = np.mean(y_true == y_pred)  # what "macro" returns: the pooled counts
    result = (accuracy, accuracy, accuracy)
    args = (y_true, y_pred, K)
    _only_hint("precision_recall_f1", args, {"average": "macro"}, result, "averages are swapped")


def test_macro_f1_from_the_macro_precision_and_recall(rng):
    y_true, y_pred = _labels(rng)
    precision, recall, _ = metrics.precision_recall_f1(y_true, y_pred, K)
    p, r = precision.mean(), recall.mean()
    result = (p, r, 2 * p * r / (p + r))
    args = (y_true, y_pred, K)
    _only_hint("precision_recall_f1", args, {"average": "macro"}, result, "harmonic mean")


def _missing_classes(rng, n=40):
    """Class 2 never predicted, class 3 never true (and not predicted)."""
    y_true = rng.choice([0, 1, 2], n)
    return y_true, np.where(rng.random(n) < 0.5, y_true % 2, rng.choice([0, 1], n))


@pytest.mark.parametrize("average", [None, "macro"])
def test_zero_division_as_one(rng, average):
    y_true, y_pred = _missing_classes(rng)
    cm = metrics.confusion_matrix(y_true, y_pred, K)
    tp, predicted = np.diag(cm), cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 1.0)  # zero_division=1
    _, recall, f1 = metrics.precision_recall_f1(y_true, y_pred, K)
    if average == "macro":
        precision, recall, f1 = precision.mean(), recall.mean(), f1.mean()
    result = (precision, recall, f1)
    kwargs = {"average": average}
    _only_hint("precision_recall_f1", (y_true, y_pred, K), kwargs, result, "undefined ratio as 1")


def test_macro_over_the_classes_in_the_batch(rng):
    y_true, y_pred = _missing_classes(rng)
    present = np.unique(np.concatenate([y_true, y_pred]))  # what np.unique finds, not range(K)
    per_class = metrics.precision_recall_f1(y_true, y_pred, K)
    result = tuple(v[present].mean() for v in per_class)
    args = (y_true, y_pred, K)
    _only_hint("precision_recall_f1", args, {"average": "macro"}, result, "leaves out the classes")


@pytest.mark.parametrize("average", [None, "macro"])
def test_f1_as_the_arithmetic_mean(rng, average):
    y_true, y_pred = _labels(rng)
    precision, recall, _ = metrics.precision_recall_f1(y_true, y_pred, K)
    f1 = (precision + recall) / 2
    if average == "macro":
        precision, recall, f1 = precision.mean(), recall.mean(), f1.mean()
    args, kwargs = (y_true, y_pred, K), {"average": average}
    _only_hint("precision_recall_f1", args, kwargs, (precision, recall, f1), "arithmetic mean")


def test_macro_weighted_by_support(rng):
    y_true, y_pred = _labels(rng)
    support = np.bincount(y_true, minlength=K)
    per_class = metrics.precision_recall_f1(y_true, y_pred, K)
    result = tuple(np.average(v, weights=support) for v in per_class)
    args = (y_true, y_pred, K)
    _only_hint("precision_recall_f1", args, {"average": "macro"}, result, "by its number of")


def _tied_scores(rng, n=40):
    return rng.integers(0, 3, (n, K)) / 2


def test_top_k_with_argmax_only(rng):
    y_true, scores = rng.integers(0, K, 40), _tied_scores(rng)
    result = np.mean(scores.argmax(axis=1) == y_true)
    _only_hint("top_k_accuracy", (y_true, scores), {"k": 3}, result, "(top-1) whatever k")


@pytest.mark.parametrize("k", [1, 2])
def test_top_k_by_a_stable_descending_sort(rng, k):
    y_true, scores = rng.integers(0, K, 40), _tied_scores(rng)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # the lower index of a tie first
    result = np.mean((top == y_true[:, None]).any(axis=1))
    _only_hint("top_k_accuracy", (y_true, scores), {"k": k}, result, "breaks ties")


def test_top_k_counting_only_higher_scores(rng):
    y_true, scores = rng.integers(0, K, 40), _tied_scores(rng)
    own = scores[np.arange(40), y_true][:, None]
    result = np.mean((scores > own).sum(axis=1) < 2)  # a tie never ranks above
    _only_hint("top_k_accuracy", (y_true, scores), {"k": 2}, result, "breaks ties")


def test_top_k_with_one_class_too_many(rng):
    y_true, scores = rng.integers(0, K, 40), rng.standard_normal((40, K))
    top = np.argsort(-scores, axis=1)[:, : 2 + 1]  # "at most k above"
    result = np.mean((top == y_true[:, None]).any(axis=1))
    _only_hint("top_k_accuracy", (y_true, scores), {"k": 2}, result, "top-(k + 1)")


def test_roc_curve_with_one_point_per_example(rng):
    y_true, scores = _binary(rng)
    order = np.argsort(-scores, kind="stable")
    tps = np.cumsum(y_true[order])
    fps = np.cumsum(1 - y_true[order])
    result = (
        np.r_[0.0, fps / fps[-1]],
        np.r_[0.0, tps / tps[-1]],
        np.r_[np.inf, scores[order]],
    )
    _only_hint("roc_curve", (y_true, scores), {}, result, "thresholds repeat a score")


def test_roc_curve_over_increasing_thresholds(rng):
    y_true, scores = _binary(rng)
    thresholds = np.unique(scores)  # sorted up
    tpr = np.array([np.mean(scores[y_true == 1] >= t) for t in thresholds])
    fpr = np.array([np.mean(scores[y_true == 0] >= t) for t in thresholds])
    _only_hint("roc_curve", (y_true, scores), {}, (fpr, tpr, thresholds), "runs the wrong way")


def test_roc_curve_accumulated_from_the_lowest_score(rng):
    y_true, scores = _binary(rng)
    order = np.argsort(scores)  # ascending: argsort(-scores) was meant
    ranked, hits = scores[order], y_true[order]
    last = np.r_[ranked[1:] != ranked[:-1], True]
    tps, fps = np.cumsum(hits)[last], np.cumsum(1 - hits)[last]
    result = (np.r_[0, fps / fps[-1]], np.r_[0, tps / tps[-1]], np.r_[np.inf, ranked[last]])
    _only_hint("roc_curve", (y_true, scores), {}, result, "from the lowest score up")


def test_auc_integrated_along_the_wrong_axis(rng):
    y_true, scores = _binary(rng)
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    result = np.sum(np.diff(tpr) * (fpr[1:] + fpr[:-1]) / 2)  # np.trapz(fpr, tpr)
    _only_hint("roc_auc", (y_true, scores), {}, result, "integrated along the wrong axis")


def test_roc_curve_with_the_first_threshold_above_the_maximum(rng):
    y_true, scores = _binary(rng)
    fpr, tpr, thresholds = metrics.roc_curve(y_true, scores)
    old = np.r_[scores.max() + 1, thresholds[1:]]  # scikit-learn before 1.3
    _only_hint("roc_curve", (y_true, scores), {}, (fpr, tpr, old), "first point is not (0, 0)")


def test_roc_curve_without_its_first_point(rng):
    y_true, scores = _binary(rng)
    fpr, tpr, thresholds = metrics.roc_curve(y_true, scores)
    result = (fpr[1:], tpr[1:], thresholds[1:])
    _only_hint("roc_curve", (y_true, scores), {}, result, "first point is not (0, 0)")


def test_roc_rates_over_all_examples(rng):
    y_true, scores = _binary(rng)
    thresholds = np.r_[np.inf, np.unique(scores)[::-1]]
    fpr = np.array([np.sum((scores >= t) & (y_true == 0)) for t in thresholds]) / len(y_true)
    tpr = np.array([np.sum((scores >= t) & (y_true == 1)) for t in thresholds]) / len(y_true)
    _only_hint("roc_curve", (y_true, scores), {}, (fpr, tpr, thresholds), "number of examples")


def test_auc_by_right_rectangles(rng):
    y_true, scores = _binary(rng)
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    result = np.sum(np.diff(fpr) * tpr[1:])  # a tied pair counts 1
    _only_hint("roc_auc", (y_true, scores), {}, result, "as 0 or 1")


def test_auc_counting_strict_wins(rng):
    y_true, scores = _binary(rng)
    result = np.mean(scores[y_true == 1][:, None] > scores[y_true == 0][None, :])
    _only_hint("roc_auc", (y_true, scores), {}, result, "as 0 or 1")


def test_auc_of_the_lower_scores(rng):
    y_true, scores = _binary(rng)
    pos, neg = scores[y_true == 1][:, None], scores[y_true == 0][None, :]
    result = np.mean((pos < neg) + 0.5 * (pos == neg))  # the negatives read as the positives
    _only_hint("roc_auc", (y_true, scores), {}, result, "1 minus the right one")


def _ovr_missing_class(rng, n=40):
    y_true = rng.choice([0, 1, 3], n)  # class 2 never occurs
    return y_true, rng.standard_normal((n, K)) + np.eye(K)[y_true]


def test_one_versus_rest_macro_over_all_classes(rng):
    y_true, scores = _ovr_missing_class(rng)
    per_class = metrics.roc_auc_ovr(y_true, scores, average=None)
    result = np.mean(np.where(np.isnan(per_class), 0.5, per_class))  # "chance" for class 2
    _only_hint("roc_auc_ovr", (y_true, scores), {}, result, "a class missing from y_true")


def test_one_versus_rest_weighted_by_prevalence(rng):
    y_true, scores = _ovr_missing_class(rng)
    per_class = metrics.roc_auc_ovr(y_true, scores, average=None)
    present = ~np.isnan(per_class)
    weights = np.bincount(y_true, minlength=K)[present]
    result = np.average(per_class[present], weights=weights)
    _only_hint("roc_auc_ovr", (y_true, scores), {}, result, "share of the examples")


@pytest.mark.parametrize("average", ["macro", None])
def test_one_versus_rest_auc_by_rectangles(rng, average):
    y_true, scores = rng.integers(0, K, 40), _tied_scores(rng)
    areas = []
    for c in range(K):
        fpr, tpr, _ = metrics.roc_curve(y_true == c, scores[:, c])
        areas.append(np.sum(np.diff(fpr) * tpr[:-1]))  # a tied pair counts 0
    result = np.array(areas) if average is None else np.mean(areas)
    _only_hint("roc_auc_ovr", (y_true, scores), {"average": average}, result, "as 0 or 1")


def test_rectangles_without_ties_are_the_trapezoids(rng):
    # no tie between a positive and a negative: every step is horizontal or vertical
    y_true = rng.integers(0, 2, 30)
    y_true[:2] = [0, 1]
    scores = rng.standard_normal(30)
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    result = np.sum(np.diff(fpr) * tpr[1:])
    assert result == pytest.approx(float(metrics.roc_auc(y_true, scores)))
    assert _hints("roc_auc", (y_true, scores), {}, result) == []


def test_right_answers_get_no_hint(rng):
    y_true, y_pred = _labels(rng)
    y_bin, s_bin = _binary(rng)
    scores = _tied_scores(rng)
    calls = [
        ("confusion_matrix", (y_true, y_pred, K), {}),
        ("precision_recall_f1", (y_true, y_pred, K), {"average": "macro"}),
        ("top_k_accuracy", (y_true, scores), {"k": 2}),
        ("roc_curve", (y_bin, s_bin), {}),
        ("roc_auc", (y_bin, s_bin), {}),
        ("roc_auc_ovr", (y_true, scores), {"average": None}),
    ]
    for function, args, kwargs in calls:
        right = getattr(metrics, function)(*args, **kwargs)
        assert _hints(function, args, kwargs, right) == [], function
