"""Evaluating a classifier, alternative submission "pairwise_comparisons".

How this variant differs from the reference (same results up to rounding):

* the confusion matrix is a product of one-hot matrices, ``onehot(y_true).T @ onehot(y_pred)``;
* F1 is the harmonic mean ``2 P R / (P + R)`` of the per-class precision and recall (0 where
  both are 0); the macro averages are sums divided by K; the micro averages are the accuracy,
  ``mean(y_true == y_pred)``, for all three;
* top-k accuracy takes the last k columns of a stable ascending argsort of each row;
* the ROC curve compares every score with every threshold (an M x N table of predictions);
* the AUC is the Mann-Whitney statistic counted over every (positive, negative) pair,
  ``mean((s_p > s_q) + (s_p == s_q) / 2)``, in float64.

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


def _labels(y: Array, k: int, n: int | None = None) -> None:
    if y.dtype.kind not in "iu" or y.ndim != 1 or y.shape[0] == 0:
        raise ValueError("labels must be a non-empty integer array of shape (N,)")
    if n is not None and y.shape[0] != n:
        raise ValueError("the label arrays differ in length")
    if bool(get_array_module(y).any((y < 0) | (y >= k))):
        raise ValueError("a label is outside 0 .. K-1")


def _scores(scores: Array, ndim: int) -> None:
    xp = get_array_module(scores)
    if scores.dtype.kind != "f" or scores.ndim != ndim or scores.shape[0] == 0:
        raise ValueError("scores must be a non-empty floating-point array")
    if not bool(xp.isfinite(scores).all()):
        raise ValueError("scores must be finite")


def _one_hot(y: Array, k: int) -> Array:
    xp = get_array_module(y)
    return (y[:, None] == xp.arange(k)[None, :]).astype(xp.int64)


def confusion_matrix(y_true: Array, y_pred: Array, num_classes: int) -> Array:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError("num_classes must be an int >= 1")
    _labels(y_true, num_classes)
    _labels(y_pred, num_classes, y_true.shape[0])
    return _one_hot(y_true, num_classes).T @ _one_hot(y_pred, num_classes)


def _divide(a: Array, b: Array) -> Array:
    xp = get_array_module(a, b)
    a, b = a.astype(xp.float64), b.astype(xp.float64)
    return xp.where(b == 0, 0.0, a / xp.where(b == 0, 1.0, b))


def precision_recall_f1(
    y_true: Array, y_pred: Array, num_classes: int, average: str | None = None
) -> tuple[Array, Array, Array]:
    if average not in (None, "macro", "micro"):
        raise ValueError("average must be None, 'macro' or 'micro'")
    cm = confusion_matrix(y_true, y_pred, num_classes)
    xp = get_array_module(cm)
    if average == "micro":
        accuracy = (y_true == y_pred).astype(xp.float64).mean()
        return accuracy, accuracy.copy(), accuracy.copy()
    tp = xp.diagonal(cm)
    precision = _divide(tp, cm.sum(axis=0))
    recall = _divide(tp, cm.sum(axis=1))
    f1 = _divide(2 * precision * recall, precision + recall)
    if average == "macro":
        return tuple(v.sum() / num_classes for v in (precision, recall, f1))
    return precision, recall, f1


def top_k_accuracy(y_true: Array, scores: Array, k: int = 1) -> Array:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError("k must be an int >= 1")
    _scores(scores, 2)
    _labels(y_true, scores.shape[1], scores.shape[0])
    xp = get_array_module(y_true, scores)
    top = xp.argsort(scores, axis=1, kind="stable")[:, -k:]
    hits = (top == y_true[:, None]).any(axis=1)
    return hits.astype(scores.dtype).mean()


def _binary(y_true: Array, scores: Array) -> Array:
    _scores(scores, 1)
    if y_true.dtype.kind not in "biu" or y_true.shape != scores.shape:
        raise ValueError("y_true must be an integer or boolean array shaped like scores")
    if bool(((y_true != 0) & (y_true != 1)).any()):
        raise ValueError("y_true must hold 0 and 1 only")
    positive = y_true == 1
    if bool(positive.all()) or not bool(positive.any()):
        raise ValueError("y_true must hold both classes")
    return positive


def roc_curve(y_true: Array, scores: Array) -> tuple[Array, Array, Array]:
    positive = _binary(y_true, scores)
    xp = get_array_module(scores)
    distinct = xp.unique(scores)[::-1]
    thresholds = xp.concatenate([xp.asarray([xp.inf], dtype=scores.dtype), distinct])
    predicted = scores[None, :] >= thresholds[:, None]
    tp = (predicted & positive[None, :]).sum(axis=1)
    fp = (predicted & ~positive[None, :]).sum(axis=1)
    fpr = (fp / fp[-1]).astype(scores.dtype)
    tpr = (tp / tp[-1]).astype(scores.dtype)
    return fpr, tpr, thresholds


def _pairs_auc(positive: Array, scores: Array) -> Array:
    xp = get_array_module(scores)
    s = scores.astype(xp.float64)
    pos, neg = s[positive][:, None], s[~positive][None, :]
    return ((pos > neg) + 0.5 * (pos == neg)).mean()


def roc_auc(y_true: Array, scores: Array) -> Array:
    positive = _binary(y_true, scores)
    return _pairs_auc(positive, scores).astype(scores.dtype)


def roc_auc_ovr(y_true: Array, scores: Array, average: str | None = "macro") -> Array:
    if average not in ("macro", None):
        raise ValueError("average must be 'macro' or None")
    _scores(scores, 2)
    if scores.shape[1] < 2:
        raise ValueError("one-versus-rest AUC needs two classes or more")
    _labels(y_true, scores.shape[1], scores.shape[0])
    xp = get_array_module(y_true, scores)
    areas = xp.full(scores.shape[1], xp.nan)
    defined = 0
    for c in range(scores.shape[1]):
        positive = y_true == c
        if bool(positive.any()) and not bool(positive.all()):
            areas[c] = _pairs_auc(positive, scores[:, c])
            defined += 1
    if defined == 0:
        raise ValueError("y_true holds one class only")
    if average is None:
        return areas.astype(scores.dtype)
    return xp.nanmean(areas).astype(scores.dtype)
