"""Evaluating a classifier, alternative submission "ranks_and_unique".

How this variant differs from the reference (same results up to rounding):

* the confusion matrix is filled by ``xp.add.at`` at the (true, predicted) pairs;
* precision, recall and F1 per class come from the counts, F1 as ``2 TP / (2 TP + FP + FN)``;
  the micro averages from the summed counts;
* top-k accuracy sorts each row by decreasing score with the larger class index first among
  ties (a stable sort of the columns in reverse order), and finds the true class's position;
* the ROC curve counts the positives and negatives at each distinct score with
  ``xp.unique(..., return_inverse=True)`` and ``bincount``, accumulated from the highest
  score, and divides in the dtype of the scores;
* the AUC is the Mann-Whitney statistic from mid-ranks (a tie shares the mean of its ranks):
  ``(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)``.

Names, dtypes and conventions are those of the assignment's template.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from cupy import get_array_module
except ImportError:  # CuPy is optional: without it every array is a NumPy array.

    def get_array_module(*arrays: Any) -> Any:
        return np


Array = Any  # a numpy.ndarray, or a cupy.ndarray on the GPU


def _check_labels(y: Array, k: int, n: int | None = None) -> None:
    if y.dtype.kind not in "iu" or y.ndim != 1 or y.shape[0] == 0:
        raise ValueError("labels must be a non-empty integer array of shape (N,)")
    if n is not None and y.shape[0] != n:
        raise ValueError("the label arrays differ in length")
    if bool((y.min() < 0) | (y.max() >= k)):
        raise ValueError("a label is outside 0 .. K-1")


def _check_scores(scores: Array, ndim: int) -> None:
    xp = get_array_module(scores)
    if scores.dtype.kind != "f" or scores.ndim != ndim or scores.shape[0] == 0:
        raise ValueError("scores must be a non-empty floating-point array")
    if bool(xp.isnan(scores).any() | xp.isinf(scores).any()):
        raise ValueError("scores must be finite")


def confusion_matrix(y_true: Array, y_pred: Array, num_classes: int) -> Array:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError("num_classes must be an int >= 1")
    _check_labels(y_true, num_classes)
    _check_labels(y_pred, num_classes, y_true.shape[0])
    xp = get_array_module(y_true, y_pred)
    cm = xp.zeros((num_classes, num_classes), dtype=xp.int64)
    xp.add.at(cm, (y_true, y_pred), 1)
    return cm


def precision_recall_f1(
    y_true: Array, y_pred: Array, num_classes: int, average: str | None = None
) -> tuple[Array, Array, Array]:
    if average not in (None, "macro", "micro"):
        raise ValueError("average must be None, 'macro' or 'micro'")
    cm = confusion_matrix(y_true, y_pred, num_classes)
    xp = get_array_module(cm)
    tp = xp.diagonal(cm).astype(xp.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()

    def share(numerator: Array, denominator: Array) -> Array:
        return xp.where(denominator > 0, numerator / xp.maximum(denominator, 1.0), 0.0)

    values = (share(tp, tp + fp), share(tp, tp + fn), share(2 * tp, 2 * tp + fp + fn))
    if average == "macro":
        return tuple(v.mean() for v in values)
    return values


def top_k_accuracy(y_true: Array, scores: Array, k: int = 1) -> Array:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError("k must be an int >= 1")
    _check_scores(scores, 2)
    n, classes = scores.shape
    _check_labels(y_true, classes, n)
    xp = get_array_module(y_true, scores)
    reversed_columns = scores[:, ::-1]  # the larger index first, kept first among ties
    order = classes - 1 - xp.argsort(-reversed_columns, axis=1, kind="stable")
    position = xp.argmax(order == y_true[:, None], axis=1)
    return (xp.count_nonzero(position < k) / n).astype(scores.dtype)


def _positives(y_true: Array, scores: Array) -> Array:
    _check_scores(scores, 1)
    if y_true.dtype.kind not in "biu" or y_true.shape != scores.shape:
        raise ValueError("y_true must be an integer or boolean array shaped like scores")
    values = y_true.astype(get_array_module(y_true).int64)
    if bool((values.min() < 0) | (values.max() > 1)):
        raise ValueError("y_true must hold 0 and 1 only")
    if int(values.sum()) in (0, values.shape[0]):
        raise ValueError("y_true must hold both classes")
    return values


def roc_curve(y_true: Array, scores: Array) -> tuple[Array, Array, Array]:
    positive = _positives(y_true, scores)
    xp = get_array_module(scores)
    distinct, where = xp.unique(scores, return_inverse=True)
    m = distinct.shape[0]
    pos = xp.bincount(where.ravel(), weights=positive, minlength=m)[::-1]
    neg = xp.bincount(where.ravel(), weights=1 - positive, minlength=m)[::-1]
    dtype = scores.dtype
    tp = xp.concatenate([xp.zeros(1), xp.cumsum(pos)]).astype(dtype)
    fp = xp.concatenate([xp.zeros(1), xp.cumsum(neg)]).astype(dtype)
    thresholds = xp.concatenate([xp.full(1, xp.inf, dtype=dtype), distinct[::-1]])
    return fp / fp[-1], tp / tp[-1], thresholds


def _rank_auc(positive: Array, scores: Array) -> Array:
    xp = get_array_module(scores)
    _, where, counts = xp.unique(scores, return_inverse=True, return_counts=True)
    below = xp.cumsum(counts) - counts
    mid_rank = below + (counts + 1) / 2.0  # ranks from 1, ties sharing their mean rank
    n_pos = positive.sum()
    n_neg = positive.shape[0] - n_pos
    rank_sum = (mid_rank[where.ravel()] * positive).sum()
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def roc_auc(y_true: Array, scores: Array) -> Array:
    positive = _positives(y_true, scores)
    return _rank_auc(positive, scores).astype(scores.dtype)


def roc_auc_ovr(y_true: Array, scores: Array, average: str | None = "macro") -> Array:
    if average not in ("macro", None):
        raise ValueError("average must be 'macro' or None")
    _check_scores(scores, 2)
    n, classes = scores.shape
    if classes < 2:
        raise ValueError("one-versus-rest AUC needs two classes or more")
    _check_labels(y_true, classes, n)
    xp = get_array_module(y_true, scores)
    counts = xp.bincount(y_true, minlength=classes)
    if int((counts > 0).sum()) < 2:
        raise ValueError("y_true holds one class only")
    areas = []
    for c in range(classes):
        positive = (y_true == c).astype(xp.int64)
        areas.append(_rank_auc(positive, scores[:, c]) if int(counts[c]) > 0 else xp.nan)
    areas = xp.asarray(areas, dtype=xp.float64)
    if average is None:
        return areas.astype(scores.dtype)
    return areas[counts > 0].mean().astype(scores.dtype)
