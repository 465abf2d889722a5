"""Hints for metrics: the usual mistakes in evaluating a classifier.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made) and names them, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (students' code, course forums and library issues):

* The confusion matrix transposed, rows the predicted classes: the two conventions coexist
  (scikit-learn and most textbooks put the true classes in rows; Wikipedia's "Confusion
  matrix" article and several plotting tools put the predicted ones), scikit-learn/
  scikit-learn#3045 and #21734; precision and recall swapped follow from reading the matrix
  the other way (a column sum where a row sum belongs).
* Micro and macro averages confused, and the macro F1 taken as the harmonic mean of the
  macro precision and recall: Opitz and Burst, "Macro F1 and Macro F1" (2019), on the two
  formulas both in use; scikit-learn/scikit-learn#10843 and Lightning-AI/torchmetrics#234.
* Top-k accuracy computed with ``argmax`` whatever ``k``, and ties broken the other way (a
  stable descending sort ranks the lower index first; scikit-learn ranks the larger first):
  scikit-learn/scikit-learn#19135 and #17097, pytorch/pytorch#27542 (``topk``'s order of
  ties is unspecified).
* ROC curves with one point per example, tied scores not collapsed into one threshold, and
  an AUC by rectangles that counts a tied (positive, negative) pair as 0 or 1 instead of 1/2:
  scikit-learn/scikit-learn#3097 and #13622, Lightning-AI/torchmetrics#1009.
* Thresholds listed in increasing order (``np.unique`` sorts up), and the first point's
  threshold: ``max(scores) + 1`` before scikit-learn 1.3, ``inf`` since (scikit-learn/
  scikit-learn#26194), or the point ``(0, 0)`` left out altogether.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import Call, Suspect, bound, computed, diagnoses_for, suspect

CM_TRANSPOSED = (
    "your confusion matrix is transposed: rows are the true classes and columns the predicted "
    "ones, cm[i, j] counting the examples of class i predicted as j (row i sums to the number "
    "of examples of class i)"
)
PR_SWAPPED = (
    "your precision and recall are swapped: precision divides TP by the number of examples "
    "predicted as the class (a column sum of the confusion matrix), recall by the number of "
    "examples of the class (a row sum)"
)
AVERAGES_SWAPPED = (
    "your macro and micro averages are swapped: macro is the unweighted mean of the per-class "
    "values (every class counts the same), micro the ratio of the counts summed over the "
    "classes (every example counts the same; with one label per example it is the accuracy)"
)
MACRO_F1_HARMONIC = (
    "your macro F1 is the harmonic mean of the macro precision and the macro recall: the "
    "macro F1 is the mean of the per-class F1 scores"
)
TOPK_ARGMAX = (
    "your top-k accuracy counts only the class of highest score (top-1) whatever k: the true "
    "class is a hit when fewer than k classes rank above it"
)
TOPK_TIES = (
    "your top-k accuracy breaks ties between equal scores another way: a class with a score "
    "equal to the true class's ranks above it when its index is larger (scikit-learn's rule: "
    "the last k of a stable ascending sort), so count the classes c with scores[c] > "
    "scores[y], or scores[c] == scores[y] and c > y"
)
ROC_NOT_COLLAPSED = (
    "your thresholds repeat a score: tied scores make one threshold and one point of the "
    "curve (thresholds are the distinct scores, decreasing, after inf), not one point per "
    "example"
)
ROC_REVERSED = (
    "your curve runs the wrong way: thresholds decrease (inf first, then the distinct scores "
    "from the highest), so fpr and tpr grow from (0, 0) to (1, 1)"
)
ROC_FIRST_POINT = (
    "your curve's first point is not (0, 0) at the threshold inf: the curve starts where "
    "nothing is predicted positive, at the threshold inf (scikit-learn since 1.3; before, "
    "max(scores) + 1), and the distinct scores follow"
)
AUC_TIES = (
    "your AUC counts a tie between a positive and a negative score as 0 or 1, as rectangles "
    "under the curve do: a tie makes a diagonal step, and the trapezoid under it counts each "
    "tied pair one half (the Mann-Whitney statistic)"
)


def _as_dtype(value: Any, like: Any) -> Any:
    """``value`` (a float64 scalar or array) in the dtype of ``like``'s scores."""
    dtype = np.asarray(like).dtype
    return np.asarray(value, np.float64).astype(dtype)[()]


@diagnoses_for("confusion_matrix")
def _confusion_matrix(reference: Any, call: Call) -> list[Suspect | str]:
    correct = reference.confusion_matrix(**bound(reference.confusion_matrix, call))
    return [Suspect(CM_TRANSPOSED, np.ascontiguousarray(correct.T))]


def _harmonic(precision: Any, recall: Any) -> Any:
    total = precision + recall
    return np.float64(2 * precision * recall / total if total > 0 else 0.0)


