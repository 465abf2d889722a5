"""Hints for pooling: the usual mistakes in max, average and global average pooling.

Each diagnosis recognises one mistake from a failed test's recorded calls (it re-runs the
reference with the mistake made) and names it, printing no reference value.
:mod:`autograder.suite.hints` loads this file by path; it is never shipped to students.

Where the mistakes come from (public course material, forums and solutions):

* ``stride=None`` taken as 1 instead of ``kernel_size``: github.com/distdl/distdl/issues/203,
  github.com/nntrainer/nntrainer/issues/2144 (frameworks that got PyTorch's default wrong).
* max pooling padded with zeros: PyTorch's own documentation said "zero-padded" until
  github.com/pytorch/pytorch/issues/33384 and /41294; the fix of
  github.com/zylo117/Yet-Another-EfficientDet-Pytorch/pull/352.
* switches that are not flat ``h * W + w`` indices into the unpadded plane: the index
  conventions differ between frameworks (per window, per padded plane, per whole tensor:
  github.com/tensorflow/tensorflow/issues/2821 and /pull/7090, github.com/pytorch/pytorch/
  issues/18796), and CS231n caches usually keep the argmax inside each window.
* overlapping windows' gradients assigned instead of accumulated (``dx[idx] = dout``):
  github.com/0809zheng/CS231n-assignment2019/issues/19 (passes the notebook's
  non-overlapping check only), github.com/jmschrei/tangermeme/pull/95.
* ``count_include_pad`` the other way round (Caffe and PyTorch count the padding, TensorFlow
  does not): github.com/apache/tvm/issues/1144, github.com/opencv/opencv/pull/10867,
  github.com/deeplearning4j/deeplearning4j/issues/5219.
* the average's gradient not divided by the window size: the ``distribute_value`` step of
  deeplearning.ai's pooling backward, github.com/marsggbo/deeplearning.ai_JupyterNotebooks/
  issues/10; likewise ``dout / (H * W)`` for global average pooling.
* global average pooling returning ``(N, C, 1, 1)``, the shape of
  ``torch.nn.functional.adaptive_avg_pool2d(x, 1)`` before the flatten.
* NaN never winning the maximum (``v > best`` is False for NaN), or winning only as a
  window's first element: github.com/pytorch/pytorch/issues/7645 (PyTorch's max pooling
  ignored NaN until /pull/7670), github.com/Theano/Theano/issues/3060 ("when the nan isn't
  in the first element of the patch"), github.com/tracel-ai/burn/pull/5662.
* pairs read as ``(width, height)`` (``kw, kh = kernel_size``), the ``cv2`` habit:
  stackoverflow.com/questions/21248245; the public test of pairs exists because of it.
* max-pool gradients scattered without each plane's offset (``switches`` used as indices
  into the whole flattened input, or the batch's part of the offset left out):
  github.com/tensorflow/tensorflow/pull/7161 (argmax indices that leave out the batch).
* the window origins of the switches kept in padded coordinates (``rows0 = i * stride``,
  the ``- padding`` forgotten) while the unpadded width flattens them.
* average-pooling gradients of overlapping windows assigned (``dx[window] = g``) instead of
  accumulated, the slip of github.com/0809zheng/CS231n-assignment2019/issues/19 in the
  average's backward pass.
* global average pooling as a sum (sum where mean), and ``/ H * W`` for ``/ (H * W)``:
  the operator-precedence slip of github.com/regularhunter/libfreeaptx/issues/6
  (``/ 3*NB_CHANNELS*4``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.suite.hints import (
    Call,
    Suspect,
    bound,
    computed,
    diagnoses_for,
    matches,
    suspect,
)

STRIDE_DEFAULT = (
    "your result matches stride=1, but this call passed stride=None, which means "
    "stride = kernel_size (non-overlapping windows, PyTorch's default)"
)
ZERO_PADDING = (
    "your output matches zero padding: max pooling pads with -inf, so that padding never wins "
    "a window whose real values are all negative"
)
WINDOW_SWITCHES = (
    "your switches are positions inside each window (0 to k_h * k_w - 1): return the "
    "position of the maximum in the input plane, h * W + w"
)
PADDED_SWITCHES = (
    "your switches index the padded plane, (h + p_h) * (W + 2 * p_w) + (w + p_w): index the "
    "unpadded H x W input plane, h * W + w"
)
TENSOR_SWITCHES = (
    "your switches index the whole flattened input (over n, c, h and w): each switch is the "
    "position within its own H x W plane, h * W + w"
)
OVERWRITTEN = (
    "your dx matches each input's gradient taken from the last window that selected it only: "
    "where windows overlap one input can win several windows, and its gradient is the SUM of "
    "theirs (dx[idx] = dout, or dx[idx] += dout, keeps one of repeated indices; use "
    "xp.add.at or xp.bincount)"
)
INCLUDE_PAD_MISSED = (
    "your result matches count_include_pad=False (windows divided by their real elements "
    "only), but this call used count_include_pad=True: divide every window by k_h * k_w, "
    "padding zeros included"
)
EXCLUDE_PAD_MISSED = (
    "your result matches count_include_pad=True (windows divided by k_h * k_w), but this call "
    "used count_include_pad=False: divide each window by its number of real (non-padding) "
    "elements"
)
AVERAGE_UNDIVIDED = (
    "your dx matches dout given undivided to every element of its window: each element "
    "receives dout / divisor, with the divisor of the forward pass"
)
GLOBAL_KEEPDIMS = (
    "your output has shape (N, C, 1, 1): global average pooling returns shape (N, C), the mean "
    "over axes (2, 3) without keepdims"
)
GLOBAL_UNDIVIDED = (
    "your dx matches dout copied to every pixel of its plane: each of the H * W pixels "
    "receives dout[n, c] / (H * W)"
)

NAN_IGNORED = (
    "your result matches NaN never winning a window (v > best is False for NaN): a NaN in a "
    "window wins it, as in PyTorch (take = (v > best) | isnan(v)); the output is NaN and the "
    "switch points at the NaN"
)
PAIRS_WIDTH_FIRST = (
    "your result matches kernel_size, stride or padding pairs read as (width, height): each "
    "pair is (height, width), the height first"
)
NO_PLANE_OFFSETS = (
    "your dx matches the switches scattered without each plane's offset: a switch indexes its "
    "own H x W plane, so its index in the whole flattened input is (n * C + c) * H * W + "
    "switch (the batch's part n * C * H * W included)"
)
SWITCHES_PADDED_ORIGIN = (
    "your switches are shifted by the padding: the windows start at i * stride - padding in "
    "unpadded coordinates (subtract the padding before flattening h * W + w)"
)
AVERAGE_ASSIGNED = (
    "your dx matches overlapping windows' gradients assigned (dx[window] = g) instead of "
    "added: an element inside several windows receives the sum of their dout / divisor "
    "(use +=)"
)
GLOBAL_SUM = (
    "your output matches the sum over each H x W plane: global average pooling is the mean, "
    "the sum divided by H * W"
)
GLOBAL_PRECEDENCE = (
    "your result matches a division by H followed by a multiplication by W (x / H * W is "
    "(x / H) * W in Python): divide by (H * W), in parentheses"
)


def _pair(value: Any) -> tuple[int, int]:
    """An int or a pair as an ``(h, w)`` pair."""
    if isinstance(value, tuple | list):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _geometry(arguments: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """(kernel, stride, padding) pairs of a pooling call."""
    kernel = _pair(arguments["kernel_size"])
    stride = kernel if arguments["stride"] is None else _pair(arguments["stride"])
    return kernel, stride, _pair(arguments["padding"])


def _max_pool_zero_padded(forward: Any, arguments: dict[str, Any]) -> Any:
    """max_pool_forward's output with the input padded with zeros."""
    ph, pw = _pair(arguments["padding"])
    x = np.pad(arguments["x"], ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return forward(x, arguments["kernel_size"], arguments["stride"], 0)[0]


def _switch_conventions(arguments: dict[str, Any], switches: np.ndarray) -> dict[str, Any]:
    """The correct switches in the other conventions: {hint: switches}."""
    (_, kw), (sh, sw), (ph, pw) = _geometry(arguments)
    n, c, height, width = arguments["x"].shape
    rows, cols = switches // width, switches % width
    top = (np.arange(switches.shape[2]) * sh - ph)[:, None]
    left = (np.arange(switches.shape[3]) * sw - pw)[None, :]
    planes = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1)
    return {
        WINDOW_SWITCHES: (rows - top) * kw + (cols - left),
        PADDED_SWITCHES: (rows + ph) * (width + 2 * pw) + (cols + pw),
        TENSOR_SWITCHES: switches + planes * (height * width),
        SWITCHES_PADDED_ORIGIN: switches + (ph * width + pw),
    }


