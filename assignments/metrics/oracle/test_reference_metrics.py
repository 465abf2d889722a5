"""The reference metrics against scikit-learn's, on random batches with ties, missing classes,
constant, perfect and inverted scores; and the AUC against the Mann-Whitney statistic counted
pair by pair."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import solutions.metrics as ref

skm = pytest.importorskip(
    "sklearn.metrics", reason="the metrics' oracle is scikit-learn (the test extra)"
)

TRIALS = 25
DTYPES = [np.float64, np.float32]


def _batch(rng, k, n):
    """``(y_true, y_pred)``: some classes may be missing from either."""
    present = rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False)
    y_true = rng.choice(present, n)
    y_pred = np.where(rng.random(n) < 0.4, y_true, rng.integers(0, k, n))
    if rng.random() < 0.2:  # a constant classifier
        y_pred = np.full(n, int(rng.integers(0, k)))
    return y_true, y_pred


def _scores(rng, shape, dtype):
    kind = rng.integers(0, 3)
    if kind == 0:
        return rng.standard_normal(shape).astype(dtype)
    if kind == 1:  # a coarse grid: ties
        return (rng.integers(0, 4, shape) / 4).astype(dtype)
    return np.full(shape, 0.25, dtype)  # a constant score


def test_confusion_matrix_and_precision_recall_f1_match_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(TRIALS):
        k, n = int(rng.integers(2, 7)), int(rng.integers(1, 50))
        y_true, y_pred = _batch(rng, k, n)
        labels = list(range(k))
        cm = ref.confusion_matrix(y_true, y_pred, k)
        assert cm.dtype == np.int64 and cm.shape == (k, k)
        np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=labels))
        for average in (None, "macro", "micro"):
            got = ref.precision_recall_f1(y_true, y_pred, k, average=average)
            want = skm.precision_recall_fscore_support(
                y_true, y_pred, labels=labels, average=average, zero_division=0
            )[:3]
            for mine, theirs in zip(got, want, strict=True):
                assert np.asarray(mine).dtype == np.float64
                assert np.shape(mine) == ((k,) if average is None else ())
                np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=1e-15)
        micro = ref.precision_recall_f1(y_true, y_pred, k, average="micro")
        assert all(float(v) == pytest.approx(float(np.mean(y_true == y_pred))) for v in micro)


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_k_accuracy_matches_sklearn_ties_included(dtype):
    rng = np.random.default_rng(1)
    for _ in range(TRIALS):
        k, n = int(rng.integers(3, 7)), int(rng.integers(1, 40))
        y_true = rng.integers(0, k, n)
        scores = _scores(rng, (n, k), dtype)
        for top in range(1, k + 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # k >= K: "the result is always 1"
                want = skm.top_k_accuracy_score(y_true, scores, k=top, labels=list(range(k)))
            got = ref.top_k_accuracy(y_true, scores, k=top)
            assert np.asarray(got).dtype == dtype and np.ndim(got) == 0
            assert float(got) == pytest.approx(want, rel=1e-6), (top, scores, y_true)


def _binary(rng, n, dtype):
    y_true = rng.integers(0, 2, n)
    y_true[:2] = [0, 1]
    kind = rng.integers(0, 5)
    if kind == 3:  # perfect
        return y_true, (y_true + rng.random(n) / 2).astype(dtype)
    if kind == 4:  # inverted
        return y_true, (-(y_true + rng.random(n) / 2)).astype(dtype)
    return y_true, _scores(rng, n, dtype)


def _mann_whitney(y_true, scores):
    pos = scores[y_true == 1].astype(np.float64)[:, None]
    neg = scores[y_true == 0].astype(np.float64)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_roc_curve_and_auc_match_sklearn(dtype):
    rng = np.random.default_rng(2)
    for _ in range(TRIALS):
        y_true, scores = _binary(rng, int(rng.integers(2, 60)), dtype)
        fpr, tpr, thresholds = ref.roc_curve(y_true, scores)
        want_fpr, want_tpr, want_thresholds = skm.roc_curve(y_true, scores, drop_intermediate=False)
        for got in (fpr, tpr, thresholds):
            assert got.dtype == dtype and got.shape == (len(np.unique(scores)) + 1,)
        np.testing.assert_array_equal(thresholds, want_thresholds.astype(dtype))
        np.testing.assert_allclose(fpr, want_fpr, rtol=1e-6)
        np.testing.assert_allclose(tpr, want_tpr, rtol=1e-6)
        assert thresholds[0] == np.inf and fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
        auc = ref.roc_auc(y_true, scores)
        assert np.asarray(auc).dtype == dtype and np.ndim(auc) == 0
        assert float(auc) == pytest.approx(skm.roc_auc_score(y_true, scores), rel=1e-6)
        assert float(auc) == pytest.approx(_mann_whitney(y_true, scores), rel=1e-6)
        trapezoids = np.sum(np.diff(fpr.astype(np.float64)) * (tpr[1:] + tpr[:-1]) / 2)
        assert float(auc) == pytest.approx(trapezoids, rel=1e-6)


def test_roc_auc_extremes_and_boolean_labels():
    y_true = np.array([True, False, True, False, False])
    assert float(ref.roc_auc(y_true, np.array([0.9, 0.1, 0.8, 0.2, 0.3]))) == 1.0
    assert float(ref.roc_auc(y_true, np.array([0.1, 0.9, 0.2, 0.8, 0.7]))) == 0.0
    assert float(ref.roc_auc(y_true, np.full(5, 0.5))) == 0.5


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_versus_rest_auc_matches_sklearn(dtype):
    rng = np.random.default_rng(3)
    for _ in range(TRIALS):
        k, n = int(rng.integers(3, 6)), int(rng.integers(8, 60))
        y_true = rng.integers(0, k, n)
        y_true[:k] = np.arange(k)
        logits = _scores(rng, (n, k), np.float64) + 2.0 * np.eye(k)[y_true] * rng.random()
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probabilities = probabilities.astype(dtype)
        got = ref.roc_auc_ovr(y_true, probabilities)
        assert np.asarray(got).dtype == dtype and np.ndim(got) == 0
        # sklearn checks that rows sum to 1 in float64
        want = skm.roc_auc_score(
            y_true,
            probabilities.astype(np.float64) / probabilities.sum(1, keepdims=True),
            multi_class="ovr",
        )
        assert float(got) == pytest.approx(want, rel=1e-5)


def test_one_versus_rest_auc_leaves_out_the_missing_classes():
    rng = np.random.default_rng(4)
    for _ in range(TRIALS):
        k, n = int(rng.integers(3, 7)), int(rng.integers(4, 50))
        present = rng.choice(k, size=int(rng.integers(2, k)), replace=False)
        y_true = rng.choice(present, n)
        y_true[: len(present)] = present
        scores = _scores(rng, (n, k), np.float64)
        per_class = ref.roc_auc_ovr(y_true, scores, average=None)
        assert per_class.shape == (k,) and per_class.dtype == np.float64
        want = np.full(k, np.nan)
        for c in present:
            want[c] = skm.roc_auc_score(y_true == c, scores[:, c])
        np.testing.assert_allclose(per_class, want, rtol=1e-12)
        macro = float(ref.roc_auc_ovr(y_true, scores))
        assert macro == pytest.approx(np.nanmean(want), rel=1e-12)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.integers(0, 4, 30), rng.integers(0, 4, 30)
    scores = rng.standard_normal((30, 4))
    copies = [a.copy() for a in (y_true, y_pred, scores)]
    ref.confusion_matrix(y_true, y_pred, 4)
    ref.precision_recall_f1(y_true, y_pred, 4, average="macro")
    ref.top_k_accuracy(y_true, scores, k=2)
    ref.roc_curve(y_true % 2, scores[:, 0])
    ref.roc_auc(y_true % 2, scores[:, 0])
    ref.roc_auc_ovr(y_true, scores)
    for original, copy in zip((y_true, y_pred, scores), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ref.confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3),
        lambda: ref.confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 3),
        lambda: ref.confusion_matrix(np.array([0.0, 1.0]), np.array([0, 1]), 3),
        lambda: ref.precision_recall_f1(np.array([0]), np.array([0]), 1, average="weighted"),
        lambda: ref.top_k_accuracy(np.array([0]), np.array([[0.5, 0.5]]), k=0),
        lambda: ref.roc_curve(np.array([1, 1]), np.array([0.2, 0.3])),
        lambda: ref.roc_curve(np.array([0, 2]), np.array([0.2, 0.3])),
        lambda: ref.roc_auc(np.array([0, 1]), np.array([0.2, np.nan])),
        lambda: ref.roc_auc_ovr(np.array([1, 1]), np.array([[0.2, 0.8], [0.4, 0.6]])),
        lambda: ref.roc_auc_ovr(np.array([0, 0]), np.array([[0.2], [0.4]])),
    ],
)
def test_invalid_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