@diagnoses_for("precision_recall_f1")
def _precision_recall_f1(reference: Any, call: Call) -> list[Suspect | str]:
    function = reference.precision_recall_f1
    arguments = bound(function, call)
    precision, recall, _ = function(**arguments)
    found: list[Suspect | str] = [Suspect(PR_SWAPPED, (recall, precision), (0, 1))]
    average = arguments["average"]
    if average in ("macro", "micro"):
        other = "micro" if average == "macro" else "macro"
        found.append(suspect(function, call, AVERAGES_SWAPPED, average=other))
    if average == "macro":
        found.append(Suspect(MACRO_F1_HARMONIC, _harmonic(precision, recall), (2,)))
    return found


def _top_k(y_true: Any, scores: Any, k: int, rule: str) -> Any:
    """Top-k accuracy with ties broken by ``rule``: ``"lower_index"`` (a stable descending
    sort), ``"never_above"`` (only higher scores rank above) or ``"always_above"``."""
    scores = np.asarray(scores)
    y = np.asarray(y_true).astype(np.int64)[:, None]
    own = np.take_along_axis(scores, y, axis=1)
    index = np.arange(scores.shape[1])[None, :]
    tied = (scores == own) & (index != y)
    if rule == "lower_index":
        tied &= index < y
    elif rule == "never_above":
        tied &= False
    above = (scores > own) | tied
    return _as_dtype(np.mean(above.sum(axis=1) < k), scores)


@diagnoses_for("top_k_accuracy")
def _top_k_accuracy(reference: Any, call: Call) -> list[Suspect | str]:
    function = reference.top_k_accuracy
    arguments = bound(function, call)
    y_true, scores, k = arguments["y_true"], arguments["scores"], arguments["k"]
    found: list[Suspect | str] = []
    if k > 1:
        found.append(suspect(function, call, TOPK_ARGMAX, k=1))
        found.append(computed(TOPK_ARGMAX, lambda: _top_k(y_true, scores, 1, "lower_index")))
    for rule in ("lower_index", "never_above", "always_above"):
        found.append(computed(TOPK_TIES, lambda rule=rule: _top_k(y_true, scores, k, rule)))
    return found


def _repeats_a_threshold(result: Any) -> bool:
    """Whether a ROC result's thresholds (its third item) hold a value twice."""
    if not isinstance(result, tuple | list) or len(result) != 3:
        return False
    thresholds = result[2]
    if type(thresholds) is not np.ndarray or thresholds.ndim != 1:
        return False
    return bool(np.unique(thresholds).size < thresholds.size)


@diagnoses_for("roc_curve")
def _roc_curve(reference: Any, call: Call) -> list[Suspect | str]:
    fpr, tpr, thresholds = reference.roc_curve(**bound(reference.roc_curve, call))
    raised = thresholds.copy()
    raised[0] = thresholds[1] + 1  # scikit-learn before 1.3
    found: list[Suspect | str] = [
        Suspect(ROC_REVERSED, (fpr[::-1].copy(), tpr[::-1].copy(), thresholds[::-1].copy())),
        # the distinct scores increasing (np.unique), without the point at inf
        Suspect(ROC_REVERSED, (fpr[:0:-1].copy(), tpr[:0:-1].copy(), thresholds[:0:-1].copy())),
        Suspect(ROC_FIRST_POINT, (fpr[1:], tpr[1:], thresholds[1:])),
        Suspect(ROC_FIRST_POINT, raised, (2,)),
    ]
    if _repeats_a_threshold(call.result):
        found.append(ROC_NOT_COLLAPSED)
    return found


def _pairs(positive: Any, scores: Any) -> tuple[Any, Any]:
    """The shares of (positive, negative) pairs ranked right, and tied."""
    scores = np.asarray(scores, np.float64)
    above = scores[positive][:, None] > scores[~positive][None, :]
    tied = scores[positive][:, None] == scores[~positive][None, :]
    return np.mean(above), np.mean(tied)


@diagnoses_for("roc_auc")
def _roc_auc(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.roc_auc, call)
    scores = arguments["scores"]
    wins, ties = _pairs(np.asarray(arguments["y_true"]) == 1, scores)
    return [
        Suspect(AUC_TIES, _as_dtype(wins, scores)),
        Suspect(AUC_TIES, _as_dtype(wins + ties, scores)),
    ]


def _ovr_with_ties_as(tie: float, y_true: Any, scores: Any, average: Any) -> Any:
    """One-versus-rest AUC with each tied pair counted ``tie``."""
    scores = np.asarray(scores)
    y_true = np.asarray(y_true)
    areas = np.full(scores.shape[1], np.nan)
    for c in range(scores.shape[1]):
        positive = y_true == c
        if positive.any() and not positive.all():
            wins, ties = _pairs(positive, scores[:, c])
            areas[c] = wins + tie * ties
    return _as_dtype(areas if average is None else np.nanmean(areas), scores)


@diagnoses_for("roc_auc_ovr")
def _roc_auc_ovr(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.roc_auc_ovr, call)
    y_true, scores, average = arguments["y_true"], arguments["scores"], arguments["average"]
    return [
        computed(AUC_TIES, lambda tie=tie: _ovr_with_ties_as(tie, y_true, scores, average))
        for tie in (0.0, 1.0)
    ]
