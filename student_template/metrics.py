"""Evaluating a classifier: confusion matrix, precision, recall and F1, top-k accuracy, ROC
curves and the area under them.

Conventions
-----------
* **Labels** are integer arrays of shape ``(N,)`` (``N >= 1`` examples) with values in
  ``0 .. K-1``: ``y_true`` holds the true classes, ``y_pred`` the predicted ones. ``K`` is
  given (``num_classes``) or is the number of columns of the scores, so a class may be missing
  from a batch and still have its row, column or entry in the result.
* **Scores** are floating-point arrays of finite values: ``(N, K)``, one score per example and
  class (logits or probabilities: only their order matters, higher means "more likely this
  class"), or ``(N,)`` for a binary problem, where class 1 is the positive class and higher
  scores mean "more likely positive".
* **Binary labels** (ROC) are an integer or boolean array of shape ``(N,)`` holding only 0
  and 1 (``False`` and ``True``), with at least one of each.
* **Dtypes.** Counts are ``int64``. Rates computed from labels alone (precision, recall, F1)
  are ``float64``. Results computed from scores (top-k accuracy, the ROC curve, AUC) have the
  dtype of the scores (float32 scores give float32 rates, thresholds and AUC). A scalar result
  is a NumPy scalar or a 0-d array of that dtype (what ``x.sum() / n`` gives on NumPy and on
  CuPy, cast with ``.astype``).
* **Undefined ratios are 0** (scikit-learn's ``zero_division=0``): the precision of a class
  that is never predicted, the recall of a class that never occurs, and the F1 of a class that
  does neither, are 0.
* The semantics are scikit-learn's (1.4 or later), function by function:

  ========================================  ===============================================
  here                                      ``sklearn.metrics``
  ========================================  ===============================================
  ``confusion_matrix(t, p, K)``             ``confusion_matrix(t, p, labels=range(K))``
  ``precision_recall_f1(t, p, K, average)`` ``precision_recall_fscore_support(t, p,
                                            labels=range(K), average=average,
                                            zero_division=0)[:3]``
  ``top_k_accuracy(t, scores, k)``          ``top_k_accuracy_score(t, scores, k=k,
                                            labels=range(K))``
  ``roc_curve(t, scores)``                  ``roc_curve(t, scores, drop_intermediate=False)``
  ``roc_auc(t, scores)``                    ``roc_auc_score(t, scores)``
  ``roc_auc_ovr(t, scores)``                ``roc_auc_score(t, scores, multi_class="ovr")``
                                            where every class occurs in ``t`` (see there)
  ========================================  ===============================================

  but for the dtypes above (scikit-learn returns float64 rates for float32 scores).
* Functions never modify their inputs and raise ``ValueError`` for inputs outside these
  conventions (a label out of range, a wrong shape or dtype, one class only where a ROC curve
  needs both).
* Functions must work on NumPy and CuPy arrays alike: create arrays through the module
  returned by ``get_array_module`` (called ``xp`` below), never through ``np`` directly, and
  keep the work in whole-array operations (sorting, cumulative sums, ``bincount``,
  comparisons). No Python loops over examples; a loop over the ``K`` classes is fine.
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


def confusion_matrix(y_true: Array, y_pred: Array, num_classes: int) -> Array:
    """The confusion matrix of a classifier's predictions.

    ``cm[i, j]`` counts the examples whose true class is ``i`` and whose predicted class is
    ``j``: **rows are the true classes, columns the predicted ones** (scikit-learn's
    ``confusion_matrix`` with ``labels=range(K)``). The diagonal counts the correct
    predictions; row ``i`` sums to the number of examples of class ``i``, column ``j`` to the
    number of examples predicted as ``j``. A class that occurs in neither array has a row and
    a column of zeros.

    Args:
        y_true: true classes, integer array ``(N,)``, values in ``0 .. K-1``.
        y_pred: predicted classes, integer array ``(N,)``, values in ``0 .. K-1``.
        num_classes: ``K``, an int ``>= 1``.

    Returns:
        ``cm``, an ``int64`` array of shape ``(K, K)`` summing to ``N``.

    Raises:
        ValueError: for labels outside ``0 .. K-1``, arrays that are not integer ``(N,)``
            arrays of one length, or an empty batch.
    """
    raise NotImplementedError("confusion_matrix is not implemented yet")


def precision_recall_f1(
    y_true: Array, y_pred: Array, num_classes: int, average: str | None = None
) -> tuple[Array, Array, Array]:
    """Precision, recall and F1 score, per class or averaged over the classes.

    For class ``c``, with ``TP`` the examples of class ``c`` predicted as ``c``, ``FP`` those
    of another class predicted as ``c``, and ``FN`` those of class ``c`` predicted as another:

    * ``precision = TP / (TP + FP)``: of the examples predicted as ``c``, the share that are;
    * ``recall = TP / (TP + FN)``: of the examples of class ``c``, the share found;
    * ``f1 = 2 TP / (2 TP + FP + FN)``, the harmonic mean of the two.

    A ratio whose denominator is 0 is 0 (scikit-learn's ``zero_division=0``): a class never
    predicted has precision 0, a class that never occurs has recall 0, one that does neither
    has all three 0.

    ``average`` chooses what is returned:

    * ``None``: the per-class values, arrays of shape ``(K,)``;
    * ``"macro"``: the unweighted mean over all ``K`` classes of each per-class value (each
      class counts the same, rare or not; the classes that are missing from the batch count
      with their 0). The macro F1 is the mean of the per-class F1 scores, **not** the harmonic
      mean of the macro precision and recall;
    * ``"micro"``: the three ratios of the counts summed over the classes (each example counts
      the same): ``sum TP / sum (TP + FP)``, and so on. Every example is one true and one
      predicted class, so ``sum (TP + FP) = sum (TP + FN) = N`` and the micro precision,
      recall and F1 all equal the accuracy.

    Args:
        y_true: true classes, integer array ``(N,)``, values in ``0 .. K-1``.
        y_pred: predicted classes, integer array ``(N,)``, values in ``0 .. K-1``.
        num_classes: ``K``, an int ``>= 1``.
        average: ``None``, ``"macro"`` or ``"micro"``.

    Returns:
        ``(precision, recall, f1)``: three ``float64`` arrays of shape ``(K,)`` for
        ``average=None``, else three ``float64`` scalars (NumPy scalars or 0-d arrays).

    Raises:
        ValueError: for another ``average``, or the inputs ``confusion_matrix`` refuses.
    """
    raise NotImplementedError("precision_recall_f1 is not implemented yet")


def top_k_accuracy(y_true: Array, scores: Array, k: int = 1) -> Array:
    """The share of examples whose true class is among the ``k`` classes of highest score.

    **Ties** between equal scores are broken in favour of the larger class index, as
    scikit-learn's ``top_k_accuracy_score`` does: example ``n`` counts as a hit when fewer
    than ``k`` classes ``c`` rank above its true class ``y = y_true[n]``, where ``c`` ranks
    above ``y`` if ``scores[n, c] > scores[n, y]``, or ``scores[n, c] == scores[n, y]`` and
    ``c > y``. (The top ``k`` are the last ``k`` columns of a stable ascending sort of the
    row.) With ``k = 1`` and no ties this is the accuracy of ``argmax``; with ``k >= K`` every
    example is a hit.

    Args:
        y_true: true classes, integer array ``(N,)``, values in ``0 .. K-1``.
        scores: floating-point array ``(N, K)``.
        k: how many of the highest-scored classes count, an int ``>= 1``.

    Returns:
        The accuracy, a scalar in the dtype of ``scores`` (a NumPy scalar or a 0-d array).

    Raises:
        ValueError: for ``k < 1``, labels outside ``0 .. K-1``, or wrong shapes or dtypes.
    """
    raise NotImplementedError("top_k_accuracy is not implemented yet")


def roc_curve(y_true: Array, scores: Array) -> tuple[Array, Array, Array]:
    """The ROC curve of a binary classifier's scores: one point per distinct score.

    Predicting "positive" for the scores ``>= t`` gives, at the threshold ``t``, the false
    positive rate ``fpr = FP / (number of negatives)`` and the true positive rate
    ``tpr = TP / (number of positives)``. Lowering ``t`` past each distinct score adds one
    point:

    * ``thresholds`` are ``inf`` followed by the **distinct** values of ``scores`` in
      **decreasing** order (equal scores are one threshold: a tie makes one point, reached
      from the previous one by a diagonal step when it holds both positives and negatives);
    * the **first point** is ``(fpr, tpr) = (0, 0)`` at the threshold ``inf`` (nothing is
      predicted positive); the last is ``(1, 1)`` at the lowest score;
    * ``fpr`` and ``tpr`` never decrease.

    This is scikit-learn's ``roc_curve(y_true, scores, drop_intermediate=False)`` (whose first
    threshold is ``inf`` since version 1.3), with the rates in the dtype of the scores.

    Args:
        y_true: integer or boolean array ``(N,)`` of 0 and 1 (1 is positive), with at least
            one positive and one negative.
        scores: floating-point array ``(N,)``, finite.

    Returns:
        ``(fpr, tpr, thresholds)``: three arrays of shape ``(M + 1,)`` in the dtype of
        ``scores``, ``M`` the number of distinct scores.

    Raises:
        ValueError: for labels other than 0 and 1, one class only, or wrong shapes or dtypes.
    """
    raise NotImplementedError("roc_curve is not implemented yet")


def roc_auc(y_true: Array, scores: Array) -> Array:
    """The area under the ROC curve of ``roc_curve``, by the trapezoid rule.

    Each step of the curve, from one threshold's point to the next, adds the area of a
    trapezoid under it: ``(fpr[i+1] - fpr[i]) * (tpr[i+1] + tpr[i]) / 2``. This area equals
    the probability that a random positive scores higher than a random negative, a tie counting
    one half: the Mann-Whitney statistic ``U / (n_pos * n_neg)``,

        ``AUC = (#{(p, q): s_p > s_q} + #{(p, q): s_p == s_q} / 2) / (n_pos * n_neg)``

    over the pairs of a positive ``p`` and a negative ``q``. (Rectangles under the curve would
    count a tied pair as 0 or 1, not 1/2.) Scores that rank every positive above every negative
    give 1, the reverse 0, a constant score 0.5. This is scikit-learn's
    ``roc_auc_score(y_true, scores)``.

    Args:
        y_true: integer or boolean array ``(N,)`` of 0 and 1 (1 is positive), with at least
            one positive and one negative.
        scores: floating-point array ``(N,)``, finite.

    Returns:
        The AUC in ``[0, 1]``, a scalar in the dtype of ``scores`` (a NumPy scalar or a 0-d
        array).

    Raises:
        ValueError: for labels other than 0 and 1, one class only, or wrong shapes or dtypes.
    """
    raise NotImplementedError("roc_auc is not implemented yet")


def roc_auc_ovr(y_true: Array, scores: Array, average: str | None = "macro") -> Array:
    """One-versus-rest AUC of a ``K``-class classifier: for each class ``c``, the AUC of
    ``scores[:, c]`` for telling the examples of class ``c`` (positives) from all others
    (negatives), as ``roc_auc(y_true == c, scores[:, c])``; averaged over the classes, or not.

    A class that does not occur in ``y_true`` has no positives, and its AUC is undefined: it
    is NaN per class and **left out of the macro average**, the unweighted mean of the AUCs of
    the classes that occur (each class counts the same, rare or not). Where every class
    occurs and each row of ``scores`` is a probability distribution, this is scikit-learn's
    ``roc_auc_score(y_true, scores, multi_class="ovr")`` (here the scores need not be
    probabilities: each column is used on its own, only its order matters).

    Args:
        y_true: true classes, integer array ``(N,)``, values in ``0 .. K-1``, with at least
            two different classes.
        scores: floating-point array ``(N, K)``, finite, ``K >= 2``.
        average: ``"macro"`` (the mean) or ``None`` (the AUC of each class).

    Returns:
        For ``"macro"``, a scalar in the dtype of ``scores`` (a NumPy scalar or a 0-d array);
        for ``None``, an array of shape ``(K,)`` in the dtype of ``scores``, NaN for the
        classes missing from ``y_true``.

    Raises:
        ValueError: for another ``average``, one class only in ``y_true``, ``K < 2``, labels
            outside ``0 .. K-1``, or wrong shapes or dtypes.
    """
    raise NotImplementedError("roc_auc_ovr is not implemented yet")
