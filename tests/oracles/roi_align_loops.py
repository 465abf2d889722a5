"""A deliberately plain, scalar-loop RoI Align: the oracle for ``solutions.interpolation``.

Why this exists: the natural oracle, ``torchvision.ops.roi_align``, cannot be installed next to
the kit's pinned torch (2.13.0, CPU wheel): no torchvision wheel matches it. So this module is
an independent re-statement of torchvision's CPU kernel (``roi_align_kernel.cpp``:
``roi_align_forward_kernel_impl`` and ``pre_calc_for_bilinear_interpolate``), written from its
logic in plain Python floats and loops, one box, bin and sample at a time, with none of the
vectorisation tricks of the reference (separable weight matrices, windows, padding to the
largest sampling grid). It is NOT copied code: it follows the kernel's steps:

* box corners ``* spatial_scale``, minus ``0.5`` when ``aligned``; without ``aligned`` the RoI
  width and height are forced to be at least 1;
* ``bin = roi_size / pooled_size``; samples per bin ``sampling_ratio`` if ``> 0``, else
  ``ceil(roi_size / pooled_size)`` per axis and per box;
* sample ``y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h`` (same operation order);
* a sample with ``y < -1``, ``y > H``, ``x < -1`` or ``x > W`` contributes 0; otherwise
  ``y = max(y, 0)``, ``y_low = int(y)``, and if ``y_low >= H - 1`` then
  ``y_high = y_low = H - 1``, ``y = y_low`` (else ``y_high = y_low + 1``); the four weights
  ``hy * hx, hy * lx, ly * hx, ly * lx`` (``ly = y - y_low``, ``hy = 1 - ly``);
* each bin: sum of ``w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4`` over its samples, divided by
  ``max(grid_h * grid_w, 1)``.

Arithmetic is Python float (double precision) whatever the input dtype, so float32 results of
the reference are compared against it with a float32 tolerance. The oracle itself is validated
against torch in ``tests/test_reference_interpolation.py`` (whole-image boxes against
``torch.nn.functional.interpolate``; arbitrary boxes against ``grid_sample`` at the same
sample points).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _sample_weights(
    y: float, x: float, height: int, width: int
) -> list[tuple[float, int, int]] | None:
    """The four (weight, row, col) terms of one bilinear sample, or None if it is dropped."""
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return None
    if y <= 0:
        y = 0.0
    if x <= 0:
        x = 0.0
    y_low = int(y)
    x_low = int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly = y - y_low
    lx = x - x_low
    hy = 1.0 - ly
    hx = 1.0 - lx
    return [
        (hy * hx, y_low, x_low),
        (hy * lx, y_low, x_high),
        (ly * hx, y_high, x_low),
        (ly * lx, y_high, x_high),
    ]


def roi_align_loops(
    x: Any,
    boxes: Any,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> np.ndarray:
    """torchvision.ops.roi_align semantics, one scalar at a time. Returns float64 (K, C, PH, PW)."""
    data = np.asarray(x, dtype=np.float64)
    _, channels, height, width = data.shape
    planes = data.tolist()
    if isinstance(output_size, int):
        pooled_h = pooled_w = output_size
    else:
        pooled_h, pooled_w = output_size
    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 5).tolist()
    out = np.zeros((len(rows), channels, pooled_h, pooled_w))
    offset = 0.5 if aligned else 0.0
    for k, (b, bx1, by1, bx2, by2) in enumerate(rows):
        image = planes[int(b)]
        start_w = bx1 * spatial_scale - offset
        start_h = by1 * spatial_scale - offset
        end_w = bx2 * spatial_scale - offset
        end_h = by2 * spatial_scale - offset
        roi_w = end_w - start_w
        roi_h = end_h - start_h
        if not aligned:
            roi_w = max(roi_w, 1.0)
            roi_h = max(roi_h, 1.0)
        bin_h = roi_h / pooled_h
        bin_w = roi_w / pooled_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / pooled_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pooled_w)
        count = max(grid_h * grid_w, 1)
        for ph in range(pooled_h):
            for pw in range(pooled_w):
                # Weights of all samples of this bin (shared by every channel).
                terms = []
                for iy in range(grid_h):
                    y = start_h + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        xx = start_w + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        sample = _sample_weights(y, xx, height, width)
                        if sample is not None:
                            terms.append(sample)
                for c in range(channels):
                    plane = image[c]
                    total = 0.0
                    for (w1, r1, c1), (w2, r2, c2), (w3, r3, c3), (w4, r4, c4) in terms:
                        total += (
                            w1 * plane[r1][c1]
                            + w2 * plane[r2][c2]
                            + w3 * plane[r3][c3]
                            + w4 * plane[r4][c4]
                        )
                    out[k, c, ph, pw] = total / count
    return out
