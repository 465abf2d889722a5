"""The mistakes pooling's hints compute themselves are the mistakes students make: each computed
output equals a direct, naive implementation of the mistake (a loop over windows, as CS231n
solutions write it), and its hint names it."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import pooling


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _hints(function, args, kwargs, result):
    return diagnose(pooling, [Call(function, args, kwargs, result)])


def _max_pool_loop(x, k, s, nan_first_sticks=False):
    """Max pooling window by window with ``value > best`` (no padding): a NaN never wins, or
    (``nan_first_sticks``) wins only as the window's first element, where ``best`` starts."""
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo))
    switches = np.empty((n, c, ho, wo), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    best, where = (-np.inf, i * s * w + j * s)
                    if nan_first_sticks:
                        best = x[b, ch, i * s, j * s]
                    for r in range(i * s, i * s + k):
                        for q in range(j * s, j * s + k):
                            if x[b, ch, r, q] > best:
                                best, where = x[b, ch, r, q], r * w + q
                    out[b, ch, i, j], switches[b, ch, i, j] = best, where
    return out, switches


@pytest.mark.parametrize("nan_first_sticks", [False, True], ids=["never", "first_only"])
def test_max_pool_nan_ignored(rng, nan_first_sticks):
    x = rng.standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 1, 4, 2] = x[0, 1, 2, 4] = np.nan  # (2, 4) opens its 2 x 2 window
    wrong = _max_pool_loop(x, 2, 2, nan_first_sticks)
    hints = _hints("max_pool_forward", (x, 2), {}, wrong)
    assert hints and all("NaN never winning a window" in h for h in hints), hints


def test_max_pool_switches_without_the_padding_subtracted(rng):
    x = rng.standard_normal((2, 2, 7, 6))
    out, switches = pooling.max_pool_forward(x, 3, 2, 1)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    shifted = np.empty_like(switches)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = padded[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].reshape(2, 2, 9)
            r, q = np.divmod(window.argmax(axis=2), 3)
            shifted[:, :, i, j] = (2 * i + r) * 6 + (2 * j + q)  # padded row, unpadded width
    hints = _hints("max_pool_forward", (x, 3, 2, 1), {}, (out, shifted))
    assert hints and all("shifted by the padding" in h for h in hints), hints


def test_max_pool_backward_without_plane_offsets(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    _, switches = pooling.max_pool_forward(x, 2)
    dout = rng.standard_normal(switches.shape)
    wrong = np.zeros(x.size)
    for index, value in zip(switches.reshape(-1), dout.reshape(-1), strict=True):
        wrong[index] += value  # every plane's gradient lands in plane (0, 0)
    hints = _hints("max_pool_backward", (dout, switches, x.shape), {}, wrong.reshape(x.shape))
    assert hints and all("without each plane's offset" in h for h in hints), hints


def test_avg_pool_backward_assigned_window_by_window(rng):
    shape, k, s = (1, 2, 6, 7), 3, 1
    dout = rng.standard_normal((1, 2, 4, 5))
    wrong = np.zeros(shape)
    for i in range(4):
        for j in range(5):
            wrong[:, :, i : i + k, j : j + k] = dout[:, :, i, j, None, None] / 9
    hints = _hints("avg_pool_backward", (dout, shape, k, s), {}, wrong)
    assert hints and all("gradients assigned" in h for h in hints), hints


def test_pairs_read_width_first(rng):
    x = rng.standard_normal((1, 2, 6, 7))
    wrong = pooling.avg_pool_forward(x, (2, 3), (1, 2), (1, 0))
    hints = _hints("avg_pool_forward", (x, (3, 2), (2, 1), (0, 1)), {}, wrong)
    assert hints and all("(width, height)" in h for h in hints), hints


def test_global_average_as_a_sum_or_with_the_wrong_precedence(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    hints = _hints("global_avg_pool_forward", (x,), {}, x.sum(axis=(2, 3)))
    assert hints and all("the sum over each H x W plane" in h for h in hints), hints
    dout = rng.standard_normal((2, 3))
    wrong = np.broadcast_to((dout / 4 * 5)[:, :, None, None], x.shape).copy()
    hints = _hints("global_avg_pool_backward", (dout, x.shape), {}, wrong)
    assert hints and all("multiplication by W" in h for h in hints), hints