@diagnoses_for("max_pool_forward")
def _max_pool_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.max_pool_forward
    arguments = bound(forward, call)
    out, switches = forward(**arguments)
    suspects: list[Suspect | str] = []
    if arguments["stride"] is None:
        suspects.append(suspect(forward, call, STRIDE_DEFAULT, stride=1))
    if _pair(arguments["padding"]) != (0, 0):
        suspects.append(
            computed(ZERO_PADDING, lambda: _max_pool_zero_padded(forward, arguments), (0,))
        )
    conventions = _switch_conventions(arguments, switches)
    suspects += [Suspect(hint, other.astype(np.int64), (1,)) for hint, other in conventions.items()]
    suspects += _nan_ignored(forward, arguments)
    suspects += _pairs_width_first(forward, call, arguments)
    facts = _switch_facts(arguments, call.result, out, switches, conventions)
    return suspects + facts


def _nan_ignored(forward: Any, arguments: dict[str, Any]) -> list[Suspect | str]:
    """max_pool_forward with NaN never taken, and with NaN kept only as a window's first
    element (the running maximum started at that element: without padding only)."""
    x = arguments["x"]
    if not np.isnan(x).any():
        return []
    _, (sh, sw), (ph, pw) = _geometry(arguments)
    ignored = dict(arguments, x=np.where(np.isnan(x), -np.inf, x).astype(x.dtype))
    out, switches = forward(**ignored)
    suspects: list[Suspect | str] = [Suspect(NAN_IGNORED, (out, switches))]
    if (ph, pw) == (0, 0):
        ho, wo = out.shape[2], out.shape[3]
        rows, cols = np.arange(ho) * sh, np.arange(wo) * sw
        first = x[:, :, rows[:, None], cols[None, :]]
        stuck = np.isnan(first)
        index = np.broadcast_to(rows[:, None] * x.shape[3] + cols[None, :], out.shape)
        suspects.append(
            Suspect(
                NAN_IGNORED,
                (np.where(stuck, first, out), np.where(stuck, index, switches).astype(np.int64)),
            )
        )
    return suspects


