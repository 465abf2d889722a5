"""The mistakes interpolation's hints compute themselves are the mistakes students make: each
computed output equals a direct, naive implementation of the mistake (loops over pixels and
samples, as the docstrings state the rules), and its hint names it."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from autograder.suite.hints import Call, diagnose
from solutions import interpolation
from tests.oracles.roi_align_loops import _sample_weights

HINTS = Path(__file__).parents[1] / "assignments" / "interpolation" / "hints.py"


@pytest.fixture
def rng():
    return np.random.default_rng(5)


@pytest.fixture(scope="module")
def hints_module():
    spec = importlib.util.spec_from_file_location("interpolation_hints_under_test", HINTS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hints(function, args, kwargs, result):
    return diagnose(interpolation, [Call(function, args, kwargs, result)])


def _mixed_boxes(rng, n, h, w, k=12):
    x1, y1 = rng.uniform(-0.5 * w, w, k), rng.uniform(-0.5 * h, h, k)
    x2 = x1 + rng.uniform(-0.5, 1.2 * w, k)
    y2 = y1 + rng.uniform(-0.5, 1.2 * h, k)
    return np.column_stack([rng.integers(0, n, k).astype(np.float64), x1, y1, x2, y2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_hints_roi_align_without_a_mistake_is_the_reference(rng, hints_module, dtype):
    for shape in [(2, 3, 7, 9), (1, 2, 1, 6), (2, 1, 5, 1)]:
        x = rng.standard_normal(shape).astype(dtype)
        boxes = _mixed_boxes(rng, shape[0], shape[2], shape[3]).astype(dtype)
        for ratio in (-1, 0, 2):
            for aligned in (False, True):
                arguments = {
                    "x": x,
                    "boxes": boxes,
                    "output_size": (3, 2),
                    "spatial_scale": 0.5,
                    "sampling_ratio": ratio,
                    "aligned": aligned,
                }
                want = interpolation.roi_align(**arguments)
                got = hints_module._roi_align_mistaken(arguments)
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _roi_align_loop(x, boxes, ph, pw, ratio, aligned, offset=0.5, grid_rule=math.ceil):
    """RoI Align, one sample at a time, as the docstring states it (a sample offset and an
    adaptive grid rule that a mistake may change)."""
    _, c, h, w = x.shape
    out = np.zeros((len(boxes), c, ph, pw))
    shift = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(boxes):
        x1, y1, x2, y2 = x1 - shift, y1 - shift, x2 - shift, y2 - shift
        roi_h, roi_w = y2 - y1, x2 - x1
        if not aligned:
            roi_h, roi_w = max(roi_h, 1.0), max(roi_w, 1.0)
        bin_h, bin_w = roi_h / ph, roi_w / pw
        gh = ratio if ratio > 0 else max(grid_rule(bin_h), 0)
        gw = ratio if ratio > 0 else max(grid_rule(bin_w), 0)
        plane = x[int(b)]
        for i in range(ph):
            for j in range(pw):
                total = np.zeros(c)
                for iy in range(gh):
                    y = y1 + i * bin_h + (iy + offset) * bin_h / gh
                    for ix in range(gw):
                        xx = x1 + j * bin_w + (ix + offset) * bin_w / gw
                        for weight, row, col in _sample_weights(y, xx, h, w) or ():
                            total += weight * plane[:, row, col]
                out[k, :, i, j] = total / max(gh * gw, 1)
    return out


def test_the_loop_is_the_reference(rng):
    x = rng.standard_normal((2, 2, 6, 7))
    boxes = _mixed_boxes(rng, 2, 6, 7)
    for aligned in (False, True):
        want = interpolation.roi_align(x, boxes, (2, 3), 1.0, -1, aligned)
        np.testing.assert_allclose(_roi_align_loop(x, boxes, 2, 3, -1, aligned), want, atol=1e-12)


@pytest.mark.parametrize(
    ("mistake", "named"),
    [
        ({"offset": 0.0}, "placed at the start of its sub-cell"),
        ({"grid_rule": math.floor}, "rounded down"),
    ],
    ids=["samples_at_bin_start", "grid_truncated"],
)
def test_roi_align_sampling_mistakes(rng, mistake, named):
    x = rng.standard_normal((2, 2, 9, 11))
    boxes = np.array([[0, 0.3, 0.6, 8.9, 7.7], [1, 2.2, 1.1, 9.4, 8.5], [1, -2.0, 3.0, 6.5, 8.0]])
    wrong = _roi_align_loop(x, boxes, 2, 3, -1, False, **mistake)
    hints = _hints("roi_align", (x, boxes, (2, 3), 1.0, -1, False), {}, wrong)
    assert hints and all(named in h for h in hints), hints


def _resize_gather(x, size, negative):
    """A bilinear resize by gathering x[..., i0, :] and x[..., i1, :] (then the columns) at the
    half-pixel source coordinates, which ``negative`` leaves unclamped: "wrap" (index -1 reads
    the last pixel) or "extrapolate" (the indices clipped, the weights not)."""

    def taps(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        i0 = np.floor(src).astype(int)
        if negative == "extrapolate":
            i0 = np.clip(i0, 0, n_in - 1)
        i0 = np.minimum(i0, n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, ly = taps(x.shape[2], size[0])
    x0, x1, lx = taps(x.shape[3], size[1])
    rows = (1 - ly)[:, None] * x[:, :, y0, :] + ly[:, None] * x[:, :, y1, :]
    return (1 - lx) * rows[..., x0] + lx * rows[..., x1]


@pytest.mark.parametrize("negative", ["wrap", "extrapolate"])
def test_resize_source_not_clamped(rng, negative):
    x = rng.standard_normal((1, 2, 4, 5))
    wrong = _resize_gather(x, (9, 7), negative)
    hints = _hints("bilinear_resize", (x, (9, 7)), {}, wrong)
    assert hints and all("source coordinate left negative" in h for h in hints), hints


def test_resize_weights_swapped_in_the_backward_pass(rng):
    shape, size = (1, 2, 4, 6), (7, 3)
    dout = rng.standard_normal(shape[:2] + size)

    def swapped(n_in, n_out):  # the interpolation matrix, weights on the other neighbour
        a = np.zeros((n_out, n_in))
        for i in range(n_out):
            src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
            i0 = min(int(src), n_in - 1)
            lam = src - i0 if i0 < n_in - 1 else 0.0
            a[i, i0] += lam
            a[i, min(i0 + 1, n_in - 1)] += 1 - lam
        return a

    wrong = np.einsum("ih,ncij,jw->nchw", swapped(4, 7), dout, swapped(6, 3))
    hints = _hints("bilinear_resize_backward", (dout, shape), {}, wrong)
    assert hints and all("given to the wrong neighbours" in h for h in hints), hints
