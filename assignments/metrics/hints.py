"""Hints for metrics: the usual mistakes in evaluating a classifier.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made) and names them, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (students' code, course forums and library issues):

* The confusion matrix transposed, rows the predicted classes: both conventions are in use
  (scikit-learn/scikit-learn#11326 on Wikipedia's example, which puts the predictions in rows;
  accord-net/framework#669, royshil/FoodcamClassifier#7, tidymodels/tune#372,
  nkarasiak/dzetsaka#53); precision and recall swapped follow from reading it the other way.
* Micro and macro averages confused or swapped (memray/seq2seq-keyphrase#23,
  deepset-ai/FARM#501, sacdallago/biotrainer#63, flairNLP/flair#417); the macro F1 taken as
  the harmonic mean of the macro precision and recall (scikit-learn/scikit-learn#7220, #8747
  and #19589, Lightning-AI/torchmetrics#256, flairNLP/flair#486, haifengl/smile#874 and #877,
  which also fixes the weighted average); a macro average over the classes present only, and
  zero_division other than 0 (scikit-learn/scikit-learn#25531 adds NaN, "excluded from the
  average"; fastai/fastai#2192).
* Top-k accuracy and ties: TensorFlow's ``in_top_k`` counts every tie as a hit
  (tensorflow/tensorflow#10767, blue-oil/blueoil#58), scikit-learn ranks the larger index
  first (scikit-learn/scikit-learn#16625, #34425); a stable descending sort ranks the lower
  one first, and ``argmax`` takes the first maximum.
* ROC curves and AUC with ties: ties not collapsed into one threshold, or cut at the wrong end
  of their block (brian-lau/MatlabAUC#1, aidotse/LeakPro#465); tied pairs counted 0 or 1
  instead of 1/2 (ledell/cvAUC#6, smartcorelib/smartcore#373, JackStat/ModelMetrics#10,
  JuliaAI/MLJBase.jl#319; rectangles against trapezoids: mlpack/mlpack#3086).
* The first threshold: ``max(scores) + 1`` in scikit-learn before 1.3, ``inf`` since
  (scikit-learn/scikit-learn#26194; the curve not starting at (0, 0): #9790); thresholds in
  increasing order, as ``np.unique`` sorts them.
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
ROC_ASCENDING = (
    "your curve accumulates the examples from the lowest score up (the scores sorted "
    "ascending, argsort(scores) where argsort(-scores) is meant): a threshold t predicts "
    "positive for the scores >= t, so the counts grow from the highest score down, and the "
    "thresholds decrease after inf"
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


ZERO_DIVISION_ONE = (
    "your result counts an undefined ratio as 1: a class never predicted has precision 0, a "
    "class that never occurs has recall 0, and one that does neither has F1 0 "
    "(scikit-learn's zero_division=0)"
)
MACRO_OVER_PRESENT = (
    "your macro average leaves out the classes missing from the batch: it is the mean over "
    "all K classes, those that occur in neither array counting with their 0"
)
F1_ARITHMETIC = (
    "your F1 is the arithmetic mean (P + R) / 2 of precision and recall: F1 is their harmonic "
    "mean, 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)"
)
MACRO_WEIGHTED = (
    "your macro average weighs each class by its number of examples (scikit-learn's "
    "average='weighted'): the macro average is the unweighted mean, every class counting the "
    "same"
)
TOPK_OFF_BY_ONE = (
    "your top-k accuracy is the top-(k + 1) accuracy: the true class is a hit when fewer than "
    "k classes rank above it (at most k - 1), not at most k"
)
ROC_RATES_OVER_N = (
    "your rates divide by the number of examples: fpr divides the false positives by the "
    "number of negatives, tpr the true positives by the number of positives"
)
AUC_INVERTED = (
    "your AUC is 1 minus the right one, as an area of the examples ranked the wrong way round "
    "gives it (the scores sorted ascending or negated, the classes swapped: class 1 is the "
    "positive class, and a higher score means more likely positive) and so does the area "
    "integrated along the wrong axis (fpr over tpr: np.trapz(y, x) takes y first)"
)
OVR_OVER_ALL_CLASSES = (
    "your macro AUC averages over all K classes, a class missing from y_true included: its "
    "AUC is undefined (no positives), so the mean is over the classes that occur"
)
OVR_WEIGHTED = (
    "your macro AUC weighs each class by its share of the examples (scikit-learn's "
    "average='weighted'): the macro average is the unweighted mean over the classes that "
    "occur"
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


def _share(numerator: Any, denominator: Any, undefined: float = 0.0) -> Any:
    return np.where(denominator > 0, numerator / np.maximum(denominator, 1), undefined)


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
    if average == "micro":
        return found
    cm = reference.confusion_matrix(
        arguments["y_true"], arguments["y_pred"], arguments["num_classes"]
    )
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    per_class = (
        _share(tp, predicted),
        _share(tp, actual),
        _share(2 * tp, predicted + actual),
    )

    def averaged(values: Any, weights: Any = None) -> Any:
        if average is None:
            return values
        return np.float64(np.average(values, weights=weights))

    ones = (
        _share(tp, predicted, 1.0),
        _share(tp, actual, 1.0),
        _share(2 * tp, predicted + actual, 1.0),
    )
    for part, value in enumerate(ones):
        found.append(Suspect(ZERO_DIVISION_ONE, averaged(value), (part,)))
    arithmetic = (per_class[0] + per_class[1]) / 2
    found.append(Suspect(F1_ARITHMETIC, averaged(arithmetic), (2,)))
    if average == "macro":
        found.append(Suspect(MACRO_F1_HARMONIC, _harmonic(precision, recall), (2,)))
        for present in (predicted + actual > 0, actual > 0):
            if present.any():
                means = tuple(np.float64(v[present].mean()) for v in per_class)
                found.append(Suspect(MACRO_OVER_PRESENT, means))
        weighted = tuple(averaged(v, actual) for v in per_class)
        found.append(Suspect(MACRO_WEIGHTED, weighted))
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
    found.append(suspect(function, call, TOPK_OFF_BY_ONE, k=k + 1))
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


def _ascending_curve(labels: Any, scores: Any) -> tuple[Any, Any, Any]:
    """The reference's curve built with the scores sorted ascending: the cumulative counts at
    each distinct score from the lowest up, after the point (0, 0) at inf."""
    scores = np.asarray(scores)
    order = np.argsort(scores, kind="stable")
    ranked = scores[order]
    hits = (np.asarray(labels) == 1)[order]
    last = np.r_[ranked[1:] != ranked[:-1], True]
    tps, fps = np.cumsum(hits)[last], np.cumsum(~hits)[last]
    dtype = scores.dtype
    fpr = np.r_[0.0, fps / max(fps[-1], 1)].astype(dtype)
    tpr = np.r_[0.0, tps / max(tps[-1], 1)].astype(dtype)
    return fpr, tpr, np.r_[np.inf, ranked[last]].astype(dtype)


@diagnoses_for("roc_curve")
def _roc_curve(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.roc_curve, call)
    fpr, tpr, thresholds = reference.roc_curve(**arguments)
    raised = thresholds.copy()
    raised[0] = thresholds[1] + 1  # scikit-learn before 1.3
    labels = np.asarray(arguments["y_true"])
    positives, n = float(np.sum(labels == 1)), float(labels.size)
    over_n = (  # the rates of the counts over N
        (fpr.astype(np.float64) * (n - positives) / n).astype(fpr.dtype),
        (tpr.astype(np.float64) * positives / n).astype(tpr.dtype),
    )
    found: list[Suspect | str] = [
        Suspect(ROC_REVERSED, (fpr[::-1].copy(), tpr[::-1].copy(), thresholds[::-1].copy())),
        # the distinct scores increasing (np.unique), without the point at inf
        Suspect(ROC_REVERSED, (fpr[:0:-1].copy(), tpr[:0:-1].copy(), thresholds[:0:-1].copy())),
        Suspect(ROC_FIRST_POINT, (fpr[1:], tpr[1:], thresholds[1:])),
        Suspect(ROC_FIRST_POINT, raised, (2,)),
        Suspect(ROC_RATES_OVER_N, over_n, (0, 1)),
        Suspect(ROC_ASCENDING, _ascending_curve(labels, arguments["scores"])),
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
        Suspect(AUC_INVERTED, _as_dtype(1 - wins - ties / 2, scores)),
    ]


def _ovr_areas(y_true: Any, scores: Any, tie: float = 0.5, inverted: bool = False) -> Any:
    """Each class's one-versus-rest AUC in float64 (NaN where undefined), with each tied
    pair counted ``tie``, or ``inverted`` (1 - AUC)."""
    scores = np.asarray(scores)
    y_true = np.asarray(y_true)
    areas = np.full(scores.shape[1], np.nan)
    for c in range(scores.shape[1]):
        positive = y_true == c
        if positive.any() and not positive.all():
            wins, ties = _pairs(positive, scores[:, c])
            areas[c] = 1 - wins - ties / 2 if inverted else wins + tie * ties
    return areas


@diagnoses_for("roc_auc_ovr")
def _roc_auc_ovr(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.roc_auc_ovr, call)
    y_true, scores, average = arguments["y_true"], arguments["scores"], arguments["average"]

    def averaged(areas: Any) -> Any:
        return _as_dtype(areas if average is None else np.nanmean(areas), scores)

    found: list[Suspect | str] = [
        computed(AUC_TIES, lambda tie=tie: averaged(_ovr_areas(y_true, scores, tie)))
        for tie in (0.0, 1.0)
    ]
    found.append(
        computed(AUC_INVERTED, lambda: averaged(_ovr_areas(y_true, scores, inverted=True)))
    )
    if average == "macro":
        areas = _ovr_areas(y_true, scores)
        occurs = ~np.isnan(areas)
        for missing in (0.0, 0.5):
            found.append(
                Suspect(
                    OVR_OVER_ALL_CLASSES, _as_dtype(np.where(occurs, areas, missing).mean(), scores)
                )
            )
        counts = np.bincount(np.asarray(y_true).astype(np.int64), minlength=areas.size)
        weighted = np.average(np.where(occurs, areas, 0.0), weights=counts)
        found.append(Suspect(OVR_WEIGHTED, _as_dtype(weighted, scores)))
    return found