def _swapped(value: Any) -> Any:
    """A pair (or an int) read the other way round."""
    return None if value is None else _pair(value)[::-1]


def _pairs_width_first(function: Any, call: Call, arguments: dict[str, Any]) -> list[Suspect | str]:
    """The pooling with every pair read as (width, height), or the kernel's only."""
    names = ("kernel_size", "stride", "padding")
    if all(arguments[n] is None or _swapped(arguments[n]) == _pair(arguments[n]) for n in names):
        return []
    every = {n: _swapped(arguments[n]) for n in names}
    return [
        suspect(function, call, PAIRS_WIDTH_FIRST, **every),
        suspect(function, call, PAIRS_WIDTH_FIRST, kernel_size=every["kernel_size"]),
    ]


def _switch_facts(
    arguments: dict[str, Any],
    result: Any,
    out: np.ndarray,
    switches: np.ndarray,
    conventions: dict[str, Any],
) -> list[Suspect | str]:
    """What the result's switches show, when its output is right but its switches are not (and
    no other convention explains them)."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        return []
    student_switches = result[1]
    if not matches(result[0], out) or matches(student_switches, switches):
        return []
    if any(matches(student_switches, other) for other in conventions.values()):
        return []  # a suspect names it
    x = arguments["x"]
    if not isinstance(student_switches, np.ndarray) or student_switches.shape != switches.shape:
        return []
    planes = x.reshape(x.shape[0], x.shape[1], -1)
    flat = student_switches.reshape(x.shape[0], x.shape[1], -1).astype(np.int64)
    if flat.min() < 0 or flat.max() >= planes.shape[2]:
        return ["your switches index outside the unpadded H x W plane (use h * W + w, unpadded)"]
    picked = np.take_along_axis(planes, flat, axis=2).reshape(out.shape)
    if np.array_equal(picked, out, equal_nan=True):
        return [
            "your switches point at maxima but resolve ties differently: the FIRST maximum "
            "in row-major window order must win (compare with >, not >=)"
        ]
    return []


def _last_window_wins(arguments: dict[str, Any]) -> np.ndarray:
    """max_pool_backward with each input's gradient from the last window that selected it."""
    dout, switches = arguments["dout"], arguments["switches"]
    n, c, h, w = (int(v) for v in arguments["input_shape"])
    planes = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
    flat = (switches.astype(np.int64) + planes).reshape(-1)
    values = dout.reshape(-1)
    last, where = np.unique(flat[::-1], return_index=True)  # first of the reversed: the last
    dx = np.zeros(n * c * h * w, dtype=dout.dtype)
    dx[last] = values[::-1][where]
    return dx.reshape(n, c, h, w)


