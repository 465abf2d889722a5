"""Hints for activations_losses: the usual mistakes in activations and losses.

Each diagnosis recognises mistakes from a failed test's recorded calls (it computes what the
call returns with the mistake made) and names them, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (course code, students' questions and framework issues):

* Softmax's derivative taken as its diagonal ``s * (1 - s)``: Cross Validated, "Softmax layer
  in a neural network" (the numeric gradient check fails); datascience.stackexchange.com
  question 64746.
* Label smoothing spread over the K - 1 wrong classes: pytorch/pytorch#7455 (a snippet with
  ``smoothing / (classNum - 1)``), CoinCheung/pytorch-loss#19, mindspore-ai/mindspore#73;
  PyTorch (and the Inception-v3 paper) spread ``eps / K`` over all K classes.
* The hinge loss summed over every class, the label's own ``max(0, margin)`` included: CS231n's
  ``svm_loss_naive`` skips it (``if j == y[i]: continue``).
* Focal loss's alpha on the wrong class: liuyuisanai/Focal-Loss#4, unsky/focal-loss#9,
  fudannlp16/focal-loss#6, clcarwin/focal_loss_pytorch#10.
* The focal modulator ``(1 - p_t) ** gamma`` treated as a constant in the gradient (detached
  weights): it is a function of the logits too.
* Distillation without ``T ** 2``: IntelLabs/distiller#122, keras-team/keras-io#869; with
  ``kl_div(reduction="mean")`` (a mean over the N * K elements) instead of ``"batchmean"``:
  pytorch/pytorch#14457 and #7006, yuanli2333/Teacher-free-Knowledge-Distillation#41,
  facebookresearch/deit#61, HikariTJU/LD#74.
* MSE's gradient without its factor 2: davisking/dlib#1169 (a loss written as
  ``0.5 * (x - y) ** 2``), ooples/AiDotNet#481.
* The L2 penalty without its 1/2: CS231n's ``reg * np.sum(W * W)`` with ``dW += 2 * reg * W``
  (melvin018/Computer-Vision- ``svm_classifier.py``) where this assignment's penalty is
  ``strength / 2 * sum(w ** 2)``.
* The kinks and the axis: ReLU-like gradients at exactly 0 (PyTorch's leaky ReLU has slope
  ``negative_slope`` there), a softmax taken along the last axis whatever ``axis`` says, and
  the sigmoid's backward fed the forward input as if it were the output (CS231n's caches keep
  the output; this assignment passes ``x``).
* Leaky ReLU's slope left at another framework's default: TensorFlow's ``tf.nn.leaky_relu``
  takes 0.2 and Keras's ``LeakyReLU`` 0.3 (jinyu121/DW2TF#2, Dobiasd/frugally-deep#446;
  pytorch/pytorch#10349 on PyTorch's own two defaults); PyTorch's functional default is 0.01.
* Leaky ReLU written as ``maximum(x, slope * x)``, right only for slopes up to 1:
  tensorflow/tensorflow#24566 (``tf.nn.leaky_relu`` itself was written so).
* Tanh's backward fed the forward input as if it were the output, ``dout * (1 - x ** 2)``:
  CS231n's ``rnn_step_backward`` caches ``next_h = tanh(...)`` and uses ``1 - next_h ** 2``;
  apache/mxnet#4316 (a ``tanh_grad`` taken for wrong until the input / output difference was
  seen), davidrmiller/neural2d#40.
* The cross-entropy gradient not divided by the batch size: janchorowski/nn_assignments#21,
  apache/mxnet#2215, victorlempitsky/Mate#2 (CS231n's ``dW /= num_train``); and the gradient
  kept at ``p - onehot`` when label smoothing is added to the loss only.
* The hinge gradient without the label's column (``dW[:, y[i]] -= X[i]`` forgotten):
  bruceoutdoors/CS231n#5 (``= -counts`` for ``-= counts``), mantasu/cs231n#9 (why the
  subtraction is there).
* MSE averaged over the batch axis only (D2L's ``l.sum() / batch_size``, a mean over the
  examples) where ``mse_loss`` averages over every element.
* The temperature applied to the student's logits only: huawei-noah/Pretrained-Language-Model#11
  (TinyBERT's paper and code disagree on softening the teacher).
* The multiclass focal loss's ``alpha`` kept in the loss and forgotten in the hand-written
  gradient (a forgotten factor in the backward pass).
* The L1 gradient at ``pred == target`` taken as +1 or -1 (``where(d > 0, 1, -1)``): PyTorch's
  ``l1_loss`` itself gave 1 there (pytorch/pytorch#7172); jax-ml/jax#37820; torch/nn#43.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    diagnoses_for,
    in_dtype_of,
    matches,
    non_finite,
    suspect,
)

OVERFLOW = (
    "your result holds NaN or inf where the right one is finite: an exp overflowed, "
    "or a log (or a division) met 0. Subtract the row maximum before exp, take log-"
    "probabilities as z - max - log(sum(exp(z - max))) instead of log(softmax), and "
    "only take exp of non-positive numbers (sigmoid: use exp(-|x|))"
)
RELU_AT_ZERO = "ReLU's gradient at exactly x = 0 is taken as 0 (as in PyTorch): use x > 0"
LEAKY_AT_ZERO = (
    "your leaky ReLU gradient is 1 at exactly x = 0: PyTorch takes the negative slope "
    "there (x > 0 gets 1, x <= 0 gets negative_slope)"
)
SIGMOID_OF_INPUT = (
    "your gradient is dout * x * (1 - x), as if x were the sigmoid's output: backward gets "
    "the forward input, so compute s = sigmoid(x) first and use dout * s * (1 - s)"
)
SOFTMAX_DIAGONAL = (
    "your softmax gradient keeps only the Jacobian's diagonal, dout * s * (1 - s): every "
    "output depends on every input, dx = s * (dout - sum(dout * s, axis, keepdims=True))"
)
SOFTMAX_LAST_AXIS = (
    "your softmax is normalized along the last axis whatever axis says: take the maximum "
    "and the sum along axis (keepdims=True)"
)
SMOOTHING_OVER_K_MINUS_1 = (
    "your label smoothing spreads eps over the K - 1 wrong classes (eps / (K - 1) each): "
    "PyTorch's target is (1 - eps) * onehot + eps / K, every class, the right one included"
)
HINGE_LABEL_COUNTED = (
    "your hinge loss counts the label's own term, max(0, margin - s_y + s_y) = margin, for "
    "every example: sum over j != y_i only"
)
HINGE_UNDIVIDED_OR_LABEL_COUNTED = (
    "your loss is what two mistakes give alike for these scores: the sum over the classes "
    "left undivided by K (multi_margin_loss divides it by the number of classes), or the "
    "label's term max(0, margin) counted in every example (sum over j != y_i only)"
)
MSE_WITHOUT_2 = (
    "your MSE gradient is half the right one: the derivative of (pred - target) ** 2 is "
    "2 * (pred - target), divided by the number of elements"
)
FOCAL_ALPHA_SWAPPED = (
    "your focal loss weighs the positives by 1 - alpha and the negatives by alpha: "
    "torchvision's weight is alpha * t + (1 - alpha) * (1 - t), alpha for the targets t = 1"
)
FOCAL_MODULATOR_CONSTANT = (
    "your focal gradient treats the modulating factor (1 - p_t) ** gamma as a constant: it "
    "depends on the logits too, so its derivative adds a second term (see the docstring's "
    "formula)"
)
DISTILLATION_WITHOUT_T2 = (
    "your distillation loss and gradient lack the factor T ** 2: Hinton et al. multiply the "
    "KL divergence by T ** 2 so that the gradient's size does not shrink with the temperature"
)
DISTILLATION_MEAN_OVER_K = (
    "your distillation loss is averaged over the N * K elements (kl_div's "
    "reduction='mean'): the KL divergence sums over the classes and averages over the N "
    "examples only (reduction='batchmean')"
)
L2_WITHOUT_HALF = (
    "your L2 penalty is strength * sum(w ** 2) with gradient 2 * strength * w (CS231n's "
    "convention): this assignment's penalty is strength / 2 * sum(w ** 2), whose gradient is "
    "strength * w"
)

LEAKY_DEFAULT_SLOPE = (
    "your leaky ReLU matches negative_slope left at TensorFlow's default 0.2 (or Keras's 0.3): "
    "PyTorch's default, and this assignment's, is negative_slope=0.01"
)
LEAKY_AS_MAXIMUM = (
    "your leaky ReLU is maximum(x, negative_slope * x), which is right only for slopes up to "
    "1: for a slope above 1 it keeps slope * x for positive x; use where(x > 0, x, slope * x)"
)
TANH_OF_INPUT = (
    "your gradient is dout * (1 - x ** 2), as if x were tanh's output: backward gets the "
    "forward input, so compute t = tanh(x) first and use dout * (1 - t ** 2)"
)
CE_GRADIENT_NOT_MEAN = (
    "your cross-entropy gradient is N times the right one (N = the number of examples): the "
    "loss is a mean over the examples, so its gradient is (p - q) / N"
)
CE_GRADIENT_WITHOUT_SMOOTHING = (
    "your cross-entropy gradient ignores label smoothing, (p - onehot(y)) / N: the loss's "
    "target is q = (1 - eps) * onehot + eps / K, so the gradient is (p - q) / N"
)
HINGE_LABEL_COLUMN_MISSING = (
    "your hinge gradient leaves the label's column out: s_y is subtracted in every active "
    "term, so dscores[i, y_i] = -(the number of active terms of row i) / (N * K)"
)
MSE_MEAN_OVER_BATCH = (
    "your MSE is averaged over the first axis (the batch) only: mse_loss averages over all "
    "pred.size elements, in the loss and in its gradient 2 * (pred - target) / pred.size"
)
DISTILLATION_TEACHER_NOT_SOFTENED = (
    "your distillation loss matches the teacher's softmax taken without the temperature: "
    "soften both, p = softmax(student_logits / T) and q = softmax(teacher_logits / T)"
)
FOCAL_GRADIENT_WITHOUT_ALPHA = (
    "your multiclass focal gradient lacks the factor alpha: the loss is multiplied by alpha, "
    "so its gradient is too"
)
L1_GRADIENT_AT_KINK = (
    "your L1 gradient is +1 or -1 where pred equals target: use sign(pred - target) / "
    "pred.size, which is 0 there (PyTorch's convention)"
)


def _scalar(value: Any, like: Any) -> Any:
    return np.asarray(value, np.float64).astype(like.dtype)[()]


def _log_softmax(z: Any, axis: int = 1) -> Any:
    z = np.asarray(z, np.float64)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _one_hot(y: Any, k: int) -> Any:
    return (np.asarray(y)[:, None] == np.arange(k)[None, :]).astype(np.float64)


def _overflow(reference: Any, call: Call) -> list[Suspect | str]:
    expected = getattr(reference, call.function)(*call.args, **call.kwargs)
    if non_finite(call.result) and not non_finite(expected):
        return [OVERFLOW]
    return []


@diagnoses_for("sigmoid_forward", "softmax_forward", "softmax_backward")
def _softmax_and_sigmoid(reference: Any, call: Call) -> list[Suspect | str]:
    found = _overflow(reference, call)
    if call.function == "sigmoid_forward":
        return found
    function = getattr(reference, call.function)
    arguments = bound(function, call)
    x, axis = arguments["x"], arguments["axis"]
    if not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        return found
    if axis % x.ndim != x.ndim - 1:
        found.append(suspect(function, call, SOFTMAX_LAST_AXIS, axis=-1))
    if call.function == "softmax_backward":
        s = np.asarray(reference.softmax_forward(x, axis), np.float64)
        dout = np.asarray(arguments["dout"], np.float64)
        found.append(Suspect(SOFTMAX_DIAGONAL, in_dtype_of(dout * s * (1 - s), x)))
    return found


@diagnoses_for("sigmoid_backward")
def _sigmoid_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.sigmoid_backward, call)
    x = np.asarray(arguments["x"], np.float64)
    dout = np.asarray(arguments["dout"], np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        of_input = dout * x * (1 - x)
    return [
        *_overflow(reference, call),
        Suspect(SIGMOID_OF_INPUT, in_dtype_of(of_input, arguments["x"])),
    ]


@diagnoses_for("relu_backward")
def _relu_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.relu_backward, call)
    dout, x = arguments["dout"], arguments["x"]
    return [Suspect(RELU_AT_ZERO, np.where(x >= 0, dout, 0).astype(x.dtype))]


def _default_slopes(function: Any, call: Call, position: int) -> list[Suspect | str]:
    """Another framework's default slope, where the call leaves negative_slope at its default
    (a call that passes it says nothing of the default the student wrote)."""
    if len(call.args) > position or "negative_slope" in call.kwargs:
        return []
    return [
        suspect(function, call, LEAKY_DEFAULT_SLOPE, negative_slope=slope) for slope in (0.2, 0.3)
    ]


@diagnoses_for("leaky_relu_forward")
def _leaky_relu_forward(reference: Any, call: Call) -> list[Suspect | str]:
    function = reference.leaky_relu_forward
    arguments = bound(function, call)
    x, slope = arguments["x"], arguments["negative_slope"]
    found = _default_slopes(function, call, 1)
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        as_maximum = np.maximum(x, x * x.dtype.type(slope))  # what the student's line computes
        found.append(Suspect(LEAKY_AS_MAXIMUM, as_maximum))
    return found


@diagnoses_for("leaky_relu_backward")
def _leaky_relu_backward(reference: Any, call: Call) -> list[Suspect | str]:
    function = reference.leaky_relu_backward
    arguments = bound(function, call)
    x, slope = arguments["x"], arguments["negative_slope"]
    dout = np.asarray(arguments["dout"], np.float64)
    return [
        Suspect(LEAKY_AT_ZERO, in_dtype_of(np.where(x >= 0, dout, slope * dout), x)),
        *_default_slopes(function, call, 2),
    ]


@diagnoses_for("tanh_backward")
def _tanh_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.tanh_backward, call)
    x = np.asarray(arguments["x"], np.float64)
    dout = np.asarray(arguments["dout"], np.float64)
    return [Suspect(TANH_OF_INPUT, in_dtype_of(dout * (1 - x * x), arguments["x"]))]


@diagnoses_for("softmax_cross_entropy")
def _cross_entropy(reference: Any, call: Call) -> list[Suspect | str]:
    found = _overflow(reference, call)
    arguments = bound(reference.softmax_cross_entropy, call)
    logits, y, eps = arguments["logits"], np.asarray(arguments["y"]), arguments["label_smoothing"]
    if logits.ndim == 2 and logits.shape[0] > 1 and y.shape == logits.shape[:1]:
        _, grad = reference.softmax_cross_entropy(**arguments)
        summed = np.asarray(grad, np.float64) * logits.shape[0]
        found.append(Suspect(CE_GRADIENT_NOT_MEAN, in_dtype_of(summed, logits), (1,)))
    if logits.ndim != 2 or logits.shape[1] < 2 or not 0 < eps <= 1 or y.shape != logits.shape[:1]:
        return found
    n, k = logits.shape
    log_p = _log_softmax(logits)
    onehot = _one_hot(y, k)
    q = (1 - eps) * onehot + eps / (k - 1) * (1 - onehot)
    loss = -(q * log_p).sum() / n
    grad = (np.exp(log_p) - q) / n
    found.append(
        Suspect(SMOOTHING_OVER_K_MINUS_1, (_scalar(loss, logits), in_dtype_of(grad, logits)))
    )
    unsmoothed = (np.exp(log_p) - onehot) / n  # the gradient of the loss without smoothing
    found.append(Suspect(CE_GRADIENT_WITHOUT_SMOOTHING, in_dtype_of(unsmoothed, logits), (1,)))
    return found


@diagnoses_for("multiclass_hinge")
def _hinge(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.multiclass_hinge, call)
    loss, grad = reference.multiclass_hinge(**arguments)
    scores = arguments["scores"]
    k = scores.shape[1]
    hint = (
        f"your loss is K = {k} times the expected one: multi_margin_loss (and this "
        "assignment) divides the sum over classes by the number of classes"
    )
    with_label = _scalar(np.float64(loss) + arguments["margin"] / k, scores)
    without_label_column = np.where(_one_hot(arguments["y"], k) > 0, 0, grad).astype(grad.dtype)
    label_column = Suspect(HINGE_LABEL_COLUMN_MISSING, without_label_column, (1,))
    if matches(with_label, loss * k):  # the two mistakes give one loss: say so in one hint
        return [Suspect(HINGE_UNDIVIDED_OR_LABEL_COUNTED, with_label, (0,)), label_column]
    return [
        Suspect(hint, loss * k, (0,)),
        Suspect(HINGE_LABEL_COUNTED, (with_label, grad)),
        label_column,
    ]


@diagnoses_for("mse_loss")
def _mse(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.mse_loss, call)
    pred = arguments["pred"]
    loss, grad = reference.mse_loss(**arguments)
    found: list[Suspect | str] = [
        Suspect(MSE_WITHOUT_2, in_dtype_of(np.asarray(grad, np.float64) / 2, pred), (1,))
    ]
    if pred.ndim > 1 and pred.shape[0] > 0:
        per_batch = pred.size / pred.shape[0]  # a mean over the first axis: size / N times more
        found.append(
            Suspect(
                MSE_MEAN_OVER_BATCH,
                (
                    _scalar(np.float64(loss) * per_batch, pred),
                    in_dtype_of(np.asarray(grad, np.float64) * per_batch, pred),
                ),
            )
        )
    return found


@diagnoses_for("l1_loss")
def _l1(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.l1_loss, call)
    pred = arguments["pred"]
    diff = pred - np.asarray(arguments["target"]).astype(pred.dtype)
    return [
        Suspect(L1_GRADIENT_AT_KINK, in_dtype_of(np.where(kink, 1.0, -1.0) / pred.size, pred), (1,))
        for kink in (diff > 0, diff >= 0)  # the student's where(d > 0, 1, -1), or d >= 0
    ]


@diagnoses_for("binary_focal_loss")
def _binary_focal(reference: Any, call: Call) -> list[Suspect | str]:
    found = _overflow(reference, call)
    arguments = bound(reference.binary_focal_loss, call)
    alpha, gamma = arguments["alpha"], arguments["gamma"]
    if 0 <= alpha <= 1:
        found.append(
            suspect(reference.binary_focal_loss, call, FOCAL_ALPHA_SWAPPED, alpha=1 - alpha)
        )
    x = np.asarray(arguments["logits"], np.float64)
    t = np.asarray(arguments["targets"], np.float64)
    if gamma > 0 and x.shape == t.shape and x.size:
        p = np.exp(-np.logaddexp(0.0, -x))  # sigmoid, without overflow
        away = 1 - (p * t + (1 - p) * (1 - t))
        weight = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else 1.0
        grad = (p - t) * away**gamma * weight / x.size
        found.append(
            Suspect(FOCAL_MODULATOR_CONSTANT, in_dtype_of(grad, arguments["logits"]), (1,))
        )
    return found


def _multiclass_focal(reference: Any, call: Call) -> list[Suspect | str]:
    found = _overflow(reference, call)
    arguments = bound(reference.multiclass_focal_loss, call)
    logits, y = arguments["logits"], np.asarray(arguments["y"])
    alpha, gamma = arguments["alpha"], arguments["gamma"]
    if gamma <= 0 or logits.ndim != 2 or y.shape != logits.shape[:1]:
        return found
    n, k = logits.shape
    log_p = _log_softmax(logits)
    p_y = np.exp(np.take_along_axis(log_p, y[:, None].astype(np.int64), axis=1))
    grad = alpha * (1 - p_y) ** gamma * (np.exp(log_p) - _one_hot(y, k)) / n
    found.append(Suspect(FOCAL_MODULATOR_CONSTANT, in_dtype_of(grad, logits), (1,)))
    return found


@diagnoses_for("multiclass_focal_loss")
def _multiclass_focal_loss(reference: Any, call: Call) -> list[Suspect | str]:
    found = _multiclass_focal(reference, call)
    arguments = bound(reference.multiclass_focal_loss, call)
    alpha = arguments["alpha"]
    if alpha > 0:
        _, grad = reference.multiclass_focal_loss(**arguments)
        without = np.asarray(grad, np.float64) / alpha
        found.append(
            Suspect(FOCAL_GRADIENT_WITHOUT_ALPHA, in_dtype_of(without, arguments["logits"]), (1,))
        )
    return found


@diagnoses_for("distillation_loss")
def _distillation(reference: Any, call: Call) -> list[Suspect | str]:
    found = _overflow(reference, call)
    arguments = bound(reference.distillation_loss, call)
    student = arguments["student_logits"]
    loss, grad = reference.distillation_loss(**arguments)
    loss, grad = np.float64(loss), np.asarray(grad, np.float64)
    t2 = arguments["temperature"] ** 2
    k = student.shape[1]
    return [
        *found,
        _teacher_not_softened(arguments),
        Suspect(
            DISTILLATION_WITHOUT_T2, (_scalar(loss / t2, student), in_dtype_of(grad / t2, student))
        ),
        Suspect(
            DISTILLATION_MEAN_OVER_K, (_scalar(loss / k, student), in_dtype_of(grad / k, student))
        ),
    ]


def _teacher_not_softened(arguments: dict[str, Any]) -> Suspect:
    """Distillation with q = softmax(teacher_logits), the temperature on the student only."""
    student = arguments["student_logits"]
    temperature = arguments["temperature"]
    teacher = np.asarray(arguments["teacher_logits"]).astype(student.dtype)
    n = student.shape[0]
    log_p = _log_softmax(np.asarray(student, np.float64) / temperature)
    log_q = _log_softmax(teacher)
    q = np.exp(log_q)
    with np.errstate(invalid="ignore"):
        terms = np.where(q > 0, q * (log_q - log_p), 0.0)
    loss = temperature**2 * terms.sum() / n
    grad = temperature * (np.exp(log_p) - q) / n
    return Suspect(
        DISTILLATION_TEACHER_NOT_SOFTENED, (_scalar(loss, student), in_dtype_of(grad, student))
    )


@diagnoses_for("l2_penalty")
def _l2_penalty(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.l2_penalty, call)
    w = arguments["w"]
    penalty, grad = reference.l2_penalty(**arguments)
    return [
        Suspect(
            L2_WITHOUT_HALF,
            (_scalar(2 * np.float64(penalty), w), in_dtype_of(2 * np.asarray(grad, np.float64), w)),
        )
    ]