def _without_plane_offsets(arguments: dict[str, Any], batch_only: bool) -> np.ndarray:
    """max_pool_backward scattered without the planes' offsets (``batch_only``: without the
    batch's part n * C * H * W of them)."""
    dout, switches = arguments["dout"], arguments["switches"]
    n, c, h, w = (int(v) for v in arguments["input_shape"])
    offsets = np.zeros((n, c, 1, 1), dtype=np.int64)
    if batch_only:
        offsets = offsets + np.arange(c, dtype=np.int64).reshape(1, c, 1, 1) * (h * w)
    flat = (switches.astype(np.int64) + offsets).reshape(-1)
    dx = np.bincount(flat, weights=dout.reshape(-1).astype(np.float64), minlength=n * c * h * w)
    return dx.astype(dout.dtype).reshape(n, c, h, w)


@diagnoses_for("max_pool_backward")
def _max_pool_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.max_pool_backward, call)
    return [
        computed(OVERWRITTEN, lambda: _last_window_wins(arguments)),
        computed(NO_PLANE_OFFSETS, lambda: _without_plane_offsets(arguments, False)),
        computed(NO_PLANE_OFFSETS, lambda: _without_plane_offsets(arguments, True)),
    ]


def _count_include_pad_swapped(function: Any, call: Call) -> Suspect:
    include = bool(bound(function, call)["count_include_pad"])
    hint = INCLUDE_PAD_MISSED if include else EXCLUDE_PAD_MISSED
    return suspect(function, call, hint, count_include_pad=not include)


@diagnoses_for("avg_pool_forward")
def _avg_pool_forward(reference: Any, call: Call) -> list[Suspect | str]:
    forward = reference.avg_pool_forward
    suspects: list[Suspect | str] = [_count_include_pad_swapped(forward, call)]
    arguments = bound(forward, call)
    if arguments["stride"] is None:
        suspects.append(suspect(forward, call, STRIDE_DEFAULT, stride=1))
    return suspects + _pairs_width_first(forward, call, arguments)


def _avg_pool_undivided(reference: Any, arguments: dict[str, Any]) -> np.ndarray:
    """avg_pool_backward with each window's dout given undivided to its elements."""
    dout = arguments["dout"]
    (kh, kw), _, _ = _geometry(arguments)
    geometry = (arguments["kernel_size"], arguments["stride"], arguments["padding"])
    if arguments["count_include_pad"]:
        divisor = np.asarray(kh * kw, dtype=np.float64)
    else:  # the real elements of each window: k_h * k_w times the mean of a plane of ones
        ones = np.ones((1, 1, *(int(v) for v in arguments["input_shape"][2:])))
        divisor = np.rint(reference.avg_pool_forward(ones, *geometry, True) * (kh * kw))
    scaled = (dout * divisor).astype(dout.dtype)
    return reference.avg_pool_backward(**dict(arguments, dout=scaled))


def _divisors(arguments: dict[str, Any], out_hw: tuple[int, int]) -> np.ndarray:
    """Each window's divisor, (H_out, W_out)."""
    (kh, kw), stride, padding = _geometry(arguments)
    if arguments["count_include_pad"]:
        return np.full(out_hw, float(kh * kw))
    counts = []
    for size, k, s, p, o in zip(
        arguments["input_shape"][2:], (kh, kw), stride, padding, out_hw, strict=True
    ):
        start = np.arange(o) * s - p
        counts.append(np.minimum(start + k, int(size)) - np.maximum(start, 0))
    return (counts[0][:, None] * counts[1][None, :]).astype(np.float64)


def _average_assigned(arguments: dict[str, Any], by_window: bool) -> np.ndarray:
    """avg_pool_backward with ``dx[window] = g`` for each kernel offset in turn (the
    reference's loop), or for each window in turn (``by_window``)."""
    dout = arguments["dout"]
    (kh, kw), (sh, sw), (ph, pw) = _geometry(arguments)
    n, c, h, w = (int(v) for v in arguments["input_shape"])
    ho, wo = int(dout.shape[2]), int(dout.shape[3])
    g = dout.astype(np.float64) / _divisors(arguments, (ho, wo))
    dx = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    if by_window:
        for i in range(ho):
            for j in range(wo):
                dx[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] = g[:, :, i, j, None, None]
    else:
        for i in range(kh):
            for j in range(kw):
                dx[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] = g
    return dx[:, :, ph : ph + h, pw : pw + w].astype(dout.dtype)


@diagnoses_for("avg_pool_backward")
def _avg_pool_backward(reference: Any, call: Call) -> list[Suspect | str]:
    backward = reference.avg_pool_backward
    arguments = bound(backward, call)
    suspects: list[Suspect | str] = [
        _count_include_pad_swapped(backward, call),
        computed(AVERAGE_UNDIVIDED, lambda: _avg_pool_undivided(reference, arguments)),
        computed(AVERAGE_ASSIGNED, lambda: _average_assigned(arguments, False)),
        computed(AVERAGE_ASSIGNED, lambda: _average_assigned(arguments, True)),
    ]
    return suspects


@diagnoses_for("global_avg_pool_forward")
def _global_avg_pool_forward(reference: Any, call: Call) -> list[Suspect | str]:
    x = bound(reference.global_avg_pool_forward, call)["x"]
    h, w = int(x.shape[2]), int(x.shape[3])
    total = x.astype(np.float64).sum(axis=(2, 3))
    return [
        computed(GLOBAL_KEEPDIMS, lambda: x.mean(axis=(2, 3), keepdims=True).astype(x.dtype)),
        computed(GLOBAL_SUM, lambda: total.astype(x.dtype)),
        computed(GLOBAL_PRECEDENCE, lambda: (total / h * w).astype(x.dtype)),
    ]


@diagnoses_for("global_avg_pool_backward")
def _global_avg_pool_backward(reference: Any, call: Call) -> list[Suspect | str]:
    arguments = bound(reference.global_avg_pool_backward, call)
    dout, shape = arguments["dout"], tuple(int(v) for v in arguments["input_shape"])

    def copied() -> np.ndarray:
        return np.broadcast_to(dout[:, :, None, None], shape).copy()

    def precedence() -> np.ndarray:
        dx = dout.astype(np.float64) / shape[2] * shape[3]
        return np.broadcast_to(dx[:, :, None, None], shape).astype(dout.dtype)

    return [computed(GLOBAL_UNDIVIDED, copied), computed(GLOBAL_PRECEDENCE, precedence)]
